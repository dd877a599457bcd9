import type { ExecutionStatus } from "../api/types";

/** Each status has a word and a sign, not a colour alone. */
const LOOK: Record<ExecutionStatus, { text: string; sign: string }> = {
  pending: { text: "Pending", sign: "…" },
  running: { text: "Running", sign: "▶" },
  succeeded: { text: "Succeeded", sign: "✓" },
  failed: { text: "Failed", sign: "✕" },
  cancelled: { text: "Cancelled", sign: "⊘" },
};

export const statusText = (status: string) => LOOK[status as ExecutionStatus]?.text ?? status;

/** An execution's status as a badge; its text is what a screen reader reads. */
export function StatusBadge({ status }: { status: string }) {
  const look = LOOK[status as ExecutionStatus] ?? { text: status, sign: "?" };
  return (
    <span className={`badge status-badge status-${status}`}>
      <span aria-hidden="true" className="status-sign">
        {look.sign}
      </span>{" "}
      {look.text}
    </span>
  );
}

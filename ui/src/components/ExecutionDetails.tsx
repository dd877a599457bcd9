import { useId } from "react";
import type { ExecutionFailure, ExecutionRecord } from "../api/types";
import { JsonView } from "./JsonView";

const text = (value: unknown) => (typeof value === "string" && value ? value : null);

/** Who ran it, from which trigger, why: the record's ids and its manual-run metadata. */
export function ExecutionFacts({ record }: { record: ExecutionRecord }) {
  const meta = record.metadata ?? {};
  const facts: [string, string | null][] = [
    ["Workflow", record.workflow_id],
    ["Trigger", `${record.trigger_id} (${record.trigger_type})`],
    ["Run by", text(meta.initiated_by)],
    ["Description", text(meta.invocation_description)],
    ["Source", text(meta.source)],
    ["Replay of", text(meta.replay_of)],
  ];
  return (
    <dl className="facts">
      {facts
        .filter((fact): fact is [string, string] => fact[1] !== null)
        .map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

/** Why it failed (or was cancelled): the engine's message, code and details. */
export function ExecutionErrorView({ error, status }: { error: ExecutionFailure; status: string }) {
  const id = useId();
  return (
    <section className="execution-error" aria-labelledby={id}>
      <h4 id={id}>{status === "cancelled" ? "Why it was cancelled" : "Why it failed"}</h4>
      <p className="error-message">{error.message}</p>
      {error.code ? (
        <p>
          Code: <code>{error.code}</code>
        </p>
      ) : null}
      {error.details ? <JsonView label="Error details" value={error.details} /> : null}
    </section>
  );
}

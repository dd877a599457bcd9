import type { ExecutionRecord } from "../api/types";
import { readerLocales } from "./time";

export interface TimelineStep {
  key: "requested" | "accepted" | "recorded" | "running" | "finished";
  label: string;
  /** ISO date-time; null for a step not reached yet. */
  at: string | null;
  /** Milliseconds since the step before it that was reached; null for the first or unreached. */
  sinceMs: number | null;
}

const FINAL_LABEL: Record<string, string> = { succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled" };

const text = (value: unknown) => (typeof value === "string" && value ? value : null);

/**
 * requested (the manual invocation's timestamp) → accepted (the invoke answer, when the view
 * came from one) → recorded → running → a final status, each with its time and the time since
 * the step before. A step that cannot happen any more (a run cancelled before it started) is
 * left out; one still to come has no time.
 */
export function timelineSteps(record: ExecutionRecord, acceptedAt?: string | null): TimelineStep[] {
  const final = FINAL_LABEL[record.status];
  const steps: Omit<TimelineStep, "sinceMs">[] = [];
  const requested = text(record.metadata?.manual_invocation_timestamp);
  if (requested) steps.push({ key: "requested", label: "Requested", at: requested });
  if (acceptedAt) steps.push({ key: "accepted", label: "Accepted", at: acceptedAt });
  steps.push({ key: "recorded", label: "Recorded", at: record.created_at });
  if (record.started_at || !final) steps.push({ key: "running", label: "Running", at: record.started_at });
  steps.push({ key: "finished", label: final ?? "Finished", at: final ? record.finished_at : null });
  let previous: number | null = null;
  return steps.map((step) => {
    const at = step.at ? Date.parse(step.at) : Number.NaN;
    if (Number.isNaN(at)) return { ...step, sinceMs: null };
    const sinceMs = previous === null ? null : at - previous;
    previous = at;
    return { ...step, sinceMs };
  });
}

/** "120 ms", "1.3 s", "2 min 5 s", "1 h 2 min", in the reader's number format. */
export function formatDuration(ms: number, locale: string | string[] | undefined = readerLocales()): string {
  const sign = ms < 0 ? "−" : "";
  const abs = Math.abs(ms);
  const number = (value: number, digits = 0) =>
    new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
  if (abs < 1000) return `${sign}${number(Math.round(abs))} ms`;
  if (abs < 60_000) return `${sign}${number(abs / 1000, 1)} s`;
  const seconds = Math.round(abs / 1000);
  if (seconds < 3600) return `${sign}${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(seconds / 60);
  return `${sign}${number(Math.floor(minutes / 60))} h ${minutes % 60} min`;
}

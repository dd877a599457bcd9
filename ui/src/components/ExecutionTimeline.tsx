import type { ExecutionRecord } from "../api/types";
import { formatTimestamp } from "../lib/time";
import { formatDuration, timelineSteps } from "../lib/timeline";

interface Props {
  record: ExecutionRecord;
  /** The invoke answer's completed_at, when this view came from an invocation. */
  acceptedAt?: string | null;
}

/** requested → accepted → recorded → running → final, with times and the time between. */
export function ExecutionTimeline({ record, acceptedAt }: Props) {
  const steps = timelineSteps(record, acceptedAt);
  return (
    <>
      <h4>Timeline</h4>
      <ol className="timeline">
      {steps.map((step) => (
        <li key={step.key} className={step.at ? "reached" : "upcoming"}>
          <span className="timeline-label">{step.label}</span>{" "}
          {step.at ? (
            <>
              <time dateTime={step.at}>{formatTimestamp(step.at, { precise: true })}</time>
              {step.sinceMs !== null ? (
                <span className="timeline-since">
                  {" "}
                  ({step.sinceMs >= 0 ? "+" : ""}
                  {formatDuration(step.sinceMs)})
                </span>
              ) : null}
            </>
          ) : (
            <span className="hint">not yet</span>
          )}
        </li>
      ))}
    </ol>
      {record.duration_ms !== null && record.duration_ms !== undefined ? (
        <p className="hint">
          Ran for <strong>{formatDuration(record.duration_ms)}</strong> (started to finished).
        </p>
      ) : null}
    </>
  );
}

import type { ExecutionSummary } from "../api/types";
import { formatTimestamp } from "../lib/time";
import { StatusBadge } from "./StatusBadge";

interface Props {
  runs: ExecutionSummary[] | undefined;
  loading: boolean;
  /** "Load into form"; not offered without it (a viewer may not run). */
  onLoad?: (run: ExecutionSummary) => void;
  executionHref: (executionId: string) => string;
  onOpenExecution?: (executionId: string) => void;
}

/** The trigger's latest executions, real events and manual runs alike; each one whose
 * parameters are known can be loaded into the form, to edit and run again. */
export function RecentExecutions({ runs, loading, onLoad, executionHref, onOpenExecution }: Props) {
  return (
    <section className="recent-runs" aria-labelledby="mtp-recent">
      <h3 id="mtp-recent">Recent executions</h3>
      {!runs || runs.length === 0 ? (
        <p className="hint">{loading ? "Loading…" : "None yet."}</p>
      ) : (
        <ul>
          {runs.map((run) => (
            <li key={run.execution_id}>
              <div id={`run-${run.execution_id}`} className="run-facts">
                <a
                  href={executionHref(run.execution_id)}
                  onClick={(event) => {
                    if (!onOpenExecution) return;
                    event.preventDefault();
                    onOpenExecution(run.execution_id);
                  }}
                >
                  <time dateTime={run.created_at}>{formatTimestamp(run.created_at)}</time>
                </a>{" "}
                <StatusBadge status={run.status} />{" "}
                <span className={`badge origin ${run.manual ? "origin-manual" : "origin-real"}`}>
                  {run.manual ? `manual, by ${run.initiated_by ?? "someone"}` : "real event"}
                </span>
                {run.description ? <span className="run-description"> {run.description}</span> : null}
              </div>
              {onLoad ? (
                run.parameters ? (
                  <button
                    type="button"
                    className="secondary"
                    aria-describedby={`run-${run.execution_id}`}
                    onClick={() => onLoad(run)}
                  >
                    Load into form
                  </button>
                ) : (
                  <span className="hint">Its parameters are not known: it cannot be loaded.</span>
                )
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

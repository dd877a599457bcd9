import type { ExecutionSummary } from "../api/types";

interface Props {
  runs: ExecutionSummary[] | undefined;
  loading: boolean;
  /** "Run again with these parameters"; not offered without it (a viewer may not run). */
  onRunAgain?: (run: ExecutionSummary) => void;
  executionHref: (executionId: string) => string;
  onOpenExecution?: (executionId: string) => void;
}

const when = (iso: string) => new Date(iso).toLocaleString();

/** The trigger's latest manual runs, each one repeatable with its parameters. */
export function RecentRuns({ runs, loading, onRunAgain, executionHref, onOpenExecution }: Props) {
  return (
    <section className="recent-runs" aria-labelledby="mtp-recent">
      <h3 id="mtp-recent">Recent manual runs</h3>
      {!runs || runs.length === 0 ? (
        <p className="hint">{loading ? "Loading…" : "None yet."}</p>
      ) : (
        <ul>
          {runs.map((run) => (
            <li key={run.execution_id}>
              <div id={`run-${run.execution_id}`}>
                <a
                  href={executionHref(run.execution_id)}
                  onClick={(event) => {
                    if (!onOpenExecution) return;
                    event.preventDefault();
                    onOpenExecution(run.execution_id);
                  }}
                >
                  <time dateTime={run.created_at}>{when(run.created_at)}</time>
                </a>{" "}
                <span className={`badge status-${run.status}`}>{run.status}</span>{" "}
                by {run.initiated_by ?? "?"}
                {run.description ? <> · {run.description}</> : null}
              </div>
              {run.parameters && onRunAgain ? (
                <button
                  type="button"
                  className="secondary"
                  aria-describedby={`run-${run.execution_id}`}
                  onClick={() => onRunAgain(run)}
                >
                  Run again with these parameters
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

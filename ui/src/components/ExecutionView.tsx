import { useEffect, useEffectEvent, useId, useRef } from "react";
import { ApiError, type Api } from "../api/client";
import { useExecution } from "../hooks/useExecution";
import { type OnUnauthorized, useUnauthorized } from "../hooks/useUnauthorized";
import { fromRecord, type RunAgain } from "../lib/reproduce";
import { ExecutionErrorView, ExecutionFacts } from "./ExecutionDetails";
import { ExecutionTimeline } from "./ExecutionTimeline";
import { JsonView } from "./JsonView";
import { StatusBadge, statusText } from "./StatusBadge";

interface Props {
  api: Api;
  executionId: string;
  /** The invoke answer's completed_at, when the view opens on an invocation just made. */
  acceptedAt?: string | null;
  onClose: () => void;
  /** Fill the trigger's form with this run's parameters (those that reproduce it); no button
   * without it, or when they are not known. */
  onRunAgain?: (run: RunAgain) => void;
  /** Whether the person may run the record's workflow (a viewer may not): no button if not. */
  mayRunAgain?: (workflowId: string) => boolean;
  onUnauthorized?: OnUnauthorized;
  /** Moves the focus to the view's heading whenever it changes; 0 leaves the focus alone
   * (a view that opens by itself, after an invocation). */
  focusRequest?: number;
  /** The status changed (a list of runs may want to show it). */
  onStatusChange?: (status: string) => void;
}

function Problem({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <div role="alert" className="result error">
      <p>
        {notFound
          ? "Not found: the scheduler has not recorded it (yet), or you may not read it."
          : `Lost its live status: ${error instanceof Error ? error.message : String(error)}`}
      </p>
      <button type="button" className="secondary" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}

/** A recorded execution, its status followed live until it is final. */
export function ExecutionView({
  api,
  executionId,
  acceptedAt,
  onClose,
  onRunAgain,
  mayRunAgain = () => true,
  onUnauthorized = () => undefined,
  focusRequest = 1,
  onStatusChange,
}: Props) {
  const { record, phase, error, retry } = useExecution(api, executionId);
  useUnauthorized([error], onUnauthorized);
  const heading = useRef<HTMLHeadingElement>(null);
  const headingId = useId();
  useEffect(() => {
    if (focusRequest) heading.current?.focus();
  }, [executionId, focusRequest]);
  const status = record?.status;
  const statusChanged = useEffectEvent((status: string) => onStatusChange?.(status));
  useEffect(() => {
    if (status) statusChanged(status);
  }, [status]);
  const again = record ? fromRecord(record) : null;

  return (
    <section className="execution" aria-labelledby={headingId}>
      <h3 id={headingId} tabIndex={-1} ref={heading}>
        Execution <code>{executionId}</code>
      </h3>
      {/* One polite live region: the status as it changes, and what a pending run waits for. */}
      <div role="status" aria-live="polite" aria-atomic="true" className="execution-status">
        {record ? (
          <>
            <p>
              Status: <StatusBadge status={record.status} />
              <span className="visually-hidden">.</span>
            </p>
            {record.status === "pending" ? (
              <p className="waiting">
                <strong>Waiting for the workflow engine…</strong>
                {record.status_message ? <span className="hint"> The shim says: {record.status_message}.</span> : null}
              </p>
            ) : null}
          </>
        ) : phase !== "stopped" ? (
          <p>Looking for it… the scheduler records an accepted run within moments.</p>
        ) : null}
      </div>
      {phase === "reconnecting" ? <p className="hint">Connection lost; reconnecting to its live status…</p> : null}
      {phase === "stopped" && !(error instanceof ApiError && error.status === 401) ? (
        <Problem error={error} onRetry={retry} />
      ) : null}
      {record ? (
        <>
          <ExecutionFacts record={record} />
          <ExecutionTimeline record={record} acceptedAt={acceptedAt} />
          {record.error ? <ExecutionErrorView error={record.error} status={record.status} /> : null}
          {record.status === "succeeded" ? (
            record.output === null || record.output === undefined ? (
              <p className="hint">{statusText(record.status)}, without an output.</p>
            ) : (
              <JsonView label="Output" value={record.output} />
            )
          ) : null}
          <JsonView label="Workflow input" value={record.input_data} />
          <JsonView label="Trigger data" value={record.trigger_data} defaultOpen={false} />
        </>
      ) : null}
      <div className="button-row">
        {again && onRunAgain && mayRunAgain(again.workflowId) ? (
          <button type="button" className="secondary" onClick={() => onRunAgain(again)}>
            Run again with these parameters
          </button>
        ) : null}
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  );
}

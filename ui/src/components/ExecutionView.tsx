import { useEffect, useRef } from "react";
import type { Api } from "../api/client";
import { useAsync } from "../hooks/useAsync";

interface Props {
  api: Api;
  executionId: string;
  onClose: () => void;
}

/** A recorded execution, as the scheduler stored it (the link of "Execution … started"). */
export function ExecutionView({ api, executionId, onClose }: Props) {
  const execution = useAsync(() => api.execution(executionId), executionId);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [executionId]);
  return (
    <section className="execution" aria-labelledby="mtp-execution">
      <h3 id="mtp-execution" tabIndex={-1} ref={heading}>
        Execution {executionId}
      </h3>
      {execution.loading ? <p role="status">Loading…</p> : null}
      {execution.error ? (
        <p role="alert">Not found yet: the scheduler records it within moments. Try again.</p>
      ) : null}
      {execution.data ? (
        <pre tabIndex={0} aria-label="Recorded execution">
          {JSON.stringify(execution.data, null, 2)}
        </pre>
      ) : null}
      <div className="button-row">
        <button type="button" className="secondary" onClick={execution.reload}>
          Refresh
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  );
}

import { useEffect, useState, type ReactNode, type Ref } from "react";
import type { FieldError, InvokeAnswer } from "../api/types";
import type { InvokeState } from "../hooks/useInvoke";
import { preview } from "../lib/preview";
import { JsonView } from "./JsonView";

interface Props {
  state: InvokeState;
  /** Where "Execution … started" links to. */
  executionHref: (executionId: string) => string;
  onOpenExecution?: (executionId: string) => void;
  /** The "Result" heading of an answer, where the panel moves the focus once it arrives. */
  headingRef?: Ref<HTMLHeadingElement>;
}

/** An answer under its "Result" heading (focusable, so the focus can be moved to it). */
function Answered({ headingRef, children }: { headingRef?: Ref<HTMLHeadingElement>; children: ReactNode }) {
  return (
    <section className="answer" aria-labelledby="mtp-result-heading">
      <h3 id="mtp-result-heading" tabIndex={-1} ref={headingRef}>
        Result
      </h3>
      {children}
    </section>
  );
}

function ErrorList({ errors }: { errors: FieldError[] }) {
  if (errors.length === 0) return null;
  return (
    <ul className="problems">
      {errors.map((error) => (
        <li key={`${error.path}:${error.message}`}>
          {error.path ? <code>{error.path}</code> : null} {error.message}
        </li>
      ))}
    </ul>
  );
}

function Warnings({ warnings }: { warnings: string[] }) {
  if (warnings.length === 0) return null;
  return (
    <div className="warnings">
      <h4>Warnings</h4>
      <ul>
        {warnings.map((warning) => (
          <li key={warning}>{warning}</li>
        ))}
      </ul>
    </div>
  );
}

function Countdown({ retryAt }: { retryAt: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  const seconds = Math.max(0, Math.ceil((retryAt - now) / 1000));
  return seconds > 0 ? <>Try again in {seconds} s.</> : <>You may try again now.</>;
}

function Resolved({ result }: { result: InvokeAnswer }) {
  const data = result.trigger_data;
  const shown = preview(result);
  if (!data || !shown) return null;
  return (
    <section className="preview" aria-label="What will be sent">
      <h4>{shown.title}</h4>
      <pre tabIndex={0} aria-label={shown.title}>
        {shown.text}
      </pre>
      <JsonView label="Resolved parameters" value={data.resolved_parameters} defaultOpen={false} />
    </section>
  );
}

/** The shim's answer: what will be sent, the execution started, or what went wrong. */
export function ResultView({ headingRef, ...props }: Props) {
  const answer = <Answer {...props} />;
  return ["done", "failed", "rate-limited"].includes(props.state.phase) ? (
    <Answered headingRef={headingRef}>{answer}</Answered>
  ) : (
    answer
  );
}

function Answer({ state, executionHref, onOpenExecution }: Omit<Props, "headingRef">) {
  switch (state.phase) {
    case "idle":
      return null;
    case "sending":
      return <p role="status">Sending…</p>;
    case "waiting":
      return (
        <p role="status">
          Invocation <code>{state.invocationId}</code> is queued: no worker has answered yet.
          Checking its status ({state.polls})…
        </p>
      );
    case "rate-limited":
      return (
        <div role="alert" className="result error">
          <p>
            <strong>{state.problem?.title ?? "Rate limited"}.</strong> <Countdown retryAt={state.retryAt} />
          </p>
          {state.problem?.rate_limit ? (
            <p className="hint">
              Limit: {state.problem.rate_limit.limit} per {state.problem.rate_limit.period_seconds} s.
            </p>
          ) : null}
        </div>
      );
    case "failed":
      return (
        <div role="alert" className="result error">
          <p>
            <strong>{state.problem?.title ?? "The request failed"}</strong>
            {state.status ? ` (HTTP ${state.status})` : ""}
            {state.problem?.detail ? `: ${state.problem.detail}` : state.problem ? "" : `: ${state.message}`}
          </p>
          <ErrorList errors={state.problem?.errors ?? []} />
        </div>
      );
    case "done": {
      const { result } = state;
      if (!result.success) {
        return (
          <div role="alert" className="result error">
            <p>
              <strong>{result.message}</strong>
            </p>
            <ErrorList errors={result.errors ?? []} />
          </div>
        );
      }
      if (result.status === "dry_run") {
        return (
          <div className="result ok">
            <p role="status">
              <strong>Valid.</strong> Nothing was sent or recorded; this is what an invocation would send.
            </p>
            <Warnings warnings={result.warnings ?? []} />
            <Resolved result={result} />
          </div>
        );
      }
      const id = result.execution_id ?? "";
      return (
        <div className="result ok">
          <p role="status">
            Execution{" "}
            <a
              href={executionHref(id)}
              onClick={(event) => {
                if (!onOpenExecution) return;
                event.preventDefault();
                onOpenExecution(id);
              }}
            >
              {id}
            </a>{" "}
            started
          </p>
          <Warnings warnings={result.warnings ?? []} />
          <Resolved result={result} />
        </div>
      );
    }
  }
}

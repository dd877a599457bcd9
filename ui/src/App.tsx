import { useCallback, useEffect, useMemo, useState } from "react";
import { createApi } from "./api/client";
import { ExecutionView } from "./components/ExecutionView";
import { ManualTriggerPanel } from "./components/ManualTriggerPanel";
import { SignIn } from "./components/SignIn";
import { WorkflowChooser } from "./components/WorkflowChooser";
import { useTriggers, useWorkflows } from "./hooks/data";
import { useUnauthorized } from "./hooks/useUnauthorized";
import { chooseWorkflow, chosenWorkflow, forgetEdits } from "./lib/drafts";
import type { RunAgain } from "./lib/reproduce";
import { mayInvoke } from "./lib/triggers";
import {
  EXPIRED_NOTICE,
  INVALID_NOTICE,
  refusal,
  storedToken,
  storeToken,
  takeTokenFromFragment,
  tokenSubject,
} from "./lib/token";

/** `#execution=<id>`: the execution the address points at (the panel's links set it). */
const executionInAddress = () => new URLSearchParams(window.location.hash.replace(/^#/, "")).get("execution");

interface WorkspaceProps {
  token: string;
  /** Sign out: forget the token and the edits. */
  onSignOut: () => void;
  /** The shim refused the token: back to sign-in saying why, the edits kept. */
  onRefused: (notice: string) => void;
  executionId: string | null;
  onCloseExecution: () => void;
}

function Workspace({ token, onSignOut, onRefused, executionId, onCloseExecution }: WorkspaceProps) {
  const getToken = useCallback(() => token, [token]);
  const api = useMemo(() => createApi({ baseUrl: "", getToken }), [getToken]);
  const workflows = useWorkflows(api, true);
  // The workflow chosen before a reload or a new sign-in, if it is still there.
  const [chosen, setChosenState] = useState<string | null>(chosenWorkflow);
  const setChosen = (workflowId: string | null) => {
    setChosenState(workflowId);
    chooseWorkflow(workflowId);
  };
  // "Run again with these parameters" of the execution the address points at.
  const [prefill, setPrefill] = useState<RunAgain | null>(null);
  // Someone who may read one workflow only has nothing to choose.
  const only = workflows.data?.length === 1 ? workflows.data[0].id : null;
  const workflowId = (workflows.data?.some((w) => w.id === chosen) ? chosen : null) ?? only;
  const triggers = useTriggers(api, workflowId);
  const refused = useCallback(
    (detail?: string | null) => onRefused(refusal(detail, token) === "expired" ? EXPIRED_NOTICE : INVALID_NOTICE),
    [onRefused, token],
  );
  const roleOn = (id: string) => workflows.data?.find((w) => w.id === id)?.role;
  useUnauthorized([workflows.error, triggers.error], refused);

  return (
    <>
      <div className="session">
        <span>
          Signed in as <strong>{tokenSubject(token) ?? "(token without a subject)"}</strong>
        </span>
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
      {workflows.data ? (
        <WorkflowChooser workflows={workflows.data} selected={workflowId} onSelect={setChosen} />
      ) : workflows.error ? (
        <p role="alert">Could not list your workflows: {(workflows.error as Error).message}</p>
      ) : (
        <p role="status">Loading your workflows…</p>
      )}
      {executionId ? (
        <section aria-labelledby="mtp-linked-heading">
          <h2 id="mtp-linked-heading" className="section-heading">
            Linked execution
          </h2>
          <ExecutionView
            key={executionId}
            api={api}
            executionId={executionId}
            onClose={onCloseExecution}
            onUnauthorized={refused}
            mayRunAgain={(id) => mayInvoke(roleOn(id) ?? "")}
            onRunAgain={(run) => {
              setChosen(run.workflowId);
              setPrefill(run);
            }}
          />
        </section>
      ) : null}
      {workflowId && triggers.data ? (
        <section aria-labelledby="mtp-panel-heading">
          <h2 id="mtp-panel-heading" className="section-heading">
            Run a trigger of {workflows.data?.find((w) => w.id === workflowId)?.name ?? workflowId}
          </h2>
          <ManualTriggerPanel
            key={workflowId}
            workflowId={workflowId}
            triggers={triggers.data}
            getToken={getToken}
            onUnauthorized={refused}
            prefill={prefill?.workflowId === workflowId ? prefill : null}
            role={roleOn(workflowId)}
          />
        </section>
      ) : null}
    </>
  );
}

/** The standalone page: sign in, choose a workflow, then the same panel the platform embeds. */
export function App() {
  // A #token= link fills the "Bearer token" field (and leaves the address bar at once); the
  // field is then checked like a pasted token. A reload signs in from session storage.
  const [offered, setOffered] = useState(() => takeTokenFromFragment(window.location, window.history));
  const [token, setToken] = useState<string | null>(() => (offered ? null : storedToken()));
  const [notice, setNotice] = useState<string | null>(null);
  const [executionId, setExecutionId] = useState(executionInAddress);
  useEffect(() => {
    const follow = () => {
      setExecutionId(executionInAddress());
      const fresh = takeTokenFromFragment(window.location, window.history);
      if (!fresh) return;
      storeToken(null);
      setToken(null);
      setNotice(null);
      setOffered(fresh);
    };
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  // Back to sign-in: saying why after a refusal (the edits stay for the next sign-in), or
  // signed out (the edits go with the token).
  const leave = useCallback((why: string | null) => {
    if (why === null) forgetEdits();
    storeToken(null);
    setToken(null);
    setOffered(null);
    setNotice(why);
  }, []);

  return (
    <main className="page">
      <header>
        <h1>Manual trigger panel</h1>
        <p className="hint">Fire a workflow's trigger by hand, with parameters that simulate the real event.</p>
      </header>
      {token ? (
        <Workspace
          token={token}
          onSignOut={() => leave(null)}
          onRefused={leave}
          executionId={executionId}
          onCloseExecution={() => {
            window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
            setExecutionId(null);
          }}
        />
      ) : (
        <SignIn
          key={offered ?? ""}
          apiBaseUrl=""
          notice={notice}
          offered={offered}
          onSignIn={(fresh) => {
            storeToken(fresh);
            setNotice(null);
            setOffered(null);
            setToken(fresh);
          }}
        />
      )}
    </main>
  );
}

import { useEffect, useMemo, useState } from "react";
import { createApi, type ApiConfig, ApiError } from "../api/client";
import type { WorkflowSummary, Trigger } from "../api/types";
import { useRecentExecutions } from "../hooks/useRecentExecutions";
import { useRequest } from "../hooks/useRequest";
import { useTriggerForm } from "../hooks/useTriggerForm";
import { type OnUnauthorized, useUnauthorized } from "../hooks/useUnauthorized";
import { fromSummary, type RunAgain } from "../lib/reproduce";
import { tokenSubject } from "../lib/token";
import { defaultDescription, isEnterInSingleLineField, mayInvoke } from "../lib/triggers";
import { CopyRequest } from "./CopyRequest";
import { ExampleSelector } from "./ExampleSelector";
import { ExecutionView } from "./ExecutionView";
import { InvocationOptions } from "./InvocationOptions";
import { ParameterForm } from "./ParameterForm";
import { RecentExecutions } from "./RecentExecutions";
import { ResultView } from "./ResultView";
import { TriggerSelector } from "./TriggerSelector";

export interface ManualTriggerPanelProps {
  workflowId: string;
  triggers: Trigger[];
  /** Where the shim's /api/v1 lives; "" (the default) is this page's origin. */
  apiBaseUrl?: string;
  /** The caller's bearer token (JWT), asked for before each request. */
  getToken: ApiConfig["getToken"];
  /** The shim refused the token (401; its `detail` says why): sign in again. */
  onUnauthorized?: OnUnauthorized;
  /** Link of an execution in the platform's own UI; by default the panel shows it itself. */
  executionHref?: (executionId: string) => string;
  /** Fill the form with a run's parameters (choosing its trigger): "Run again" from outside. */
  prefill?: RunAgain | null;
  /** The person's role on the workflow (`GET /api/v1/workflows` says it). A viewer gets a
   * read-only form and nothing to send; left out, the panel offers invoking and the shim
   * decides. */
  role?: WorkflowSummary["role"];
}

export const READ_ONLY_NOTICE = "You can view this workflow's triggers but not invoke them: operators and above can.";

/** The execution shown beside the result: just invoked (with its acceptance), or opened. */
interface Shown {
  executionId: string;
  acceptedAt: string | null;
  /** Bumped to move the focus to it; 0 leaves the focus where it is. */
  focus: number;
}

const noop = () => undefined;

/** Pick a trigger, fill its parameters, dry-run or invoke, see the result (DESIGN §6). */
export function ManualTriggerPanel({
  workflowId,
  triggers,
  apiBaseUrl = "",
  getToken,
  onUnauthorized = noop,
  executionHref,
  prefill = null,
  role,
}: ManualTriggerPanelProps) {
  const invoker = role === undefined || mayInvoke(role);
  const api = useMemo(() => createApi({ baseUrl: apiBaseUrl, getToken }), [apiBaseUrl, getToken]);
  const [shown, setShown] = useState<Shown | null>(null);
  const [user, setUser] = useState<string | null>(null);
  // The form's contents replaced as a whole (another trigger, a loaded run): a new request.
  // (Called from an effect, once `request` below is there.)
  const form = useTriggerForm(api, workflowId, triggers, prefill, () => request.restart());
  const { trigger, loaded } = form;
  const schema = loaded?.parameter_schema;
  const recent = useRecentExecutions(api, workflowId, form.triggerId);
  const request = useRequest(api, onUnauthorized, schema, (executionId, acceptedAt) => {
    recent.expect(executionId);
    // Its live status, right with the answer (the focus stays where it is).
    setShown({ executionId, acceptedAt, focus: 0 });
  });
  const { state, apiErrors } = request;
  useUnauthorized([form.schema.error, recent.runs.error], onUnauthorized);

  useEffect(() => {
    void Promise.resolve(getToken()).then((token) => setUser(tokenSubject(token)));
  }, [getToken]);

  const selectTrigger = (id: string | null) => {
    form.select(id);
    setShown(null);
    request.restart();
  };

  const body = {
    parameters: form.parameters,
    description: form.description.trim() || (trigger ? defaultDescription(trigger) : ""),
    dry_run: form.dryRun,
  };
  const send = () => {
    if (invoker && trigger && form.valid) request.send(workflowId, trigger.id, body);
  };
  const origin = new URL(apiBaseUrl || "/", window.location.href).origin;
  const hrefOf = executionHref ?? ((id: string) => `#execution=${encodeURIComponent(id)}`);
  const openInPanel = executionHref
    ? undefined
    : (executionId: string) =>
        setShown((current) => ({
          executionId,
          acceptedAt: current?.executionId === executionId ? current.acceptedAt : null,
          focus: (current?.focus ?? 0) + 1,
        }));

  return (
    <div
      className="manual-trigger-panel"
      onKeyDown={(event) => {
        // Enter in a single-line field presses the button, as it reads (Validate or Invoke).
        if (!invoker || !isEnterInSingleLineField(event)) return;
        event.preventDefault();
        send();
      }}
    >
      <div className="mtp-main">
        {invoker ? null : <p className="notice">{READ_ONLY_NOTICE}</p>}
        <TriggerSelector triggers={triggers} selected={form.triggerId} onSelect={selectTrigger} />
        {form.schema.error && !(form.schema.error instanceof ApiError && form.schema.error.status === 401) ? (
          <p role="alert">Could not load the trigger's parameters: {String((form.schema.error as Error).message)}</p>
        ) : null}
        {form.triggerId && form.schema.loading ? <p role="status">Loading the trigger's parameters…</p> : null}
        <p role="status" className="hint">
          {form.announcement}
        </p>
        {trigger && loaded && schema ? (
          <div className="parameter-form">
            <h3 ref={form.heading} tabIndex={-1}>
              Trigger Parameters
            </h3>
            <p className="hint">{loaded.description}</p>
            <ExampleSelector
              examples={loaded.examples}
              chosen={form.example}
              onSelect={(index) => {
                form.chooseExample(index);
                request.changed();
              }}
            />
            <ParameterForm
              schema={schema}
              values={form.parameters}
              onChange={(values) => {
                form.change(values);
                request.changed();
              }}
              apiErrors={apiErrors.fields}
              onUnparsedChange={form.setUnparsed}
              readOnly={!invoker}
            />
          </div>
        ) : null}
        {/* The options and the button are there from the start, the button disabled until a
            trigger is chosen and its parameters pass the schema. A viewer is offered nothing
            the shim would refuse. */}
        {invoker ? (
          <InvocationOptions
            description={form.description}
            defaultDescription={trigger ? defaultDescription(trigger) : null}
            onDescriptionChange={(value) => {
              form.setDescription(value);
              request.changed();
            }}
            descriptionErrors={apiErrors.request.description ?? []}
            generalErrors={apiErrors.general}
            dryRun={form.dryRun}
            onDryRunChange={(value) => {
              form.setDryRun(value);
              request.newRequest();
            }}
            sendable={trigger !== null && form.valid}
            held={request.held}
            onSend={send}
          />
        ) : null}
      </div>
      <div className="mtp-aside">
        <ResultView state={state} executionHref={hrefOf} onOpenExecution={openInPanel} headingRef={request.resultHeading} />
        {shown ? (
          <ExecutionView
            key={shown.executionId}
            api={api}
            executionId={shown.executionId}
            acceptedAt={shown.acceptedAt}
            focusRequest={shown.focus}
            onClose={() => setShown(null)}
            onRunAgain={invoker ? form.load : undefined}
            onUnauthorized={onUnauthorized}
            onStatusChange={recent.refresh}
          />
        ) : null}
        {state.phase === "idle" && !shown ? (
          <p className="hint mtp-aside-hint">What a validation would send, or the execution an invocation starts, shows here.</p>
        ) : null}
      </div>
      {trigger && loaded ? (
        <div className="mtp-more">
          {invoker ? <CopyRequest target={{ origin, workflowId, triggerId: trigger.id, user }} body={body} /> : null}
          <RecentExecutions
            runs={recent.runs.data}
            loading={recent.runs.loading}
            onLoad={invoker ? (run) => form.load(fromSummary(workflowId, run)) : undefined}
            executionHref={hrefOf}
            onOpenExecution={openInPanel}
          />
        </div>
      ) : null}
    </div>
  );
}

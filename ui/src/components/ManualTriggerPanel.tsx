import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createApi, type ApiConfig, ApiError } from "../api/client";
import type { ExecutionSummary, Parameters, Trigger, WorkflowSummary } from "../api/types";
import { useRecentRuns, useTriggerSchema } from "../hooks/data";
import { useInvoke } from "../hooks/useInvoke";
import { useUnauthorized } from "../hooks/useUnauthorized";
import { mapApiErrors, type MappedErrors } from "../lib/errors";
import { tokenSubject } from "../lib/token";
import { defaultDescription, isEnterInSingleLineField, mayInvoke, overDefaults } from "../lib/triggers";
import { CopyRequest } from "./CopyRequest";
import { ExampleSelector } from "./ExampleSelector";
import { ExecutionView, type RunAgain } from "./ExecutionView";
import { InvocationOptions } from "./InvocationOptions";
import { jsonFields, ParameterForm, parametersValid, withDefaults } from "./ParameterForm";
import { RecentRuns } from "./RecentRuns";
import { ResultView } from "./ResultView";
import { TriggerSelector } from "./TriggerSelector";

export interface ManualTriggerPanelProps {
  workflowId: string;
  triggers: Trigger[];
  /** Where the shim's /api/v1 lives; "" (the default) is this page's origin. */
  apiBaseUrl?: string;
  /** The caller's bearer token (JWT), asked for before each request. */
  getToken: ApiConfig["getToken"];
  /** The shim refused the token (401): sign in again. */
  onUnauthorized?: () => void;
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

/** The execution shown under the result: just invoked (with its acceptance), or opened. */
interface Shown {
  executionId: string;
  acceptedAt: string | null;
  /** Bumped to move the focus to it; 0 leaves the focus where it is. */
  focus: number;
}

const NO_ERRORS: MappedErrors = { fields: {}, request: {}, general: [] };

/** Pick a trigger, fill its parameters, dry-run or invoke, see the result (DESIGN §6). */
export function ManualTriggerPanel({
  workflowId,
  triggers,
  apiBaseUrl = "",
  getToken,
  onUnauthorized = () => undefined,
  executionHref,
  prefill: offered = null,
  role,
}: ManualTriggerPanelProps) {
  const invoker = role === undefined || mayInvoke(role);
  const api = useMemo(() => createApi({ baseUrl: apiBaseUrl, getToken }), [apiBaseUrl, getToken]);
  const [triggerId, setTriggerId] = useState<string | null>(null);
  const [parameters, setParameters] = useState<Parameters>({});
  const [example, setExample] = useState<number | null>(null);
  const [dryRun, setDryRun] = useState(true);
  const [description, setDescription] = useState("");
  const [apiErrors, setApiErrors] = useState<MappedErrors>(NO_ERRORS);
  const [unparsed, setUnparsed] = useState<ReadonlySet<string>>(new Set());
  const [runsVersion, setRunsVersion] = useState(0);
  const [awaited, setAwaited] = useState<{ executionId: string; polls: number } | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  // A run to fill the form with, once its trigger's schema is loaded.
  const [prefill, setPrefill] = useState<RunAgain | null>(offered);
  const [user, setUser] = useState<string | null>(null);
  // One key per distinct request: a repeated click after a lost answer starts nothing new,
  // while a new request (anything changed, or after an answer) gets a new key.
  const idempotencyKey = useRef(crypto.randomUUID());
  const formTop = useRef<HTMLHeadingElement>(null);
  const resultHeading = useRef<HTMLHeadingElement>(null);
  // The control a request was sent from (the button, or a field Enter was pressed in).
  const sentFrom = useRef<Element | null>(null);

  const trigger = triggers.find((t) => t.id === triggerId) ?? null;
  const schema = useTriggerSchema(api, workflowId, triggerId);
  const loaded = schema.data && !schema.loading && schema.data.trigger_id === triggerId ? schema.data : null;
  const runs = useRecentRuns(api, workflowId, triggerId, runsVersion);
  const { state, invoke, reset } = useInvoke(api, onUnauthorized);

  useUnauthorized([schema.error, runs.error], onUnauthorized);

  const newRequest = () => {
    idempotencyKey.current = crypto.randomUUID();
    setApiErrors(NO_ERRORS);
  };

  // A newly loaded trigger starts from its defaults.
  useEffect(() => {
    if (!schema.data) return;
    setParameters(withDefaults(schema.data.parameter_schema, schema.data.default_parameters ?? {}));
    setExample(null);
    setUnparsed(new Set());
    newRequest();
    reset();
  }, [schema.data, reset]);

  useEffect(() => {
    void Promise.resolve(getToken()).then((token) => setUser(tokenSubject(token)));
  }, [getToken]);

  // The answer's JSON-pointer errors go next to their fields.
  useEffect(() => {
    const errors =
      state.phase === "done" ? (state.result.errors ?? []) : state.phase === "failed" ? (state.problem?.errors ?? []) : [];
    if (state.phase === "done" || state.phase === "failed") {
      setApiErrors(errors.length ? mapApiErrors(errors, jsonFields(schema.data?.parameter_schema ?? {})) : NO_ERRORS);
    }
    // An answer settles the request: the next click is a new one. No answer (a lost
    // connection, 503, a 504 still queued) keeps the key, so trying again cannot run it twice.
    const unsettled = state.phase === "failed" && [0, 503, 504].includes(state.status);
    if ((state.phase === "done" || state.phase === "failed" || state.phase === "rate-limited") && !unsettled) {
      idempotencyKey.current = crypto.randomUUID();
    }
    if (state.phase === "done" && state.result.status === "accepted" && state.result.execution_id) {
      setAwaited({ executionId: state.result.execution_id, polls: 0 });
      // Its live status, right under the answer (the focus stays on the button).
      setShown({ executionId: state.result.execution_id, acceptedAt: state.result.completed_at ?? null, focus: 0 });
    }
  }, [state, schema.data]);

  // Once the answer is there, the focus goes to its "Result" heading, unless the person has
  // moved on meanwhile: never left on <body>.
  useEffect(() => {
    if (state.phase !== "done" && state.phase !== "failed" && state.phase !== "rate-limited") return;
    const from = sentFrom.current;
    sentFrom.current = null;
    if (!from) return;
    const now = document.activeElement;
    if (now === from || now === null || now === document.body) resultHeading.current?.focus();
  }, [state]);

  // The scheduler records an accepted execution moments later: refresh the recent runs
  // until it shows up (or give up after ~15 s; the link still works).
  useEffect(() => {
    if (!awaited || runs.loading) return;
    if (runs.data?.some((run) => run.execution_id === awaited.executionId) || awaited.polls >= 20) {
      setAwaited(null);
      return;
    }
    const timer = setTimeout(() => {
      setAwaited({ ...awaited, polls: awaited.polls + 1 });
      setRunsVersion((n) => n + 1);
    }, 750);
    return () => clearTimeout(timer);
  }, [awaited, runs.data, runs.loading]);

  const refreshRuns = useCallback(() => setRunsVersion((n) => n + 1), []);

  const setUnparsedField = useCallback((name: string, isUnparsed: boolean) => {
    setUnparsed((current) => {
      if (current.has(name) === isUnparsed) return current;
      const next = new Set(current);
      if (isUnparsed) next.add(name);
      else next.delete(name);
      return next;
    });
  }, []);

  const selectTrigger = (id: string | null) => {
    setTriggerId(id);
    setDescription("");
    setShown(null);
    reset();
  };

  // "Run again" from outside the panel (the page's own execution view).
  useEffect(() => {
    if (offered) setPrefill(offered);
  }, [offered]);
  // Choose the run's trigger; once its schema is loaded, fill the form (after the defaults).
  useEffect(() => {
    if (!prefill) return;
    if (prefill.workflowId !== workflowId || !triggers.some((t) => t.id === prefill.triggerId)) {
      setPrefill(null);
      return;
    }
    if (triggerId !== prefill.triggerId) {
      setTriggerId(prefill.triggerId);
      setShown(null);
      reset();
      return;
    }
    if (!loaded) return;
    setParameters(withDefaults(loaded.parameter_schema, prefill.parameters));
    setExample(null);
    setDescription(prefill.description);
    newRequest();
    reset();
    setPrefill(null);
    formTop.current?.focus();
  }, [prefill, loaded, triggerId, triggers, workflowId, reset]);

  // A refusal of what was sent (its errors next to the fields, the red box) is about a request
  // that no longer is once the person changes it: it goes. A failure to be answered stays.
  const refused =
    (state.phase === "done" && !state.result.success) ||
    (state.phase === "failed" && [400, 422].includes(state.status));
  const changed = () => {
    newRequest();
    if (refused) reset();
  };

  const changeParameters = (values: Parameters, fromExample: number | null = null) => {
    setParameters(values);
    setExample(fromExample);
    changed();
  };

  const fromOutside = (values: Parameters) =>
    loaded ? withDefaults(loaded.parameter_schema, values) : values;
  // An example is merged over the trigger's defaults as the shim merges it (top-level keys).
  const fromExample = (index: number) =>
    loaded ? fromOutside(overDefaults(loaded.default_parameters, loaded.examples[index].parameters)) : {};

  const runAgain = (run: ExecutionSummary) =>
    setPrefill({
      workflowId,
      triggerId: run.trigger_id,
      parameters: run.parameters ?? {},
      description: run.description ?? "",
    });

  const rateLimited = state.phase === "rate-limited" && state.retryAt > Date.now();
  const [, tick] = useState(0);
  useEffect(() => {
    if (state.phase !== "rate-limited") return;
    const timer = setTimeout(() => tick((n) => n + 1), Math.max(0, state.retryAt - Date.now()) + 50);
    return () => clearTimeout(timer);
  }, [state]);

  const valid = loaded !== null && unparsed.size === 0 && parametersValid(loaded.parameter_schema, parameters);
  const busy = state.phase === "sending" || state.phase === "waiting";
  // While sending (or held by a 429) the button stays focusable (aria-disabled) and ignores
  // presses: a disabled button would drop the focus to <body>.
  const held = busy || rateLimited;
  const body = {
    parameters,
    description: description.trim() || (trigger ? defaultDescription(trigger) : ""),
    dry_run: dryRun,
  };
  const send = () => {
    if (!invoker || !trigger || !valid || held) return;
    sentFrom.current = document.activeElement;
    void invoke(workflowId, trigger.id, body, idempotencyKey.current);
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
      {invoker ? null : (
        <p className="notice" id="mtp-read-only">
          {READ_ONLY_NOTICE}
        </p>
      )}
      <TriggerSelector triggers={triggers} selected={triggerId} onSelect={selectTrigger} />
      {schema.error && !(schema.error instanceof ApiError && schema.error.status === 401) ? (
        <p role="alert">Could not load the trigger's parameters: {String((schema.error as Error).message)}</p>
      ) : null}
      {triggerId && schema.loading ? <p role="status">Loading the trigger's parameters…</p> : null}
      {trigger && loaded ? (
        <div className="parameter-form">
          <h3 ref={formTop} tabIndex={-1}>
            Trigger Parameters
          </h3>
          <p className="hint">{loaded.description}</p>
          <ExampleSelector
            examples={loaded.examples}
            chosen={example}
            onSelect={(index) => changeParameters(fromExample(index), index)}
          />
          <ParameterForm
            schema={loaded.parameter_schema}
            values={parameters}
            onChange={(values) => changeParameters(values)}
            apiErrors={apiErrors.fields}
            onUnparsedChange={setUnparsedField}
            readOnly={!invoker}
          />
        </div>
      ) : null}
      {/* As in the design: the options and the button are there from the start, the button
          disabled until a trigger is chosen and its parameters pass the schema. A viewer is
          offered nothing the shim would refuse. */}
      {invoker ? (
        <>
          <InvocationOptions
            description={description}
            defaultDescription={trigger ? defaultDescription(trigger) : null}
            onDescriptionChange={(value) => {
              setDescription(value);
              changed();
            }}
            descriptionErrors={apiErrors.request.description ?? []}
            dryRun={dryRun}
            onDryRunChange={(value) => {
              setDryRun(value);
              newRequest();
            }}
          />
          {apiErrors.general.length ? (
            <ul className="problems" aria-label="Errors of the request">
              {apiErrors.general.map((message) => (
                <li key={message}>{message}</li>
              ))}
            </ul>
          ) : null}
          <div className="button-row">
            <button
              type="button"
              className="invoke-button"
              disabled={!trigger || !valid}
              aria-disabled={held || undefined}
              onClick={send}
            >
              {dryRun ? "Validate" : "Invoke"} Trigger
            </button>
          </div>
        </>
      ) : null}
      <ResultView state={state} executionHref={hrefOf} onOpenExecution={openInPanel} headingRef={resultHeading} />
      {shown ? (
        <ExecutionView
          key={shown.executionId}
          api={api}
          executionId={shown.executionId}
          acceptedAt={shown.acceptedAt}
          focusRequest={shown.focus}
          onClose={() => setShown(null)}
          onRunAgain={invoker ? setPrefill : undefined}
          onUnauthorized={onUnauthorized}
          onStatusChange={refreshRuns}
        />
      ) : null}
      {trigger && loaded ? (
        <>
          {invoker ? <CopyRequest target={{ origin, workflowId, triggerId: trigger.id, user }} body={body} /> : null}
          <RecentRuns
            runs={runs.data}
            loading={runs.loading}
            onRunAgain={invoker ? runAgain : undefined}
            executionHref={hrefOf}
            onOpenExecution={openInPanel}
          />
        </>
      ) : null}
    </div>
  );
}

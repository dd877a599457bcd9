// A stand-in for the shim's HTTP answers in component tests (the real shim is exercised by
// the browser tests in e2e/): each route answers with a status, a body and headers.
import type { ExecutionRecord, Trigger } from "../api/types";
import webhookSchema from "./webhook-schema.json";
import manualSchema from "./manual-schema.json";
import cronSchema from "./cron-schema.json";
import emailSchema from "./email-schema.json";
import githubSchema from "./github-schema.json";
import slackSchema from "./slack-schema.json";

export const BASE = "http://shim.test";

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** A streamed body (Server-Sent Events) instead of JSON. */
  stream?: ReadableStream<Uint8Array>;
}
export type Route = (request: Request, body: unknown) => Answer | Promise<Answer>;

const TRIGGERS_URL = "/api/v1/workflows/wf_demo/triggers";

export const TRIGGERS: Trigger[] = [
  {
    id: "trig_webhook_1",
    type: "WEBHOOK",
    enabled: true,
    manual_invocation: true,
    manual_invocation_supported: true,
    config: { webhook_url: "/webhook/abc123", method: "POST", secret: "***REDACTED***" },
    name: "Webhook POST /webhook/abc123",
    schema_url: `${TRIGGERS_URL}/trig_webhook_1/manual-invoke/schema`,
    invoke_url: `${TRIGGERS_URL}/trig_webhook_1/manual-invoke`,
  },
  {
    id: "trig_manual_1",
    type: "MANUAL",
    enabled: true,
    manual_invocation: true,
    manual_invocation_supported: true,
    config: {},
    name: "Manual run",
    schema_url: `${TRIGGERS_URL}/trig_manual_1/manual-invoke/schema`,
    invoke_url: `${TRIGGERS_URL}/trig_manual_1/manual-invoke`,
  },
];

/** The demo's cron trigger: not in TRIGGERS; a test that wants it adds it. */
export const CRON_TRIGGER: Trigger = {
  id: "trig_cron_1",
  type: "CRON",
  enabled: true,
  manual_invocation: true,
  manual_invocation_supported: true,
  config: { schedule: "0 9 * * 1-5", timezone: "Europe/Berlin" },
  name: "Schedule 0 9 * * 1-5 (Europe/Berlin)",
  schema_url: `${TRIGGERS_URL}/trig_cron_1/manual-invoke/schema`,
  invoke_url: `${TRIGGERS_URL}/trig_cron_1/manual-invoke`,
};

/** A trigger of the schema answers below, as the trigger list shows it. */
function triggerOf(answer: { trigger_id: string; trigger_type: string; name: string; trigger_config: object }): Trigger {
  return {
    id: answer.trigger_id,
    type: answer.trigger_type as Trigger["type"],
    enabled: true,
    manual_invocation: true,
    manual_invocation_supported: true,
    config: answer.trigger_config as Trigger["config"],
    name: answer.name,
    schema_url: `${TRIGGERS_URL}/${answer.trigger_id}/manual-invoke/schema`,
    invoke_url: `${TRIGGERS_URL}/${answer.trigger_id}/manual-invoke`,
  };
}

/** Triggers whose schemas have per-event-type fields, formats and long text (hand-written in
 * the shape of contracts/schemas/parameters/*): not in TRIGGERS; a test that wants one adds it. */
export const GITHUB_TRIGGER = triggerOf(githubSchema);
export const SLACK_TRIGGER = triggerOf(slackSchema);
export const EMAIL_TRIGGER = triggerOf(emailSchema);

// The schema endpoint's answers for the demo's triggers (`manual-trigger schema … --json`).
export const SCHEMAS: Record<string, unknown> = {
  trig_webhook_1: webhookSchema,
  trig_manual_1: manualSchema,
  trig_cron_1: cronSchema,
  trig_github_1: githubSchema,
  trig_slack_1: slackSchema,
  trig_email_1: emailSchema,
};

export function fakeShim(extra: Record<string, Route> = {}) {
  const calls: { method: string; path: string; body: unknown; headers: Headers }[] = [];
  const routes: Record<string, Route> = {
    "GET /api/v1/workflows/wf_demo/executions": () => ({ status: 200, body: { workflow_id: "wf_demo", executions: [] } }),
    ...extra,
  };
  const fetch = async (input: Request | string, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const text = request.method === "GET" ? "" : await request.text();
    const body = text ? JSON.parse(text) : undefined;
    calls.push({ method: request.method, path: url.pathname + url.search, body, headers: request.headers });
    const schema = /^\/api\/v1\/workflows\/wf_demo\/triggers\/(\w+)\/manual-invoke\/schema$/.exec(url.pathname);
    const route = routes[`${request.method} ${url.pathname}`];
    let answer: Answer;
    if (route) answer = await route(request, body);
    else if (schema && SCHEMAS[schema[1]]) answer = { status: 200, body: SCHEMAS[schema[1]] };
    else answer = { status: 404, body: { title: "Not found", status: 404 } };
    const problem = answer.status >= 400;
    if (answer.stream) {
      // The page going away (an aborted fetch) breaks the stream, as in a browser.
      const body = answer.stream.pipeThrough(new TransformStream(), { signal: request.signal });
      return new Response(body, {
        status: answer.status,
        headers: { "Content-Type": "text/event-stream", ...answer.headers },
      });
    }
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "Content-Type": problem ? "application/problem+json" : "application/json", ...answer.headers },
    });
  };
  return { fetch, calls };
}

/** A recorded execution of trig_manual_1, as GET /api/v1/executions/{id} answers. */
/** The worker's answer to an accepted invocation of the demo MANUAL trigger (execution exec_42). */
export function acceptedAnswer(
  inputs: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Answer {
  return {
    status: 202,
    body: {
      invocation_id: "inv-2",
      status: "accepted",
      success: true,
      message: "Workflow execution started successfully",
      workflow_id: "wf_demo",
      trigger_id: "trig_manual_1",
      execution_id: "exec_42",
      execution_url: "/api/v1/executions/exec_42",
      trigger_data: { trigger_type: "MANUAL", resolved_parameters: { inputs } },
      ...extra,
    },
  };
}

export function executionRecord(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const id = overrides.execution_id ?? "exec_42";
  return {
    execution_id: id,
    event_id: "evt_42",
    workflow_id: "wf_demo",
    trigger_id: "trig_manual_1",
    trigger_type: "MANUAL",
    status: "pending",
    status_message: "waiting for the workflow engine",
    trigger_data: { trigger_type: "MANUAL", inputs: { environment: "production", version: "1.4.2" } },
    input_data: { environment: "production", version: "1.4.2", notify: false },
    metadata: {
      manual_invocation: true,
      initiated_by: "demo-user",
      invocation_description: "release 1.4.2",
      simulated_parameters: { environment: "production", version: "1.4.2", notify: false },
      manual_invocation_timestamp: "2026-11-26T02:00:00.000Z",
      source: "api",
      replay_of: null,
    },
    created_at: "2026-11-26T02:00:00.250Z",
    started_at: null,
    finished_at: null,
    duration_ms: null,
    output: null,
    error: null,
    events_url: `/api/v1/executions/${id}/events`,
    // The parameters that reproduce it: a manual run's own.
    parameters: { environment: "production", version: "1.4.2", notify: false },
    ...overrides,
  };
}

/** The record as it goes: pending, running 0.3 s later, then succeeded or failed at 1.3 s. */
export function executionSteps(final: "succeeded" | "failed" = "succeeded"): ExecutionRecord[] {
  const pending = executionRecord();
  const running = { ...pending, status: "running" as const, status_message: null, started_at: "2026-11-26T02:00:00.550Z" };
  const finished = { ...running, status: final, finished_at: "2026-11-26T02:00:01.550Z", duration_ms: 1000 };
  return [
    pending,
    running,
    final === "succeeded"
      ? { ...finished, output: { deployed: "1.4.2", steps: [1, 2] } }
      : { ...finished, error: { message: "boom", code: "engine_failure", details: { step: "deploy" } } },
  ];
}

/** One Server-Sent Events response the test writes to as it likes. */
export function sseStream() {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      cancelled = true;
    },
  });
  const write = (text: string) => {
    if (!cancelled) controller.enqueue(encoder.encode(text));
  };
  return {
    answer: { status: 200, body: null, stream } as Answer,
    /** `event: execution`, `id: <step>`, `data: <record>`. */
    send(record: ExecutionRecord, id: number) {
      write(`event: execution\nid: ${id}\ndata: ${JSON.stringify(record)}\n\n`);
    },
    heartbeat: () => write(": heartbeat\n\n"),
    /** Anything else, as it is (`retry: 20\n\n`). */
    raw: write,
    /** The server ends the response. */
    close: () => !cancelled && controller.close(),
    /** The connection breaks. */
    fail: () => !cancelled && controller.error(new TypeError("network error")),
    get cancelled() {
      return cancelled;
    },
  };
}

/** Answers GET /api/v1/executions/{id}/events with each of these streams in turn. */
export function eventsRoute(streams: ReturnType<typeof sseStream>[], id = "exec_42") {
  let next = 0;
  return {
    [`GET /api/v1/executions/${id}/events`]: (() => {
      const stream = streams[next++];
      return stream ? stream.answer : { status: 500, body: { title: "no more streams", status: 500 } };
    }) as Route,
  };
}

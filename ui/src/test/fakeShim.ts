// A stand-in for the shim's HTTP answers in component tests (the real shim is exercised by
// the browser tests in e2e/): each route answers with a status, a body and headers.
import type { Trigger } from "../api/types";
import webhookSchema from "./webhook-schema.json";
import manualSchema from "./manual-schema.json";

export const BASE = "http://shim.test";

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
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

export const SCHEMAS: Record<string, unknown> = {
  trig_webhook_1: webhookSchema,
  trig_manual_1: manualSchema,
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
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "Content-Type": problem ? "application/problem+json" : "application/json", ...answer.headers },
    });
  };
  return { fetch, calls };
}

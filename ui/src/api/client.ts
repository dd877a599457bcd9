import createClient from "openapi-fetch";
import { ApiError } from "./errors";
import { followExecution, type FollowOptions } from "./executionStream";
import type { paths } from "./schema";
import type {
  ExecutionRecord,
  ExecutionSummary,
  InvokeAnswer,
  InvokeBody,
  InvokeResult,
  Problem,
  Trigger,
  TriggerSchema,
  WorkflowSummary,
} from "./types";

export { ApiError };

/** The live status stream: read with fetch and a streaming parser, not openapi-fetch. */
const EVENTS: keyof paths = "/api/v1/executions/{execution_id}/events";

/** How the panel reaches the shim: a base URL ("" = this origin) and the caller's token. */
export interface ApiConfig {
  baseUrl: string;
  getToken: () => string | null | Promise<string | null>;
}

export interface ExecutionQuery {
  trigger_id?: string;
  limit?: number;
  cursor?: string;
}

async function check<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) {
    const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    const problem = error && typeof error === "object" ? (error as Problem) : null;
    throw new ApiError(response.status, problem, Number.isNaN(retryAfter) ? null : retryAfter);
  }
  return data;
}

/** The shim's API, typed from its own OpenAPI document (src/api/schema.d.ts). */
export function createApi({ baseUrl, getToken }: ApiConfig) {
  // "" is this page's origin, spelled out: fetch's Request needs an absolute URL outside
  // browsers (tests, server rendering).
  const origin = baseUrl || window.location.origin;
  const client = createClient<paths>({ baseUrl: origin });
  client.use({
    async onRequest({ request }) {
      const token = await getToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });
  return {
    baseUrl,
    workflows: async (): Promise<WorkflowSummary[]> =>
      (await check(client.GET("/api/v1/workflows"))).workflows,
    triggers: async (workflowId: string): Promise<Trigger[]> =>
      (
        await check(
          client.GET("/api/v1/workflows/{workflow_id}/triggers", {
            params: { path: { workflow_id: workflowId } },
          }),
        )
      ).triggers,
    schema: async (workflowId: string, triggerId: string): Promise<TriggerSchema> =>
      check(
        client.GET("/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke/schema", {
          params: { path: { workflow_id: workflowId, trigger_id: triggerId } },
        }),
      ),
    invoke: async (
      workflowId: string,
      triggerId: string,
      body: InvokeBody,
      idempotencyKey: string,
    ): Promise<InvokeAnswer> =>
      check(
        client.POST("/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/manual-invoke", {
          params: {
            path: { workflow_id: workflowId, trigger_id: triggerId },
            header: { "Idempotency-Key": idempotencyKey },
          },
          body,
        }),
      ),
    invocation: async (invocationId: string): Promise<InvokeResult> =>
      check(
        client.GET("/api/v1/invocations/{invocation_id}", {
          params: { path: { invocation_id: invocationId } },
        }),
      ),
    execution: async (executionId: string): Promise<ExecutionRecord> =>
      check(
        client.GET("/api/v1/executions/{execution_id}", {
          params: { path: { execution_id: executionId } },
        }),
      ),
    /** Follow the execution's live status (Server-Sent Events) until it is final. */
    followExecution: (executionId: string, options: Omit<FollowOptions, "url" | "getToken">) =>
      followExecution({
        ...options,
        url: origin + EVENTS.replace("{execution_id}", encodeURIComponent(executionId)),
        getToken,
      }),
    executions: async (
      workflowId: string,
      query: ExecutionQuery,
    ): Promise<{ executions: ExecutionSummary[]; next_cursor?: string | null }> =>
      check(
        client.GET("/api/v1/workflows/{workflow_id}/executions", {
          params: { path: { workflow_id: workflowId }, query },
        }),
      ),
  };
}

export type Api = ReturnType<typeof createApi>;

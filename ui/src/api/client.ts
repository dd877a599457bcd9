import createClient from "openapi-fetch";
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

/** How the panel reaches the shim: a base URL ("" = this origin) and the caller's token. */
export interface ApiConfig {
  baseUrl: string;
  getToken: () => string | null | Promise<string | null>;
}

/** An answer other than 2xx, with the shim's problem document when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    readonly retryAfterSeconds: number | null,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
  }
}

export interface ExecutionQuery {
  trigger_id?: string;
  manual?: boolean;
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
  const client = createClient<paths>({ baseUrl: baseUrl || window.location.origin });
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

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, type Api } from "../api/client";
import type { InvokeAnswer, InvokeBody, Problem } from "../api/types";
import type { OnUnauthorized } from "./useUnauthorized";

export type InvokeState =
  | { phase: "idle" }
  | { phase: "sending" }
  /** Queued (a 504, or a 202 "queued" when no reply could come in time): its status is polled. */
  | { phase: "waiting"; invocationId: string; polls: number }
  /** The answer; a polled status has no `wire_preview`. */
  | { phase: "done"; result: InvokeAnswer }
  | { phase: "failed"; status: number; problem: Problem | null; message: string }
  /** 429: the button waits until `retryAt` (ms since the epoch, from Retry-After). */
  | { phase: "rate-limited"; retryAt: number; problem: Problem | null };

const POLL_MS = 1000;
const MAX_POLLS = 120;

/** Send one invocation and follow it to its answer: 429 waits, a queued one (504, or 202
 * "queued") polls, 401 signs out. */
export function useInvoke(api: Api, onUnauthorized: OnUnauthorized) {
  const [state, setState] = useState<InvokeState>({ phase: "idle" });
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const poll = useCallback(
    async (invocationId: string) => {
      for (let polls = 1; polls <= MAX_POLLS && alive.current; polls++) {
        setState({ phase: "waiting", invocationId, polls });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        try {
          const result = await api.invocation(invocationId);
          if (result.status !== "queued") {
            setState({ phase: "done", result });
            return;
          }
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) return onUnauthorized(error.problem?.detail ?? null);
          // Not known yet, or the shim is briefly away: keep polling.
        }
      }
      setState({
        phase: "failed",
        status: 504,
        problem: null,
        message: `Still queued after ${MAX_POLLS} s: invocation ${invocationId}. Check its status later.`,
      });
    },
    [api, onUnauthorized],
  );

  const invoke = useCallback(
    async (workflowId: string, triggerId: string, body: InvokeBody, idempotencyKey: string) => {
      setState({ phase: "sending" });
      try {
        const result = await api.invoke(workflowId, triggerId, body, idempotencyKey);
        if (!alive.current) return;
        // Confirmed but not answered yet (no worker, or a backlog): follow its status.
        if (result.status === "queued") await poll(result.invocation_id);
        else setState({ phase: "done", result });
      } catch (error) {
        if (!alive.current) return;
        if (!(error instanceof ApiError)) {
          const message = error instanceof Error ? error.message : String(error);
          setState({ phase: "failed", status: 0, problem: null, message: `No answer: ${message}` });
        } else if (error.status === 401) {
          setState({ phase: "idle" });
          onUnauthorized(error.problem?.detail ?? null);
        } else if (error.status === 429) {
          const seconds = error.retryAfterSeconds ?? error.problem?.rate_limit?.retry_after_seconds ?? 60;
          setState({ phase: "rate-limited", retryAt: Date.now() + seconds * 1000, problem: error.problem });
        } else if (error.status === 504 && error.problem?.invocation_id) {
          await poll(error.problem.invocation_id);
        } else {
          setState({ phase: "failed", status: error.status, problem: error.problem, message: error.message });
        }
      }
    },
    [api, onUnauthorized, poll],
  );

  const reset = useCallback(() => setState({ phase: "idle" }), []);
  return { state, invoke, reset };
}

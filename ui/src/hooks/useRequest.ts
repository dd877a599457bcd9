import { useEffect, useEffectEvent, useRef, useState } from "react";
import type { Api } from "../api/client";
import type { InvokeBody } from "../api/types";
import { mapApiErrors, type MappedErrors } from "../lib/errors";
import { jsonFields, type Schema } from "../lib/schemaForm";
import { useInvoke } from "./useInvoke";
import type { OnUnauthorized } from "./useUnauthorized";

const NO_ERRORS: MappedErrors = { fields: {}, request: {}, general: [] };

/**
 * One invocation request at a time, and what comes of it: the shim's errors next to the fields
 * they name, the Idempotency-Key (the same until the request changes or is answered), the
 * focus moved to the "Result" heading when the answer arrives, a 429 holding the button.
 */
export function useRequest(
  api: Api,
  onUnauthorized: OnUnauthorized,
  schema: Schema | undefined,
  onAccepted: (executionId: string, acceptedAt: string | null) => void,
) {
  const [apiErrors, setApiErrors] = useState<MappedErrors>(NO_ERRORS);
  // One key per distinct request: a repeated click after a lost answer starts nothing new,
  // while a new request (anything changed, or after an answer) gets a new key.
  const idempotencyKey = useRef(crypto.randomUUID());
  const resultHeading = useRef<HTMLHeadingElement>(null);
  // The control a request was sent from (the button, or a field Enter was pressed in).
  const sentFrom = useRef<Element | null>(null);
  const { state, invoke, reset } = useInvoke(api, onUnauthorized);

  const answered = useEffectEvent(() => {
    if (state.phase !== "done" && state.phase !== "failed" && state.phase !== "rate-limited") return;
    // The answer's JSON-pointer errors go next to their fields.
    const errors = state.phase === "done" ? (state.result.errors ?? []) : state.phase === "failed" ? (state.problem?.errors ?? []) : [];
    if (state.phase !== "rate-limited") setApiErrors(errors.length ? mapApiErrors(errors, jsonFields(schema ?? {})) : NO_ERRORS);
    // An answer settles the request: the next click is a new one. No answer (a lost
    // connection, 503, a 504 still queued, a 409 for a try still being answered, from
    // another tab) keeps the key, so trying again cannot run it twice.
    if (!(state.phase === "failed" && unanswered(state.status, state.problem))) idempotencyKey.current = crypto.randomUUID();
    if (state.phase === "done" && state.result.status === "accepted" && state.result.execution_id) {
      onAccepted(state.result.execution_id, state.result.completed_at ?? null);
    }
    // The focus goes to the answer's "Result" heading, unless the person has moved on
    // meanwhile: never left on <body>.
    const from = sentFrom.current;
    sentFrom.current = null;
    const now = document.activeElement;
    if (from && (now === from || now === null || now === document.body)) resultHeading.current?.focus();
  });
  useEffect(() => answered(), [state]);

  // A 429 holds the button until its Retry-After.
  const rateLimited = state.phase === "rate-limited" && state.retryAt > Date.now();
  const [, tick] = useState(0);
  useEffect(() => {
    if (state.phase !== "rate-limited") return;
    const timer = setTimeout(() => tick((n) => n + 1), Math.max(0, state.retryAt - Date.now()) + 50);
    return () => clearTimeout(timer);
  }, [state]);
  // While sending (or held by a 429) the button stays focusable and ignores presses.
  const held = state.phase === "sending" || state.phase === "waiting" || rateLimited;

  /** The request changed (dry run switched): a new key, the old answer's errors gone. */
  const newRequest = () => {
    idempotencyKey.current = crypto.randomUUID();
    setApiErrors(NO_ERRORS);
  };
  // A refusal of what was sent (its errors next to the fields, the red box) is about a request
  // that no longer is once the person changes it: it goes. A failure to be answered stays.
  const refused = (state.phase === "done" && !state.result.success) || (state.phase === "failed" && [400, 422].includes(state.status));
  /** The parameters or the description changed. */
  const changed = () => {
    newRequest();
    if (refused) reset();
  };
  /** The form was filled anew (another trigger, a loaded run): no answer applies any more. */
  const restart = () => {
    newRequest();
    reset();
  };
  const send = (workflowId: string, triggerId: string, body: InvokeBody) => {
    if (held) return;
    sentFrom.current = document.activeElement;
    void invoke(workflowId, triggerId, body, idempotencyKey.current);
  };

  return { state, apiErrors, held, resultHeading, send, newRequest, changed, restart };
}

/** A failure that is no answer to the request: the same request, under the same key, may be sent again. */
function unanswered(status: number, problem: { errors?: { code: string }[] } | null): boolean {
  if ([0, 503, 504].includes(status)) return true;
  return status === 409 && (problem?.errors ?? []).some((e) => e.code === "idempotency_key_in_progress");
}

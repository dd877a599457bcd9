import { createParser, type EventSourceParser } from "eventsource-parser";
import { ApiError } from "./errors";
import type { ExecutionRecord, Problem } from "./types";

/** Where a followed execution's stream stands (shown next to the status badge). */
export type StreamPhase =
  /** Asking; or the shim has not recorded the execution yet (404 just after a 202). */
  | "connecting"
  | "live"
  /** The stream dropped before a final status; resuming after the last event heard. */
  | "reconnecting"
  /** A final status arrived: nothing more will change. */
  | "ended";

export interface FollowOptions {
  /** The absolute URL of GET /api/v1/executions/{id}/events. */
  url: string;
  getToken: () => string | null | Promise<string | null>;
  signal: AbortSignal;
  onRecord: (record: ExecutionRecord) => void;
  onPhase?: (phase: StreamPhase) => void;
  /** For tests: how to wait (default setTimeout, cut short by `signal`). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const FINAL_STATUSES: readonly string[] = ["succeeded", "failed", "cancelled"];
export const isFinal = (status: string) => FINAL_STATUSES.includes(status);

/** A 404 right after the 202 is the scheduler not having recorded it yet: ~15 s of retries. */
const NOT_FOUND_DELAYS = [200, 400, 800, 1600, 2000, 2000, 2000, 2000, 2000, 2000];
/** Drops and 5xx in a row before giving up (any event received resets the count). */
const MAX_FAILURES = 8;
const MAX_DELAY_MS = 10_000;

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

async function problemOf(response: Response): Promise<Problem | null> {
  try {
    const body: unknown = await response.json();
    return body && typeof body === "object" ? (body as Problem) : null;
  } catch {
    return null;
  }
}

/** Feed the body to the parser until it ends or `done()`; then let go of the connection. */
async function read(response: Response, parser: EventSourceParser, done: () => boolean) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  try {
    while (!done()) {
      const chunk = await reader.read();
      if (chunk.done) break;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Follow an execution's Server-Sent Events until it reaches a final status (or `signal`
 * aborts). Uses fetch so that the bearer token goes along (EventSource cannot send headers),
 * resumes a dropped stream with `Last-Event-ID`, and retries a 404 briefly with backoff.
 * Throws an `ApiError` for an answer that will not change by retrying (401, 403, a 404 that
 * lasts, or too many failures in a row).
 */
export async function followExecution({ url, getToken, signal, onRecord, onPhase, sleep = wait }: FollowOptions) {
  let lastEventId: string | null = null;
  let retryMs = 1000; // the server may change it with `retry:`
  let notFound = 0;
  let failures = 0;
  let final = false;
  let heard = 0; // events and heartbeats received, over all connections

  const parser = createParser({
    onEvent(message) {
      if (message.event !== undefined && message.event !== "execution") return;
      let record: ExecutionRecord;
      try {
        record = JSON.parse(message.data) as ExecutionRecord;
      } catch {
        return; // not an execution: ignored, as EventSource ignores what it does not know
      }
      if (message.id !== undefined) lastEventId = message.id;
      failures = 0;
      heard += 1;
      onRecord(record);
      if (isFinal(record.status)) final = true;
    },
    onComment() {
      heard += 1; // a heartbeat: the connection was alive
      failures = 0;
    },
    onRetry(ms) {
      retryMs = ms;
    },
  });

  onPhase?.("connecting");
  while (!signal.aborted) {
    const headers = new Headers({ Accept: "text/event-stream" });
    const token = await getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (lastEventId !== null) headers.set("Last-Event-ID", lastEventId);
    let response: Response;
    try {
      response = await fetch(url, { headers, signal, cache: "no-store" });
    } catch (error) {
      if (signal.aborted) return;
      if (++failures > MAX_FAILURES) throw error;
      onPhase?.("reconnecting");
      await sleep(Math.min(retryMs * failures, MAX_DELAY_MS), signal);
      continue;
    }
    if (response.status === 404 && notFound < NOT_FOUND_DELAYS.length) {
      await response.body?.cancel();
      await sleep(NOT_FOUND_DELAYS[notFound++], signal);
      continue;
    }
    if (!response.ok) {
      const retryable = response.status >= 500 || response.status === 429;
      const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
      if (!retryable || ++failures > MAX_FAILURES) {
        throw new ApiError(response.status, await problemOf(response), Number.isNaN(retryAfter) ? null : retryAfter);
      }
      await response.body?.cancel();
      onPhase?.("reconnecting");
      await sleep(Number.isNaN(retryAfter) ? Math.min(retryMs * failures, MAX_DELAY_MS) : retryAfter * 1000, signal);
      continue;
    }
    notFound = NOT_FOUND_DELAYS.length; // recorded now: a later 404 is an answer
    onPhase?.("live");
    parser.reset();
    const before = heard;
    try {
      await read(response, parser, () => final);
    } catch (error) {
      if (signal.aborted) return;
      if (!final && heard === before && failures + 1 > MAX_FAILURES) throw error;
    }
    if (!final && heard === before) failures += 1; // a stream that said nothing new
    if (failures > MAX_FAILURES) throw new Error("The execution's status stream keeps ending without a word");
    if (final) {
      onPhase?.("ended");
      return;
    }
    // Ended (or broke) before a final status: resume after the last event heard.
    if (signal.aborted) return;
    onPhase?.("reconnecting");
    await sleep(Math.min(retryMs * Math.max(1, failures), MAX_DELAY_MS), signal);
  }
}

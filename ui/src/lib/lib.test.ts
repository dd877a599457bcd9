import { asCurl, shellQuote } from "./commands";
import { mapApiErrors, pointerSegments } from "./errors";
import { preview } from "./preview";
import { takeTokenFromFragment, tokenSubject } from "./token";
import { formatTimestamp } from "./time";
import { formatDuration, timelineSteps } from "./timeline";
import { mayInvoke, overDefaults } from "./triggers";
import type { ExecutionRecord } from "../api/types";

test("JSON pointers are split and unescaped", () => {
  expect(pointerSegments("/parameters/headers/a~1b~0c")).toEqual(["parameters", "headers", "a/b~c"]);
  expect(pointerSegments("")).toEqual([]);
});

test("errors land on their field, stopping at raw-JSON fields", () => {
  const mapped = mapApiErrors(
    [
      { path: "/parameters/commits/0/message", message: "too long", code: "x" },
      { path: "/parameters/body/order/id", message: "must be a number", code: "x" },
      { path: "/dry_run", message: "must be boolean", code: "x" },
      { path: "", message: "not valid JSON", code: "json_invalid" },
    ],
    new Set(["body"]),
  );
  expect(mapped.fields).toEqual({
    commits: { 0: { message: { __errors: ["too long"] } } },
    body: { __errors: ["order/id: must be a number"] },
  });
  expect(mapped.request).toEqual({ dry_run: ["must be boolean"] });
  expect(mapped.general).toEqual(["not valid JSON"]);
});

test("shell words survive quotes", () => {
  expect(shellQuote("plain-word")).toBe("plain-word");
  expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  const curl = asCurl(
    { origin: "http://h:1", workflowId: "wf", triggerId: "t", user: null },
    { parameters: { text: "it's" }, description: "d", dry_run: true },
  );
  expect(curl).toContain(`--data-binary '{"parameters":{"text":"it'\\''s"},"description":"d","dry_run":true}'`);
});

test("the shim's wire preview is shown; without one, the resolved parameters", () => {
  const answer = {
    invocation_id: "inv-1",
    status: "dry_run" as const,
    success: true,
    message: "Dry run: valid",
    workflow_id: "wf",
    trigger_id: "t",
    trigger_data: { trigger_type: "WEBHOOK" as const, resolved_parameters: { method: "POST" } },
  };
  const wire = { title: "HTTP request from 127.0.0.1", text: "POST /webhook/abc HTTP/1.1\n\n" };
  expect(preview({ ...answer, wire_preview: wire })).toEqual(wire);
  expect(preview(answer)).toEqual({ title: "Event", text: '{\n  "method": "POST"\n}' });
  expect(preview({ ...answer, trigger_data: null })).toBeNull();
});

test("#token= is taken out of the address", () => {
  window.history.replaceState(null, "", "/panel?x=1#token=abc.def.ghi&other=2");
  expect(takeTokenFromFragment(window.location, window.history)).toBe("abc.def.ghi");
  expect(window.location.pathname + window.location.search + window.location.hash).toBe("/panel?x=1#other=2");
  expect(takeTokenFromFragment(window.location, window.history)).toBeNull();
});

test("the token's subject is read without trusting it", () => {
  expect(tokenSubject(`h.${btoa('{"sub":"ann"}')}.s`)).toBe("ann");
  expect(tokenSubject("garbage")).toBeNull();
});

describe("the execution timeline", () => {
  const record = {
    created_at: "2026-11-26T02:00:00.250Z",
    started_at: null,
    finished_at: "2026-11-26T02:00:01.000Z",
    status: "cancelled",
    metadata: {},
  } as unknown as ExecutionRecord;

  test("a run cancelled before it started has no running step, and no requested one without a timestamp", () => {
    expect(timelineSteps(record).map((s) => [s.key, s.label, s.sinceMs])).toEqual([
      ["recorded", "Recorded", null],
      ["finished", "Cancelled", 750],
    ]);
  });

  test("durations read as people write them", () => {
    expect(formatDuration(120, "en")).toBe("120 ms");
    expect(formatDuration(1349, "en")).toBe("1.3 s");
    expect(formatDuration(1349, "de")).toBe("1,3 s");
    expect(formatDuration(125_000, "en")).toBe("2 min 5 s");
    expect(formatDuration(3_720_000, "en")).toBe("1 h 2 min");
    expect(formatDuration(-40, "en")).toBe("−40 ms");
  });

  test("times are the reader's, to the millisecond, with the zone", () => {
    const at = "2026-11-26T02:00:00.250Z";
    expect(formatTimestamp(at, { precise: true, locales: ["en-GB"], timeZone: "UTC" })).toBe("26 Nov 2026, 02:00:00.250 UTC");
    expect(formatTimestamp("not a date")).toBe("not a date");
  });
});

test("an example goes over the defaults key by key at the top level, as the shim merges it", () => {
  const defaults = { method: "POST", headers: { "Content-Type": "application/json" }, body: {} };
  expect(overDefaults(defaults, { headers: { "X-Source": "manual-test" }, body: { a: 1 } })).toEqual({
    method: "POST",
    headers: { "X-Source": "manual-test" },
    body: { a: 1 },
  });
  expect(overDefaults(null, { a: 1 })).toEqual({ a: 1 });
  expect(defaults.headers).toEqual({ "Content-Type": "application/json" });
});

test("operators and above may invoke; viewers, and roles the panel does not know, may not", () => {
  expect(["viewer", "operator", "editor", "owner", "admin", ""].map(mayInvoke)).toEqual([
    false, true, true, true, false, false,
  ]);
});

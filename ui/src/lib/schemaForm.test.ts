import { createSchemaUtils, type RJSFSchema, type UiSchema } from "@rjsf/utils";
import github from "../test/github-schema.json";
import { effectiveSchema, humanise, jsonFields, settle, titleOf, uiSchemaFor } from "./schemaForm";
import { isValid, validator } from "./validator";

const schema = github.parameter_schema as Record<string, unknown>;
const fields = (values: Record<string, unknown>) => Object.keys(effectiveSchema(schema, values).properties as object);

describe("the fields of the chosen event type", () => {
  test.each([
    ["push", ["event_type", "repository", "sender", "ref", "before", "after", "commits", "payload"]],
    [
      "pull_request",
      ["event_type", "repository", "sender", "action", "number", "title", "body", "labels", "head_ref", "base_ref", "head_sha", "draft", "merged", "payload"],
    ],
    ["workflow_dispatch", ["event_type", "repository", "sender", "ref", "workflow", "payload", "inputs"]],
    ["ping", ["event_type", "repository", "sender", "payload"]],
    // An event type without fields of its own: the last branch, for any other.
    ["deployment", ["event_type", "repository", "sender", "action", "payload"]],
  ])("%s: its own fields after the common ones, free-form JSON last", (event, expected) => {
    expect(fields({ event_type: event })).toEqual(expected);
    // rjsf 6 resolves the same if/then branches inside allOf (retrieveSchema), but keeps the
    // branch's fields after `payload` and the values of fields that no longer apply: the
    // panel flattens the schema itself (lib/schemaForm.ts) and validates with the whole one.
    const utils = createSchemaUtils(validator, schema as RJSFSchema);
    const resolved = utils.retrieveSchema(schema as RJSFSchema, { event_type: event });
    expect(Object.keys(resolved.properties ?? {}).sort()).toEqual([...expected].sort());
  });

  test("one flat schema per set of branches taken: the form sees the same object", () => {
    expect(effectiveSchema(schema, { event_type: "push", ref: "a" })).toBe(effectiveSchema(schema, { event_type: "push" }));
    expect(effectiveSchema(schema, { event_type: "push" }).additionalProperties).toBe(false);
  });

  test("raw-JSON fields are found in every branch", () => {
    expect(jsonFields(schema)).toEqual(new Set(["payload", "inputs"]));
  });
});

describe("settle", () => {
  test("fills the default event type, then that event's defaults", () => {
    expect(settle(schema, {})).toEqual({ event_type: "push" });
    expect(settle(schema, { event_type: "pull_request" })).toEqual({ event_type: "pull_request", action: "opened" });
  });

  test("drops what no longer applies when the event type changes, keeping what still does", () => {
    const push = { event_type: "push", repository: "user/repo", ref: "refs/heads/main", commits: [] };
    const switched = settle(schema, { ...push, event_type: "pull_request" });
    expect(switched).toEqual({ event_type: "pull_request", repository: "user/repo", action: "opened" });
    expect(isValid(schema, switched)).toBe(true);
    // The whole schema refuses what the branch does not take.
    expect(isValid(schema, { ...push, event_type: "pull_request" })).toBe(false);
    // An action of another event type is not among release's: its default replaces it.
    const closed = settle(schema, { event_type: "pull_request", action: "closed", number: 3, title: "T" });
    expect(settle(schema, { ...closed, event_type: "issues" })).toEqual({ event_type: "issues", action: "closed", number: 3, title: "T" });
    expect(settle(schema, { ...closed, event_type: "release" })).toEqual({ event_type: "release", action: "published" });
  });
});

describe("labels", () => {
  test("a title wins; without one, the name made readable", () => {
    expect(humanise("head_sha")).toBe("Head sha");
    expect(humanise("sourceIp")).toBe("Source ip");
    expect(humanise("event-type")).toBe("Event type");
    expect(titleOf("head_sha", { title: "Head SHA" })).toBe("Head SHA");
    expect(titleOf("head_sha", {})).toBe("Head sha");
  });

  test("every field and array item is labelled; long text is a textarea", () => {
    const ui = uiSchemaFor(effectiveSchema(schema, { event_type: "push" }), false);
    expect(ui.ref["ui:title"]).toBe("Ref");
    expect(ui.payload["ui:field"]).toBe("json");
    const item = (ui.commits.items as (data: unknown, index: number) => UiSchema)({}, 1);
    expect(item["ui:title"]).toBe("Commit 2");
    expect(item.message["ui:widget"]).toBe("textarea");
    const pr = uiSchemaFor(effectiveSchema(schema, { event_type: "pull_request" }), false);
    expect(pr.body["ui:widget"]).toBe("textarea");
    expect((pr.labels.items as (data: unknown, index: number) => UiSchema)("", 0)["ui:title"]).toBe("Label 1");
    const untitled = uiSchemaFor({ type: "object", properties: { to: { type: "array", items: { type: "string" } } } }, false);
    expect((untitled.to.items as (data: unknown, index: number) => UiSchema)("", 2)["ui:title"]).toBe("To item 3");
  });
});

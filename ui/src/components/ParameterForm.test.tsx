// The form as the schema draws it: the fields of the chosen event type, enums as selects,
// long text in textareas, formats and patterns checked as typed, in words.
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Trigger } from "../api/types";
import { type Answer, BASE, CRON_TRIGGER, EMAIL_TRIGGER, fakeShim, GITHUB_TRIGGER, SLACK_TRIGGER } from "../test/fakeShim";
import { ManualTriggerPanel } from "./ManualTriggerPanel";

const dryRun = (body: { parameters: Record<string, unknown> }): Answer => ({
  status: 200,
  body: {
    invocation_id: "inv-1",
    status: "dry_run",
    success: true,
    message: "Dry run: valid",
    workflow_id: "wf_demo",
    trigger_id: "t",
    trigger_data: { trigger_type: "GITHUB", resolved_parameters: body.parameters },
  },
});

async function open(trigger: Trigger) {
  const path = `/api/v1/workflows/wf_demo/triggers/${trigger.id}/manual-invoke`;
  const shim = fakeShim({ [`POST ${path}`]: (_, body) => dryRun(body as never) });
  vi.stubGlobal("fetch", shim.fetch);
  const user = userEvent.setup();
  render(<ManualTriggerPanel workflowId="wf_demo" triggers={[trigger]} apiBaseUrl={BASE} getToken={() => "x.e30.y"} />);
  await user.selectOptions(screen.getByLabelText("Trigger"), trigger.id);
  await screen.findByRole("heading", { name: "Trigger Parameters" });
  const posts = () => shim.calls.filter((c) => c.method === "POST").map((c) => c.body as { parameters: unknown });
  return { user, posts };
}

/** The labels of the form's top-level fields, in order. */
const topLevel = () =>
  [...document.querySelectorAll("fieldset#root > .form-group")].map((group) =>
    group.querySelector("label, legend")!.textContent!.replace(/\s+/g, " ").trim(),
  );
const errorsOf = (field: HTMLElement) => document.getElementById(`${field.id}__error`)?.textContent ?? "";
const button = () => screen.getByRole("button", { name: "Validate Trigger" });

afterEach(() => vi.unstubAllGlobals());

describe("per event type", () => {
  test("GitHub push shows its own fields only; another event type switches them", async () => {
    const { user, posts } = await open(GITHUB_TRIGGER);
    expect(topLevel()).toEqual(["Event type", "Repository", "Sender", "Ref", "Before", "After", "Commits", "Payload (JSON)"]);
    const eventType = screen.getByRole("combobox", { name: "Event type" });
    expect(eventType).toHaveDisplayValue("push");
    expect(screen.queryByLabelText("Action")).toBeNull();
    await user.type(screen.getByLabelText("Ref"), "refs/heads/main");

    await user.selectOptions(eventType, "pull_request");
    expect(topLevel()).toEqual([
      "Event type", "Repository", "Sender", "Action", "Number", "Title", "Body", "Labels",
      "Head ref", "Base ref", "Head SHA", "Draft", "Merged", "Payload (JSON)",
    ]);
    expect(screen.queryByLabelText("Ref")).toBeNull();
    const action = screen.getByRole("combobox", { name: "Action" });
    expect(action).toHaveDisplayValue("opened");
    expect(within(action).getAllByRole("option").map((o) => o.textContent)).toEqual(["opened", "closed", "reopened", "synchronize", "edited"]);
    // What no longer applies is gone from the request, which stays valid.
    await user.click(button());
    await screen.findByRole("heading", { name: "Result" });
    expect(posts()[0].parameters).toEqual({ event_type: "pull_request", repository: "user/repo", action: "opened" });

    await user.selectOptions(screen.getByRole("combobox", { name: "Event type" }), "ping");
    expect(topLevel()).toEqual(["Event type", "Repository", "Sender", "Payload (JSON)"]);
    await user.selectOptions(screen.getByRole("combobox", { name: "Event type" }), "workflow_dispatch");
    expect(topLevel()).toEqual(["Event type", "Repository", "Sender", "Ref", "Workflow", "Payload (JSON)", "Inputs (JSON)"]);
  });

  test("Slack: a message has text; a reaction its emoji and message", async () => {
    const { user } = await open(SLACK_TRIGGER);
    expect(topLevel()).toEqual(["Event type", "Channel", "User", "Text", "Thread", "Channel type"]);
    expect(screen.getByRole("combobox", { name: "Channel type" })).toBeInTheDocument();
    await user.selectOptions(screen.getByRole("combobox", { name: "Event type" }), "reaction_added");
    expect(topLevel()).toEqual(["Event type", "Channel", "User", "Reaction", "Message ts", "Message author"]);
    expect(screen.queryByLabelText("Text")).toBeNull();
  });

  test("a JSON field that goes while it holds broken text holds nothing back", async () => {
    const { user } = await open(GITHUB_TRIGGER);
    await user.selectOptions(screen.getByRole("combobox", { name: "Event type" }), "workflow_dispatch");
    await user.type(screen.getByLabelText("Inputs (JSON)"), "{{ oops");
    expect(button()).toBeDisabled();
    await user.selectOptions(screen.getByRole("combobox", { name: "Event type" }), "ping");
    await waitFor(() => expect(button()).toBeEnabled());
  });
});

describe("long text", () => {
  test("a text/* string is a textarea: Enter adds a line there, and sends from a one-line field", async () => {
    const { user, posts } = await open(GITHUB_TRIGGER);
    await user.selectOptions(screen.getByRole("combobox", { name: "Event type" }), "pull_request");
    const body = screen.getByLabelText("Body");
    expect(body.tagName).toBe("TEXTAREA");
    await user.type(body, "first line{Enter}second line");
    expect(body).toHaveValue("first line\nsecond line");
    expect(posts()).toHaveLength(0);
    await user.type(screen.getByLabelText("Title"), "Fix{Enter}");
    await waitFor(() => expect(posts()).toHaveLength(1));
    expect(posts()[0].parameters).toMatchObject({ body: "first line\nsecond line", title: "Fix" });
  });

  test("email bodies are textareas too", async () => {
    await open(EMAIL_TRIGGER);
    expect(screen.getByLabelText("Body").tagName).toBe("TEXTAREA");
    expect(screen.getByLabelText("HTML body").tagName).toBe("TEXTAREA");
    expect(screen.getByLabelText("Subject").tagName).toBe("INPUT");
  });
});

describe("checked as typed, in words", () => {
  test.each([
    ["From", EMAIL_TRIGGER, "not an email", "must be an email address like Alice <alice@example.com>", "Bob <bob@example.com>"],
    ["Scheduled time", CRON_TRIGGER, "next tuesday", "must be a date and time like 2026-03-02T09:00:00+01:00", "2026-03-02T09:00:00+01:00"],
    ["Sender", GITHUB_TRIGGER, "-nope", "must be a GitHub login: up to 39 letters, digits or hyphens, not starting with a hyphen", "octocat"],
  ])("%s: its message beside the field, the button held back until it is right", async (label, trigger, wrong, message, right) => {
    const { user } = await open(trigger);
    const field = screen.getByLabelText(label);
    await user.clear(field);
    await user.type(field, wrong);
    await waitFor(() => expect(errorsOf(field)).toBe(message));
    expect(field).toHaveAttribute("aria-describedby", expect.stringContaining(`${field.id}__error`));
    expect(button()).toBeDisabled();
    await user.clear(field);
    await user.type(field, right);
    await waitFor(() => expect(button()).toBeEnabled());
    expect(errorsOf(field)).toBe("");
  });

  test("an attachment's content must be base64; each item is labelled by the items' title", async () => {
    const { user } = await open(EMAIL_TRIGGER);
    // Each add and remove button says what it adds or removes, not just "Add" and "Remove"
    await user.click(within(screen.getByRole("group", { name: "Attachments" })).getByRole("button", { name: "Add Attachment" }));
    expect(screen.getByRole("button", { name: "Remove Attachment 1" })).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText("Kind of Attachment 1"), "File");
    await user.type(screen.getByLabelText(/^Name/), "a.txt");
    const content = screen.getByLabelText("Content");
    await user.type(content, "QQ=");
    await waitFor(() => expect(errorsOf(content)).toBe("must be base64 (RFC 4648, padded)"));
    expect(button()).toBeDisabled();
    await user.type(content, "=");
    await waitFor(() => expect(button()).toBeEnabled());
  });

  test("a JSON box says where the JSON breaks, in our own words", async () => {
    const { user } = await open(GITHUB_TRIGGER);
    const payload = screen.getByLabelText("Payload (JSON)");
    // (user-event reads "{{" as one "{", "[[" as one "[".)
    await user.type(payload, '{{\n  "a": ');
    expect(errorsOf(payload)).toBe("not valid JSON: unexpected end at line 2, column 8");
    await user.clear(payload);
    await user.type(payload, '{{"a": [[1,');
    expect(errorsOf(payload)).toBe("not valid JSON: unexpected end at line 1, column 10");
    expect(button()).toBeDisabled();
  });
});

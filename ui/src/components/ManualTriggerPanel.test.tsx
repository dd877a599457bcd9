import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { acceptedAnswer, BASE, fakeShim, type Route, TRIGGERS } from "../test/fakeShim";
import { ManualTriggerPanel } from "./ManualTriggerPanel";

// A JWT whose payload says sub=demo-user (the panel reads it for the CLI command only).
const TOKEN = `x.${btoa(JSON.stringify({ sub: "demo-user" }))}.y`;
const INVOKE = "POST /api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke";

function dryRunAnswer(body: { parameters: Record<string, unknown> }) {
  return {
    status: 200,
    body: {
      invocation_id: "inv-1",
      status: "dry_run",
      success: true,
      message: "Dry run: valid",
      workflow_id: "wf_demo",
      trigger_id: "trig_manual_1",
      trigger_data: { trigger_type: "MANUAL", resolved_parameters: { inputs: body.parameters } },
      wire_preview: { title: "Workflow inputs", text: JSON.stringify(body.parameters, null, 2) },
      errors: [],
      warnings: ["notify is ignored on staging"],
    },
  };
}

function setup(routes: Record<string, Route> = {}, onUnauthorized = vi.fn()) {
  const shim = fakeShim(routes);
  vi.stubGlobal("fetch", shim.fetch);
  const user = userEvent.setup();
  render(
    <ManualTriggerPanel
      workflowId="wf_demo"
      triggers={TRIGGERS}
      apiBaseUrl={BASE}
      getToken={() => TOKEN}
      onUnauthorized={onUnauthorized}
    />,
  );
  return { shim, user, onUnauthorized };
}

async function choose(user: ReturnType<typeof userEvent.setup>, triggerId: string) {
  await user.selectOptions(screen.getByLabelText("Trigger"), triggerId);
  await screen.findByRole("heading", { name: "Trigger Parameters" });
}

afterEach(() => vi.unstubAllGlobals());

test("options show each trigger's name, id and type; the button waits for a trigger", async () => {
  setup();
  const options = within(screen.getByLabelText("Trigger")).getAllByRole("option");
  expect(options.map((o) => o.textContent)).toEqual([
    "Choose a trigger…",
    "Webhook POST /webhook/abc123 — trig_webhook_1 (WEBHOOK)",
    "Manual run — trig_manual_1 (MANUAL)",
  ]);
  expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeDisabled();
  expect(screen.getByLabelText("Dry run (validate without executing)")).toBeChecked();
});

test("dry run is on by default and names the button; off, it invokes", async () => {
  const { user } = setup();
  await choose(user, "trig_manual_1");
  const dryRun = screen.getByLabelText("Dry run (validate without executing)");
  expect(dryRun).toBeChecked();
  expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeEnabled();
  await user.click(dryRun);
  expect(screen.getByRole("button", { name: "Invoke Trigger" })).toBeEnabled();
});

test("a value against the schema is flagged as it is typed and holds the button back", async () => {
  const { user } = setup();
  await choose(user, "trig_manual_1");
  const version = screen.getByLabelText("Version");
  await user.type(version, "one.two");
  expect(await screen.findByText(/must match the format described above: Release to deploy \(semver\)/)).toBeInTheDocument();
  expect(version).toHaveAttribute("aria-describedby", expect.stringContaining(`${version.id}__error`));
  expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeDisabled();
  await user.clear(version);
  await user.type(version, "1.2.3");
  await waitFor(() => expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeEnabled());
});

test("an example replaces the parameters; raw JSON fields follow it", async () => {
  const { user } = setup();
  await choose(user, "trig_webhook_1");
  await user.selectOptions(screen.getByLabelText("Example"), "Deployment notification");
  const body = screen.getByLabelText("Body (JSON)") as HTMLTextAreaElement;
  expect(JSON.parse(body.value)).toMatchObject({ event_type: "deployment" });
  await user.selectOptions(screen.getByLabelText("Example"), "Simple JSON webhook");
  expect(JSON.parse(body.value)).toEqual({ event: "user.created", user_id: 123 });
  // Text that is not JSON yet holds the button back and says why.
  await user.clear(body);
  await user.type(body, "{{ broken");
  expect(screen.getByText(/not valid JSON: /)).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeDisabled();
});

test("the request carries the default description and shows what will be sent", async () => {
  const { user, shim } = setup({ [INVOKE]: (_, body) => dryRunAnswer(body as never) });
  await choose(user, "trig_manual_1");
  await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
  expect(await screen.findByText(/Nothing was sent or recorded/)).toBeInTheDocument();
  const sent = shim.calls.find((c) => c.method === "POST")!;
  expect(sent.body).toEqual({
    parameters: { notify: true, environment: "staging" },
    description: "Manual test of MANUAL trigger",
    dry_run: true,
  });
  expect(sent.headers.get("Authorization")).toBe(`Bearer ${TOKEN}`);
  expect(sent.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{36}$/);
  expect(screen.getByText("notify is ignored on staging")).toBeInTheDocument();
  expect(screen.getByLabelText("Workflow inputs")).toHaveTextContent('"environment": "staging"');
});

test("an accepted invocation says which execution started, with a link", async () => {
  const { user } = setup({
    [INVOKE]: () => acceptedAnswer(),
  });
  await choose(user, "trig_manual_1");
  await user.click(screen.getByLabelText("Dry run (validate without executing)"));
  await user.click(screen.getByRole("button", { name: "Invoke Trigger" }));
  const status = await screen.findByText((_, node) => node?.textContent === "Execution exec_42 started");
  expect(within(status).getByRole("link", { name: "exec_42" })).toHaveAttribute("href", "#execution=exec_42");
});

test("the API's JSON-pointer errors are shown next to their fields", async () => {
  const { user } = setup({
    [INVOKE]: () => ({
      status: 400,
      body: {
        title: "Invalid parameters",
        status: 400,
        errors: [
          { path: "/parameters/version", message: "no such release", code: "unknown" },
          { path: "/description", message: "too long", code: "max_length" },
        ],
      },
    }),
  });
  await choose(user, "trig_manual_1");
  await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
  const version = screen.getByLabelText("Version");
  const errors = await waitFor(() => {
    const node = document.getElementById(`${version.id}__error`);
    expect(node).toHaveTextContent("no such release");
    return node;
  });
  expect(errors).not.toBeNull();
  expect(document.getElementById("mtp-description-errors")).toHaveTextContent("too long");
  expect(screen.getByRole("alert")).toHaveTextContent("Invalid parameters (HTTP 400)");
});

test("429 counts down from Retry-After and holds the button until then", async () => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  try {
    const { user } = setup({
      [INVOKE]: () => ({ status: 429, body: { title: "Rate limited", status: 429 }, headers: { "Retry-After": "3" } }),
    });
    await choose(user, "trig_manual_1");
    await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
    expect(await screen.findByText(/Try again in 3 s/)).toBeInTheDocument();
    // Held, yet focusable: aria-disabled, and a press is ignored.
    const button = screen.getByRole("button", { name: "Validate Trigger" });
    expect(button).toHaveAttribute("aria-disabled", "true");
    await user.click(button);
    expect(screen.getByText(/Try again in/)).toBeInTheDocument();
    await act(() => vi.advanceTimersByTimeAsync(3500));
    expect(screen.getByText(/You may try again now/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Validate Trigger" })).not.toHaveAttribute("aria-disabled");
  } finally {
    vi.useRealTimers();
  }
});

/** An invocation's status as polled: queued on the first poll, a dry run from the second on. */
function settlingInvocation(id: string) {
  const seen = { polls: 0 };
  const handler = () => {
    seen.polls += 1;
    const settled = seen.polls >= 2;
    return {
      status: 200,
      body: {
        invocation_id: id,
        status: settled ? "dry_run" : "queued",
        success: true,
        message: settled ? "ok" : "queued",
        workflow_id: "wf_demo",
        trigger_id: "trig_manual_1",
        trigger_data: settled ? { trigger_type: "MANUAL", resolved_parameters: { inputs: {} } } : null,
      },
    };
  };
  return { seen, handler };
}

test("504 polls the invocation's status until it settles", async () => {
  const { seen, handler } = settlingInvocation("inv-3");
  const { user } = setup({
    [INVOKE]: () => ({
      status: 504,
      body: { title: "No reply in time", status: 504, invocation_id: "inv-3", status_url: "/api/v1/invocations/inv-3" },
    }),
    "GET /api/v1/invocations/inv-3": handler,
  });
  await choose(user, "trig_manual_1");
  await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
  expect(await screen.findByText(/is queued/)).toBeInTheDocument();
  expect(await screen.findByText(/Nothing was sent or recorded/, {}, { timeout: 5000 })).toBeInTheDocument();
  expect(seen.polls).toBe(2);
});

test("a 202 queued answer (no worker yet, or a backlog) polls its status the same way", async () => {
  const { seen, handler } = settlingInvocation("inv-4");
  const { user } = setup({
    [INVOKE]: () => ({
      status: 202,
      body: {
        invocation_id: "inv-4",
        status: "queued",
        success: false,
        message: "Queued: waiting for a worker; poll its status",
        workflow_id: "wf_demo",
        trigger_id: "trig_manual_1",
      },
    }),
    "GET /api/v1/invocations/inv-4": handler,
  });
  await choose(user, "trig_manual_1");
  await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
  expect(await screen.findByText(/is queued/)).toBeInTheDocument();
  expect(await screen.findByText(/Nothing was sent or recorded/, {}, { timeout: 5000 })).toBeInTheDocument();
  expect(seen.polls).toBe(2);
});

test("401 hands back to sign-in", async () => {
  const { user, onUnauthorized } = setup({
    [INVOKE]: () => ({ status: 401, body: { title: "Unauthorized", status: 401 } }),
  });
  await choose(user, "trig_manual_1");
  await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
  await waitFor(() => expect(onUnauthorized).toHaveBeenCalled());
});

test("Copy as curl is exactly the request the button sends", async () => {
  const { user } = setup();
  await choose(user, "trig_manual_1");
  await user.click(screen.getByRole("button", { name: "Copy as curl" }));
  const curl = await screen.findByLabelText("Request as curl");
  expect(curl.textContent).toContain(`${BASE}/api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke`);
  expect(curl.textContent).toContain(
    `'{"parameters":{"notify":true,"environment":"staging"},"description":"Manual test of MANUAL trigger","dry_run":true}'`,
  );
  expect(curl.textContent).toContain("Bearer $TOKEN");
  await user.click(screen.getByRole("button", { name: "Copy as CLI" }));
  expect(await screen.findByLabelText("Request as CLI")).toHaveTextContent("--user demo-user");
});

const NO_ANSWERS = {
  "a 503": { status: 503, body: { title: "Service unavailable", status: 503 }, headers: { "Retry-After": "5" } },
  "a 409 for a try still being answered": {
    status: 409,
    body: {
      title: "Request in progress",
      status: 409,
      errors: [{ path: "/idempotency_key", message: "still in progress", code: "idempotency_key_in_progress" }],
    },
    headers: { "Retry-After": "1" },
  },
};

test.each(Object.entries(NO_ANSWERS))("a retry after %s reuses the Idempotency-Key; a new request gets a new one", async (_, noAnswer) => {
  let calls = 0;
  const { user, shim } = setup({
    [INVOKE]: (_, body) => {
      calls += 1;
      return calls === 1 ? noAnswer : dryRunAnswer(body as never);
    },
  });
  await choose(user, "trig_manual_1");
  const validate = () => user.click(screen.getByRole("button", { name: "Validate Trigger" }));
  await validate();
  expect(await screen.findByText(new RegExp(noAnswer.body.title))).toBeInTheDocument();
  await validate();
  await screen.findByText(/Nothing was sent or recorded/);
  await validate();
  await waitFor(() => expect(shim.calls.filter((c) => c.method === "POST")).toHaveLength(3));
  const keys = shim.calls.filter((c) => c.method === "POST").map((c) => c.headers.get("Idempotency-Key"));
  expect(keys[1]).toBe(keys[0]);
  expect(keys[2]).not.toBe(keys[1]);
});

test("a string that may take one of several formats is one labelled box, checked against all", async () => {
  const { user } = setup();
  await choose(user, "trig_webhook_1");
  const address = screen.getByLabelText("Source IP");
  expect(screen.queryByText("Option 1")).toBeNull();
  await user.type(address, "not an address");
  await waitFor(() => expect(document.getElementById(`${address.id}__error`)?.textContent).not.toBe(""));
  expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeDisabled();
  await user.clear(address);
  await user.type(address, "2001:db8::1");
  await waitFor(() => expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeEnabled());
});

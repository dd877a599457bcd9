// What the panel offers by role, where the focus goes after a request, examples over the
// defaults, Enter in a field, and errors that go once the request is changed.
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Trigger } from "../api/types";
import { acceptedAnswer, BASE, CRON_TRIGGER, fakeShim, type Answer, type Route, TRIGGERS } from "../test/fakeShim";
import { ManualTriggerPanel, READ_ONLY_NOTICE } from "./ManualTriggerPanel";

const TOKEN = `x.${btoa(JSON.stringify({ sub: "demo-user" }))}.y`;
const INVOKE = "POST /api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke";
const DRY_RUN = "Dry run (validate without executing)";

function answer(body: { parameters: Record<string, unknown>; dry_run: boolean }): Answer {
  return body.dry_run
    ? {
        status: 200,
        body: {
          invocation_id: "inv-1",
          status: "dry_run",
          success: true,
          message: "Dry run: valid",
          workflow_id: "wf_demo",
          trigger_id: "trig_manual_1",
          trigger_data: { trigger_type: "MANUAL", resolved_parameters: { inputs: body.parameters } },
          wire_preview: { title: "Workflow inputs", text: JSON.stringify(body.parameters) },
        },
      }
    : acceptedAnswer(body.parameters);
}

/** An answer the test releases when it likes (the request is "in flight" until then). */
function held() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const route: Route = async (_, body) => {
    await gate;
    return answer(body as never);
  };
  return { route, release };
}

const RUN = {
  execution_id: "exec_7",
  event_id: "evt_7",
  trigger_id: "trig_manual_1",
  trigger_type: "MANUAL",
  status: "succeeded",
  created_at: "2026-11-26T02:00:00Z",
  manual: true,
  initiated_by: "demo-user",
  description: "release 1.4.2",
  parameters: { environment: "production", version: "1.4.2" },
  execution_url: "/api/v1/executions/exec_7",
};

function setup({
  routes = {},
  role,
  triggers = TRIGGERS,
}: { routes?: Record<string, Route>; role?: string; triggers?: Trigger[] } = {}) {
  const shim = fakeShim({ [INVOKE]: (_, body) => answer(body as never), ...routes });
  vi.stubGlobal("fetch", shim.fetch);
  const user = userEvent.setup();
  render(
    <ManualTriggerPanel
      workflowId="wf_demo"
      triggers={triggers}
      apiBaseUrl={BASE}
      getToken={() => TOKEN}
      role={role}
    />,
  );
  const posts = () => shim.calls.filter((c) => c.method === "POST");
  return { shim, user, posts };
}

async function choose(user: ReturnType<typeof userEvent.setup>, triggerId: string) {
  await user.selectOptions(screen.getByLabelText("Trigger"), triggerId);
  await screen.findByRole("heading", { name: "Trigger Parameters" });
}

afterEach(() => vi.unstubAllGlobals());

describe("by role", () => {
  test("a viewer sees the form read-only, says why, and is offered nothing to send", async () => {
    const { user, posts } = setup({
      role: "viewer",
      routes: {
        "GET /api/v1/workflows/wf_demo/executions": () => ({
          status: 200,
          body: { workflow_id: "wf_demo", executions: [RUN] },
        }),
      },
    });
    expect(screen.getByText(READ_ONLY_NOTICE)).toBeInTheDocument();
    await choose(user, "trig_manual_1");
    const version = screen.getByLabelText("Version");
    expect(version).toHaveAttribute("readonly");
    expect(screen.getByLabelText(/^Environment/)).toBeDisabled();
    // The examples still show what a run would take.
    await user.selectOptions(screen.getByLabelText("Example"), "Deploy a release");
    expect(version).toHaveValue("1.4.2");
    // Nothing the shim refuses a viewer: no button, no options, no commands, no "Load into form".
    expect(await screen.findByText("release 1.4.2", { exact: false })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Trigger$/ })).toBeNull();
    expect(screen.queryByLabelText(DRY_RUN)).toBeNull();
    expect(screen.queryByLabelText("Description")).toBeNull();
    expect(screen.queryByRole("button", { name: /^Copy as/ })).toBeNull();
    expect(screen.queryByRole("button", { name: "Load into form" })).toBeNull();
    // Enter in a field sends nothing either.
    version.focus();
    await user.keyboard("{Enter}");
    expect(posts()).toHaveLength(0);
  });

  test.each(["operator", "editor", "owner", undefined])("%s may validate and invoke", async (role) => {
    const { user } = setup({ role });
    expect(screen.queryByText(READ_ONLY_NOTICE)).toBeNull();
    await choose(user, "trig_manual_1");
    expect(screen.getByLabelText("Version")).not.toHaveAttribute("readonly");
    expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Copy as curl" })).toBeInTheDocument();
  });
});

describe("focus after a request", () => {
  test("the button keeps the focus while sending (ignoring presses), then the result heading takes it", async () => {
    const answer = held();
    const { user, posts } = setup({ routes: { [INVOKE]: answer.route } });
    await choose(user, "trig_manual_1");
    const button = screen.getByRole("button", { name: "Validate Trigger" });
    await user.click(button);
    await screen.findByText("Sending…");
    expect(document.activeElement).toBe(button);
    expect(button).toHaveAttribute("aria-disabled", "true");
    expect(button).not.toBeDisabled();
    await user.click(button);
    expect(posts()).toHaveLength(1);
    answer.release();
    const heading = await screen.findByRole("heading", { name: "Result" });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    expect(button).not.toHaveAttribute("aria-disabled");
  });

  test("after an invocation too; the execution opening under it leaves the focus there", async () => {
    const { user } = setup();
    await choose(user, "trig_manual_1");
    await user.click(screen.getByLabelText(DRY_RUN));
    await user.click(screen.getByRole("button", { name: "Invoke Trigger" }));
    await screen.findByRole("heading", { name: /Execution exec_42/ });
    expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Result" }));
  });

  test("after a refusal too", async () => {
    const { user } = setup({
      routes: { [INVOKE]: () => ({ status: 409, body: { title: "Conflict", status: 409 } }) },
    });
    await choose(user, "trig_manual_1");
    await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
    const heading = await screen.findByRole("heading", { name: "Result" });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    expect(screen.getByRole("alert")).toHaveTextContent("Conflict (HTTP 409)");
  });

  test("a person who moved on meanwhile keeps their place", async () => {
    const answer = held();
    const { user } = setup({ routes: { [INVOKE]: answer.route } });
    await choose(user, "trig_manual_1");
    await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
    const description = screen.getByLabelText("Description");
    await user.click(description);
    answer.release();
    await screen.findByRole("heading", { name: "Result" });
    expect(document.activeElement).toBe(description);
  });
});

describe("examples", () => {
  test("an example is merged over the defaults as the shim does: webhook's keeps method", async () => {
    const { user, posts } = setup({
      routes: {
        "POST /api/v1/workflows/wf_demo/triggers/trig_webhook_1/manual-invoke": (_, body) => answer(body as never),
      },
    });
    await choose(user, "trig_webhook_1");
    await user.selectOptions(screen.getByLabelText("Example"), "Deployment notification");
    expect(screen.getByLabelText(/^Method/)).toHaveDisplayValue("POST");
    expect(screen.getByLabelText("Source IP")).toHaveValue("127.0.0.1");
    // Top-level keys only: the example's headers replace the default headers whole.
    expect(JSON.parse((screen.getByLabelText("Headers (JSON)") as HTMLTextAreaElement).value)).toEqual({
      "X-Source": "manual-test",
    });
    await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
    await screen.findByRole("heading", { name: "Result" });
    expect((posts()[0].body as { parameters: unknown }).parameters).toEqual({
      method: "POST",
      headers: { "X-Source": "manual-test" },
      body: { event_type: "deployment", repository: "user/repo", status: "success" },
      query_params: { env: "staging" },
      source_ip: "127.0.0.1",
    });
  });

  test("cron's examples keep execution_type", async () => {
    const { user } = setup({ triggers: [...TRIGGERS, CRON_TRIGGER] });
    await choose(user, "trig_cron_1");
    for (const name of ["Latest scheduled run", "Backfill a missed run", "Off-schedule run"]) {
      await user.selectOptions(screen.getByLabelText("Example"), name);
      expect(screen.getByLabelText("Execution type")).toHaveValue("manual_cron");
    }
    expect(screen.getByLabelText("Scheduled time")).toHaveValue("2026-11-01T12:34:00Z");
    expect(screen.getByLabelText("Allow off schedule")).toBeChecked();
  });
});

describe("small things", () => {
  test("Enter in a single-line field presses the button as it reads: Validate, or Invoke with dry run off", async () => {
    const { user, posts } = setup();
    await choose(user, "trig_manual_1");
    await user.type(screen.getByLabelText("Version"), "1.2.3{Enter}");
    await screen.findByRole("heading", { name: "Result" });
    expect(posts()).toHaveLength(1);
    expect(posts()[0].body).toMatchObject({ dry_run: true, parameters: { version: "1.2.3" } });
    await user.click(screen.getByLabelText(DRY_RUN));
    await user.type(screen.getByLabelText("Description"), "from the keyboard{Enter}");
    await waitFor(() => expect(posts()).toHaveLength(2));
    expect(posts()[1].body).toMatchObject({ dry_run: false, description: "from the keyboard" });
  });

  test("Enter sends nothing from a multi-line field, or while the parameters are invalid", async () => {
    const { user, posts } = setup();
    await choose(user, "trig_webhook_1");
    await user.type(screen.getByLabelText("Body (JSON)"), "{Enter}");
    await choose(user, "trig_manual_1");
    await user.type(screen.getByLabelText("Version"), "x{Enter}");
    expect(posts()).toHaveLength(0);
  });

  test("a refusal's red box and field errors go once the field is changed", async () => {
    const { user } = setup({
      routes: {
        [INVOKE]: () => ({
          status: 400,
          body: {
            title: "Invalid parameters",
            status: 400,
            errors: [{ path: "/parameters/version", message: "no such release", code: "unknown" }],
          },
        }),
      },
    });
    await choose(user, "trig_manual_1");
    const version = screen.getByLabelText("Version");
    await user.type(version, "9.9.9");
    await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Invalid parameters (HTTP 400)");
    await waitFor(() => expect(document.getElementById(`${version.id}__error`)).toHaveTextContent("no such release"));
    await user.clear(version);
    await user.type(version, "1.4.2");
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByText("no such release")).toBeNull();
  });

  test("a failure to answer stays when the request changes (it says to try again)", async () => {
    const { user } = setup({
      routes: { [INVOKE]: () => ({ status: 503, body: { title: "Service unavailable", status: 503 } }) },
    });
    await choose(user, "trig_manual_1");
    await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
    await screen.findByRole("alert");
    await user.type(screen.getByLabelText("Version"), "1");
    expect(screen.getByRole("alert")).toHaveTextContent("Service unavailable");
  });

  test("the description's placeholder names no trigger type before one is chosen", async () => {
    const { user } = setup();
    const description = screen.getByLabelText("Description");
    expect(description.getAttribute("placeholder") ?? "").not.toMatch(/Manual test|TYPE/);
    await choose(user, "trig_manual_1");
    expect(description).toHaveAttribute("placeholder", "Manual test of MANUAL trigger");
  });
});

test("the result is one region under its heading", async () => {
  const { user } = setup();
  await choose(user, "trig_manual_1");
  await user.click(screen.getByRole("button", { name: "Validate Trigger" }));
  const region = await screen.findByRole("region", { name: "Result" });
  expect(within(region).getByText(/Nothing was sent or recorded/)).toBeInTheDocument();
});

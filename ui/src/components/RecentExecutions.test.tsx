// "Recent executions": a trigger's real events and manual runs, each loadable into the form.
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ExecutionSummary } from "../api/types";
import { BASE, fakeShim, GITHUB_TRIGGER, TRIGGERS } from "../test/fakeShim";
import { ManualTriggerPanel } from "./ManualTriggerPanel";

const summary = (overrides: Partial<ExecutionSummary>): ExecutionSummary => ({
  execution_id: "exec_1",
  event_id: "evt_1",
  trigger_id: "trig_manual_1",
  trigger_type: "MANUAL",
  status: "succeeded",
  created_at: "2026-11-26T02:00:00Z",
  manual: true,
  initiated_by: "demo-user",
  description: null,
  parameters: null,
  execution_url: "/api/v1/executions/exec_1",
  ...overrides,
});

const RUNS = [
  summary({
    execution_id: "exec_manual",
    description: "release 1.4.2",
    parameters: { environment: "production", version: "1.4.2", notify: false },
  }),
  summary({
    execution_id: "exec_real",
    manual: false,
    initiated_by: null,
    status: "failed",
    parameters: { environment: "staging", version: "2.0.0" },
  }),
  summary({ execution_id: "exec_lost", manual: false, initiated_by: null, parameters: null }),
];

function setup(role?: string, runs = RUNS, triggers = TRIGGERS) {
  const shim = fakeShim({
    "GET /api/v1/workflows/wf_demo/executions": () => ({ status: 200, body: { workflow_id: "wf_demo", executions: runs } }),
  });
  vi.stubGlobal("fetch", shim.fetch);
  const user = userEvent.setup();
  render(<ManualTriggerPanel workflowId="wf_demo" triggers={triggers} apiBaseUrl={BASE} getToken={() => "x.e30.y"} role={role} />);
  return { shim, user };
}

const item = (id: string) => document.getElementById(`run-${id}`)!.closest("li")!;

afterEach(() => vi.unstubAllGlobals());

test("lists the trigger's real and manual executions, asking for both", async () => {
  const { user, shim } = setup();
  await user.selectOptions(screen.getByLabelText("Trigger"), "trig_manual_1");
  const list = await screen.findByRole("region", { name: "Recent executions" });
  await within(list).findByText("manual, by demo-user");
  const asked = shim.calls.find((c) => c.path.startsWith("/api/v1/workflows/wf_demo/executions"))!;
  expect(asked.path).toBe("/api/v1/workflows/wf_demo/executions?trigger_id=trig_manual_1&limit=10");
  expect(within(item("exec_manual")).getByText("manual, by demo-user")).toBeInTheDocument();
  expect(within(item("exec_manual")).getByText("release 1.4.2")).toBeInTheDocument();
  expect(within(item("exec_real")).getByText("real event")).toBeInTheDocument();
  expect(within(item("exec_real")).getByText("Failed")).toBeInTheDocument();
  expect(within(item("exec_lost")).queryByRole("button")).toBeNull();
  expect(within(item("exec_lost")).getByText(/cannot be loaded/)).toBeInTheDocument();
  // The time is a link to the execution, written the reader's way with its zone.
  const time = within(item("exec_real")).getByRole("link");
  expect(time.querySelector("time")).toHaveAttribute("dateTime", "2026-11-26T02:00:00Z");
  expect(time.textContent).toMatch(/2026.*\d\d:\d\d:\d\d/);
});

test("Load into form fills the form (a manual run's description too), moves the focus and says so; nothing is sent", async () => {
  const { user, shim } = setup();
  await user.selectOptions(screen.getByLabelText("Trigger"), "trig_manual_1");
  await screen.findAllByText("real event");
  await user.click(within(item("exec_manual")).getByRole("button", { name: "Load into form" }));
  expect(screen.getByLabelText("Version")).toHaveValue("1.4.2");
  expect(screen.getByLabelText(/^Environment/)).toHaveDisplayValue("production");
  expect(screen.getByLabelText("Notify")).not.toBeChecked();
  expect(screen.getByLabelText("Description")).toHaveValue("release 1.4.2");
  const heading = screen.getByRole("heading", { name: "Trigger Parameters" });
  await waitFor(() => expect(document.activeElement).toBe(heading));
  expect(screen.getByText(/^Parameters of execution exec_manual loaded into the form\./)).toHaveAttribute("role", "status");

  // A real event's parameters; it has no description of its own.
  await user.click(within(item("exec_real")).getByRole("button", { name: "Load into form" }));
  expect(screen.getByLabelText("Version")).toHaveValue("2.0.0");
  expect(screen.getByLabelText(/^Environment/)).toHaveDisplayValue("staging");
  expect(screen.getByLabelText("Description")).toHaveValue("");
  expect(screen.getByRole("button", { name: "Validate Trigger" })).toBeEnabled();
  expect(shim.calls.filter((c) => c.method === "POST")).toHaveLength(0);
  // Editing says nothing more about it.
  await user.type(screen.getByLabelText("Version"), "1");
  expect(screen.queryByText(/loaded into the form/)).toBeNull();
});

test("a run of a per-event-type trigger comes back with its event type's fields", async () => {
  const run = summary({
    execution_id: "exec_pr",
    trigger_id: "trig_github_1",
    trigger_type: "GITHUB",
    manual: false,
    initiated_by: null,
    parameters: { event_type: "pull_request", action: "closed", number: 7, merged: true },
  });
  const { user } = setup(undefined, [run], [GITHUB_TRIGGER]);
  await user.selectOptions(screen.getByLabelText("Trigger"), "trig_github_1");
  await user.click(await screen.findByRole("button", { name: "Load into form" }));
  expect(screen.getByRole("combobox", { name: "Event type" })).toHaveDisplayValue("pull_request");
  expect(screen.getByRole("combobox", { name: "Action" })).toHaveDisplayValue("closed");
  expect(screen.getByLabelText("Number")).toHaveValue(7);
  expect(screen.getByLabelText("Merged")).toBeChecked();
  expect(screen.queryByLabelText("Ref")).toBeNull();
});

test("a viewer sees the executions but nothing to load", async () => {
  const { user } = setup("viewer");
  await user.selectOptions(screen.getByLabelText("Trigger"), "trig_manual_1");
  await screen.findAllByText("real event");
  expect(screen.queryByRole("button", { name: "Load into form" })).toBeNull();
  expect(screen.queryByText(/cannot be loaded/)).toBeNull();
});

import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { acceptedAnswer, BASE, eventsRoute, executionSteps, fakeShim, sseStream, TRIGGERS } from "../test/fakeShim";
import { ManualTriggerPanel } from "./ManualTriggerPanel";

const TOKEN = `x.${btoa(JSON.stringify({ sub: "demo-user" }))}.y`;
const INVOKE = "POST /api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke";
const ACCEPTED = acceptedAnswer({}, { completed_at: "2026-11-26T02:00:00.100Z" });

async function invoked() {
  const stream = sseStream();
  const shim = fakeShim({ [INVOKE]: () => ACCEPTED, ...eventsRoute([stream]) });
  vi.stubGlobal("fetch", shim.fetch);
  const user = userEvent.setup();
  render(<ManualTriggerPanel workflowId="wf_demo" triggers={TRIGGERS} apiBaseUrl={BASE} getToken={() => TOKEN} />);
  await user.selectOptions(screen.getByLabelText("Trigger"), "trig_manual_1");
  await screen.findByRole("heading", { name: "Trigger Parameters" });
  await user.click(screen.getByLabelText("Dry run (validate without executing)"));
  await user.click(screen.getByRole("button", { name: "Invoke Trigger" }));
  await screen.findByRole("heading", { name: "Execution exec_42" });
  return { stream, user, shim };
}

const badge = () => document.querySelector(".status-badge");

afterEach(() => vi.unstubAllGlobals());

test("an invocation opens its execution, live: the badge goes to succeeded by itself", async () => {
  const { stream } = await invoked();
  // It opened by itself: the focus stays on the answer's "Result" heading, where it went.
  expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Result" }));
  const [pending, running, succeeded] = executionSteps();
  act(() => stream.send(pending, 0));
  await waitFor(() => expect(badge()).toHaveTextContent("Pending"));
  act(() => stream.send(running, 1));
  await waitFor(() => expect(badge()).toHaveTextContent("Running"));
  act(() => stream.send(succeeded, 2));
  await waitFor(() => expect(badge()).toHaveTextContent("Succeeded"));
  // The invoke answer's completed_at is the "accepted" step.
  const steps = [...document.querySelectorAll("ol.timeline li")].map((li) => li.textContent!.split(" ")[0]);
  expect(steps).toEqual(["Requested", "Accepted", "Recorded", "Running", "Succeeded"]);
});

test("the link of the started execution moves the focus to its view", async () => {
  const { user } = await invoked();
  await user.click(screen.getByRole("link", { name: "exec_42" }));
  expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Execution exec_42" }));
  expect(screen.getAllByRole("heading", { name: "Execution exec_42" })).toHaveLength(1);
});

test("Run again with these parameters fills the form from the execution", async () => {
  const { stream, user } = await invoked();
  act(() => stream.send(executionSteps()[2], 2));
  await user.click(await screen.findByRole("button", { name: "Run again with these parameters" }));
  expect(screen.getByLabelText("Version")).toHaveValue("1.4.2");
  expect(screen.getByLabelText(/^Environment/)).toHaveDisplayValue("production");
  expect(screen.getByLabelText("Notify")).not.toBeChecked();
  expect(screen.getByLabelText("Description")).toHaveValue("release 1.4.2");
  expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Trigger Parameters" }));
});

import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createApi } from "../api/client";
import { BASE, eventsRoute, executionRecord, executionSteps, fakeShim, type Route, sseStream } from "../test/fakeShim";
import { ExecutionView } from "./ExecutionView";

const TOKEN = "x.eyJzdWIiOiJkZW1vLXVzZXIifQ.y";

function setup(routes: Record<string, Route>, props: Partial<Parameters<typeof ExecutionView>[0]> = {}) {
  const shim = fakeShim(routes);
  vi.stubGlobal("fetch", shim.fetch);
  const user = userEvent.setup();
  const api = createApi({ baseUrl: BASE, getToken: () => TOKEN });
  const view = render(<ExecutionView api={api} executionId="exec_42" onClose={() => undefined} {...props} />);
  return { shim, user, view };
}

const badge = () => document.querySelector(".status-badge");

afterEach(() => vi.unstubAllGlobals());

test("the badge follows the live stream, in a polite live region, in words", async () => {
  const stream = sseStream();
  const [pending, running, succeeded] = executionSteps();
  const { shim } = setup(eventsRoute([stream]));
  stream.send(pending, 0);
  expect(await screen.findByText("Waiting for the workflow engine…")).toBeInTheDocument();
  expect(screen.getByText(/waiting for the workflow engine\./)).toBeInTheDocument();
  expect(badge()).toHaveTextContent("Pending");
  const region = badge()!.closest("[role=status]")!;
  expect(region).toHaveAttribute("aria-live", "polite");
  act(() => stream.heartbeat());
  act(() => stream.send(running, 1));
  await waitFor(() => expect(badge()).toHaveTextContent("Running"));
  expect(region).toHaveTextContent("Status: ▶ Running.");
  expect(screen.queryByText("Waiting for the workflow engine…")).toBeNull();
  act(() => stream.send(succeeded, 2));
  await waitFor(() => expect(badge()).toHaveTextContent("Succeeded"));
  expect(screen.getByRole("region", { name: "Output" })).toHaveTextContent('"deployed": "1.4.2"');
  // A final status ends it: the panel lets go of the connection, and asks nothing more.
  await waitFor(() => expect(stream.cancelled).toBe(true));
  const asked = shim.calls.filter((c) => c.path.endsWith("/events"));
  expect(asked).toHaveLength(1);
  expect(asked[0].headers.get("Authorization")).toBe(`Bearer ${TOKEN}`);
  expect(asked[0].headers.get("Accept")).toBe("text/event-stream");
});

test("the timeline shows each step's time and the time since the step before", async () => {
  const stream = sseStream();
  setup(eventsRoute([stream]), { acceptedAt: "2026-11-26T02:00:00.100Z" });
  stream.send(executionSteps()[2], 2);
  await waitFor(() => expect(document.querySelector("ol.timeline")).not.toBeNull());
  const steps = [...document.querySelectorAll("ol.timeline li")].map((li) => li.textContent);
  expect(steps.map((s) => s!.split(" ")[0])).toEqual(["Requested", "Accepted", "Recorded", "Running", "Succeeded"]);
  expect(steps[1]).toContain("(+100 ms)");
  expect(steps[2]).toContain("(+150 ms)");
  expect(steps[3]).toContain("(+300 ms)");
  expect(steps[4]).toContain("(+1 s)");
  const times = [...document.querySelectorAll("ol.timeline time")].map((t) => t.getAttribute("dateTime"));
  expect(times[0]).toBe("2026-11-26T02:00:00.000Z");
  expect(screen.getByText(/Ran for/)).toHaveTextContent("Ran for 1 s");
});

test("without an invocation there is no accepted step; a pending run's later steps are still to come", async () => {
  const stream = sseStream();
  setup(eventsRoute([stream]));
  stream.send(executionSteps()[0], 0);
  await screen.findByText("Waiting for the workflow engine…");
  const steps = [...document.querySelectorAll("ol.timeline li")].map((li) => li.textContent);
  expect(steps.map((s) => s!.split(" ")[0])).toEqual(["Requested", "Recorded", "Running", "Finished"]);
  expect(steps[2]).toContain("not yet");
});

test("a dropped stream resumes with Last-Event-ID; a 404 just after the 202 is retried", async () => {
  const first = sseStream();
  const second = sseStream();
  const [pending, running, failed] = executionSteps("failed");
  let asked = 0;
  const streams = eventsRoute([first, second])["GET /api/v1/executions/exec_42/events"];
  const { shim } = setup({
    "GET /api/v1/executions/exec_42/events": (request, body) =>
      ++asked === 1 ? { status: 404, body: { title: "Not found", status: 404 } } : streams(request, body),
  });
  // The server asks for quick reconnects, says "pending", then the connection breaks.
  await waitFor(() => expect(asked).toBe(2));
  act(() => first.raw("retry: 20\n\n"));
  act(() => first.send(pending, 0));
  await screen.findByText("Waiting for the workflow engine…");
  act(() => first.fail());
  await waitFor(() => expect(asked).toBe(3));
  const resumed = shim.calls.filter((c) => c.path.endsWith("/events"))[2];
  expect(resumed.headers.get("Last-Event-ID")).toBe("0");
  act(() => second.send(running, 1));
  act(() => second.send(failed, 2));
  await waitFor(() => expect(badge()).toHaveTextContent("Failed"));
  const why = screen.getByRole("region", { name: "Why it failed" });
  expect(why).toHaveTextContent("boom");
  expect(within(why).getByText("engine_failure")).toBeInTheDocument();
  expect(within(why).getByRole("region", { name: "Error details" })).toHaveTextContent('"step": "deploy"');
});

test("each JSON block folds, and its copy button copies it and says so", async () => {
  const stream = sseStream();
  const { user } = setup(eventsRoute([stream]));
  stream.send(executionSteps()[2], 2);
  const input = await screen.findByRole("region", { name: "Workflow input" });
  const toggle = within(input).getByRole("button", { name: "Workflow input" });
  expect(toggle).toHaveAttribute("aria-expanded", "true");
  expect(within(input).getByText('"environment"')).toBeVisible();
  await user.click(toggle);
  expect(toggle).toHaveAttribute("aria-expanded", "false");
  expect(within(input).queryByText('"environment"')).not.toBeVisible();
  // Trigger data starts folded.
  expect(within(screen.getByRole("region", { name: "Trigger data" })).getByRole("button", { name: "Trigger data" })).toHaveAttribute(
    "aria-expanded",
    "false",
  );
  await user.click(within(input).getByRole("button", { name: "Copy workflow input" }));
  expect(await navigator.clipboard.readText()).toBe(JSON.stringify(executionSteps()[2].input_data, null, 2));
  expect(within(input).getByRole("button", { name: "Copied workflow input" })).toHaveTextContent("Copied");
  expect(within(input).getByText("Copied workflow input to the clipboard.")).toBeInTheDocument();
});

test("Run again hands over the run's simulated parameters and description", async () => {
  const stream = sseStream();
  const onRunAgain = vi.fn();
  const { user } = setup(eventsRoute([stream]), { onRunAgain });
  stream.send(executionSteps()[0], 0);
  await user.click(await screen.findByRole("button", { name: "Run again with these parameters" }));
  expect(onRunAgain).toHaveBeenCalledWith({
    workflowId: "wf_demo",
    triggerId: "trig_manual_1",
    parameters: { environment: "production", version: "1.4.2", notify: false },
    description: "release 1.4.2",
    executionId: "exec_42",
  });
});

test("an execution that stays unknown says so and can be asked for again", async () => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  try {
    setup({});
    await act(() => vi.advanceTimersByTimeAsync(20_000));
    expect(await screen.findByRole("alert")).toHaveTextContent("Not found");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  } finally {
    vi.useRealTimers();
  }
});

test("a real event's execution runs again with the parameters that reproduce it (no description)", async () => {
  const stream = sseStream();
  const onRunAgain = vi.fn();
  const { user } = setup(eventsRoute([stream]), { onRunAgain });
  const record = executionRecord({ metadata: { source: "webhook" }, parameters: { environment: "staging", version: "2.0.0" } });
  stream.send(record, 2);
  await user.click(await screen.findByRole("button", { name: "Run again with these parameters" }));
  expect(onRunAgain).toHaveBeenCalledWith({
    workflowId: "wf_demo",
    triggerId: "trig_manual_1",
    parameters: { environment: "staging", version: "2.0.0" },
    description: "",
    executionId: "exec_42",
  });
});

test("one that cannot be reproduced (parameters: null) offers no Run again", async () => {
  const stream = sseStream();
  setup(eventsRoute([stream]), { onRunAgain: vi.fn() });
  stream.send(executionRecord({ parameters: null }), 2);
  await screen.findByText("Waiting for the workflow engine…");
  expect(screen.queryByRole("button", { name: "Run again with these parameters" })).toBeNull();
});

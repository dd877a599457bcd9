import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "./App";
import { eventsRoute, executionSteps, fakeShim, sseStream, TRIGGERS } from "./test/fakeShim";

const TOKEN = `x.${btoa(JSON.stringify({ sub: "demo-user" }))}.y`;
const WORKFLOWS = { workflows: [{ id: "wf_demo", name: "Demo workflow", role: "operator", triggers_url: "/t" }] };

// The page talks to its own origin; in jsdom that is http://localhost:3000 (vite.config.ts).
function shim(accepted: string) {
  const seen: string[] = [];
  vi.stubGlobal("fetch", async (request: Request) => {
    const auth = request.headers.get("Authorization") ?? "";
    seen.push(`${new URL(request.url).pathname} ${auth}`);
    if (auth !== `Bearer ${accepted}`) {
      return new Response(JSON.stringify({ title: "Unauthorized", status: 401 }), {
        status: 401,
        headers: { "Content-Type": "application/problem+json" },
      });
    }
    const body = new URL(request.url).pathname === "/api/v1/workflows" ? WORKFLOWS : { workflow_id: "wf_demo", triggers: [] };
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  return seen;
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
  localStorage.clear();
  window.history.replaceState(null, "", "/");
});

test("a #token= link fills the field, leaves the address bar, and signs in for this tab only", async () => {
  shim(TOKEN);
  window.history.replaceState(null, "", `/#token=${TOKEN}`);
  render(<App />);
  expect(window.location.hash).toBe("");
  expect(await screen.findByLabelText("Workflow")).toHaveDisplayValue("Demo workflow — wf_demo (operator)");
  expect(screen.getByText("demo-user")).toBeInTheDocument();
  expect(Object.values({ ...sessionStorage })).toEqual([TOKEN]);
  expect(localStorage.length).toBe(0);
});

test("a refused token stays on sign-in and says so; signing out forgets the token", async () => {
  shim(TOKEN);
  const user = userEvent.setup();
  render(<App />);
  await user.type(screen.getByLabelText("Bearer token"), "wrong.token.here{Enter}");
  expect(await screen.findByText(/The shim refused the token: it is not a valid token\./)).toBeInTheDocument();
  await user.clear(screen.getByLabelText("Bearer token"));
  await user.type(screen.getByLabelText("Bearer token"), `${TOKEN}{Enter}`);
  await screen.findByLabelText("Workflow");
  await user.click(screen.getByRole("button", { name: "Sign out" }));
  expect(screen.getByLabelText("Bearer token")).toHaveValue("");
  expect(sessionStorage.length).toBe(0);
});

test("#execution= opens that execution, live; Run again chooses its workflow and trigger and fills the form", async () => {
  const stream = sseStream();
  const shim = fakeShim({
    "GET /api/v1/workflows": () => ({
      status: 200,
      body: {
        workflows: [
          ...WORKFLOWS.workflows,
          { id: "wf_other", name: "Other", role: "operator", triggers_url: "/o" },
        ],
      },
    }),
    "GET /api/v1/workflows/wf_demo/triggers": () => ({ status: 200, body: { workflow_id: "wf_demo", triggers: TRIGGERS } }),
    ...eventsRoute([stream]),
  });
  vi.stubGlobal("fetch", shim.fetch);
  sessionStorage.setItem("mti.bearer-token", TOKEN);
  window.history.replaceState(null, "", "/#execution=exec_42");
  const user = userEvent.setup();
  render(<App />);
  const heading = await screen.findByRole("heading", { name: "Execution exec_42" });
  expect(document.activeElement).toBe(heading);
  stream.send(executionSteps()[2], 2);
  await waitFor(() => expect(document.querySelector(".status-badge")).toHaveTextContent("Succeeded"));
  await user.click(screen.getByRole("button", { name: "Run again with these parameters" }));
  await waitFor(() => expect(screen.getByLabelText("Version")).toHaveValue("1.4.2"));
  expect(screen.getByLabelText("Workflow")).toHaveValue("wf_demo");
  expect(screen.getByLabelText("Trigger")).toHaveValue("trig_manual_1");
  expect(screen.getByLabelText("Description")).toHaveValue("release 1.4.2");
});

test("a viewer of the workflow gets it read-only: no button, and no Run again on an execution", async () => {
  const stream = sseStream();
  const shim = fakeShim({
    "GET /api/v1/workflows": () => ({
      status: 200,
      body: { workflows: [{ ...WORKFLOWS.workflows[0], role: "viewer" }] },
    }),
    "GET /api/v1/workflows/wf_demo/triggers": () => ({ status: 200, body: { workflow_id: "wf_demo", triggers: TRIGGERS } }),
    ...eventsRoute([stream]),
  });
  vi.stubGlobal("fetch", shim.fetch);
  sessionStorage.setItem("mti.bearer-token", TOKEN);
  window.history.replaceState(null, "", "/#execution=exec_42");
  const user = userEvent.setup();
  render(<App />);
  stream.send(executionSteps()[2], 2);
  await waitFor(() => expect(document.querySelector(".status-badge")).toHaveTextContent("Succeeded"));
  expect(await screen.findByText(/You can view this workflow's triggers but not invoke them/)).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Run again with these parameters" })).toBeNull();
  await user.selectOptions(screen.getByLabelText("Trigger"), "trig_manual_1");
  expect(await screen.findByLabelText("Version")).toHaveAttribute("readonly");
  expect(screen.queryByRole("button", { name: /^(Validate|Invoke) Trigger$/ })).toBeNull();
});

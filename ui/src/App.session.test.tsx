// Edits kept across a reload and a new sign-in (this tab only); why the shim refused a token.
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "./App";
import { EXPIRED_NOTICE, INVALID_NOTICE, refusal } from "./lib/token";
import { type Answer, fakeShim, TRIGGERS } from "./test/fakeShim";

const jwt = (claims: object) => `h.${btoa(JSON.stringify(claims)).replace(/=+$/, "")}.s`;
const TOKEN = jwt({ sub: "demo-user" });
const INVOKE = "POST /api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke";
const WORKFLOWS = [
  { id: "wf_other", name: "Other", role: "operator", triggers_url: "/o" },
  { id: "wf_demo", name: "Demo workflow", role: "operator", triggers_url: "/t" },
];

function shim(invoke: () => Answer = () => ({ status: 500, body: { title: "no", status: 500 } })) {
  const fake = fakeShim({
    "GET /api/v1/workflows": () => ({ status: 200, body: { workflows: WORKFLOWS } }),
    "GET /api/v1/workflows/wf_demo/triggers": () => ({ status: 200, body: { workflow_id: "wf_demo", triggers: TRIGGERS } }),
    "GET /api/v1/workflows/wf_other/triggers": () => ({ status: 200, body: { workflow_id: "wf_other", triggers: [] } }),
    [INVOKE]: invoke,
  });
  vi.stubGlobal("fetch", fake.fetch);
  return fake;
}

async function edit(user: ReturnType<typeof userEvent.setup>) {
  await user.selectOptions(await screen.findByLabelText("Workflow"), "wf_demo");
  await user.selectOptions(await screen.findByLabelText("Trigger"), "trig_manual_1");
  await user.type(await screen.findByLabelText("Version"), "1.2.3");
  await user.selectOptions(screen.getByLabelText(/^Environment/), "production");
  await user.type(screen.getByLabelText("Description"), "keep me");
  await user.click(screen.getByLabelText("Dry run (validate without executing)"));
}

async function expectEdits() {
  expect(await screen.findByLabelText("Version")).toHaveValue("1.2.3");
  expect(screen.getByLabelText("Workflow")).toHaveValue("wf_demo");
  expect(screen.getByLabelText("Trigger")).toHaveValue("trig_manual_1");
  expect(screen.getByLabelText(/^Environment/)).toHaveDisplayValue("production");
  expect(screen.getByLabelText("Description")).toHaveValue("keep me");
  expect(screen.getByLabelText("Dry run (validate without executing)")).not.toBeChecked();
  expect(screen.getByRole("button", { name: "Invoke Trigger" })).toBeEnabled();
}

afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

test("a reload finds the workflow, trigger, parameters, description and dry-run switch as they were", async () => {
  shim();
  sessionStorage.setItem("mti.bearer-token", TOKEN);
  const user = userEvent.setup();
  render(<App />);
  await edit(user);
  cleanup(); // the page goes…
  render(<App />); // …and comes back, in the same tab
  await expectEdits();
  // Signing out forgets them with the token.
  await user.click(screen.getByRole("button", { name: "Sign out" }));
  expect(sessionStorage.length).toBe(0);
});

test.each([
  ["token expired", EXPIRED_NOTICE],
  ["invalid token", INVALID_NOTICE],
])("a 401 (%s) returns to sign-in saying why; signing in again restores the edits", async (detail, notice) => {
  let refuse = false;
  shim(() =>
    refuse
      ? { status: 401, body: { title: "Unauthorized", status: 401, detail } }
      : { status: 500, body: { title: "no", status: 500 } },
  );
  sessionStorage.setItem("mti.bearer-token", TOKEN);
  const user = userEvent.setup();
  render(<App />);
  await edit(user);
  refuse = true;
  await user.click(screen.getByRole("button", { name: "Invoke Trigger" }));
  expect(await screen.findByRole("alert")).toHaveTextContent(notice);
  expect(screen.getByLabelText("Bearer token")).toHaveValue("");
  await user.type(screen.getByLabelText("Bearer token"), `${TOKEN}{Enter}`);
  await expectEdits();
});

test("signing in with a refused token says which refusal it was", async () => {
  vi.stubGlobal("fetch", async () =>
    new Response(JSON.stringify({ title: "Unauthorized", status: 401 }), {
      status: 401,
      headers: { "Content-Type": "application/problem+json" },
    }),
  );
  const user = userEvent.setup();
  render(<App />);
  await user.type(screen.getByLabelText("Bearer token"), "garbage{Enter}");
  expect(await screen.findByText(INVALID_NOTICE)).toBeInTheDocument();
  await user.clear(screen.getByLabelText("Bearer token"));
  await user.type(screen.getByLabelText("Bearer token"), `${jwt({ sub: "a", exp: 1_000_000 })}{Enter}`);
  await waitFor(() => expect(screen.getByText("The shim refused the token: it has expired.")).toBeInTheDocument());
});

test("the 401's detail decides; without one, the token's exp", () => {
  const now = Date.parse("2026-03-02T09:00:00Z");
  const past = jwt({ exp: now / 1000 - 60 });
  const future = jwt({ exp: now / 1000 + 60 });
  expect(refusal("token expired", future, now)).toBe("expired");
  expect(refusal("invalid token", past, now)).toBe("invalid");
  expect(refusal(null, past, now)).toBe("expired");
  expect(refusal(undefined, future, now)).toBe("invalid");
  expect(refusal(null, "garbage", now)).toBe("invalid");
});

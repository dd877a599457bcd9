// The panel in a real browser against the real stack (shim, worker, scheduler), as a person
// uses it: controls are found by their label or role name, never by CSS class.
//
//   MTI_URL=http://127.0.0.1:8000 MTI_TOKEN=<jwt of demo-user> MTI_VIEWER_TOKEN=<jwt of demo-viewer> \
//   BROWSER=chrome|firefox SCREENSHOTS=e2e/screenshots node e2e/panel.e2e.mjs
//
// Prints one JSON line at the end: the real execution it started and the curl it copied,
// which the calling test (tests/e2e/test_panel_browser.py) checks outside the browser.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const URL_ = process.env.MTI_URL;
const TOKEN = process.env.MTI_TOKEN;
const VIEWER_TOKEN = process.env.MTI_VIEWER_TOKEN;
// A token of demo-user that has expired: the panel must say so, and keep the edits.
const EXPIRED_TOKEN = process.env.MTI_EXPIRED_TOKEN;
// The commit message of the real GitHub push the calling test published before this run.
const REAL_COMMIT = process.env.MTI_REAL_COMMIT;
const BROWSER = process.env.BROWSER ?? "chrome";
const SHOTS = join(process.env.SCREENSHOTS ?? "e2e/screenshots", BROWSER);
const TIMEOUT = 30_000;
assert.ok(
  URL_ && TOKEN && VIEWER_TOKEN && EXPIRED_TOKEN && REAL_COMMIT,
  "MTI_URL, MTI_TOKEN, MTI_VIEWER_TOKEN, MTI_EXPIRED_TOKEN and MTI_REAL_COMMIT are required",
);
const READ_ONLY = "You can view this workflow's triggers but not invoke them: operators and above can.";
mkdirSync(SHOTS, { recursive: true });

// The first example of each demo trigger, and what its dry run must show of the wire format.
const DEMO = [
  { id: "trig_cron_1", type: "CRON", shows: "Schedule:" },
  { id: "trig_webhook_1", type: "WEBHOOK", shows: "HTTP/1.1" },
  { id: "trig_email_1", type: "EMAIL", shows: "MIME-Version: 1.0" },
  { id: "trig_github_1", type: "GITHUB", shows: "X-GitHub-Event:" },
  { id: "trig_slack_1", type: "SLACK", shows: "X-Slack-Request-Timestamp:" },
  { id: "trig_manual_1", type: "MANUAL", shows: '"environment"' },
];

// A fresh profile per run, removed at the end.
const profile = mkdtempSync(join(tmpdir(), `mti-${BROWSER}-`));

function launch() {
  if (BROWSER === "firefox") {
    return puppeteer.launch({
      browser: "firefox",
      executablePath: process.env.FIREFOX ?? "/usr/bin/firefox-esr",
      headless: true,
      userDataDir: profile,
      protocolTimeout: 120_000,
      extraPrefsFirefox: { "intl.accept_languages": "en-GB", "intl.locale.requested": "en-GB" },
    });
  }
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    userDataDir: profile,
    protocolTimeout: 120_000,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--lang=en-GB", "--accept-lang=en-GB",
    ],
  });
}

/** The form control a <label> with exactly this text names. */
async function byLabel(page, text) {
  const handle = await page.waitForFunction(
    (wanted) => {
      for (const label of document.querySelectorAll("label")) {
        if (label.textContent.replace(/\s+/g, " ").trim() !== wanted) continue;
        const control = label.htmlFor ? document.getElementById(label.htmlFor) : label.querySelector("input,select,textarea");
        if (control) return control;
      }
      return null;
    },
    { timeout: TIMEOUT },
    text,
  );
  return handle.asElement();
}

/** The button whose accessible text is exactly this (signs hidden with aria-hidden left out),
 * usable (neither disabled nor aria-disabled) or, with `enabled: false`, not. */
async function button(page, text, { enabled = true } = {}) {
  const handle = await page.waitForFunction(
    (wanted, enabled) =>
      [...document.querySelectorAll("button")].find((b) => {
        const copy = b.cloneNode(true);
        for (const hidden of copy.querySelectorAll("[aria-hidden=true]")) hidden.remove();
        const usable = !b.disabled && b.getAttribute("aria-disabled") !== "true";
        return copy.textContent.replace(/\s+/g, " ").trim() === wanted && usable === enabled;
      }) ?? null,
    { timeout: TIMEOUT },
    text,
    enabled,
  );
  return handle.asElement();
}

const textOf = (page, selector) => page.$eval(selector, (e) => e.textContent);
const waitForText = (page, text) =>
  page.waitForFunction((t) => document.body.innerText.includes(t), { timeout: TIMEOUT }, text);

/** The execution view's live status region says this status. */
const waitForStatus = (page, status) =>
  page.waitForFunction(
    (wanted) =>
      [...document.querySelectorAll("[role=status]")].some((region) =>
        new RegExp(`^Status: \\S+ ${wanted}\\.`).test(region.textContent.trim()),
      ),
    { timeout: TIMEOUT },
    status,
  );

/** The text of the region (a <section>) with this accessible name, once it is there. */
async function section(page, name) {
  const handle = await page.waitForFunction(
    (wanted) =>
      [...document.querySelectorAll("section")].find((s) => {
        const by = s.getAttribute("aria-labelledby");
        const label = s.getAttribute("aria-label") ?? (by ? document.getElementById(by)?.textContent : null);
        return label?.trim() === wanted;
      }) ?? null,
    { timeout: TIMEOUT },
    name,
  );
  return handle.asElement().evaluate((e) => e.textContent);
}

/** The value of the option with this text in the select the label names. */
async function optionValue(page, label, text) {
  const select = await byLabel(page, label);
  const value = await select.$$eval("option", (all, wanted) => all.find((o) => o.textContent === wanted)?.value, text);
  assert.ok(value !== undefined, `no option ${text} in ${label}`);
  return value;
}

async function axeCheck(page, where) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const result = await globalThis.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  assert.deepEqual(found, [], `axe (${where}): ${JSON.stringify(found)}`);
  return found.length;
}

/** After a request is answered the focus is on the "Result" heading (never on <body>). */
async function focusOnResult(page, where) {
  await page
    .waitForFunction(() => {
      const at = document.activeElement;
      return at?.tagName === "H3" && at.textContent.trim() === "Result";
    }, { timeout: 5000 })
    .catch(async () => {
      const at = await page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.textContent?.slice(0, 60)}`);
      assert.fail(`${where}: the focus is on ${at}, not on the result heading`);
    });
}

/** The page is no wider than the screen at 375 px. */
async function fitsNarrowScreen(page, where) {
  await page.setViewport({ width: 375, height: 800 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `${where}: page is ${width}px wide at 375`);
}

/** The labels of the parameter form's fields, as a person reads them. */
const formLabels = (page) =>
  page.$$eval("form.rjsf label", (all) => all.map((l) => l.textContent.replace(/\s+/g, " ").trim()));

/** The message shown beside the field (its `<id>__error` region), once it includes `text`. */
const fieldError = (page, field, text) =>
  page.waitForFunction(
    (input, wanted) => document.getElementById(`${input.id}__error`)?.textContent.includes(wanted),
    { timeout: TIMEOUT },
    field,
    text,
  );

/** Replace a text field's value as a person would: select all, type over it. */
async function retype(field, text) {
  await field.evaluate((input) => input.select());
  await field.type(text);
}

/** Press "Load into form" on the newest recent execution whose badge reads `origin`
 * ("real event", "manual, by demo-user"): the form takes its parameters, says so, and the
 * focus moves to the form's heading. */
async function loadRecent(page, origin) {
  const load = await page.waitForFunction(
    (wanted) => {
      const items = document.querySelectorAll("[aria-labelledby=mtp-recent] li");
      const item = [...items].find((li) => li.querySelector(".origin")?.textContent === wanted);
      return [...(item?.querySelectorAll("button") ?? [])].find((b) => b.textContent === "Load into form") ?? null;
    },
    { timeout: TIMEOUT },
    origin,
  );
  await load.asElement().click();
  await waitForText(page, "loaded into the form. Nothing is sent until you press");
  await page.waitForFunction(() => document.activeElement?.textContent?.trim() === "Trigger Parameters", {
    timeout: 5000,
  });
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const browser = await launch();
const foreign = [];
// Everything the page showed, for the caller's check that no planted secret ever reaches it.
const report = { browser: BROWSER, version: await browser.version(), pages: [] };
try {
  const page = await browser.newPage();
  if (BROWSER === "chrome") {
    // Headless Chromium asks before a page reads or writes the clipboard; a person would allow it.
    await browser.defaultBrowserContext().overridePermissions(new URL(URL_).origin, ["clipboard-read", "clipboard-write", "clipboard-sanitized-write"]);
  }
  page.setDefaultTimeout(TIMEOUT);
  await page.setViewport({ width: 1100, height: 900 });
  const origin = new URL(URL_).origin;
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
  });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  // Sign in with the "Bearer token" field.
  await page.goto(`${URL_}/`);
  await (await byLabel(page, "Bearer token")).type(TOKEN);
  report.axe_sign_in = await axeCheck(page, "sign-in");
  await page.keyboard.press("Enter");
  await byLabel(page, "Workflow");
  assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in local storage");
  assert.ok(await page.evaluate(() => Object.values({ ...sessionStorage }).length === 1));

  // A refused token returns to sign-in, saying why.
  await page.evaluate(() => sessionStorage.setItem("mti.bearer-token", "not-a-token"));
  await page.reload();
  await waitForText(page, "The shim refused the token");
  await byLabel(page, "Bearer token");

  // A #token= link signs in too, and the token leaves the address bar.
  await page.goto(`${URL_}/#token=${TOKEN}`);
  await byLabel(page, "Workflow");
  assert.ok(!page.url().includes("token"), `token still in ${page.url()}`);

  // Choose wf_demo, then dry-run each demo trigger from its first example.
  await (await byLabel(page, "Workflow")).select("wf_demo");
  const trigger = await byLabel(page, "Trigger");
  const options = await trigger.$$eval("option", (all) => all.map((o) => o.textContent));
  for (const { id, type } of DEMO) assert.ok(options.some((o) => o.includes(id) && o.includes(`(${type})`)), options.join("|"));
  for (const { id, type, shows } of DEMO) {
    await (await byLabel(page, "Trigger")).select(id);
    await waitForText(page, "Trigger Parameters");
    const example = await byLabel(page, "Example");
    await example.select("0");
    assert.equal(await (await byLabel(page, "Dry run (validate without executing)")).evaluate((e) => e.checked), true);
    await shot(page, `${type.toLowerCase()}-form`);
    await (await button(page, "Validate Trigger")).click();
    await waitForText(page, "Nothing was sent or recorded");
    await focusOnResult(page, `${type} dry run`);
    const wire = await textOf(page, "section[aria-label='What will be sent'] pre");
    assert.ok(wire.includes(shows), `${type}: ${shows} not in ${wire.slice(0, 400)}`);
    await shot(page, `${type.toLowerCase()}-result`);
    report.pages.push(await page.evaluate(() => document.body.textContent));
    report[`axe_${type.toLowerCase()}`] = await axeCheck(page, `${type} form and dry run`);
  }

  // The example selector replaces the parameters, merged over the trigger's defaults as the
  // shim merges them: "Deployment notification" gives no method, yet keeps the default one.
  await (await byLabel(page, "Trigger")).select("trig_webhook_1");
  await (await byLabel(page, "Example")).select(await optionValue(page, "Example", "Deployment notification"));
  const body = await byLabel(page, "Body (JSON)");
  await page.waitForFunction((e) => e.value.includes('"deployment"'), {}, body);
  assert.equal(await (await byLabel(page, "Method")).evaluate((e) => e.selectedOptions[0]?.textContent), "POST");
  assert.equal(await (await byLabel(page, "Source IP")).evaluate((e) => e.value), "127.0.0.1");
  await (await byLabel(page, "Example")).select("0");
  await page.waitForFunction((e) => e.value.includes('"user.created"'), {}, body);
  // And each of cron's examples keeps execution_type.
  await (await byLabel(page, "Trigger")).select("trig_cron_1");
  for (const name of ["Backfill a missed run", "Off-schedule run"]) {
    await (await byLabel(page, "Example")).select(await optionValue(page, "Example", name));
    assert.equal(await (await byLabel(page, "Execution type")).evaluate((e) => e.value), "manual_cron", name);
  }

  // A format the worker checks is checked as it is typed, with the worker's own grammar, and
  // holds the button back: no request is needed to learn that "next tuesday" is no time.
  const scheduled = await byLabel(page, "Scheduled time");
  await retype(scheduled, "next tuesday");
  await fieldError(page, scheduled, "must be a date and time like 2026-03-02T09:00:00+01:00");
  await button(page, "Validate Trigger", { enabled: false });
  await shot(page, "format-error");
  await retype(scheduled, "2026-03-02T09:00:00+01:00");
  await button(page, "Validate Trigger");

  // GitHub's form fits the event: a push shows the push fields only, event type and action are
  // choices of what the trigger sends, and a pull request swaps in its own fields.
  await (await byLabel(page, "Trigger")).select("trig_github_1");
  await (await byLabel(page, "Event type")).select(await optionValue(page, "Event type", "push"));
  await page.waitForFunction(() => document.body.innerText.includes("Before SHA"));
  const push = await formLabels(page);
  for (const field of ["Event type", "Ref", "Before SHA", "After SHA"]) assert.ok(push.includes(field), `${field} not in ${push}`);
  for (const field of ["Action", "Number", "Head commit SHA", "Tag name"]) assert.ok(!push.includes(field), `push shows ${field}`);
  report.github_push_fields = push;
  await shot(page, "github-push");
  await (await byLabel(page, "Event type")).select(await optionValue(page, "Event type", "pull_request"));
  const action = await byLabel(page, "Action");
  assert.equal(await action.evaluate((e) => e.tagName), "SELECT");
  const pull = await formLabels(page);
  assert.ok(pull.includes("Head commit SHA") && !pull.includes("Before SHA"), pull.join("|"));

  // A real delivery the GitHub ingress published (by the calling test) is among the trigger's
  // recent executions; loaded into the form, its dry run sends that push again.
  await (await byLabel(page, "Event type")).select(await optionValue(page, "Event type", "push"));
  await loadRecent(page, "real event");
  await (await button(page, "Validate Trigger")).click();
  await waitForText(page, "Nothing was sent or recorded");
  const again = await textOf(page, "section[aria-label='What will be sent'] pre");
  assert.ok(again.includes(REAL_COMMIT), `the real push's commit is not in ${again.slice(0, 600)}`);
  await shot(page, "reproduce-real");
  // From 1100 px wide the answer sits beside the form, not under it.
  const [form, answer] = await page.evaluate(() =>
    ["Trigger Parameters", "Result"].map((title) => {
      const heading = [...document.querySelectorAll("h2, h3")].find((h) => h.textContent.trim() === title);
      const box = heading.getBoundingClientRect();
      return { left: box.left, right: box.right };
    }),
  );
  assert.ok(answer.left >= form.right, `the answer (${answer.left}) is not beside the form (${form.right})`);
  report.axe_reproduce = await axeCheck(page, "a real event loaded into the form");

  // A bad value is flagged next to its field as it is typed, and holds the button back.
  await (await byLabel(page, "Trigger")).select("trig_manual_1");
  const version = await byLabel(page, "Version");
  await version.type("one.two");
  await page.waitForFunction(
    (input) => {
      const errors = document.getElementById(`${input.id}__error`);
      return errors && errors.textContent.includes("must match the format described above");
    },
    {},
    version,
  );
  await button(page, "Validate Trigger", { enabled: false });
  await shot(page, "inline-error");
  await retype(version, "2.0.1");
  await button(page, "Validate Trigger");

  // A reload keeps the workflow, the trigger and the edits (this tab's session storage)...
  await page.reload();
  const kept = await byLabel(page, "Version");
  await page.waitForFunction((e) => e.value === "2.0.1", {}, kept);
  assert.equal(await (await byLabel(page, "Trigger")).evaluate((e) => e.value), "trig_manual_1");
  // ...and so does a token that expires mid-session: sign in again, find the edits as they were.
  await page.evaluate((expired) => sessionStorage.setItem("mti.bearer-token", expired), EXPIRED_TOKEN);
  await page.reload();
  await waitForText(page, "Your session expired. Sign in again; your edits are kept.");
  await shot(page, "session-expired");
  await (await byLabel(page, "Bearer token")).type(TOKEN);
  await page.keyboard.press("Enter");
  await page.waitForFunction((e) => e.value === "2.0.1", {}, await byLabel(page, "Version"));

  // Copy as curl: the exact request, for the calling test to run.
  await (await button(page, "Copy as curl")).click();
  await page.waitForSelector("pre[aria-label='Request as curl']");
  report.curl = await textOf(page, "pre[aria-label='Request as curl']");

  // A real invocation, from the keyboard alone: Tab to the button, press Enter.
  await (await byLabel(page, "Dry run (validate without executing)")).click();
  await button(page, "Invoke Trigger");
  await page.evaluate(() => document.activeElement?.blur());
  await page.focus("h1").catch(() => undefined);
  for (let presses = 0; presses < 200; presses++) {
    const onButton = await page.evaluate(() => document.activeElement?.textContent?.trim() === "Invoke Trigger");
    if (onButton) break;
    await page.keyboard.press("Tab");
  }
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Invoke Trigger");
  await page.keyboard.press("Enter");
  const started = await page.waitForFunction(
    () => /Execution (exec_[0-9a-f]+) started/.exec(document.body.innerText)?.[1] ?? null,
    { timeout: TIMEOUT },
  );
  report.execution_id = await started.jsonValue();
  await focusOnResult(page, "the invocation");
  await shot(page, "invoked");
  // Its execution opens under the answer and follows the engine live: pending (or running)
  // → succeeded, without a reload.
  await page.evaluate(() => (window.__sameDocument = true));
  await waitForStatus(page, "Succeeded");
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page was reloaded");
  const timeline = await page.$eval("ol.timeline", (list) => [...list.children].map((li) => li.textContent));
  assert.deepEqual(
    timeline.map((step) => step.split(" ")[0]),
    ["Requested", "Accepted", "Recorded", "Running", "Succeeded"],
    timeline.join(" | "),
  );
  await section(page, "Output");
  await shot(page, "execution-succeeded");
  await (await page.$("section.execution")).screenshot({ path: join(SHOTS, "execution-view.png") });
  report.pages.push(await page.evaluate(() => document.body.textContent));
  // Its link moves the focus to the view; the JSON folds and copies from the keyboard.
  const link = await page.waitForFunction(
    (id) => [...document.querySelectorAll("a")].find((a) => a.textContent === id) ?? null,
    {},
    report.execution_id,
  );
  await link.asElement().click();
  await page.waitForFunction(() => document.activeElement?.textContent?.startsWith("Execution exec_"));
  await (await button(page, "Trigger data")).focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() =>
    [...document.querySelectorAll("button[aria-expanded=true]")].some((b) => b.textContent.includes("Trigger data")),
  );
  await (await button(page, "Copy workflow input")).focus();
  await page.keyboard.press("Enter");
  await waitForText(page, "Copied");
  if (BROWSER === "chrome") {
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.ok(copied.includes('"version": "2.0.1"'), copied);
  }
  report.axe_execution = await axeCheck(page, "a succeeded execution");
  // Its recent run is listed with "Run again with these parameters".
  await button(page, "Run again with these parameters");
  await waitForText(page, "Manual test of MANUAL trigger");
  // Every time shown reads in the reader's locale (British English here: a 24-hour clock).
  const times = await page.$$eval("time", (all) => all.map((t) => t.textContent));
  assert.ok(times.length > 0 && times.every((t) => !/\b(AM|PM)\b/i.test(t)), times.join(" | "));
  // And the manual run loads back into the form from the recent executions, to edit.
  await retype(await byLabel(page, "Version"), "9.9.9");
  await loadRecent(page, "manual, by demo-user");
  await page.waitForFunction((e) => e.value === "2.0.1", {}, await byLabel(page, "Version"));

  // A run the stand-in engine fails (its "Failing run" example): the error is shown.
  await (await byLabel(page, "Example")).select(await optionValue(page, "Example", "Failing run"));
  await (await button(page, "Invoke Trigger")).click();
  const failed = await page.waitForFunction(
    (first) => {
      const id = /Execution (exec_[0-9a-f]+) started/.exec(document.body.innerText)?.[1];
      return id && id !== first ? id : null;
    },
    { timeout: TIMEOUT },
    report.execution_id,
  );
  report.failed_execution_id = await failed.jsonValue();
  await focusOnResult(page, "the failing run's invocation");
  await waitForStatus(page, "Failed");
  const why = await section(page, "Why it failed");
  assert.ok(why.includes("Deployment refused: demonstration failure"), why);
  await shot(page, "execution-failed");
  report.pages.push(await page.evaluate(() => document.body.textContent));
  report.axe_failed = await axeCheck(page, "a failed execution");

  // 375 px wide: nothing wider than the screen.
  await fitsNarrowScreen(page, "operator");
  await shot(page, "narrow-375");
  await (await page.$("section.execution")).screenshot({ path: join(SHOTS, "execution-view-375.png") });

  // demo-viewer, a viewer of wf_demo, in a tab of its own: the form read-only, saying why,
  // and nothing offered that the shim would refuse.
  const viewer = await browser.newPage();
  viewer.setDefaultTimeout(TIMEOUT);
  viewer.on("pageerror", (error) => errors.push(`viewer: ${error}`));
  await viewer.setViewport({ width: 1100, height: 900 });
  await viewer.goto(`${URL_}/#token=${VIEWER_TOKEN}`);
  await (await byLabel(viewer, "Workflow")).select("wf_demo");
  await waitForText(viewer, READ_ONLY);
  await (await byLabel(viewer, "Trigger")).select("trig_manual_1");
  await waitForText(viewer, "Trigger Parameters");
  await (await byLabel(viewer, "Example")).select(await optionValue(viewer, "Example", "Failing run"));
  const fail = await byLabel(viewer, "Fail");
  await viewer.waitForFunction((e) => e.value.startsWith("Deployment refused"), {}, fail);
  assert.equal(await fail.evaluate((e) => e.readOnly), true, "the viewer's fields are read-only");
  assert.equal(await (await byLabel(viewer, "Environment*")).evaluate((e) => e.disabled), true);
  await waitForText(viewer, "Recent executions");
  const offered = await viewer.evaluate(() => [...document.querySelectorAll("button")].map((b) => b.textContent.trim()));
  for (const refused of ["Validate Trigger", "Invoke Trigger", "Run again with these parameters", "Load into form", "Copy as curl"]) {
    assert.ok(!offered.includes(refused), `a viewer is offered ${refused}: ${offered.join(" | ")}`);
  }
  assert.equal(await viewer.$("#mtp-description"), null, "a viewer is offered a description to send");
  await shot(viewer, "viewer");
  report.pages.push(await viewer.evaluate(() => document.body.textContent));
  report.axe_viewer = await axeCheck(viewer, "a viewer's read-only form");
  await fitsNarrowScreen(viewer, "viewer");
  await shot(viewer, "viewer-375");

  assert.deepEqual(foreign, [], "requests to other hosts");
  assert.deepEqual(errors, [], "page errors");
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}

// Browser tests of the web console: Debian's Chromium (playwright-core, never a downloaded
// browser) against the real `slack-sessions console` binary, itself over a real
// `slack-sessions serve` loaded with console-fixture.json. Every effect is checked through the
// API as well (auth.test with the session's own token). axe-core checks each page, and each
// page is photographed (into docs/console/ with UPDATE_SCREENSHOTS=1).
//
// Run by scripts/test.sh (through run.sh). Fails, never skips, when Chromium is missing.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const BIN = process.env.SLACK_SESSIONS_BIN || path.join(root, "target/debug/slack-sessions");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// Screenshots go to docs/console/ with UPDATE_SCREENSHOTS=1 (how docs/console.md's were made),
// else to the run's temporary directory, so that running the tests leaves the tree clean.
const SHOTS_TO_DOCS = process.env.UPDATE_SCREENSHOTS === "1";
let SHOTS;
const AXE = readFileSync(path.join(here, "node_modules/axe-core/axe.min.js"), "utf8");
const ADMIN_TOKEN = "xoxp-console-admin";

const procs = [];
let work, apiUrl, consoleUrl, loginUrl, context, page;
const consoleProblems = [];

/// Starts a binary and resolves with the first stdout line matching `re`.
function start(args, re, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    procs.push(child);
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${out}\n${err}`)), 60000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(re);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited ${code}:\n${out}\n${err}`));
    });
  });
}

/// A Web API call to the server, as an SDK would make it.
async function api(method, token, form = {}) {
  const resp = await fetch(apiUrl + method, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return resp.json();
}

/// Whether the session whose own token is `token` is still signed in.
async function signedIn(token) {
  const r = await api("auth.test", token);
  return r.ok === true;
}

/// No serious or critical axe-core violations on the current page.
async function axeClean(label) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `${label}: axe-core violations ${JSON.stringify(bad, null, 1)}`);
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run scripts/ensure-browser.sh`);
  }
  assert.ok(existsSync(BIN), `the binary ${BIN} is missing: cargo build -p slack-sessions`);
  work = mkdtempSync(path.join(tmpdir(), "console-browser-"));
  SHOTS = SHOTS_TO_DOCS ? path.join(root, "docs/console") : path.join(work, "shots");
  mkdirSync(SHOTS, { recursive: true });
  const server = await start(
    ["serve", "--listen", "127.0.0.1:0", "--data-dir", path.join(work, "server"),
      "--fixtures", path.join(here, "console-fixture.json")],
    /API URL:\s+(\S+)/,
  );
  apiUrl = server.match[1];
  writeFileSync(path.join(work, "token"), ADMIN_TOKEN + "\n", { mode: 0o600 });
  const con = await start(
    ["console", "--api-url", apiUrl, "--token-file", path.join(work, "token"),
      "--listen", "127.0.0.1:0", "--data-dir", path.join(work, "console")],
    /Console URL: (http:\/\/[^\s]+)\n/,
  );
  loginUrl = con.match[1];
  consoleUrl = new URL(loginUrl).origin;
  // A fresh profile directory per run (playwright passes it as --user-data-dir).
  context = await chromium.launchPersistentContext(path.join(work, "chromium"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1200, height: 800 },
    acceptDownloads: true,
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
  page.on("console", (m) => {
    if (m.type() === "error") consoleProblems.push(m.text());
  });
  page.on("pageerror", (e) => consoleProblems.push(String(e)));
});

after(async () => {
  if (context) await context.close();
  for (const p of procs) p.kill("SIGTERM");
  if (work) rmSync(work, { recursive: true, force: true });
});

test("without the login cookie nothing is shown and nothing changes", async () => {
  const get = await fetch(`${consoleUrl}/people?q=dana%40acme.example`, { redirect: "manual" });
  assert.equal(get.status, 401);
  const body = await get.text();
  assert.ok(!body.includes("Dana"), "a page without the cookie showed a person");
  const post = await fetch(`${consoleUrl}/people/W0DEV/sign-out`, {
    method: "POST",
    redirect: "manual",
    headers: { Origin: consoleUrl, "Content-Type": "application/x-www-form-urlencoded" },
    body: "scope=all&confirmed=yes",
  });
  assert.equal(post.status, 401);
  assert.ok(await signedIn("xoxc-dana-laptop"), "a request without the cookie ended a session");
});

test("the login link sets an HttpOnly SameSite=Strict cookie and lands on People", async () => {
  await page.goto(loginUrl);
  assert.equal(new URL(page.url()).pathname, "/people");
  assert.ok(!page.url().includes("secret"), "the secret stayed in the address bar");
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].sameSite, "Strict");
  // The link works once.
  const again = await fetch(loginUrl, { redirect: "manual" });
  assert.equal(again.status, 403);
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of ["People", "Revoke by selection", "Audit"]) {
    assert.equal(await nav.getByRole("link", { name }).count(), 1, `navigation lacks ${name}`);
  }
  await axeClean("people");
  await shot("people");
});

test("search by email finds the person; their page lists each device", async () => {
  await page.getByLabel("Search").fill("dana@acme.example");
  await page.getByLabel("Search").press("Enter");
  await page.getByRole("link", { name: "Dana Scully" }).click();
  assert.equal(new URL(page.url()).pathname, "/people/W0DEV");
  await page.getByRole("heading", { name: "Dana Scully" }).waitFor();
  const text = await page.textContent("main");
  for (const s of ["dana@acme.example", "Member", "T0ENG", "1001", "MacBookPro18,3", "macOS 14.2",
    "4.36.140", "203.0.113.7", "203.0.113.9", "1002", "iOS 17.1", "1003"]) {
    assert.ok(text.includes(s), `person page lacks ${s}`);
  }
  await axeClean("person");
  await shot("person");
});

test("search by name and by id", async () => {
  await page.goto(`${consoleUrl}/people`);
  await page.getByLabel("Search").fill("mulder");
  await page.getByRole("button", { name: "Search" }).click();
  assert.equal(await page.getByRole("link", { name: "Fox Mulder" }).count(), 1);
  await page.getByLabel("Search").fill("W0LEAVE2");
  await page.getByRole("button", { name: "Search" }).click();
  assert.equal(await page.getByRole("link", { name: "Sam Leaver" }).count(), 1);
  await shot("search");
});

function row(id) {
  return page.locator(`tr[data-session="${id}"]`);
}

test("cancelling a confirmation changes nothing", async () => {
  await page.goto(`${consoleUrl}/people/W0DEV`);
  await row(1002).getByRole("button", { name: /Sign out/ }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Sign out Dana Scully from session 1002 \(iPhone15,2, iOS 17\.1\)/);
  assert.equal(await dialog.getByRole("button", { name: "Sign out" }).count(), 1);
  await axeClean("confirmation dialog");
  await shot("confirm");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "hidden" });
  assert.ok(await signedIn("xoxc-dana-phone"), "Cancel ended the session");
  await page.reload();
  assert.equal(await row(1002).count(), 1);
});

test("sign out one device: that session ends, the others stay", async () => {
  await row(1001).getByRole("button", { name: /Sign out/ }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Sign out" }).click();
  await page.getByText("Signed out session 1001.").waitFor();
  assert.equal(await signedIn("xoxc-dana-laptop"), false, "session 1001 still works");
  assert.ok(await signedIn("xoxc-dana-phone"), "session 1002 ended too");
  assert.equal(await row(1001).count(), 0);
  await axeClean("person after sign-out");
});

test("session settings: save and clear", async () => {
  await page.getByLabel("Session duration (hours)").fill("48");
  await page.getByLabel("Quit on close").selectOption("no");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("Saved the session settings.").waitFor();
  let s = await api("admin.users.session.getSettings", ADMIN_TOKEN, { user_ids: "W0DEV" });
  assert.equal(s.session_settings[0].duration, 48 * 3600);
  assert.equal(s.session_settings[0].desktop_app_browser_quit, false);
  await page.getByRole("button", { name: "Clear settings" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Clear settings" }).click();
  await page.getByText("Cleared the session settings").waitFor();
  s = await api("admin.users.session.getSettings", ADMIN_TOKEN, { user_ids: "W0DEV" });
  assert.deepEqual(s.no_settings_applied, ["W0DEV"]);
  assert.equal(await page.textContent("#current-duration"), "Org default");
});

test("sign out everywhere ends every session of the person", async () => {
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  const dialog = page.getByRole("dialog");
  assert.match(await dialog.textContent(), /Sign out Dana Scully everywhere\?/);
  await dialog.getByRole("button", { name: "Sign out everywhere" }).click();
  await page.getByText("Signed out: ended the sessions on every device.").waitFor();
  assert.equal(await signedIn("xoxc-dana-phone"), false);
  assert.equal(await signedIn("xoxc-dana-web"), false);
  assert.ok(await signedIn("xoxc-fox-laptop"), "another person's session ended");
  assert.ok((await page.textContent("main")).includes("Dana Scully has no active sessions."));
});

test("audit page lists the actions, filterable by action and person", async () => {
  await page.getByRole("link", { name: "Audit" }).click();
  await page.getByRole("heading", { name: "Audit" }).waitFor();
  const text = await page.textContent("main");
  assert.ok(text.includes("user_session_invalidated"));
  assert.ok(text.includes("user_session_reset_by_admin"));
  await axeClean("audit");
  await shot("audit");
  await page.getByLabel("Action").selectOption("user_session_invalidated");
  await page.getByLabel("Person").fill("dana@acme.example");
  await page.getByRole("button", { name: "Filter" }).click();
  const rows = page.locator("tbody tr");
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /session 1001/);
});

test("revoke by selection: upload, preview, run with live progress, report", async () => {
  await page.getByRole("link", { name: "Revoke by selection" }).click();
  await page.getByRole("heading", { name: "Revoke by selection" }).waitFor();
  await axeClean("revoke");
  await shot("revoke");
  // Two leavers by email and id (CSV), one entry that names nobody; only their laptop and
  // Android sessions (by OS), not Sam's web session.
  const file = path.join(work, "leavers.csv");
  writeFileSync(file, "name,email,user_id\nLee,lee@acme.example,\nSam,,W0LEAVE2\nNobody,nobody@acme.example,\n");
  await page.getByLabel("Users file").setInputFiles(file);
  await page.getByLabel("OS").fill("macOS, Android");
  await page.getByRole("button", { name: "Preview" }).click();
  await page.waitForLoadState();
  assert.equal(await page.locator(".notice.failed").count(), 0,
    await page.locator("main").textContent());
  await page.getByRole("heading", { name: "Preview" }).waitFor();
  const plan = await page.locator("ul.stats").textContent();
  assert.match(plan, /2\s*sessions to end/);
  assert.match(plan, /1\s*entries not resolved/);
  const planned = await page.locator("#plan-sessions tbody").textContent();
  assert.ok(planned.includes("3001") && planned.includes("3002") && !planned.includes("3003"));
  assert.ok((await page.textContent("main")).includes("nobody@acme.example"));
  // Nothing happened on preview.
  assert.ok(await signedIn("xoxc-lee-laptop"));
  await axeClean("preview");
  await shot("preview");
  await page.getByRole("button", { name: "Run" }).click();
  const dialog = page.getByRole("dialog");
  assert.match(await dialog.textContent(), /end 2 sessions/);
  await dialog.getByRole("button", { name: "Run" }).click();
  await page.waitForURL(/\/revoke\/runs\//);
  const runUrl = page.url();
  await page.locator("#run-progress").waitFor();
  await shot("run");
  // Live: the page updates itself as calls settle (Slack's pace: one invalidate every 3 s).
  await page.getByText(/^1 of 2 calls settled/).waitFor();
  // The page survives a reload while it runs, then shows the finished run.
  await page.reload();
  await page.getByText(/Finished\./).waitFor({ timeout: 60000 });
  assert.equal(await page.locator("#run-bar").getAttribute("value"), "2");
  assert.equal(await signedIn("xoxc-lee-laptop"), false);
  assert.equal(await signedIn("xoxc-lee-phone"), false);
  assert.ok(await signedIn("xoxc-sam-web"), "a session outside the selection ended");
  assert.ok(await signedIn("xoxc-fox-laptop"));
  await axeClean("finished run");
  await shot("run-finished");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download the report (CSV)" }).click(),
  ]);
  const csv = readFileSync(await download.path(), "utf8");
  assert.match(csv, /^action,method,user/);
  assert.match(csv, /3001/);
  assert.match(csv, /nobody@acme\.example/);
  // The Revoke page lists the run.
  await page.goto(`${consoleUrl}/revoke`);
  assert.ok((await page.textContent("main")).includes(new URL(runUrl).pathname.split("/").pop()));
});

test("readable on a phone: no page scrolls sideways", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const p of ["/people?q=leaver", "/people/W0FOX", "/revoke", "/audit"]) {
    await page.goto(consoleUrl + p);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    const wide = await page.evaluate(() => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > 391 && !e.closest(".table-wrap"))
      .map((e) => `${e.tagName}#${e.id}.${e.className}`));
    assert.ok(width <= 390, `${p} is ${width}px wide on a 390px screen: ${wide.join(", ")}`);
    await axeClean(`${p} on a phone`);
  }
  await page.goto(`${consoleUrl}/people/W0FOX`);
  await shot("person-phone");
  await page.setViewportSize({ width: 1200, height: 800 });
});

test("keyboard: the skip link and every control are reachable with Tab", async () => {
  await page.goto(`${consoleUrl}/people/W0FOX`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  // Tab to the row's Sign out, open the dialog with Enter, leave it with Escape: nothing ends.
  let found = false;
  for (let i = 0; i < 40 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement.textContent.startsWith("Sign out session 2001"));
  }
  assert.ok(found, "the row's Sign out button is not reachable by keyboard");
  await page.keyboard.press("Enter");
  await page.getByRole("dialog").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Cancel");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  assert.ok(await signedIn("xoxc-fox-laptop"));
});

test("no script or style was blocked and no page script failed", () => {
  assert.deepEqual(consoleProblems, []);
});

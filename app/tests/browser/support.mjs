// support.mjs — what the browser tests (*.test.mjs here) share: their own `deu demo` child process (free ports, a fresh ledger, waiting until it serves, Ctrl-C on the way out, its log on failure), headless Chromium with a fresh page per test, screenshots, the `api()` helper and the `units` amount parser.
//
// Not a test file itself (node --test runs only *.test.mjs). Env: DEU_BIN (the deu binary), CHROMIUM (the browser).
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKSPACE = resolve(HERE, "../../..");
const DEU_BIN = process.env.DEU_BIN || resolve(HERE, "../../../target/debug/deu");
const SCREENSHOTS = join(WORKSPACE, "target", "screenshots");
export const STARTUP_MS = 180_000;
export const TEST_MS = 120_000;
export const STEP_MS = 20_000;

/** "30.000000 k" or "2.5" → integer millionths (exact: no floating point). */
export function units(text) {
  const match = /^\s*(\d+)(?:\.(\d{1,6}))?(?:\s*k)?\s*$/.exec(text);
  assert.ok(match, `expected an amount of k, got ${JSON.stringify(text)}`);
  return BigInt(match[1]) * 1_000_000n + BigInt((match[2] || "").padEnd(6, "0"));
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** `count` free local ports, all different. */
export async function freePorts(count) {
  const ports = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/* ------------------------------------------------------------------ */
/* The server (`deu demo`) and the browser, shared by a file's tests   */
/* ------------------------------------------------------------------ */

/** The running demo: { child, base, ledger, log: string[], exited, ...the `fields` given to startDemo }. */
export let server = null;
let browser = null;

function spawnDemo(port, ledger, args, fields) {
  const child = spawn(DEU_BIN, ["demo", "--port", String(port), "--rpc-port", "0", "--ledger", ledger, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split("\n")) if (line) log.push(line);
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const state = { child, log, exited: null, base: `http://127.0.0.1:${port}`, ledger, ...fields };
  child.on("exit", (code, signal) => {
    state.exited = { code, signal };
  });
  child.on("error", (error) => {
    state.exited = { error: `${DEU_BIN}: ${error.message}` }; // e.g. not built yet
  });
  return state;
}

function demoLog() {
  return server ? server.log.slice(-60).join("\n") : "";
}

async function waitForDemo() {
  const deadline = Date.now() + STARTUP_MS;
  let last = "";
  while (Date.now() < deadline) {
    if (server.exited) throw new Error(`deu demo exited before serving (${JSON.stringify(server.exited)}):\n${demoLog()}`);
    try {
      const response = await fetch(`${server.base}/api/state`, { signal: AbortSignal.timeout(5_000) });
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    await sleep(250);
  }
  throw new Error(`deu demo did not serve /api/state within ${STARTUP_MS / 1000} s (last: ${last}):\n${demoLog()}`);
}

/**
 * Starts `deu demo` on `port` (a free one if not given) with a fresh ledger in a new temporary
 * folder named `tmpPrefix`…, passing it `args` as well, and waits until it serves /api/state.
 * `fields` are added to `server` (e.g. the sandbox's address); `note` to the log line.
 */
export async function startDemo({ tmpPrefix, port, args = [], fields = {}, note = "" }) {
  port ??= (await freePorts(1))[0];
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const started = Date.now();
  server = spawnDemo(port, join(dir, "ledger"), args, fields);
  await waitForDemo();
  console.log(`deu demo serving on ${server.base}${note} after ${Date.now() - started} ms`);
  return server;
}

function killDemo() {
  if (server && !server.exited && server.child.exitCode === null) server.child.kill("SIGKILL");
}
// Even if the runner is interrupted, never leave the demo cluster behind.
process.on("exit", killDemo);

async function stopDemo() {
  if (!server) return;
  const { child } = server;
  if (!server.exited && child.exitCode === null) {
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGINT"); // as Ctrl-C: it shuts its cluster (and its sandbox, if any) down
    const started = Date.now();
    let timer;
    const stopped = await Promise.race([gone.then(() => true), new Promise((done) => (timer = setTimeout(done, 15_000, false)))]);
    clearTimeout(timer); // a pending timer would hold the runner for its whole 15 s
    if (!stopped) {
      child.kill("SIGKILL");
      await gone;
    }
    console.log(`deu demo ${stopped ? "stopped on Ctrl-C" : "killed (no exit 15 s after Ctrl-C)"} in ${Date.now() - started} ms`);
  }
  rmSync(dirname(server.ledger), { recursive: true, force: true });
}

/** Launches headless Chromium for the file's tests; `note` is added to the log line. */
export async function launchBrowser(note = "") {
  const launched = Date.now();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  console.log(`Chromium ${browser.version()} launched in ${Date.now() - launched} ms${note}`);
  mkdirSync(SCREENSHOTS, { recursive: true });
}

/** For `after`: closes the browser, then stops the demo (even if closing failed). */
export async function stopAll() {
  try {
    if (browser) await browser.close();
  } finally {
    await stopDemo();
  }
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/** GET `path` from the demo (or POST `body` as JSON); returns { status, data }. */
export async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(`${server.base}${path}`, { ...init, signal: AbortSignal.timeout(STEP_MS) });
  const data = await response.json();
  return { status: response.status, data };
}

/**
 * A fresh browser context and page; fails the test on any uncaught script error in the page.
 * `use(page)` runs the test's steps; the context is closed afterwards, even on failure.
 * `init`, if given, runs in every page before its own scripts.
 */
export async function withPage(use, { init } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(STEP_MS);
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(`${page.url()}: ${error.message}`));
  try {
    await use(page);
    assert.deepEqual(errors, [], "the page threw script errors");
  } finally {
    await context.close();
  }
}

export const url = (path) => `${server.base}${path}`;

/** A full-page screenshot, saved as target/screenshots/`name`.png. */
export const screenshot = (page, name) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

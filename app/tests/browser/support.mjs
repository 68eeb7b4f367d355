// support.mjs — what the browser tests (*.test.mjs here) share: their own `deu demo` child process (free ports, a fresh ledger, waiting until it serves, Ctrl-C on the way out, its log on failure), or `deu serve` over its own `deu localnet` and `deu sandbox` with the grid set up through the `deu` CLI (startServe), headless Chromium with a fresh page per test, screenshots, the `api()` helper and the `units` amount parser.
//
// Not a test file itself (node --test runs only *.test.mjs). Env: DEU_BIN (the deu binary), CHROMIUM (the browser).
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
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

/** The processes of `startServe` (localnet, sandbox, serve), stopped last to first. */
const others = [];

function killDemo() {
  for (const state of [server, ...others]) if (state && !state.exited && state.child.exitCode === null) state.child.kill("SIGKILL");
}
// Even if the runner is interrupted, never leave the demo cluster (or serve's) behind.
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

/** For `after`: closes the browser, then stops the demo, or serve and its sandbox and cluster (even if closing failed). */
export async function stopAll() {
  try {
    if (browser) await browser.close();
  } finally {
    if (others.length) await stopServe();
    else await stopDemo();
  }
}

/* ------------------------------------------------------------------ */
/* `deu serve` (no custody) over its own localnet and sandbox          */
/* ------------------------------------------------------------------ */

/** The environment `deu` reads settings from, removed from the children's: each test says its own. */
const DEU_ENV = ["DEU_URL", "DEU_KEYPAIR", "DEU_GRID", "DEU_WEBHOOK_SECRET", "DEU_PROCESSOR_URL", "DEU_PROCESSOR_KEY", "DEU_ORACLE_KEYPAIR", "DEU_PUBLIC_URL", "DEU_COIN_PRICE", "DEU_DELIVERY_LOG", "DEU_PAYMENTS_CONFIG", "DEU_SANDBOX_WEBHOOK_URL"];

function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const name of DEU_ENV) delete env[name];
  return { ...env, ...extra };
}

/** Starts `deu ARGS` as a long-running child named `name`: { child, log, exited, name }. */
function spawnDeu(name, args, env = {}) {
  const child = spawn(DEU_BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: cleanEnv(env) });
  const log = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split("\n")) if (line) log.push(`${name}: ${line}`);
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const state = { child, log, exited: null, name };
  child.on("exit", (code, signal) => {
    state.exited = { code, signal };
  });
  child.on("error", (error) => {
    state.exited = { error: `${DEU_BIN}: ${error.message}` };
  });
  return state;
}

/** Ctrl-C, as an operator stops it; killed if still running 15 s later. */
async function stopChild(state) {
  const { child } = state;
  if (state.exited || child.exitCode !== null) return;
  const gone = new Promise((done) => child.once("exit", done));
  child.kill("SIGINT");
  const started = Date.now();
  let timer;
  const stopped = await Promise.race([gone.then(() => true), new Promise((done) => (timer = setTimeout(done, 15_000, false)))]);
  clearTimeout(timer);
  if (!stopped) {
    child.kill("SIGKILL");
    await gone;
  }
  console.log(`deu ${state.name} ${stopped ? "stopped on Ctrl-C" : "killed (no exit 15 s after Ctrl-C)"} in ${Date.now() - started} ms`);
}

/** Waits until `check()` resolves true (bounded); `what` names it, `state` is the child that must stay up. */
async function waitFor(what, state, check, ms = STARTUP_MS) {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    if (state.exited) throw new Error(`deu ${state.name} exited before ${what} (${JSON.stringify(state.exited)}):\n${state.log.slice(-40).join("\n")}`);
    try {
      if (await check()) return;
    } catch (error) {
      last = error.message;
    }
    await sleep(250);
  }
  throw new Error(`${what}: not within ${ms / 1000} s (last: ${last}):\n${state.log.slice(-40).join("\n")}`);
}

/** The serve mode's setup, for `deu()` and `restartServe()`: { dir, rpcUrl, grid, serveArgs, serveEnv }. */
let serveSetup = null;

/**
 * Runs `deu -u RPC --grid GRID --output json -k DIR/KEY.json ARGS` (the grid's cluster) and
 * resolves to its JSON; rejects with its error line. `key` names a keypair file in the setup's
 * folder (made with `deu keygen`, see `keygen`).
 */
export function deu(key, args) {
  const { dir, rpcUrl, grid } = serveSetup;
  return new Promise((done, fail) => {
    execFile(DEU_BIN, ["-u", rpcUrl, "--grid", grid, "--output", "json", "-k", join(dir, `${key}.json`), ...args], { env: cleanEnv(), timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) return fail(new Error(`deu ${args.join(" ")} failed: ${(stderr || error.message).trim()}`));
      try {
        done(JSON.parse(stdout));
      } catch {
        fail(new Error(`deu ${args.join(" ")} printed no JSON: ${stdout}`));
      }
    });
  });
}

/** A new keypair file `name`.json in the setup's folder (`deu keygen`); resolves to its public key. */
export async function keygen(name) {
  const made = await deu(name, ["keygen", join(serveSetup.dir, `${name}.json`)]);
  return made.pubkey;
}

async function serveStarted() {
  const { serveArgs, serveEnv, port } = serveSetup;
  const started = Date.now();
  const state = spawnDeu("serve", serveArgs, serveEnv);
  Object.assign(state, { base: `http://127.0.0.1:${port}`, ledger: join(serveSetup.dir, "ledger"), sandbox: serveSetup.sandbox, sandboxPort: String(serveSetup.sandboxPort), rpcUrl: serveSetup.rpcUrl });
  server = state;
  await waitFor("deu serve answered /api/state", state, async () => (await fetch(`${state.base}/api/state`, { signal: AbortSignal.timeout(5_000) })).status === 200);
  console.log(`deu serve on ${state.base} over ${serveSetup.rpcUrl} (sandbox ${serveSetup.sandbox}) serving after ${Date.now() - started} ms`);
  return state;
}

/**
 * `deu serve` as an operator runs it — no custody, payments through its own `deu sandbox` —
 * over its own `deu localnet` (a fresh ledger in a new temporary folder named `tmpPrefix`…).
 * Before serve starts, `setup({ deu, keygen, rpcUrl })` sets the grid up through the CLI; the
 * keypair named `admin` (made there, `deu grid init`'s default oracle) is the payment oracle.
 * Resolves to `server`.
 */
export async function startServe({ tmpPrefix, grid = "village", setup }) {
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const [rpcPort, sandboxPort, port] = await freePorts(3);
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  const secret = "whsec_browser_wallet_test";
  const key = "sk_test_browser_wallet";
  const sandbox = `http://127.0.0.1:${sandboxPort}`;
  serveSetup = {
    dir,
    rpcUrl,
    grid,
    port,
    sandbox,
    sandboxPort,
    serveArgs: ["-u", rpcUrl, "--grid", grid, "serve", "--port", String(port)],
    serveEnv: {
      DEU_WEBHOOK_SECRET: secret,
      DEU_PROCESSOR_URL: sandbox,
      DEU_PROCESSOR_KEY: key,
      DEU_ORACLE_KEYPAIR: join(dir, "admin.json"),
      DEU_DELIVERY_LOG: join(dir, "deliveries.jsonl"),
    },
  };

  let started = Date.now();
  const localnet = spawnDeu("localnet", ["localnet", "--rpc-port", String(rpcPort), "--ledger", join(dir, "ledger")]);
  others.push(localnet);
  const rpc = async (method) => {
    const response = await fetch(rpcUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method }), signal: AbortSignal.timeout(5_000) });
    return (await response.json()).result;
  };
  await waitFor("deu localnet answered getHealth", localnet, async () => (await rpc("getHealth")) === "ok");
  console.log(`deu localnet on ${rpcUrl} after ${Date.now() - started} ms`);

  started = Date.now();
  // The setup may add settings for `deu serve` (e.g. a sponsor's keypair in `dir`).
  const extra = await setup({ deu, keygen, rpcUrl, dir });
  Object.assign(serveSetup.serveEnv, (extra && extra.env) || {});
  console.log(`grid set up through the deu CLI in ${Date.now() - started} ms`);

  const sandboxState = spawnDeu("sandbox", ["sandbox", "--port", String(sandboxPort), "--webhook-url", `http://127.0.0.1:${port}/webhooks/processor`], { DEU_WEBHOOK_SECRET: secret, DEU_PROCESSOR_KEY: key });
  others.push(sandboxState);
  await waitFor("deu sandbox answered", sandboxState, async () => (await fetch(`${sandbox}/`, { signal: AbortSignal.timeout(5_000) })).status === 200);

  return serveStarted();
}

/** Stops `deu serve` with Ctrl-C and starts it again on the same port, cluster and settings. */
export async function restartServe() {
  await stopChild(server);
  return serveStarted();
}

async function stopServe() {
  if (server) await stopChild(server);
  for (const state of others.reverse()) await stopChild(state);
  others.length = 0;
  if (serveSetup) rmSync(serveSetup.dir, { recursive: true, force: true });
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
 * `init`, if given, runs in every page before its own scripts (with `initArg`); `expose`
 * names functions of this process the pages may call (`context.exposeFunction`).
 */
export async function withPage(use, { init, initArg, expose = {} } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(STEP_MS);
  for (const [name, fn] of Object.entries(expose)) await context.exposeFunction(name, fn);
  if (init) await context.addInitScript(init, initArg);
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

// wallet.test.mjs — "use your own wallet" in a real headless Chromium: `deu serve` with no custody (over its own `deu localnet` and `deu sandbox`, the grid set up with the `deu` CLI), a Wallet Standard wallet injected into the pages whose key is a real Ed25519 keypair held by this process; a resident connects it, joins the grid, buys coins, funds a dark pole, onboards with the processor and binds the account, sells coins (a phishing link refused), cancels a sale, collects a producer's earnings, and sees the same history after serve restarts.
//
// Run: `bash app/tests/browser/setup.sh`, then `node --test app/tests/browser/wallet.test.mjs`
// (or `cargo test -p deu --test browser`). Env: DEU_BIN (the deu binary), CHROMIUM (the browser).
import { strict as assert } from "node:assert";
import { createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { toBase58 } from "../../static/js/base58.js";
import { api, deu, keygen, launchBrowser, restartServe, screenshot, server, sleep, startServe, STARTUP_MS, STEP_MS, stopAll, TEST_MS, units, url, withPage } from "./support.mjs";

const RESIDENT = "dana";
const TAKEN = "utility"; // registered by the utility through the CLI
const POLE = "dark-pole";
const ROOF = "dana-roof";
const GOOD_CARD = "4242 4242 4242 4242";
const NO_WALLET = "No Solana wallet found — install Phantom, Solflare or Backpack";
/** How long the processor's webhook (or payout) may take to show on the page. */
const WEBHOOK_MS = 30_000;

/* ------------------------------------------------------------------ */
/* The wallet's key: a real Ed25519 keypair held by this process       */
/* ------------------------------------------------------------------ */

/** An Ed25519 key from a 32-byte seed (PKCS#8 DER: the fixed prefix, then the seed). */
const seed = randomBytes(32);
const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
const publicKey = createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(-32);
const ADDRESS = toBase58(publicKey);

/** Every message the wallet signed (base64), in order: what the pages asked the key for. */
const signed = [];
function signMessage(messageBase64) {
  const message = Buffer.from(messageBase64, "base64");
  signed.push(messageBase64);
  return sign(null, message, privateKey).toString("base64");
}

/** A compact-u16 at `at`: [value, the offset after it]. */
function compactU16(bytes, at) {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++];
    value |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) return [value, at];
  }
}

/** This process's own signing of a server's transaction (as a wallet elsewhere, e.g. a phone, would). */
function signHere(transactionBase64) {
  const bytes = Buffer.from(transactionBase64, "base64");
  const [count, start] = compactU16(bytes, 0);
  const message = bytes.subarray(start + 64 * count);
  // The wallet's place among the signers: first when it pays the fee, after the sponsor when
  // the utility does.
  const required = message[0];
  const [, keysAt] = compactU16(message, 3);
  let index = -1;
  for (let i = 0; i < required && index < 0; i++) if (message.subarray(keysAt + 32 * i, keysAt + 32 * i + 32).equals(publicKey)) index = i;
  assert.ok(index >= 0 && index < count, "the wallet is one of the transaction's signers");
  Buffer.from(signMessage(message.toString("base64")), "base64").copy(bytes, start + 64 * index);
  return bytes.toString("base64");
}

/* ------------------------------------------------------------------ */
/* The wallet in the page: Wallet Standard, registered by the protocol */
/* ------------------------------------------------------------------ */

const ICON = `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#5b3cc4"/><path d="M9 11h14v10H9z" fill="#fff"/><circle cx="19" cy="16" r="2" fill="#5b3cc4"/></svg>').toString("base64")}`;

/**
 * Runs in every page before its own scripts (page.addInitScript): a Wallet Standard wallet named
 * "Test Wallet" whose `solana:signTransaction` has this process sign the message
 * (`__testWalletSign`) and puts the signature at the wallet's signer index. It registers itself
 * as @wallet-standard/wallet's registerWallet does: a register-wallet event now, and again when
 * the app announces app-ready.
 */
function injectWallet({ address, publicKey, icon }) {
  const key = Uint8Array.from(publicKey);
  const chains = ["solana:localnet", "solana:devnet", "solana:mainnet"];
  const account = Object.freeze({ address, publicKey: key, chains, features: ["solana:signTransaction"], label: "Test account" });
  const TRUSTED = "test-wallet.trusted"; // this site was approved once: silent connects succeed
  const trusted = (value) => {
    try {
      if (value === undefined) return localStorage.getItem(TRUSTED) === "yes";
      if (value) localStorage.setItem(TRUSTED, "yes");
      else localStorage.removeItem(TRUSTED);
    } catch {
      return false; // about:blank and the like: no storage
    }
    return value;
  };
  let accounts = [];
  const listeners = new Set();
  const changed = () => listeners.forEach((listener) => listener({ accounts: accounts.slice() }));
  const toBase64 = (bytes) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  const compact = (bytes, at) => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      value |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) return [value, at];
    }
  };

  async function signOne({ account: who, transaction }) {
    if (!who || who.address !== address || !accounts.length) throw new Error("this account is not connected");
    // A legacy transaction: compact-u16 signature count, the 64-byte signatures, then the message.
    const tx = Uint8Array.from(transaction);
    const [count, start] = compact(tx, 0);
    const message = tx.slice(start + 64 * count);
    const header = message[0] & 0x80 ? 1 : 0; // a versioned message starts with its version byte
    const required = message[header];
    const [keys, keysAt] = compact(message, header + 3);
    let index = -1;
    for (let i = 0; i < Math.min(required, keys) && index < 0; i++) {
      if (message.slice(keysAt + 32 * i, keysAt + 32 * i + 32).every((b, j) => b === key[j])) index = i;
    }
    if (index < 0 || index >= count) throw new Error("the transaction needs no signature from this wallet");
    const signature = Uint8Array.from(atob(await window.__testWalletSign(toBase64(message))), (c) => c.charCodeAt(0));
    tx.set(signature, start + 64 * index);
    return { signedTransaction: tx };
  }

  const wallet = {
    version: "1.0.0",
    name: "Test Wallet",
    icon,
    chains,
    get accounts() {
      return accounts.slice();
    },
    features: {
      "standard:connect": {
        version: "1.0.0",
        async connect({ silent } = {}) {
          if (silent && !trusted()) return { accounts: [] };
          trusted(true);
          accounts = [account];
          changed();
          return { accounts: accounts.slice() };
        },
      },
      "standard:disconnect": {
        version: "1.0.0",
        async disconnect() {
          trusted(false);
          accounts = [];
          changed();
        },
      },
      "standard:events": {
        version: "1.0.0",
        on(event, listener) {
          if (event !== "change") return () => {};
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      },
      "solana:signTransaction": {
        version: "1.0.0",
        supportedTransactionVersions: ["legacy", 0],
        async signTransaction(...inputs) {
          const outputs = [];
          for (const input of inputs) outputs.push(await signOne(input));
          return outputs;
        },
      },
    },
  };

  const callback = ({ register }) => register(wallet);
  try {
    window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: callback }));
  } catch (error) {
    console.error("Test Wallet could not register", error);
  }
  try {
    window.addEventListener("wallet-standard:app-ready", ({ detail: api }) => callback(api));
  } catch (error) {
    console.error("Test Wallet could not listen for the app", error);
  }
}

/** withPage (support.mjs) with the Test Wallet in every page. */
const withWallet = (use) => withPage(use, { init: injectWallet, initArg: { address: ADDRESS, publicKey: [...publicKey], icon: ICON }, expose: { __testWalletSign: signMessage } });

/* ------------------------------------------------------------------ */
/* The server: `deu serve` over a grid set up with the deu CLI         */
/* ------------------------------------------------------------------ */

/** The meter gateways' public keys (their keypairs sign the readings). */
const gateways = {};

before(async () => {
  await startServe({
    tmpPrefix: "deu-wallet-",
    setup: async ({ dir }) => {
      // The utility: the grid's admin and payment oracle, and resident "utility" who owns the pole.
      await keygen("admin");
      await deu("admin", ["airdrop", "10"]);
      for (const gateway of ["pole-gw", "roof-gw"]) {
        gateways[gateway] = await keygen(gateway);
        await deu("admin", ["airdrop", "1", gateways[gateway]]);
      }
      // No notice: the roof installed later earns from its first hour (the notice and the
      // owner's veto are tested on the demo's grid, app.test.mjs, and in app/tests/wallet.rs).
      // No notice and no card hold: this test's story is the wallet's (the hold has its own tests).
      await deu("admin", ["grid", "init", "--notice-hours", "0", "--card-hold-days", "0"]);
      await deu("admin", ["resident", "register", TAKEN]);
      const pole = await deu("admin", ["meter", "register", POLE, "--kind", "pole", "--owner", TAKEN, "--gateway", gateways["pole-gw"], "--label", "Mill Lane light", "--lat", "10.001", "--lon", "-84.002"]);
      assert.equal(pole.connected, false, `a new pole starts dark: ${JSON.stringify(pole)}`);
      // The resident's wallet holds no SOL, as a card-paying resident's does not: the
      // utility's sponsor pays the fees and rent of its acts (deu serve --sponsor-keypair).
      const sponsor = await keygen("sponsor");
      await deu("admin", ["airdrop", "2", sponsor]);
      return { env: { DEU_SPONSOR_KEYPAIR: join(dir, "sponsor.json") } };
    },
  });
  const { data: state } = await api("/api/state");
  assert.equal(state.demo, false, "deu serve holds no resident's keys");
  assert.equal(state.chain, "solana:localnet");
  const { data: payments } = await api("/api/payments");
  assert.equal(payments.custody, false);
  assert.equal(payments.configured, true, JSON.stringify(payments));
  await launchBrowser(`; the wallet is ${ADDRESS}`);
}, { timeout: STARTUP_MS + 120_000 });

after(stopAll, { timeout: 90_000 });

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

const text = async (page, selector) => ((await page.locator(selector).textContent()) || "").trim();
/** A coin amount's exact value as the page keeps it (data-k: "15.990000 k"); it shows it rounded. */
const kText = async (page, selector) => (await page.locator(selector).getAttribute("data-k")) || "";

/** Waits (bounded) until `fn(arg)` is true in the page; fails with `what` otherwise. */
async function until(page, what, fn, arg, timeout = STEP_MS) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 200 });
  } catch (error) {
    assert.fail(`${what} — not within ${timeout / 1000} s (${error.message.split("\n")[0]})`);
  }
}

/** Waits until the server says so (bounded), polling `read()`; returns its last answer. */
async function untilApi(what, read, check, timeout = WEBHOOK_MS) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await read();
    if (check(last)) return last;
    await sleep(300);
  }
  assert.fail(`${what} — not within ${timeout / 1000} s: ${JSON.stringify(last)}`);
}

async function residentNow(id = RESIDENT) {
  const { status, data } = await api(`/api/residents/${id}`);
  assert.equal(status, 200, JSON.stringify(data));
  return data;
}

async function meterNow(id) {
  const { status, data } = await api(`/api/meters/${id}`);
  assert.equal(status, 200, JSON.stringify(data));
  return data;
}

/** "50.000000 k" from millionths. */
const k = (u) => `${u / 1_000_000n}.${String(u % 1_000_000n).padStart(6, "0")} k`;

const barState = (page) => page.locator("#wallet-bar").getAttribute("data-state");

/** Connects the Test Wallet from the header, unless the page reconnected it silently. */
async function connect(page) {
  await until(page, "the wallet bar knows the server's mode and the wallets", () => ["disconnected", "connected"].includes(document.querySelector("#wallet-bar")?.dataset.state));
  if ((await barState(page)) === "connected") return;
  await page.click("#wallet-connect");
  await page.click('.wallet-choice[data-wallet="Test Wallet"]');
  await until(page, "the wallet bar shows the connected address", () => document.querySelector("#wallet-bar").dataset.state === "connected");
}

/** Opens the resident page with the wallet connected and known as the resident's signer. */
async function openResident(page, id = RESIDENT) {
  await page.goto(url(`/resident.html?id=${id}`));
  await connect(page);
  await until(page, "the page shows the coins, the buy/sell forms, and the wallet signs for the resident", (who) => {
    const amount = (sel) => /^\d+\.\d{6} k$/.test(document.querySelector(sel)?.dataset.k || "");
    return amount("#total") && !document.querySelector("#trade").hidden && window.gridWallet.owns(who);
  }, id);
}

/** The rendered history: each entry's text, newest first. */
const historyTexts = (page) => page.$$eval("#history li", (items) => items.map((li) => li.textContent.replace(/\s+/g, " ").trim()));

/** Counts the page's requests to `path` (ending) while `run()` runs. */
async function requestsTo(page, path, run) {
  const seen = [];
  const count = (request) => {
    if (new URL(request.url()).pathname === path) seen.push(request.method());
  };
  page.on("request", count);
  try {
    await run();
  } finally {
    page.off("request", count);
  }
  return seen;
}

async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, `wallet-${name}`);
}

/* ------------------------------------------------------------------ */
/* Tests (in order: each one builds on the chain state the previous left) */
/* ------------------------------------------------------------------ */

test("no wallet in the browser: the header says so plainly, and nothing else changes", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    // The page's reads of /api/state are held until the first paint has been checked: until
    // the server says this is the demo, the clock must not offer to move (the wallet bar and
    // the map read the state separately, so either may learn the mode first).
    let release;
    const held = new Promise((resolve) => (release = resolve));
    await page.route("**/api/state", async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(url("/"), { waitUntil: "domcontentloaded" });
    assert.equal(await page.locator("#clock").isDisabled(), true, "before the server's state arrives, the clock does not move");
    release();
    await until(page, "the wallet bar says no wallet was found", () => document.querySelector("#wallet-bar")?.dataset.state === "none");
    await until(page, "the map shows the grid's hour", () => !/…/.test(document.querySelector("#clock").textContent));
    assert.equal(await text(page, "#wallet-bar"), NO_WALLET);
    assert.ok(await page.locator("#wallet-card").isVisible(), "the map's wallet card shows in serve mode");
    assert.match(await text(page, "#wallet-intro"), /No Solana wallet found/);
    assert.equal(await page.locator("#join-form").isVisible(), false, "nothing to join with");
    assert.equal(await page.locator("#clock").isDisabled(), true, "the clock only moves in the demo");
    assert.match(await page.locator("#clock").getAttribute("title"), /only moves in the demo/);
    await shot(page, "no-wallet");
  });
});

test("join: the Test Wallet connects through Wallet Standard; a taken id is refused with the server's sentence; a new id registers", { timeout: TEST_MS }, async () => {
  await withWallet(async (page) => {
    await page.goto(url("/"));
    await until(page, "the wallet bar offers to connect", () => document.querySelector("#wallet-bar")?.dataset.state === "disconnected");
    assert.ok(await page.locator("#wallet-bar").isVisible());
    await page.click("#wallet-connect");
    const choices = await page.$$eval(".wallet-choice", (buttons) => buttons.map((b) => ({ name: b.textContent.trim(), icon: b.querySelector("img")?.getAttribute("src") || "" })));
    assert.deepEqual(choices, [{ name: "Test Wallet", icon: ICON }], "the detected wallets, with their names and icons");
    await shot(page, "choose");
    await page.click('.wallet-choice[data-wallet="Test Wallet"]');
    await until(page, "connected", () => document.querySelector("#wallet-bar").dataset.state === "connected");
    assert.equal(await text(page, "#wallet-address"), `${ADDRESS.slice(0, 4)}…${ADDRESS.slice(-4)}`);
    assert.ok((await page.locator("#wallet-address").getAttribute("title")).includes(ADDRESS), "the whole address in its title");
    await until(page, "the join form shows for a wallet with no resident", () => !document.querySelector("#join-form").hidden);
    assert.match(await text(page, "#wallet-intro"), /not a resident yet/);

    // A taken id: the server's sentence, no signature asked for, nothing changed.
    const residentsBefore = (await api("/api/state")).data.residents.map((r) => r.id);
    const signedBefore = signed.length;
    await page.fill("#join-id", TAKEN);
    await page.click('#join-form button[type="submit"]');
    await until(page, "the refusal shows", () => document.querySelector("#join-message").dataset.kind === "error");
    assert.equal(await text(page, "#join-message"), `Resident '${TAKEN}' is taken: choose another id.`);
    assert.equal(signed.length, signedBefore, "a refused request asks the wallet for nothing");
    assert.deepEqual((await api("/api/state")).data.residents.map((r) => r.id), residentsBefore, "no resident was added");
    assert.deepEqual((await api(`/api/wallets/${ADDRESS}`)).data.residents, [], "the wallet still signs for nobody");
    assert.equal(new URL(page.url()).pathname, "/", "still on the map");
    await shot(page, "join-refused");

    // A new id: the wallet signs the registration, and the resident page opens.
    await page.fill("#join-id", RESIDENT);
    await Promise.all([page.waitForURL((u) => u.pathname === "/resident.html" && u.searchParams.get("id") === RESIDENT, { timeout: STEP_MS }), page.click('#join-form button[type="submit"]')]);
    assert.equal(signed.length, signedBefore + 1, "one signature: the registration");
    assert.deepEqual((await api(`/api/wallets/${ADDRESS}`)).data.residents, [RESIDENT]);
    const resident = await residentNow();
    assert.equal(resident.owner, ADDRESS, "the wallet is the resident's authority");
    // The next page reconnected the remembered wallet without asking.
    await until(page, "the resident page reconnects the wallet silently", (who) => document.querySelector("#wallet-bar")?.dataset.state === "connected" && window.gridWallet.owns(who), RESIDENT);
    await until(page, "the resident page shows the wallet as owner", (a) => document.querySelector("#owner").textContent.trim() === a, ADDRESS);
    await shot(page, "resident");

    // Back on the map: a link to the wallet's resident, no join form.
    await page.goto(url("/"));
    await until(page, "the map lists the wallet's resident", (who) => document.querySelector(`#wallet-residents a[href="resident.html?id=${who}"]`) !== null, RESIDENT);
    assert.equal(await page.locator("#join-form").isVisible(), false);
    await shot(page, "map");

    // Disconnect: the page forgets the wallet, and the next page does not reconnect it.
    await page.click("#wallet-disconnect");
    await until(page, "the bar offers to connect again", () => document.querySelector("#wallet-bar").dataset.state === "disconnected" && document.querySelector("#wallet-residents").hidden);
    assert.match(await text(page, "#wallet-intro"), /^Connect your Solana wallet/);
    await page.reload();
    await until(page, "the wallet bar is ready", () => document.querySelector("#wallet-bar")?.dataset.state === "disconnected");
    await page.evaluate(() => window.gridWallet.ready);
    assert.equal(await barState(page), "disconnected", "a disconnected wallet stays disconnected on the next page");
  });
});

test("buy: coins through the sandbox checkout", { timeout: TEST_MS }, async () => {
  await withWallet(async (page) => {
    await openResident(page);
    await page.fill("#buy-usd", "3");
    await Promise.all([page.waitForURL((u) => u.port === server.sandboxPort && /^\/c\/pay\/cs_test_\w+$/.test(u.pathname), { timeout: STEP_MS }), page.click('#buy-form button[type="submit"]')]);
    await page.fill("#card-number", GOOD_CARD);
    await page.fill("#card-expiry", "12 / 34");
    await page.fill("#card-cvc", "123");
    await Promise.all([page.waitForURL((u) => u.origin === server.base && u.pathname === "/resident.html", { timeout: STEP_MS }), page.click("#pay")]);
    await until(page, "the purchase's 30 k show", () => (document.querySelector("#total").dataset.k || "") === "30.000000 k", undefined, WEBHOOK_MS);
    await until(page, "the purchase is in the history", () => document.querySelector('#history li[data-kind="fiat"]') !== null, undefined, WEBHOOK_MS);
    assert.equal((await residentNow()).balance_k, "30.000000");
  });
});

test("fund: the wallet signs a funding of the dark pole, which reconnects", { timeout: TEST_MS }, async () => {
  await withWallet(async (page) => {
    assert.equal((await meterNow(POLE)).connected, false, "the pole is dark");
    await openResident(page);
    await page.fill("#fund-meter", POLE);
    await page.fill("#fund-amount", "5");
    // The Solana Pay request stays at hand for a phone.
    const phone = page.locator(".pay-hint a");
    assert.ok(await phone.isVisible(), "the Solana Pay link shows as the second way");
    const link = await phone.getAttribute("href");
    assert.equal(link, `solana:${encodeURIComponent(`${server.base}/api/pay/fund?from=${RESIDENT}&meter=${POLE}&amount_k=5`)}`);

    const signedBefore = signed.length;
    const custodial = await requestsTo(page, "/api/fund", async () => {
      await page.click('#fund-form button[type="submit"]');
      await until(page, "the funding's outcome shows", () => !document.querySelector("#fund-form").hasAttribute("aria-busy") && ["ok", "error"].includes(document.querySelector("#message").dataset.kind));
    });
    const message = await text(page, "#message");
    assert.equal(await page.locator("#message").getAttribute("data-kind"), "ok", message);
    assert.match(message, new RegExp(`^Funded ${POLE} with 5 k, signed by your wallet \\(tx \\w{8}…\\)\\. It now holds 5\\.000000 k and is connected\\.$`));
    assert.deepEqual(custodial, [], "the page never asked the server to sign (POST /api/fund)");
    assert.equal(signed.length, signedBefore + 1, "one signature: the funding");

    const pole = await meterNow(POLE);
    assert.equal(pole.connected, true, "the pole is lit again");
    assert.equal(pole.balance_k, "5.000000");
    assert.equal((await residentNow()).balance_k, "25.000000");
    await until(page, "the total and the history follow", () => (document.querySelector("#total").dataset.k || "") === "25.000000 k" && document.querySelector('#history li[data-kind="funded"]') !== null);
    await shot(page, "funded");

    await page.goto(url(`/meter.html?id=${POLE}`));
    await until(page, "the meter page shows the pole connected and its funder", (who) => document.querySelector("#state").textContent.trim() === "connected" && document.querySelector(`#funders li[data-funder="${who}"]`) !== null, RESIDENT);
    await shot(page, "pole");
  });
});

test("sell: the wallet binds the connected account it onboarded, signs the sale, and it is transferred; a sale signed elsewhere is cancelled", { timeout: TEST_MS }, async () => {
  await withWallet(async (page) => {
    await openResident(page);
    assert.equal(await page.locator("#sell-sale-field").isVisible(), false, "no sale number to type");
    assert.match(await text(page, "#sell-signing"), /connected wallet signs each sale/);
    // Get paid: the processor's hosted onboarding, then the wallet binds the account.
    await Promise.all([page.waitForURL((u) => u.port === server.sandboxPort && u.pathname.startsWith("/connect/onboard/"), { timeout: STEP_MS }), page.click("#payout-onboard")]);
    await Promise.all([page.waitForURL((u) => u.origin === server.base && u.pathname === "/resident.html", { timeout: STEP_MS }), page.click("#submit")]);
    await until(page, "the onboarded account is offered", () => /••6789/.test(document.querySelector("#payout-ready")?.textContent || ""), undefined, WEBHOOK_MS);
    let signedBefore = signed.length;
    await page.click("#payout-bind");
    await until(page, "the account is bound", () => (document.querySelector("#payout-status").dataset.account || "").startsWith("acct_"), undefined, WEBHOOK_MS);
    assert.equal(signed.length, signedBefore + 1, "the wallet signed the binding");
    const account = (await residentNow()).payout_account;
    assert.match(account, /^acct_\w+$/);
    await until(page, "the sell form names the account", (want) => document.querySelector("#sell-destination").textContent === want, `Paid to ${account} (STRIPE TEST BANK ••6789).`);

    signedBefore = signed.length;
    await page.fill("#sell-usd", "1.00");
    const [response] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === "/api/sell" && r.request().method() === "POST"), page.click('#sell-form button[type="submit"]')]);
    assert.deepEqual(response.request().postDataJSON(), { resident: RESIDENT, usd: "1.00", sale: 0 }, "the transfer asked for the signed sale, naming no destination");
    await until(page, "the sale's outcome shows", () => !document.querySelector("#sell-form").hasAttribute("aria-busy") && ["ok", "error"].includes(document.querySelector("#sell-message").dataset.kind));
    const said = await text(page, "#sell-message");
    assert.equal(await page.locator("#sell-message").getAttribute("data-kind"), "ok", said);
    assert.match(said, new RegExp(`^Sold: \\$1\\.00 transferred to ${account} \\(STRIPE TEST BANK ••6789\\) \\(transfer tr_\\w+\\); 10\\.000000 k burned\\.`));
    assert.equal(signed.length, signedBefore + 1, "one signature: the sale");
    await until(page, "the sale shows in the history and the total", () => [...document.querySelectorAll('#history li[data-kind="sale"]')].some((li) => li.textContent.includes("transferred")) && (document.querySelector("#total").dataset.k || "") === "15.000000 k", undefined, WEBHOOK_MS);
    assert.equal((await residentNow()).balance_k, "15.000000");
    await shot(page, "sold");

    // A link that names where the dollars go is refused: no transaction to sign.
    const phishing = await api(`/api/pay/sell?from=${RESIDENT}&amount_k=2&to=acct_attacker`, { account: ADDRESS });
    assert.equal(phishing.status, 400, JSON.stringify(phishing.data));
    assert.equal(phishing.data.transaction, undefined);

    // A sale signed elsewhere (a phone, through the same transaction request) that nobody sent
    // for its transfer: it waits, and the page offers to cancel it.
    const { status, data: requested } = await api(`/api/pay/sell?from=${RESIDENT}&amount_k=2`, { account: ADDRESS });
    assert.equal(status, 200, JSON.stringify(requested));
    assert.equal(requested.sale, 1);
    const sent = await api("/api/send", { transaction: signHere(requested.transaction) });
    assert.equal(sent.status, 200, JSON.stringify(sent.data));
    const row = page.locator('#sales-rows tr[data-sale="1"]');
    await until(page, "the waiting sale shows with a Cancel button", () => document.querySelector('#sales-rows tr[data-sale="1"][data-status="requested"] button') !== null && (document.querySelector("#escrow").dataset.k || "") === "2.000000 k");
    assert.equal(await row.locator("button").textContent(), "Cancel");
    assert.equal(await page.locator('#sales-rows tr[data-sale="0"] button').count(), 0, "a paid sale cannot be cancelled");
    await shot(page, "sale-waiting");
    await row.locator("button").click();
    await until(page, "the cancellation's outcome shows", () => ["ok", "error"].includes(document.querySelector("#sell-message").dataset.kind) && !document.querySelector("#sell-message").textContent.includes("Waiting"));
    assert.equal(await text(page, "#sell-message"), "Sale 1 cancelled: its 2.000000 k are back in your coins.");
    await until(page, "the coins are back", () => (document.querySelector("#escrow").dataset.k || "") === "0.000000 k" && (document.querySelector("#total").dataset.k || "") === "15.000000 k");
    const after = await residentNow();
    assert.equal(after.escrow_k, "0.000000");
    assert.equal(after.sales.some((s) => s.number === 1 && s.status === "requested"), false, "sale 1 no longer waits");
  });
});

test("collect: a producer meter's earnings go to the resident's coins", { timeout: TEST_MS }, async () => {
  // The utility installs Dana's solar roof; an hour passes with the pole lit and the roof producing.
  await deu("admin", ["meter", "register", ROOF, "--kind", "producer", "--owner", RESIDENT, "--gateway", gateways["roof-gw"], "--label", "Dana's roof"]);
  await deu("pole-gw", ["report", POLE, "1"]);
  await deu("roof-gw", ["report", ROOF, "1"]);
  await deu("admin", ["clock", "advance", "--hours", "2"]);
  const settled = await deu("admin", ["settle"]);
  assert.ok(settled.some((row) => row.state === "settled" && row.paid_k === "0.990000"), JSON.stringify(settled));
  assert.equal((await meterNow(ROOF)).balance_k, "0.990000");

  await withWallet(async (page) => {
    await openResident(page);
    const card = page.locator(`[data-card-meter="${ROOF}"]`);
    await until(page, "the roof's card offers to collect", (id) => document.querySelector(`[data-card-meter="${id}"] button`)?.textContent === "Collect earnings", ROOF);
    assert.match(await card.textContent(), /0\.990000 k earned, waiting to be collected/);
    await shot(page, "collect");
    const signedBefore = signed.length;
    await card.locator("button").click();
    await until(page, "the collection's outcome shows", () => ["ok", "error"].includes(document.querySelector("#meters-message").dataset.kind) && !document.querySelector("#meters-message").textContent.includes("Waiting"));
    assert.equal(await text(page, "#meters-message"), `Collected 0.990000 k earned by ${ROOF} into your coins.`);
    assert.equal(signed.length, signedBefore + 1);
    await until(page, "the coins and the history follow; nothing left to collect", (id) => (document.querySelector("#total").dataset.k || "") === "15.990000 k" && document.querySelector('#history li[data-kind="collected"]') !== null && !document.querySelector(`[data-card-meter="${id}"] button`), ROOF);
    assert.equal((await meterNow(ROOF)).balance_k, "0.000000");
    assert.equal((await residentNow()).balance_k, "15.990000");

    // Nothing left: the server says so, and the wallet is not asked.
    const { status, data } = await api(`/api/pay/collect?meter=${ROOF}`, { account: ADDRESS });
    assert.equal(status, 409);
    assert.equal(data.error, `${ROOF} has no earnings to collect`);
  });
});

test("restart: deu serve stopped and started again shows the same history, read from the chain", { timeout: TEST_MS }, async () => {
  await withWallet(async (page) => {
    const before = (await residentNow()).history;
    const kinds = new Set(before.map((e) => e.kind));
    for (const kind of ["fiat", "funded", "sale", "payout", "collected"]) assert.ok(kinds.has(kind), `a ${kind} entry: ${JSON.stringify(before)}`);
    await openResident(page);
    await until(page, "the page shows every entry", (n) => document.querySelectorAll("#history li[data-kind]").length === n, before.length);
    const shown = await historyTexts(page);
    await shot(page, "history-before");

    await restartServe();
    assert.deepEqual((await residentNow()).history, before, "the API tells the same history");
    await page.reload();
    await until(page, "the wallet reconnects silently after the restart", (who) => document.querySelector("#wallet-bar")?.dataset.state === "connected" && window.gridWallet.owns(who), RESIDENT);
    await until(page, "the page shows every entry again", (n) => document.querySelectorAll("#history li[data-kind]").length === n, before.length);
    assert.deepEqual(await historyTexts(page), shown, "the page shows the same entries");
    assert.equal(await kText(page, "#total"), "15.990000 k");
    assert.equal(units(await kText(page, "#total")), 15_990_000n);
    // People read it rounded, with its dollar value at the grid's price; the exact value on hover.
    assert.equal(await text(page, "#total"), "15.99 k ≈ $1.60");
    assert.equal(await page.locator("#total").getAttribute("title"), "15.990000 k exactly");
    await shot(page, "history-after");
  });
});

test("no SOL: the wallet that registered, funded, sold, cancelled and collected never held a lamport; the sponsor paid", { timeout: TEST_MS }, async () => {
  const rpc = async (method, params) => {
    const response = await fetch(server.rpcUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }), signal: AbortSignal.timeout(STEP_MS) });
    return (await response.json()).result;
  };
  assert.equal((await rpc("getBalance", [ADDRESS])).value, 0, "the resident's wallet holds no SOL");
  // Sponsored, a request says who pays; a transaction it did not build is refused unsigned.
  const { status, data } = await api(`/api/pay/fund?${new URLSearchParams({ from: RESIDENT, meter: POLE, amount_k: "0.01" })}`, { account: ADDRESS });
  assert.equal(status, 200, JSON.stringify(data));
  assert.match(data.message, /\(the utility pays the fee\)$/);
  const foreign = await api("/api/send", { transaction: data.transaction });
  assert.equal(foreign.status, 400, JSON.stringify(foreign.data));
  assert.match(foreign.data.error, /not signed by every signer/);
});

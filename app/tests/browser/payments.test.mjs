// payments.test.mjs — buying and selling coins from the resident page in a real headless Chromium: starts its own `deu demo` with its sandbox payment processor (test mode), pays on the sandbox's checkout page, onboards the resident on the sandbox's hosted Connect onboarding ("Get paid"), sells by transfer to that connected account, and checks what the page, the API and the processor show.
//
// Run: `bash app/tests/browser/setup.sh`, then `node --test app/tests/browser/payments.test.mjs`
// (or `cargo test -p deu --test browser`). Env: DEU_BIN (the deu binary), CHROMIUM (the browser).
import { strict as assert } from "node:assert";
import { after, before, test } from "node:test";

import { api, freePorts, launchBrowser, screenshot, server, sleep, startDemo, STEP_MS, STARTUP_MS, stopAll, TEST_MS, units, url, withPage as withPlainPage } from "./support.mjs";

/** How long the processor's webhook may take to change the resident's coins. */
const WEBHOOK_MS = 20_000;

const RESIDENT = "carlos";
const GOOD_CARD = "4242 4242 4242 4242";
const DECLINED_CARD = "4000 0000 0000 0002";

/** "5.00" or "$0.10" → integer cents. */
function cents(text) {
  const match = /^\s*\$?(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text);
  assert.ok(match, `expected dollars, got ${JSON.stringify(text)}`);
  return BigInt(match[1]) * 100n + BigInt((match[2] || "").padEnd(2, "0"));
}

/** Millionths → "50.000000 k", as the server writes amounts. */
const k = (u) => `${u / 1_000_000n}.${String(u % 1_000_000n).padStart(6, "0")} k`;
/** What `usdCents` buys at `priceCents` per k (rounded down) and what selling it burns (rounded up). */
const bought = (usdCents, priceCents) => (usdCents * 1_000_000n) / priceCents;
const sold = (usdCents, priceCents) => (usdCents * 1_000_000n + priceCents - 1n) / priceCents;

/* ------------------------------------------------------------------ */
/* The server (`deu demo` with its sandbox processor) and the browser  */
/* ------------------------------------------------------------------ */

let price = null; // the grid's coin price, in cents per k

before(async () => {
  const [port, sandboxPort] = await freePorts(2);
  const sandbox = `http://127.0.0.1:${sandboxPort}`;
  await startDemo({
    tmpPrefix: "deu-payments-",
    port,
    args: ["--sandbox-port", String(sandboxPort)],
    fields: { sandbox, sandboxPort: String(sandboxPort) },
    note: `, sandbox processor on ${sandbox},`,
  });

  const { status, data } = await api("/api/payments");
  assert.equal(status, 200, JSON.stringify(data));
  assert.equal(data.configured, true, `the demo should have payments configured: ${JSON.stringify(data)}`);
  assert.equal(data.test_mode, true, "the demo's processor is in test mode");
  assert.equal(data.processor, server.sandbox, "the demo talks to its own sandbox");
  const { data: state } = await api("/api/state");
  assert.equal(data.coin_price_usd, state.grid.coin_price_usd, "the payment settings use the grid's coin price");
  price = cents(state.grid.coin_price_usd);
  assert.ok(price > 0n, `coin price ${state.grid.coin_price_usd}`);

  await launchBrowser(`; coin price $${state.grid.coin_price_usd} per k`);
}, { timeout: STARTUP_MS + 60_000 });

after(stopAll, { timeout: 60_000 });

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

async function residentNow(id = RESIDENT) {
  const { status, data } = await api(`/api/residents/${id}`);
  assert.equal(status, 200, JSON.stringify(data));
  return data;
}

async function deliveries() {
  const { status, data } = await api("/api/payments/deliveries");
  assert.equal(status, 200, JSON.stringify(data));
  return data.deliveries;
}

/** The checkout sessions and payouts the sandbox processor's dashboard lists. */
async function sandboxIds() {
  const response = await fetch(`${server.sandbox}/`, { signal: AbortSignal.timeout(STEP_MS) });
  assert.equal(response.status, 200, "the sandbox dashboard answers");
  const html = await response.text();
  const table = (id) => {
    const match = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(html);
    assert.ok(match, `the sandbox dashboard has a #${id} table`);
    return match[1];
  };
  const ids = (text, pattern) => [...new Set([...text.matchAll(pattern)].map((m) => m[0]))].sort();
  return { sessions: ids(table("sessions"), /cs_test_[A-Za-z0-9]+/g), transfers: ids(table("transfers"), /tr_[A-Za-z0-9]+/g) };
}

/**
 * Runs in every page before its own scripts: records each text the watched elements take and
 * whether a form's button was seen disabled while the form was busy, so that short-lived states
 * (the checkout's "received" line, coins locked for two seconds) can be asserted afterwards.
 */
function recorder() {
  const seen = { texts: {}, busy: {} };
  window.__seen = seen;
  const watch = { status: "#status", total: "#total", locked: "#locked", escrow: "#escrow", buy: "#buy-message", sell: "#sell-message" };
  const record = () => {
    for (const [name, selector] of Object.entries(watch)) {
      const node = document.querySelector(selector);
      if (!node) continue;
      const list = (seen.texts[name] ||= []);
      // Coin amounts by their exact value (data-k); other texts as shown.
      const text = node.dataset.k || node.textContent.trim();
      if (list[list.length - 1] !== text) list.push(text);
    }
    for (const form of ["buy-form", "sell-form"]) {
      const node = document.getElementById(form);
      const button = node && node.querySelector('button[type="submit"]');
      if (button && button.disabled && node.getAttribute("aria-busy") === "true") seen.busy[form] = true;
    }
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

const seenTexts = (page, name) => page.evaluate((n) => (window.__seen && window.__seen.texts[n]) || [], name);

/** withPage (support.mjs), with the recorder in every page. */
const withPage = (use) => withPlainPage(use, { init: recorder });

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

/** Opens the resident page and waits until the coins are shown and the buy and sell forms are ready. */
async function openResident(page, id = RESIDENT) {
  await page.goto(url(`/resident.html?id=${id}`));
  await until(page, "the resident page shows its coins and the buy/sell forms", () => {
    const amount = (sel) => /^\d+\.\d{6} k$/.test(document.querySelector(sel)?.dataset.k || "");
    return amount("#total") && amount("#escrow") && amount("#locked") && !document.querySelector("#trade").hidden && document.querySelector("#payments").dataset.configured === "true";
  });
}

/** Waits until the page shows `total` (millionths) as #total and `locked` as #locked. */
async function untilCoins(page, what, total, locked, timeout = WEBHOOK_MS) {
  await until(page, `${what}: #total ${k(total)} and #locked ${k(locked)}`, ([t, l]) => (document.querySelector("#total").dataset.k || "") === t && (document.querySelector("#locked").dataset.k || "") === l, [k(total), k(locked)], timeout);
}

/** The history entries of `kind` whose text contains `needle`. */
const historyWith = (page, kind, needle) => page.$$eval(`#history li[data-kind="${kind}"]`, (items, n) => items.map((li) => li.textContent.replace(/\s+/g, " ").trim()).filter((t) => t.includes(n)), needle);

/**
 * Fills `#sell-form` and submits it (with a double click: the page must send one request only).
 * Returns { status, kind, message, requests }.
 */
async function submitSale(page, usd) {
  await page.fill("#sell-usd", usd);
  const requests = [];
  const count = (request) => {
    if (request.url().endsWith("/api/sell") && request.method() === "POST") requests.push(request.postDataJSON());
  };
  page.on("request", count);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/sell") && r.request().method() === "POST"), page.locator('#sell-form button[type="submit"]').dblclick()]);
  await until(page, "the sell form is idle again and #sell-message shows the outcome", () => !document.querySelector("#sell-form").hasAttribute("aria-busy") && document.querySelector("#sell-message").textContent.trim() !== "");
  await sleep(300); // a second request, if the page sent one, would have gone out by now
  page.off("request", count);
  const message = page.locator("#sell-message");
  return { status: response.status(), kind: await message.getAttribute("data-kind"), message: (await message.textContent()).trim(), requests };
}

/** Submits `#buy-form` with `usd` and waits for the error the page shows (for amounts the server refuses). */
async function submitRefusedPurchase(page, usd) {
  await page.fill("#buy-usd", usd);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/buy") && r.request().method() === "POST"), page.locator('#buy-form button[type="submit"]').click()]);
  await until(page, "the buy form is idle again and #buy-message shows the outcome", () => !document.querySelector("#buy-form").hasAttribute("aria-busy") && document.querySelector("#buy-message").textContent.trim() !== "");
  const message = page.locator("#buy-message");
  return { status: response.status(), kind: await message.getAttribute("data-kind"), message: (await message.textContent()).trim() };
}

/** A full-page screenshot, taken from the top (the sticky header would otherwise sit mid-page). */
async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, `payments-${name}`);
}

/* ------------------------------------------------------------------ */
/* Tests (in order: each one builds on the chain state the previous left) */
/* ------------------------------------------------------------------ */

test("buy: $5 through the sandbox checkout — a declined card, then the test card — adds exactly the coins for $5", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const note = await text(page, "#test-mode");
    assert.ok(note.includes("Test mode: no real money. Test card 4242 4242 4242 4242 (4000 0000 0000 0259 pays, then is disputed); the processor's onboarding takes its test bank account 000123456789."), `test mode notice: ${JSON.stringify(note)}`);
    assert.equal(await text(page, "#buy-hold"), "Coins bought by card fund meters at once and can be sold after 1 h.", "the card hold is told before buying");
    assert.ok(await page.locator("#test-mode").isVisible(), "the test mode notice is visible");
    assert.equal(await text(page, "#coin-price"), `1 k costs $${(await api("/api/payments")).data.coin_price_usd}.`);
    const totalBefore = units(await kText(page, "#total"));
    const apiBefore = await residentNow();
    assert.equal(units(apiBefore.balance_k), totalBefore, "#total is the resident's balance");
    const historyBefore = apiBefore.history.length;
    await shot(page, "resident");

    const coins = bought(500n, price);
    await page.fill("#buy-usd", "5");
    await until(page, `the buy quote shows what $5.00 buys (${k(coins)})`, (want) => document.querySelector("#buy-quote").textContent.includes(want), `$5.00 buys ${k(coins)}`);

    const sessionsBefore = (await sandboxIds()).sessions;
    const opened = Date.now();
    await Promise.all([
      page.waitForURL((u) => u.port === server.sandboxPort && /^\/c\/pay\/cs_test_\w+$/.test(u.pathname), { timeout: STEP_MS }),
      page.locator('#buy-form button[type="submit"]').click(),
    ]);
    const sessionId = new URL(page.url()).pathname.split("/").pop();
    console.log(`buy: checkout ${sessionId} opened in ${Date.now() - opened} ms`);
    const sessionsAfter = (await sandboxIds()).sessions;
    assert.deepEqual(sessionsAfter, [...sessionsBefore, sessionId].sort(), "exactly one new checkout session at the processor");

    // The sandbox's hosted checkout: test mode, $5.00.
    assert.ok(await page.locator("#test-mode").isVisible(), "the checkout shows its TEST MODE banner");
    assert.match(await text(page, "#test-mode"), /TEST MODE/);
    assert.equal(await text(page, "#amount"), "$5.00");
    await shot(page, "checkout");

    // A declined card: the checkout shows the error and stays open.
    await page.fill("#card-number", DECLINED_CARD);
    await page.fill("#card-expiry", "12 / 34");
    await page.fill("#card-cvc", "123");
    await Promise.all([page.waitForResponse((r) => r.url().includes(`/c/pay/${sessionId}`) && r.request().method() === "POST"), page.click("#pay")]);
    await page.waitForSelector("#error");
    assert.match(await text(page, "#error"), /declined/i);
    const checkoutUrl = new URL(page.url());
    assert.equal(checkoutUrl.port, server.sandboxPort, `still on the sandbox: ${page.url()}`);
    assert.ok(checkoutUrl.pathname.startsWith(`/c/pay/${sessionId}`), `still on the checkout: ${page.url()}`);
    await shot(page, "declined");
    assert.equal(units((await residentNow()).balance_k), totalBefore, "a declined card adds no coin");

    // The test card: back to the resident page.
    await page.fill("#card-number", GOOD_CARD);
    await page.fill("#card-expiry", "12 / 34");
    await page.fill("#card-cvc", "123");
    const paid = Date.now();
    await Promise.all([page.waitForURL((u) => u.origin === server.base && u.pathname === "/resident.html", { timeout: STEP_MS }), page.click("#pay")]);
    await until(page, "the page drops ?checkout= from its address and keeps the resident", () => {
      const q = new URLSearchParams(location.search);
      return !q.has("checkout") && q.get("id") === "carlos";
    });
    const statuses = await seenTexts(page, "status");
    assert.ok(statuses.includes("Payment received — your coins appear as soon as the processor confirms it."), `#status showed: ${JSON.stringify(statuses)}`);

    // The webhook mints the coins: the live page shows them without a reload.
    await untilCoins(page, "the purchase's coins arrive", totalBefore + coins, 0n);
    console.log(`buy: ${k(coins)} shown ${Date.now() - paid} ms after paying`);
    await until(page, "#status confirms the payment", (want) => document.querySelector("#status").textContent.trim() === want, `Payment confirmed: ${k(coins)} added to your coins.`);
    // The processor delivered checkout.session.completed; it was applied exactly once.
    const mine = (await deliveries()).filter((d) => (d.detail || "").includes(sessionId));
    const applied = mine.filter((d) => d.result === "applied");
    assert.equal(applied.length, 1, `one applied delivery for ${sessionId}: ${JSON.stringify(mine)}`);
    assert.equal(applied[0].event_type, "checkout.session.completed");
    assert.equal(applied[0].resident, RESIDENT);
    assert.ok(applied[0].signature, "the mint's transaction signature is logged");

    // The history, read from the chain, names the processor's payment (the checkout's
    // PaymentIntent), with the mint's transaction, and when the coins can be sold.
    const paymentId = /payment (pi_[A-Za-z0-9]+)/.exec(applied[0].detail)[1];
    const entries = await historyWith(page, "fiat", paymentId);
    assert.equal(entries.length, 1, `one purchase in the history for ${paymentId}`);
    assert.ok(entries[0].includes(`bought ${k(coins)} for $5.00 (payment ${paymentId}); sellable from`), `history: ${entries[0]}`);
    // Held from sale for the demo's hour, and the page says until when.
    await until(page, "#held tells the coins on hold", (want) => document.querySelector("#held").textContent.startsWith(want), `${k(coins)} bought by card are on hold until`);
    assert.ok(entries[0].includes("Coins bought with dollars"), `history: ${entries[0]}`);
    const apiAfter = await residentNow();
    assert.equal(units(apiAfter.balance_k), totalBefore + coins);
    assert.equal(apiAfter.history.length, historyBefore + 1, "one history entry: the purchase");
    assert.equal(apiAfter.history[0].signature, applied[0].signature, "the entry is the mint's transaction");
    const sameEvent = (await deliveries()).filter((d) => d.event_id === applied[0].event_id);
    assert.deepEqual(sameEvent.filter((d) => d.result === "applied").length, 1, `event ${applied[0].event_id} applied once: ${JSON.stringify(sameEvent)}`);
    await shot(page, "received");
  });
});

test("get paid: the processor's hosted onboarding, back to the page, the account bound, and the sell form names it", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    await until(page, "Get paid says no account yet", () => document.querySelector("#payout-status").textContent.startsWith("To sell coins for dollars, open a payout account"));
    await until(page, "the sell form says where its dollars go", () => document.querySelector("#sell-destination").textContent.startsWith("Bind a payout account"));
    await shot(page, "get-paid");
    const opened = Date.now();
    await Promise.all([page.waitForURL((u) => u.port === server.sandboxPort && u.pathname.startsWith("/connect/onboard/"), { timeout: STEP_MS }), page.click("#payout-onboard")]);
    console.log(`get paid: onboarding opened in ${Date.now() - opened} ms`);
    assert.ok(await page.locator("#test-mode").isVisible(), "the onboarding shows its TEST MODE banner");
    assert.equal(await page.inputValue("#account-number"), "000123456789", "prefilled with the test bank account");
    await shot(page, "onboarding");
    await Promise.all([page.waitForURL((u) => u.origin === server.base && u.pathname === "/resident.html", { timeout: STEP_MS }), page.click("#submit")]);
    await until(page, "the page drops ?connect= from its address", () => !new URLSearchParams(location.search).has("connect") && new URLSearchParams(location.search).get("id") === "carlos");
    await until(page, "the ready account is offered", () => /••6789/.test(document.querySelector("#payout-ready")?.textContent || ""));
    const account = /(acct_[A-Za-z0-9]+)/.exec(await text(page, "#payout-ready"))[1];
    await page.click("#payout-bind");
    await until(page, "#payout-message says where sales are paid", (want) => document.querySelector("#payout-message").textContent.includes(want), `sales are paid to ${account}`);
    await until(page, "Get paid shows the bound account", (want) => document.querySelector("#payout-status").dataset.account === want, account);
    await until(page, "the sell form names the destination with its bank", (want) => document.querySelector("#sell-destination").textContent === want, `Paid to ${account} (STRIPE TEST BANK ••6789).`);
    assert.equal((await residentNow()).payout_account, account, "bound on chain");
    assert.equal(await page.locator("#payout-pending").isHidden(), true, "a first account needs no notice");
    await shot(page, "bound");
  });
});

test("sell: $1 transferred to the connected account burns exactly the coins for $1", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const account = (await residentNow()).payout_account;
    assert.ok(account, "carlos bound an account");
    await until(page, "the sell form names the destination", () => document.querySelector("#sell-destination").textContent.startsWith("Paid to acct_"));
    const totalBefore = units(await kText(page, "#total"));
    assert.equal(await kText(page, "#locked"), "0.000000 k", "nothing locked before the sale");
    const escrowBefore = await kText(page, "#escrow");
    const coins = sold(100n, price);
    const transfersBefore = (await sandboxIds()).transfers;

    await page.fill("#sell-usd", "1");
    await until(page, `the sell quote shows what $1.00 sells (${k(coins)})`, (want) => document.querySelector("#sell-quote").textContent.includes(want), `$1.00 sells ${k(coins)}`);
    const started = Date.now();
    const outcome = await submitSale(page, "1");
    assert.equal(outcome.status, 200, outcome.message);
    assert.equal(outcome.requests.length, 1, `a double click sends one sale: ${JSON.stringify(outcome.requests)}`);
    assert.deepEqual(outcome.requests[0], { resident: RESIDENT, usd: "1" }, "the page names no destination");
    assert.equal(await page.evaluate(() => window.__seen.busy["sell-form"] === true), true, "the sell button was disabled while the sale was in flight");
    assert.equal(outcome.kind, "ok", outcome.message);
    const said = /^Sold: \$1\.00 transferred to (acct_[A-Za-z0-9]+) \(STRIPE TEST BANK ••6789\) \(transfer (tr_[A-Za-z0-9]+)\); (\S+) k burned\./.exec(outcome.message);
    assert.ok(said, `unexpected #sell-message: ${outcome.message}`);
    assert.equal(said[1], account, "to the bound account");
    const transferId = said[2];
    assert.equal(units(said[3]), coins, "the message shows the coins burned");
    assert.deepEqual((await sandboxIds()).transfers, [...transfersBefore, transferId].sort(), "one new transfer at the processor");

    await untilCoins(page, "the transfer made: nothing locked, the coins burned", totalBefore - coins, 0n);
    console.log(`sell: transfer ${transferId} shown ${Date.now() - started} ms after submitting`);
    assert.equal(await kText(page, "#escrow"), escrowBefore, "escrow is as before");
    await until(page, "the history shows the transfer", (id) => [...document.querySelectorAll('#history li[data-kind="sale"]')].some((li) => li.textContent.includes(`(transfer ${id})`)), transferId, WEBHOOK_MS);
    const entries = await historyWith(page, "sale", transferId);
    assert.ok(entries.some((t) => t.includes(`sold ${k(coins)}: $1.00 transferred (transfer ${transferId})`)), `history shows the transfer: ${JSON.stringify(entries)}`);
    await until(page, "the sales table shows the sale transferred", () => [...document.querySelectorAll("#sales-rows tr")].some((tr) => tr.dataset.status === "paid" && tr.textContent.includes("transferred to your payout account")));

    const apiAfter = await residentNow();
    assert.equal(units(apiAfter.balance_k), totalBefore - coins);
    assert.equal(apiAfter.locked_k, "0.000000");
    // The sale and the processor's transfer.created both record it; whichever comes second
    // finds it done: one delivery, applied or a duplicate, and the coins burned once (above).
    let mine = [];
    for (const deadline = Date.now() + WEBHOOK_MS; Date.now() < deadline; await sleep(200)) {
      mine = (await deliveries()).filter((d) => d.event_type === "transfer.created" && (d.detail || "").includes(transferId));
      if (mine.length) break;
    }
    assert.equal(mine.length, 1, `transfer.created for ${transferId}: ${JSON.stringify(mine)}`);
    assert.ok(["applied", "duplicate"].includes(mine[0].result), `transfer.created for ${transferId}: ${JSON.stringify(mine)}`);
    await shot(page, "sold");
  });
});

test("sell: when the server's answer is lost, the page keeps the sale's number and a retry sends the same sale: one transfer", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const totalBefore = units(await kText(page, "#total"));
    const coins = sold(100n, price);
    const transfersBefore = (await sandboxIds()).transfers.length;
    // The first sale reaches the real server, which signs, locks and transfers it; its answer
    // is lost on the way back and the page sees the server's 503 for an unreachable processor.
    let number = null;
    let intercepted = 0;
    await page.route("**/api/sell", async (route) => {
      if (intercepted++ > 0) return route.continue();
      const real = await (await route.fetch()).json();
      number = real.sale;
      const outage = `the payment processor is unavailable (connection refused); your ${k(coins)} stay locked for this sale: send it again with "sale": ${number}`;
      await route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: outage }) });
    });

    const first = await submitSale(page, "1");
    assert.equal(first.status, 503);
    assert.equal(first.kind, "error", first.message);
    assert.ok(Number.isInteger(number), "the server made sale");
    assert.ok(first.message.includes(`"sale": ${number}`), `#sell-message: ${first.message}`);
    assert.equal(first.requests[0].sale, undefined, "a new sale sends no number");

    // The page remembers the sale, even across a reload, and pins its amount.
    await page.reload();
    await openResident(page);
    const retry = page.locator("#sell-retry");
    assert.equal(await retry.isVisible(), true, "the retry note is shown");
    assert.ok((await retry.textContent()).includes(`(sale ${number})`), `retry note: ${await retry.textContent()}`);
    assert.equal(await page.inputValue("#sell-usd"), "1.00");
    assert.equal(await page.locator("#sell-usd").getAttribute("readonly"), "", "the amount of a sale waiting for a retry cannot change");

    const sent = [];
    page.on("request", (r) => r.url().endsWith("/api/sell") && r.method() === "POST" && sent.push(r.postDataJSON()));
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/sell") && r.request().method() === "POST"), page.click('#sell-form button[type="submit"]')]);
    // The sale was transferred the first time: sent again, it has ended, and nothing more moves.
    const body = await response.json();
    assert.equal(response.status(), 409, JSON.stringify(body));
    assert.match(body.error, /ended/, body.error);
    assert.deepEqual(sent, [{ resident: RESIDENT, usd: "1.00", sale: number }], "the retry sends the remembered sale");
    await until(page, "the retry note is gone", () => document.querySelector("#sell-retry").hidden);
    assert.equal(await page.locator("#sell-usd").getAttribute("readonly"), null, "the amount can be edited again");
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing left to retry");
    await untilCoins(page, "the sale is paid once", totalBefore - coins, 0n);
    assert.equal((await sandboxIds()).transfers.length, transfersBefore + 1, "one transfer for the sale, sent twice");
    await page.unroute("**/api/sell");
  });
});

test("bad input: too small a purchase, a sale beyond the coins one may sell, below the smallest transfer — clear errors, nothing changes", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const before = await residentNow();
    const processorBefore = await sandboxIds();
    const shown = { total: await kText(page, "#total"), escrow: await kText(page, "#escrow"), locked: await kText(page, "#locked") };
    assert.equal(shown.total, `${before.balance_k} k`);

    // Below the smallest purchase: the server refuses, the page stays.
    const small = await submitRefusedPurchase(page, "0.10");
    assert.equal(small.status, 400, small.message);
    assert.equal(small.kind, "error", small.message);
    assert.match(small.message, /between \$0\.50 and \$10000\.00/, small.message);
    assert.equal(new URL(page.url()).pathname, "/resident.html", "still on the resident page");
    console.log(`bad input: buy $0.10 → ${small.status} "${small.message}"`);

    // More than the resident may sell now (the coins just bought are on hold): the quote warns,
    // the program refuses.
    const tooMuch = (units(before.sellable_k) * price) / 1_000_000n + 100n; // cents: $1 more than the sellable coins are worth
    const usd = `${tooMuch / 100n}.${String(tooMuch % 100n).padStart(2, "0")}`;
    await page.fill("#sell-usd", usd);
    await until(page, "the sell quote warns that the resident can sell fewer coins", (want) => {
      const quote = document.querySelector("#sell-quote");
      return quote.classList.contains("warn") && quote.textContent.includes(want);
    }, `You can sell ${before.sellable_k} k now.`);
    const cases = [
      { usd, status: 409, says: /hold has passed|not enough coins/i },
      { usd: "0.50", status: 400, says: /between \$1\.00 and \$10000\.00/ },
    ];
    for (const c of cases) {
      const outcome = await submitSale(page, c.usd);
      const what = `sell $${c.usd}`;
      assert.equal(outcome.status, c.status, `${what}: ${outcome.message}`);
      assert.equal(outcome.kind, "error", `${what}: ${outcome.message}`);
      assert.match(outcome.message, c.says, `${what}: #sell-message`);
      assert.equal(outcome.requests.length, 1, `${what}: one request`);
      console.log(`bad input: ${what} → ${outcome.status} "${outcome.message}"`);
    }
    assert.equal(await page.locator("#sell-retry").isHidden(), true, "no sale waits for a retry");

    // Let a 2 s poll pass: nothing changed on the page, on chain, or at the processor.
    await sleep(2_500);
    assert.deepEqual({ total: await kText(page, "#total"), escrow: await kText(page, "#escrow"), locked: await kText(page, "#locked") }, shown);
    assert.deepEqual((await seenTexts(page, "total")).filter((t) => /k$/.test(t)), [shown.total], "#total never changed");
    const after = await residentNow();
    assert.deepEqual([after.balance_k, after.escrow_k, after.locked_k, after.history.length], [before.balance_k, before.escrow_k, before.locked_k, before.history.length]);
    assert.deepEqual(await sandboxIds(), processorBefore, "no checkout session and no transfer at the processor");
    await shot(page, "errors");
  });
});

test("buy: cancelling the checkout comes back with nothing charged", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const before = await residentNow();
    await page.fill("#buy-usd", "2.50");
    await Promise.all([page.waitForURL((u) => u.port === server.sandboxPort && u.pathname.startsWith("/c/pay/cs_test_")), page.locator('#buy-form button[type="submit"]').click()]);
    assert.equal(await text(page, "#amount"), "$2.50");
    await Promise.all([page.waitForURL((u) => u.origin === server.base && u.pathname === "/resident.html"), page.click("#cancel")]);
    await until(page, "#status says the checkout was cancelled", () => document.querySelector("#status").textContent.trim() === "Checkout cancelled; nothing was charged.");
    await until(page, "the page drops ?checkout= from its address", () => !new URLSearchParams(location.search).has("checkout") && new URLSearchParams(location.search).get("id") === "carlos");
    await openResident(page); // a reload says nothing more
    assert.equal(await text(page, "#status"), "");
    await sleep(2_500);
    const after = await residentNow();
    assert.equal(after.balance_k, before.balance_k, "nothing bought");
    assert.equal(after.history.length, before.history.length);
  });
});

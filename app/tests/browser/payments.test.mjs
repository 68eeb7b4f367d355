// payments.test.mjs — buying and selling coins from the resident page in a real headless Chromium: starts its own `deu demo` with its sandbox payment processor (test mode), pays on the sandbox's checkout page, sells to its test bank accounts, and checks what the page, the API and the processor show.
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
const PAYS = "000123456789";
const FAILS = "000111111116";
const REFUSED = "000999999999"; // not one of the sandbox's test bank accounts

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
  return { sessions: ids(table("sessions"), /cs_test_[A-Za-z0-9]+/g), payouts: ids(table("payouts"), /po_[A-Za-z0-9]+/g) };
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
      const text = node.textContent.trim();
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
    const amount = (sel) => /^\d+\.\d{6} k$/.test(document.querySelector(sel)?.textContent.trim() || "");
    return amount("#total") && amount("#escrow") && amount("#locked") && !document.querySelector("#trade").hidden && document.querySelector("#payments").dataset.configured === "true";
  });
}

/** Waits until the page shows `total` (millionths) as #total and `locked` as #locked. */
async function untilCoins(page, what, total, locked, timeout = WEBHOOK_MS) {
  await until(page, `${what}: #total ${k(total)} and #locked ${k(locked)}`, ([t, l]) => document.querySelector("#total").textContent.trim() === t && document.querySelector("#locked").textContent.trim() === l, [k(total), k(locked)], timeout);
}

/** The history entries of `kind` whose text contains `needle`. */
const historyWith = (page, kind, needle) => page.$$eval(`#history li[data-kind="${kind}"]`, (items, n) => items.map((li) => li.textContent.replace(/\s+/g, " ").trim()).filter((t) => t.includes(n)), needle);

/**
 * Fills `#sell-form` and submits it (with a double click: the page must send one request only).
 * Returns { status, kind, message, requests }.
 */
async function submitSale(page, usd, bank) {
  await page.fill("#sell-usd", usd);
  await page.fill("#sell-bank", bank);
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
    assert.ok(note.includes("Test mode: no real money. Test card 4242 4242 4242 4242; test bank accounts 000123456789 (pays) and 000111111116 (fails)"), `test mode notice: ${JSON.stringify(note)}`);
    assert.ok(await page.locator("#test-mode").isVisible(), "the test mode notice is visible");
    assert.equal(await text(page, "#coin-price"), `1 k costs $${(await api("/api/payments")).data.coin_price_usd}.`);
    const totalBefore = units(await text(page, "#total"));
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

    // The history, read from the chain, names the processor's payment event, with the mint's
    // transaction.
    const eventId = applied[0].event_id;
    const entries = await historyWith(page, "fiat", eventId);
    assert.equal(entries.length, 1, `one purchase in the history for ${eventId}`);
    assert.ok(entries[0].includes(`bought ${k(coins)} for $5.00 (payment ${eventId})`), `history: ${entries[0]}`);
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

test("sell: $1 paid out to the test bank account burns exactly the coins for $1", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const totalBefore = units(await text(page, "#total"));
    assert.equal(await text(page, "#locked"), "0.000000 k", "nothing locked before the sale");
    const escrowBefore = await text(page, "#escrow");
    const coins = sold(100n, price);
    assert.ok(totalBefore >= coins, `carlos holds ${k(totalBefore)}, enough to sell ${k(coins)}`);

    await page.fill("#sell-usd", "1");
    await until(page, `the sell quote shows what $1.00 sells (${k(coins)})`, (want) => document.querySelector("#sell-quote").textContent.includes(want), `$1.00 sells ${k(coins)}`);
    const started = Date.now();
    const outcome = await submitSale(page, "1", PAYS);
    assert.equal(outcome.status, 200, outcome.message);
    assert.equal(outcome.requests.length, 1, `a double click sends one sale: ${JSON.stringify(outcome.requests)}`);
    assert.deepEqual(outcome.requests[0], { resident: RESIDENT, usd: "1", bank_account: PAYS });
    assert.equal(await page.evaluate(() => window.__seen.busy["sell-form"] === true), true, "the sell button was disabled while the sale was in flight");
    assert.equal(outcome.kind, "ok", outcome.message);
    const said = /^Sale started: payout (po_[A-Za-z0-9]+) of \$1\.00 is pending\. (\S+) k are locked until it is paid/.exec(outcome.message);
    assert.ok(said, `unexpected #sell-message: ${outcome.message}`);
    const payoutId = said[1];
    assert.equal(units(said[2]), coins, "the message shows the coins locked");
    assert.ok((await sandboxIds()).payouts.includes(payoutId), `the processor has payout ${payoutId}`);

    // Locked while the processor pays out (about 2 s), then burned.
    await until(page, `#locked showed ${k(coins)} while the payout was pending`, (want) => (window.__seen.texts.locked || []).includes(want), k(coins), 10_000);
    await untilCoins(page, "the payout is paid: nothing locked, the coins burned", totalBefore - coins, 0n);
    console.log(`sell: payout ${payoutId} paid and shown ${Date.now() - started} ms after submitting`);
    assert.equal(await text(page, "#escrow"), escrowBefore, "escrow is as before");
    await until(page, "#sell-message says the payout was paid", (id) => document.querySelector("#sell-message").textContent.trim().startsWith(`Payout ${id} paid: $1.00 sent to your bank account`), payoutId);
    const entries = await historyWith(page, "sale", payoutId);
    assert.ok(entries.some((t) => t.includes(`sold ${k(coins)}: $1.00 paid out (payout ${payoutId})`)), `history shows the payout paid: ${JSON.stringify(entries)}`);
    assert.ok(entries.every((t) => t.includes("Coins sold for dollars")), `titled as a sale: ${JSON.stringify(entries)}`);

    const apiAfter = await residentNow();
    assert.equal(units(apiAfter.balance_k), totalBefore - coins);
    assert.equal(apiAfter.locked_k, "0.000000");
    const applied = (await deliveries()).filter((d) => (d.detail || "").includes(payoutId) && d.result === "applied");
    assert.equal(applied.length, 1, `one applied delivery for ${payoutId}`);
    assert.equal(applied[0].event_type, "payout.paid");
    await shot(page, "sold");
  });
});

test("sell: a payout to the failing test bank account returns the coins", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const totalBefore = units(await text(page, "#total"));
    assert.equal(await text(page, "#locked"), "0.000000 k", "nothing locked before the sale");
    const coins = sold(100n, price);

    const outcome = await submitSale(page, "1", FAILS);
    assert.equal(outcome.status, 200, outcome.message);
    assert.equal(outcome.kind, "ok", outcome.message);
    assert.equal(outcome.requests.length, 1, "one sale sent");
    const said = /^Sale started: payout (po_[A-Za-z0-9]+) of \$1\.00 is pending\. (\S+) k are locked/.exec(outcome.message);
    assert.ok(said, `unexpected #sell-message: ${outcome.message}`);
    const payoutId = said[1];
    assert.equal(units(said[2]), coins);

    await until(page, `#locked showed ${k(coins)} while the payout was pending`, (want) => (window.__seen.texts.locked || []).includes(want), k(coins), 10_000);
    await until(page, "#total dropped while the coins were locked", (want) => (window.__seen.texts.total || []).includes(want), k(totalBefore - coins), 10_000);
    await until(page, "the history shows the failed payout", (id) => [...document.querySelectorAll('#history li[data-kind="sale"]')].some((li) => li.textContent.includes(`payout ${id} failed`)), payoutId, WEBHOOK_MS);
    await untilCoins(page, "the payout failed: nothing locked, the coins back", totalBefore, 0n);
    const entries = await historyWith(page, "sale", payoutId);
    assert.ok(entries.some((t) => t.includes(`payout ${payoutId} failed: ${k(coins)} returned`)), `history shows the coins returned: ${JSON.stringify(entries)}`);
    assert.equal(entries.some((t) => t.includes("paid out")), false, "nothing was paid out");
    await until(page, "#sell-message says the coins were returned", (id) => document.querySelector("#sell-message").textContent.trim().startsWith(`Payout ${id} failed: your`), payoutId);

    const apiAfter = await residentNow();
    assert.equal(units(apiAfter.balance_k), totalBefore, "nothing burned");
    assert.equal(apiAfter.locked_k, "0.000000");
    const mine = (await deliveries()).filter((d) => (d.detail || "").includes(payoutId));
    assert.deepEqual(
      mine.filter((d) => d.result === "applied").map((d) => d.event_type),
      ["payout.failed"],
      `only payout.failed applied for ${payoutId}: ${JSON.stringify(mine)}`,
    );
    await shot(page, "payout-failed");
  });
});

test("sell: when the server's answer is lost, the page keeps the sale's number and a retry sends the same sale: one payout", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const totalBefore = units(await text(page, "#total"));
    const coins = sold(100n, price);
    const payoutsBefore = (await sandboxIds()).payouts.length;
    // The first sale reaches the real server, which signs, locks and pays it out; its answer is
    // lost on the way back and the page sees the server's 503 for an unreachable processor.
    let number = null;
    let intercepted = 0;
    await page.route("**/api/sell", async (route) => {
      if (intercepted++ > 0) return route.continue();
      const real = await (await route.fetch()).json();
      number = real.sale;
      const outage = `the payment processor is unavailable (connection refused); your ${k(coins)} stay locked for this sale: send it again with "sale": ${number}`;
      await route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: outage }) });
    });

    const first = await submitSale(page, "1", PAYS);
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
    assert.equal(await page.inputValue("#sell-bank"), PAYS);
    assert.equal(await page.locator("#sell-bank").getAttribute("readonly"), "", "nor its bank account: the retry is the same sale");

    const sent = [];
    page.on("request", (r) => r.url().endsWith("/api/sell") && r.method() === "POST" && sent.push(r.postDataJSON()));
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/sell") && r.request().method() === "POST"), page.click('#sell-form button[type="submit"]')]);
    assert.equal(response.status(), 200, await response.text());
    assert.deepEqual(sent, [{ resident: RESIDENT, usd: "1.00", bank_account: PAYS, sale: number }], "the retry sends the remembered sale");
    assert.equal((await response.json()).sale, number, "the server went on with that sale");
    await until(page, "#sell-message shows the sale started", () => document.querySelector("#sell-message").textContent.startsWith("Sale started: payout po_"));
    assert.equal(await retry.isHidden(), true, "the retry note is gone");
    assert.equal(await page.locator("#sell-usd").getAttribute("readonly"), null, "the amount can be edited again");
    assert.equal(await page.locator("#sell-bank").getAttribute("readonly"), null, "the bank account can be edited again");
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing left to retry");
    await untilCoins(page, "the retried sale is paid once", totalBefore - coins, 0n);
    assert.equal((await sandboxIds()).payouts.length, payoutsBefore + 1, "one payout for the sale, sent twice");
    await page.unroute("**/api/sell");
  });
});

test("bad input: too small a purchase, a sale beyond the coins held, a bad or refused bank account — clear errors, nothing changes", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openResident(page);
    const before = await residentNow();
    const processorBefore = await sandboxIds();
    const shown = { total: await text(page, "#total"), escrow: await text(page, "#escrow"), locked: await text(page, "#locked") };
    assert.equal(shown.total, `${before.balance_k} k`);

    // Below the smallest purchase: the server refuses, the page stays.
    const small = await submitRefusedPurchase(page, "0.10");
    assert.equal(small.status, 400, small.message);
    assert.equal(small.kind, "error", small.message);
    assert.match(small.message, /between \$0\.50 and \$10000\.00/, small.message);
    assert.equal(new URL(page.url()).pathname, "/resident.html", "still on the resident page");
    console.log(`bad input: buy $0.10 → ${small.status} "${small.message}"`);

    // More than the resident has: the quote warns, the server refuses.
    const tooMuch = (units(before.balance_k) * price) / 1_000_000n + 100n; // cents: $1 more than all the coins are worth
    const usd = `${tooMuch / 100n}.${String(tooMuch % 100n).padStart(2, "0")}`;
    await page.fill("#sell-usd", usd);
    await until(page, "the sell quote warns that the resident has fewer coins", (want) => {
      const quote = document.querySelector("#sell-quote");
      return quote.classList.contains("warn") && quote.textContent.includes(want);
    }, `You have ${before.balance_k} k.`);
    const cases = [
      { usd, bank: PAYS, status: 409, says: /not enough coins/i },
      { usd: "1", bank: "12", status: 400, says: /4 to 17 digits/ },
      { usd: "0.50", bank: PAYS, status: 400, says: /between \$1\.00 and \$10000\.00/ },
      { usd: "1", bank: REFUSED, status: 502, says: /refused.*returned/ },
    ];
    for (const c of cases) {
      const outcome = await submitSale(page, c.usd, c.bank);
      const what = `sell $${c.usd} to ${c.bank}`;
      assert.equal(outcome.status, c.status, `${what}: ${outcome.message}`);
      assert.equal(outcome.kind, "error", `${what}: ${outcome.message}`);
      assert.match(outcome.message, c.says, `${what}: #sell-message`);
      assert.equal(outcome.requests.length, 1, `${what}: one request`);
      assert.equal(outcome.requests[0].reference, undefined, `${what}: no retry reference sent`);
      console.log(`bad input: ${what} → ${outcome.status} "${outcome.message}"`);
    }
    assert.equal(await page.locator("#sell-retry").isHidden(), true, "no sale waits for a retry");

    // Let a 2 s poll pass: nothing changed on the page, on chain, or at the processor.
    await sleep(2_500);
    assert.deepEqual({ total: await text(page, "#total"), escrow: await text(page, "#escrow"), locked: await text(page, "#locked") }, shown);
    assert.deepEqual((await seenTexts(page, "total")).filter((t) => /k$/.test(t)), [shown.total], "#total never changed");
    const after = await residentNow();
    assert.deepEqual([after.balance_k, after.escrow_k, after.locked_k], [before.balance_k, before.escrow_k, before.locked_k]);
    // The chain tells the one sale that reached it: set aside, then given back when the
    // processor refused the bank account; the refusals before it left no trace.
    const added = after.history.slice(0, after.history.length - before.history.length);
    assert.ok(added.length >= 2 && added.every((e) => e.kind === "sale"), `new history: ${JSON.stringify(added)}`);
    assert.match(added[0].detail, /returned|back/, `newest entry: ${JSON.stringify(added[0])}`);
    assert.match(added.at(-1).detail, /^set aside /, `oldest new entry: ${JSON.stringify(added.at(-1))}`);
    assert.equal(added[0].amount_k, added.at(-1).amount_k, "what was set aside came back");
    assert.deepEqual(await sandboxIds(), processorBefore, "no checkout session and no payout at the processor");
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

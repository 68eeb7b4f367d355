// app.test.mjs — the demo web app in a real headless Chromium: starts its own `deu demo`, then drives the map, resident and meter pages and checks what they show.
//
// Run: `bash app/tests/browser/setup.sh`, then `node --test app/tests/browser/app.test.mjs`
// (or `cargo test -p deu --test browser`). Env: DEU_BIN (the deu binary), CHROMIUM (the browser).
import { strict as assert } from "node:assert";
import { after, before, test } from "node:test";

import { api, launchBrowser, screenshot, sleep, startDemo, stopAll, STARTUP_MS, TEST_MS, units, url, withPage } from "./support.mjs";

/* ------------------------------------------------------------------ */
/* The server (`deu demo`) and the browser, shared by all tests        */
/* ------------------------------------------------------------------ */

before(async () => {
  await startDemo({ tmpPrefix: "deu-browser-" });
  await launchBrowser();
}, { timeout: STARTUP_MS + 60_000 });

after(stopAll, { timeout: 60_000 });

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

const meterOf = (state, id) => state.meters.find((m) => m.id === id);

/** Opens the map and waits for the first render: the clock shows a label and all meters are drawn. */
async function openMap(page) {
  await page.goto(url("/"));
  await page.waitForFunction(() => /^Day \d+, \d\d:\d\d$/.test(document.querySelector("#clock").textContent) && document.querySelectorAll("#meters g.meter").length > 0);
}

const mapMeter = (page, id) => page.locator(`#meters g.meter[data-meter-id="${id}"]`);

/** Opens a resident or meter page and waits until the live data has rendered `selector` as an amount. */
async function openAndWaitForAmount(page, path, selector) {
  await page.goto(url(path));
  await page.waitForFunction((sel) => /^\d+\.\d+ k$/.test(document.querySelector(sel)?.dataset.k || ""), selector);
}

/**
 * Fills `#fund-form` with `fields`, submits it and waits for the outcome the page shows.
 * Returns { status, kind, message } (HTTP status of /api/fund, the #message kind and text).
 */
async function submitFund(page, fields) {
  const form = page.locator("#fund-form");
  for (const [name, value] of Object.entries(fields)) await form.locator(`input[name="${name}"]`).fill(value);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/fund") && r.request().method() === "POST"), form.locator('button[type="submit"]').click()]);
  await page.waitForFunction(() => {
    const message = document.querySelector("#message");
    return !document.querySelector("#fund-form").hasAttribute("aria-busy") && message.textContent.trim() !== "";
  });
  const message = page.locator("#message");
  return { status: response.status(), kind: await message.getAttribute("data-kind"), message: (await message.textContent()).trim() };
}

/* ------------------------------------------------------------------ */
/* Tests (in order: each one builds on the chain state the previous left) */
/* ------------------------------------------------------------------ */

test("map: 16 meters drawn (two prosumer homes' import and export joined), the clock lets an hour pass and the page shows the settlement", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    const opening = Date.now();
    await openMap(page);
    const openMs = Date.now() - opening;
    const kinds = await page.$$eval("#meters g.meter", (gs) => gs.map((g) => g.dataset.kind));
    const count = (kind) => kinds.filter((k) => k === kind).length;
    assert.equal(kinds.length, 16, `meters on the map: ${kinds.join(", ")}`);
    assert.deepEqual({ producer: count("producer"), household: count("household"), pole: count("pole"), stadium: count("stadium") }, { producer: 5, household: 7, pole: 3, stadium: 1 });
    assert.deepEqual(await page.$$eval(".prosumer-flow", (ts) => ts.map((t) => t.dataset.home).sort()), ["ivy-home", "jon-home"]);
    assert.equal(await mapMeter(page, "pole-3").getAttribute("data-connected"), "false");
    assert.equal(await mapMeter(page, "pole-1").getAttribute("data-connected"), "true");
    assert.equal(await page.locator("#ledger tr[data-payout-meter]").count(), 0, "no hour settled yet");

    const carlos = mapMeter(page, "carlos-house");
    const balanceBefore = (await carlos.locator("text.balance").textContent()).trim();
    const clock = page.locator("#clock");
    assert.equal(await clock.isEnabled(), true, "in the demo the clock lets an hour pass");
    const labelBefore = (await clock.textContent()).trim();
    const epochBefore = Number(/^epoch (\d+)$/.exec((await page.locator("#epoch").textContent()).trim())[1]);

    // Watch the button from inside the page: it must be disabled and aria-busy while the hour passes.
    await page.evaluate(() => {
      const clock = document.querySelector("#clock");
      window.__clockBusySeen = false;
      new MutationObserver(() => {
        if (clock.disabled && clock.getAttribute("aria-busy") === "true") window.__clockBusySeen = true;
      }).observe(clock, { attributes: true });
    });
    const started = Date.now();
    await clock.click();
    await page.waitForFunction((before) => document.querySelector("#clock").textContent.trim() !== before, labelBefore, { timeout: 60_000 });
    const advanceMs = Date.now() - started;
    await page.waitForFunction(() => !document.querySelector("#clock").disabled && !document.querySelector("#clock").hasAttribute("aria-busy"));
    assert.equal(await page.evaluate(() => window.__clockBusySeen), true, "the clock was disabled + aria-busy while advancing");

    const { data: state } = await api("/api/state");
    const labelAfter = (await clock.textContent()).trim();
    assert.equal(labelAfter, state.clock.hour_label);
    assert.match(labelAfter, /^Day \d+, \d\d:\d\d$/);
    assert.equal(state.clock.epoch, epochBefore + 1);
    assert.equal((await page.locator("#epoch").textContent()).trim(), `epoch ${epochBefore + 1}`);

    const balanceAfter = (await carlos.locator("text.balance").textContent()).trim();
    assert.notEqual(balanceAfter, balanceBefore);
    assert.ok(units(balanceAfter) < units(balanceBefore), `carlos-house: ${balanceBefore} → ${balanceAfter} should be lower`);
    assert.equal(balanceAfter, `${meterOf(state, "carlos-house").balance_k} k`);
    const kwh = (await carlos.locator("text.kwh").textContent()).trim();
    assert.match(kwh, /^\d+\.\d{3} kWh$/);
    assert.equal(kwh, `${meterOf(state, "carlos-house").last_kwh} kWh`);
    assert.ok(Number.parseFloat(kwh) > 0, `carlos-house drew power: ${kwh}`);

    const payouts = await page.$$eval("#ledger tr[data-payout-meter]", (rows) => rows.map((r) => r.dataset.payoutMeter).sort());
    assert.deepEqual(payouts, ["angel-roof", "bennie-roof", "eve-roof", "ivy-home-export", "jon-home-export"]);
    // Each prosumer home shows what it drew and fed in the hour, as the chain read them.
    for (const home of ["ivy-home", "jon-home"]) {
      const drawn = meterOf(state, home).last_kwh;
      const fed = meterOf(state, `${home}-export`).last_kwh;
      assert.ok(Number.parseFloat(fed) > 0, `${home} fed energy in: ${fed}`);
      const flow = page.locator(`.prosumer-flow[data-home="${home}"]`);
      await page.waitForFunction(([h, d]) => document.querySelector(`.prosumer-flow[data-home="${h}"]`)?.dataset.drawn === d, [home, drawn]);
      assert.equal(await flow.getAttribute("data-fed"), fed);
      assert.equal((await flow.textContent()).replace(/\s+/g, " ").trim().replace(/^.*?(↓)/, "$1"), `↓ ${drawn} kWh ↑ ${fed} kWh`);
    }
    assert.deepEqual(payouts, state.last_settlement.payouts.map((p) => p.meter).sort());
    const status = page.locator("#status");
    assert.equal(await status.getAttribute("data-kind"), "ok");
    assert.match((await status.textContent()).trim(), new RegExp(`^Epoch ${state.last_settlement.epoch} settled: `));

    // "check this hour": the settlement re-checked from chain data alone agrees, and the meter
    // page links its settled hours to the same result.
    const check = page.locator("#check-hour");
    assert.equal(await check.getAttribute("href"), `/api/audit/${state.last_settlement.epoch}`);
    const [audited] = await Promise.all([page.waitForResponse((r) => r.url().endsWith(`/api/audit/${state.last_settlement.epoch}`)), check.click()]);
    const verdict = await audited.json();
    assert.equal(verdict.agree, true, JSON.stringify(verdict));
    assert.equal(verdict.agreement.charged_k, state.last_settlement.charged_k);
    // The map's chart of the last 24 hours: the settled hour's bars are its produced and consumed energy.
    const settledEpoch = state.last_settlement.epoch;
    await openMap(page);
    await page.waitForSelector(`#chart-community-energy rect[data-key="${settledEpoch}"][data-series="Produced"]`, { state: "attached" });
    assert.equal(await page.locator(`#chart-community-energy rect[data-key="${settledEpoch}"][data-series="Produced"]`).getAttribute("data-value"), `${state.last_settlement.produced_kwh} kWh`);
    assert.equal(await page.locator(`#chart-community-energy rect[data-key="${settledEpoch}"][data-series="Consumed"]`).getAttribute("data-value"), `${state.last_settlement.consumed_kwh} kWh`);
    assert.equal(await page.locator("#chart-community-energy").getAttribute("role"), "img");
    assert.match(await page.locator("#chart-community-energy desc").textContent(), /kWh produced and .* kWh consumed over the last 24 hours: a loss ratio of /);

    await page.goto(url("/meter.html?id=carlos-house"));
    // Its chart of the last 48 hours: the settled hour's bar is the reading the chain holds, and what it cost.
    const { data: carlosMeter } = await api("/api/meters/carlos-house");
    const reading = carlosMeter.readings.find((r) => r.epoch === settledEpoch);
    await page.waitForSelector(`#chart-hours-energy rect[data-key="${settledEpoch}"]`, { state: "attached" });
    assert.equal(await page.locator(`#chart-hours-energy rect[data-key="${settledEpoch}"]`).getAttribute("data-value"), `${reading.kwh} kWh`);
    const { data: settledHour } = await api(`/api/audit/${settledEpoch}`);
    assert.equal(settledHour.agree, true);
    assert.equal(await page.locator("#chart-days-energy").getAttribute("role"), "img");
    await screenshot(page, "meter-usage");
    await page.waitForSelector(`#readings tr[data-epoch="${state.last_settlement.epoch}"] a.check-hour`);
    assert.equal(await page.locator(`#readings tr[data-epoch="${state.last_settlement.epoch}"] a.check-hour`).getAttribute("href"), `/api/audit/${state.last_settlement.epoch}`);
    await openMap(page);

    const shooting = Date.now();
    await screenshot(page, "map");
    console.log(`map: opened in ${openMs} ms; screenshot in ${Date.now() - shooting} ms`);
    console.log(`map: clock advanced ${labelBefore} → ${labelAfter} in ${advanceMs} ms; carlos-house ${balanceBefore} → ${balanceAfter}, last hour ${kwh}`);
  });
});

test("map and meter page: the utility's proposal for the ballpark waits for the notice, and the Tigers veto it", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    const { data: before } = await api("/api/state");
    assert.equal(before.grid.notice_seconds, 7200, "the demo's grid: two hours' notice");
    const stadium = meterOf(before, "stadium");
    assert.ok(stadium.pending_change, "the demo's utility proposed a change for the ballpark");
    assert.ok(stadium.pending_change.effective_ts > before.clock.unix_timestamp, "not in force yet");

    // The map tells the rule and what waits, with its time.
    await openMap(page);
    await page.waitForSelector('#pending li[data-pending-meter="stadium"]');
    const item = (await page.locator('#pending li[data-pending-meter="stadium"]').textContent()).trim();
    assert.match(item, /^stadium: the utility proposed to set its capacity to 600\.000 kW, from .+ \(in (\d+ h )?\d+ min\)\. tigers may veto it until then\.$/, item);
    assert.match((await page.locator("#notice-rule").textContent()).trim(), /waits 2 h, fixed when the grid was created/);
    const notice = await page.$$eval("#grid-facts .fact", (facts) => facts.map((f) => f.textContent).find((t) => t.startsWith("Notice")));
    assert.equal(notice, "Notice2 h");

    // The ballpark's page says the same and offers its owner the veto; nothing has changed yet.
    await openAndWaitForAmount(page, "/meter.html?id=stadium", "#balance");
    // How long its coins last, as the API computes it from the last day's readings.
    const { data: stadiumMeter } = await api("/api/meters/stadium");
    assert.ok(stadiumMeter.forecast, "a consumer has a forecast");
    await page.waitForSelector("#lasts:not([hidden])");
    assert.equal((await page.locator("#lasts").textContent()).trim(), `${stadiumMeter.forecast.words} (at ${stadiumMeter.forecast.kwh_per_hour} kWh an hour)`);
    await page.waitForSelector("#pending-card:not([hidden])");
    assert.match((await page.locator("#pending-text").textContent()).trim(), /^The utility proposed, alone, to set its capacity to 600\.000 kW, from .+\. Nothing changes until then: the grid's notice is 2 h\. tigers, the owner, may veto it\.$/);
    assert.equal((await page.locator("#capacity-note").textContent()).trim(), "(capacity 500 kW)");
    await screenshot(page, "meter-pending");
    await page.locator("#veto").click();
    await page.waitForFunction(() => document.querySelector("#pending-message").dataset.kind === "ok");
    assert.equal((await page.locator("#pending-message").textContent()).trim(), "Vetoed: nothing changes on stadium.");
    await page.waitForSelector("#pending-card[hidden]", { state: "attached" });

    // The chain agrees: nothing waits, and the lights kept their 500 kW.
    const { data: after } = await api("/api/meters/stadium");
    assert.equal(after.pending_change, null);
    assert.equal(after.capacity_kw, "500.000");
    // A second veto has nothing to turn down.
    const again = await api("/api/veto", { meter: "stadium" });
    assert.equal(again.status, 409, JSON.stringify(again.data));
  });
});

test("meter page: the price of the hour, and pole-3, dry, takes the grid's emergency credit once and switches on", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    // Alerts: the owner (the demo's custody signs for it) sets a threshold and an e-mail.
    await page.goto(url("/meter.html?id=carlos-house"));
    await page.waitForSelector("#alerts-card:not([hidden])");
    await page.locator('#alerts-form input[name="threshold_k"]').fill("1");
    await page.locator('#alerts-form input[name="email"]').fill("carlos@village.example");
    await page.locator('#alerts-form button[type="submit"]').click();
    await page.waitForFunction(() => document.querySelector("#alerts-message").dataset.kind === "ok");
    assert.equal((await page.locator("#alerts-message").textContent()).trim(), "Alerts set: below 1.000000 k, to carlos@village.example.");
    const { data: alerts } = await api("/api/alerts/carlos-house");
    assert.deepEqual([alerts.threshold_k, alerts.email], ["1.000000", "c…@village.example"]);
    const bad = await api("/api/alerts", { meter: "carlos-house", threshold_k: "lots", email: "" });
    assert.equal(bad.status, 400, JSON.stringify(bad.data));

    const { data: before } = await api("/api/meters/pole-3");
    assert.equal(before.connected, false, "pole-3 starts dry");
    assert.deepEqual(before.emergency_credit, { offered_k: "2.000000", can_take: true, why_not: null });
    await openAndWaitForAmount(page, "/meter.html?id=pole-3", "#balance");
    // The price line is the API's: a flat tariff has no next change.
    assert.equal(before.price.next, null);
    assert.equal((await page.locator("#price-line").textContent()).trim(), `Energy now: ${before.price.now_k_per_kwh} k per kWh`);
    await page.waitForSelector('#emergency-card[data-state="offered"]');
    const owner = before.owner;
    assert.match((await page.locator("#emergency-text").textContent()).trim(), new RegExp(`^Running low\\? ${owner}, the owner, may take the grid's emergency credit of 2\\.000000 k once until the next funding`));
    await page.locator("#take-emergency").click();
    await page.waitForFunction(() => document.querySelector("#emergency-message").dataset.kind === "ok");
    assert.equal((await page.locator("#emergency-message").textContent()).trim(), "Emergency credit taken: pole-3 stays on until it owes 2.000000 k.");
    await page.waitForSelector('#emergency-card[data-state="on"]');
    await page.waitForFunction(() => document.querySelector("#hero").dataset.connected === "true");
    assert.equal((await page.locator("#state-note").textContent()).trim(), "Power flows on the grid's emergency credit.");
    await screenshot(page, "meter-emergency-credit");

    // The chain agrees; a second time in the same top-up cycle is refused by the program's rule.
    const { data: after } = await api("/api/meters/pole-3");
    assert.equal(after.connected, true);
    assert.equal(after.emergency_k, "2.000000");
    assert.equal(after.emergency_credit.can_take, false);
    const again = await api("/api/emergency-credit", { meter: "pole-3" });
    assert.equal(again.status, 409, JSON.stringify(again.data));
    assert.match(again.data.error, /taken already this top-up cycle/);
    const { data: still } = await api("/api/meters/pole-3");
    assert.equal(still.emergency_k, "2.000000");
    assert.equal(still.balance_k, before.balance_k);

    // The map tells the grid's calendar as the API has it: the price now, and what protects a dry meter.
    const { data: state } = await api("/api/state");
    await openMap(page);
    assert.equal((await page.locator("#price-now dd").textContent()).trim(), `${state.grid.price_now_k_per_kwh} k per kWh`);
    const calendar = await page.$$eval("#grid-facts [data-calendar]", (facts) => Object.fromEntries(facts.map((f) => [f.dataset.calendar, f.querySelector("dd").textContent])));
    assert.deepEqual(calendar, Object.fromEntries(state.grid.calendar.map((l) => [l.what, l.value])));
    assert.equal(calendar["emergency credit"], "2.000000 k");
    assert.equal(calendar["friendly hours"], "none");
    assert.equal(calendar["debt recovery"], "100% of each funding");
  });
});

test("resident page: carlos funds pole-3 with 2.5 k and it switches on", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openAndWaitForAmount(page, "/resident.html?id=carlos", "#total");
    const totalBefore = (await page.locator("#total").getAttribute("data-k"));
    // Each of carlos's meters has its 48-hour chart; the month's statement lists them with their energy.
    await page.waitForSelector('[data-chart-meter="carlos-house"] svg.chart', { state: "attached" });
    const { data: statement } = await api("/api/residents/carlos/statement");
    await page.waitForSelector('#statement-meters tr[data-statement-meter="carlos-house"]');
    const stated = statement.meters.find((m) => m.meter === "carlos-house");
    assert.match(await page.locator('#statement-meters tr[data-statement-meter="carlos-house"]').textContent(), new RegExp(`${stated.kwh} kWh`));
    assert.equal(await page.locator("#statement-csv").getAttribute("href"), `/api/residents/carlos/statement.csv?month=${statement.month}`);

    const outcome = await submitFund(page, { meter: "pole-3", amount_k: "2.5" });
    assert.equal(outcome.status, 200, outcome.message);
    assert.equal(outcome.kind, "ok", outcome.message);
    const said = /^Funded pole-3 with 2\.5 k\. It now holds (\S+) k and is connected\. carlos has (\S+) k left\.$/.exec(outcome.message);
    assert.ok(said, `unexpected #message: ${outcome.message}`);
    assert.equal(units(said[1]), 2_500_000n);

    // The page reads again after funding: #total drops by exactly 2.5 k.
    await page.waitForFunction((before) => (document.querySelector("#total").dataset.k || "") !== before, totalBefore);
    const totalAfter = (await page.locator("#total").getAttribute("data-k"));
    assert.equal(units(totalBefore) - units(totalAfter), 2_500_000n, `#total ${totalBefore} → ${totalAfter}`);
    assert.equal(units(totalAfter), units(said[2]), "#total agrees with the success message");

    await openAndWaitForAmount(page, "/meter.html?id=pole-3", "#balance");
    assert.equal((await page.locator("#state").textContent()).trim(), "connected");
    // The funding ended the emergency credit's cycle; with 2.5 k it does not need it now.
    await page.waitForSelector('#emergency-card[data-state="unavailable"]');
    assert.match((await page.locator("#emergency-text").textContent()).trim(), /^The grid's emergency credit of 2\.000000 k: The meter's free balance is not below the emergency credit/);
    assert.equal((await api("/api/meters/pole-3")).data.emergency_k, "0.000000");
    assert.equal(await page.locator("#hero").getAttribute("data-connected"), "true");
    assert.equal(units((await page.locator("#balance").getAttribute("data-k"))), 2_500_000n);
    assert.equal(await page.locator('#funders li[data-funder="carlos"]').count(), 1, "carlos is listed as a funder");

    await openMap(page);
    assert.equal(await mapMeter(page, "pole-3").getAttribute("data-connected"), "true");
    assert.equal(units((await mapMeter(page, "pole-3").locator("text.balance").textContent()).trim()), 2_500_000n);
    await screenshot(page, "pole-funded");
  });
});

test("meter page: bad amounts and an unknown resident show the server's error and change nothing", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    const { data: before } = await api("/api/state");
    const carlosBefore = before.residents.find((r) => r.id === "carlos").balance_k;

    await openAndWaitForAmount(page, "/meter.html?id=pole-3", "#balance");
    const balanceBefore = (await page.locator("#balance").getAttribute("data-k"));
    assert.equal(balanceBefore, `${meterOf(before, "pole-3").balance_k} k`);

    const cases = [
      { fields: { from: "carlos", amount_k: "-1" }, status: 400, says: "negative" },
      { fields: { from: "carlos", amount_k: "lots" }, status: 400, says: "not a decimal number" },
      { fields: { from: "nobody", amount_k: "1" }, status: 404, says: "not found" },
    ];
    for (const { fields, status, says } of cases) {
      const outcome = await submitFund(page, fields);
      const what = `from ${fields.from}, amount ${fields.amount_k}`;
      assert.equal(outcome.status, status, `${what}: ${outcome.message}`);
      assert.equal(outcome.kind, "error", `${what}: ${outcome.message}`);
      assert.ok(outcome.message.includes(says), `${what}: #message ${JSON.stringify(outcome.message)} should contain "${says}"`);
      console.log(`meter page, ${what} → ${status} "${outcome.message}"`);
    }

    // Let at least one 2 s poll pass, then nothing changed: on the page nor on chain.
    await sleep(2_500);
    assert.equal((await page.locator("#balance").getAttribute("data-k")), balanceBefore);
    assert.equal((await page.locator("#state").textContent()).trim(), "connected");
    const { data: after } = await api("/api/state");
    assert.equal(meterOf(after, "pole-3").balance_k, meterOf(before, "pole-3").balance_k);
    assert.equal(after.residents.find((r) => r.id === "carlos").balance_k, carlosBefore);
  });
});

test("resident page: the demo's payments are in test mode, with buy and sell forms", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await page.goto(url("/resident.html?id=carlos"));
    const payments = page.locator("#payments");
    await page.waitForFunction(() => document.querySelector("#payments").dataset.configured !== undefined);
    const { data } = await api("/api/payments");
    assert.equal(data.configured, true, JSON.stringify(data));
    assert.equal(data.test_mode, true, "the demo's processor is the sandbox");
    assert.equal(await payments.getAttribute("data-configured"), "true");
    assert.match(await payments.textContent(), /test mode/i);
    assert.equal(await page.locator("#buy-form").isVisible(), true);
    assert.equal(await page.locator("#sell-form").isVisible(), true);
  });
});

test("map: a funding made elsewhere shows up on the open page without a reload", { timeout: TEST_MS }, async () => {
  await withPage(async (page) => {
    await openMap(page);
    const stadium = mapMeter(page, "stadium").locator("text.balance");
    const shownBefore = (await stadium.textContent()).trim();
    await page.evaluate(() => {
      window.__sameDocument = true;
    });

    const { status, data } = await api("/api/fund", { from: "hoa", meter: "stadium", amount_k: "1" });
    assert.equal(status, 200, JSON.stringify(data));
    const expected = `${data.meter.balance_k} k`;
    assert.equal(units(expected) - units(shownBefore), 1_000_000n, `stadium ${shownBefore} + 1 k → ${expected}`);

    const started = Date.now();
    await page.waitForFunction((want) => document.querySelector('#meters g.meter[data-meter-id="stadium"] text.balance').textContent.trim() === want, expected, { timeout: 5_000 });
    const seenMs = Date.now() - started;
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page was not reloaded");
    assert.equal((await page.locator('#meter-table tr[data-row-meter="stadium"]').textContent()).includes(expected), true, "the meter table shows it too");
    console.log(`map: stadium ${shownBefore} → ${expected} seen ${seenMs} ms after the funding`);
  });
});

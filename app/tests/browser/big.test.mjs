// big.test.mjs — the map page of a big grid in a real headless Chromium: `deu demo --list-limit 5`
// serves the demo as a grid past its list limit would be, so the page draws the map in groups
// (`/api/map`), zooms into them, and pages and searches its meters and residents
// (`/api/meters`, `/api/residents`) instead of listing them whole from `/api/state`.
//
// Run: `bash app/tests/browser/setup.sh`, then `node --test app/tests/browser/big.test.mjs`
// (or `cargo test -p deu --test browser`). Env: DEU_BIN (the deu binary), CHROMIUM (the browser).
import { strict as assert } from "node:assert";
import { after, before, test } from "node:test";

import { api, launchBrowser, screenshot, startDemo, stopAll, STARTUP_MS, TEST_MS, url, withPage } from "./support.mjs";

before(async () => {
  await startDemo({ tmpPrefix: "deu-browser-big-", args: ["--list-limit", "5"], note: " (list limit 5)" });
  await launchBrowser();
}, { timeout: STARTUP_MS + 60_000 });

after(stopAll, { timeout: 60_000 });

const until = (page, fn, arg) => page.waitForFunction(fn, arg);

test("a big grid: the map in groups that zoom in and out, meters and residents searched a page at a time", { timeout: TEST_MS }, async () => {
  const { data: state } = await api("/api/state");
  assert.equal(state.listed, false, "past the list limit, the state lists nobody");
  assert.equal(state.meters, undefined);
  const total = state.counts.meters;
  assert.ok(total > 5, `${total} meters`);

  await withPage(async (page) => {
    await page.goto(url("/"));
    // The whole map in groups holding every meter once.
    await until(page, () => document.querySelectorAll("#clusters g.cluster").length > 0);
    const counts = await page.$$eval("#clusters g.cluster", (gs) => gs.map((g) => Number(g.dataset.count)));
    assert.equal(counts.reduce((a, b) => a + b, 0), total, `groups ${counts}`);
    assert.equal(await page.locator("#meters g.meter").count(), 0, "no meter drawn alone at this zoom");
    assert.match(await page.locator("#map-zoom-text").textContent(), new RegExp(`^${total} meters on the map, in groups`));
    assert.equal(await page.locator("#map-zoom-out").isVisible(), false, "nothing to zoom out of");
    await screenshot(page, "big-map-groups");

    // A group of at most five, zoomed into, shows its meters one by one.
    const small = await page.$$eval("#clusters g.cluster", (gs) => gs.findIndex((g) => Number(g.dataset.count) <= 5));
    assert.ok(small >= 0, `a group of five or fewer among ${counts}`);
    const want = counts[small];
    await page.locator("#clusters g.cluster").nth(small).click();
    await until(page, (n) => document.querySelectorAll("#meters g.meter").length === n && document.querySelectorAll("#clusters g.cluster").length === 0, want);
    assert.equal(await page.locator("#map-zoom-out").isVisible(), true);
    const drawn = await page.$$eval("#meters g.meter", (gs) => gs.map((g) => g.dataset.meterId));
    for (const id of drawn) {
      const { status } = await api(`/api/meters/${id}`);
      assert.equal(status, 200, `${id} drawn is a meter of the grid`);
    }
    await screenshot(page, "big-map-zoomed");
    // The keyboard works too: back out with the button, into a group with Enter.
    await page.locator("#map-zoom-out").click();
    await until(page, () => document.querySelectorAll("#clusters g.cluster").length > 0 && document.querySelectorAll("#meters g.meter").length === 0);
    await page.locator("#clusters g.cluster").nth(small).focus();
    await page.keyboard.press("Enter");
    await until(page, (n) => document.querySelectorAll("#meters g.meter").length === n, want);

    // The meter table: one page, a pager, a search by id or owner, a filter.
    await until(page, (n) => document.querySelectorAll("#meter-table tbody tr[data-row-meter]").length === Math.min(n, 50), total);
    assert.equal((await page.locator("#meters-pager .pager-text").textContent()).trim(), `1–${Math.min(total, 50)} of ${total}`);
    await page.fill("#meters-search", "pole");
    await until(page, () => {
      const rows = [...document.querySelectorAll("#meter-table tbody tr[data-row-meter]")];
      return rows.length > 0 && rows.every((r) => r.dataset.rowMeter.includes("pole"));
    });
    const { data: poles } = await api("/api/meters?q=pole");
    assert.equal(await page.locator("#meter-table tbody tr[data-row-meter]").count(), poles.total);
    assert.equal((await page.locator("#meters-pager .pager-text").textContent()).trim(), `1–${poles.total} of ${poles.total}`);
    await page.fill("#meters-search", "");
    await page.selectOption("#meters-filter", "producer");
    const { data: producers } = await api("/api/meters?filter=producer");
    await until(page, (n) => document.querySelectorAll("#meter-table tbody tr[data-row-meter]").length === n, producers.total);
    const kinds = await page.$$eval("#meter-table tbody tr[data-row-meter] td:nth-child(2)", (tds) => tds.map((td) => td.textContent));
    assert.ok(kinds.every((k) => /solar|producer/i.test(k)), `kinds ${kinds}`);

    // Residents: searched.
    await page.fill("#residents-search", "an");
    const { data: found } = await api("/api/residents?q=an");
    await until(page, (n) => document.querySelectorAll("#residents li[data-resident-id]").length === n, found.total);
    const ids = await page.$$eval("#residents li[data-resident-id]", (lis) => lis.map((li) => li.dataset.residentId));
    assert.deepEqual(ids, found.residents.map((r) => r.id));
    assert.ok(ids.every((id) => id.includes("an")), `${ids}`);
    await screenshot(page, "big-map-lists");
  });
});

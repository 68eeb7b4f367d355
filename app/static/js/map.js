// map.js — the map page (index): every meter on the plan of the village, the grid clock, the last settlement, the residents and the table of all meters.

import { api } from "./api.js";
import { $, h, replaceChildren, s, say } from "./dom.js";
import { fmtK, fmtKwh, timeEl } from "./format.js";
import { barChart, hourLabel } from "./charts.js";
import { live, memo } from "./live.js";
import { glyph, KINDS, kindOf, shownBalance, statePill, stateWord } from "./meters.js";
import { gridChangeItem, meterChangeItem, noticeText } from "./notice.js";
import { meterUrl, pollErrorReporter, residentUrl, showGridName } from "./page.js";
import "./wallet.js"; // the wallet bar in the header and the "Your wallet" card

const MAP = { w: 1000, h: 650, left: 86, right: 86, top: 56, bottom: 110 };
/** A meter's footprint around its centre: the glyph above, the label plate below. */
const BOX = { x0: -74, x1: 74, y0: -40, y1: 98 };

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const clamp01 = (v) => (Number.isFinite(Number(v)) ? clamp(Number(v), 0, 1) : 0.5);

function anchorOf(meter) {
  return [
    MAP.left + clamp01(meter.x) * (MAP.w - MAP.left - MAP.right),
    MAP.top + clamp01(meter.y) * (MAP.h - MAP.top - MAP.bottom),
  ];
}

/** Places each meter at its (x, y), nudging it aside when it would cover another one. */
function layoutMeters(meters) {
  const placed = [];
  const spots = new Map();
  const free = (x, y) => placed.every(([px, py]) => Math.abs(px - x) >= BOX.x1 - BOX.x0 + 6 || Math.abs(py - y) >= BOX.y1 - BOX.y0 + 6);
  const order = [...meters].sort((a, b) => clamp01(a.y) - clamp01(b.y) || clamp01(a.x) - clamp01(b.x) || String(a.id).localeCompare(String(b.id)));
  for (const meter of order) {
    const [ax, ay] = anchorOf(meter);
    let at = null;
    for (let r = 0; r <= 360 && !at; r += 12) {
      const steps = r === 0 ? 1 : Math.ceil((2 * Math.PI * r) / 24);
      for (let i = 0; i < steps; i++) {
        const angle = (i / steps) * 2 * Math.PI;
        const x = clamp(ax + r * Math.cos(angle), -BOX.x0 + 4, MAP.w - BOX.x1 - 4);
        const y = clamp(ay + r * Math.sin(angle), -BOX.y0 + 4, MAP.h - BOX.y1 - 4);
        if (free(x, y)) {
          at = [x, y];
          break;
        }
      }
    }
    at = at || [ax, ay];
    placed.push(at);
    spots.set(meter.id, { anchor: [ax, ay], at });
  }
  return spots;
}

const shortId = (id) => (id.length > 13 ? `${id.slice(0, 12)}…` : id);

/** Builds a meter's group once; `updateMapMeter` refreshes its numbers in place. */
function buildMapMeter(meter) {
  const kind = kindOf(meter);
  const text = (cls, x, y, anchor) => s("text", { class: cls, x, y, "text-anchor": anchor || null });
  const parts = {
    title: s("title"),
    id: text("meter-id", -64, 45),
    state: text("state", 50, 45, "middle"),
    kwh: text("kwh", -64, 61),
    lifetime: text("lifetime", -64, 76),
    balance: text("balance", -64, 91),
  };
  const link = s(
    "a",
    { class: "meter-link", href: meterUrl(meter.id) },
    parts.title,
    glyph(kind),
    s("rect", { class: "plate", x: -72, y: 29, width: 144, height: 70, rx: 10, filter: "url(#plate-shadow)" }),
    parts.id,
    s("rect", { class: "state-pill", x: 34, y: 34.5, width: 32, height: 14, rx: 7 }),
    parts.state,
    parts.kwh,
    text("caption", 64, 61, "end"),
    parts.lifetime,
    text("caption", 64, 76, "end"),
    parts.balance,
    text("caption", 64, 91, "end"),
  );
  const captions = link.querySelectorAll(".caption");
  captions[0].textContent = "last hour";
  captions[1].textContent = "lifetime";
  captions[2].textContent = KINDS[kind].balance;
  const g = s("g", { class: `meter meter-${kind}`, "data-meter-id": meter.id, "data-kind": meter.kind }, link);
  g._parts = parts;
  g._link = link;
  return g;
}

function updateMapMeter(g, meter, at) {
  const p = g._parts;
  const kind = kindOf(meter);
  g.setAttribute("transform", `translate(${at[0].toFixed(1)} ${at[1].toFixed(1)})`);
  g.setAttribute("data-connected", meter.connected ? "true" : "false");
  g.setAttribute("data-retired", meter.retired ? "true" : "false");
  p.id.textContent = shortId(String(meter.id));
  p.state.textContent = meter.retired ? "OUT" : meter.connected ? "ON" : "OFF";
  p.kwh.textContent = fmtKwh(meter.last_kwh);
  p.lifetime.textContent = fmtKwh(meter.lifetime_kwh);
  p.balance.textContent = fmtK(shownBalance(meter));
  const hour = meter.last_epoch === null || meter.last_epoch === undefined ? "no reading yet" : `${fmtKwh(meter.last_kwh)} in epoch ${meter.last_epoch}${meter.last_hours > 1 ? ` (covering ${meter.last_hours} hours)` : ""}`;
  const summary =
    `${meter.id}${meter.label ? ` (${meter.label})` : ""}: ${KINDS[kind].name.toLowerCase()} of ${meter.owner}, ${stateWord(meter)}. ` +
    `Last hour: ${hour}. Register: ${fmtKwh(meter.register_kwh)}. Lifetime: ${fmtKwh(meter.lifetime_kwh)}. ${KINDS[kind].balanceLong}: ${fmtK(shownBalance(meter))}.`;
  p.title.textContent = summary;
  g._link.setAttribute("aria-label", `${summary} Open the meter page.`);
}

function renderMapMeters(meters) {
  const layer = $("#meters");
  const leaders = $("#leaders");
  const existing = new Map([...layer.children].map((g) => [g.getAttribute("data-meter-id"), g]));
  const spots = layoutMeters(meters);
  // Lower meters are drawn last, so their glyphs sit over the plates of the ones above.
  const order = [...meters].sort((a, b) => spots.get(a.id).at[1] - spots.get(b.id).at[1]);
  const lines = [];
  order.forEach((meter, index) => {
    let g = existing.get(meter.id);
    if (!g || g.getAttribute("data-kind") !== meter.kind) {
      if (g) g.remove();
      g = buildMapMeter(meter);
    }
    existing.delete(meter.id);
    const { anchor, at } = spots.get(meter.id);
    updateMapMeter(g, meter, at);
    if (layer.children[index] !== g) layer.insertBefore(g, layer.children[index] || null);
    if (Math.hypot(anchor[0] - at[0], anchor[1] - at[1]) > 8) {
      lines.push(s("line", { class: "leader", x1: anchor[0], y1: anchor[1], x2: at[0], y2: at[1] + 10 }), s("circle", { class: "leader-dot", cx: anchor[0], cy: anchor[1], r: 3.5 }));
    }
  });
  for (const g of existing.values()) g.remove();
  // A prosumer's home: its two registers joined, with what it drew and fed in the last hour.
  const byAddress = new Map(meters.map((m) => [m.address, m]));
  for (const home of meters.filter((m) => m.partner && kindOf(m) !== "producer")) {
    const fed = byAddress.get(home.partner);
    if (!fed) continue;
    const [x1, y1] = spots.get(home.id).at;
    const [x2, y2] = spots.get(fed.id).at;
    const label = `${home.owner}'s home draws ${fmtKwh(home.last_kwh)} and feeds in ${fmtKwh(fed.last_kwh)} (last hour)`;
    lines.push(
      s("line", { class: "prosumer-link", x1, y1, x2, y2 }),
      s(
        "text",
        { class: "prosumer-flow", x: ((x1 + x2) / 2).toFixed(1), y: (Math.min(y1, y2) - 34).toFixed(1), "text-anchor": "middle", "data-home": home.id, "data-drawn": home.last_kwh ?? "", "data-fed": fed.last_kwh ?? "" },
        s("title", {}, label),
        `↓ ${fmtKwh(home.last_kwh)}  ↑ ${fmtKwh(fed.last_kwh)}`,
      ),
    );
  }
  replaceChildren(leaders, lines);
  // The stadium's field lies under the stadium.
  const stadium = meters.find((m) => m.kind === "stadium");
  if (stadium) {
    const [x, y] = spots.get(stadium.id).at;
    $("#field").setAttribute("transform", `translate(${x.toFixed(1)} ${(y + 18).toFixed(1)})`);
  }
}

/** The community's production against its consumption, hour by hour over the last 24, and the loss ratio. */
async function renderCommunity() {
  let series;
  try {
    series = await api("/api/community/series");
  } catch (error) {
    $("#community-summary").textContent = `The chart could not be read: ${error.message}`;
    return;
  }
  const hours = series.hours;
  replaceChildren(
    $("#chart-community"),
    barChart({
      id: "chart-community-energy",
      title: "Produced and consumed, last 24 hours",
      points: hours.map((p) => ({
        key: p.epoch,
        label: hourLabel(p.start_ts),
        bars: [
          { value: (p.produced_wh || 0) / 1000, text: p.produced_kwh ? `${p.produced_kwh} kWh` : "no account" },
          { value: (p.consumed_wh || 0) / 1000, text: p.consumed_kwh ? `${p.consumed_kwh} kWh` : "no account" },
        ],
      })),
      series: [
        { name: "Produced", cls: "bar-produced" },
        { name: "Consumed", cls: "bar-consumed" },
      ],
      unit: "kWh",
      summary: `${series.produced_kwh} kWh produced and ${series.consumed_kwh} kWh consumed over the last 24 hours: a loss ratio of ${series.loss_ratio}.`,
      every: 4,
    }),
  );
  $("#community-summary").textContent = `${series.produced_kwh} kWh produced, ${series.consumed_kwh} kWh consumed; produced / consumed = ${series.loss_ratio}.`;
  $("#community-summary").dataset.lossRatio = series.loss_ratio;
}

function renderFacts(state) {
  const grid = state.grid || {};
  const fact = (label, value) => [h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value))];
  replaceChildren(
    $("#grid-facts"),
    fact("Tariff", `${fmtK(grid.tariff_k_per_kwh)} per kWh`),
    // The hour's price (time of use) and its next change.
    grid.price_now_k_per_kwh !== undefined ? h("div", { class: "fact", id: "price-now" }, h("dt", {}, "Price now"), h("dd", {}, `${fmtK(grid.price_now_k_per_kwh)} per kWh`, grid.price_next ? h("span", { class: "sub" }, ` · ${fmtK(grid.price_next.k_per_kwh)} from `, timeEl(grid.price_next.from_ts)) : null)) : null,
    grid.friendly_now ? h("div", { class: "fact fact-friendly", id: "friendly-now" }, h("dt", {}, "Friendly hours"), h("dd", {}, "on: nobody is disconnected for lack of coins")) : null,
    fact("Utility fee", `${fmtK(grid.fee_k)} per hour`),
    fact("Coin price", grid.coin_price_usd ? `$${grid.coin_price_usd} per k` : "—"),
    fact("Pool now", fmtK(grid.pool_k)),
    fact("Carried", fmtK(grid.carry_k)),
    fact("Treasury", fmtK(grid.treasury_k)),
    fact("Notice", noticeText(grid.notice_seconds)),
    // The calendar: local time, time-of-use tariffs, friendly hours, holidays, emergency credit, debt recovery.
    (grid.calendar || []).map((line) => h("div", { class: "fact", "data-calendar": line.what }, h("dt", {}, line.what.charAt(0).toUpperCase() + line.what.slice(1)), h("dd", {}, line.value))),
    grid.paused ? h("div", { class: "fact fact-alert" }, h("dt", {}, "Grid"), h("dd", {}, "paused")) : null,
    state.demo ? h("div", { class: "fact fact-demo" }, h("dt", {}, "Mode"), h("dd", {}, "demo")) : null,
  );
}

/** The grid's notice, and everything the utility proposed that has not taken effect. */
function renderComing(state) {
  const grid = state.grid || {};
  const now = state.clock ? state.clock.unix_timestamp : 0;
  const epoch = state.clock ? state.clock.epoch : 0;
  $("#notice-rule").textContent = Number(grid.notice_seconds)
    ? `What the utility changes alone (prices, fees, the oracle, a resident's meter, a new producer) waits ${noticeText(grid.notice_seconds)}, fixed when the grid was created. A meter's owner may veto what concerns their meter until then.`
    : "This grid was created without notice: the utility's changes apply at once.";
  // A big grid's state names only the meters with something coming.
  const meters = state.meters || state.coming_meters || [];
  const items = [
    ...(grid.pending || []).map((change) => gridChangeItem(change, now)),
    grid.pending_admin ? h("li", { "data-pending": "admin" }, h("strong", {}, "admin"), `: the role is offered to ${grid.pending_admin}, until that wallet accepts it.`) : null,
    ...meters.filter((m) => m.pending_change).map((m) => meterChangeItem(m, now, meterUrl(m.id))),
    ...meters
      .filter((m) => kindOf(m) === "producer" && Number(m.earns_from_epoch) > epoch)
      .map((m) => h("li", { "data-pending-producer": m.id }, h("a", { href: meterUrl(m.id) }, m.id), `: a new producer, sharing the pool from epoch ${m.earns_from_epoch} (after the notice).`)),
  ].filter(Boolean);
  replaceChildren($("#pending"), items.length ? items : h("li", { class: "muted" }, "Nothing is waiting: the terms above are in force."));
}

function renderLedger(settlement) {
  const ledger = $("#ledger");
  const title = h("h2", { id: "ledger-title" }, "Last settlement");
  if (!settlement) {
    replaceChildren(ledger, title, h("p", { class: "muted" }, "No hour has been settled by this server yet. Press the clock to let one pass."));
    return;
  }
  const step = (cls, label, value, note) =>
    h("li", { class: `flow-step ${cls}` }, h("span", { class: "flow-label" }, label), h("strong", { class: "flow-value" }, value), note ? h("span", { class: "flow-note" }, note) : null);
  const flow = h(
    "ol",
    { class: "flow", "aria-label": "Where the coins went" },
    step("flow-pool", "Pool", fmtK(settlement.pool_k), settlement.charged_k !== undefined ? `${fmtK(settlement.charged_k)} charged + ${fmtK(settlement.carried_in_k)} carried in` : null),
    step("flow-fee", "Utility fee", fmtK(settlement.fee_k)),
    step("flow-paid", "To producers", fmtK(settlement.paid_k)),
    step("flow-carry", "Carried to next hour", fmtK(settlement.carried_k)),
  );
  const payouts = settlement.payouts || [];
  const payoutRow = (p) =>
    h(
      "tr",
      { "data-payout-meter": p.meter },
      h("td", {}, h("a", { href: meterUrl(p.meter) }, p.meter), h("span", { class: "sub" }, "to ", h("a", { href: residentUrl(p.owner) }, p.owner))),
      h("td", { class: "num" }, fmtKwh(p.kwh)),
      h("td", { class: "num" }, h("strong", {}, fmtK(p.payout_k))),
    );
  const table = payouts.length
    ? h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table compact" },
          h("caption", {}, "Producers, paid pro rata to what they produced"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Producer"), h("th", { scope: "col", class: "num" }, "Produced"), h("th", { scope: "col", class: "num" }, "Payout"))),
          h("tbody", {}, payouts.map(payoutRow)),
        ),
      )
    : h("p", { class: "muted" }, "No producer was paid this hour.");
  const summary = h(
    "p",
    { class: "ledger-sub" },
    `Epoch ${settlement.epoch}`,
    settlement.consumed_kwh !== undefined ? ` · ${fmtKwh(settlement.consumed_kwh)} used, ${fmtKwh(settlement.produced_kwh)} produced` : "",
    settlement.loss_ratio ? ` (×${settlement.loss_ratio})` : "",
    " · ",
    // Anyone can re-check the hour from chain data alone (what `deu audit` prints).
    h("a", { href: `/api/audit/${settlement.epoch}`, id: "check-hour", title: "Re-check this hour's settlement from chain data alone" }, "check this hour"),
  );
  // Producers reporting far more (or less) than consumers used: a meter may be lying or broken.
  const band = settlement.outside_loss_band
    ? h("p", { class: "notice", id: "loss-band", role: "note" }, `Flagged: producers reported ×${settlement.loss_ratio} of what consumers used, outside the grid's loss band. A meter may be lying or broken.`)
    : null;
  replaceChildren(ledger, title, summary, band, flow, table);
}

function renderResidents(residents) {
  const list = $("#residents");
  if (!residents.length) {
    replaceChildren(list, h("li", { class: "muted" }, "No resident yet."));
    return;
  }
  replaceChildren(
    list,
    residents.map((r) =>
      h("li", { "data-resident-id": r.id }, h("a", { href: residentUrl(r.id) }, h("span", { class: "avatar", "aria-hidden": "true" }, String(r.id).charAt(0).toUpperCase()), h("span", { class: "person-id" }, r.id)), h("span", { class: "person-balance" }, fmtK(r.balance_k))),
    ),
  );
}

function renderMeterTable(meters, residents) {
  // A page of a big grid's meters: every owner is a resident's id.
  const known = residents ? new Set(residents.map((r) => r.id)) : { has: () => true };
  const rows = meters.map((m) =>
    h(
      "tr",
      { "data-row-meter": m.id, class: m.connected ? "" : "row-off" },
      h("th", { scope: "row" }, h("a", { href: meterUrl(m.id) }, m.id), m.label ? h("span", { class: "sub" }, m.label) : null),
      h("td", {}, KINDS[kindOf(m)].name),
      h("td", {}, known.has(m.owner) ? h("a", { href: residentUrl(m.owner) }, m.owner) : m.owner),
      h("td", { class: "num" }, fmtKwh(m.last_kwh)),
      h("td", { class: "num" }, fmtKwh(m.lifetime_kwh)),
      h("td", { class: "num" }, fmtK(shownBalance(m)), kindOf(m) === "producer" ? h("span", { class: "sub" }, "earned in all") : null),
      h("td", {}, statePill(m)),
    ),
  );
  replaceChildren($("#meter-table tbody"), rows.length ? rows : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No meter yet.")));
}

/* ---------------------------------------------------------------- */
/* A big grid: the map in cells, the lists a page at a time          */
/* ---------------------------------------------------------------- */

const PAGE = 50;
/** What the page of a big grid shows: the map's box (0..1 each way), the searches and pages. */
const big = { box: { x0: 0, y0: 0, x1: 1, y1: 1 }, meters: { q: "", filter: "", offset: 0 }, residents: { q: "", offset: 0 } };

const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined)).toString();

/** Reads what a big grid's page shows besides the state: the map's box, a page of meters, a page of residents. */
async function loadBig(state) {
  const [map, meters, residents] = await Promise.all([
    api(`/api/map?${query(big.box)}`),
    api(`/api/meters?${query({ q: big.meters.q, filter: big.meters.filter, offset: big.meters.offset, limit: PAGE })}`),
    api(`/api/residents?${query({ q: big.residents.q, offset: big.residents.offset, limit: PAGE })}`),
  ]);
  return { ...state, map, meterPage: meters, residentPage: residents };
}

/** Map coordinates of the zoomed box back to 0..1 of the drawing. */
function inBox(meter) {
  const { x0, y0, x1, y1 } = big.box;
  return { ...meter, x: (meter.x - x0) / (x1 - x0), y: (meter.y - y0) / (y1 - y0) };
}

/** Cells of many meters as circles sized by their count; a click zooms into the cell. */
function renderClusters(map, zoomTo) {
  const layer = $("#clusters");
  if (!map.cells) {
    replaceChildren(layer);
    return;
  }
  const most = Math.max(...map.cells.map((c) => c.count), 1);
  replaceChildren(
    layer,
    map.cells.map((cell) => {
      const [x, y] = anchorOf(inBox(cell));
      const r = 14 + 30 * Math.sqrt(cell.count / most);
      const label = `${cell.count} meters here: ${cell.producers} producing, ${cell.off} disconnected, ${cell.last_kwh} kWh in their last hour. Zoom in.`;
      const g = s(
        "g",
        { class: `cluster${cell.off ? " cluster-off" : ""}`, transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})`, role: "button", tabindex: "0", "aria-label": label, "data-count": cell.count },
        s("title", {}, label),
        s("circle", { r: r.toFixed(1) }),
        s("text", { class: "cluster-count", "text-anchor": "middle", y: 5 }),
      );
      g.querySelector("text").textContent = cell.count >= 1000 ? `${(cell.count / 1000).toFixed(1)}k` : String(cell.count);
      const zoom = () => zoomTo(cell.box);
      g.addEventListener("click", zoom);
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          zoom();
        }
      });
      return g;
    }),
  );
}

/** A pager: "21–40 of 1,000" with previous and next. */
function renderPager(nav, page, at, go) {
  nav.hidden = false;
  const first = page.total ? at + 1 : 0;
  const last = at + (page.meters || page.residents || []).length;
  const button = (text, offset, enabled) => {
    const b = h("button", { type: "button", class: "button secondary small" }, text);
    b.disabled = !enabled;
    b.addEventListener("click", () => go(offset));
    return b;
  };
  replaceChildren(
    nav,
    button("Previous", Math.max(0, at - PAGE), at > 0),
    h("span", { class: "pager-text" }, `${first.toLocaleString()}–${last.toLocaleString()} of ${page.total.toLocaleString()}`),
    button("Next", at + PAGE, last < page.total),
  );
}

/** "Day 2, 19:00" → 19, to dim the plan at night (the label is the server's). */
function hourOfDay(label) {
  const match = /(\d{1,2}):\d{2}/.exec(label || "");
  return match ? Number(match[1]) : null;
}

function initMap() {
  const clock = $("#clock");
  const status = $("#status");
  const changed = memo();
  let demo = false; // until the server's state says this is the demo, the clock stays disabled
  let clockBusy = false;

  function renderState(state) {
    showGridName(state);
    demo = Boolean(state.demo);
    const label = (state.clock && state.clock.hour_label) || `Hour ${state.clock ? state.clock.epoch : "?"}`;
    clock.textContent = label;
    $("#epoch").textContent = `epoch ${state.clock ? state.clock.epoch : "?"}`;
    clock.disabled = clockBusy || !demo;
    clock.title = demo ? "Let one hour pass: every meter reports, the hour is settled" : "The clock only moves in the demo; a real grid follows real time";
    const hour = hourOfDay(label);
    $("#map").dataset.daypart = hour === null ? "day" : hour < 6 || hour >= 20 ? "night" : hour < 8 || hour >= 17 ? "dusk" : "day";
    if (changed("facts", [state.grid, state.demo])) renderFacts(state);
    if (changed("coming", [state.grid, state.meters, state.coming_meters, state.clock])) renderComing(state);
    if (state.listed === false) {
      renderBig(state);
    } else {
      if (changed("meters", state.meters)) renderMapMeters(state.meters || []);
      if (changed("table", [state.meters, state.residents])) renderMeterTable(state.meters || [], state.residents || []);
    }
    if (changed("ledger", state.last_settlement)) {
      renderLedger(state.last_settlement);
      renderCommunity();
    }
    if (state.listed !== false && changed("residents", state.residents)) renderResidents(state.residents || []);
  }

  function renderBig(state) {
    const map = state.map;
    const whole = big.box.x0 === 0 && big.box.y0 === 0 && big.box.x1 === 1 && big.box.y1 === 1;
    $("#map-zoom").hidden = whole && !map.cells;
    $("#map-zoom-out").hidden = whole;
    $("#map-zoom-text").textContent = map.cells
      ? `${map.total.toLocaleString()} meters ${whole ? "on the map" : "in this part of the map"}, in groups: choose a group to zoom in.`
      : `${map.total.toLocaleString()} meters in this part of the map.`;
    if (changed("map", map)) {
      renderMapMeters(map.meters ? map.meters.map(inBox) : []);
      renderClusters(map, zoomTo);
    }
    $("#meters-tools").hidden = false;
    $("#residents-tools").hidden = false;
    if (changed("table", state.meterPage)) {
      renderMeterTable(state.meterPage.meters, null);
      renderPager($("#meters-pager"), state.meterPage, big.meters.offset, (offset) => {
        big.meters.offset = offset;
        feed.refresh();
      });
    }
    if (changed("residents", state.residentPage)) {
      renderResidents(state.residentPage.residents);
      renderPager($("#residents-pager"), state.residentPage, big.residents.offset, (offset) => {
        big.residents.offset = offset;
        feed.refresh();
      });
    }
  }

  function zoomTo(box) {
    big.box = box;
    feed.refresh();
  }

  $("#map-zoom-out").addEventListener("click", () => zoomTo({ x0: 0, y0: 0, x1: 1, y1: 1 }));
  // Each box waits for its own pause in typing.
  const search = (list, field) => {
    let searching = null;
    return (event) => {
      clearTimeout(searching);
      searching = setTimeout(() => {
        big[list][field] = event.target.value.trim();
        big[list].offset = 0;
        feed.refresh();
      }, 250);
    };
  };
  $("#meters-search").addEventListener("input", search("meters", "q"));
  $("#meters-filter").addEventListener("change", search("meters", "filter"));
  $("#residents-search").addEventListener("input", search("residents", "q"));

  const feed = live(
    async () => {
      const state = await api("/api/state");
      return state.listed === false ? loadBig(state) : state;
    },
    renderState,
    pollErrorReporter(),
  );

  clock.addEventListener("click", async () => {
    if (clockBusy || !demo) return;
    clockBusy = true;
    clock.disabled = true;
    clock.setAttribute("aria-busy", "true");
    clock.classList.add("busy");
    say(status, "An hour passes: every meter reports, then the hour is settled…", "busy");
    try {
      const state = await feed.action(() => api("/api/clock/advance", { method: "POST" }));
      clockBusy = false;
      renderState(state);
      const settled = state.last_settlement;
      say(status, settled ? `Epoch ${settled.epoch} settled: pool ${fmtK(settled.pool_k)}, fee ${fmtK(settled.fee_k)}, ${fmtK(settled.paid_k)} paid to producers.` : "The hour has passed.", "ok");
    } catch (error) {
      say(status, error.message, "error");
    } finally {
      clockBusy = false;
      clock.disabled = !demo;
      clock.removeAttribute("aria-busy");
      clock.classList.remove("busy");
    }
  });

  feed.start();
}

initMap();

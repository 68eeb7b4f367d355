// meter.js — one meter's page (what the QR code on a pole opens): its state, balance, readings, who funded it, and the fund form.

import { api, loadDirectory } from "./api.js";
import { $, fillDatalist, h, replaceChildren } from "./dom.js";
import { fmtK, fmtKwh, showK, timeEl } from "./format.js";
import { wireFundForm } from "./fund.js";
import { barChart, dayLabel, hourLabel, total } from "./charts.js";
import { initAlerts } from "./alerts.js";
import { live, memo } from "./live.js";
import { glyph, KINDS, kindOf, stateWord } from "./meters.js";
import { emergencyButton, noticeText, untilText, vetoButton } from "./notice.js";
import { meterUrl, notFoundOr, queryParam, remembered, residentUrl, showGridName } from "./page.js";
import "./wallet.js"; // the wallet bar in the header

function renderReadings(table, readings) {
  const body = $("tbody", table);
  if (!readings.length) {
    replaceChildren(body, h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No reading yet.")));
    return;
  }
  replaceChildren(
    body,
    readings.map((r) =>
      h(
        "tr",
        { "data-epoch": r.epoch },
        h("td", {}, r.hours > 1 ? `${r.epoch} (${r.hours} hours)` : String(r.epoch)),
        h("td", { class: "num" }, fmtKwh(r.kwh)),
        h(
          "td",
          {},
          h("span", { class: `pill ${r.status === "settled" ? "pill-settled" : "pill-pending"}` }, r.status),
          // A settled hour can be re-checked from chain data alone (what `deu audit` prints).
          r.status === "settled" ? [" ", h("a", { href: `/api/audit/${r.epoch}`, class: "check-hour", title: "Re-check this hour's settlement from chain data alone" }, "check this hour")] : null,
        ),
      ),
    ),
  );
}

function renderFunders(list, funders) {
  if (!funders.length) {
    replaceChildren(list, h("li", { class: "muted" }, "Nobody has funded this meter yet."));
    return;
  }
  replaceChildren(
    list,
    funders.map((f) => h("li", { "data-funder": f.resident }, h("a", { href: residentUrl(f.resident) }, h("span", { class: "avatar", "aria-hidden": "true" }, String(f.resident).charAt(0).toUpperCase()), h("span", {}, f.resident)), h("span", { class: "funder-amount" }, fmtK(f.amount_k), f.at !== undefined ? h("span", { class: "sub" }, " · ", timeEl(f.at)) : null))),
  );
}

/** What waits for the grid's notice on this meter: the utility's proposal (with the owner's veto), or a new producer's first earning epoch. */
function renderPending(meter, refresh) {
  const card = $("#pending-card");
  const change = meter.pending_change;
  const earnsLater = kindOf(meter) === "producer" && meter.epoch !== undefined && Number(meter.earns_from_epoch) > Number(meter.epoch);
  card.hidden = !change && !earnsLater;
  if (card.hidden) return;
  if (change) {
    $("#pending-title").textContent = "A change waits";
    replaceChildren(
      $("#pending-text"),
      `The utility proposed, alone, to ${change.act}, from `,
      timeEl(change.effective_ts),
      ` (${untilText(change.effective_ts, meter.now)}). Nothing changes until then: the grid's notice is ${noticeText(meter.notice_seconds)}. ${meter.owner}, the owner, may veto it.`,
    );
    replaceChildren($("#pending-actions"), vetoButton(meter, $("#pending-message"), refresh));
  } else {
    $("#pending-title").textContent = "A new producer";
    replaceChildren($("#pending-text"), `It shares the community's pool from epoch ${meter.earns_from_epoch}, once the grid's notice (${noticeText(meter.notice_seconds)}) has passed; until then its reports only set where its register starts.`);
    replaceChildren($("#pending-actions"));
  }
}

/** The price of energy now and at its next change (time of use), and whether friendly hours are on. */
function renderPrice(meter) {
  const price = meter.price;
  const line = $("#price-line");
  if (!price) {
    replaceChildren(line);
    return;
  }
  const parts = [`Energy now: ${fmtK(price.now_k_per_kwh)} per kWh`];
  if (price.next) parts.push(` · ${fmtK(price.next.k_per_kwh)} per kWh from `, timeEl(price.next.from_ts));
  if (price.friendly_now) parts.push(" · Friendly hours: nobody is disconnected for lack of coins now; what is used becomes debt.");
  replaceChildren(line, ...parts);
}

/** The grid's emergency credit for a consumer: on it, offered (with its owner's button), or why not now. */
function renderEmergency(meter, refresh) {
  const card = $("#emergency-card");
  const credit = meter.emergency_credit;
  const on = credit && Number.parseFloat(meter.emergency_k) > 0;
  card.hidden = !credit || meter.retired || (!on && !(Number.parseFloat(credit.offered_k) > 0));
  if (card.hidden) return;
  card.dataset.state = on ? "on" : credit.can_take ? "offered" : "unavailable";
  if (on) {
    $("#emergency-text").textContent = `On emergency credit: it stays connected until it owes ${fmtK(meter.emergency_k)} (it owes ${fmtK(meter.debt_k)} now). The next funding ends it; the debt is repaid from fundings.`;
    replaceChildren($("#emergency-actions"));
  } else if (credit.can_take) {
    $("#emergency-text").textContent = `Running low? ${meter.owner}, the owner, may take the grid's emergency credit of ${fmtK(credit.offered_k)} once until the next funding: the lights stay on, and what it uses is repaid from later fundings.`;
    replaceChildren($("#emergency-actions"), emergencyButton(meter, $("#emergency-message"), refresh));
  } else {
    $("#emergency-text").textContent = `The grid's emergency credit of ${fmtK(credit.offered_k)}: ${credit.why_not}`;
    replaceChildren($("#emergency-actions"));
  }
}

/** The meter's usage charts: energy and cost (or earnings), 48 hours and 30 days. */
async function renderCharts(id) {
  let series;
  try {
    series = await api(`/api/meters/${encodeURIComponent(id)}/series`);
  } catch (error) {
    $("#usage-summary").textContent = `The charts could not be read: ${error.message}`;
    return;
  }
  const money = series.kind === "producer" ? "Earned" : "Cost";
  const kwh = (wh) => (wh / 1000).toFixed(3);
  const k = (units) => (units / 1e6).toFixed(6);
  const chart = (chartId, points, key, label, field, unit, what, every) =>
    barChart({
      id: chartId,
      title: `${what}, ${key === "epoch" ? "last 48 hours" : "last 30 days"}`,
      points: points.map((p) => ({ key: p[key], label: label(p.start_ts), bars: [{ value: Number(p[field]) / (field === "wh" ? 1000 : 1e6), text: field === "wh" ? `${p.kwh} kWh` : `${p.k} k` }] })),
      series: [{ name: what, cls: field === "wh" ? "bar-energy" : "bar-money" }],
      unit,
      summary: `${what}: ${field === "wh" ? `${kwh(total(points, "wh"))} kWh` : `${k(total(points, "units"))} k`} in all over ${points.length} ${key === "epoch" ? "hours" : "days"}.`,
      every,
    });
  replaceChildren(
    $("#chart-hours"),
    chart("chart-hours-energy", series.hourly, "epoch", hourLabel, "wh", "kWh", "Energy", 6),
    chart("chart-hours-money", series.hourly, "epoch", hourLabel, "units", "k", money, 6),
  );
  replaceChildren(
    $("#chart-days"),
    chart("chart-days-energy", series.daily, "day", dayLabel, "wh", "kWh", "Energy", 5),
    chart("chart-days-money", series.daily, "day", dayLabel, "units", "k", money, 5),
  );
  $("#usage-summary").textContent = `${kwh(total(series.hourly, "wh"))} kWh in the last 48 hours (${k(total(series.hourly, "units"))} k ${money.toLowerCase()}); ${kwh(total(series.daily, "wh"))} kWh in the last 30 days.`;
}

function initMeter() {
  const id = queryParam("id");
  loadDirectory().then((state) => {
    const meters = (state && state.meters) || [];
    replaceChildren(
      $("#pick-list"),
      meters.length
        ? meters.map((m) => h("li", {}, h("a", { href: meterUrl(m.id), class: `chip ${m.connected ? "" : "chip-off"}` }, m.id, h("span", { class: "sub" }, KINDS[kindOf(m)].name))))
        : h("li", { class: "muted" }, state ? "No meter yet." : "Could not load the meters."),
    );
    if (!state) return;
    showGridName(state);
    fillDatalist($("#resident-ids"), (state.residents || []).map((r) => r.id));
    fillDatalist($("#meter-ids"), meters.map((m) => m.id));
  });

  if (!id) {
    $("#pick").hidden = false;
    return;
  }

  document.title = `${id} — community grid`;
  $("#meter").hidden = false;
  $("#meter-id").textContent = id;
  const form = $("#fund-form");
  if (!form.elements.from.value) form.elements.from.value = remembered.get();
  const changed = memo();
  let glyphKind = null;

  const feed = live(
    () => api(`/api/meters/${encodeURIComponent(id)}`),
    (meter) => {
      const kind = kindOf(meter);
      const hero = $("#hero");
      hero.dataset.connected = String(Boolean(meter.connected));
      hero.dataset.kind = kind;
      if (glyphKind !== kind) {
        replaceChildren($("#hero-glyph"), glyph(kind));
        glyphKind = kind;
      }
      $("#kind").textContent = KINDS[kind].name;
      $("#meter-title").textContent = meter.label || meter.id;
      $("#meter-id").textContent = meter.id;
      const owner = $("#owner");
      owner.textContent = meter.owner;
      owner.href = residentUrl(meter.owner);
      $("#state").textContent = stateWord(meter);
      $("#state-note").textContent = meter.retired
        ? "Retired by the utility: its spare coins went back to its owner, and it can no longer be funded."
        : meter.silent
          ? "Its meter stopped reporting: disconnected until it reports again (the silent hours are billed then)."
          : meter.connected
          ? kind === "producer"
            ? "Producing for the community grid."
            : Number.parseFloat(meter.emergency_k) > 0
              ? "Power flows on the grid's emergency credit."
              : meter.price && meter.price.friendly_now && !(meter.forecast && meter.forecast.hours_left > 0) && Number.parseFloat(meter.debt_k) > 0
                ? "Friendly hours keep the power on; what it uses becomes debt, repaid from the next fundings."
                : "Power flows: the prepaid coins cover what it uses."
          : "Its prepaid coins ran out. Anyone can fund it to switch it back on.";
      $("#balance-label").textContent = KINDS[kind].balanceLong;
      showK($("#balance"), meter.balance_k);
      // How long the coins last at the last 24 hours' use and this hour's tariff.
      const lasts = $("#lasts");
      lasts.hidden = !meter.forecast;
      lasts.textContent = meter.forecast ? `${meter.forecast.words} (at ${meter.forecast.kwh_per_hour} kWh an hour)` : "";
      showK($("#debt"), meter.debt_k);
      $("#debt").parentElement.classList.toggle("stat-alert", Number.parseFloat(meter.debt_k) > 0);
      $("#fund-jump").hidden = meter.connected || meter.retired || kind === "producer";
      $("#last-kwh").textContent = fmtKwh(meter.last_kwh);
      $("#last-kwh-note").textContent = meter.last_epoch === null || meter.last_epoch === undefined ? "no reading yet" : `(epoch ${meter.last_epoch})`;
      $("#lifetime").textContent = fmtKwh(meter.lifetime_kwh);
      $("#register").textContent = fmtKwh(meter.register_kwh);
      $("#capacity-note").textContent = meter.capacity_kw ? `(capacity ${Number.parseFloat(meter.capacity_kw)} kW)` : "";
      showK($("#committed"), meter.committed_k);
      showK($("#funded"), meter.funded_k);
      $("#label").textContent = meter.label || "—";
      $("#gateway").textContent = meter.gateway || "—";
      $("#fund-card").hidden = kind === "producer" || Boolean(meter.retired);
      $("#producer-note").hidden = kind !== "producer";
      if (changed("pending", [meter.pending_change, meter.earns_from_epoch, meter.now])) renderPending(meter, () => feed.refresh());
      if (changed("price", meter.price)) renderPrice(meter);
      if (changed("emergency", [meter.emergency_credit, meter.emergency_k, meter.debt_k])) renderEmergency(meter, () => feed.refresh());
      if (changed("readings", meter.readings)) {
        renderReadings($("#readings"), meter.readings || []);
        renderCharts(id);
      }
      $("#readings-csv").href = `/api/meters/${encodeURIComponent(id)}/readings.csv`;
      if (changed("funders", meter.funders)) renderFunders($("#funders"), meter.funders || []);
    },
    notFoundOr("meter", id),
  );
  wireFundForm(form, { meter: id }, () => feed.refresh());
  loadDirectory().then((state) => initAlerts(id, (state && state.grid && state.grid.name) || ""));
  feed.start();
}

initMeter();

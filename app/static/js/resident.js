// resident.js — a resident's page: their coins (those on hold after a card purchase, a debt a refund left), their meters (a producer's earnings collected by their wallet), their history, the fund form, and buying and selling coins (payments.js).

import { api, loadDirectory } from "./api.js";
import { $, fillDatalist, h, replaceChildren, s, say } from "./dom.js";
import { fmtK, fmtKwh, parseUnits, showK, timeEl } from "./format.js";
import { wireFundForm } from "./fund.js";
import { barChart, hourLabel, total } from "./charts.js";
import { renderHistory } from "./history.js";
import { live, memo } from "./live.js";
import { glyph, KINDS, kindOf, shownBalance, statePill } from "./meters.js";
import { meterUrl, notFoundOr, queryParam, remembered, residentUrl, showGridName } from "./page.js";
import { initPayments } from "./payments.js";
import { gridWallet, walletOwns } from "./wallet.js";

/** `collect(meter)` gives a producer's "Collect earnings" button, or null. */
function renderResidentMeters(node, meters, onFund, collect) {
  if (!meters.length) {
    replaceChildren(node, h("p", { class: "muted" }, "No meter is registered to this resident."));
    return;
  }
  replaceChildren(
    node,
    h(
      "ul",
      { class: "meter-cards" },
      meters.map((m) => {
        const collectButton = kindOf(m) === "producer" ? collect(m) : null;
        return h(
          "li",
          { class: `meter-card ${m.connected ? "" : "is-off"}`, "data-card-meter": m.id, "data-connected": String(Boolean(m.connected)) },
          s("svg", { class: "mini-glyph", viewBox: "-40 -40 80 66", "aria-hidden": "true" }, glyph(kindOf(m))),
          h(
            "div",
            { class: "meter-card-body" },
            h("p", { class: "meter-card-title" }, h("a", { href: meterUrl(m.id) }, m.id), " ", statePill(m)),
            h("p", { class: "sub" }, `${KINDS[kindOf(m)].name}${m.label ? ` · ${m.label}` : ""}`),
            h("p", {}, h("span", { class: "sub" }, `${KINDS[kindOf(m)].balanceLong}: `), h("strong", {}, fmtK(shownBalance(m))), " · ", h("span", { class: "sub" }, "last hour "), fmtKwh(m.last_kwh)),
            collectButton ? h("p", { class: "sub to-collect" }, `${fmtK(m.balance_k)} earned, waiting to be collected`) : null,
            h("div", { class: "meter-chart", "data-chart-meter": m.id }),
          ),
          kindOf(m) === "producer" ? collectButton : h("button", { type: "button", class: "button-quiet", onclick: () => onFund(m.id) }, "Fund"),
        );
      }),
    ),
  );
}

/** Each meter's last 48 hours, a small energy chart in its card. */
function renderMeterCharts(node, meters) {
  for (const m of meters) {
    api(`/api/meters/${encodeURIComponent(m.id)}/series`)
      .then((series) => {
        const slot = node.querySelector(`[data-chart-meter="${CSS.escape(m.id)}"]`);
        if (!slot) return;
        const wh = total(series.hourly, "wh");
        replaceChildren(
          slot,
          barChart({
            id: `chart-${m.id}`,
            title: `${m.id}: energy, last 48 hours`,
            points: series.hourly.map((p) => ({ key: p.epoch, label: hourLabel(p.start_ts), bars: [{ value: p.wh / 1000, text: `${p.kwh} kWh` }] })),
            series: [{ name: "Energy", cls: "bar-energy" }],
            unit: "kWh",
            summary: `${(wh / 1000).toFixed(3)} kWh in the last 48 hours.`,
            every: 12,
          }),
        );
      })
      .catch(() => {});
  }
}

/** The month's statement: purchases, fundings, each meter's energy and cost or earnings, sales. */
async function renderStatement(id, month) {
  const body = $("#statement-body");
  const query = month ? `?${new URLSearchParams({ month })}` : "";
  let st;
  try {
    st = await api(`/api/residents/${encodeURIComponent(id)}/statement${query}`);
  } catch (error) {
    replaceChildren(body, h("p", { class: "message error" }, error.message));
    return;
  }
  const form = $("#statement-form");
  if (!form.elements.month.value) form.elements.month.value = st.month;
  $("#statement-csv").href = `/api/residents/${encodeURIComponent(id)}/statement.csv?${new URLSearchParams({ month: st.month })}`;
  const row = (item, k, extra) => h("tr", { "data-item": item }, h("th", { scope: "row" }, item), h("td", { class: "num" }, fmtK(k)), h("td", { class: "num" }, extra || ""));
  const meterRow = (m) =>
    h(
      "tr",
      { "data-statement-meter": m.meter },
      h("th", { scope: "row" }, m.meter, h("span", { class: "sub" }, ` ${m.kind}`)),
      h("td", { class: "num" }, fmtKwh(m.kwh)),
      h("td", { class: "num" }, m.kind === "producer" ? `earned ${fmtK(m.earned_k)}` : `charged ${fmtK(m.charged_k)}`),
      h("td", { class: "num" }, `funded ${fmtK(m.funded_k)}`),
    );
  replaceChildren(
    body,
    h("p", { class: "sub" }, `${st.resident}, ${st.month} (the grid's local time), from the chain's records.`),
    h(
      "table",
      { class: "table compact", id: "statement-money" },
      h("caption", {}, "Coins"),
      h("tbody", {}, row("purchases", st.purchases_k, `$${st.purchases_usd}`), row("fundings", st.fundings_k), row("earnings collected", st.collected_k), row("sales", st.sales_k, st.sales_paid_cents > 0 ? `$${st.sales_paid_usd} paid` : ""), row("taken back", st.clawed_back_k)),
    ),
    h(
      "table",
      { class: "table compact", id: "statement-meters" },
      h("caption", {}, "Meters"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Meter"), h("th", { scope: "col", class: "num" }, "Energy"), h("th", { scope: "col", class: "num" }, "Cost or earnings"), h("th", { scope: "col", class: "num" }, "Funded"))),
      h("tbody", {}, st.meters.map(meterRow)),
    ),
  );
}

function initResident() {
  const id = queryParam("id");
  if (id) {
    renderStatement(id);
    $("#statement-form").addEventListener("submit", (event) => {
      event.preventDefault();
      renderStatement(id, $("#statement-form").elements.month.value);
    });
    $("#statement-print").addEventListener("click", () => {
      document.body.classList.add("printing-statement");
      window.print();
      document.body.classList.remove("printing-statement");
    });
  }
  loadDirectory().then((state) => {
    const residents = (state && state.residents) || [];
    replaceChildren(
      $("#pick-list"),
      residents.length
        ? residents.map((r) => h("li", {}, h("a", { href: residentUrl(r.id), class: "chip" }, r.id, h("span", { class: "sub" }, fmtK(r.balance_k)))))
        : h("li", { class: "muted" }, state ? "No resident yet." : "Could not load the residents."),
    );
    if (!state) return;
    showGridName(state);
    fillDatalist($("#resident-ids"), residents.map((r) => r.id));
    fillDatalist($("#meter-ids"), (state.meters || []).map((m) => m.id));
    if (state.grid && state.grid.coin_price_usd) $("#coin-price").textContent = `1 k costs $${state.grid.coin_price_usd}.`;
  });

  if (!id) {
    $("#pick").hidden = false;
    const input = $("#pick-id");
    if (!input.value) input.value = remembered.get();
    return;
  }

  document.title = `${id} — community grid`;
  $("#resident").hidden = false;
  $("#resident-name").textContent = id;
  const form = $("#fund-form");
  const changed = memo();
  const fundMeter = (meterId) => {
    form.elements.meter.value = meterId;
    form.elements.amount_k.focus();
  };
  const status = $("#status");
  // Back from the processor's checkout: say how it went, then drop the parameter from the address.
  let checkout = queryParam("checkout");
  if (checkout === "cancelled") say(status, "Checkout cancelled; nothing was charged.", "");
  else if (/^cs_[A-Za-z0-9_]+$/.test(checkout)) say(status, "Payment received — your coins appear as soon as the processor confirms it.", "busy");
  else checkout = "";
  if (new URLSearchParams(location.search).has("checkout")) {
    const address = new URL(location.href);
    address.searchParams.delete("checkout");
    history.replaceState(history.state, "", address.href);
  }
  let payments = null;
  let checkoutEvent = "";
  /** A producer's earnings, collected into the resident's coins by the connected wallet. */
  const collectButton = (m) =>
    walletOwns(id) && (parseUnits(m.balance_k) || 0n) > 0n
      ? gridWallet.button({
          label: "Collect earnings",
          busyLabel: "Collecting…",
          path: `/api/pay/collect?${new URLSearchParams({ meter: m.id })}`,
          message: $("#meters-message"),
          ok: () => `Collected ${fmtK(m.balance_k)} earned by ${m.id} into your coins.`,
          done: () => feed.refresh(),
        })
      : null;

  const feed = live(
    () => api(`/api/residents/${encodeURIComponent(id)}`),
    (resident) => {
      remembered.set(id);
      $("#resident-name").textContent = resident.id || id;
      $("#owner").textContent = resident.owner || "—";
      showK($("#total"), resident.balance_k);
      showK($("#escrow"), resident.escrow_k);
      const locked = $("#locked");
      showK(locked, resident.locked_k);
      locked.parentElement.classList.toggle("stat-busy", (parseUnits(resident.locked_k) || 0n) > 0n);
      const held = $("#held");
      const holding = (parseUnits(resident.held_k) || 0n) > 0n && resident.next_release_ts;
      held.hidden = !holding;
      if (holding && changed("held", [resident.held_k, resident.next_release_ts])) {
        replaceChildren(held, `${fmtK(resident.held_k)} bought by card are on hold until `, timeEl(resident.next_release_ts), `: they fund meters now and can be sold then (you can sell ${fmtK(resident.sellable_k)} now).`);
      }
      const debt = $("#debt");
      const owes = (parseUnits(resident.debt_k) || 0n) > 0n;
      debt.hidden = !owes;
      if (owes) debt.textContent = `You owe ${fmtK(resident.debt_k)}: a refunded or disputed card purchase took back coins you had already used. It is repaid first from your next purchases and earnings; you cannot sell coins until then.`;
      if (checkout && checkout !== "cancelled") {
        // The chain records the checkout's payment (its PaymentIntent); the server says which
        // payment paid this checkout once its webhook applied it.
        if (!checkoutEvent) {
          api(`/api/payments/checkouts/${encodeURIComponent(checkout)}`)
            .then((found) => {
              if (found.applied && found.payment) {
                checkoutEvent = found.payment;
                feed.refresh();
              }
            })
            .catch(() => {});
        }
        const bought = checkoutEvent && (resident.history || []).find((e) => e.kind === "fiat" && (e.detail || "").includes(checkoutEvent));
        if (bought) {
          say(status, `Payment confirmed: ${fmtK(bought.amount_k)} added to your coins.`, "ok");
          checkout = "";
        }
      }
      if (payments) payments.render(resident);
      if (changed("meters", [resident.meters, walletOwns(id)])) {
        renderResidentMeters($("#my-meters"), resident.meters || [], fundMeter, collectButton);
        renderMeterCharts($("#my-meters"), resident.meters || []);
      }
      if (changed("history", resident.history)) renderHistory($("#history"), resident.history || []);
      if (!form.elements.meter.value && !form.dataset.prefilled) {
        const own = (resident.meters || []).find((m) => kindOf(m) !== "producer");
        if (own) form.elements.meter.value = own.id;
        form.dataset.prefilled = "yes";
      }
    },
    notFoundOr("resident", id),
  );
  wireFundForm(form, { from: id }, () => feed.refresh());
  payments = initPayments(id, feed);
  gridWallet.onChange(() => feed.refresh());
  feed.start();
}

initResident();

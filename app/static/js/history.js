// history.js — a resident's history as the chain recorded it (purchases, fundings, sales, earnings and their collection, refunds and disputes, the payout account), each line with its transaction.

import { h, replaceChildren } from "./dom.js";
import { fmtK, timeEl } from "./format.js";
import { meterUrl } from "./page.js";

/** A transaction's signature, shortened; the whole of it in its title (to copy into an explorer). */
function txEl(signature) {
  return h("code", { class: "tx", title: `Transaction ${signature}`, "data-signature": signature }, `tx ${signature.slice(0, 8)}…`);
}

export function renderHistory(list, history) {
  if (!history.length) {
    replaceChildren(list, h("li", { class: "muted" }, "Nothing yet: purchases, fundings, sales and earnings appear here as the chain records them."));
    return;
  }
  const what = {
    fiat: "Coins bought with dollars",
    funded: "Funded a meter",
    payout: "Solar earnings",
    collected: "Earnings collected",
    sale: "Coins sold for dollars",
    clawback: "A card purchase taken back",
    "payout-account": "Where sales are paid",
  };
  replaceChildren(
    list,
    history.map((e) =>
      h(
        "li",
        { class: `event event-${e.kind}`, "data-kind": e.kind },
        h("span", { class: "event-icon", "aria-hidden": "true" }),
        h(
          "div",
          { class: "event-body" },
          h("p", { class: "event-title" }, h("strong", {}, what[e.kind] || e.kind), e.meter ? [" · ", h("a", { href: meterUrl(e.meter) }, e.meter)] : null, e.epoch !== undefined && e.epoch !== null ? ` · epoch ${e.epoch}` : null),
          h("p", { class: "event-detail" }, e.detail || "", e.at !== undefined ? [" · ", timeEl(e.at)] : null, e.signature ? [" · ", txEl(e.signature)] : null),
        ),
        h("span", { class: "event-amount" }, e.kind === "payout-account" ? "" : fmtK(e.amount_k)),
      ),
    ),
  );
}

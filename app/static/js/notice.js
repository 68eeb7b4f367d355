// notice.js — what the utility proposed alone and waits for the grid's notice, as the map and meter pages show it: the notice itself, each pending change with when it takes effect, and what only a meter's owner does (the veto, the emergency credit).

import { api } from "./api.js";
import { h, say } from "./dom.js";
import { timeEl } from "./format.js";
import { gridWallet, walletOwns } from "./wallet.js";

/** "72 h", "2 h", "30 min", "no notice". */
export function noticeText(seconds) {
  const s = Number(seconds) || 0;
  if (s === 0) return "no notice: the utility's changes apply at once";
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.round(s / 60)} min`;
}

/** "in 1 h 59 min" from `now` to `at` (unix seconds). */
export function untilText(at, now) {
  const left = Math.max(0, Number(at) - Number(now));
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  return hours > 0 ? `in ${hours} h ${minutes} min` : `in ${minutes} min`;
}

/** One pending grid change: "tariff: 1.000000 k per kWh → 0.900000 k per kWh, from <time> (in 2 h)". */
export function gridChangeItem(change, now) {
  return h(
    "li",
    { "data-pending": change.what },
    h("strong", {}, change.what),
    `: ${change.from} → ${change.to}, from `,
    timeEl(change.effective_ts),
    ` (${untilText(change.effective_ts, now)}${change.effective_epoch !== null && change.effective_epoch !== undefined ? `, epoch ${change.effective_epoch}` : ""})`,
  );
}

/** One meter's pending change: "stadium: the utility proposed to set its capacity to 600.000 kW, from <time>". */
export function meterChangeItem(meter, now, link) {
  const change = meter.pending_change;
  return h(
    "li",
    { "data-pending-meter": meter.id },
    link ? h("a", { href: link }, meter.id) : h("strong", {}, meter.id),
    `: the utility proposed to ${change.act}, from `,
    timeEl(change.effective_ts),
    ` (${untilText(change.effective_ts, now)}). ${meter.owner} may veto it until then.`,
  );
}

/**
 * A button for what only `meter`'s owner may do: the owner's connected wallet signs it through
 * `payPath` (serve), or the demo's custody acts for the owner through `custodyPath`. `done`
 * says what happened (with the transaction's signature when the wallet signed); `onDone`
 * refreshes the page.
 */
export function ownerButton(meter, message, onDone, { id, label, busy, payPath, custodyPath, done }) {
  const button = h("button", { type: "button", class: "button button-small", id }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    say(message, busy, "busy");
    try {
      await gridWallet.ready;
      if (walletOwns(meter.owner)) {
        say(message, "Waiting for your wallet's signature…", "busy");
        const { signature } = await gridWallet.sign(`${payPath}?${new URLSearchParams({ meter: meter.id })}`);
        say(message, done(signature), "ok");
      } else {
        await api(custodyPath, { method: "POST", body: { meter: meter.id } });
        say(message, done(null), "ok");
      }
      onDone();
    } catch (error) {
      say(message, error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

const signed = (signature) => (signature ? ` (tx ${signature.slice(0, 8)}…)` : "");

/** The veto of `meter`'s pending change, by its owner. */
export function vetoButton(meter, message, onDone) {
  return ownerButton(meter, message, onDone, {
    id: "veto",
    label: `Veto as ${meter.owner}`,
    busy: "Vetoing…",
    payPath: "/api/pay/veto",
    custodyPath: "/api/veto",
    done: (signature) => `Vetoed: nothing changes on ${meter.id}${signed(signature)}.`,
  });
}

/** The grid's emergency credit for `meter`, taken by its owner. */
export function emergencyButton(meter, message, onDone) {
  const offered = meter.emergency_credit.offered_k;
  return ownerButton(meter, message, onDone, {
    id: "take-emergency",
    label: `Take ${offered} k of emergency credit as ${meter.owner}`,
    busy: "Taking the emergency credit…",
    payPath: "/api/pay/emergency-credit",
    custodyPath: "/api/emergency-credit",
    done: (signature) => `Emergency credit taken: ${meter.id} stays on until it owes ${offered} k${signed(signature)}.`,
  });
}

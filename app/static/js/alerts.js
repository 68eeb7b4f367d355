// alerts.js — the meter page's alerts: its owner sets a low-balance threshold and an e-mail;
// the server sends one notice per crossing (and per disconnection) by e-mail and to the
// utility's SMS webhook. In `deu serve` the owner's wallet signs the request; in the demo its
// custody does.

import { api } from "./api.js";
import { $, say } from "./dom.js";
import { parseUnits } from "./format.js";
import { gridWallet } from "./wallet.js";

/** The canonical text the owner's wallet signs (the server's `Subscription::message`). */
function message(grid, meter, units, email, at) {
  return `deu alerts: grid ${grid}, meter ${meter}, below ${units} units, e-mail ${email}, at ${at}`;
}

export async function initAlerts(meterId, grid) {
  const card = $("#alerts-card");
  let current;
  try {
    current = await api(`/api/alerts/${encodeURIComponent(meterId)}`);
  } catch {
    return;
  }
  card.hidden = !current.enabled;
  if (!current.enabled) return;
  const note = $("#alerts-now");
  note.textContent = current.threshold_k ? `Alerts below ${current.threshold_k} k${current.email ? `, to ${current.email}` : ""}.` : "No alert set.";
  const form = $("#alerts-form");
  const status = $("#alerts-message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const thresholdK = form.elements.threshold_k.value.trim();
    const email = form.elements.email.value.trim();
    if (parseUnits(thresholdK) === null) {
      say(status, "The threshold is an amount of k, e.g. 2.5", "error");
      return;
    }
    const body = { meter: meterId, threshold_k: thresholdK, email };
    try {
      await gridWallet.ready;
      if (gridWallet.serve) {
        const at = Math.floor(Date.now() / 1000);
        say(status, "Waiting for your wallet's signature…", "busy");
        body.signed_at = at;
        body.signature = await gridWallet.signMessage(message(grid, meterId, parseUnits(thresholdK).toString(), email, at));
      }
      const set = await api("/api/alerts", { method: "POST", body });
      say(status, `Alerts set: below ${set.threshold_k} k${set.email ? `, to ${set.email}` : ""}.`, "ok");
      note.textContent = `Alerts below ${set.threshold_k} k.`;
    } catch (error) {
      say(status, error.message, "error");
    }
  });
}

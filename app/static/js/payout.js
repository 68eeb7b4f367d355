// payout.js — the resident page's "Get paid": where the resident's sales are paid (the payment processor's connected account they bound on chain, with its bank's name and last digits), the processor's hosted onboarding to open or finish one, binding it (the demo's custody, or the resident's own wallet), and a change of payout account that waits for the grid's notice, with its cancel button.

import { api } from "./api.js";
import { $, h, replaceChildren, say } from "./dom.js";
import { sentence, timeEl } from "./format.js";
import { queryParam } from "./page.js";
import { gridWallet, walletOwns } from "./wallet.js";

/** The account this browser opened with the processor for resident `id`, kept across the visit to the processor's onboarding (never taken from the address bar). */
function openedAccount(id) {
  const key = `deu.connect.${id}`;
  return {
    get() {
      try {
        const account = localStorage.getItem(key);
        return account && /^acct_[A-Za-z0-9_]+$/.test(account) ? account : null;
      } catch {
        return null;
      }
    },
    set(account) {
      try {
        localStorage.setItem(key, account);
      } catch {
        /* private mode: the page asks again */
      }
    },
    clear() {
      try {
        localStorage.removeItem(key);
      } catch {
        /* nothing stored */
      }
    },
  };
}

/**
 * The "Get paid" part of the payments card. `settings` is `/api/payments`; `feed` the resident's
 * live data. Returns { render(resident), destination() }: `destination()` is the sentence naming
 * where sales are paid now (null when nowhere yet), for the sell form.
 */
export function initPayout(id, settings, feed) {
  const node = $("#get-paid");
  const status = $("#payout-status");
  const pending = $("#payout-pending");
  const actions = $("#payout-actions");
  const message = $("#payout-message");
  const opened = openedAccount(id);
  const accounts = new Map(); // acct_… → the server's view of it (bank, status)
  let resident = null;
  let busy = false;
  node.hidden = false;

  /** The server's view of a connected account, asked once per account and page. */
  async function account(acct) {
    if (!accounts.has(acct)) {
      accounts.set(
        acct,
        api(`/api/connect/${encodeURIComponent(acct)}`).catch((error) => ({ account: acct, error })),
      );
    }
    return accounts.get(acct);
  }
  const described = (view) => (view && view.describe) || (view && view.account) || "";

  /** Opens the processor's hosted onboarding: for the account bound, the one this browser opened and has not finished, or a new one. */
  async function onboard(unfinished) {
    if (busy) return;
    busy = true;
    say(message, "Opening the payment processor's onboarding…", "busy");
    try {
      const body = { resident: id };
      if (unfinished) body.account = unfinished;
      const result = await api("/api/connect", { method: "POST", body });
      if (result.account !== (resident && resident.payout_account)) opened.set(result.account);
      location.assign(result.url);
    } catch (error) {
      say(message, sentence(error.message), "error");
      busy = false;
    }
  }

  /** Binds `acct` to the resident: the demo's custody signs, or the resident's own wallet. */
  async function bind(acct) {
    if (busy) return;
    busy = true;
    say(message, "Binding your payout account…", "busy");
    try {
      let text;
      if (settings.custody === false) {
        const { answer } = await gridWallet.sign(`/api/pay/payout-account?${new URLSearchParams({ from: id, account: acct })}`);
        text = answer.message;
      } else {
        text = (await api("/api/payout-account", { method: "POST", body: { resident: id, account: acct } })).message;
      }
      opened.clear();
      say(message, sentence(text), "ok");
      feed.refresh();
    } catch (error) {
      say(message, sentence(error.message), "error");
    } finally {
      busy = false;
    }
  }

  /** Cancels the change of payout account that waits. */
  async function cancel() {
    if (busy) return;
    busy = true;
    say(message, "Cancelling the change…", "busy");
    try {
      let text;
      if (settings.custody === false) {
        const { answer } = await gridWallet.sign(`/api/pay/payout-cancel?${new URLSearchParams({ from: id })}`);
        text = answer.message;
      } else {
        text = (await api("/api/payout-account/cancel", { method: "POST", body: { resident: id } })).message;
      }
      say(message, sentence(text), "ok");
      feed.refresh();
    } catch (error) {
      say(message, sentence(error.message), "error");
    } finally {
      busy = false;
    }
  }

  const canSign = () => settings.custody !== false || walletOwns(id);
  const button = (attrs, label, onclick) => h("button", { type: "button", class: "button-quiet", ...attrs, onclick }, label);

  async function render(fresh) {
    resident = fresh;
    const bound = resident.payout_account;
    const waiting = resident.pending_payout_account;
    const boundView = bound ? await account(bound) : null;
    status.textContent = bound
      ? `Your sales are paid to ${described(boundView)}; the payment processor pays that account's bank on its schedule.`
      : "To sell coins for dollars, open a payout account with the payment processor (it asks for your name and bank account), then bind it here.";
    status.dataset.account = bound || "";

    if (waiting) {
      const view = await account(waiting);
      pending.hidden = false;
      replaceChildren(
        pending,
        h("p", {}, `From `, timeEl(resident.payout_change_ts), ` your sales will be paid to ${described(view)} instead of ${bound}. If you did not ask for this, cancel it now.`),
        canSign() ? button({ id: "payout-cancel" }, "Cancel this change", cancel) : h("p", { class: "sub" }, "Connect your wallet to cancel it."),
      );
    } else {
      pending.hidden = true;
      replaceChildren(pending);
    }

    // What this browser opened with the processor and has not bound yet.
    const mine = opened.get();
    const ready = mine && mine !== bound && mine !== waiting ? await account(mine) : null;
    const parts = [];
    if (ready && !ready.error && ready.transfers_enabled) {
      parts.push(
        h("p", { id: "payout-ready" }, `Your payout account ${described(ready)} is ready. ${bound ? `Switching takes the grid's notice (${settings.payout_notice || "a while"}); you can cancel it meanwhile.` : "Bind it to sell your coins for dollars."}`),
        canSign() ? button({ id: "payout-bind", class: "button" }, bound ? "Switch sales to this account" : "Use this account for my sales", () => bind(mine)) : h("p", { class: "sub" }, "Connect your wallet to bind it."),
      );
    } else if (ready && !ready.error) {
      parts.push(h("p", { id: "payout-unfinished" }, `The payment processor has not finished your account ${ready.account}: ${ready.status}.`));
    }
    const unfinished = ready && !ready.error && !ready.transfers_enabled && !bound ? mine : null;
    parts.push(button({ id: "payout-onboard" }, bound ? "Update payout details" : unfinished ? "Continue onboarding" : "Get paid", () => onboard(unfinished)));
    replaceChildren(actions, ...parts);
  }

  // Back from the processor's onboarding: say so, then drop the parameter from the address.
  const back = queryParam("connect");
  if (back === "return") say(message, "Back from the payment processor.", "");
  else if (back === "refresh") say(message, "The onboarding link expired: press the button to continue where you left off.", "error");
  if (back) {
    const address = new URL(location.href);
    address.searchParams.delete("connect");
    history.replaceState(history.state, "", address.href);
  }

  return {
    render: (fresh) => render(fresh).catch((error) => say(message, sentence(error.message), "error")),
    async destination() {
      // Asked before the page's first read of the resident came back (a quick click): read it now.
      if (!resident) resident = await api(`/api/residents/${encodeURIComponent(id)}`).catch(() => null);
      if (!resident || !resident.payout_account) return null;
      return described(await account(resident.payout_account));
    },
  };
}

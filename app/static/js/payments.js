// payments.js — the resident page's "Buy and sell coins": a buy form that opens the processor's checkout, "Get paid" (payout.js), a sell form whose dollars are transferred to the payout account the resident bound (signed by the connected wallet in `deu serve`), the server's quotes under both, coins on hold and debt, and the resident's sales.

import { api, ApiError } from "./api.js";
import { $, h, replaceChildren, say } from "./dom.js";
import { fmtK, fmtUnits, fmtUsd, parseCents, parseUnits, sentence } from "./format.js";
import { memo } from "./live.js";
import { quotes } from "./quote.js";
import { initPayout } from "./payout.js";
import { gridWallet, walletOwns } from "./wallet.js";

/** The page's memory of a sale the processor never answered: retried by its number so its coins are never locked twice. */
function saleMemory(id) {
  const key = `deu.sale.${id}`;
  return {
    get() {
      try {
        const sale = JSON.parse(sessionStorage.getItem(key) || "null");
        return sale && Number.isInteger(sale.sale) && sale.sale >= 0 ? sale : null;
      } catch {
        return null;
      }
    },
    set(sale) {
      try {
        sessionStorage.setItem(key, JSON.stringify(sale));
      } catch {
        /* private mode: remembered for this page only */
      }
    },
    clear() {
      try {
        sessionStorage.removeItem(key);
      } catch {
        /* nothing stored */
      }
    },
  };
}

/** What each state of a sale means to its seller. */
const SALE_STATES = {
  requested: "signed, waiting for its transfer",
  locked: "being transferred",
  paid: "transferred to your payout account",
  returned: "transfer refused: coins returned",
  reversed: "transfer reversed: coins given back",
  clawed_back: "taken back: a purchase was refunded or disputed",
};

/** Disables a form's submit button and marks the form busy; returns the function that undoes it. */
function holdForm(form, busyLabel) {
  const button = form.querySelector('button[type="submit"]');
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busyLabel;
  form.setAttribute("aria-busy", "true");
  return () => {
    button.textContent = label;
    button.disabled = false;
    form.removeAttribute("aria-busy");
  };
}

/**
 * The "Buy and sell coins" card: what the server's payment settings allow, a buy form that opens
 * the processor's checkout, "Get paid", and a sell form whose dollars go to the payout account
 * the resident bound (never to one the page or a link names).
 * `feed` is the resident's live data (to hold polls during a sale and read again after it).
 * Returns { render(resident) }, called with each fresh read of the resident.
 */
export function initPayments(id, feed) {
  const node = $("#payments");
  const trade = $("#trade");
  const buyForm = $("#buy-form");
  const sellForm = $("#sell-form");
  const buyMessage = $("#buy-message");
  const sellMessage = $("#sell-message");
  const retryNote = $("#sell-retry");
  const memory = saleMemory(id);
  let settings = null;
  let balance = null; // the coins the resident may sell now, in millionths of a k
  let sellBusy = false;
  let buyBusy = false;
  let payout = null; // "Get paid", once the server's settings are known
  let watchedTransfer = null; // { id, sold_k, usd }: a sale this page sent whose transfer is not yet recorded

  const range = (side) => (settings && settings[side] ? ` Between $${settings[side].min_usd} and $${settings[side].max_usd}.` : "");

  /** Quotes once the server takes payments (the buy and sell forms show then). */
  const quoting = () => Boolean(settings && settings.configured);
  const quoted = { buy: quotes("buy", () => requote()), sell: quotes("sell", () => requote()) };

  /**
   * The server's quote under an amount: what it buys, or what selling it takes, at the grid's
   * price. Written only when it changes (it is a live region and polls re-run this); while the
   * server is asked, the previous line stays.
   */
  function quote(input, out, side) {
    const put = (text, warn = false) => {
      if (out.textContent !== text) out.textContent = text;
      out.classList.toggle("warn", warn);
    };
    const text = input.value.trim();
    if (!text || !quoting()) return put(range(side).trim());
    const answer = quoted[side].get(text);
    if (!answer) return;
    if (!answer.quote) return put(answer.error.status === 400 ? "Enter dollars and cents, such as 5.00." : sentence(answer.error.message), true);
    const { usd, coins_k: coins } = answer.quote;
    if (side === "buy") return put(`$${usd} buys ${fmtK(coins)}.${range(side)}`);
    const short = balance !== null && parseUnits(coins) > balance;
    return put(`$${usd} sells ${fmtK(coins)}.${short ? ` You can sell ${fmtUnits(balance)} now.` : range(side)}`, short);
  }
  const buyInput = buyForm.elements.usd;
  const sellInput = sellForm.elements.usd;
  const saleInput = sellForm.elements.sale;
  /** Without the server's custody the resident signs the sale: here, with the connected wallet. */
  const walletSells = () => Boolean(settings && settings.custody === false && walletOwns(id));
  /** Without the server's custody the resident signs the sale: the exact command for this amount. */
  function signCommand() {
    const out = $("#sell-command");
    const text = sellInput.value.trim();
    const answer = text && quoting() ? quoted.sell.get(text) : { quote: null };
    if (!answer) return; // the server is asked; its answer runs this again
    if (!answer.quote) {
      out.textContent = "Sign a sale first: enter the amount above to see the command.";
      return;
    }
    out.textContent = `Sign it with your own wallet: deu withdraw request ${answer.quote.coins_k} --from ${id} (it prints the sale's number).`;
  }
  const requote = () => {
    quote(buyInput, $("#buy-quote"), "buy");
    quote(sellInput, $("#sell-quote"), "sell");
    if (settings && settings.custody === false && !walletSells()) signCommand();
  };
  /** Serve mode: the connected wallet signs sales, or else the command and the sale's number. */
  function showSigning() {
    if (!settings || settings.custody !== false) return;
    $("#sell-sale-field").hidden = walletSells();
    const note = $("#sell-signing");
    if (note) {
      note.textContent = walletSells()
        ? "Your connected wallet signs each sale: only a transfer to the payout account you bound can take the coins."
        : "To sell, sign the sale with your own wallet (connect it above, or deu withdraw request …): only a transfer to the payout account you bound can take the coins.";
    }
    requote();
  }
  gridWallet.onChange(showSigning);
  buyInput.addEventListener("input", requote);
  sellInput.addEventListener("input", requote);

  function showRetry() {
    const sale = memory.get();
    retryNote.hidden = !sale;
    // A sale waiting for a retry is sent again exactly as before (the processor refuses other details).
    sellInput.readOnly = Boolean(sale);
    if (!sale) return (retryNote.textContent = "");
    sellInput.value = sale.usd;
    retryNote.textContent = `Your sale of $${sale.usd} (sale ${sale.sale}) did not reach the payment processor; its coins stay locked for it. Press "Sell coins" to send the same sale again: it is never made twice.`;
    requote();
  }

  async function load() {
    try {
      settings = await api("/api/payments");
    } catch (error) {
      replaceChildren(node, h("p", { class: "notice" }, `Buying and selling coins is not available right now (${error.message}).`));
      node.dataset.configured = "false";
      return;
    }
    node.dataset.configured = String(Boolean(settings.configured));
    if (!settings.configured) {
      replaceChildren(node, h("p", { class: "notice" }, settings.message || "Buying and selling coins is not configured on this server."));
      return;
    }
    if (settings.coin_price_usd) $("#coin-price").textContent = `1 k costs $${settings.coin_price_usd}.`;
    replaceChildren(
      node,
      settings.test_mode
        ? h(
            "div",
            { id: "test-mode", class: "test-mode", role: "note" },
            h("span", { class: "test-badge" }, "Test mode"),
            h("p", {}, "Test mode: no real money. Test card ", h("code", {}, "4242 4242 4242 4242"), " (", h("code", {}, "4000 0000 0000 0259"), " pays, then is disputed); the processor's onboarding takes its test bank account ", h("code", {}, "000123456789"), "."),
          )
        : h("p", { class: "sub" }, "Payments go through the grid's payment processor in real money."),
      settings.custody === false ? h("p", { id: "sell-signing", class: "notice" }) : null,
    );
    if (settings.card_hold) $("#buy-hold").textContent = `Coins bought by card fund meters at once and can be sold after ${settings.card_hold}.`;
    $("#sell-sale-field").hidden = settings.custody !== false;
    payout = initPayout(id, settings, feed);
    showSigning();
    node.dataset.testMode = String(Boolean(settings.test_mode));
    trade.hidden = false;
    showRetry();
    requote();
  }

  buyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (buyBusy) return;
    const usd = buyInput.value.trim();
    if (!usd) {
      say(buyMessage, "Enter how many dollars of coins to buy, such as 5.00.", "error");
      buyInput.focus();
      return;
    }
    buyBusy = true;
    const release = holdForm(buyForm, "Opening checkout…");
    say(buyMessage, "");
    let leaving = false;
    try {
      const result = await api("/api/buy", { method: "POST", body: { resident: id, usd } });
      let target = null;
      try {
        target = new URL(result.checkout_url, location.href);
      } catch {
        target = null;
      }
      if (!target || !/^https?:$/.test(target.protocol)) throw new ApiError("The server did not send a checkout page to open.", 0);
      say(buyMessage, `Opening the payment processor's checkout for $${result.usd} (${fmtK(result.coins_k)})…`, "busy");
      leaving = true;
      location.assign(target.href);
    } catch (error) {
      say(buyMessage, sentence(error.message), "error");
    } finally {
      // While the browser leaves for the checkout the button stays disabled; coming back (Back) re-enables it.
      if (!leaving) {
        release();
        buyBusy = false;
      } else {
        window.addEventListener(
          "pageshow",
          () => {
            release();
            buyBusy = false;
            say(buyMessage, "");
          },
          { once: true },
        );
      }
    }
  });

  sellForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sellBusy) return;
    const sale = memory.get();
    const usd = sellInput.value.trim();
    if (!usd) {
      say(sellMessage, "Enter how many dollars of coins to sell, such as 1.00.", "error");
      sellInput.focus();
      return;
    }
    // Busy before anything is awaited: a double click sends one sale.
    sellBusy = true;
    const destination = payout ? await payout.destination() : null;
    if (!destination && !sale) {
      sellBusy = false;
      say(sellMessage, "Bind a payout account first (Get paid, above): the dollars go only there.", "error");
      return;
    }
    const body = { resident: id, usd };
    let walletSale = false; // the connected wallet signs the sale first
    if (sale) body.sale = sale.sale;
    else if (walletSells()) walletSale = true;
    else if (settings && settings.custody === false) {
      const signed = saleInput.value.trim();
      if (!/^\d+$/.test(signed)) {
        sellBusy = false;
        say(sellMessage, "Sign the sale with your own wallet first (the command is under the form), then enter its number.", "error");
        saleInput.focus();
        return;
      }
      body.sale = Number(signed);
    }
    const release = holdForm(sellForm, "Selling…");
    say(sellMessage, "");
    try {
      const result = await feed.action(async () => {
        if (walletSale) {
          // The server quotes the coins this sale takes, the wallet signs the sale of them on
          // chain (to the payout account bound there), and the sale's number then asks for the transfer.
          const { quote: sold, error } = await quoted.sell.now(usd);
          if (!sold) throw error.status === 400 ? new ApiError("Enter dollars and cents, such as 1.00.", 400) : error;
          say(sellMessage, "Waiting for your wallet's signature on the sale…", "busy");
          const request = new URLSearchParams({ from: id, amount_k: sold.coins_k });
          body.sale = (await gridWallet.sign(`/api/pay/sell?${request}`)).answer.sale;
          say(sellMessage, `Sale ${body.sale} signed. Asking the payment processor for the transfer…`, "busy");
        }
        return api("/api/sell", { method: "POST", body });
      });
      memory.clear();
      if (!result.recorded) watchedTransfer = { id: result.transfer_id, sold_k: result.sold_k, usd: result.usd };
      say(
        sellMessage,
        `Sold: $${result.usd} transferred to ${destination || result.destination} (transfer ${result.transfer_id}); ${fmtK(result.sold_k)} ${result.recorded ? "burned" : "are burned as soon as the chain records it"}. The payment processor pays it to your bank on its schedule.`,
        "ok",
      );
      sellInput.value = "";
    } catch (error) {
      const number = (/"sale": (\d+)/.exec(error.message) || [])[1];
      if (error.status === 503 && number !== undefined) {
        const cents = parseCents(usd);
        memory.set({ sale: Number(number), usd: cents === null ? usd : fmtUsd(cents).slice(1) });
      } else if (sale && (error.status === 502 || error.status === 403 || error.status === 404 || (error.status === 409 && /ended/.test(error.message)))) {
        memory.clear(); // the sale's coins came back (or the sale is not this one): a new sale starts afresh
      }
      say(sellMessage, sentence(error.message), "error");
    } finally {
      release();
      sellBusy = false;
      showRetry();
      requote();
      feed.refresh();
    }
  });

  const salesChanged = memo();
  /** The resident's sales as the chain holds them, newest first; the wallet can cancel those still waiting. */
  function renderSales(sales) {
    const owns = walletOwns(id);
    if (!salesChanged("sales", [sales, owns])) return;
    $("#sales").hidden = sales.length === 0;
    $("#sales-action").hidden = !owns;
    const cancel = (sale) =>
      gridWallet.button({
        label: "Cancel",
        busyLabel: "Cancelling…",
        path: `/api/pay/cancel?${new URLSearchParams({ from: id, sale: String(sale.number) })}`,
        message: sellMessage,
        ok: () => {
          if (memory.get() && memory.get().sale === sale.number) memory.clear();
          return `Sale ${sale.number} cancelled: its ${fmtK(sale.coins_k)} are back in your coins.`;
        },
        done: () => {
          showRetry();
          feed.refresh();
        },
      });
    replaceChildren(
      $("#sales-rows"),
      ...sales.map((sale) =>
        h(
          "tr",
          { "data-sale": String(sale.number), "data-status": sale.status },
          h("td", {}, `#${sale.number}`),
          h("td", {}, fmtK(sale.coins_k)),
          h("td", {}, sale.usd ? `$${sale.usd}` : "—"),
          h("td", {}, SALE_STATES[sale.status] || sale.status),
          owns ? h("td", {}, sale.status === "requested" ? cancel(sale) : null) : null,
        ),
      ),
    );
  }

  load();

  return {
    render(resident) {
      balance = parseUnits(resident.sellable_k || resident.balance_k);
      requote();
      renderSales(resident.sales || []);
      if (payout) {
        payout.render(resident);
        payout.destination().then((where) => {
          const line = $("#sell-destination");
          const text = where ? `Paid to ${where}.` : "Bind a payout account (Get paid, above) to sell: the dollars go only there.";
          if (line.textContent !== text) line.textContent = text;
        });
      }
      if (!watchedTransfer) return;
      const ended = (resident.history || []).find((e) => e.kind === "sale" && (e.detail || "").includes(watchedTransfer.id));
      if (!ended) return;
      const made = /transferred/.test(ended.detail);
      say(
        sellMessage,
        made
          ? `Transfer ${watchedTransfer.id} recorded: $${watchedTransfer.usd} transferred and ${fmtK(watchedTransfer.sold_k)} burned.`
          : `Transfer ${watchedTransfer.id} was reversed: your ${fmtK(watchedTransfer.sold_k)} were given back.`,
        made ? "ok" : "error",
      );
      watchedTransfer = null;
    },
  };
}

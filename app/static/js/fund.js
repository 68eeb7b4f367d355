// fund.js — the "Fund a meter" form of the resident and meter pages: the demo's custody funds through POST /api/fund, a connected wallet signs the funding itself.

import { api } from "./api.js";
import { $, h, say } from "./dom.js";
import { fmtK } from "./format.js";
import { stateWord } from "./meters.js";
import { remembered } from "./page.js";
import { gridWallet, walletOwns } from "./wallet.js";

/**
 * The fund form shared by the resident and meter pages. `fixed` holds the field the page
 * already knows (`from` on the resident page, `meter` on the meter page).
 */
export function wireFundForm(form, fixed, onFunded) {
  const message = $("#message");
  const field = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
  const fields = () => ({
    from: fixed.from !== undefined ? fixed.from : field("from"),
    meter: fixed.meter !== undefined ? fixed.meter : field("meter"),
    amount_k: field("amount_k"),
  });
  // With the resident's wallet connected here, the Solana Pay request stays at hand for phones.
  const phone = h("p", { class: "pay-hint", hidden: true }, h("a", {}, "On a phone? Sign this funding with a Solana Pay wallet instead"));
  message.after(phone);
  const showPhone = () => {
    const body = fields();
    phone.hidden = !(walletOwns(body.from) && body.meter && body.amount_k);
    if (!phone.hidden) phone.firstChild.href = gridWallet.payLink(`/api/pay/fund?${new URLSearchParams(body)}`);
  };
  form.addEventListener("input", showPhone);
  gridWallet.onChange(showPhone);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = fields();
    const button = form.querySelector('button[type="submit"]');
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Sending…";
    form.setAttribute("aria-busy", "true");
    // #message only ever holds the outcome: the server's error sentence or the success line.
    say(message, "");
    const hint = message.nextElementSibling;
    if (hint && hint.classList.contains("wallet-hint")) hint.remove();
    try {
      await gridWallet.ready;
      if (walletOwns(body.from)) {
        // The resident's own wallet signs the funding; the server relays it.
        say(message, "Waiting for your wallet's signature…", "busy");
        const { signature } = await gridWallet.sign(`/api/pay/fund?${new URLSearchParams(body)}`);
        const meter = await api(`/api/meters/${encodeURIComponent(body.meter)}`).catch(() => null);
        say(message, `Funded ${body.meter} with ${body.amount_k} k, signed by your wallet (tx ${signature.slice(0, 8)}…).${meter ? ` It now holds ${fmtK(meter.balance_k)} and is ${stateWord(meter)}.` : ""}`, "ok");
        if (form.elements.amount_k) form.elements.amount_k.value = "";
        remembered.set(body.from);
        showPhone();
        onFunded(null);
        return;
      }
      const result = await api("/api/fund", { method: "POST", body });
      const meter = result.meter || {};
      const resident = result.resident || {};
      say(
        message,
        `Funded ${meter.id || body.meter} with ${body.amount_k} k. It now holds ${fmtK(meter.balance_k)} and is ${stateWord(meter)}. ` +
          `${resident.id || body.from} has ${fmtK(resident.balance_k)} left.`,
        "ok",
      );
      if (form.elements.amount_k) form.elements.amount_k.value = "";
      if (body.from) remembered.set(body.from);
      onFunded(result);
    } catch (error) {
      say(message, error.message, "error");
      if (error.status === 403 && body.from && body.meter && body.amount_k) {
        // Outside the demo the server holds no keys: offer the Solana Pay transaction request.
        const query = new URLSearchParams({ from: body.from, meter: body.meter, amount_k: body.amount_k });
        const link = `solana:${encodeURIComponent(`${location.origin}/api/pay/fund?${query}`)}`;
        message.after(h("p", { class: "wallet-hint" }, h("a", { href: link }, "Sign this funding with your Solana wallet instead")));
      }
    } finally {
      button.textContent = label;
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}

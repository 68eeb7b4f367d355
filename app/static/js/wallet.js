// wallet.js — residents' own wallets on the pages (in `deu serve`, where the server holds no key): Wallet Standard discovery without a bundle, the wallet bar in the header, "Join the grid" on the map, and signing the server's transaction requests (POST /api/pay/… → the wallet signs → POST /api/send). Every page imports it; `gridWallet` is what the pages use.

import { api, ApiError } from "./api.js";
import { toBase58 } from "./base58.js";
import { h, say } from "./dom.js";
import { sentence } from "./format.js";
import { residentUrl } from "./page.js";

const CONNECT = "standard:connect";
const DISCONNECT = "standard:disconnect";
const EVENTS = "standard:events";
const SIGN = "solana:signTransaction";
const SIGN_AND_SEND = "solana:signAndSendTransaction";
const REMEMBERED = "deu.wallet"; // the name of the wallet last connected, to reconnect silently
const NO_WALLET = "No Solana wallet found — install Phantom, Solflare or Backpack";

/** GET `path`, or POST `body` as JSON (a transaction request, a signed transaction to send). */
const request = (path, body) => api(path, body === undefined ? {} : { method: "POST", body });

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const toBase64 = (bytes) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));

const shortAddress = (address) => (address.length > 12 ? `${address.slice(0, 4)}…${address.slice(-4)}` : address);
const storage = {
  get() {
    try {
      return localStorage.getItem(REMEMBERED) || "";
    } catch {
      return "";
    }
  },
  set(name) {
    try {
      if (name) localStorage.setItem(REMEMBERED, name);
      else localStorage.removeItem(REMEMBERED);
    } catch {
      /* private mode: nothing remembered */
    }
  },
};

/* ---------------------------------------------------------------- */
/* State                                                             */
/* ---------------------------------------------------------------- */

const state = {
  serve: null, // true in `deu serve` (residents sign), false in the demo; null until known
  chain: null, // the server's cluster as a Wallet Standard chain, e.g. "solana:localnet"
  wallet: null, // the connected wallet
  account: null, // its account in use
  residents: null, // the resident ids this account signs for (null: not known yet)
  menu: false, // the wallet list is open
  busy: false, // connecting
  note: "", // the last connection problem, said in the bar
};
const wallets = new Set();
const listeners = new Set();
let stopEvents = null;
let triedSilently = new Set();

const chainsOf = (w) => (Array.isArray(w.chains) ? w.chains : []).filter((c) => typeof c === "string" && c.startsWith("solana:"));
/** A wallet the pages can use: it connects and signs transactions for a Solana chain. */
function usable(w) {
  const features = (w && w.features) || {};
  if (!features[CONNECT] || !chainsOf(w).length) return false;
  if (features[SIGN]) return true;
  // Sign-and-send only where the wallet itself reaches the cluster (never a local one).
  return Boolean(features[SIGN_AND_SEND] && state.chain && state.chain !== "solana:localnet" && chainsOf(w).includes(state.chain));
}
const usableWallets = () => [...wallets].filter(usable);

function changed() {
  render();
  for (const listener of listeners) {
    try {
      listener(gridWallet);
    } catch (error) {
      console.error(error);
    }
  }
}

/* ---------------------------------------------------------------- */
/* Wallet Standard: the app's side of the registration protocol     */
/* ---------------------------------------------------------------- */

const registryListeners = { register: new Set(), unregister: new Set() };
function register(...added) {
  const fresh = added.filter((w) => w && typeof w === "object" && !wallets.has(w));
  for (const w of fresh) wallets.add(w);
  if (fresh.length) {
    for (const listener of registryListeners.register) listener(...fresh);
    onWalletsChanged();
  }
  return function unregister() {
    for (const w of fresh) wallets.delete(w);
    for (const listener of registryListeners.unregister) listener(...fresh);
    if (state.wallet && !wallets.has(state.wallet)) forget(true);
    onWalletsChanged();
  };
}
const registry = Object.freeze({
  register,
  get: () => [...wallets],
  on(event, listener) {
    const set = registryListeners[event];
    if (!set) return () => {};
    set.add(listener);
    return () => set.delete(listener);
  },
});

function onWalletsChanged() {
  changed();
  if (state.serve && !state.account) reconnect();
}

/* ---------------------------------------------------------------- */
/* Connecting                                                        */
/* ---------------------------------------------------------------- */

async function loadResidents() {
  const address = state.account && state.account.address;
  if (!address) {
    state.residents = null;
    return;
  }
  try {
    const answer = await request(`/api/wallets/${encodeURIComponent(address)}`);
    if (state.account && state.account.address === address) state.residents = Array.isArray(answer.residents) ? answer.residents : [];
  } catch {
    if (state.account && state.account.address === address) state.residents = [];
  }
}

function use(wallet, accounts) {
  const account = accounts.find((a) => a && typeof a.address === "string" && (!a.chains || a.chains.some((c) => String(c).startsWith("solana:")))) || null;
  if (!account) return false;
  if (stopEvents && state.wallet !== wallet) {
    stopEvents();
    stopEvents = null;
  }
  state.wallet = wallet;
  state.account = account;
  state.residents = null;
  state.note = "";
  storage.set(wallet.name);
  const events = wallet.features[EVENTS];
  if (!stopEvents && events && typeof events.on === "function") {
    stopEvents = events.on("change", (properties) => {
      if (state.wallet !== wallet || !properties || !properties.accounts) return;
      const now = wallet.accounts || [];
      const same = now.find((a) => state.account && a.address === state.account.address);
      if (same) state.account = same;
      else if (!use(wallet, now)) forget(false);
      loadResidents().then(changed);
    });
  }
  return true;
}

/** Drops the connection; unless `keepRemembered`, the next pages forget the wallet too. */
function forget(keepRemembered) {
  if (stopEvents) stopEvents();
  stopEvents = null;
  state.wallet = null;
  state.account = null;
  state.residents = null;
  if (!keepRemembered) storage.set("");
}

async function connect(wallet, silent) {
  state.busy = true;
  state.menu = false;
  if (!silent) state.note = "";
  changed();
  try {
    const answer = await wallet.features[CONNECT].connect(silent ? { silent: true } : undefined);
    const accounts = (answer && answer.accounts && answer.accounts.length ? answer.accounts : wallet.accounts) || [];
    if (use(wallet, [...accounts])) await loadResidents();
    else if (!silent) state.note = `${wallet.name} shared no Solana account.`;
  } catch (error) {
    if (!silent) state.note = `${wallet.name} did not connect: ${sentence(error && error.message ? error.message : "it said no")}`;
  } finally {
    state.busy = false;
    changed();
  }
}

/** The wallet remembered from an earlier page, reconnected without asking (if it still trusts this site). */
async function reconnect() {
  const name = storage.get();
  if (!name || state.account || state.busy) return;
  const wallet = usableWallets().find((w) => w.name === name);
  if (!wallet || triedSilently.has(wallet)) return;
  triedSilently.add(wallet);
  await connect(wallet, true);
}

async function disconnect() {
  const wallet = state.wallet;
  forget(false);
  triedSilently = new Set();
  changed();
  const feature = wallet && wallet.features[DISCONNECT];
  if (feature && typeof feature.disconnect === "function") {
    try {
      await feature.disconnect();
    } catch {
      /* disconnected on this page all the same */
    }
  }
}

/* ---------------------------------------------------------------- */
/* Signing the server's transaction requests                        */
/* ---------------------------------------------------------------- */

/**
 * POSTs the transaction request `path` (e.g. "/api/pay/fund?from=…") for the connected
 * account, has the wallet sign it and sends it through POST /api/send. Resolves to
 * { signature, answer } (the request's answer, e.g. a sale's number); rejects with the
 * server's or the wallet's sentence.
 */
async function sign(path) {
  const { wallet, account } = state;
  if (!wallet || !account) throw new ApiError("Connect your wallet first.");
  const answer = await request(path, { account: account.address });
  const transaction = fromBase64(answer.transaction);
  const chain = state.chain || chainsOf(account).concat(chainsOf(wallet))[0];
  const signer = wallet.features[SIGN];
  let signature;
  if (signer) {
    let output;
    try {
      [output] = await signer.signTransaction({ account, transaction, chain });
    } catch (error) {
      throw new ApiError(`Your wallet did not sign: ${sentence(error && error.message ? error.message : "it said no")}`);
    }
    if (!output || !output.signedTransaction) throw new ApiError("Your wallet returned no signed transaction.");
    ({ signature } = await request("/api/send", { transaction: toBase64(output.signedTransaction) }));
  } else {
    let output;
    try {
      [output] = await wallet.features[SIGN_AND_SEND].signAndSendTransaction({ account, transaction, chain });
    } catch (error) {
      throw new ApiError(`Your wallet did not send it: ${sentence(error && error.message ? error.message : "it said no")}`);
    }
    signature = toBase58(output.signature);
  }
  return { signature, answer };
}

/**
 * Has the connected wallet sign `text` (Wallet Standard `solana:signMessage`): resolves to the
 * signature in base58; rejects with a sentence when the wallet cannot or will not.
 */
async function signMessage(text) {
  const { wallet, account } = state;
  if (!wallet || !account) throw new ApiError("Connect your wallet first.");
  const feature = wallet.features["solana:signMessage"];
  if (!feature) throw new ApiError("Your wallet cannot sign messages: set alerts with another wallet, or ask the utility.");
  let output;
  try {
    [output] = await feature.signMessage({ account, message: new TextEncoder().encode(text) });
  } catch (error) {
    throw new ApiError(`Your wallet did not sign: ${sentence(error && error.message ? error.message : "it said no")}`);
  }
  return toBase58(output.signature);
}

/**
 * A button that has the connected wallet sign the transaction request `path`, says how it
 * went in the `message` element (`ok(answer)` on success, the sentence of a refusal
 * otherwise) and then calls `done`.
 */
function button({ label, busyLabel, path, message, ok, done }) {
  const node = h("button", { type: "button", class: "button-quiet" }, label);
  node.addEventListener("click", async () => {
    if (node.disabled) return;
    node.disabled = true;
    node.textContent = busyLabel;
    node.setAttribute("aria-busy", "true");
    say(message, "Waiting for your wallet's signature…", "busy");
    try {
      const { answer } = await sign(path);
      say(message, ok(answer), "ok");
    } catch (error) {
      say(message, sentence(error.message), "error");
    } finally {
      node.textContent = label;
      node.disabled = false;
      node.removeAttribute("aria-busy");
      if (done) done();
    }
  });
  return node;
}

/* ---------------------------------------------------------------- */
/* The wallet bar (every page's header)                             */
/* ---------------------------------------------------------------- */

let bar = null;

function icon(w) {
  const src = typeof w.icon === "string" && /^data:image\//.test(w.icon) ? w.icon : null;
  return src ? h("img", { class: "wallet-icon", src, alt: "", width: 20, height: 20 }) : h("span", { class: "wallet-icon wallet-icon-blank", "aria-hidden": "true" });
}

function render() {
  if (!bar) {
    const topbar = document.querySelector(".topbar");
    if (!topbar) return;
    bar = h("div", { id: "wallet-bar", class: "wallet-bar", hidden: true });
    topbar.append(bar);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.menu) {
        state.menu = false;
        render();
      }
    });
    document.addEventListener("click", (event) => {
      // The path as dispatched: the bar re-renders, so the clicked node may be gone by now.
      if (state.menu && !event.composedPath().includes(bar)) {
        state.menu = false;
        render();
      }
    });
  }
  bar.hidden = state.serve !== true;
  const found = usableWallets();
  const mode = state.serve !== true ? "off" : state.account ? "connected" : found.length ? "disconnected" : "none";
  bar.dataset.state = mode;
  const note = state.note ? h("span", { class: "wallet-note", role: "status" }, state.note) : "";
  if (mode === "off") bar.replaceChildren();
  else if (mode === "connected") {
    bar.replaceChildren(
      h("span", { class: "wallet-who" }, icon(state.wallet), h("code", { id: "wallet-address", class: "wallet-address", title: `${state.wallet.name}: ${state.account.address}` }, shortAddress(state.account.address))),
      h("button", { id: "wallet-disconnect", type: "button", class: "wallet-button", onclick: disconnect }, "Disconnect"),
    );
  } else if (mode === "none") {
    bar.replaceChildren(h("span", { id: "wallet-none", class: "wallet-none" }, NO_WALLET), note);
  } else {
    const toggle = h(
      "button",
      {
        id: "wallet-connect",
        type: "button",
        class: "wallet-button wallet-connect",
        "aria-haspopup": "true",
        "aria-expanded": String(state.menu),
        "aria-controls": "wallet-menu",
        disabled: state.busy,
        onclick: () => {
          state.menu = !state.menu;
          render();
        },
      },
      state.busy ? "Connecting…" : "Connect wallet",
    );
    const menu = state.menu
      ? h(
          "ul",
          { id: "wallet-menu", class: "wallet-menu", "aria-label": "Wallets found in this browser" },
          found.map((w) => h("li", {}, h("button", { type: "button", class: "wallet-choice", "data-wallet": w.name, onclick: () => connect(w, false) }, icon(w), h("span", {}, w.name)))),
        )
      : "";
    bar.replaceChildren(toggle, menu, note);
  }
  renderJoin();
}

/* ---------------------------------------------------------------- */
/* The map's "Your wallet" card: join the grid, or open your pages   */
/* ---------------------------------------------------------------- */

let joinWired = false;

function renderJoin() {
  const card = document.getElementById("wallet-card");
  if (!card) return;
  card.hidden = state.serve !== true;
  if (card.hidden) return;
  const intro = document.getElementById("wallet-intro");
  const list = document.getElementById("wallet-residents");
  const form = document.getElementById("join-form");
  const ids = state.residents || [];
  let text;
  if (!state.account) text = usableWallets().length ? "Connect your Solana wallet (top right) to join the grid or to open your resident page." : `${NO_WALLET}, then come back to join the grid.`;
  else if (state.residents === null) text = "Looking up the residents this wallet signs for…";
  else if (ids.length) text = ids.length === 1 ? "Your wallet signs for this resident:" : "Your wallet signs for these residents:";
  else text = "This wallet is not a resident yet. Choose an id to join the grid: your wallet signs the registration and pays its small network fee.";
  if (intro.textContent !== text) intro.textContent = text;
  const links = ids.map((id) => h("li", {}, h("a", { class: "chip", href: residentUrl(id) }, id)));
  const key = JSON.stringify(ids);
  if (list.dataset.ids !== key) {
    list.replaceChildren(...links);
    list.dataset.ids = key;
  }
  list.hidden = !ids.length;
  form.hidden = !state.account || state.residents === null || ids.length > 0;
  if (!joinWired) wireJoin(form);
}

function wireJoin(form) {
  joinWired = true;
  const message = document.getElementById("join-message");
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const id = form.elements.id.value.trim();
    if (!id) {
      say(message, "Enter the resident id you want, such as carol-2.", "error");
      form.elements.id.focus();
      return;
    }
    busy = true;
    const button = form.querySelector('button[type="submit"]');
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Joining…";
    form.setAttribute("aria-busy", "true");
    say(message, "Waiting for your wallet's signature…", "busy");
    let leaving = false;
    try {
      await sign(`/api/pay/register?${new URLSearchParams({ id })}`);
      say(message, `Welcome, ${id}: you are a resident of the grid. Opening your page…`, "ok");
      leaving = true;
      location.assign(residentUrl(id));
    } catch (error) {
      say(message, sentence(error.message), "error");
    } finally {
      if (!leaving) {
        button.textContent = label;
        button.disabled = false;
        form.removeAttribute("aria-busy");
        busy = false;
      }
    }
  });
}

/* ---------------------------------------------------------------- */
/* Start: which server is this, then the remembered wallet          */
/* ---------------------------------------------------------------- */

const ready = (async () => {
  let server = null;
  try {
    server = await request("/api/state");
  } catch {
    server = null;
  }
  state.serve = Boolean(server) && server.demo === false;
  state.chain = (server && typeof server.chain === "string" && server.chain) || null;
  changed();
  if (state.serve) await reconnect();
})();

export const gridWallet = Object.freeze({
  /** Signs a text with the connected wallet (base58 signature). */
  signMessage,
  /** Resolves once the page knows the server's mode and has tried to reconnect the remembered wallet. */
  ready,
  /** True in `deu serve` (residents sign with their own wallets). */
  get serve() {
    return state.serve === true;
  },
  /** The connected account's address (base58), or null. */
  get address() {
    return state.account ? state.account.address : null;
  },
  /** The resident ids the connected wallet signs for. */
  get residents() {
    return [...(state.residents || [])];
  },
  /** Whether the connected wallet is resident `id`'s authority (it signs for it). */
  owns(id) {
    return Boolean(state.account && state.residents && state.residents.includes(id));
  },
  /** Calls `listener` on every change of mode, wallet, account or residents; returns the unsubscriber. */
  onChange(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** Reads the wallet's residents again (after a registration elsewhere). */
  async refresh() {
    await loadResidents();
    changed();
  },
  sign,
  button,
  /** The Solana Pay link of a transaction request, for a wallet on a phone. */
  payLink: (path) => `solana:${encodeURIComponent(`${location.origin}${path}`)}`,
});
// The browser tests (and a console) reach it here too.
window.gridWallet = gridWallet;

/** Whether the connected wallet signs for resident `id`. */
export const walletOwns = (id) => Boolean(id && gridWallet.owns(id));

// Now that the page's side is ready: wallets that loaded before it answer app-ready; wallets
// that load later announce themselves with register-wallet (as @wallet-standard/app's getWallets).
window.addEventListener("wallet-standard:register-wallet", (event) => {
  const callback = event && event.detail;
  if (typeof callback === "function") {
    try {
      callback(registry);
    } catch (error) {
      console.error(error);
    }
  }
});
try {
  window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: registry }));
} catch (error) {
  console.error(error);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render, { once: true });
else render();

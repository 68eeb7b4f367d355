// app.js — the front end of the three pages (map, resident, meter): API calls, live polling and rendering; every number shown comes from the server.
"use strict";

const POLL_MS = 2000;
const SVG_NS = "http://www.w3.org/2000/svg";

/* ------------------------------------------------------------------ */
/* Helpers: API, DOM building, formatting                             */
/* ------------------------------------------------------------------ */

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** GET `path` (or POST `body` as JSON when given); resolves to the JSON answer, rejects with the server's `error` sentence. */
async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("Cannot reach the server. Check the connection and try again.", 0);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && typeof data.error === "string" ? data.error : `The server answered ${response.status} ${response.statusText}`.trim();
    throw new ApiError(message, response.status);
  }
  if (data === null) throw new ApiError("The server sent an answer this page cannot read.", response.status);
  return data;
}

const $ = (selector, root = document) => root.querySelector(selector);

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  return node;
}

function appendAll(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** An HTML element: h("a", { href }, "text", child…). */
function h(tag, attrs, ...children) {
  return appendAll(setAttrs(document.createElement(tag), attrs), children);
}

/** An SVG element. */
function s(tag, attrs, ...children) {
  return appendAll(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

function replaceChildren(node, ...children) {
  node.replaceChildren();
  return appendAll(node, children);
}

const fmtK = (amount) => (amount === null || amount === undefined ? "—" : `${amount} k`);
const fmtKwh = (amount) => (amount === null || amount === undefined ? "— kWh" : `${amount} kWh`);

/** `at` is cluster time in unix seconds; shown in the reader's locale. */
function fmtAt(at) {
  if (at === null || at === undefined || at === "") return "";
  let date = null;
  if (typeof at === "number") date = new Date(at > 1e12 ? at : at * 1000);
  else if (!Number.isNaN(Date.parse(at))) date = new Date(at);
  if (!date || Number.isNaN(date.getTime())) return String(at);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function timeEl(at) {
  const text = fmtAt(at);
  if (!text) return null;
  const iso = typeof at === "number" ? new Date(at > 1e12 ? at : at * 1000).toISOString() : String(at);
  return h("time", { datetime: iso }, text);
}

const meterUrl = (id) => `meter.html?id=${encodeURIComponent(id)}`;
const residentUrl = (id) => `resident.html?id=${encodeURIComponent(id)}`;
const queryParam = (name) => (new URLSearchParams(location.search).get(name) || "").trim();

const KINDS = {
  producer: { name: "Solar roof", balance: "earned", balanceLong: "Earned in all (paid to the owner each hour)" },
  household: { name: "Household", balance: "prepaid", balanceLong: "Prepaid balance" },
  pole: { name: "Street light", balance: "prepaid", balanceLong: "Prepaid balance" },
  stadium: { name: "Stadium", balance: "prepaid", balanceLong: "Prepaid balance" },
  other: { name: "Meter", balance: "prepaid", balanceLong: "Prepaid balance" },
};
const kindOf = (meter) => (KINDS[meter.kind] ? meter.kind : "other");
// Consumers show their prepaid balance; producers what they have earned in all (the demo
// pays earnings out to their owners every hour, so the meter's own balance is usually zero).
const shownBalance = (m) => (kindOf(m) === "producer" && m.lifetime_k != null ? m.lifetime_k : m.balance_k);
const stateWord = (meter) => (meter.retired ? "retired" : meter.silent ? "silent" : meter.connected ? "connected" : "disconnected");

/** A coloured pill saying connected/disconnected (or retired). */
function statePill(meter) {
  return h("span", { class: `pill ${meter.connected ? "pill-on" : "pill-off"}${meter.retired ? " pill-retired" : ""}` }, stateWord(meter));
}

/** Shows `text` in a message element; kind is "ok", "error", "busy" or "" (plain). */
function say(node, text, kind = "") {
  if (!node) return;
  node.textContent = text || "";
  node.classList.remove("ok", "error", "busy");
  if (kind) node.classList.add(kind);
  node.dataset.kind = kind;
  if (node.hasAttribute("data-hide-empty")) node.hidden = !text;
}

/** Remembers the last resident this browser acted as, to prefill forms. */
const remembered = {
  get() {
    try {
      return localStorage.getItem("deu.resident") || "";
    } catch {
      return "";
    }
  },
  set(id) {
    try {
      localStorage.setItem("deu.resident", id);
    } catch {
      /* private mode: nothing to remember */
    }
  },
};

/**
 * Live data: polls `load` every 2 s and hands the answer to `render`. A poll is skipped while
 * another request is in flight; an answer that started before an action or a refresh is dropped,
 * so a stale read never overwrites a newer one.
 */
function live(load, render, onError) {
  let busy = false;
  let again = false;
  let actions = 0;
  let version = 0;
  let timer = null;

  async function poll() {
    if (busy || actions > 0) return;
    busy = true;
    const started = version;
    try {
      const data = await load();
      if (started === version) {
        render(data);
        onError(null);
      }
    } catch (error) {
      if (started === version) onError(error);
    } finally {
      busy = false;
      if (again) {
        again = false;
        poll();
      }
    }
  }

  return {
    start() {
      poll();
      timer = setInterval(() => {
        if (!document.hidden) poll();
      }, POLL_MS);
      document.addEventListener("visibilitychange", () => {
        if (!document.hidden) poll();
      });
    },
    /** Reads again now, dropping the answer of any poll already in flight. */
    refresh() {
      version++;
      if (busy) again = true;
      else poll();
    },
    /** Runs `fn` (a request) with polling held; resolves to its result. */
    async action(fn) {
      actions++;
      version++;
      try {
        return await fn();
      } finally {
        actions--;
        version++;
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** Only re-renders a part when its data changed, so focus and selection survive the 2 s polls. */
function memo() {
  const seen = new Map();
  return (key, value) => {
    const json = JSON.stringify(value);
    if (seen.get(key) === json) return false;
    seen.set(key, json);
    return true;
  };
}

function fillDatalist(list, ids) {
  if (!list) return;
  replaceChildren(list, ids.map((id) => h("option", { value: id })));
}

/** Header: the grid's name, once known. */
function showGridName(state) {
  const name = state && state.grid && state.grid.name;
  const node = $("#grid-name");
  if (name && node) node.textContent = `${name} grid`;
}

/** A poll error in the page's #status line; cleared on the next good answer. */
function pollErrorReporter() {
  const status = $("#status");
  let shown = false;
  return (error) => {
    if (error) {
      say(status, `Live updates paused: ${error.message}`, "error");
      shown = true;
    } else if (shown) {
      say(status, "");
      shown = false;
    }
  };
}

/* Residents' own wallets (wallet.js; only in `deu serve`, where the server holds no key) */

/** Whether the connected wallet signs for resident `id`. */
const walletOwns = (id) => Boolean(window.gridWallet && id && window.gridWallet.owns(id));

/**
 * The fund form shared by the resident and meter pages. `fixed` holds the field the page
 * already knows (`from` on the resident page, `meter` on the meter page).
 */
function wireFundForm(form, fixed, onFunded) {
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
    if (!phone.hidden) phone.firstChild.href = window.gridWallet.payLink(`/api/pay/fund?${new URLSearchParams(body)}`);
  };
  form.addEventListener("input", showPhone);
  if (window.gridWallet) window.gridWallet.onChange(showPhone);
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
      if (window.gridWallet) await window.gridWallet.ready;
      if (walletOwns(body.from)) {
        // The resident's own wallet signs the funding; the server relays it.
        say(message, "Waiting for your wallet's signature…", "busy");
        const { signature } = await window.gridWallet.sign(`/api/pay/fund?${new URLSearchParams(body)}`);
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

/* ------------------------------------------------------------------ */
/* Meter glyphs (shared by the map and the meter page)                */
/* ------------------------------------------------------------------ */

/** A simple drawing of a meter's kind, centred on (0, 0), about 60 × 56 units. */
function glyph(kind) {
  const g = s("g", { class: `glyph glyph-${kind}`, "aria-hidden": "true" });
  switch (kind) {
    case "producer": {
      const rays = [];
      for (let i = 0; i < 8; i++) {
        const a = (i * Math.PI) / 4;
        rays.push(s("line", { class: "sun-ray", x1: 20 + 10 * Math.cos(a), y1: -26 + 10 * Math.sin(a), x2: 20 + 14 * Math.cos(a), y2: -26 + 14 * Math.sin(a) }));
      }
      const cells = [0.25, 0.5, 0.75].map((t) => s("line", { class: "panel-cell", x1: -28 + 48 * t, y1: 14, x2: -18 + 48 * t, y2: -14 }));
      appendAll(g, [
        s("circle", { class: "sun-halo", cx: 20, cy: -26, r: 20, fill: "url(#sunhalo)" }),
        rays,
        s("circle", { class: "sun", cx: 20, cy: -26, r: 7 }),
        s("line", { class: "panel-leg", x1: -4, y1: 14, x2: -4, y2: 22 }),
        s("line", { class: "panel-leg", x1: 12, y1: 14, x2: 12, y2: 22 }),
        s("polygon", { class: "panel", points: "-28,14 20,14 30,-14 -18,-14" }),
        cells,
        s("line", { class: "panel-cell", x1: -23, y1: 0, x2: 25, y2: 0 }),
      ]);
      break;
    }
    case "household":
      appendAll(g, [
        s("circle", { class: "halo", r: 40, fill: "url(#halo)" }),
        s("rect", { class: "chimney", x: 9, y: -26, width: 6, height: 12 }),
        s("rect", { class: "wall", x: -20, y: -6, width: 40, height: 26 }),
        s("polygon", { class: "roof", points: "-26,-4 0,-28 26,-4" }),
        s("rect", { class: "window lit", x: -15, y: 0, width: 9, height: 8, rx: 1 }),
        s("rect", { class: "window lit", x: 6, y: 0, width: 9, height: 8, rx: 1 }),
        s("rect", { class: "door", x: -4, y: 8, width: 8, height: 12, rx: 1 }),
      ]);
      break;
    case "pole":
      appendAll(g, [
        s("polygon", { class: "beam", points: "7,-27 15,-27 32,20 -10,20" }),
        s("circle", { class: "halo", cx: 11, cy: -28, r: 24, fill: "url(#halo)" }),
        s("ellipse", { class: "base", cx: -8, cy: 21, rx: 7, ry: 2.5 }),
        s("line", { class: "post", x1: -8, y1: 21, x2: -8, y2: -27 }),
        s("path", { class: "arm", d: "M-8,-27 Q-8,-33 0,-33 H11" }),
        s("path", { class: "lamp lit", d: "M4,-34 H18 L15,-27 H7 Z" }),
      ]);
      break;
    case "stadium":
      appendAll(g, [
        s("circle", { class: "halo", cx: -28, cy: -30, r: 18, fill: "url(#halo)" }),
        s("circle", { class: "halo", cx: 28, cy: -30, r: 18, fill: "url(#halo)" }),
        s("line", { class: "post", x1: -28, y1: 0, x2: -28, y2: -28 }),
        s("line", { class: "post", x1: 28, y1: 0, x2: 28, y2: -28 }),
        s("rect", { class: "lamp lit", x: -34, y: -34, width: 12, height: 6, rx: 1.5 }),
        s("rect", { class: "lamp lit", x: 22, y: -34, width: 12, height: 6, rx: 1.5 }),
        s("ellipse", { class: "stands", cx: 0, cy: 4, rx: 32, ry: 18 }),
        s("ellipse", { class: "pitch", cx: 0, cy: 4, rx: 21, ry: 10 }),
        s("line", { class: "pitch-line", x1: 0, y1: -6, x2: 0, y2: 14 }),
      ]);
      break;
    default:
      appendAll(g, [
        s("circle", { class: "halo", r: 34, fill: "url(#halo)" }),
        s("rect", { class: "box", x: -16, y: -22, width: 32, height: 40, rx: 6 }),
        s("circle", { class: "lit", cx: 0, cy: -6, r: 9 }),
        s("path", { class: "bolt", d: "M2,-13 L-4,-5 H1 L-2,2 L5,-7 H0 Z" }),
        s("rect", { class: "door", x: -9, y: 8, width: 18, height: 4, rx: 2 }),
      ]);
  }
  return g;
}

/* ------------------------------------------------------------------ */
/* Page 1: the map                                                    */
/* ------------------------------------------------------------------ */

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
  replaceChildren(leaders, lines);
  // The stadium's field lies under the stadium.
  const stadium = meters.find((m) => m.kind === "stadium");
  if (stadium) {
    const [x, y] = spots.get(stadium.id).at;
    $("#field").setAttribute("transform", `translate(${x.toFixed(1)} ${(y + 18).toFixed(1)})`);
  }
}

function renderFacts(state) {
  const grid = state.grid || {};
  const fact = (label, value) => [h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value))];
  replaceChildren(
    $("#grid-facts"),
    fact("Tariff", `${fmtK(grid.tariff_k_per_kwh)} per kWh`),
    fact("Utility fee", `${fmtK(grid.fee_k)} per hour`),
    fact("Coin price", grid.coin_price_usd ? `$${grid.coin_price_usd} per k` : "—"),
    fact("Pool now", fmtK(grid.pool_k)),
    fact("Carried", fmtK(grid.carry_k)),
    fact("Treasury", fmtK(grid.treasury_k)),
    grid.paused ? h("div", { class: "fact fact-alert" }, h("dt", {}, "Grid"), h("dd", {}, "paused")) : null,
    state.demo ? h("div", { class: "fact fact-demo" }, h("dt", {}, "Mode"), h("dd", {}, "demo")) : null,
  );
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
  const known = new Set(residents.map((r) => r.id));
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

/** "Day 2, 19:00" → 19, to dim the plan at night (the label is the server's). */
function hourOfDay(label) {
  const match = /(\d{1,2}):\d{2}/.exec(label || "");
  return match ? Number(match[1]) : null;
}

function initMap() {
  const clock = $("#clock");
  const status = $("#status");
  const changed = memo();
  let demo = true;
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
    if (changed("meters", state.meters)) renderMapMeters(state.meters || []);
    if (changed("table", [state.meters, state.residents])) renderMeterTable(state.meters || [], state.residents || []);
    if (changed("ledger", state.last_settlement)) renderLedger(state.last_settlement);
    if (changed("residents", state.residents)) renderResidents(state.residents || []);
  }

  const feed = live(() => api("/api/state"), renderState, pollErrorReporter());

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

/* ------------------------------------------------------------------ */
/* Page 2: a resident                                                 */
/* ------------------------------------------------------------------ */

/** A transaction's signature, shortened; the whole of it in its title (to copy into an explorer). */
function txEl(signature) {
  return h("code", { class: "tx", title: `Transaction ${signature}`, "data-signature": signature }, `tx ${signature.slice(0, 8)}…`);
}

function renderHistory(list, history) {
  if (!history.length) {
    replaceChildren(list, h("li", { class: "muted" }, "Nothing yet: purchases, fundings, sales and earnings appear here as the chain records them."));
    return;
  }
  const what = { fiat: "Coins bought with dollars", funded: "Funded a meter", payout: "Solar earnings", collected: "Earnings collected", sale: "Coins sold for dollars" };
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
        h("span", { class: "event-amount" }, fmtK(e.amount_k)),
      ),
    ),
  );
}

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
          ),
          kindOf(m) === "producer" ? collectButton : h("button", { type: "button", class: "button-quiet", onclick: () => onFund(m.id) }, "Fund"),
        );
      }),
    ),
  );
}

/* Buying and selling coins for dollars (resident page) */

/** "5", "$5.5", "5.00" → cents (BigInt); null when it is not a dollar amount with at most 2 decimals. */
function parseCents(text) {
  const match = /^\$?(\d*)(?:\.(\d*))?$/.exec(String(text || "").trim());
  if (!match || (match[1] === "" && !match[2])) return null;
  const decimals = (match[2] || "").replace(/0+$/, "");
  if (decimals.length > 2) return null;
  return BigInt(match[1] || "0") * 100n + BigInt(decimals.padEnd(2, "0"));
}

/** "30.000000" → millionths of a k (BigInt); null when unreadable. */
function parseUnits(text) {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(String(text || "").trim());
  return match ? BigInt(match[1]) * 1_000_000n + BigInt((match[2] || "").padEnd(6, "0")) : null;
}

/** The server's error as a sentence: capitalised, ending with a full stop. */
const sentence = (text) => {
  const t = String(text || "").trim();
  return t ? `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? "" : "."}` : t;
};

const fmtUsd = (cents) => `$${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
const fmtUnits = (units) => `${units / 1_000_000n}.${String(units % 1_000_000n).padStart(6, "0")} k`;

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
  requested: "signed, waiting for its payout",
  locked: "being paid out",
  paid: "paid out",
  returned: "payout failed: coins returned",
  reversed: "payout reversed: coins given back",
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
 * the processor's checkout, and a sell form that asks for a payout to a bank account.
 * `feed` is the resident's live data (to hold polls during a sale and read again after it).
 * Returns { render(resident) }, called with each fresh read of the resident.
 */
function initPayments(id, feed) {
  const node = $("#payments");
  const trade = $("#trade");
  const buyForm = $("#buy-form");
  const sellForm = $("#sell-form");
  const buyMessage = $("#buy-message");
  const sellMessage = $("#sell-message");
  const retryNote = $("#sell-retry");
  const memory = saleMemory(id);
  let settings = null;
  let price = null; // cents per k
  let balance = null; // the resident's coins, in millionths of a k
  let sellBusy = false;
  let buyBusy = false;
  let watchedPayout = null; // { id, locked_k, usd }: the sale this page started, until it is paid or returned

  const range = (side) => (settings && settings[side] ? ` Between $${settings[side].min_usd} and $${settings[side].max_usd}.` : "");

  /** The quote under an amount: what it buys or sells at the grid's price. Written only when it changes (it is a live region and polls re-run this). */
  function quote(input, out, side) {
    const put = (text, warn = false) => {
      if (out.textContent !== text) out.textContent = text;
      out.classList.toggle("warn", warn);
    };
    const cents = parseCents(input.value);
    if (!input.value.trim() || !price) return put(range(side).trim());
    if (cents === null) return put("Enter dollars and cents, such as 5.00.", true);
    if (side === "buy") return put(`${fmtUsd(cents)} buys ${fmtUnits((cents * 1_000_000n) / price)}.${range(side)}`);
    const units = (cents * 1_000_000n + price - 1n) / price;
    const short = balance !== null && units > balance;
    return put(`${fmtUsd(cents)} sells ${fmtUnits(units)}.${short ? ` You have ${fmtUnits(balance)}.` : range(side)}`, short);
  }
  const buyInput = buyForm.elements.usd;
  const sellInput = sellForm.elements.usd;
  const bankInput = sellForm.elements.bank_account;
  const saleInput = sellForm.elements.sale;
  /** Without the server's custody the resident signs the sale: here, with the connected wallet. */
  const walletSells = () => Boolean(settings && settings.custody === false && walletOwns(id));
  /** Without the server's custody the resident signs the sale: the exact command for this amount and account. */
  function signCommand() {
    const out = $("#sell-command");
    const cents = parseCents(sellInput.value);
    const bank = bankInput.value.replace(/[\s-]/g, "");
    if (!price || cents === null || !bank) {
      out.textContent = "Sign a sale first: enter the amount and bank account above to see the command.";
      return;
    }
    const units = (cents * 1_000_000n + price - 1n) / price;
    out.textContent = `Sign it with your own wallet: deu withdraw request ${fmtUnits(units).replace(" k", "")} --to ${bank} --from ${id} (it prints the sale's number).`;
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
        ? "Your connected wallet signs each sale for the bank account you enter: only a payout to that account can take the coins."
        : "To sell, sign the sale with your own wallet (connect it above, or deu withdraw request … --to YOUR_ACCOUNT): only a payout to the account you signed for can take the coins.";
    }
    requote();
  }
  if (window.gridWallet) window.gridWallet.onChange(showSigning);
  buyInput.addEventListener("input", requote);
  sellInput.addEventListener("input", requote);
  bankInput.addEventListener("input", requote);

  function showRetry() {
    const sale = memory.get();
    retryNote.hidden = !sale;
    // A sale waiting for a retry is sent again exactly as before (the processor refuses other details).
    sellInput.readOnly = Boolean(sale);
    bankInput.readOnly = Boolean(sale);
    if (!sale) return (retryNote.textContent = "");
    sellInput.value = sale.usd;
    bankInput.value = sale.bank_account;
    retryNote.textContent = `Your sale of $${sale.usd} to bank account ${sale.bank_account} (sale ${sale.sale}) did not reach the payment processor; its coins stay locked for it. Press "Sell coins" to send the same sale again: it is never made twice.`;
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
    price = parseCents(settings.coin_price_usd);
    if (!price) price = null;
    if (settings.coin_price_usd) $("#coin-price").textContent = `1 k costs $${settings.coin_price_usd}.`;
    replaceChildren(
      node,
      settings.test_mode
        ? h(
            "div",
            { id: "test-mode", class: "test-mode", role: "note" },
            h("span", { class: "test-badge" }, "Test mode"),
            h("p", {}, "Test mode: no real money. Test card ", h("code", {}, "4242 4242 4242 4242"), "; test bank accounts ", h("code", {}, "000123456789"), " (pays) and ", h("code", {}, "000111111116"), " (fails)."),
          )
        : h("p", { class: "sub" }, "Payments go through the grid's payment processor in real money."),
      settings.custody === false ? h("p", { id: "sell-signing", class: "notice" }) : null,
    );
    $("#sell-sale-field").hidden = settings.custody !== false;
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
    const bank = bankInput.value.trim();
    if (!usd) {
      say(sellMessage, "Enter how many dollars of coins to sell, such as 1.00.", "error");
      sellInput.focus();
      return;
    }
    if (!bank) {
      say(sellMessage, "Enter the bank account number the dollars go to.", "error");
      bankInput.focus();
      return;
    }
    const body = { resident: id, usd, bank_account: bank };
    let walletSale = null; // the sale for the connected wallet to sign first
    if (sale) body.sale = sale.sale;
    else if (walletSells()) {
      const cents = parseCents(usd);
      if (cents === null || !price) {
        say(sellMessage, "Enter dollars and cents, such as 1.00.", "error");
        sellInput.focus();
        return;
      }
      if (!/^\d{4,17}$/.test(bank.replace(/[\s-]/g, ""))) {
        say(sellMessage, "The bank account number must be 4 to 17 digits.", "error");
        bankInput.focus();
        return;
      }
      const units = (cents * 1_000_000n + price - 1n) / price;
      walletSale = new URLSearchParams({ from: id, amount_k: fmtUnits(units).replace(" k", ""), to: bank });
    } else if (settings && settings.custody === false) {
      const signed = saleInput.value.trim();
      if (!/^\d+$/.test(signed)) {
        say(sellMessage, "Sign the sale with your own wallet first (the command is under the form), then enter its number.", "error");
        saleInput.focus();
        return;
      }
      body.sale = Number(signed);
    }
    sellBusy = true;
    const release = holdForm(sellForm, "Selling…");
    say(sellMessage, "");
    try {
      const result = await feed.action(async () => {
        if (walletSale) {
          // The wallet signs the sale on chain; its number then asks for the payout.
          say(sellMessage, "Waiting for your wallet's signature on the sale…", "busy");
          body.sale = (await window.gridWallet.sign(`/api/pay/sell?${walletSale}`)).answer.sale;
          say(sellMessage, `Sale ${body.sale} signed. Asking the payment processor for the payout…`, "busy");
        }
        return api("/api/sell", { method: "POST", body });
      });
      memory.clear();
      watchedPayout = { id: result.payout_id, locked_k: result.locked_k, usd: result.usd };
      say(
        sellMessage,
        `Sale started: payout ${result.payout_id} of $${result.usd} is ${result.status}. ${fmtK(result.locked_k)} are locked until it is paid, then burned; if it fails they come back to you.`,
        "ok",
      );
      sellInput.value = "";
    } catch (error) {
      const number = (/"sale": (\d+)/.exec(error.message) || [])[1];
      if (error.status === 503 && number !== undefined) {
        const cents = parseCents(usd);
        memory.set({ sale: Number(number), usd: cents === null ? usd : fmtUsd(cents).slice(1), bank_account: bank });
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
      window.gridWallet.button({
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
      balance = parseUnits(resident.balance_k);
      requote();
      renderSales(resident.sales || []);
      if (!watchedPayout) return;
      const ended = (resident.history || []).find((e) => e.kind === "sale" && (e.detail || "").includes(watchedPayout.id) && /paid out|returned/.test(e.detail));
      if (!ended) return;
      const paid = /paid out/.test(ended.detail);
      say(
        sellMessage,
        paid
          ? `Payout ${watchedPayout.id} paid: $${watchedPayout.usd} sent to your bank account and ${fmtK(watchedPayout.locked_k)} burned.`
          : `Payout ${watchedPayout.id} failed: your ${fmtK(watchedPayout.locked_k)} were returned to you.`,
        paid ? "ok" : "error",
      );
      watchedPayout = null;
    },
  };
}

/** Poll errors on the resident and meter pages: an unknown id swaps the page for the picker. */
function notFoundOr(what, id) {
  const status = $("#status");
  let shown = false; // only clears its own sentence, not e.g. the checkout's outcome
  return (error) => {
    if (!error) {
      if (shown) say(status, "");
      shown = false;
      return;
    }
    shown = true;
    if (error.status === 404) {
      const sentence = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
      say(status, `${sentence} Pick another ${what} below.`, "error");
      $(`#${what}`).hidden = true;
      $("#pick").hidden = false;
      $("#pick-id").value = id;
    } else {
      say(status, `Live updates paused: ${error.message}`, "error");
    }
  };
}

async function loadDirectory() {
  try {
    return await api("/api/state");
  } catch {
    return null;
  }
}

function initResident() {
  const id = queryParam("id");
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
      ? window.gridWallet.button({
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
      $("#total").textContent = fmtK(resident.balance_k);
      $("#escrow").textContent = fmtK(resident.escrow_k);
      const locked = $("#locked");
      locked.textContent = fmtK(resident.locked_k);
      locked.parentElement.classList.toggle("stat-busy", (parseUnits(resident.locked_k) || 0n) > 0n);
      if (checkout && checkout !== "cancelled") {
        // The chain records the processor's payment event; the delivery log says which
        // event paid this checkout.
        if (!checkoutEvent) {
          api("/api/payments/deliveries")
            .then((log) => {
              const hit = (log.deliveries || []).find((d) => d.result === "applied" && (d.detail || "").includes(checkout));
              if (hit && hit.event_id) {
                checkoutEvent = hit.event_id;
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
      if (changed("meters", [resident.meters, walletOwns(id)])) renderResidentMeters($("#my-meters"), resident.meters || [], fundMeter, collectButton);
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
  if (window.gridWallet) window.gridWallet.onChange(() => feed.refresh());
  feed.start();
}

/* ------------------------------------------------------------------ */
/* Page 3: a meter                                                    */
/* ------------------------------------------------------------------ */

function renderReadings(table, readings) {
  const body = $("tbody", table);
  if (!readings.length) {
    replaceChildren(body, h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No reading yet.")));
    return;
  }
  replaceChildren(
    body,
    readings.map((r) => h("tr", { "data-epoch": r.epoch }, h("td", {}, r.hours > 1 ? `${r.epoch} (${r.hours} hours)` : String(r.epoch)), h("td", { class: "num" }, fmtKwh(r.kwh)), h("td", {}, h("span", { class: `pill ${r.status === "settled" ? "pill-settled" : "pill-pending"}` }, r.status)))),
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
            : "Power flows: the prepaid coins cover what it uses."
          : "Its prepaid coins ran out. Anyone can fund it to switch it back on.";
      $("#balance-label").textContent = KINDS[kind].balanceLong;
      $("#balance").textContent = fmtK(meter.balance_k);
      $("#debt").textContent = fmtK(meter.debt_k);
      $("#debt").parentElement.classList.toggle("stat-alert", Number.parseFloat(meter.debt_k) > 0);
      $("#fund-jump").hidden = meter.connected || meter.retired || kind === "producer";
      $("#last-kwh").textContent = fmtKwh(meter.last_kwh);
      $("#last-kwh-note").textContent = meter.last_epoch === null || meter.last_epoch === undefined ? "no reading yet" : `(epoch ${meter.last_epoch})`;
      $("#lifetime").textContent = fmtKwh(meter.lifetime_kwh);
      $("#register").textContent = fmtKwh(meter.register_kwh);
      $("#capacity-note").textContent = meter.capacity_kw ? `(capacity ${Number.parseFloat(meter.capacity_kw)} kW)` : "";
      $("#committed").textContent = fmtK(meter.committed_k);
      $("#funded").textContent = fmtK(meter.funded_k);
      $("#label").textContent = meter.label || "—";
      $("#gateway").textContent = meter.gateway || "—";
      $("#fund-card").hidden = kind === "producer" || Boolean(meter.retired);
      $("#producer-note").hidden = kind !== "producer";
      if (changed("readings", meter.readings)) renderReadings($("#readings"), meter.readings || []);
      if (changed("funders", meter.funders)) renderFunders($("#funders"), meter.funders || []);
    },
    notFoundOr("meter", id),
  );
  wireFundForm(form, { meter: id }, () => feed.refresh());
  feed.start();
}

/* ------------------------------------------------------------------ */

({ map: initMap, resident: initResident, meter: initMeter })[document.body.dataset.page]?.();

// format.js — amounts and times as the pages write and read them: k (coins), kWh, dollars, dates, and the server's sentences.

import { h } from "./dom.js";

export const fmtK = (amount) => (amount === null || amount === undefined ? "—" : `${amount} k`);

/** The coin's dollar price (from the grid's state; `setCoinPrice`), for readable amounts. */
let coinPriceUsd = null;
export function setCoinPrice(usd) {
  const price = Number.parseFloat(usd);
  if (Number.isFinite(price)) coinPriceUsd = price;
}

/** "15.99 k", "0.010 k", "< 0.001 k": 2 decimals (3 below 1 k) where 6 do not help a person. */
export function readableK(amount) {
  const value = Number.parseFloat(amount);
  if (!Number.isFinite(value)) return "—";
  if (value === 0) return "0 k";
  if (value >= 1) return `${value.toFixed(2)} k`;
  if (value >= 0.001) return `${value.toFixed(3)} k`;
  return "< 0.001 k";
}

/**
 * Shows a coin amount in `node` as people read it (`readableK`, with its dollar value at the
 * grid's price), the exact amount on hover (title) and in `data-k` ("15.990000 k", as the API
 * says it).
 */
export function showK(node, amount) {
  if (!node) return;
  const exact = fmtK(amount);
  node.dataset.k = exact;
  node.title = `${exact} exactly`;
  const value = Number.parseFloat(amount);
  const usd = coinPriceUsd !== null && Number.isFinite(value) && value > 0 ? ` ≈ $${(value * coinPriceUsd).toFixed(2)}` : "";
  node.replaceChildren(readableK(amount), usd ? h("span", { class: "usd" }, usd) : "");
}
export const fmtKwh = (amount) => (amount === null || amount === undefined ? "— kWh" : `${amount} kWh`);

/** `at` is cluster time in unix seconds; shown in the reader's locale. */
function fmtAt(at) {
  if (at === null || at === undefined || at === "") return "";
  let date = null;
  if (typeof at === "number") date = new Date(at > 1e12 ? at : at * 1000);
  else if (!Number.isNaN(Date.parse(at))) date = new Date(at);
  if (!date || Number.isNaN(date.getTime())) return String(at);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function timeEl(at) {
  const text = fmtAt(at);
  if (!text) return null;
  const iso = typeof at === "number" ? new Date(at > 1e12 ? at : at * 1000).toISOString() : String(at);
  return h("time", { datetime: iso }, text);
}

/** "5", "$5.5", "5.00" → cents (BigInt); null when it is not a dollar amount with at most 2 decimals. */
export function parseCents(text) {
  const match = /^\$?(\d*)(?:\.(\d*))?$/.exec(String(text || "").trim());
  if (!match || (match[1] === "" && !match[2])) return null;
  const decimals = (match[2] || "").replace(/0+$/, "");
  if (decimals.length > 2) return null;
  return BigInt(match[1] || "0") * 100n + BigInt(decimals.padEnd(2, "0"));
}

/** "30.000000" → millionths of a k (BigInt); null when unreadable. */
export function parseUnits(text) {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(String(text || "").trim());
  return match ? BigInt(match[1]) * 1_000_000n + BigInt((match[2] || "").padEnd(6, "0")) : null;
}

export const fmtUsd = (cents) => `$${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
export const fmtUnits = (units) => `${units / 1_000_000n}.${String(units % 1_000_000n).padStart(6, "0")} k`;

/** The server's (or a wallet's) sentence: capitalised, ending with a full stop. */
export const sentence = (text) => {
  const t = String(text || "").trim();
  return t ? `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? "" : "."}` : t;
};

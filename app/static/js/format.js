// format.js — amounts and times as the pages write and read them: k (coins), kWh, dollars, dates, and the server's sentences.

import { h } from "./dom.js";

export const fmtK = (amount) => (amount === null || amount === undefined ? "—" : `${amount} k`);
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

// api.js — the pages' requests to the server: JSON in, JSON out, and the server's error sentence as an ApiError.
import { setCoinPrice } from "./format.js";

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

/** A fresh idempotency key: one per action the user asks for. */
const freshKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

/**
 * GET `path` (or POST `body` as JSON); resolves to the JSON answer, rejects with the server's
 * `error` sentence. A POST is one action: it carries a fresh `Idempotency-Key`, and when the
 * connection fails before any answer it is sent once more under the same key, so the server
 * does it at most once.
 */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  const write = method !== "GET" && method !== "HEAD";
  if (write) {
    init.headers["Content-Type"] = "application/json";
    init.headers["Idempotency-Key"] = freshKey();
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  let response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(path, init);
      break;
    } catch {
      if (!write || attempt > 0) throw new ApiError("Cannot reach the server. Check the connection and try again.", 0);
    }
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

/** The grid's state (its meters and residents, for the pickers and id lists), or null when the server cannot be read. */
export async function loadDirectory() {
  try {
    const state = await api("/api/state");
    if (state && state.grid) setCoinPrice(state.grid.coin_price_usd);
    // A big grid lists its first meters and residents; the rest are found by search.
    if (state && state.listed === false) {
      const [meters, residents] = await Promise.all([api("/api/meters?limit=200"), api("/api/residents?limit=200")]);
      state.meters = meters.meters;
      state.residents = residents.residents;
    }
    return state;
  } catch {
    return null;
  }
}

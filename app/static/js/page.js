// page.js — what the three pages share around their own content: links between them, the grid's name in the header, the #status line, and the resident this browser remembers.

import { $, say } from "./dom.js";

export const meterUrl = (id) => `meter.html?id=${encodeURIComponent(id)}`;
export const residentUrl = (id) => `resident.html?id=${encodeURIComponent(id)}`;
export const queryParam = (name) => (new URLSearchParams(location.search).get(name) || "").trim();

/** Remembers the last resident this browser acted as, to prefill forms. */
export const remembered = {
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

/** Header: the grid's name, once known. */
export function showGridName(state) {
  const name = state && state.grid && state.grid.name;
  const node = $("#grid-name");
  if (name && node) node.textContent = `${name} grid`;
}

/** A poll error in the page's #status line; cleared on the next good answer. */
export function pollErrorReporter() {
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

/** Poll errors on the resident and meter pages: an unknown id swaps the page for the picker. */
export function notFoundOr(what, id) {
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

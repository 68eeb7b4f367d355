// meters.js — what a meter is on the pages: its kind's name and balance, its state, and the drawing of its kind (the map, the resident's cards and the meter page).

import { appendAll, h, s } from "./dom.js";

export const KINDS = {
  producer: { name: "Solar roof", balance: "earned", balanceLong: "Earned in all (paid to the owner each hour)" },
  household: { name: "Household", balance: "prepaid", balanceLong: "Prepaid balance" },
  pole: { name: "Street light", balance: "prepaid", balanceLong: "Prepaid balance" },
  stadium: { name: "Stadium", balance: "prepaid", balanceLong: "Prepaid balance" },
  other: { name: "Meter", balance: "prepaid", balanceLong: "Prepaid balance" },
};
export const kindOf = (meter) => (KINDS[meter.kind] ? meter.kind : "other");
// Consumers show their prepaid balance; producers what they have earned in all (the demo
// pays earnings out to their owners every hour, so the meter's own balance is usually zero).
export const shownBalance = (m) => (kindOf(m) === "producer" && m.lifetime_k != null ? m.lifetime_k : m.balance_k);
export const stateWord = (meter) => (meter.retired ? "retired" : meter.silent ? "silent" : meter.connected ? "connected" : "disconnected");

/** A coloured pill saying connected/disconnected (or retired). */
export function statePill(meter) {
  return h("span", { class: `pill ${meter.connected ? "pill-on" : "pill-off"}${meter.retired ? " pill-retired" : ""}` }, stateWord(meter));
}

/** A simple drawing of a meter's kind, centred on (0, 0), about 60 × 56 units. */
export function glyph(kind) {
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

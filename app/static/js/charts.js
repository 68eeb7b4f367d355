// charts.js — bar charts in inline SVG, drawn from the API's series: labelled directly (the
// peak and the axis' top carry their value and unit, each bar its exact figure in a tooltip and
// in data-value), accessible (role="img" with a title and a description that summarises the
// data), no library.

import { s } from "./dom.js";

const W = 640;
const H = 200;
const PAD = { top: 24, right: 8, bottom: 28, left: 8 };

/**
 * A bar chart.
 * - `title`: what it shows ("Energy, last 48 hours").
 * - `points`: [{ key, label, bars: [{ value: Number, text: String }] }] — one group per point,
 *   one bar per series, `text` the exact figure as people read it ("1.234 kWh").
 * - `series`: [{ name, cls }] for the groups' bars (one or two).
 * - `unit`: the axis' unit ("kWh", "k").
 * - `summary`: a sentence that says what the data shows, for screen readers.
 * - `every`: label every n-th point on the x axis.
 */
export function barChart({ id, title, points, series, unit, summary, every = 1 }) {
  const max = Math.max(0, ...points.flatMap((p) => p.bars.map((b) => b.value)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const groupW = plotW / Math.max(points.length, 1);
  const barW = Math.max(1, (groupW * 0.8) / series.length);
  const y = (v) => PAD.top + plotH - (max > 0 ? (v / max) * plotH : 0);
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const children = [
    s("title", { id: titleId }, title),
    s("desc", { id: descId }, summary),
    s("line", { x1: PAD.left, x2: W - PAD.right, y1: PAD.top + plotH, y2: PAD.top + plotH, class: "chart-axis" }),
    s("line", { x1: PAD.left, x2: W - PAD.right, y1: PAD.top, y2: PAD.top, class: "chart-grid" }),
    s("text", { x: W - PAD.right, y: PAD.top - 6, class: "chart-max", "text-anchor": "end" }, max > 0 ? `${trim(max)} ${unit}` : `0 ${unit}`),
  ];
  let peak = null;
  points.forEach((p, i) => {
    const x0 = PAD.left + i * groupW + groupW * 0.1;
    p.bars.forEach((b, j) => {
      const top = y(b.value);
      const rect = s(
        "rect",
        {
          x: (x0 + j * barW).toFixed(2),
          y: top.toFixed(2),
          width: (barW * 0.92).toFixed(2),
          height: Math.max(0, PAD.top + plotH - top).toFixed(2),
          class: `chart-bar ${series[j].cls}`,
          "data-key": p.key,
          "data-series": series[j].name,
          "data-value": b.text,
        },
        s("title", {}, `${p.label}: ${series.length > 1 ? `${series[j].name} ` : ""}${b.text}`),
      );
      children.push(rect);
      if (b.value > 0 && (!peak || b.value > peak.value)) peak = { value: b.value, text: b.text, x: x0 + j * barW + barW / 2, y: top };
    });
    if (i % every === 0 || i === points.length - 1) {
      children.push(s("text", { x: (x0 + (barW * series.length) / 2).toFixed(2), y: H - 8, class: "chart-label", "text-anchor": "middle" }, p.label));
    }
  });
  // The peak carries its own figure: no legend hunt.
  if (peak) children.push(s("text", { x: peak.x.toFixed(2), y: Math.max(12, peak.y - 4).toFixed(2), class: "chart-peak", "text-anchor": "middle" }, peak.text));
  if (series.length > 1) {
    series.forEach((se, j) => {
      children.push(s("rect", { x: PAD.left + j * 110, y: 4, width: 10, height: 10, class: `chart-bar ${se.cls}` }));
      children.push(s("text", { x: PAD.left + j * 110 + 14, y: 13, class: "chart-legend" }, se.name));
    });
  }
  return s("svg", { id, class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${titleId} ${descId}`, preserveAspectRatio: "none" }, ...children);
}

/** A number without trailing zeros, up to 3 decimals. */
function trim(n) {
  return Number(n.toFixed(3)).toString();
}

/** "14:00" for a unix time, in the reader's time zone. */
export function hourLabel(ts) {
  return new Date(ts * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** "Dec 5" for a unix time. */
export function dayLabel(ts) {
  return new Date(ts * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** The total of a series' exact integer field (Wh or units). */
export function total(points, field) {
  return points.reduce((sum, p) => sum + Number(p[field] || 0), 0);
}

// Bar charts drawn as inline SVG, no library: a chart here is a handful of rectangles.
// Heights are only drawn from the numbers; every figure shown as text is the API's own string
// (Money.formatted, a rate's exact decimal), never a float turned back into money.

import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 180;
const AXIS = 24; // room for the labels under the bars

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

// bars: [{label, value (a number to scale), text (what the bar says)}]; max: the scale's top.
export function barChart(title, bars, { max = null, className = "" } = {}) {
  const top = max ?? Math.max(1, ...bars.map((b) => b.value));
  const slot = WIDTH / Math.max(1, bars.length);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title,
    class: `chart ${className}`.trim() });
  chart.append(svg("title", {}, title));
  chart.append(svg("line", { x1: 0, y1: HEIGHT - AXIS, x2: WIDTH, y2: HEIGHT - AXIS, class: "axis" }));
  bars.forEach((bar, i) => {
    const height = Math.max(0, (bar.value / top) * (HEIGHT - AXIS - 16));
    const width = Math.min(slot * 0.7, 56);
    const x = i * slot + (slot - width) / 2;
    const y = HEIGHT - AXIS - height;
    const group = svg("g", { class: "bar", "data-label": bar.label });
    group.append(svg("title", {}, `${bar.label}: ${bar.text}`));
    group.append(svg("rect", { x, y, width, height }));
    group.append(svg("text", { x: x + width / 2, y: y - 3, "text-anchor": "middle", class: "value" }, bar.text));
    group.append(svg("text", { x: x + width / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "label" },
      bar.label));
    chart.append(group);
  });
  return el("figure", {}, chart, el("figcaption", {}, title));
}

// "0.9500" -> 95.00 % (string arithmetic, exact); null when nothing was decided yet.
export function percent(rate) {
  if (rate === null || rate === undefined) return "n/a";
  const [whole, frac = ""] = rate.split(".");
  const digits = (whole + frac.padEnd(4, "0")).replace(/^0+(?=\d{3})/, "");
  return `${digits.slice(0, -2) || "0"}.${digits.slice(-2)} %`;
}

// Small SVG charts drawn by hand: no library, no CDN, no build step.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { width: 560, height: 200, left: 48, right: 12, top: 12, bottom: 34 };
const PALETTE = ["#2f5bd3", "#e07b39", "#067647", "#9e3fbf", "#b42318", "#0e9384", "#667085"];

function svgNode(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function chartFrame(target, label) {
  const svg = svgNode("svg", { viewBox: `0 0 ${CHART.width} ${CHART.height}`, role: "img", "aria-label": label, class: "chart" });
  target.replaceChildren(svg);
  return svg;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

function shortNumber(value) {
  if (Math.abs(value) >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (Math.abs(value) >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(value < 10 ? 2 : 0)}`;
}

function yAxis(svg, max, format = shortNumber) {
  const { left, right, top, bottom, width, height } = CHART;
  const plot = height - top - bottom;
  for (let i = 0; i <= 4; i += 1) {
    const y = top + plot - (plot * i) / 4;
    svg.append(svgNode("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
    svg.append(svgNode("text", { x: left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, format((max * i) / 4)));
  }
}

function legend(svg, names) {
  names.forEach((name, i) => {
    const x = CHART.left + i * 130;
    svg.append(svgNode("rect", { x, y: CHART.height - 14, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }));
    svg.append(svgNode("text", { x: x + 14, y: CHART.height - 5, class: "tick" }, name));
  });
}

// Lines over time: series = [{name, points: [[seconds, value], ...]}]. Empty data says so.
function lineChart(target, series, { label = "", format = shortNumber } = {}) {
  const svg = chartFrame(target, label);
  const points = series.flatMap((s) => s.points);
  if (points.length < 2) {
    svg.append(svgNode("text", { x: CHART.width / 2, y: CHART.height / 2, class: "empty", "text-anchor": "middle" }, "collecting samples…"));
    return svg;
  }
  const { left, right, top, bottom, width, height } = CHART;
  const t0 = Math.min(...points.map((p) => p[0]));
  const t1 = Math.max(...points.map((p) => p[0]));
  const max = niceMax(Math.max(...points.map((p) => p[1])));
  yAxis(svg, max, format);
  const x = (t) => left + ((width - left - right) * (t - t0)) / Math.max(t1 - t0, 1);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
    svg.append(svgNode("path", { d, class: "line", stroke: PALETTE[i % PALETTE.length], "data-series": s.name }));
  });
  const minutes = Math.round((t1 - t0) / 60);
  svg.append(svgNode("text", { x: width - right, y: height - bottom + 14, class: "tick", "text-anchor": "end" }, "now"));
  svg.append(svgNode("text", { x: left, y: height - bottom + 14, class: "tick" }, minutes ? `${minutes} min ago` : `${Math.round(t1 - t0)} s ago`));
  legend(svg, series.map((s) => s.name));
  return svg;
}

// Vertical bars: bars = [{label, value, className, data: {...}}].
function barChart(target, bars, { label = "", format = shortNumber, lines = [] } = {}) {
  const svg = chartFrame(target, label);
  const { left, right, top, bottom, width, height } = CHART;
  const max = niceMax(Math.max(...bars.map((b) => b.value || 0), ...lines.map((l) => l.value)));
  yAxis(svg, max, format);
  const slot = (width - left - right) / Math.max(bars.length, 1);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  bars.forEach((bar, i) => {
    const value = bar.value || 0;
    const rect = svgNode("rect", { x: left + i * slot + slot * 0.15, y: y(value), width: slot * 0.7, height: y(0) - y(value), class: `col ${bar.className || ""}` });
    for (const [name, v] of Object.entries(bar.data || {})) rect.dataset[name] = v;
    rect.append(svgNode("title", {}, `${bar.label}: ${bar.value === null ? "no data" : format(value)}`));
    svg.append(rect);
    svg.append(svgNode("text", { x: left + i * slot + slot / 2, y: height - bottom + 14, class: "tick", "text-anchor": "middle" }, bar.label.slice(0, 14)));
  });
  for (const line of lines) {
    svg.append(svgNode("line", { x1: left, x2: width - right, y1: y(line.value), y2: y(line.value), class: `threshold ${line.className || ""}` }));
  }
  return svg;
}

// Two or more series side by side per bin: groups = {labels, series: [{name, values}]}.
function groupedBars(target, { labels, series }, { label = "", format = shortNumber } = {}) {
  const svg = chartFrame(target, label);
  const { left, right, top, bottom, width, height } = CHART;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  yAxis(svg, max, format);
  const slot = (width - left - right) / Math.max(labels.length, 1);
  const bar = (slot * 0.8) / series.length;
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  series.forEach((s, j) => s.values.forEach((value, i) => {
    const rect = svgNode("rect", { x: left + i * slot + slot * 0.1 + j * bar, y: y(value), width: bar, height: y(0) - y(value), fill: PALETTE[j % PALETTE.length], class: "seg", "data-series": s.name });
    rect.append(svgNode("title", {}, `${labels[i]} ${s.name}: ${format(value)}`));
    svg.append(rect);
  }));
  const every = Math.ceil(labels.length / 10);
  labels.forEach((text, i) => {
    if (i % every) return;
    svg.append(svgNode("text", { x: left + i * slot + slot / 2, y: height - bottom + 14, class: "tick", "text-anchor": "middle" }, text.slice(0, 10)));
  });
  legend(svg, series.map((s) => s.name));
  return svg;
}

// Shares stacked per time step: steps = [{at, counts}], names = the bins' names.
function stackedBars(target, steps, names, { label = "" } = {}) {
  const svg = chartFrame(target, label);
  const { left, right, top, bottom, width, height } = CHART;
  if (!steps.length) {
    svg.append(svgNode("text", { x: width / 2, y: height / 2, class: "empty", "text-anchor": "middle" }, "no predictions in this window"));
    return svg;
  }
  yAxis(svg, 1, (v) => `${Math.round(v * 100)}%`);
  const slot = (width - left - right) / steps.length;
  const plot = height - top - bottom;
  steps.forEach((step, i) => {
    const total = step.counts.reduce((a, b) => a + b, 0) || 1;
    let base = top + plot;
    step.counts.forEach((count, j) => {
      const h = (plot * count) / total;
      base -= h;
      const rect = svgNode("rect", { x: left + i * slot + slot * 0.1, y: base, width: slot * 0.8, height: h, fill: PALETTE[j % PALETTE.length], class: "seg" });
      rect.append(svgNode("title", {}, `${step.at.slice(11, 16)} ${names[j]}: ${count}`));
      svg.append(rect);
    });
  });
  svg.append(svgNode("text", { x: left, y: height - bottom + 14, class: "tick" }, steps[0].at.slice(11, 16)));
  svg.append(svgNode("text", { x: width - right, y: height - bottom + 14, class: "tick", "text-anchor": "end" }, steps[steps.length - 1].at.slice(11, 16)));
  legend(svg, names.slice(0, 4));
  return svg;
}

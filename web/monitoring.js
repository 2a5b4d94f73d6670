// The model page: drift per feature, reference-vs-window histograms, predictions over time.
"use strict";

const DRIFT = { watch: 0.1, drift: 0.25 };  // the thresholds people use for PSI
const MONITOR = { model: null, version: null, report: null };

function driftClass(psi) {
  if (psi === null || psi === undefined) return "nodata";
  return psi > DRIFT.drift ? "drift" : psi > DRIFT.watch ? "watch" : "ok";
}

async function showMonitoring(model, version) {
  Object.assign(MONITOR, { model, version });
  const panel = $("#model-monitoring");
  panel.hidden = false;
  panel.dataset.model = model;
  panel.dataset.version = version;
  $("#monitoring-title").textContent = `${model} v${version}: drift and data quality`;
  await loadMonitoring();
  panel.scrollIntoView({ block: "start" });
}

async function loadMonitoring() {
  const span = $("#monitoring-window").value;
  try {
    const report = await api(`/v1/models/${encodeURIComponent(MONITOR.model)}/versions/${MONITOR.version}/monitoring?window=${span}`);
    MONITOR.report = report;
    renderMonitoring(report);
    notify(null);
  } catch (error) { notify(error); }
}

function renderMonitoring(report) {
  const ref = report.reference;
  const source = ref ? `${ref.provisional ? "provisional reference (the first rows scored)" : `reference from ${ref.source}`}, ${ref.rows} rows` : `no reference yet (${report.provisional_rows_collected || 0} rows collected for a provisional one)`;
  $("#monitoring-summary").textContent = `${report.rows} rows in the last ${report.window}; ${source}`;
  const names = Object.keys(report.features);
  const bars = [...names.map((name) => ({ name, part: report.features[name] })), { name: "prediction", part: report.prediction }]
    .map(({ name, part }) => ({ label: name, value: part.psi, className: driftClass(part.psi), data: { feature: name, psi: part.psi ?? "" } }));
  barChart($("#psi-chart"), bars, { label: "PSI per feature", lines: [{ value: DRIFT.watch, className: "watch" }, { value: DRIFT.drift, className: "drift" }] });
  renderQuality(report);
  const select = $("#feature-select");
  const chosen = select.value;
  select.replaceChildren(...[...names, "prediction"].map((n) => new Option(n, n)));
  const drifting = bars.filter((b) => b.className === "drift").map((b) => b.label);
  select.value = names.includes(chosen) || chosen === "prediction" ? chosen : drifting[0] || names[0];
  renderHistogram();
  renderPredictions(report.prediction);
}

function renderQuality(report) {
  const rate = (v) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(1)}%`);
  $("#quality-table tbody").replaceChildren(...Object.entries(report.features).map(([name, part]) => {
    const row = document.createElement("tr");
    row.dataset.feature = name;
    const cells = [name, part.psi === null ? "—" : part.psi.toFixed(3), rate(part.missing_rate),
      part.type === "number" ? rate(part.out_of_range_rate) : "—", part.type === "string" ? rate(part.unseen_rate) : "—"];
    for (const value of cells) { const cell = document.createElement("td"); cell.textContent = value; row.append(cell); }
    row.querySelector("td:nth-child(2)").className = `psi ${driftClass(part.psi)}`;
    return row;
  }));
}

function binLabels(histogram) {
  if (histogram.categories) return histogram.categories;
  const edges = histogram.edges;
  return edges.slice(0, -1).map((edge) => `≥${shortNumber(edge)}`);  // each bin by its lower edge
}

function shares(counts) {
  const sum = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (sum ? c / sum : 0));
}

function renderHistogram() {
  const report = MONITOR.report;
  const name = $("#feature-select").value;
  const part = name === "prediction" ? report.prediction : report.features[name];
  const target = $("#histogram-chart");
  if (!part || !part.histogram) { target.replaceChildren(); return; }
  target.dataset.feature = name;
  groupedBars(target, {
    labels: binLabels(part.histogram),
    series: [{ name: "reference", values: shares(part.histogram.reference) }, { name: `last ${report.window}`, values: shares(part.histogram.window) }],
  }, { label: `${name}: reference vs window`, format: (v) => `${Math.round(v * 100)}%` });
}

function renderPredictions(prediction) {
  const names = prediction.histogram ? binLabels(prediction.histogram) : [];
  stackedBars($("#prediction-chart"), prediction.timeline || [], names, { label: "Predictions over time" });
}

function setUpMonitoring() {
  $("#monitoring-window").addEventListener("change", loadMonitoring);
  $("#feature-select").addEventListener("change", renderHistogram);
  $("#monitoring-refresh").addEventListener("click", loadMonitoring);
}

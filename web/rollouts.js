// The model page's rollouts: each alias's split (canary share, shadow) and the shadow comparison.
"use strict";

function trafficPanel(model) {
  const split = Object.entries(model.traffic || {}).filter(([, s]) => s.canary || s.shadow);
  if (!split.length) return null;
  const list = document.createElement("ul");
  list.className = "traffic";
  for (const [alias, state] of split) {
    const item = document.createElement("li");
    item.dataset.alias = alias;
    const share = state.canary ? state.canary.percent : 0;
    const parts = [`${alias}: v${state.version} (${+(100 - share).toFixed(2)}%)`];
    if (state.canary) parts.push(`canary v${state.canary.version} (${state.canary.percent}%)`);
    if (state.shadow) parts.push(`shadow v${state.shadow}`);
    item.append(document.createTextNode(parts.join(" · ")));
    if (state.shadow) {
      const compare = Object.assign(document.createElement("button"), { className: "compare", textContent: "Comparison" });
      compare.addEventListener("click", (event) => { event.stopPropagation(); showComparison(model.name, alias); });
      item.append(" ", compare);
    }
    list.append(item);
  }
  return list;
}

async function showComparison(model, alias) {
  const panel = $("#model-comparison");
  panel.hidden = false;
  Object.assign(panel.dataset, { model, alias });
  $("#comparison-title").textContent = `${model}@${alias}: shadow comparison`;
  await loadComparison();
  panel.scrollIntoView({ block: "start" });
}

async function loadComparison() {
  const panel = $("#model-comparison");
  const span = $("#comparison-window").value;
  try {
    const report = await api(`/v1/models/${encodeURIComponent(panel.dataset.model)}/aliases/${encodeURIComponent(panel.dataset.alias)}/comparison?window=${span}`);
    renderComparison(report);
    notify(null);
  } catch (error) { notify(error); }
}

function renderComparison(report) {
  const head = `v${report.version} vs shadow v${report.shadow}: ${report.rows_compared} rows compared in the last ${report.window}`;
  const detail = report.task === "classification"
    ? `label agreement ${report.agreement === null ? "—" : (100 * report.agreement).toFixed(2) + "%"}`
    : `mean |difference| ${report.mean_abs_difference ?? "—"}, p99 ${report.p99_abs_difference ?? "—"}`;
  $("#comparison-summary").textContent = `${head}; ${detail}`;
  const confusion = report.confusion || {};
  const labels = [...new Set([...Object.keys(confusion), ...Object.values(confusion).flatMap(Object.keys)])].sort();
  const table = $("#confusion-table");
  table.replaceChildren();
  if (labels.length) {
    const header = table.createTHead().insertRow();
    for (const text of ["primary \\ shadow", ...labels]) header.append(Object.assign(document.createElement("th"), { textContent: text }));
    const body = table.createTBody();
    for (const primary of labels) {
      const row = body.insertRow();
      row.insertCell().textContent = primary;
      for (const shadow of labels) row.insertCell().textContent = (confusion[primary] || {})[shadow] || 0;
    }
  }
  $("#worst-rows").replaceChildren(...report.worst_rows.map((w) => {
    const item = document.createElement("li");
    item.textContent = `${w.job} row ${w.row}: ${(+w.difference).toPrecision(3)}`;
    return item;
  }));
}

function setUpRollouts() {
  $("#comparison-refresh").addEventListener("click", loadComparison);
  $("#comparison-window").addEventListener("change", loadComparison);
}

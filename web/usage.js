// The usage page: the tenant's usage per day (a bar chart of one measure) and per model (a table).
"use strict";

const USAGE_COLUMNS = ["jobs", "sync_requests", "rows_scored", "rows_failed", "cpu_seconds", "bytes_in", "bytes_out"];

function isoDay(date) { return date.toISOString().slice(0, 10); }

async function loadUsage() {
  const range = new URLSearchParams();
  if ($("#usage-from").value) range.set("from", $("#usage-from").value);
  if ($("#usage-to").value) range.set("to", $("#usage-to").value);
  try {
    const [byDay, byModel] = await Promise.all([
      api(`/v1/usage?group_by=day&${range}`),
      api(`/v1/usage?group_by=model&${range}`),
    ]);
    $("#usage-from").value = byDay.from;
    $("#usage-to").value = byDay.to;
    renderUsage(byDay, byModel);
    notify(null);
  } catch (error) { notify(error); }
}

function renderUsage(byDay, byModel) {
  const measure = $("#usage-measure").value;
  const label = $("#usage-measure").selectedOptions[0].textContent;
  const t = byDay.total;
  $("#usage-summary").textContent = `tenant ${byDay.tenant}, ${byDay.from} to ${byDay.to} (UTC): ${t.jobs} jobs, ${t.sync_requests} sync requests, ${t.rows_scored} rows scored, ${t.cpu_seconds.toFixed(2)} CPU-seconds`;
  $("#usage-caption").textContent = `${label} per day`;
  const chart = $("#usage-chart");
  chart.dataset.measure = measure;
  barChart(chart, byDay.data.map((line) => ({ label: line.day.slice(5), value: line[measure], data: { day: line.day, value: line[measure] } })), { label: `${label} per day` });
  $("#usage-table tbody").replaceChildren(...byModel.data.map((line) => {
    const row = document.createElement("tr");
    row.dataset.model = line.model;
    for (const value of [line.model, ...USAGE_COLUMNS.map((name) => line[name])]) {
      const cell = document.createElement("td");
      cell.textContent = typeof value === "number" && !Number.isInteger(value) ? value.toFixed(3) : String(value);
      row.append(cell);
    }
    return row;
  }));
}

function setUpUsage() {
  $("#usage-refresh").addEventListener("click", loadUsage);
  $("#usage-measure").addEventListener("change", loadUsage);
  $("#usage-from").addEventListener("change", loadUsage);
  $("#usage-to").addEventListener("change", loadUsage);
}

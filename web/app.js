// inferq dashboard: plain JavaScript against the public API (/v1), no build step.
"use strict";

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "expired"]);
const FORMATS = ["csv", "jsonl", "parquet", "json"];
const state = { jobs: new Map(), streams: new Map(), selected: null };
const $ = (selector) => document.querySelector(selector);

// ---- API access ------------------------------------------------------------------------------

const KEY_ITEM = "inferq.apiKey";

function headers(extra = {}) {
  const key = localStorage.getItem(KEY_ITEM);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// A link like /ui/#key=iqk_... (as `make run` prints) stores the key once. It rides in the
// fragment, which browsers never send to the server, and is wiped from the address bar at once.
function takeKeyFromLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get("key");
  if (!key) return;
  localStorage.setItem(KEY_ITEM, key.trim());
  params.delete("key");
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
}

function setKey(key) {
  if (key) localStorage.setItem(KEY_ITEM, key); else localStorage.removeItem(KEY_ITEM);
  state.streams.forEach((controller) => controller.abort());  // they run with the old key
  state.streams.clear();
  loadJobs();
  loadModels();
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (!response.ok) throw await problem(response);
  return response.status === 204 ? null : response.json();
}

async function problem(response) {
  let body = {};
  try { body = await response.json(); } catch (_) { /* not problem+json */ }
  const fields = (body.errors || []).map((e) => `${(e.loc || []).join(".")}: ${e.msg}`);
  const hint = response.status === 401 ? "enter an API key above (`make run` prints the admin key)" : "";
  const message = [body.title || response.statusText, body.detail, ...fields, hint].filter(Boolean);
  return new Error(`${response.status} ${message.join(" — ")}`);
}

function notify(error) {
  const notice = $("#notice");
  notice.textContent = error ? String(error.message || error) : "";
  notice.hidden = !error;
}

// ---- jobs list and live progress -------------------------------------------------------------

async function loadJobs() {
  const status = $("#filter-status").value;
  try {
    const page = await api(`/v1/jobs?limit=50${status ? `&status=${status}` : ""}`);
    state.jobs = new Map(page.data.map((job) => [job.id, job]));
    renderJobs();
    page.data.filter((job) => !TERMINAL.has(job.status)).forEach(follow);
    notify(null);
  } catch (error) { notify(error); }
}

function renderJobs() {
  const body = $("#jobs-table tbody");
  body.replaceChildren(...[...state.jobs.values()].map(jobRow));
}

function jobRow(job) {
  const row = document.createElement("tr");
  row.dataset.jobId = job.id;
  row.classList.toggle("selected", job.id === state.selected);
  row.innerHTML = `<td class="id"></td><td><span class="status"></span></td><td class="model"></td>
    <td><span class="bar"><span></span></span> <span class="rows"></span></td><td class="created"></td>`;
  fillRow(row, job);
  row.addEventListener("click", () => showJob(job.id));
  return row;
}

function fillRow(row, job) {
  const { rows_done: done, rows_failed: failed, rows_total: total } = job.progress;
  row.querySelector(".id").textContent = job.id;
  const status = row.querySelector(".status");
  status.textContent = job.status;
  status.className = `status ${job.status}`;
  row.querySelector(".model").textContent = `${job.model.name}@${job.model.version}`;
  const share = total ? Math.min(100, (100 * (done + failed)) / total) : TERMINAL.has(job.status) ? 100 : 0;
  row.querySelector(".bar > span").style.width = `${share}%`;
  row.querySelector(".rows").textContent = `${done}${total != null ? ` / ${total}` : ""}${failed ? ` (${failed} failed)` : ""}`;
  row.querySelector(".created").textContent = job.created_at.replace("T", " ").slice(0, 19);
}

function updateJob(job) {
  state.jobs.set(job.id, job);
  const row = document.querySelector(`tr[data-job-id="${job.id}"]`);
  if (row) fillRow(row, job); else renderJobs();
  if (state.selected === job.id) renderDetail(job);
}

// Server-Sent Events read with fetch, so the Authorization header goes along (EventSource cannot).
async function follow(job) {
  if (state.streams.has(job.id)) return;
  const controller = new AbortController();
  state.streams.set(job.id, controller);
  try {
    const response = await fetch(`/v1/jobs/${job.id}/events`, { headers: headers(), signal: controller.signal });
    if (!response.ok) throw await problem(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        await onEvent(job.id, buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (error) {
    if (error.name !== "AbortError") notify(error);
  } finally {
    if (state.streams.get(job.id) === controller) state.streams.delete(job.id);
  }
}

async function onEvent(jobId, block) {
  const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
  if (!data) return;
  const event = JSON.parse(data);
  const job = state.jobs.get(jobId);
  if (!job) return;
  if (event.rows_done !== undefined) {
    job.progress = { ...job.progress, rows_done: Number(event.rows_done), rows_failed: Number(event.rows_failed || 0) };
    updateJob(job);
  }
  if (event.status !== undefined) updateJob(await api(`/v1/jobs/${jobId}`));
}

// ---- one job ---------------------------------------------------------------------------------

async function showJob(jobId) {
  state.selected = jobId;
  document.querySelectorAll("#jobs-table tbody tr").forEach((r) => r.classList.toggle("selected", r.dataset.jobId === jobId));
  try {
    const job = await api(`/v1/jobs/${jobId}`);
    updateJob(job);
    if (!TERMINAL.has(job.status)) follow(job);
  } catch (error) { notify(error); }
}

function renderDetail(job) {
  const detail = $("#job-detail");
  detail.hidden = false;
  const { rows_done: done, rows_failed: failed, rows_total: total } = job.progress;
  const fields = [
    ["Job", job.id], ["Status", job.status], ["Model", `${job.model.name}@${job.model.version}`],
    ["Rows", `${done} scored, ${failed} failed, ${total ?? "?"} in all`], ["Created", job.created_at],
    ["Started", job.started_at || "—"], ["Finished", job.finished_at || "—"],
    ["Outputs", (job.outputs || []).join(", ")], ["Passthrough", (job.passthrough || []).join(", ") || "—"],
    ["Metadata", JSON.stringify(job.metadata)],
  ];
  detail.innerHTML = `<h2>Job details</h2><dl></dl><p class="error job-error"></p>
    <p class="downloads"></p><p class="actions"></p><h3>Row errors</h3><ul class="row-errors"></ul>`;
  const list = detail.querySelector("dl");
  for (const [name, value] of fields) {
    const dt = document.createElement("dt"); dt.textContent = name;
    const dd = document.createElement("dd"); dd.textContent = value; dd.dataset.field = name.toLowerCase();
    list.append(dt, dd);
  }
  if (job.error) detail.querySelector(".job-error").textContent = `${job.error.code}: ${job.error.message}`;
  const downloads = detail.querySelector(".downloads");
  if (["succeeded", "cancelled", "failed"].includes(job.status)) {
    for (const format of FORMATS) downloads.append(downloadLink(job.id, format));
  } else {
    const cancel = document.createElement("button");
    cancel.textContent = "Cancel job";
    cancel.className = "cancel";
    cancel.addEventListener("click", () => api(`/v1/jobs/${job.id}/cancel`, { method: "POST" }).then(updateJob, notify));
    detail.querySelector(".actions").append(cancel);
  }
  loadRowErrors(job.id, detail.querySelector(".row-errors"));
}

function downloadLink(jobId, format) {
  const link = document.createElement("a");
  link.href = `/v1/jobs/${jobId}/results?format=${format}`;
  link.className = "download";
  link.dataset.format = format;
  link.textContent = `Download ${format.toUpperCase()}`;
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    try {
      const response = await fetch(link.href, { headers: headers() });
      if (!response.ok) throw await problem(response);
      saveBlob(await response.blob(), `${jobId}.${format}`);
    } catch (error) { notify(error); }
  });
  return link;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const anchor = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function loadRowErrors(jobId, list) {
  try {
    const { data } = await api(`/v1/jobs/${jobId}/errors`);
    list.replaceChildren(...data.slice(0, 100).map((e) => {
      const item = document.createElement("li");
      const where = e.line != null ? `line ${e.line}` : `row ${e.row}`;
      item.textContent = `${where}${e.column ? `, ${e.column}` : ""}: ${e.msg}`;
      return item;
    }));
    if (!data.length) list.innerHTML = "<li>none</li>";
  } catch (error) { notify(error); }
}

// ---- upload ----------------------------------------------------------------------------------

function upload(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData();
  data.append("file", $("#upload-file").files[0]);
  data.append("model", $("#upload-model").value);
  const passthrough = $("#upload-passthrough").value.trim();
  if (passthrough) data.append("passthrough", passthrough);
  const outputs = [...form.querySelectorAll("input[name=outputs]:checked")].map((i) => i.value);
  data.append("outputs", outputs.join(","));
  const bar = $("#upload-progress");
  const result = $("#upload-result");
  bar.hidden = false;
  bar.value = 0;
  result.textContent = "uploading…";
  // XMLHttpRequest rather than fetch: it reports upload progress.
  const request = new XMLHttpRequest();
  request.open("POST", "/v1/jobs");
  for (const [name, value] of Object.entries(headers())) request.setRequestHeader(name, value);
  request.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
  request.onerror = () => { result.textContent = "upload failed: the API could not be reached"; };
  request.onload = () => {
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (_) { /* not JSON */ }
    if (request.status !== 202 && request.status !== 200) {
      result.textContent = `upload refused: ${request.status} ${body.title || ""} ${body.detail || ""}`;
      result.classList.add("error");
      return;
    }
    result.classList.remove("error");
    result.textContent = `job ${body.id} ${body.status}`;
    result.dataset.jobId = body.id;
    show("jobs");
    state.jobs = new Map([[body.id, body], ...state.jobs]);
    renderJobs();
    showJob(body.id);
  };
  request.send(data);
}

// ---- models ----------------------------------------------------------------------------------

async function loadModels() {
  try {
    const { data } = await api("/v1/models");
    const select = $("#upload-model");
    const chosen = select.value;
    select.replaceChildren(...data.map((m) => new Option(m.name, m.name)));
    if (chosen) select.value = chosen;
    $("#models-list").replaceChildren(...data.map(modelCard));
  } catch (error) { notify(error); }
}

function modelCard(model) {
  const card = document.createElement("div");
  card.className = "model";
  card.dataset.model = model.name;
  const aliases = Object.entries(model.aliases).map(([a, v]) => `<span class="alias">${a} → v${v}</span>`).join("");
  card.innerHTML = `<h2></h2><p>default v${model.default_version}, latest v${model.latest_version} ${aliases}</p>
    <table><thead><tr><th>Version</th><th>Task</th><th>Features</th><th>Classes</th><th>Format</th><th>Created</th><th></th></tr></thead><tbody></tbody></table>`;
  card.querySelector("h2").textContent = model.name;
  card.querySelector("tbody").replaceChildren(...model.versions.map((v) => {
    const row = document.createElement("tr");
    for (const value of [`v${v.version}`, v.task, v.features.map((f) => f.name).join(", "),
      (v.classes || []).join(", ") || "—", v.format, v.created_at]) {
      const cell = document.createElement("td"); cell.textContent = value; row.append(cell);
    }
    const watch = Object.assign(document.createElement("button"), { className: "monitor", textContent: "Monitoring" });
    watch.dataset.version = v.version;
    watch.addEventListener("click", (event) => { event.stopPropagation(); showMonitoring(model.name, v.version); });
    const cell = document.createElement("td");
    cell.append(watch);
    row.append(cell);
    return row;
  }));
  const traffic = trafficPanel(model);
  if (traffic) card.querySelector("p").after(traffic);
  return card;
}

// ---- navigation ------------------------------------------------------------------------------

function show(view) {
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== `view-${view}`; });
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
  if (view === "models" || view === "upload") loadModels();
  if (view === "jobs") loadJobs();
  if (view === "overview") drawOverview();
  if (view === "usage") loadUsage();
}

function start() {
  takeKeyFromLink();
  const key = $("#api-key");
  key.value = localStorage.getItem(KEY_ITEM) || "";
  key.addEventListener("change", () => setKey(key.value.trim()));
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
  $("#refresh").addEventListener("click", loadJobs);
  $("#filter-status").addEventListener("change", loadJobs);
  $("#upload-form").addEventListener("submit", upload);
  setUpMonitoring();
  setUpUsage();
  setUpRollouts();
  startOverview();  // samples /metrics from the start, so the overview has a history
  loadJobs();
  loadModels();
  setInterval(() => { if (!$("#view-jobs").hidden) loadJobs(); }, 5000);
}

start();

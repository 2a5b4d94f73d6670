// The overview page: throughput, latency and queues over the last hour, sampled from /metrics.
"use strict";

const OVERVIEW = { samples: [], timer: null, periodMs: 2000, keepSeconds: 3600 };

// Prometheus text exposition -> {name: [{labels, value}]}.
function parseMetrics(text) {
  const families = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    (families[match[1]] ||= []).push({ labels, value: Number(match[3]) });
  }
  return families;
}

function total(families, name) {
  return (families[name] || []).reduce((sum, sample) => sum + sample.value, 0);
}

function buckets(families, name) {
  return (families[`${name}_bucket`] || []).map((s) => [s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value]).sort((a, b) => a[0] - b[0]);
}

// A quantile of the observations between two cumulative bucket lists (linear within a bucket).
function quantile(q, before, after) {
  const counts = after.map(([le, n], i) => [le, n - (before[i] ? before[i][1] : 0)]);
  const count = counts.length ? counts[counts.length - 1][1] : 0;
  if (!(count > 0)) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, n] of counts) {
    if (n >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(n - below, 1e-9);
    }
    lower = le === Infinity ? lower : le;
    below = n;
  }
  return lower;
}

async function sampleMetrics() {
  const response = await fetch("/metrics", { headers: headers() });
  if (!response.ok) throw await problem(response);
  const families = parseMetrics(await response.text());
  OVERVIEW.samples.push({
    t: Date.now() / 1000,
    jobs: total(families, "inferq_jobs_ended_total"),
    rows: total(families, "inferq_rows_scored_total"),
    latency: buckets(families, "inferq_job_duration_seconds"),
    queue: total(families, "inferq_queue_depth"),
    backlog: total(families, "inferq_backlog_per_worker"),
  });
  const oldest = Date.now() / 1000 - OVERVIEW.keepSeconds;
  while (OVERVIEW.samples.length && OVERVIEW.samples[0].t < oldest) OVERVIEW.samples.shift();
}

function overviewSeries() {
  const s = OVERVIEW.samples;
  const pairs = s.slice(1).map((now, i) => [s[i], now]);
  const rate = (key) => pairs.map(([a, b]) => [b.t, Math.max(0, (b[key] - a[key]) / Math.max(b.t - a.t, 1e-3))]);
  const latency = (q) => pairs.map(([a, b]) => [b.t, quantile(q, a.latency, b.latency)]).filter((p) => p[1] !== null);
  return {
    jobs: rate("jobs"),
    rows: rate("rows"),
    p50: latency(0.5),
    p99: latency(0.99),
    queue: s.map((x) => [x.t, x.queue]),
    backlog: s.map((x) => [x.t, x.backlog]),
  };
}

function drawOverview() {
  const series = overviewSeries();
  lineChart($("#chart-jobs"), [{ name: "jobs/s", points: series.jobs }], { label: "Jobs per second" });
  lineChart($("#chart-rows"), [{ name: "rows/s", points: series.rows }], { label: "Rows per second" });
  lineChart($("#chart-latency"), [{ name: "p50 s", points: series.p50 }, { name: "p99 s", points: series.p99 }], { label: "Job latency" });
  lineChart($("#chart-queue"), [{ name: "queue depth", points: series.queue }, { name: "backlog/worker", points: series.backlog }], { label: "Queue depth" });
  $("#overview-samples").textContent = `${OVERVIEW.samples.length} samples, one every ${OVERVIEW.periodMs / 1000} s, kept for an hour while this page is open`;
}

async function tickOverview() {
  try {
    await sampleMetrics();
    drawOverview();
  } catch (error) { notify(error); }
}

function startOverview() {
  if (OVERVIEW.timer) return;
  tickOverview();
  OVERVIEW.timer = setInterval(tickOverview, OVERVIEW.periodMs);
}

function stopOverview() {
  clearInterval(OVERVIEW.timer);
  OVERVIEW.timer = null;
}

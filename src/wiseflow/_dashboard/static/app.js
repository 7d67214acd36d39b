// The wiseflow dashboard page. Every plugin-controlled string is put into the page as a
// text node (textContent) or an attribute value (setAttribute), never parsed as HTML.
"use strict";

const TOKEN = document.querySelector('meta[name="wiseflow-token"]').content;
const SVG = "http://www.w3.org/2000/svg";
const openDetails = new Set();

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function num(v, digits) {
  if (v === null || v === undefined || v === "") return "-";
  if (typeof v !== "number") return String(v);
  return digits === undefined ? v.toLocaleString("en") : v.toFixed(digits);
}

function td(value, cls) {
  return el("td", { class: cls || (typeof value === "number" ? "num" : null) }, value);
}

// A sparkline of series[i] (rates when `rate`, values otherwise): numbers only reach the SVG.
function spark(points, index, rate) {
  const values = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!rate) { values.push(Number(p[index]) || 0); continue; }
    if (i === 0) continue;
    const dt = (Number(p[0]) - Number(points[i - 1][0])) || 1;
    values.push(Math.max(0, (Number(p[index]) - Number(points[i - 1][index])) / dt));
  }
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", "80");
  svg.setAttribute("height", "18");
  if (values.length > 1) {
    const max = Math.max(...values) || 1;
    const step = 80 / (values.length - 1);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", values.map((v, i) =>
      `${(i * step).toFixed(1)},${(17 - (v / max) * 16).toFixed(1)}`).join(" "));
    svg.append(line);
  }
  // the figure beside it: the latest value, or for rates the mean of the last five
  const recent = values.slice(-5);
  const last = !values.length ? null
    : rate ? recent.reduce((a, b) => a + b, 0) / recent.length : values[values.length - 1];
  return { svg, last };
}

function details(key, summary, ...body) {
  const d = el("details", { "data-key": key }, el("summary", {}, summary), ...body);
  if (openDetails.has(key)) d.open = true;
  d.addEventListener("toggle", () => d.open ? openDetails.add(key) : openDetails.delete(key));
  return d;
}

function errorCell(key, err) {
  if (!err) return el("td", {}, "");
  const body = [el("div", {}, err.message || "")];
  if (err.hint) body.push(el("div", { class: "muted" }, "hint: " + err.hint));
  if (err.traceback) body.push(el("pre", {}, err.traceback));
  return el("td", { class: "error" }, details(key, err.code || "error", ...body));
}

// What a sandboxed plugin's worker reported attempting (its audit hook): monitoring, not a
// verdict; every string is the plugin's and goes in as text.
function behaviourCell(key, beh) {
  const kinds = (beh && beh.kinds) || {};
  const names = Object.keys(kinds);
  if (!names.length) return el("td", { class: "muted" }, "-");
  const flags = beh.flags || [];
  const body = flags.map((f) => el("div", { class: "error" }, "flagged: " + f));
  for (const kind of names) {
    const k = kinds[kind] || {};
    body.push(el("div", {}, `${kind}: ${num(k.attempts)} attempt(s), ${num(k.refused)} refused, ` +
      `${num(k.beyond_manifest)} beyond the manifest`));
    for (const s of k.samples || []) {
      body.push(el("div", { class: "muted" }, `${s.what} [${s.outcome}]`));
    }
  }
  const summary = flags.length ? `${flags.length} flagged` : `${names.length} kind(s)`;
  return el("td", { "data-behaviour": flags.length ? "flagged" : "seen" },
    details(key, summary, ...body));
}

async function post(url, body) {
  const notice = document.getElementById("notice");
  try {
    const resp = await fetch(url, {
      method: "POST",
      headers: { "X-Wiseflow-Token": TOKEN, "Content-Type": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body),
    });
    const doc = await resp.json().catch(() => ({}));
    const msg = doc.error ? `${doc.error.code}: ${doc.error.message}` : "accepted";
    notice.textContent = `${resp.status} ${msg}`;
    notice.setAttribute("data-status", String(resp.status));
  } catch (e) {
    notice.textContent = "request failed: " + e;
    notice.setAttribute("data-status", "0");
  }
}

function button(label, action) {
  const b = el("button", { type: "button", "data-action": label }, label);
  b.addEventListener("click", action);
  return b;
}

function renderPlugins(plugins) {
  const rows = plugins.map((p) => {
    const hist = p.history || [];
    const cpu = spark(hist, 1, true);
    const mem = spark(hist, 2, false);
    const rate = spark(hist, 4, true);
    const res = p.resources || {};
    const breaker = (p.breaker || {}).state || "closed";
    const name = String(p.name);
    const action = p.state === "DISABLED" ? "enable" : "disable";
    const url = `/api/plugins/${encodeURIComponent(name)}/${action}`;
    return el("tr", { "data-instance": name, "data-state": p.state, "data-breaker": breaker },
      td(p.name), td(p.plugin), td(p.kind), td(p.level),
      td(p.state, "state-" + p.state), td(breaker, "breaker-" + breaker),
      td(p.calls), td(p.errors), td(p.records_in), td(p.records_out),
      el("td", { class: "num" }, rate.svg, " ", num(rate.last, 1)),
      el("td", { class: "num" }, cpu.svg, " ", num(res.cpu_s, 2), " s"),
      el("td", { class: "num" }, mem.svg, " ",
        res.memory_mb === null || res.memory_mb === undefined ? "n/a" : num(res.memory_mb, 1) + " MB"),
      errorCell("err:" + name, p.last_error),
      behaviourCell("beh:" + name, p.behaviour),
      el("td", {}, button(action, () => post(url))));
  });
  document.querySelector("#plugins tbody").replaceChildren(...rows);
}

function renderStages(stages) {
  document.querySelector("#stages tbody").replaceChildren(...stages.map((s) =>
    el("tr", { "data-stage": s.name },
      td(s.name), td(s.plugin), td(s.kind), td(s.state, "state-" + s.state),
      td(s.in), td(s.out), td(s.records_per_s), td(s.queued === null ? "-" : s.queued),
      td(s.errors))));
}

function renderEvents(events) {
  const items = events.slice().reverse().map((e) => {
    const when = new Date(Number(e.time) * 1000).toLocaleTimeString("en-GB");
    const change = (e.old || e.new) && e.old !== e.new ? ` ${e.old || "-"} → ${e.new || "-"}` : "";
    return el("li", { "data-event": e.event }, `${when} ${e.plugin || ""} ${e.event}${change}`,
      e.reason ? el("span", { class: "muted" }, ": " + e.reason) : null);
  });
  document.getElementById("events").replaceChildren(...items);
}

function renderDead(letters, replayable, runs) {
  const pipelineOf = new Map(runs.map((r) => [r.run_id, r.pipeline]));
  document.querySelector("#dead tbody").replaceChildren(...letters.map((d) => {
    const canReplay = replayable.includes(pipelineOf.get(d.run_id));
    return el("tr", { "data-seq": d.seq },
      td(d.run_id), td(d.record_id), td(d.plugin), td(d.code),
      errorCell("dead:" + d.seq, { code: (d.reason || "").slice(0, 60), message: d.reason,
        traceback: d.traceback }),
      el("td", {}, button("replay", () => post("/api/dead-letters/replay", { run: d.run_id })),
        canReplay ? null : el("span", { class: "muted" }, " (pipeline file unknown)")));
  }));
}

// A finished run's stored document, fetched once when its details are opened.
const runDocs = new Map();

function runDetails(run) {
  const key = "run:" + run.run_id;
  const box = el("div", { class: "run-details" });
  const fill = (doc) => {
    const plugins = ((doc || {}).summary || {}).plugins || {};
    const rows = Object.entries(plugins).map(([name, p]) => {
      const res = p.resources || {};
      const hist = res.history || [];
      return el("tr", { "data-run-plugin": name }, td(name), td(p.state, "state-" + p.state),
        td(p.calls), td(p.errors),
        el("td", { class: "num" }, spark(hist, 1, true).svg, " ", num(res.cpu_s, 2), " s"),
        el("td", { class: "num" }, spark(hist, 2, false).svg, " ",
          res.memory_mb === null || res.memory_mb === undefined ? "n/a" : num(res.memory_mb, 1) + " MB"),
        el("td", { class: "num" }, spark(hist, 3, true).svg));
    });
    const errors = (((doc || {}).summary || {}).errors || []).map((e) =>
      el("li", {}, `${e.code} (${e.plugin}): ${e.message}`));
    box.replaceChildren(
      el("table", {}, el("thead", {}, el("tr", {}, ...["plugin", "state", "calls", "errors",
        "CPU", "memory", "records out"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)),
      errors.length ? el("ul", {}, ...errors) : "");
  };
  const d = details(key, "details", box);
  const load = () => {
    if (runDocs.has(run.run_id)) { fill(runDocs.get(run.run_id)); return; }
    fetch(`/api/runs/${Number(run.run_id)}`).then((r) => r.json()).then((doc) => {
      if (run.status !== "running") runDocs.set(run.run_id, doc);
      fill(doc);
    }).catch(() => { box.textContent = "could not load this run"; });
  };
  d.addEventListener("toggle", () => { if (d.open) load(); });
  if (d.open) load();
  return d;
}

function renderRuns(runs, hosts) {
  const live = new Map(hosts.map((h) => [(h.run || {}).run_id, (h.run || {}).records || {}]));
  document.querySelector("#runs tbody").replaceChildren(...runs.map((r) => {
    const rec = r.status === "running" && live.has(r.run_id) ? live.get(r.run_id) : r.records || {};
    return el("tr", { "data-run": r.run_id },
      td(r.run_id), td(r.pipeline + (r.replay ? " (replay)" : "")),
      td(r.status, "status-" + r.status), td(r.started), td(r.finished || "-"),
      td(rec.fetched), td(rec.stored), td(rec.dead_letters),
      el("td", {}, r.report ? el("a", { href: `/api/runs/${Number(r.run_id)}/report` }, "report")
        : "-"),
      el("td", {}, runDetails(r)));
  }));
}

function renderHosts(hosts) {
  const box = document.getElementById("hosts");
  if (!hosts.length) {
    box.textContent = "no run is writing live figures to this data dir";
    return;
  }
  box.replaceChildren(...hosts.map((h) => {
    const rec = (h.run || {}).records || {};
    return el("div", { "data-host": h.pid },
      `${h.label || "pid " + h.pid} — run ${num((h.run || {}).run_id)}: `
      + `${num(rec.fetched)} fetched, ${num(rec.stored)} stored, `
      + `${num(rec.dead_letters)} dead letters (${num(h.uptime_s, 0)} s)`);
  }));
}

function render(state) {
  renderHosts(state.hosts || []);
  renderPlugins(state.plugins || []);
  renderStages(state.stages || []);
  renderEvents(state.events || []);
  renderDead(state.dead_letters || [], state.replayable || [], state.runs || []);
  renderRuns(state.runs || [], state.hosts || []);
  document.body.setAttribute("data-updated", String(Date.now()));
}

function connect() {
  const conn = document.getElementById("conn");
  const source = new EventSource("/api/stream");
  source.addEventListener("state", (ev) => {
    conn.textContent = "live";
    conn.className = "badge live";
    render(JSON.parse(ev.data));
  });
  source.onerror = () => {
    conn.textContent = "disconnected (retrying)";
    conn.className = "badge down";
  };
}

document.getElementById("mode").textContent = TOKEN ? "" :
  "read-only: open the URL printed at start to make changes";
connect();

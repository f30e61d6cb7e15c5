// The glassbox viewer: reads the JSON API on this admin port and builds the page with DOM calls only
// (textContent, never innerHTML), so nothing stored in a span can become markup or script.
"use strict";

const FILTERS = ["service", "ml_app", "model", "kind", "status", "prompt", "prompt_version", "eval_label",
  "eval_fail", "pii", "q", "since", "until"];
const POLL_MS = 3000;
const SVG = "http://www.w3.org/2000/svg";
let pollTimer = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// The viewer's one write: dead letters back to their queues. The custom header keeps other sites' pages out.
async function replay(ids) {
  const response = await fetch("/api/deadletters/replay", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Glassbox-Action": "replay" },
    body: JSON.stringify(ids ? { ids } : {}),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body.moved;
}

function setStatus(text) { document.getElementById("status").textContent = text; }
function fmtMs(ns) { return ns === null || ns === undefined ? "-" : (ns / 1e6).toFixed(ns < 1e7 ? 2 : 0) + " ms"; }
function fmtCost(c) { return c ? "$" + Number(c).toFixed(6) : "-"; }
function fmtNum(n) { return n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US"); }
function fmtTime(ns) { return new Date(ns / 1e6).toISOString().replace("T", " ").slice(0, 23); }
function badge(text, cls) { return el("span", { class: "badge " + (cls || "") }, text); }

// Redaction placeholders (<EMAIL_ADDRESS>) are marked so a reviewer sees where redaction acted.
function withPlaceholders(text) {
  const out = el("span", { class: "content" });
  const parts = String(text === undefined || text === null ? "" : text).split(/(<[A-Z][A-Z0-9_]*>)/);
  parts.forEach((part, i) => out.append(i % 2 ? el("span", { class: "placeholder" }, part) : document.createTextNode(part)));
  return out;
}

function clearApp() {
  if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  const app = document.getElementById("app");
  app.replaceChildren();
  return app;
}

// ---- trace list -------------------------------------------------------------------------------------------

function currentFilters() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const out = new URLSearchParams();
  for (const name of FILTERS) if (params.get(name)) out.set(name, params.get(name));
  return out;
}

function traceRow(t) {
  const badges = [];
  if (t.errors) badges.push(badge(t.errors + " error" + (t.errors > 1 ? "s" : ""), "error"));
  for (const label of t.failed_evals) badges.push(badge("eval failed: " + label, "fail"));
  for (const entity of t.pii) badges.push(badge("PII " + entity, "pii"));
  for (const p of t.prompts) badges.push(badge(p.name + (p.version ? " v" + p.version : "")));
  return el("tr", { class: "trace", "data-trace": t.trace_id, onclick: () => { location.hash = "#/trace/" + t.trace_id; } },
    el("td", {}, el("a", { href: "#/trace/" + t.trace_id }, t.root_name)),
    el("td", {}, t.service || t.ml_app || ""),
    el("td", {}, fmtTime(t.start_ns)),
    el("td", {}, fmtMs(t.duration_ns)),
    el("td", { class: "llm-calls" }, t.llm_calls),
    el("td", {}, fmtNum(t.tokens)),
    el("td", { class: "cost" }, fmtCost(t.cost)),
    el("td", {}, badge(t.errors ? "error" : "ok", t.errors ? "error" : "ok")),
    el("td", { class: "badges" }, badges),
  );
}

async function showTraces() {
  const app = clearApp();
  const filters = currentFilters();
  const form = el("form", { class: "filters", id: "filters" });
  for (const name of FILTERS) {
    let input;
    if (name === "status") {
      input = el("select", { name }, el("option", { value: "" }, "any status"), el("option", { value: "error" }, "errors"));
      input.value = filters.get(name) || "";
    } else if (name === "eval_fail") {
      input = el("input", { type: "checkbox", name, value: "1" });
      input.checked = filters.get(name) === "1";
    } else {
      input = el("input", { name, placeholder: name === "q" ? "search content" : name.replace("_", " ") });
      input.value = filters.get(name) || "";
    }
    form.append(el("label", { title: name }, name === "eval_fail" ? "failed evals " : "", input));
  }
  form.append(el("button", { type: "submit", id: "apply" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form).entries()) if (value) params.set(key, value);
    location.hash = "#/?" + params.toString();
  });
  const count = el("span", { class: "count", id: "count" });
  const older = el("button", { id: "older", type: "button" }, "Older →");
  const newest = el("button", { id: "newest", type: "button" }, "Newest");
  const tbody = el("tbody", { id: "traces" });
  app.append(el("h2", {}, "Traces"), form, el("div", { class: "pager" }, count, newest, older),
    el("table", {}, el("thead", {}, el("tr", {}, ["Root", "Service", "Start (UTC)", "Duration", "LLM calls", "Tokens",
      "Cost", "Status", "Badges"].map((h) => el("th", {}, h)))), tbody));

  const state = { before: null, newestSeq: 0, shown: 0, page: 1 };
  async function load() {
    const params = new URLSearchParams(filters);
    params.set("limit", "50");
    if (state.before !== null) params.set("before", state.before);
    try {
      const body = await api("/api/traces?" + params.toString());
      tbody.replaceChildren(...body.traces.map(traceRow));
      state.shown = body.traces.length;
      state.newestSeq = Math.max(state.newestSeq, body.newest);
      state.next = body.next;
      state.total = body.total;
      older.disabled = body.next === null;
      newest.disabled = state.before === null;
      renderCount(body);
    } catch (error) {
      tbody.replaceChildren(el("tr", {}, el("td", { class: "error-box", colspan: "9" }, error.message)));
    }
  }
  function renderCount(body) {
    const first = (state.page - 1) * 50 + (state.shown ? 1 : 0);
    count.textContent = `${first}–${(state.page - 1) * 50 + state.shown} of ${fmtNum(body.total)} traces` +
      (filters.toString() ? ` (${fmtNum(body.stored)} stored)` : "") + `, page ${state.page}`;
  }
  older.addEventListener("click", () => { state.before = state.next; state.page += 1; load(); });
  newest.addEventListener("click", () => { state.before = null; state.page = 1; load(); });
  await load();
  // Live updates: on the first page, only traces that arrived or grew since the newest one shown.
  pollTimer = setInterval(async () => {
    if (state.before !== null) return;
    const params = new URLSearchParams(filters);
    params.set("after", state.newestSeq);
    params.set("limit", "50");
    try {
      const body = await api("/api/traces?" + params.toString());
      state.newestSeq = Math.max(state.newestSeq, body.newest);
      for (const t of body.traces.slice().reverse()) {
        const old = tbody.querySelector(`tr[data-trace="${CSS.escape(t.trace_id)}"]`);
        if (old) old.remove();
        const row = traceRow(t);
        row.classList.add("fresh");
        tbody.prepend(row);
      }
      while (tbody.children.length > 50) tbody.lastElementChild.remove();
      state.shown = tbody.children.length;
      renderCount(body);
      setStatus("live · updated " + new Date().toLocaleTimeString());
    } catch (error) {
      setStatus("live updates paused: " + error.message);
    }
  }, POLL_MS);
}

// ---- one trace --------------------------------------------------------------------------------------------

function depthOf(spans) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const depth = new Map();
  function d(s, seen) {
    if (depth.has(s.span_id)) return depth.get(s.span_id);
    const parent = byId.get(s.parent_id);
    const value = parent && !seen.has(parent.span_id) ? d(parent, seen.add(s.span_id)) + 1 : 0;
    depth.set(s.span_id, value);
    return value;
  }
  spans.forEach((s) => d(s, new Set()));
  return depth;
}

// Children right after their parent, in start order: the waterfall reads as a tree.
function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map();
  for (const s of spans) {
    const key = ids.has(s.parent_id) ? s.parent_id : "";
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(s);
  }
  const out = [];
  const walk = (key) => (children.get(key) || []).forEach((s) => { out.push(s); if (s.span_id !== key) walk(s.span_id); });
  walk("");
  return out.length === spans.length ? out : spans;
}

async function showTrace(traceId) {
  const app = clearApp();
  let body;
  try {
    body = await api("/api/traces/" + encodeURIComponent(traceId));
  } catch (error) {
    app.append(el("div", { class: "error-box" }, error.message));
    return;
  }
  const t = body.trace;
  const spans = treeOrder(body.spans);
  const depth = depthOf(spans);
  const start = Math.min(...spans.map((s) => s.start_ns));
  const end = Math.max(...spans.map((s) => s.start_ns + s.duration_ns));
  const total = Math.max(1, end - start);
  const details = el("div", { class: "panel", id: "span-details" }, "Select a span.");
  const waterfall = el("div", { class: "waterfall", id: "waterfall" });
  for (const s of spans) {
    const bar = el("div", { class: "wf-bar " + s.kind + (s.status === "error" ? " error" : "") });
    bar.style.left = ((s.start_ns - start) / total * 100) + "%";
    bar.style.width = (s.duration_ns / total * 100) + "%";
    const name = el("div", { class: "wf-name" }, s.kind + " · " + s.name, " ", el("small", {}, fmtMs(s.duration_ns)));
    name.style.paddingLeft = (depth.get(s.span_id) * 14) + "px";
    const row = el("div", { class: "wf-row", "data-span": s.span_id, "data-kind": s.kind }, name, el("div", { class: "wf-track" }, bar));
    row.addEventListener("click", () => {
      waterfall.querySelectorAll(".selected").forEach((r) => r.classList.remove("selected"));
      row.classList.add("selected");
      details.replaceChildren(...spanDetails(s));
    });
    waterfall.append(row);
  }
  const session = t.session_id ? el("a", { href: "#/session/" + encodeURIComponent(t.session_id), id: "session-link" }, "session " + t.session_id) : "";
  app.append(
    el("h2", {}, t.root_name, " ", el("small", {}, t.trace_id)),
    el("p", {}, fmtTime(t.start_ns), " · ", fmtMs(t.duration_ns), " · ", t.spans + " spans · ", t.llm_calls + " LLM calls · ",
      fmtNum(t.tokens) + " tokens · ", fmtCost(t.cost), " · ", session),
    el("div", { class: "layout" }, waterfall, details),
  );
}

function messageView(m) {
  const role = m.role || "message";
  const node = el("div", { class: "message " + role }, el("div", { class: "role" }, role + (m.name ? " · " + m.name : "")));
  if (m.content !== undefined && m.content !== null && m.content !== "") node.append(withPlaceholders(m.content));
  for (const call of m.tool_calls || []) {
    node.append(el("div", { class: "tool-call" }, el("strong", {}, "tool call " + (call.name || "")),
      el("pre", {}, typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments, null, 2))));
  }
  for (const result of m.tool_results || []) {
    node.append(el("div", { class: "tool-result" }, el("strong", {}, "tool result " + (result.name || "")),
      withPlaceholders(typeof result.result === "string" ? result.result : JSON.stringify(result.result))));
  }
  return node;
}

function documentsView(docs) {
  return docs.map((d) => el("div", { class: "message document" }, el("div", { class: "role" }, "document" + (d.name ? " · " + d.name : "") +
    (d.score !== undefined ? " · score " + d.score : "")), withPlaceholders(d.text || "")));
}

function io(value) {
  if (!value) return [];
  const out = [];
  if (value.messages) out.push(...value.messages.map(messageView));
  if (value.documents) out.push(...documentsView(value.documents));
  if (value.value !== undefined) out.push(el("div", { class: "message" }, withPlaceholders(value.value)));
  return out;
}

function kv(obj) {
  const list = el("dl", { class: "kv" });
  for (const [key, value] of Object.entries(obj || {})) {
    list.append(el("dt", {}, key), el("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value)));
  }
  return list;
}

function placeholdersIn(value, where, found) {
  if (typeof value === "string") {
    for (const match of value.matchAll(/<([A-Z][A-Z0-9_]*)>/g)) found.push([match[1], where]);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => placeholdersIn(v, where + "[" + i + "]", found));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) placeholdersIn(v, where + "." + k, found);
  }
  return found;
}

function spanDetails(s) {
  const event = s.event;
  const meta = event.meta || {};
  const prompt = (meta.input || {}).prompt;
  const overview = el("div", { class: "tab-body", "data-tab": "details" },
    el("h3", {}, "Input"), io(meta.input),
    el("h3", {}, "Output"), io(meta.output),
    meta.model_name ? [el("h3", {}, "Model"), kv({ model: meta.model_name, provider: meta.model_provider, ...(meta.metadata || {}) })] :
      meta.metadata ? [el("h3", {}, "Metadata"), kv(meta.metadata)] : [],
    Object.keys(event.metrics || {}).length ? [el("h3", {}, "Tokens and cost"), el("div", { class: "metrics" }, kv(event.metrics))] : [],
    prompt ? [el("h3", {}, "Prompt"), el("div", { class: "prompt" }, kv({ name: prompt.name, version: prompt.version, label: prompt.label }),
      prompt.template ? el("pre", {}, prompt.template) : "", prompt.variables ? kv(prompt.variables) : "")] : [],
  );
  const evals = el("div", { class: "tab-body", "data-tab": "evaluations", hidden: "" },
    s.evaluations.length ? s.evaluations.map((e) => el("div", { class: "evaluation message" },
      badge(e.assessment || "-", e.assessment === "fail" ? "fail" : e.assessment === "pass" ? "pass" : ""), " ",
      el("strong", {}, e.label), " = ", String(e.categorical_value ?? e.score_value ?? e.boolean_value ?? ""),
      e.reasoning ? el("div", { class: "content" }, e.reasoning) : "")) : "No evaluations.");
  const found = placeholdersIn(meta, "meta", []);
  const redaction = el("div", { class: "tab-body", "data-tab": "redaction", hidden: "" },
    el("p", {}, "PII types found: ", s.pii_types.length ? s.pii_types.map((p) => badge(p, "pii")) : "none"),
    found.length ? el("table", {}, el("tr", {}, el("th", {}, "placeholder"), el("th", {}, "where")),
      found.map(([entity, where]) => el("tr", {}, el("td", {}, "<" + entity + ">"), el("td", {}, where)))) : "",
    el("h3", {}, "Tags"), el("div", {}, (event.tags || []).map((tag) => badge(tag))));
  const raw = el("div", { class: "tab-body", "data-tab": "raw", hidden: "" },
    el("p", {}, "The span event exactly as stored (what the datadog exporter sends):"),
    el("pre", { id: "raw-json" }, JSON.stringify(event, null, 2)),
    s.evaluations.length ? [el("p", {}, "Evaluation metrics:"), el("pre", {}, JSON.stringify(s.evaluations, null, 2))] : []);
  const bodies = [overview, evals, redaction, raw];
  const tabs = el("div", { class: "tabs" });
  for (const [name, label] of [["details", "Details"], ["evaluations", "Evaluations (" + s.evaluations.length + ")"],
    ["redaction", "Redaction & tags"], ["raw", "Raw"]]) {
    const button = el("button", { type: "button", "data-tab": name, class: name === "details" ? "active" : "" }, label);
    button.addEventListener("click", () => {
      tabs.querySelectorAll("button").forEach((b) => b.classList.toggle("active", b === button));
      bodies.forEach((b) => { b.hidden = b.dataset.tab !== name; });
    });
    tabs.append(button);
  }
  return [el("h3", {}, s.kind + " · " + s.name), el("p", {}, badge(s.status, s.status === "error" ? "error" : "ok"), " ",
    fmtMs(s.duration_ns), s.model_name ? " · " + s.model_name : ""), tabs, ...bodies];
}

// ---- session transcript -------------------------------------------------------------------------------------

async function showSession(sessionId) {
  const app = clearApp();
  const body = await api("/api/sessions/" + encodeURIComponent(sessionId));
  const chat = el("div", { class: "chat", id: "transcript" });
  for (const item of body.traces) {
    chat.append(el("h3", {}, el("a", { href: "#/trace/" + item.trace.trace_id }, item.trace.root_name), " · ", fmtTime(item.trace.start_ns)));
    for (const s of item.spans.filter((x) => x.kind === "llm")) {
      const input = ((s.event.meta || {}).input || {}).messages || [];
      const users = input.filter((m) => m.role === "user");
      if (users.length) chat.append(el("div", { class: "turn user" }, withPlaceholders(users[users.length - 1].content)));
      for (const m of ((s.event.meta || {}).output || {}).messages || []) {
        chat.append(el("div", { class: "turn assistant" }, withPlaceholders(m.content || (m.tool_calls ? "[tool call " + m.tool_calls.map((c) => c.name).join(", ") + "]" : ""))));
      }
    }
  }
  app.append(el("h2", {}, "Session " + sessionId), chat);
}

// ---- overview charts (inline SVG) ---------------------------------------------------------------------------

function lineChart(title, points, series) {
  const w = 360, h = 140, pad = 28;
  const max = Math.max(1e-12, ...points.flatMap((p) => series.map((s) => p[s.key] || 0)));
  const x = (i) => pad + i * (w - pad - 6) / Math.max(1, points.length - 1);
  const y = (v) => h - pad + 6 - (v / max) * (h - pad - 6);
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title });
  root.append(svg("line", { x1: pad, y1: h - pad + 6, x2: w, y2: h - pad + 6, stroke: "#ccc" }),
    svg("text", { x: 2, y: 12 }, Number(max.toPrecision(3))), svg("text", { x: 2, y: h - pad + 6 }, 0));
  series.forEach((s, k) => {
    const path = points.map((p, i) => (i ? "L" : "M") + x(i).toFixed(1) + "," + y(p[s.key] || 0).toFixed(1)).join(" ");
    root.append(svg("path", { d: path, fill: "none", stroke: s.color, "stroke-width": 2 }),
      svg("text", { x: pad + k * 80, y: h - 4, fill: s.color }, s.label));
  });
  return el("div", { class: "chart" }, el("h3", {}, title), root);
}

function barChart(title, rows, valueOf, labelOf, fmt) {
  const w = 360, rowH = 18, h = Math.max(1, rows.length) * rowH + 6;
  const max = Math.max(1e-12, ...rows.map(valueOf));
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title });
  rows.forEach((r, i) => {
    const v = valueOf(r);
    root.append(svg("text", { x: 0, y: i * rowH + 13 }, labelOf(r).slice(0, 28)),
      svg("rect", { x: 150, y: i * rowH + 3, width: Math.max(1, v / max * 150), height: 12, fill: "#5b8def" }),
      svg("text", { x: 305, y: i * rowH + 13 }, fmt(v)));
  });
  return el("div", { class: "chart" }, el("h3", {}, title), rows.length ? root : el("p", {}, "no data"));
}

async function showOverview() {
  const app = clearApp();
  const o = await api("/api/overview");
  const pct = (v) => (v === null || v === undefined ? "-" : (v * 100).toFixed(0) + "%");
  app.append(el("h2", {}, "Overview (LLM and embedding calls)"), el("div", { class: "charts", id: "charts" },
    lineChart("Requests and errors", o.buckets, [{ key: "requests", label: "requests", color: "#5b8def" }, { key: "errors", label: "errors", color: "#d64545" }]),
    lineChart("Latency p50 / p95 / p99 (ms)", o.buckets, [{ key: "p50_ms", label: "p50", color: "#2f9e52" }, { key: "p95_ms", label: "p95", color: "#d69a2d" }, { key: "p99_ms", label: "p99", color: "#d64545" }]),
    lineChart("Tokens", o.buckets, [{ key: "tokens", label: "tokens", color: "#8e5bef" }]),
    lineChart("Cost (USD)", o.buckets, [{ key: "cost", label: "cost", color: "#1d232b" }]),
    barChart("Cost by prompt version", o.by_prompt_version, (r) => r.cost, (r) => r.key, (v) => "$" + v.toFixed(6)),
    barChart("Eval pass rate by prompt version", o.by_prompt_version, (r) => r.eval_pass_rate || 0, (r) => r.key, pct),
    barChart("Cost by model", o.by_model, (r) => r.cost, (r) => r.key, (v) => "$" + v.toFixed(6)),
    barChart("Eval pass rate by model", o.by_model, (r) => r.eval_pass_rate || 0, (r) => r.key, pct),
    barChart("PII findings by entity (spans)", o.pii_by_entity, (r) => r.spans, (r) => r.entity, (v) => String(v)),
    // The shipped Datadog dashboards' health and quality panels, from this store (deploy/datadog/dashboards).
    barChart("Errors by type", o.errors_by_type, (r) => r.spans, (r) => r.type, (v) => String(v)),
    barChart("Failure rates (built-in evaluations)", Object.entries(o.rates).map(([panel, r]) => ({ panel, ...r })),
      (r) => (r.of ? r.failed / r.of : 0), (r) => RATE_NAMES[r.panel] + " (" + r.failed + " of " + r.of + ")", pct),
    barChart("Evaluations by label and assessment", o.evaluations, (r) => r.count, (r) => r.label + " " + r.assessment, (v) => String(v)),
  ));
}

const RATE_NAMES = { invalid_json_rate: "invalid JSON", tool_failure_rate: "tool failures", refusal_rate: "refusals", negative_feedback_rate: "negative feedback" };

// ---- the relay's own state ------------------------------------------------------------------------------------

async function showRelay() {
  const app = clearApp();
  const r = await api("/api/relay");
  app.append(el("h2", {}, "Relay"), el("p", {}, "ready: ", badge(String(r.ready), r.ready ? "ok" : "error")));
  const table = el("table", { id: "relay-metrics" }, el("tr", {}, el("th", {}, "metric"), el("th", {}, "labels"), el("th", {}, "value")));
  for (const [family, samples] of Object.entries(r.metrics)) {
    for (const sample of samples) {
      table.append(el("tr", {}, el("td", {}, family), el("td", {}, Object.entries(sample.labels).map(([k, v]) => k + "=" + v).join(" ")), el("td", {}, fmtNum(sample.value))));
    }
  }
  const replayed = el("p", { id: "replayed" });
  const doReplay = async (ids) => {
    try {
      const moved = await replay(ids);
      await showRelay();
      document.getElementById("replayed").textContent = `moved ${moved} dead letter(s) back to their queues`;
    } catch (error) { replayed.textContent = error.message; }
  };
  const dead = el("table", { id: "dead-letters" }, el("tr", {}, ["id", "exporter", "kind", "reason", "error", "failed at", ""].map((h) => el("th", {}, h))));
  for (const d of r.dead_letters) {
    dead.append(el("tr", {}, [d.id, d.exporter, d.kind, d.reason, d.error, d.failed_at].map((v) => el("td", {}, v ?? "")),
      el("td", {}, el("button", { class: "replay-one", onclick: () => doReplay([d.id]) }, "replay"))));
  }
  const all = el("button", { id: "replay-all", onclick: () => doReplay(null) }, "Replay all");
  app.append(el("h3", {}, "Queues, refusals, drops, redaction failures"), table,
    el("h3", {}, "Dead letters"), replayed, r.dead_letters.length ? el("div", {}, all, dead) : el("p", {}, "none"));
}

// ---- routing --------------------------------------------------------------------------------------------------

async function route() {
  const hash = location.hash || "#/";
  const path = hash.slice(1).split("?")[0];
  document.querySelectorAll("header nav a").forEach((a) => a.classList.remove("active"));
  try {
    if (path.startsWith("/trace/")) await showTrace(decodeURIComponent(path.slice(7)));
    else if (path.startsWith("/session/")) await showSession(decodeURIComponent(path.slice(9)));
    else if (path === "/overview") { document.getElementById("nav-overview").classList.add("active"); await showOverview(); }
    else if (path === "/relay") { document.getElementById("nav-relay").classList.add("active"); await showRelay(); }
    else { document.getElementById("nav-traces").classList.add("active"); await showTraces(); }
    document.body.dataset.ready = path;
  } catch (error) {
    clearApp().append(el("div", { class: "error-box" }, error.message));
  }
}

window.addEventListener("hashchange", route);
route();

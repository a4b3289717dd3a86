/* evalbeam report: the page's views over the embedded data (element #evalbeam-data).
   Everything that comes from users' data is inserted as text, never as markup. */
(function () {
  "use strict";

  const DATA = JSON.parse(document.getElementById("evalbeam-data").textContent);
  const EB = (window.EB = { data: DATA, state: null, views: {}, ready: false, readyAt: null });
  const FEW_SLICES = 40; // a spec with at most this many slices opens on the overview
  const TABLE_ROWS = 1000; // rows drawn at first; the rest on request
  const OVERVIEW_BARS = 60;

  // ---------------------------------------------------------------- DOM and formatting
  function el(tag, attrs) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (let i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach((c) => append(node, c));
    else node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  /** A number as the table shows it: counts whole, others to 4 significant digits. */
  function fmt(x) {
    if (x === null || x === undefined) return "n/a";
    if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-4 || a >= 1e9)) return x.toExponential(3);
    return String(Number(x.toPrecision(4)));
  }
  EB.el = el;
  EB.fmt = fmt;

  // ---------------------------------------------------------------- state and deep links
  const runs = DATA.runs;
  const latest = DATA.order.length ? DATA.order[DATA.order.length - 1] : 0;

  function specOf(run, name) {
    return run.specs.find((s) => s.name === name) || run.specs[0];
  }
  function defaultSpec(run) {
    const notOverall = run.specs.find((s) => s.name !== "overall");
    return (notOverall || run.specs[0] || { name: "" }).name;
  }
  function defaultTab(run, specName) {
    const spec = specOf(run, specName);
    return spec && spec.slices > FEW_SLICES ? "histogram" : "overview";
  }
  function parseHash() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ""));
    const run = Math.min(Math.max(parseInt(p.get("run") || String(latest), 10) || 0, 0), runs.length - 1);
    const r = runs[run];
    const spec = p.has("spec") && r.specs.some((s) => s.name === p.get("spec")) ? p.get("spec") : defaultSpec(r);
    const known = new Set(r.metrics.map((m) => m.id));
    const metrics = p.has("metrics")
      ? p.get("metrics").split("\n").filter((m) => known.has(m))
      : r.metrics.map((m) => m.id);
    const sort = (p.get("sort") || "").split("\n");
    const hist = (p.get("hist") || "").split("\n");
    return {
      tab: p.get("tab") || defaultTab(r, spec),
      run, spec, metrics,
      sort: sort.length === 2 ? { col: sort[0], dir: sort[1] === "asc" ? "asc" : "desc" } : null,
      min: Number(p.get("min")) || 0,
      q: p.get("q") || "",
      histMetric: p.get("hm") || null,
      histLo: hist.length === 2 && hist[0] !== "" ? Number(hist[0]) : null,
      histHi: hist.length === 2 && hist[1] !== "" ? Number(hist[1]) : null,
      buckets: Math.min(Math.max(parseInt(p.get("buckets") || "20", 10) || 20, 1), 200),
      log: p.get("log") === "1",
      histShow: ["slices", "weight", "both"].includes(p.get("show")) ? p.get("show") : "slices",
      overviewMetric: p.get("om") || null,
      overviewSort: p.get("os") || "name",
      slice: p.get("slice") || null,
      trendMetrics: p.has("tm") ? p.get("tm").split("\n").filter(Boolean) : null,
      trendSlice: p.get("ts") || "Overall",
    };
  }
  function hashOf(s) {
    const p = new URLSearchParams();
    p.set("tab", s.tab);
    p.set("run", String(s.run));
    p.set("spec", s.spec);
    const all = runs[s.run].metrics.map((m) => m.id);
    if (s.metrics.join("\n") !== all.join("\n")) p.set("metrics", s.metrics.join("\n"));
    if (s.sort) p.set("sort", s.sort.col + "\n" + s.sort.dir);
    if (s.min) p.set("min", String(s.min));
    if (s.q) p.set("q", s.q);
    if (s.histMetric) p.set("hm", s.histMetric);
    if (s.histLo !== null || s.histHi !== null)
      p.set("hist", (s.histLo === null ? "" : s.histLo) + "\n" + (s.histHi === null ? "" : s.histHi));
    if (s.buckets !== 20) p.set("buckets", String(s.buckets));
    if (s.log) p.set("log", "1");
    if (s.histShow !== "slices") p.set("show", s.histShow);
    if (s.overviewMetric) p.set("om", s.overviewMetric);
    if (s.overviewSort !== "name") p.set("os", s.overviewSort);
    if (s.slice) p.set("slice", s.slice);
    if (s.trendMetrics) p.set("tm", s.trendMetrics.join("\n"));
    if (s.trendSlice !== "Overall") p.set("ts", s.trendSlice);
    return "#" + p.toString();
  }

  // A page in a notebook's iframe (srcdoc) has no address of its own to keep the view in.
  const linkable = location.protocol !== "about:";
  function keepInAddress(hash) {
    if (!linkable) return;
    try { history.replaceState(null, "", hash); } catch (e) { /* a sandbox without history */ }
  }

  EB.state = parseHash();
  EB.setState = function (patch, opts) {
    const before = EB.state;
    EB.state = Object.assign({}, before, patch);
    if ("run" in patch && patch.run !== before.run) {
      const r = runs[EB.state.run];
      const known = new Set(r.metrics.map((m) => m.id));
      EB.state.metrics = before.metrics.filter((m) => known.has(m));
      if (!EB.state.metrics.length) EB.state.metrics = r.metrics.map((m) => m.id);
      if (!r.specs.some((s) => s.name === EB.state.spec)) EB.state.spec = defaultSpec(r);
    }
    if ("spec" in patch && patch.spec !== before.spec) {
      EB.state.histLo = EB.state.histHi = null;
    }
    keepInAddress(hashOf(EB.state));
    if (!(opts && opts.quiet)) render(opts && opts.keep);
  };

  // ---------------------------------------------------------------- the selected slices
  function run() { return runs[EB.state.run]; }
  function spec() { return specOf(run(), EB.state.spec); }
  function metricById(id) { return run().metrics.find((m) => m.id === id); }
  function values(id, role) {
    const v = run().values[id];
    return (v && v[role || "value"]) || null;
  }
  function histMetric() {
    const s = EB.state;
    return s.histMetric && run().values[s.histMetric] ? s.histMetric : s.metrics[0] || (run().metrics[0] || {}).id;
  }
  function inHistRange(x) {
    const s = EB.state;
    if (s.histLo === null && s.histHi === null) return true;
    if (x === null || x === undefined) return false;
    return (s.histLo === null || x >= s.histLo) && (s.histHi === null || x <= s.histHi);
  }
  /** Indices (into run.slices) of the spec's table slices that pass every filter. */
  function shownSlices() {
    const r = run(), s = EB.state;
    const q = s.q.trim().toLowerCase();
    const hv = values(histMetric());
    return spec().table.filter((i) => {
      const c = r.slices.count[i];
      if (s.min && !(c !== null && c >= s.min)) return false;
      if (q && !r.slices.name[i].toLowerCase().includes(q)) return false;
      if (hv && !inHistRange(hv[i])) return false;
      return true;
    });
  }
  EB.shownSlices = shownSlices;

  // ---------------------------------------------------------------- charts
  let pending = 0;
  EB.embed = function (node, spec) {
    if (!node.id) node.id = "chart-" + Math.random().toString(36).slice(2);
    if (EB.views[node.id]) { EB.views[node.id].finalize(); delete EB.views[node.id]; }
    pending++;
    const full = Object.assign({ $schema: "https://vega.github.io/schema/vega-lite/v6.json",
                                 config: { font: "system-ui, sans-serif", view: { stroke: null } } }, spec);
    return window.vegaEmbed(node, full, { renderer: "svg", actions: false, tooltip: { theme: "light" } })
      .then((result) => { EB.views[node.id] = result.view; return result.view; })
      .catch((err) => { append(clear(node), el("p", { class: "note warn" }, "chart not drawn: " + err.message)); })
      .finally(() => { pending--; markReady(); });
  };
  function markReady() {
    if (!EB.ready && pending === 0 && drawnOnce) {
      EB.ready = true;
      EB.readyAt = performance.now();
      document.documentElement.setAttribute("data-ready", "1");
    }
  }
  let drawnOnce = false;

  // ---------------------------------------------------------------- header and controls
  function renderHeader() {
    const r = run();
    const verdict = document.getElementById("verdict");
    verdict.textContent = r.verdict;
    verdict.className = "verdict " + (r.verdict === "NO THRESHOLDS" ? "none" : r.verdict);
    verdict.title = r.verdict === "NO THRESHOLDS" ? "the config sets no thresholds" :
      (r.failures.length + qualityFailureCount(r)) + " validation failure(s)" + (qualityFailureCount(r) ? " (" + qualityFailureCount(r) + " of data quality)" : "");
    const parts = [r.name];
    if (r.data_span) parts.push("data " + r.data_span);
    if (r.evaluated_at) parts.push("evaluated " + r.evaluated_at);
    document.getElementById("run-title").textContent = parts.join(" \u00b7 ");
  }

  function renderControls() {
    const s = EB.state, r = run();
    const box = clear(document.getElementById("controls"));
    if (runs.length > 1) {
      box.appendChild(group("Run", el("select", { id: "run", onchange: (e) => EB.setState({ run: Number(e.target.value) }) },
        DATA.order.slice().reverse().map((i) => el("option", { value: i, selected: i === s.run }, runLabel(runs[i]))))));
    }
    box.appendChild(group("Slicing spec", el("select", { id: "spec", onchange: (e) => EB.setState({ spec: e.target.value }) },
      r.specs.map((sp) => el("option", { value: sp.name, selected: sp.name === s.spec }, sp.name + " (" + sp.slices + ")")))));
    const search = el("input", { id: "search", type: "search", placeholder: "slice name contains\u2026", value: s.q });
    search.addEventListener("input", debounce(() => EB.setState({ q: search.value }, { keep: "search" }), 200));
    box.appendChild(group("Find slice", search));
    const min = el("input", { id: "min-count", type: "number", min: 0, step: "any", value: s.min || "" , placeholder: "0" });
    min.addEventListener("change", () => EB.setState({ min: Number(min.value) || 0 }));
    box.appendChild(group("Min " + r.count_label, min));
    box.appendChild(group("Metrics (" + s.metrics.length + " of " + r.metrics.length + ")", metricSelector()));
  }
  function group(label, control) {
    return el("div", { class: "group" }, el("label", {}, label), control);
  }
  function runLabel(r) {
    return r.name + (r.data_span ? " [" + r.data_span + "]" : r.evaluated_at ? " (" + r.evaluated_at + ")" : "");
  }
  function metricSelector() {
    const s = EB.state, r = run();
    const list = el("ul", { id: "metric-list" });
    s.metrics.forEach((id, i) => {
      const move = (d) => () => {
        const m = s.metrics.slice();
        [m[i], m[i + d]] = [m[i + d], m[i]];
        EB.setState({ metrics: m });
      };
      list.appendChild(el("li", { dataset: { metric: id } }, id,
        el("button", { class: "up", title: "move left", disabled: i === 0, onclick: move(-1) }, "\u2039"),
        el("button", { class: "down", title: "move right", disabled: i === s.metrics.length - 1, onclick: move(1) }, "\u203a"),
        el("button", { class: "remove", title: "remove " + id, onclick: () => EB.setState({ metrics: s.metrics.filter((m) => m !== id) }) }, "\u00d7")));
    });
    const absent = r.metrics.filter((m) => !s.metrics.includes(m.id));
    const add = el("select", { id: "metric-add", onchange: (e) => { if (e.target.value) EB.setState({ metrics: s.metrics.concat([e.target.value]) }); } },
      el("option", { value: "" }, absent.length ? "add a metric\u2026" : "all metrics shown"),
      absent.map((m) => el("option", { value: m.id }, m.id)));
    const all = el("button", { id: "metric-all", onclick: () => EB.setState({ metrics: r.metrics.map((m) => m.id) }) }, "all");
    return el("div", {}, list, el("div", { class: "row" }, add, all));
  }
  function copyLink() {
    const url = location.href;
    const done = () => { const b = document.getElementById("copy-link"); if (b) { b.textContent = "link copied"; setTimeout(() => { b.textContent = "copy link"; }, 1500); } };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).then(done, () => prompt("Copy this link:", url));
    else {
      const t = el("textarea", {}, url);
      document.body.appendChild(t); t.select();
      try { document.execCommand("copy"); done(); } catch (e) { prompt("Copy this link:", url); }
      t.remove();
    }
  }
  function debounce(f, ms) {
    let t = null;
    return function () { clearTimeout(t); t = setTimeout(f, ms); };
  }

  // ---------------------------------------------------------------- tabs
  const PANELS = [
    ["overview", "Slice overview", overviewPanel],
    ["histogram", "Metric histogram", histogramPanel],
    ["table", "Metric table", tablePanel],
    ["plots", "Plots", plotsPanel],
    ["validation", "Validation", validationPanel],
    ["quality", "Data quality", qualityPanel],
    ["facts", "Run facts", factsPanel],
    ["trend", "Over time", trendPanel],
  ];
  const withQuality = runs.some((r) => r.data_quality);
  function available(name) {
    if (name === "trend") return runs.length > 1;
    if (name === "quality") return withQuality;
    return true;
  }
  function renderTabs() {
    const nav = clear(document.getElementById("tabs"));
    for (const [name, title] of PANELS) {
      if (!available(name)) continue;
      nav.appendChild(el("button", { role: "tab", "aria-selected": EB.state.tab === name ? "true" : "false", dataset: { tab: name },
        onclick: () => EB.setState({ tab: name }) }, title));
    }
  }
  function renderPanel() {
    const main = clear(document.getElementById("panels"));
    let tab = EB.state.tab;
    if (!PANELS.some(([n]) => n === tab) || !available(tab)) tab = EB.state.tab = "overview";
    for (const [name, , draw] of PANELS) {
      if (!available(name)) continue;
      const panel = el("section", { id: "panel-" + name, class: "panel", hidden: name !== tab });
      main.appendChild(panel);
      if (name === tab) draw(panel);
    }
  }

  /** The Overall slice's values of the selected metrics, under the controls. */
  function renderOverall() {
    const r = run(), box = clear(document.getElementById("overall"));
    const at = r.slices.name.indexOf("Overall");
    if (at < 0) { box.hidden = true; return; }
    box.hidden = false;
    box.appendChild(el("span", { class: "k" }, "Overall:"));
    for (const id of EB.state.metrics) {
      const v = values(id);
      if (!v) continue;
      const failed = r.fails[id] && r.fails[id][String(at)];
      box.appendChild(el("span", { dataset: { metric: id }, title: failed || null, class: failed ? "fail" : null },
        el("span", { class: "k" }, id), fmt(v[at])));
    }
  }

  function render(keep) {
    renderHeader();
    if (keep !== "search") renderControls();
    renderOverall();
    renderTabs();
    renderPanel();
    renderFoot();
  }
  function renderFoot() {
    document.getElementById("page-foot").textContent = "evalbeam " + DATA.evalbeam_version + " \u00b7 page built " + DATA.generated_at +
      " \u00b7 the numbers are in this file's JSON element #evalbeam-data";
  }

  // ---------------------------------------------------------------- filters line
  function filterNote(shown) {
    const s = EB.state, sp = spec();
    const parts = [shown.length + " of " + sp.slices + " slices of " + sp.name + " shown"];
    if (s.min) parts.push(run().count_label + " \u2265 " + fmt(s.min));
    if (s.q) parts.push("name contains \u201c" + s.q + "\u201d");
    if (s.histLo !== null || s.histHi !== null) parts.push(histMetric() + " in [" + (s.histLo === null ? "\u2212\u221e" : fmt(s.histLo)) + ", " + (s.histHi === null ? "\u221e" : fmt(s.histHi)) + "]");
    if (sp.cut) parts.push("the page carries the " + sp.table.length + " largest slices by " + run().count_label +
      " (limit " + DATA.limits.table_slices + "); " + sp.cut + " more count in the histogram only");
    if (sp.omitted) parts.push(sp.omitted + " slice(s) below min_slice_size omitted by the run");
    if (sp.rows_with_null) parts.push(sp.rows_with_null + " row(s) in no slice of " + sp.name + " (a slicing feature was null)");
    return parts.join(" \u00b7 ");
  }

  // ---------------------------------------------------------------- slice overview
  function overviewPanel(panel) {
    const s = EB.state, r = run();
    const ids = s.metrics.length ? s.metrics : r.metrics.map((m) => m.id);
    const metric = s.overviewMetric && ids.includes(s.overviewMetric) ? s.overviewMetric : ids.find((m) => m !== "example_count" && m !== "weighted_example_count") || ids[0];
    if (!metric) { panel.appendChild(el("p", { class: "note" }, "No metric selected.")); return; }
    const sortChoices = [["name", "slice name"]].concat(ids.map((m) => [m, m]));
    panel.appendChild(el("div", { class: "row" },
      el("label", {}, "Metric ", el("select", { id: "overview-metric", onchange: (e) => EB.setState({ overviewMetric: e.target.value }) },
        ids.map((m) => el("option", { value: m, selected: m === metric }, m)))),
      el("label", {}, "Sort by ", el("select", { id: "overview-sort", onchange: (e) => EB.setState({ overviewSort: e.target.value }) },
        sortChoices.map(([v, t]) => el("option", { value: v, selected: v === s.overviewSort }, t))))));
    let shown = shownSlices();
    panel.appendChild(el("p", { class: "note", id: "overview-note" }, filterNote(shown) + " \u00b7 dashed line: Overall"));
    const by = s.overviewSort !== "name" && values(s.overviewSort) ? values(s.overviewSort) : null;
    shown = shown.slice().sort(by ? (a, b) => cmpNum(by[b], by[a]) || cmpName(a, b) : cmpName);
    const cut = shown.length > OVERVIEW_BARS;
    if (cut) panel.appendChild(el("p", { class: "note" }, "The first " + OVERVIEW_BARS + " slices in this order are drawn; narrow the slices with the filters, or use the histogram and the table."));
    shown = shown.slice(0, OVERVIEW_BARS);
    const v = values(metric), lo = values(metric, "lower"), hi = values(metric, "upper");
    const rows = shown.map((i, n) => ({ slice: r.slices.name[i], order: n, value: v ? v[i] : null,
      lower: lo ? lo[i] : null, upper: hi ? hi[i] : null, count: r.slices.count[i] }));
    const chart = el("div", { id: "overview-chart", class: "chart" });
    panel.appendChild(chart);
    if (!rows.length) { chart.appendChild(el("p", { class: "note" }, "No slice passes the filters.")); return; }
    const y = { field: "slice", type: "nominal", sort: null, title: null, axis: { labelLimit: 260 } };
    const layers = [{
      mark: { type: "bar", color: "#4c78a8", cursor: "pointer" },
      encoding: { y, x: { field: "value", type: "quantitative", title: metric },
        tooltip: [{ field: "slice" }, { field: "value", format: ".4~g", title: metric },
          { field: "count", format: ",.6~g", title: r.count_label }].concat(lo ? [{ field: "lower", format: ".4~g" }, { field: "upper", format: ".4~g" }] : []) },
      params: [{ name: "pick", select: { type: "point", fields: ["slice"], on: "click" } }],
    }];
    if (lo) layers.push({ mark: { type: "rule", color: "#222" }, encoding: { y, x: { field: "lower", type: "quantitative" }, x2: { field: "upper" } } });
    const overall = r.slices.name.indexOf("Overall");
    if (overall >= 0 && v && v[overall] !== null && spec().name !== "overall") {
      layers.push({ mark: { type: "rule", color: "#d62728", strokeDash: [5, 3] },
        encoding: { x: { datum: v[overall] }, tooltip: { value: "Overall " + metric + " " + fmt(v[overall]) } } });
    }
    EB.embed(chart, { data: { name: "bars", values: rows }, width: 640, height: { step: 18 }, layer: layers })
      .then((view) => view && view.addEventListener("click", (ev, item) => {
        if (item && item.datum && item.datum.slice) EB.setState({ slice: item.datum.slice, tab: "plots" });
      }));
  }
  function cmpNum(a, b) {
    const na = a === null || a === undefined, nb = b === null || b === undefined;
    if (na || nb) return na - nb;
    return a - b;
  }
  const collator = new Intl.Collator("en", { numeric: true }); // age=9 before age=10
  function cmpName(a, b) {
    const n = run().slices.name;
    return a === b ? 0 : n[a] === "Overall" ? -1 : n[b] === "Overall" ? 1 : collator.compare(n[a], n[b]);
  }

  // ---------------------------------------------------------------- metric histogram
  function b64(text, Type) {
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }
  const decoded = {};
  /** The spec's slices as {value, count} for the histogram: the table's exact values, or,
      for a spec larger than the page's table, every slice from its quantised values. */
  function histogramSlices(metric) {
    const r = run(), sp = spec(), s = EB.state;
    const q = s.q.trim().toLowerCase();
    const out = [];
    if (sp.hist && sp.hist.values[metric]) {
      const key = s.run + "\n" + sp.name + "\n" + metric;
      if (!decoded[key]) {
        const h = sp.hist.values[metric];
        const counts = b64(sp.hist.count, Float32Array);
        let vals;
        if (h.count) vals = Float64Array.from(counts); // the metric is the count itself
        else {
          const codes = b64(h.q, Uint16Array), span = h.max - h.min;
          vals = new Float64Array(codes.length);
          for (let i = 0; i < codes.length; i++) vals[i] = codes[i] === 65535 ? NaN : h.min + (codes[i] / 65534) * span;
        }
        decoded[key] = { vals, counts };
      }
      const { vals, counts } = decoded[key];
      for (let i = 0; i < vals.length; i++) {
        if (s.min && !(counts[i] >= s.min)) continue;
        out.push({ value: isNaN(vals[i]) ? null : vals[i], count: counts[i] });
      }
      return { slices: out, approximate: true, search: false };
    }
    const v = values(metric) || [];
    for (const i of sp.table) {
      const c = r.slices.count[i];
      if (s.min && !(c !== null && c >= s.min)) continue;
      if (q && !r.slices.name[i].toLowerCase().includes(q)) continue;
      out.push({ value: v[i], count: c });
    }
    return { slices: out, approximate: false, search: !!q };
  }
  function histogramPanel(panel) {
    const s = EB.state, r = run();
    const metric = histMetric();
    if (!metric) { panel.appendChild(el("p", { class: "note" }, "No metric to draw.")); return; }
    const ids = r.metrics.map((m) => m.id);
    const lo = el("input", { id: "hist-lo", type: "number", step: "any", value: s.histLo === null ? "" : s.histLo, placeholder: "min" });
    const hi = el("input", { id: "hist-hi", type: "number", step: "any", value: s.histHi === null ? "" : s.histHi, placeholder: "max" });
    const setRange = () => EB.setState({ histLo: lo.value === "" ? null : Number(lo.value), histHi: hi.value === "" ? null : Number(hi.value) });
    lo.addEventListener("change", setRange);
    hi.addEventListener("change", setRange);
    const buckets = el("input", { id: "hist-buckets", type: "number", min: 1, max: 200, value: s.buckets });
    buckets.addEventListener("change", () => EB.setState({ buckets: Math.min(Math.max(parseInt(buckets.value, 10) || 20, 1), 200) }));
    panel.appendChild(el("div", { class: "row" },
      el("label", {}, "Metric ", el("select", { id: "hist-metric", onchange: (e) => EB.setState({ histMetric: e.target.value, histLo: null, histHi: null }) },
        ids.map((m) => el("option", { value: m, selected: m === metric }, m)))),
      el("label", {}, "Buckets ", buckets),
      el("label", {}, el("input", { id: "hist-log", type: "checkbox", checked: s.log, onchange: (e) => EB.setState({ log: e.target.checked }) }), " log scale"),
      el("label", {}, "Show ", el("select", { id: "hist-show", onchange: (e) => EB.setState({ histShow: e.target.value }) },
        [["slices", "number of slices"], ["weight", r.count_label], ["both", "both"]].map(([v, t]) => el("option", { value: v, selected: v === s.histShow }, t)))),
      el("label", {}, "Range ", lo, " \u2013 ", hi),
      el("button", { id: "hist-clear", onclick: () => EB.setState({ histLo: null, histHi: null }) }, "clear range")));
    const { slices, approximate, search } = histogramSlices(metric);
    const notes = [];
    notes.push(slices.length + " slice(s) of " + spec().name + " counted" + (s.min ? " (" + r.count_label + " \u2265 " + fmt(s.min) + ")" : "") +
      (search ? ", name contains \u201c" + s.q + "\u201d" : ""));
    if (approximate) notes.push("every slice counts here: values of slices beyond the page's table are stored to 1/65534 of the metric's range");
    const missing = slices.filter((x) => x.value === null).length;
    if (missing) notes.push(missing + " slice(s) without a value are not in any bucket");
    notes.push("drag on the chart to filter the slices of every view by " + metric);
    panel.appendChild(el("p", { class: "note", id: "hist-note" }, notes.join(" \u00b7 ")));
    const known = slices.filter((x) => x.value !== null);
    const chart = el("div", { id: "histogram-chart", class: "chart" });
    panel.appendChild(chart);
    if (!known.length) { chart.appendChild(el("p", { class: "note" }, "No slice has a value of " + metric + ".")); return; }
    let min = Infinity, max = -Infinity;
    for (const x of known) { if (x.value < min) min = x.value; if (x.value > max) max = x.value; }
    if (min === max) { min -= 0.5; max += 0.5; }
    const n = s.buckets, width = (max - min) / n;
    const bins = Array.from({ length: n }, (_, i) => ({ start: min + i * width, end: min + (i + 1) * width, slices: 0, weight: 0 }));
    for (const x of known) {
      const b = bins[Math.min(n - 1, Math.floor((x.value - min) / width))];
      b.slices += 1;
      b.weight += x.count || 0;
    }
    for (const b of bins) b.selected = inHistRange((b.start + b.end) / 2) ? "in range" : "outside";
    const yScale = s.log ? { type: "symlog" } : {};
    const color = { field: "selected", type: "nominal", scale: { domain: ["in range", "outside"], range: ["#4c78a8", "#c9d3df"] }, legend: null };
    const x = { field: "start", type: "quantitative", bin: { binned: true }, title: metric, scale: { domain: [min, max] } };
    const tip = [{ field: "start", format: ".4~g", title: "from" }, { field: "end", format: ".4~g", title: "to" },
      { field: "slices", title: "slices" }, { field: "weight", format: ",.6~g", title: r.count_label }];
    const bar = (field, title) => ({
      mark: { type: "bar", ...(field === "weight" && s.histShow === "both" ? { opacity: 0.45, color: "#f58518" } : {}) },
      encoding: { x, x2: { field: "end" }, y: { field, type: "quantitative", title, scale: yScale },
        ...(field === "weight" && s.histShow === "both" ? {} : { color }), tooltip: tip },
    });
    let chartSpec;
    const brush = { name: "brush", select: { type: "interval", encodings: ["x"] } };
    if (s.histShow === "both") {
      chartSpec = { layer: [Object.assign(bar("slices", "slices"), { params: [brush] }), bar("weight", r.count_label)], resolve: { scale: { y: "independent" } } };
    } else {
      const field = s.histShow === "weight" ? "weight" : "slices";
      chartSpec = Object.assign(bar(field, field === "weight" ? r.count_label : "slices"), { params: [brush] });
    }
    chartSpec = Object.assign({ data: { name: "bins", values: bins }, width: 640, height: 260 }, chartSpec);
    EB.embed(chart, chartSpec).then((view) => {
      if (!view) return;
      view.addSignalListener("brush", debounce(() => {
        const range = view.signal("brush");
        const picked = range && (range.start || range.x);
        if (picked && picked.length === 2) {
          lo.value = picked[0]; hi.value = picked[1];
          EB.setState({ histLo: Math.min(picked[0], picked[1]), histHi: Math.max(picked[0], picked[1]), histMetric: metric }, { quiet: true });
        }
      }, 250));
    });
  }

  // ---------------------------------------------------------------- metric table
  function tableColumns() {
    const s = EB.state, r = run();
    const cols = [];
    const heads = { value: "", baseline: " (" + (r.models.baseline || "baseline") + ")", diff: " diff" };
    for (const id of s.metrics) {
      const m = metricById(id);
      if (!m) continue;
      for (const role of m.roles) {
        const base = role === "value" ? id : id + "::" + role;
        cols.push({ id: base, role, head: id + heads[role], metric: m, sub: role !== "value" });
        const prefix = role === "value" ? "" : role + "_";
        if (r.values[id][prefix + "lower"]) cols.push({ id: base + "::interval", role: "interval", of: prefix, head: id + heads[role] + " interval", metric: m, sub: true });
      }
    }
    return cols;
  }
  function cellValue(col, i) {
    const v = values(col.metric.id, col.role === "interval" ? col.of + "lower" : col.role);
    return v ? v[i] : null;
  }
  function tablePanel(panel) {
    const s = EB.state, r = run();
    const cols = tableColumns();
    let shown = shownSlices();
    const sort = s.sort;
    if (sort) {
      const sign = sort.dir === "asc" ? 1 : -1;
      let key;
      if (sort.col === "slice") key = null;
      else if (sort.col === "weighted_example_count") key = r.slices.count;
      else { const col = cols.find((c) => c.id === sort.col); key = col ? shown.reduce((o, i) => { o[i] = cellValue(col, i); return o; }, {}) : undefined; }
      if (key === null) shown = shown.slice().sort((a, b) => sign * cmpName(a, b));
      else if (key) shown = shown.slice().sort((a, b) => {
        const x = key[a], y = key[b];
        const nx = x === null || x === undefined, ny = y === null || y === undefined;
        if (nx || ny) return nx - ny || cmpName(a, b); // no value: last either way
        return sign * (x - y) || cmpName(a, b);
      });
    }
    const note = el("p", { class: "note", id: "table-note" }, filterNote(shown));
    panel.appendChild(note);
    const head = el("tr", {});
    const th = (id, text, sub) => {
      const dir = sort && sort.col === id ? (sort.dir === "asc" ? "ascending" : "descending") : null;
      return el("th", { dataset: { col: id }, class: sub ? "sub" : null, "aria-sort": dir, title: "sort by " + text,
        onclick: () => EB.setState({ sort: { col: id, dir: sort && sort.col === id && sort.dir === "desc" ? "asc" : "desc" } }) }, text);
    };
    head.appendChild(th("slice", "slice"));
    head.appendChild(th("weighted_example_count", r.count_label));
    for (const c of cols) head.appendChild(th(c.id, c.head, c.sub));
    const body = el("tbody", {});
    const limit = panel.dataset.all ? shown.length : TABLE_ROWS;
    const fails = r.fails;
    for (const i of shown.slice(0, limit)) {
      const name = r.slices.name[i];
      const tr = el("tr", { dataset: { slice: name } },
        el("td", { "data-col": "slice" }, el("a", { class: "slice-link", title: "plots of this slice", onclick: () => EB.setState({ slice: name, tab: "plots" }) }, name)),
        numCell("weighted_example_count", r.slices.count[i]));
      for (const c of cols) {
        if (c.role === "interval") {
          const lo = values(c.metric.id, c.of + "lower"), hi = values(c.metric.id, c.of + "upper");
          const a = lo ? lo[i] : null, b = hi ? hi[i] : null;
          tr.appendChild(el("td", { "data-col": c.id, class: "sub", "data-lower": a === null ? null : a, "data-upper": b === null ? null : b },
            a === null && b === null ? "n/a" : "[" + fmt(a) + ", " + fmt(b) + "]"));
          continue;
        }
        const td = numCell(c.id, cellValue(c, i), c.sub);
        const failed = c.role === "value" && fails[c.metric.id] && fails[c.metric.id][String(i)];
        if (failed) { td.classList.add("fail"); td.title = failed; }
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    const wrap = el("div", { class: "tablewrap" }, el("table", { id: "metric-table", class: "data" }, el("thead", {}, head), body));
    panel.appendChild(wrap);
    if (shown.length > limit) {
      panel.appendChild(el("p", { class: "note" }, "The first " + limit + " rows are drawn. ",
        el("button", { onclick: () => { panel.dataset.all = "1"; clear(panel); tablePanel(panel); } }, "draw all " + shown.length)));
    }
    if (r.not_shown.length) {
      panel.appendChild(el("p", { class: "note" }, r.not_shown.length + " value(s) hold no number and have no column: " +
        r.not_shown.slice(0, 5).map((x) => x.metric + " in " + x.slice + " (" + x.reason + ")").join("; ") + (r.not_shown.length > 5 ? " \u2026" : "")));
    }
  }
  function numCell(col, v, sub) {
    return el("td", { "data-col": col, "data-value": v === null || v === undefined ? null : String(v), class: sub ? "sub" : null }, fmt(v));
  }

  // ---------------------------------------------------------------- plots
  function plotsPanel(panel) {
    const s = EB.state, r = run();
    const withPlots = spec().table.filter((i) => r.plots[String(i)]);
    const names = r.slices.name;
    const all = spec().table;
    let chosen = s.slice !== null ? names.indexOf(s.slice) : -1;
    if (chosen < 0) chosen = withPlots.length ? withPlots[0] : (all.length ? all[0] : -1);
    const options = all.slice(0, 5000).map((i) => el("option", { value: names[i], selected: i === chosen }, names[i] + (r.plots[String(i)] ? "" : " (no plots here)")));
    if (chosen >= 0 && !all.includes(chosen)) options.unshift(el("option", { value: names[chosen], selected: true }, names[chosen]));
    panel.appendChild(el("div", { class: "row" }, el("label", {}, "Slice ", el("select", { id: "plot-slice", onchange: (e) => EB.setState({ slice: e.target.value }) }, options))));
    const box = el("div", { id: "plots" });
    panel.appendChild(box);
    if (chosen < 0) { box.appendChild(el("p", { class: "note" }, "This spec has no slice.")); return; }
    const plots = r.plots[String(chosen)];
    if (!plots) {
      const sp = spec();
      const why = Object.keys(r.plots).length === 0 ? "this run has no plots (configure ConfusionMatrixPlot, CalibrationPlot, ...)" :
        "the page holds plots for the " + DATA.limits.plot_slices + " largest slices of each spec" +
        (sp.plot_slices_cut ? "; the run wrote plots for the largest slices only (max_plot_slices: " + sp.plot_slices_cut + " slice(s) without)" : "") +
        "; Python: evalbeam.load_result(dir).plots";
      box.appendChild(el("p", { class: "note" }, "No plots for " + names[chosen] + " on this page: " + why + "."));
      return;
    }
    if (!window.EB_PLOTS) { box.appendChild(el("p", { class: "note warn" }, "The plot views are missing from this page.")); return; }
    window.EB_PLOTS.render(box, plots, { candidate: r.models.candidate || "", baseline: r.models.baseline, vegaEmbed: EB.embed, el });
  }

  // ---------------------------------------------------------------- data quality
  let qualityCharts = 0; // feature charts to draw (0: the default)
  function qualityPanel(panel) {
    const r = run(), q = r.data_quality;
    if (!q) {
      panel.appendChild(el("p", { class: "note", id: "dq-none" }, "This run has no data quality: no statistics computed (run with --statistics)."));
      return;
    }
    if (!window.EB_QUALITY) { panel.appendChild(el("p", { class: "note warn" }, "The data-quality view is missing from this page.")); return; }
    window.EB_QUALITY.render(panel, q, { slice: EB.state.slice, choose: (name) => EB.setState({ slice: name }), el, fmt,
      vegaEmbed: EB.embed, charts: qualityCharts,
      more: (n) => { qualityCharts = n; clear(panel); qualityPanel(panel); } });
  }
  function qualityFailures(r) { return r.data_quality ? r.data_quality.failures : []; }
  function qualityFailureCount(r) { return r.data_quality ? r.data_quality.failures_total : 0; }

  // ---------------------------------------------------------------- validation
  function validationPanel(panel) {
    const r = run();
    panel.appendChild(el("h2", {}, "Outcome: " + r.verdict));
    if (r.verdict === "NO THRESHOLDS") panel.appendChild(el("p", { class: "note" }, "The config sets no thresholds, so nothing was validated."));
    panel.appendChild(el("h2", {}, "Failures (" + r.failures.length + ")"));
    if (r.failures.length) {
      panel.appendChild(el("div", { class: "tablewrap" }, el("table", { id: "failures", class: "plain" },
        el("thead", {}, el("tr", {}, ["slice", "metric", "threshold", "value", "baseline", "change", "gap between slices", "message"].map((h) => el("th", {}, h)))),
        el("tbody", {}, r.failures.map((f) => el("tr", {}, el("td", {}, f.slice), el("td", {}, f.metric), el("td", {}, thresholdText(f.threshold)),
          el("td", {}, valueText(f.value)), el("td", {}, valueText(f.baseline)), el("td", {}, valueText(f.change)),
          el("td", {}, valueText(f.gap)), el("td", {}, f.message)))))));
    } else panel.appendChild(el("table", { id: "failures", class: "plain" }, el("tbody", {})), el("p", { class: "note" }, "none"));
    for (const m of r.missing_slices) panel.appendChild(el("p", { class: "note warn" }, "A per-slice threshold's slicing spec matched no slice: " + m));
    if (r.data_quality) {
      const dq = qualityFailures(r), total = qualityFailureCount(r);
      panel.appendChild(el("h2", {}, "Data-quality failures (" + total + ")"));
      panel.appendChild(window.EB_QUALITY ? window.EB_QUALITY.failureTable("dq-all-failures", dq, el, fmt, true) : el("p", {}, String(total)));
      if (total > dq.length) panel.appendChild(el("p", { class: "note" }, "The first " + dq.length + " are on this page; all: evalbeam show DIR --json."));
    }
    if (r.cross_slices.length) {
      panel.appendChild(el("h2", {}, "Gaps between slices (cross-slicing specs: baseline slice \u2212 comparison slice)"));
      panel.appendChild(el("div", { class: "tablewrap" }, el("table", { id: "cross-slices", class: "data" },
        el("thead", {}, el("tr", {}, ["baseline slice", "comparison slice", "metric", "gap"].map((h) => el("th", {}, h)))),
        el("tbody", {}, r.cross_slices.map((g) => el("tr", {}, el("td", {}, g.baseline), el("td", { style: "text-align:left" }, g.comparison),
          el("td", { style: "text-align:left" }, g.metric), el("td", { "data-value": g.value === null ? null : String(g.value) }, fmt(g.value))))))));
    }
    panel.appendChild(el("h2", {}, "Regressions against the baseline, largest impact first"));
    if (r.regressions === null) { panel.appendChild(el("p", { class: "note" }, "No baseline model in this run.")); panel.appendChild(el("table", { id: "regressions", class: "plain" }, el("tbody", {}))); return; }
    const heads = ["slice", "metric", "candidate", "baseline", "change", "examples", "impact", "failed thresholds"];
    panel.appendChild(el("div", { class: "tablewrap" }, el("table", { id: "regressions", class: "data" },
      el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))),
      el("tbody", {}, r.regressions.map((g) => el("tr", {}, el("td", {}, g.slice),
        el("td", {}, g.metric + (g.at !== null ? "@" + g.at : "") + (g.weighted ? "" : " (unweighted)")),
        el("td", {}, fmt(g.candidate)), el("td", {}, fmt(g.baseline)), el("td", {}, fmt(g.change)),
        el("td", {}, fmt(g.examples)), el("td", {}, fmt(g.impact)),
        el("td", { style: "text-align:left" }, g.failed_thresholds.map((t) => t.message).join(" ")) ))))));
    if (!r.regressions.length) panel.appendChild(el("p", { class: "note" }, "The candidate is worse than the baseline in no slice."));
  }
  function thresholdText(t) {
    if (!t) return "";
    const num = (b) => fmt(typeof b === "object" && b !== null ? b.value : b);
    if (t.value_threshold) {
      const v = t.value_threshold, parts = [];
      if (v.lower_bound !== undefined) parts.push("\u2265 " + num(v.lower_bound));
      if (v.upper_bound !== undefined) parts.push("\u2264 " + num(v.upper_bound));
      return "value " + parts.join(" and ");
    }
    if (t.change_threshold) {
      const c = t.change_threshold, parts = [(c.direction || "").toLowerCase().replace(/_/g, " ")];
      if (c.absolute !== undefined) parts.push("absolute " + num(c.absolute));
      if (c.relative !== undefined) parts.push("relative " + num(c.relative));
      return "change: " + parts.join(", ");
    }
    return JSON.stringify(t);
  }
  function valueText(v) {
    if (v === null || v === undefined) return "";
    return Array.isArray(v) ? "[" + v.map(fmt).join(", ") + "]" : fmt(v);
  }

  // ---------------------------------------------------------------- run facts
  function factsPanel(panel) {
    const r = run(), f = r.facts;
    const dropped = Object.entries(f.rows_dropped || {});
    const items = [
      ["Output directory", r.dir], ["Run name", r.run_name || "not given"], ["Data span", r.data_span || "not given"],
      ["Evaluated at (UTC)", r.evaluated_at || "not recorded"],
      ["Data", f.data ? [].concat(f.data).join(", ") : "not recorded"],
      ["Rows read", fmt(f.rows_read)], ["Rows used", fmt(f.rows_used)],
      ["Rows dropped", dropped.length ? dropped.map(([why, n]) => fmt(n) + " " + why).join("; ") : "none"],
      ["Slices", fmt(f.slices) + (f.omitted ? " (" + f.omitted + " below min_slice_size " + fmt(f.min_slice_size) + " omitted)" : "")],
      ["Models", r.models.baseline ? "candidate " + (r.models.candidate || "?") + ", baseline " + r.models.baseline : (r.models.candidate || "one model")],
      ["Data quality", qualityFact(r)],
      ["Models run in the pipeline", f.model_files && f.model_files.length ? f.model_files.map((line) => el("div", {}, line)) : "none (stored predictions)"],
      ["evalbeam version", f.version || "not recorded"],
    ];
    panel.appendChild(el("dl", { id: "facts", class: "facts" }, items.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
    panel.appendChild(el("h2", {}, "Slicing specs"));
    panel.appendChild(el("table", { id: "spec-facts", class: "plain" },
      el("thead", {}, el("tr", {}, ["spec", "slices", "omitted below min_slice_size", "rows with a null slicing feature", "slices without plots (max_plot_slices)", "in this page's table"].map((h) => el("th", {}, h)))),
      el("tbody", {}, r.specs.map((sp) => el("tr", {}, el("td", {}, sp.name), el("td", {}, fmt(sp.slices)), el("td", {}, fmt(sp.omitted)),
        el("td", {}, fmt(sp.rows_with_null)), el("td", {}, fmt(sp.plot_slices_cut)), el("td", {}, sp.cut ? sp.table.length + " largest (" + sp.cut + " in the histogram only)" : "all"))))));
    if (r.omitted.length) {
      panel.appendChild(el("h2", {}, "Slices omitted below min_slice_size (" + r.omitted.length + ")"));
      panel.appendChild(el("p", { class: "note" }, r.omitted.slice(0, 200).join("; ") + (r.omitted.length > 200 ? " \u2026 and " + (r.omitted.length - 200) + " more" : "")));
    }
    if (r.warnings.length) {
      panel.appendChild(el("h2", {}, "Warnings"));
      panel.appendChild(el("ul", {}, r.warnings.map((w) => el("li", {}, w))));
    }
    if (r.not_shown.length) {
      panel.appendChild(el("h2", {}, "Values without a number"));
      panel.appendChild(el("ul", {}, r.not_shown.map((x) => el("li", {}, x.metric + " in " + x.slice + ": " + x.reason))));
    }
    panel.appendChild(el("h2", {}, "Config"));
    panel.appendChild(el("pre", { class: "config" }, f.config));
  }

  function qualityFact(r) {
    const q = r.data_quality;
    if (!q) return "no statistics computed (run with --statistics)";
    const parts = [q.statistics ? "statistics of " + q.slices.filter((s) => s.statistics).length + " slice(s) on this page" : "no statistics computed (run with --statistics)"];
    parts.push(q.baseline ? "baseline statistics" : "no baseline statistics");
    parts.push(q.anomalies ? "schema anomalies and drift" : "no schema anomalies or drift");
    parts.push(q.failures_total + " failed check(s)");
    return parts.join("; ");
  }

  // ---------------------------------------------------------------- metrics over time
  function trendPanel(panel) {
    const s = EB.state;
    const allMetrics = [...new Set(DATA.order.flatMap((i) => runs[i].metrics.map((m) => m.id)))].sort();
    const chosen = (s.trendMetrics || s.metrics.slice(0, 1)).filter((m) => allMetrics.includes(m));
    const sliceNames = [...new Set(DATA.order.flatMap((i) => runs[i].slices.name))];
    const slice = sliceNames.includes(s.trendSlice) ? s.trendSlice : sliceNames[0];
    const pick = el("select", { id: "trend-metric", multiple: true, size: Math.min(8, allMetrics.length),
      onchange: (e) => EB.setState({ trendMetrics: Array.from(e.target.selectedOptions).map((o) => o.value) }) },
      allMetrics.map((m) => el("option", { value: m, selected: chosen.includes(m) }, m)));
    const slicePick = el("select", { id: "trend-slice", onchange: (e) => EB.setState({ trendSlice: e.target.value }) },
      sliceNames.slice(0, 5000).map((n) => el("option", { value: n, selected: n === slice }, n)));
    panel.appendChild(el("div", { class: "row" }, el("label", {}, "Metrics (ctrl/shift for several) ", pick), el("label", {}, "Slice ", slicePick)));
    const points = [], lines = [];
    DATA.order.forEach((ri, n) => {
      const r = runs[ri];
      const at = r.slices.name.indexOf(slice);
      for (const m of chosen) {
        const v = at >= 0 && r.values[m] && r.values[m].value ? r.values[m].value[at] : null;
        const bounds = (r.thresholds[m] || []).filter((t) => t.slices === null || t.slices.includes(at));
        const violated = v !== null && bounds.some((t) => (t.lower !== null && v < t.lower) || (t.upper !== null && v > t.upper));
        points.push({ run: runLabel(r), order: n, metric: m, value: v, run_name: r.run_name || r.name,
          data_span: r.data_span || "", evaluated_at: r.evaluated_at || "", status: violated ? "violates a threshold" : "ok" });
        if (ri === latest) for (const t of bounds) {
          if (t.lower !== null) lines.push({ metric: m, bound: t.lower, kind: "lower bound" });
          if (t.upper !== null) lines.push({ metric: m, bound: t.upper, kind: "upper bound" });
        }
      }
    });
    const missing = points.filter((p) => p.value === null);
    panel.appendChild(el("p", { class: "note", id: "trend-note" }, DATA.order.length + " runs, ordered by data span (else by evaluation time); dashed lines: the latest run's value thresholds" +
      (missing.length ? " \u00b7 " + missing.length + " point(s) missing (the run has no such value in this slice)" : "")));
    const chart = el("div", { id: "trend-chart", class: "chart" });
    panel.appendChild(chart);
    if (!chosen.length) { chart.appendChild(el("p", { class: "note" }, "Choose a metric.")); return; }
    const x = { field: "run", type: "ordinal", sort: null, title: "run", axis: { labelAngle: -30, labelLimit: 200 } };
    const color = { field: "metric", type: "nominal", title: "metric" };
    EB.embed(chart, {
      datasets: { points: points.filter((p) => p.value !== null), thresholds: lines },
      width: 720, height: 320,
      layer: [
        { data: { name: "points" }, mark: { type: "line", point: false }, encoding: { x, y: { field: "value", type: "quantitative", scale: { zero: false }, title: "value" }, color } },
        { data: { name: "points" }, mark: { type: "point", filled: true },
          encoding: { x, y: { field: "value", type: "quantitative" }, color,
            shape: { field: "status", type: "nominal", scale: { domain: ["ok", "violates a threshold"], range: ["circle", "cross"] }, title: "threshold" },
            size: { field: "status", type: "nominal", scale: { domain: ["ok", "violates a threshold"], range: [60, 200] }, legend: null },
            tooltip: [{ field: "run_name", title: "run" }, { field: "data_span", title: "data span" }, { field: "evaluated_at", title: "evaluated at" },
              { field: "metric" }, { field: "value", format: ".6~g" }, { field: "status" }] } },
      ].concat(lines.length ? [
        { data: { name: "thresholds" }, mark: { type: "rule", strokeDash: [6, 4] },
          encoding: { y: { field: "bound", type: "quantitative" }, color, tooltip: [{ field: "metric" }, { field: "kind" }, { field: "bound", format: ".6~g" }] } }] : []),
    });
  }

  // ---------------------------------------------------------------- start
  window.addEventListener("hashchange", () => {
    const next = parseHash();
    if (location.hash !== hashOf(EB.state)) { EB.state = next; render(); }
  });
  const copy = document.getElementById("copy-link");
  if (linkable) copy.addEventListener("click", copyLink);
  else copy.remove(); // the page is inline (a notebook): no link leads back to this view
  render();
  drawnOnce = true;
  markReady();
})();

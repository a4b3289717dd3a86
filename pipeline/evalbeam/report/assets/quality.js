// The data-quality tab: window.EB_QUALITY.render(panel, quality, opts).
//
// quality: a run's "data_quality" (report/quality_data.py); opts: {slice: the page's selected
// slice name or null, choose(name): select a slice for the whole page, el, fmt,
// vegaEmbed(el, spec) -> Promise, charts: how many feature charts to draw, more(): draw all}.
// One slice at a time: its failed checks, drift against the baseline with each threshold,
// schema anomalies, and statistics per feature (the baseline's beside them), with a small
// histogram per numeric feature and top-value bars per string feature. Everything from the
// data goes in as text or as chart data, never as markup.
(function () {
  "use strict";

  const CHARTS = 24; // feature charts drawn at first
  const CHART_VALUES = 20; // top values per bar chart

  function pct(x) {
    if (x === null || x === undefined) return "n/a";
    return (Math.round(x * 1000) / 10) + "%";
  }

  function render(panel, q, opts) {
    const el = opts.el, fmt = opts.fmt;
    const slices = q.slices;
    let at = slices.findIndex((s) => s.name === opts.slice);
    if (at < 0) at = 0;
    const s = slices[at];
    const picker = el("select", { id: "dq-slice", onchange: (e) => opts.choose(e.target.value) },
      slices.map((x) => el("option", { value: x.name, selected: x === s },
        x.name + (x.failures.length ? " (" + x.failures.length + " failed)" : ""))));
    panel.appendChild(el("div", { class: "row" }, el("label", {}, "Slice ", picker)));
    const notes = [];
    if (!q.statistics) notes.push("no statistics computed (run with --statistics)");
    if (!q.anomalies) notes.push("no schema checked and no drift measured (give a schema, a baseline)");
    if (q.not_described) notes.push(q.not_described);
    if (q.slices_total > slices.length) notes.push("this page carries " + slices.length + " of " + q.slices_total +
      " slices (limit " + q.limits.slices + ": Overall, the slices with failures, then the largest)");
    if (q.statistics_cut) notes.push("statistics of " + q.statistics_cut + " slice(s) are not on this page (limits: " +
      q.limits.statistics_slices + " slices, " + (q.limits.statistics_bytes / 1e6) + " MB; Overall, the slices with failures and the largest are kept)");
    notes.push("all of it: evalbeam show DIR --json; Python: load_result(DIR).statistics");
    panel.appendChild(el("p", { class: "note", id: "dq-note" }, notes.join(" \u00b7 ")));

    // failed checks
    panel.appendChild(el("h2", {}, "Failed checks of " + s.name + " (" + s.failures.length + ")"));
    panel.appendChild(failureTable("dq-failures", s.failures, el, fmt, false));

    // drift
    panel.appendChild(el("h2", {}, "Drift against the baseline"));
    if (s.drift === null) panel.appendChild(el("p", { class: "note", id: "dq-drift-none" }, "Not measured for this slice."));
    else if (!s.drift.length) panel.appendChild(el("p", { class: "note", id: "dq-drift-none" }, "No drift measured for this slice (no baseline)."));
    else {
      panel.appendChild(el("div", { class: "tablewrap" }, el("table", { id: "dq-drift", class: "data" },
        el("thead", {}, el("tr", {}, ["feature", "measure", "value", "threshold", "status"].map((h) => el("th", { style: h === "measure" || h === "status" ? "text-align:left" : null }, h)))),
        el("tbody", {}, s.drift.map((m) => el("tr", { class: m.failed ? "fail" : null, dataset: { feature: m.feature, measure: m.measure } },
          el("td", {}, m.feature), el("td", { style: "text-align:left" }, m.measure + (m.skew ? " (skew)" : "")),
          el("td", { "data-col": "value", "data-value": m.value === null ? null : String(m.value), class: m.failed ? "fail" : null }, fmt(m.value)),
          el("td", { "data-col": "threshold", "data-value": m.threshold === null ? null : String(m.threshold) },
            m.threshold === null ? "none (reported only)" : fmt(m.threshold)),
          el("td", { "data-col": "status", class: m.failed ? "fail" : null }, m.failed ? "fails" : m.threshold === null ? "" : "ok")))))));
    }

    // anomalies
    panel.appendChild(el("h2", {}, "Schema anomalies"));
    if (s.anomalies === null) panel.appendChild(el("p", { class: "note", id: "dq-anomalies-none" }, "No schema checked for this slice."));
    else {
      if (s.data_missing) panel.appendChild(el("p", { class: "note warn" }, "The slice has no data."));
      if (!s.anomalies.length) panel.appendChild(el("p", { class: "note", id: "dq-anomalies-none" }, "None: the slice's data fits the schema."));
      else panel.appendChild(el("table", { id: "dq-anomalies", class: "plain" },
        el("thead", {}, el("tr", {}, ["feature", "severity", "anomaly", "description", "reasons"].map((h) => el("th", {}, h)))),
        el("tbody", {}, s.anomalies.map((a) => el("tr", { dataset: { feature: a.feature }, class: a.severity === "ERROR" ? "fail" : null },
          el("td", {}, a.feature || "(dataset)"), el("td", {}, a.severity), el("td", {}, a.short_description),
          el("td", {}, a.description, a.diff_regions ? el("details", { class: "dq-other" }, el("summary", {}, "schema change"),
            el("pre", { class: "config" }, JSON.stringify(a.diff_regions, null, 1))) : null), el("td", {}, a.reasons.map((r) => r.type + (r.description && r.description !== a.description ? ": " + r.description : "")).join("; ")))))));
    }

    // statistics
    panel.appendChild(el("h2", {}, "Statistics"));
    if (!s.statistics && !s.baseline) {
      panel.appendChild(el("p", { class: "note", id: "dq-stats-none" }, q.statistics ?
        "Not on this page for this slice (see the note above)." : "No statistics computed (run with --statistics)."));
      return;
    }
    const st = s.statistics, base = s.baseline;
    const head = [];
    if (st) head.push(fmt(st.num_examples) + " examples" + (st.weighted_num_examples ? " (weighted " + fmt(st.weighted_num_examples) + ")" : ""));
    if (base) head.push("baseline: " + fmt(base.num_examples) + " examples" + (base.weighted_num_examples ? " (weighted " + fmt(base.weighted_num_examples) + ")" : ""));
    else if (q.baseline === false) head.push("no baseline statistics");
    if (st && st.features_cut) head.push(st.features_cut + " more feature(s) not on this page (limit " + q.limits.features + ")");
    panel.appendChild(el("p", { class: "note", id: "dq-stats-note" }, head.join(" \u00b7 ")));
    const failedFeatures = new Set(s.failures.map((f) => f.feature));
    const cols = [["count", "count"], ["missing", "missing"], ["missing_fraction", "missing %"], ["mean", "mean"], ["std_dev", "std dev"],
      ["min", "min"], ["median", "median"], ["max", "max"], ["zeros", "zeros"], ["unique", "unique"], ["top_values", "top values"],
      ["avg_length", "avg length"], ["min_num_values", "min values"], ["avg_num_values", "avg values"], ["max_num_values", "max values"]];
    const names = [];
    const byName = (list) => { const m = new Map(); (list || []).forEach((f) => m.set(f.feature, f)); return m; };
    const cur = byName(st && st.features), old = byName(base && base.features);
    for (const f of (st ? st.features : []).concat(base ? base.features : [])) if (!names.includes(f.feature)) names.push(f.feature);
    const body = el("tbody", {});
    for (const name of names) {
      for (const [role, f] of [["current", cur.get(name)], ["baseline", old.get(name)]]) {
        if (role === "baseline" && !base) continue;
        const failed = role === "current" && failedFeatures.has(name);
        const tr = el("tr", { class: role === "baseline" ? "baseline" : null, dataset: { feature: name, role } },
          el("td", { "data-col": "feature", class: failed ? "fail" : null, title: failed ? s.failures.filter((x) => x.feature === name).map((x) => x.message).join("; ") : null },
            role === "baseline" ? "\u2003baseline" : name),
          el("td", { "data-col": "type", style: "text-align:left" }, f ? f.type : ""));
        for (const [c] of cols) {
          if (!f) { tr.appendChild(el("td", { "data-col": c }, role === "baseline" ? "not in the baseline" : "not in the data")); break; }
          const v = f[c];
          if (c === "top_values") {
            tr.appendChild(el("td", { "data-col": c, style: "text-align:left" }, v ? v.slice(0, 3).map((x) => x[0] + " (" + fmt(x[1]) + ")").join(", ") +
              (v.length > 3 || f.top_values_cut ? ", \u2026" : "") : ""));
            continue;
          }
          const estimated = c === "unique" && f.unique_estimated;
          tr.appendChild(el("td", { "data-col": c, "data-value": v === null || v === undefined ? null : String(v),
            title: estimated ? "estimated: more distinct values than are kept exactly (how: Other statistics, custom_stats)" : null },
            v === null || v === undefined ? "" : c === "missing_fraction" ? pct(v) : (estimated ? "~" : "") + fmt(v)));
        }
        body.appendChild(tr);
      }
    }
    panel.appendChild(el("div", { class: "tablewrap" }, el("table", { id: "dq-stats", class: "data" },
      el("thead", {}, el("tr", {}, [el("th", {}, "feature"), el("th", {}, "type")].concat(cols.map(([c, t]) => el("th", { "data-col": c }, t))))), body)));

    // charts
    panel.appendChild(el("h2", {}, "Distributions" + (base ? " (current and baseline)" : "")));
    const charts = el("div", { id: "dq-charts", class: "charts" });
    panel.appendChild(charts);
    const drawable = names.filter((n) => { const f = cur.get(n) || old.get(n); return f && (f.histogram || f.top_values); });
    const limit = opts.charts || CHARTS;
    drawable.slice(0, limit).forEach((name, i) => {
      const box = el("div", { id: "dq-chart-" + i, class: "chart dq-chart", dataset: { feature: name } });
      charts.appendChild(el("figure", { class: "dq-figure" }, el("figcaption", { class: failedFeatures.has(name) ? "fail" : null }, name), box));
      opts.vegaEmbed(box, chartSpec(cur.get(name), old.get(name), base !== null));
    });
    if (drawable.length > limit) panel.appendChild(el("p", { class: "note" }, "The first " + limit + " of " + drawable.length + " charts are drawn. ",
      el("button", { id: "dq-more-charts", onclick: () => opts.more(drawable.length) }, "draw all")));
    if (!drawable.length) charts.appendChild(el("p", { class: "note" }, "No histogram or top values to draw."));

    // every other statistic
    const others = names.map((n) => [n, cur.get(n), old.get(n)]).filter(([, a, b]) => (a && a.other && Object.keys(a.other).length) || (b && b.other && Object.keys(b.other).length));
    if (others.length) {
      panel.appendChild(el("h2", {}, "Other statistics (weighted, rank histograms, quantiles, custom)"));
      for (const [n, a, b] of others) {
        const text = JSON.stringify({ quantiles: a && a.quantiles, other: a && a.other, baseline: b ? { quantiles: b.quantiles, other: b.other } : undefined }, null, 1);
        panel.appendChild(el("details", { class: "dq-other", dataset: { feature: n } }, el("summary", {}, n), el("pre", { class: "config" }, text)));
      }
    }
  }

  function failureTable(id, failures, el, fmt, withSlice) {
    if (!failures.length) return el("table", { id, class: "plain" }, el("tbody", {}, el("tr", {}, el("td", { class: "note" }, "none"))));
    const heads = (withSlice ? ["slice"] : []).concat(["feature", "kind", "measure", "value", "threshold", "message"]);
    return el("div", { class: "tablewrap" }, el("table", { id, class: "plain" },
      el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))),
      el("tbody", {}, failures.map((f) => el("tr", { class: "fail", dataset: { feature: f.feature, kind: f.kind } },
        withSlice ? el("td", {}, f.slice) : null, el("td", {}, f.feature), el("td", {}, f.kind), el("td", {}, f.measure),
        el("td", { "data-value": f.value === null ? null : String(f.value) }, fmt(f.value)),
        el("td", { "data-value": f.threshold === null ? null : String(f.threshold) }, fmt(f.threshold)),
        el("td", {}, f.message))))));
  }

  function chartSpec(cur, old, withBaseline) {
    const rows = [];
    const f = cur || old;
    if (f.histogram) {
      for (const [src, g] of [["current", cur], ["baseline", old]]) {
        if (!g || !g.histogram) continue;
        const total = g.histogram.reduce((a, b) => a + (b[2] || 0), 0) || 1;
        g.histogram.forEach(([lo, hi, n]) => rows.push({ source: src, low: lo, high: hi, count: n, share: n / total }));
      }
      const layer = (src, color, opacity) => ({
        transform: [{ filter: { field: "source", equal: src } }],
        mark: { type: "rect", color, opacity, stroke: color },
        encoding: { x: { field: "low", type: "quantitative", title: null, scale: { zero: false } }, x2: { field: "high" },
          y: { field: withBaseline ? "share" : "count", type: "quantitative", title: withBaseline ? "share" : "count" },
          tooltip: [{ field: "source" }, { field: "low", format: ".4~g" }, { field: "high", format: ".4~g" }, { field: "count", format: ",.6~g" }, { field: "share", format: ".2%" }] } });
      return { data: { values: rows }, width: 260, height: 120,
        layer: [layer("current", "#4c78a8", 0.7)].concat(withBaseline ? [layer("baseline", "#e8702a", 0.35)] : []) };
    }
    for (const [src, g] of [["current", cur], ["baseline", old]]) {
      if (!g || !g.top_values) continue;
      const total = g.count || 1;
      g.top_values.slice(0, CHART_VALUES).forEach(([v, n], i) => rows.push({ source: src, value: v, count: n, share: n / total, rank: i }));
    }
    const encoding = { y: { field: "value", type: "nominal", title: null, sort: { field: "rank" }, axis: { labelLimit: 120 } },
      x: { field: withBaseline ? "share" : "count", type: "quantitative", title: withBaseline ? "share of examples" : "count" },
      color: { field: "source", type: "nominal", scale: { domain: ["current", "baseline"], range: ["#4c78a8", "#e8702a"] }, legend: withBaseline ? { orient: "bottom", title: null } : null },
      tooltip: [{ field: "source" }, { field: "value" }, { field: "count", format: ",.6~g" }, { field: "share", format: ".2%" }] };
    if (withBaseline) encoding.yOffset = { field: "source" };
    return { data: { values: rows }, width: 260, height: { step: withBaseline ? 8 : 12 }, mark: { type: "bar" }, encoding };
  }

  window.EB_QUALITY = { render, failureTable };
})();

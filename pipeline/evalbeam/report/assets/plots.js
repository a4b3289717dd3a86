// The plots of one slice: window.EB_PLOTS.render(el, plots, opts).
//
// plots: the list of report/plot_data.py's slice_plots (one entry per plot, kind and model);
// opts: {candidate: model name or "", baseline: model name or null,
//        vegaEmbed(el, vegaLiteSpec) -> Promise<vega View>, el(tag, attrs, ...children)}.
// Plots of the same kind, name, output, sub key and weighting are drawn on one chart, one
// colour per model (the candidate first). Everything from the data goes in as text or as
// chart data, never as markup. A plot that cannot be drawn is listed with the reason.
(function () {
  "use strict";

  const WIDTH = 300;
  const HEIGHT = 240;
  const PALETTE = ["#1f6fd1", "#e8702a", "#2ca02c", "#9467bd", "#8c564b", "#d62728"];
  const TITLES = {
    confusion_matrix_at_thresholds: "Confusion matrix at thresholds",
    calibration_histogram_buckets: "Calibration",
    gain_curve: "Cumulative gain",
    lift_curve: "Lift",
    score_distribution: "Score distribution",
    predicted_vs_true: "Predicted vs true",
    residual_histogram: "Residual histogram",
    multi_class_confusion_matrix_at_thresholds: "Multi-class confusion matrix",
    multi_label_confusion_matrix_at_thresholds: "Multi-label confusion matrix",
  };

  // ---- small helpers ---------------------------------------------------------------------

  function fmt(x) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    if (Number.isInteger(x)) return String(x);
    return String(Number(x.toPrecision(4)));
  }

  // a stored number as it is (counts and thresholds: 6 significant digits already)
  function exact(x) {
    return x === null || x === undefined ? "–" : String(x);
  }

  function percent(x) {
    return x === null ? "–" : Math.round(100 * x) + "%";
  }

  function ratio(a, b) {
    return b > 0 ? a / b : null;
  }

  function modelLabel(model) {
    return model === "" ? "model" : model;
  }

  // "name (output, sub key)": what a plot is, for titles and notes
  function plotName(p) {
    const more = [p.output, p.sub_key].filter((s) => s);
    return more.length ? p.name + " (" + more.join(", ") + ")" : p.name;
  }

  function subtitle(group) {
    const models = group.members.map((p) => p.model).filter((m) => m !== "");
    const parts = models.length ? [models.join(" vs ")] : [];
    parts.push(group.weighted ? "weighted" : "unweighted");
    return parts.join(" · ");
  }

  function title(group, what) {
    return {text: what + ": " + plotName(group.members[0]), subtitle: subtitle(group)};
  }

  // colour encoding by model, the candidate first (same colours in every chart)
  function colour(ctx) {
    const range = ctx.models.map((_, i) => PALETTE[i % PALETTE.length]);
    return {field: "model", type: "nominal", title: "model",
            scale: {domain: ctx.models, range: range},
            legend: ctx.models.length > 1 ? {} : null};
  }

  // one panel per model, side by side (no header for a single model)
  function modelFacet(ctx) {
    return {column: {field: "model", type: "nominal", title: null, sort: ctx.models,
                     header: {labels: ctx.models.length > 1}}};
  }

  // cell text that stays readable on the dark cells of a heatmap
  function cellText(field, high, fontSize) {
    return {mark: {type: "text", fontSize: fontSize}, encoding: {text: {field: "text"},
      color: {condition: {test: "datum." + field + " > " + high / 2, value: "white"},
              value: "black"}}};
  }

  function q(field, titleText, extra) {
    return Object.assign({field: field, type: "quantitative", title: titleText}, extra || {});
  }

  function diagonal(lo, hi) {
    return {data: {values: [{x: lo, y: lo, x2: hi, y2: hi}]},
            mark: {type: "rule", strokeDash: [4, 4], color: "#999"},
            encoding: {x: {field: "x", type: "quantitative"}, y: {field: "y", type: "quantitative"},
                       x2: {field: "x2"}, y2: {field: "y2"}}};
  }

  function horizontal(y) {
    return {data: {values: [{y: y}]}, mark: {type: "rule", strokeDash: [4, 4], color: "#999"},
            encoding: {y: {field: "y", type: "quantitative"}}};
  }

  // bucket edges fit to draw: an infinite edge (null) becomes one typical width away
  function drawnEdges(lower, upper) {
    const widths = lower.map((lo, i) => (lo === null || upper[i] === null ? null : upper[i] - lo))
      .filter((w) => w !== null && w > 0).sort((a, b) => a - b);
    const width = widths.length ? widths[Math.floor(widths.length / 2)] : 1;
    return lower.map((lo, i) => {
      const hi = upper[i];
      return {lo: lo === null ? hi - width : lo, hi: hi === null ? lo + width : hi,
              range: (lo === null ? "below " + exact(hi) : hi === null ? "from " + exact(lo)
                      : exact(lo) + " to " + exact(hi))};
    });
  }

  // the x range of bucket plots: the stored range, widened to the buckets drawn outside it
  function extent(group, rows) {
    const ends = [].concat.apply([], group.members.map((p) => p.range || []))
      .concat(rows.map((r) => r.lo), rows.map((r) => r.hi)).filter((v) => v !== null);
    return ends.length ? [Math.min(...ends), Math.max(...ends)] : [0, 1];
  }

  function rangeTooltip(extra) {
    return [{field: "model", title: "model"}, {field: "range", title: "bucket"}].concat(extra);
  }

  // ---- chart placement -------------------------------------------------------------------

  function chartBox(ctx, part) {
    ctx.counter += 1;
    // a chart is as wide as drawn (not the page's full width), so charts sit side by side
    return ctx.el("div", {class: "chart eb-plot-chart", "data-plot": part, style: "width:auto",
                          id: "eb-plot-" + ctx.counter + "-" + part});
  }

  function embed(ctx, box, spec) {
    const done = ctx.vegaEmbed(box, spec).then((view) => {
      if (view) ctx.views.push(view);  // none when the embedder reported a failure itself
      return view || null;
    }, (error) => {
      box.appendChild(ctx.el("p", {class: "note warn"},
                             "chart not drawn (" + String(error && error.message || error) + ")"));
      return null;
    });
    ctx.pending.push(done);
    return done;
  }

  function chart(ctx, section, part, spec) {
    const box = chartBox(ctx, part);
    section.appendChild(box);
    return embed(ctx, box, spec);
  }

  // ---- binary confusion matrices: ROC, precision-recall, the matrix at a threshold -------

  function matrixRows(p) {
    return p.threshold.map((t, i) => {
      const tp = p.tp[i], fp = p.fp[i], tn = p.tn[i], fn = p.fn[i];
      const precision = tp + fp > 0 ? tp / (tp + fp) : 1;  // as the artifacts: 1 when undefined
      return {model: modelLabel(p.model), order: i, threshold: t, tp: tp, fp: fp, tn: tn, fn: fn,
              tpr: ratio(tp, tp + fn), fpr: ratio(fp, fp + tn), precision: precision};
    });
  }

  function curveSpec(group, ctx, what, x, y, extraLayers) {
    const rows = [].concat.apply([], group.members.map(matrixRows));
    const tooltip = [{field: "model"}, q("threshold", "threshold"), q(x.field, x.title),
                     q(y.field, y.title), q("tp", "TP"), q("fp", "FP"), q("tn", "TN"),
                     q("fn", "FN")];
    const encoding = {x: q(x.field, x.title, {scale: {domain: [0, 1]}}),
                      y: q(y.field, y.title, {scale: {domain: [0, 1]}}),
                      color: colour(ctx), order: {field: "order", type: "quantitative"}};
    return {title: title(group, what), width: WIDTH, height: HEIGHT, data: {values: rows},
            layer: extraLayers.concat([
              {mark: {type: "line", strokeWidth: 2}, encoding: encoding},
              {mark: {type: "point", filled: true, size: 14},
               encoding: Object.assign({}, encoding, {tooltip: tooltip})}])};
  }

  function drawRoc(section, group, ctx) {
    return chart(ctx, section, "roc", curveSpec(group, ctx, "ROC curve",
      {field: "fpr", title: "false positive rate"}, {field: "tpr", title: "true positive rate"},
      [diagonal(0, 1)]));
  }

  function drawPrecisionRecall(section, group, ctx) {
    return chart(ctx, section, "pr", curveSpec(group, ctx, "Precision-recall curve",
      {field: "tpr", title: "recall"}, {field: "precision", title: "precision"}, []));
  }

  // the row of plot p at the highest of its thresholds at or below t (its first otherwise)
  function rowAt(p, t) {
    let at = 0;
    p.threshold.forEach((u, i) => {
      if (u !== null && u <= t + 1e-12) at = i;
    });
    return at;
  }

  function cellsAt(group, t) {
    const cells = [];
    group.members.forEach((p) => {
      const i = rowAt(p, t);
      const model = modelLabel(p.model);
      [["positive", "positive", "TP", p.tp[i]], ["positive", "negative", "FN", p.fn[i]],
       ["negative", "positive", "FP", p.fp[i]], ["negative", "negative", "TN", p.tn[i]]]
        .forEach((c) => cells.push({model: model, actual: c[0], predicted: c[1], cell: c[2],
                                    count: c[3], text: c[2] + " " + exact(c[3])}));
    });
    return cells;
  }

  function matrixSpec(group, ctx, cells) {
    const high = Math.max(...group.members.map((p) => Math.max(p.tp[0] + p.fn[0],
                                                                 p.fp[0] + p.tn[0])));
    return {title: title(group, "Confusion matrix"), datasets: {cells: cells},
            data: {name: "cells"}, facet: modelFacet(ctx),
            spec: {width: 150, height: 150,
              encoding: {
                x: {field: "predicted", type: "nominal", sort: ["positive", "negative"],
                    title: "predicted"},
                y: {field: "actual", type: "nominal", sort: ["positive", "negative"],
                    title: "actual"}},
              layer: [
                {mark: "rect", encoding: {
                  color: {field: "count", type: "quantitative", title: "weight",
                          scale: {scheme: "blues", zero: true}},
                  tooltip: [{field: "model"}, {field: "cell"}, q("count", "weight")]}},
                cellText("count", high, 12)]},
            resolve: {scale: {color: "independent"}}};
  }

  const RATES = new Set(["precision", "recall", "FPR"]);

  function countsTable(ctx, group) {
    const head = ["model", "threshold", "TP", "FP", "TN", "FN", "precision", "recall", "FPR"];
    const rows = group.members.map((p) => ctx.el("tr", {"data-model": p.model},
      ctx.el("td", {}, modelLabel(p.model)),
      ...head.slice(1).map((h) => ctx.el("td", {"data-field": h}, ""))));
    const table = ctx.el("table", {class: "data eb-plot-counts"},
      ctx.el("thead", {}, ctx.el("tr", {}, ...head.map((h) => ctx.el("th", {}, h)))),
      ctx.el("tbody", {}, ...rows));
    function update(t) {
      group.members.forEach((p, k) => {
        const i = rowAt(p, t);
        const tp = p.tp[i], fp = p.fp[i], tn = p.tn[i], fn = p.fn[i];
        const values = {threshold: p.threshold[i], TP: tp, FP: fp, TN: tn, FN: fn,
                        precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn),
                        FPR: ratio(fp, fp + tn)};
        rows[k].querySelectorAll("td[data-field]").forEach((td) => {
          const field = td.getAttribute("data-field");
          td.textContent = (RATES.has(field) ? fmt : exact)(values[field]);
        });
      });
    }
    return {table: table, update: update};
  }

  function drawMatrixAtThreshold(section, group, ctx) {
    const first = group.members[0];
    const thresholds = first.threshold;
    let start = 0;  // the kept threshold nearest 0.5
    thresholds.forEach((t, i) => {
      if (Math.abs(t - 0.5) < Math.abs(thresholds[start] - 0.5)) start = i;
    });
    const slider = ctx.el("input", {type: "range", min: "0", max: String(thresholds.length - 1),
                                    step: "1", value: String(start), class: "eb-threshold",
                                    "aria-label": "threshold"});
    const shown = ctx.el("output", {class: "eb-threshold-value"}, "");
    const counts = countsTable(ctx, group);
    section.appendChild(ctx.el("div", {class: "row eb-threshold-control"},
      ctx.el("label", {}, "threshold"), slider, shown,
      ctx.el("span", {class: "note"}, "positive: prediction > threshold; " + thresholds.length +
             " of the " + first.thresholds_stored + " stored thresholds")));
    section.appendChild(counts.table);
    const box = chartBox(ctx, "matrix");
    section.appendChild(box);
    const view = embed(ctx, box, matrixSpec(group, ctx, cellsAt(group, thresholds[start])));
    function update() {
      const t = thresholds[Number(slider.value)];
      shown.textContent = exact(t);
      counts.update(t);
      view.then((v) => v && v.data("cells", cellsAt(group, t)).runAsync());
    }
    slider.addEventListener("input", update);
    update();
    return view;
  }

  function drawMatrices(section, group, ctx) {
    const row = ctx.el("div", {class: "row"});
    section.appendChild(row);
    drawRoc(row, group, ctx);
    drawPrecisionRecall(row, group, ctx);
    drawMatrixAtThreshold(section, group, ctx);
  }

  // ---- calibration ----------------------------------------------------------------------

  function drawCalibration(section, group, ctx) {
    const rows = [];
    group.members.forEach((p) => {
      drawnEdges(p.lower, p.upper).forEach((e, i) => rows.push({
        model: modelLabel(p.model), lo: e.lo, hi: e.hi, range: e.range, weight: p.weight[i],
        mean_label: ratio(p.weighted_label[i], p.weight[i]),
        mean_prediction: ratio(p.weighted_prediction[i], p.weight[i])}));
    });
    const domain = extent(group, rows);
    const tooltip = rangeTooltip([q("weight", "weighted examples"),
                                  q("mean_prediction", "mean prediction"),
                                  q("mean_label", "mean label")]);
    const x = q("mean_prediction", "mean prediction", {scale: {domain: domain}});
    const spec = {
      title: title(group, "Calibration"), data: {values: rows},
      vconcat: [
        {width: WIDTH, height: HEIGHT, layer: [diagonal(domain[0], domain[1]),
          {mark: {type: "line", strokeWidth: 1.5}, encoding: {x: x,
            y: q("mean_label", "mean label", {scale: {domain: domain}}), color: colour(ctx)}},
          {mark: {type: "point", filled: true}, encoding: {x: x, y: q("mean_label", "mean label"),
            color: colour(ctx), size: q("weight", "weighted examples", {legend: null}),
            tooltip: tooltip}}]},
        {width: WIDTH, height: 90, mark: {type: "bar", opacity: 0.6}, encoding: {
          x: q("lo", "prediction", {bin: "binned", scale: {domain: domain}}), x2: {field: "hi"},
          y: q("weight", "weighted examples", {stack: null}), color: colour(ctx),
          tooltip: tooltip}}]};
    return chart(ctx, section, "calibration", spec);
  }

  // ---- population curves ----------------------------------------------------------------

  function populationRows(group, column) {
    const rows = [];
    group.members.forEach((p) => p.population_fraction.forEach((f, i) => rows.push(
      {model: modelLabel(p.model), fraction: f, value: p[column][i]})));
    return rows;
  }

  function populationSpec(group, ctx, what, column, yTitle, reference) {
    const encoding = {x: q("fraction", "population fraction", {scale: {domain: [0, 1]}}),
                      y: q("value", yTitle), color: colour(ctx)};
    return {title: title(group, what), width: WIDTH, height: HEIGHT,
            data: {values: populationRows(group, column)},
            layer: [reference,
              {mark: {type: "line", strokeWidth: 2}, encoding: encoding},
              {mark: {type: "point", filled: true, size: 14}, encoding: Object.assign({}, encoding,
                {tooltip: [{field: "model"}, q("fraction", "population fraction"),
                           q("value", yTitle)]})}]};
  }

  function drawGain(section, group, ctx) {
    return chart(ctx, section, "gain", populationSpec(group, ctx, "Cumulative gain", "gain",
                                                       "gain", diagonal(0, 1)));
  }

  function drawLift(section, group, ctx) {
    return chart(ctx, section, "lift", populationSpec(group, ctx, "Lift", "lift", "lift",
                                                       horizontal(1)));
  }

  // ---- histograms -----------------------------------------------------------------------

  // bars over bucket ranges, the models' bars overlaid
  function bars(group, ctx, what, rows, xTitle) {
    return {
      title: title(group, what), width: WIDTH, height: HEIGHT, data: {values: rows},
      mark: {type: "bar", opacity: group.members.length > 1 ? 0.55 : 0.85},
      encoding: {x: q("lo", xTitle, {bin: "binned", scale: {domain: extent(group, rows)}}),
                 x2: {field: "hi"},
                 y: q("weight", "weighted examples", {stack: null}), color: colour(ctx),
                 tooltip: rangeTooltip([q("weight", "weighted examples")])}};
  }

  function drawScoreDistribution(section, group, ctx) {
    const rows = [];
    group.members.forEach((p) => drawnEdges(p.lower, p.upper).forEach((e, i) => {
      [["negatives", p.negatives[i]], ["positives", p.positives[i]]].forEach((c) => rows.push(
        {model: modelLabel(p.model), label: c[0], lo: e.lo, hi: e.hi, range: e.range,
         weight: c[1]}));
    }));
    const spec = bars(group, ctx, "Score distribution", rows, "prediction");
    const panel = {width: spec.width, height: 110, mark: spec.mark, encoding: spec.encoding};
    panel.encoding.tooltip = rangeTooltip([{field: "label"}, q("weight", "weighted examples")]);
    return chart(ctx, section, "score", {title: spec.title, data: spec.data,  // a row per label
      facet: {row: {field: "label", type: "nominal", title: null}}, spec: panel,
      resolve: {scale: {y: "independent"}}});
  }

  function drawResiduals(section, group, ctx) {
    const rows = [];
    group.members.forEach((p) => drawnEdges(p.lower, p.upper).forEach((e, i) => rows.push(
      {model: modelLabel(p.model), lo: e.lo, hi: e.hi, range: e.range, weight: p.weight[i]})));
    return chart(ctx, section, "residual",
                 bars(group, ctx, "Residual histogram", rows, "residual (label − prediction)"));
  }

  function drawPredictedVsTrue(section, group, ctx) {
    const rows = [];
    group.members.forEach((p) => drawnEdges(p.lower, p.upper).forEach((e, i) => rows.push(
      {model: modelLabel(p.model), range: e.range, weight: p.weight[i],
       mean_prediction: p.mean_prediction[i], mean_label: p.mean_label[i]})));
    const values = rows.map((r) => r.mean_prediction).concat(rows.map((r) => r.mean_label))
      .filter((v) => v !== null);
    const lo = values.length ? Math.min(...values) : 0;
    const hi = values.length ? Math.max(...values) : 1;
    return chart(ctx, section, "predicted-vs-true", {
      title: title(group, "Predicted vs true"), width: WIDTH, height: HEIGHT, data: {values: rows},
      layer: [diagonal(lo, hi), {mark: {type: "point", filled: true, opacity: 0.8}, encoding: {
        x: q("mean_prediction", "mean prediction"), y: q("mean_label", "mean label"),
        size: q("weight", "weighted examples", {legend: null}), color: colour(ctx),
        tooltip: rangeTooltip([q("weight", "weighted examples"),
                               q("mean_prediction", "mean prediction"),
                               q("mean_label", "mean label")])}}]});
  }

  // ---- class-by-class matrices ----------------------------------------------------------

  function classLabel(id) {
    return id < 0 ? "none" : String(id);
  }

  function classCells(group, t, multiLabel) {
    const cells = [];
    group.members.forEach((p) => p.threshold.forEach((u, i) => {
      if (u !== t) return;
      const cell = {model: modelLabel(p.model), actual: classLabel(p.actual[i]),
                    predicted: classLabel(p.predicted[i])};
      if (multiLabel) {
        Object.assign(cell, {tp: p.tp[i], fp: p.fp[i], tn: p.tn[i], fn: p.fn[i]});
        cell.weight = ratio(cell.tp + cell.fp, cell.tp + cell.fp + cell.tn + cell.fn);
      } else {
        cell.weight = p.weight[i];
      }
      cell.text = multiLabel ? percent(cell.weight) : exact(cell.weight);
      cells.push(cell);
    }));
    return cells;
  }

  function classOrder(group) {
    const ids = new Set();
    group.members.forEach((p) => p.actual.concat(p.predicted).forEach((c) => ids.add(c)));
    return Array.from(ids).sort((a, b) => (a < 0) - (b < 0) || a - b).map(classLabel);
  }

  function classMatrixSpec(group, ctx, cells, multiLabel, high) {
    const order = classOrder(group);
    const labelled = order.length <= 12;  // cells wide enough for their numbers
    const side = Math.max(120, Math.min(520, (labelled ? 44 : 22) * order.length));
    const what = multiLabel ? "share predicted positive" : "weighted examples";
    const x = {field: "predicted", type: "ordinal", sort: order,
               title: multiLabel ? "class" : "predicted class"};
    const y = {field: "actual", type: "ordinal", sort: order,
               title: multiLabel ? "labelled class" : "actual class"};
    const tooltip = [{field: "model"}, {field: "actual", title: y.title},
                     {field: "predicted", title: x.title}, q("weight", what)];
    if (multiLabel) tooltip.push(q("tp", "TP"), q("fp", "FP"), q("tn", "TN"), q("fn", "FN"));
    const layer = [{mark: "rect", encoding: {tooltip: tooltip,
      color: {field: "weight", type: "quantitative", title: what,
              scale: {scheme: "blues", zero: true}}}}];
    if (labelled) layer.push(cellText("weight", high, 11));
    return {title: title(group, TITLES[group.kind]), datasets: {cells: cells},
            data: {name: "cells"}, facet: modelFacet(ctx),
            spec: {width: side, height: side, encoding: {x: x, y: y}, layer: layer}};
  }

  function drawClassMatrix(section, group, ctx) {
    const multiLabel = group.kind === "multi_label_confusion_matrix_at_thresholds";
    const all = new Set([].concat.apply([], group.members.map((p) => p.threshold)));
    const thresholds = Array.from(all).sort((a, b) => a - b);
    let high = 0;  // the highest cell at any threshold
    thresholds.forEach((u) => classCells(group, u, multiLabel).forEach((c) => {
      if (c.weight > high) high = c.weight;
    }));
    const select = ctx.el("select", {class: "eb-class-threshold", "aria-label": "threshold"},
      ...thresholds.map((u, i) => ctx.el("option", {value: String(i)}, exact(u))));
    const stored = Math.max(...group.members.map((p) => p.thresholds_stored || 0));
    if (thresholds.length > 1) {
      section.appendChild(ctx.el("div", {class: "row"}, ctx.el("label", {}, "threshold"), select,
        stored > thresholds.length ? ctx.el("span", {class: "note"}, thresholds.length +
                                            " of the " + stored + " stored thresholds") : ""));
    }
    const box = chartBox(ctx, multiLabel ? "multi-label" : "multi-class");
    section.appendChild(box);
    const view = embed(ctx, box, classMatrixSpec(
      group, ctx, classCells(group, thresholds[0], multiLabel), multiLabel, high));
    select.addEventListener("change", () => {
      const t = thresholds[Number(select.value)];
      view.then((v) => v && v.data("cells", classCells(group, t, multiLabel)).runAsync());
    });
    return view;
  }

  // ---- the slice's plots ----------------------------------------------------------------

  const DRAW = {
    confusion_matrix_at_thresholds: drawMatrices,
    calibration_histogram_buckets: drawCalibration,
    gain_curve: drawGain,
    lift_curve: drawLift,
    score_distribution: drawScoreDistribution,
    predicted_vs_true: drawPredictedVsTrue,
    residual_histogram: drawResiduals,
    multi_class_confusion_matrix_at_thresholds: drawClassMatrix,
    multi_label_confusion_matrix_at_thresholds: drawClassMatrix,
  };

  // the models in drawing order: the candidate, the baseline, then the others as listed
  function modelOrder(plots, opts) {
    const names = [];
    [opts.candidate, opts.baseline].concat(plots.map((p) => p.model)).forEach((m) => {
      if (m !== null && m !== undefined && plots.some((p) => p.model === m)
          && names.indexOf(m) < 0) names.push(m);
    });
    return names;
  }

  // plots that go on one chart: same kind, name, output, sub key and weighting
  function groupPlots(plots, order) {
    const groups = new Map();
    plots.forEach((p) => {
      const key = JSON.stringify([p.kind, p.name, p.output, p.sub_key, p.weighted]);
      if (!groups.has(key)) groups.set(key, {kind: p.kind, weighted: p.weighted, members: []});
      groups.get(key).members.push(p);
    });
    const rank = (p) => order.indexOf(p.model);
    groups.forEach((g) => g.members.sort((a, b) => rank(a) - rank(b)));
    return Array.from(groups.values());
  }

  function describe(p) {
    const parts = [p.model, p.weighted ? "weighted" : "unweighted"].filter((s) => s);
    return (TITLES[p.kind] || p.kind) + " " + plotName(p) + " (" + parts.join(", ") + ")";
  }

  function render(root, plots, opts) {
    (root.ebPlotViews || []).forEach((v) => v.finalize());
    root.textContent = "";
    const drawable = plots.filter((p) => !p.not_drawn && DRAW[p.kind]);
    const order = modelOrder(drawable, opts);
    const ctx = {el: opts.el, vegaEmbed: opts.vegaEmbed, models: order.map(modelLabel),
                 counter: 0, views: [], pending: []};
    root.ebPlotViews = ctx.views;
    const charts = ctx.el("div", {class: "eb-plots", style: "display:flex;flex-wrap:wrap;" +
                                  "gap:10px 32px;align-items:flex-start"});
    root.appendChild(charts);
    groupPlots(drawable, order).forEach((group) => {
      const section = ctx.el("section", {class: "eb-plot", "data-kind": group.kind});
      charts.appendChild(section);
      DRAW[group.kind](section, group, ctx);
    });
    plots.filter((p) => p.not_drawn || !DRAW[p.kind]).forEach((p) => {
      const reason = p.not_drawn || "this page does not draw plots of kind " + p.kind;
      root.appendChild(ctx.el("p", {class: "note eb-plot-not-drawn"},
                              "plot " + describe(p) + ": not drawn (" + reason + ")"));
    });
    root.ebPlotsDrawn = Promise.all(ctx.pending);  // for tests: every chart embedded
  }

  window.EB_PLOTS = {render: render};
})();

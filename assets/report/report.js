// The report's layout: reads the JSON that stampede embedded and draws it
// with uPlot. No network, no storage, no clock: the page is the same
// wherever and whenever it is opened.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var app = document.getElementById("app");

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function section(id, title) {
    var s = el("section", { id: id }, [el("h2", { text: title })]);
    app.appendChild(s);
    return s;
  }
  function ms(v) {
    if (v == null || isNaN(v)) return "-";
    return v >= 10000 ? (v / 1000).toFixed(1) + " s" : Math.round(v) + " ms";
  }
  function metricName(m) { return typeof m === "string" ? m : JSON.stringify(m); }
  function fmt(metric, v) {
    if (v == null) return "-";
    switch (metricName(metric)) {
      case "error_rate": return (v * 100).toFixed(2) + "%";
      case "throughput": return v.toFixed(1) + "/s";
      case "count": case "errors": return String(v);
      case "mean": return v.toFixed(1) + " ms";
      default: return ms(v);
    }
  }
  function change(metric, c) {
    if (c == null) return "-";
    if (!isFinite(c)) return "+inf";
    if (metricName(metric) === "error_rate") return (c >= 0 ? "+" : "") + (c * 100).toFixed(2) + "pt";
    return (c >= 0 ? "+" : "") + (c * 100).toFixed(1) + "%";
  }
  // The gate's 95% intervals: {baseline: {lo, hi}, current: {lo, hi}}.
  function noiseText(metric, n) {
    if (!n) return "-";
    if (typeof n === "string") return n;
    var part = function (name, i) { return i ? name + " " + fmt(metric, i.lo) + ".." + fmt(metric, i.hi) : ""; };
    return [part("baseline", n.baseline), part("current", n.current)].filter(Boolean).join(", ") || "-";
  }
  function utc(tMs) { return new Date(tMs).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"); }
  function table(head, rows, cls) {
    var t = el("table", { cls: cls || "" });
    t.appendChild(el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))]));
    var b = el("tbody");
    rows.forEach(function (r) { b.appendChild(r); });
    t.appendChild(b);
    return t;
  }
  function row(cells, attrs) {
    return el("tr", attrs, cells.map(function (c) {
      return typeof c === "object" ? c : el("td", { text: String(c) });
    }));
  }

  // 1. Verdict and gate.
  app.appendChild(el("h1", { text: "stampede: " + D.title }));
  var verdict = D.verdict || "none";
  // A run that did not run its course says how it ended, never PASS.
  app.appendChild(el("div", { id: "verdict", cls: "verdict v-" + (D.ended ? "fail" : verdict),
    "data-verdict": verdict,
    text: D.ended ? D.ended.toUpperCase() : D.verdict ? D.verdict.toUpperCase() : "NO GATE" }));
  var gate = section("gate", "Gate");
  if (D.gate.length) {
    gate.appendChild(table(["criterion", "label", "value", "baseline", "change", "noise (95%)", "verdict", "note"],
      D.gate.map(function (c) {
        var noise = noiseText(c.metric, c.noise);
        return row([c.criterion, c.label, fmt(c.metric, c.current), fmt(c.metric, c.baseline),
          change(c.metric, c.change), noise,
          el("td", { cls: "v-" + c.verdict, text: String(c.verdict).toUpperCase() }), c.note],
          { "data-verdict": c.verdict, "data-label": c.label, "data-criterion": c.criterion });
      }), "gate"));
  } else {
    gate.appendChild(el("p", { text: "No gate was configured for this run." }));
  }

  // 2. Facts.
  var facts = section("facts", "Run");
  var dl = el("dl");
  D.facts.forEach(function (f) {
    dl.appendChild(el("dt", { text: f[0] }));
    dl.appendChild(el("dd", { text: f[1] }));
  });
  facts.appendChild(dl);

  // 3. Charts on one time axis (seconds, UTC).
  var charts = section("charts", "Over time");
  var S = D.series;
  var markers = D.markers;
  var times = [];
  if (S) {
    var n = S.labels.total.count.length;
    for (var i = 0; i < n; i++) times.push((S.start_ms + i * S.interval_ms) / 1000);
  }
  var lo = Infinity, hi = -Infinity;
  function span(t) { if (t < lo) lo = t; if (t > hi) hi = t; }
  times.forEach(span);
  if (S && times.length) span(times[times.length - 1] + S.interval_ms / 1000);
  markers.forEach(function (m) { span(m.t / 1000); if (m.end) span(m.end / 1000); });
  D.monitor.forEach(function (c) { c.t.forEach(function (t) { span(t / 1000); }); });
  var width = Math.max(600, Math.min(1400, document.documentElement.clientWidth - 48));
  var plots = [];
  var syncing = false;
  var cursorSync = uPlot.sync("stampede");
  if (markers.length) {
    charts.appendChild(el("ul", { id: "markers", cls: "markers" }, markers.map(function (m) {
      return el("li", { cls: "m-" + m.kind, "data-t": String(m.t), "data-kind": m.kind,
        text: utc(m.t) + "  " + m.kind + ": " + m.text });
    })));
  }
  // Pads x and every series with the shared range's ends, so each chart
  // opens (and resets on double-click) to the same window.
  function padded(x, ys) {
    var out = [[lo].concat(x, [hi])];
    ys.forEach(function (y) { out.push([null].concat(y, [null])); });
    return out;
  }
  function markerPlugin() {
    return {
      hooks: {
        draw: function (u) {
          var ctx = u.ctx, drawn = [], lastX = -1e9, rowN = 0;
          ctx.save();
          ctx.font = Math.round(10 * devicePixelRatio) + "px sans-serif";
          ctx.textAlign = "left";
          ctx.textBaseline = "alphabetic";
          markers.forEach(function (m) {
            var x = Math.round(u.valToPos(m.t / 1000, "x", true));
            if (x < u.bbox.left - 1 || x > u.bbox.left + u.bbox.width + 1) return;
            var color = m.kind === "phase" ? "#5b6ee1" : "#e08a00";
            if (m.end) {
              var x2 = u.valToPos(m.end / 1000, "x", true);
              ctx.fillStyle = color + "22";
              ctx.fillRect(x, u.bbox.top, Math.max(1, x2 - x), u.bbox.height);
            }
            ctx.strokeStyle = color;
            ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillStyle = color;
            // Labels of markers close together go on the next row.
            rowN = x - lastX < 70 * devicePixelRatio ? (rowN + 1) % 4 : 0;
            lastX = x;
            ctx.fillText(m.text, x + 3 * devicePixelRatio, u.bbox.top + (11 + 11 * rowN) * devicePixelRatio);
            drawn.push(m.t + "@" + Math.round(x / devicePixelRatio));
          });
          ctx.restore();
          u.root.parentNode.setAttribute("data-markers", drawn.join(","));
        },
        setScale: function (u, key) {
          if (key !== "x" || syncing) return;
          syncing = true;
          var min = u.scales.x.min, max = u.scales.x.max;
          plots.forEach(function (p) { if (p !== u) p.setScale("x", { min: min, max: max }); });
          syncing = false;
        }
      }
    };
  }
  // 24-hour UTC clock times; the date is in the run's facts.
  var timeAxis = { values: function (u, v) { return v.map(function (t) { return new Date(t * 1000).toISOString().slice(11, 19); }); } };
  function fromZero(u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; }
  function chart(name, title, series, data, extra, yLabel) {
    var box = el("div", { cls: "chart", "data-chart": name, "data-series": String(series.length),
      "data-points": String(data[0].length - 2) });
    box.appendChild(el("h3", { text: title }));
    charts.appendChild(box);
    var opts = {
      width: width, height: 240,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      cursor: { sync: { key: cursorSync.key }, drag: { x: true, y: false } },
      scales: { x: { time: true } },
      series: [{ label: "time (UTC)", value: function (u, v) { return v == null ? "-" : utc(v * 1000); } }].concat(series),
      axes: [timeAxis, { size: 64, label: yLabel }],
      // Same left axis and right gutter everywhere: one time maps to the
      // same column in every chart.
      padding: [12, 64, 0, 0],
      plugins: [markerPlugin()]
    };
    for (var k in extra || {}) opts[k] = extra[k];
    var u = new uPlot(opts, data, box);
    plots.push(u);
    return u;
  }
  function line(label, color, scale) {
    return { label: label, stroke: color, width: 1.5, scale: scale || "y", spanGaps: false,
      value: function (u, v) { return v == null ? "-" : v.toFixed(scale === "ms" ? 0 : 1); } };
  }
  if (S && times.length) {
    var perSec = 1000 / S.interval_ms;
    var tot = S.labels.total;
    chart("throughput", "Throughput and errors per second (interval " + S.interval_ms / 1000 + " s)",
      [line("samples/s", "#2a7ab9"), line("errors/s", "#d62728", "err")],
      padded(times, [tot.count.map(function (c) { return c * perSec; }),
        tot.errors.map(function (c) { return c * perSec; })]),
      { padding: [12, 0, 0, 0],
        scales: { x: { time: true }, y: { range: fromZero }, err: { range: fromZero } },
        axes: [timeAxis, { size: 64, label: "samples/s" },
          { scale: "err", side: 1, size: 64, grid: { show: false }, stroke: "#d62728" }] });
    var names = Object.keys(S.labels);
    var select = el("select", { id: "latency-label" }, names.map(function (nm) {
      return el("option", { value: nm, text: nm });
    }));
    select.value = "total";
    var pick = el("label", { cls: "pick", text: "label: " }, [select]);
    charts.appendChild(pick);
    var msAxis = { scale: "ms", size: 64, label: "response time", values: function (u, v) { return v.map(function (x) { return ms(x); }); } };
    function latencyData(nm) {
      var l = S.labels[nm];
      return padded(times, [l.p50, l.p95, l.p99]);
    }
    var lat = chart("latency", "Response time percentiles",
      [line("p50", "#2ca02c", "ms"), line("p95", "#ff7f0e", "ms"), line("p99", "#d62728", "ms")],
      latencyData("total"), { axes: [timeAxis, msAxis] });
    select.addEventListener("change", function () {
      lat.setData(latencyData(select.value), false);
      lat.root.parentNode.setAttribute("data-label", select.value);
    });
    lat.root.parentNode.setAttribute("data-label", "total");
    // report.html#label=NAME opens with that label chosen (a link to share).
    var wanted = /^#label=(.*)$/.exec(location.hash);
    if (wanted && S.labels[decodeURIComponent(wanted[1])]) {
      select.value = decodeURIComponent(wanted[1]);
      select.dispatchEvent(new Event("change"));
    }
    if (S.threads) {
      chart("threads", "Active threads", [line("threads", "#9467bd")], padded(times, [S.threads]), null, "threads");
    } else {
      charts.appendChild(el("p", { cls: "note", id: "no-threads",
        text: "Active threads: the result files have no allThreads column." }));
    }
  } else {
    charts.appendChild(el("p", { text: "No samples: nothing to chart." }));
  }
  D.monitor.forEach(function (c, i) {
    var colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
    chart("monitor-" + i, c.title + (c.unit ? " [" + c.unit + "]" : ""),
      c.names.map(function (nm, j) { return line(nm, colors[j % colors.length]); }),
      padded(c.t.map(function (t) { return t / 1000; }), c.values), null, c.unit || c.title);
  });

  // 4. The percentile curve against the baseline's, on a log axis.
  if (D.curve) {
    var cs = section("distribution", "Response time by percentile");
    var box = el("div", { cls: "chart", "data-chart": "percentiles",
      "data-series": String(D.curve.baseline ? 2 : 1), "data-points": String(D.curve.q.length) });
    cs.appendChild(box);
    var x = D.curve.q.map(function (q) { return 100 / (100 - q); });
    var cdata = [x, D.curve.current];
    var cseries = [{ label: "percentile", value: function (u, v) { return v == null ? "-" : (100 - 100 / v).toPrecision(6) + "%"; } },
      line("this run", "#2a7ab9", "ms")];
    if (D.curve.baseline) { cdata.push(D.curve.baseline); cseries.push(line("baseline", "#999999", "ms")); }
    new uPlot({
      width: width, height: 300,
      // Log on both axes: a 2 ms median and a 2 s tail both stay readable.
      scales: { x: { time: false, distr: 3, range: [1, 1e5] }, ms: { distr: 3 } },
      series: cseries,
      axes: [{ splits: function () { return [1, 10, 100, 1000, 10000, 100000]; },
        values: function (u, v) { return v.map(function (x) { return x == null ? "" : (100 - 100 / x).toFixed(Math.max(0, Math.round(Math.log10(x)) - 2)) + "%"; }); } },
        { scale: "ms", size: 64, values: function (u, v) { return v.map(function (x) { return ms(x); }); } }]
    }, cdata, box);
  }

  // 5. Per label, with the baseline's deltas.
  var ls = D.labels.length ? section("labels", "Per label") : el("section");
  var hasBase = D.labels.some(function (l) { return l.base; });
  function cell(metric, cur, base, key) {
    var td = el("td", { text: fmt(metric, cur[key]) });
    if (base && base[key] != null) {
      var c = metric === "error_rate" ? cur[key] - base[key] : (base[key] === 0 ? null : (cur[key] - base[key]) / base[key]);
      var worse = metric === "throughput" ? c < 0 : c > 0;
      var tone = !c ? "" : (worse ? " worse" : " better");
      td.appendChild(el("span", { cls: "delta" + tone, text: " " + change(metric, c) }));
    }
    return td;
  }
  ls.appendChild(table(["label", "samples", "errors", "error rate", "mean", "p50", "p90", "p95", "p99", "max", "throughput"],
    D.labels.map(function (l) {
      var c = l.cur, b = l.base;
      return row([c.transaction ? c.label + " (transaction)" : c.label, String(c.count), String(c.errors), cell("error_rate", c, b, "error_rate"),
        cell("mean", c, b, "mean"), cell("p50", c, b, "p50"), cell("p90", c, b, "p90"), cell("p95", c, b, "p95"),
        cell("p99", c, b, "p99"), cell("max", c, b, "max"), cell("throughput", c, b, "throughput")],
        { "data-label": c.label });
    }), "labels"));
  if (hasBase) ls.appendChild(el("p", { cls: "note", text: "Small figures: change against the baseline." }));
  if (D.labels.some(function (l) { return l.cur.transaction; }))
    ls.appendChild(el("p", { cls: "note", text: "Transactions are not in total: their samplers are, as in JMeter's dashboard." }));

  // 6. The stack's events.
  if (D.stack_events.length) {
    var ss = section("stack-events", "Stack events");
    ss.appendChild(table(["time", "stack", "resource", "type", "status", "reason"],
      D.stack_events.map(function (e) {
        return row([e.time, e.stack_name, e.logical_id, e.resource_type, e.status,
          (e.root_cause ? "ROOT CAUSE: " : "") + (e.reason || "")],
          { cls: e.root_cause ? "root-cause" : (/_FAILED$/.test(e.status) ? "failed" : "") });
      }), "events"));
  }
  document.body.setAttribute("data-ready", "1");
})();

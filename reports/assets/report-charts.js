// Runs in the browser, inlined into the report after Chart.js. Turns the chart specs that
// reports/charts.ts computed (embedded as JSON) into Chart.js charts. No network, no animation
// (a report is read and printed, not watched), crisp at print resolution.
/* global Chart */
(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('vnb-charts').textContent);
  var css = getComputedStyle(document.body);

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.devicePixelRatio = Math.max(window.devicePixelRatio || 1, 2);
  Chart.defaults.font.family = css.fontFamily;
  Chart.defaults.font.size = 11;
  Chart.defaults.color = '#333';
  Chart.defaults.borderColor = '#e3e6ea';

  var nf = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
  var nfBig = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  function fmt(v) {
    if (v === null || v === undefined || isNaN(v)) return '–';
    return Math.abs(v) >= 1000 ? nfBig.format(v) : nf.format(v);
  }

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + ((n >> 16) & 255) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  // Confidence-interval whiskers over non-stacked bars (the line charts get a shaded band).
  var whiskers = {
    id: 'vnbWhiskers',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      chart.data.datasets.forEach(function (ds, i) {
        if (!ds.vnbCi || ds.type === 'line' || chart.config.type !== 'bar' || !chart.isDatasetVisible(i)) return;
        var meta = chart.getDatasetMeta(i);
        var scale = chart.scales[meta.vAxisID];
        meta.data.forEach(function (bar, j) {
          var ci = ds.vnbCi[j];
          if (!ci) return;
          var lo = scale.getPixelForValue(ci[0]);
          var hi = scale.getPixelForValue(ci[1]);
          var half = Math.min(6, bar.width / 3);
          ctx.save();
          ctx.strokeStyle = '#222';
          ctx.lineWidth = 1;
          ctx.beginPath();
          ctx.moveTo(bar.x, lo); ctx.lineTo(bar.x, hi);
          ctx.moveTo(bar.x - half, lo); ctx.lineTo(bar.x + half, lo);
          ctx.moveTo(bar.x - half, hi); ctx.lineTo(bar.x + half, hi);
          ctx.stroke();
          ctx.restore();
        });
      });
    },
  };

  // Reference lines (compare: no change and the ±threshold band).
  var marks = {
    id: 'vnbMarks',
    afterDatasetsDraw: function (chart) {
      var m = chart.config.options.vnbMarks;
      if (!m) return;
      var horizontal = chart.config.options.indexAxis === 'y';
      var scale = horizontal ? chart.scales.x : chart.scales.y;
      var area = chart.chartArea;
      var ctx = chart.ctx;
      m.forEach(function (mark) {
        var p = scale.getPixelForValue(mark.value);
        ctx.save();
        ctx.strokeStyle = mark.color;
        ctx.setLineDash(mark.value === 0 ? [] : [4, 3]);
        ctx.beginPath();
        if (horizontal) { ctx.moveTo(p, area.top); ctx.lineTo(p, area.bottom); }
        else { ctx.moveTo(area.left, p); ctx.lineTo(area.right, p); }
        ctx.stroke();
        ctx.restore();
      });
    },
  };

  function datasets(spec) {
    var out = [];
    var bands = [];
    spec.datasets.forEach(function (d) {
      var line = d.type === 'line' || (spec.kind === 'line' && d.type !== 'bar');
      var ds = {
        label: d.label,
        data: d.data,
        vnbRefs: d.refs,
        vnbCi: d.ci,
        backgroundColor: line ? d.color : alpha(d.color, 0.85),
        borderColor: d.color,
        borderWidth: line ? 2 : 0,
        pointRadius: line ? 3 : 0,
        spanGaps: true,
        maxBarThickness: 56,
      };
      if (d.type) ds.type = d.type;
      if (d.stack) ds.stack = d.stack;
      if (spec.overlap) { ds.grouped = false; ds.barPercentage = 0.6; }
      if (d.type === 'line') {
        // A marker per bar, not a trend: no connecting line.
        ds.showLine = false;
        ds.pointStyle = 'line';
        ds.pointRadius = 14;
        ds.pointBorderWidth = 3;
        ds.pointHoverRadius = 14;
        ds.order = -1;
      }
      out.push(ds);
      if (spec.kind === 'line' && d.ci && d.ci.some(Boolean)) {
        var hi = d.ci.map(function (c) { return c ? c[1] : null; });
        var lo = d.ci.map(function (c) { return c ? c[0] : null; });
        bands.push({ label: d.label + ' CI', data: hi, vnbBand: true, borderWidth: 0, pointRadius: 0, backgroundColor: alpha(d.color, 0.15), fill: '+1', spanGaps: true });
        bands.push({ label: d.label + ' CI low', data: lo, vnbBand: true, borderWidth: 0, pointRadius: 0, backgroundColor: 'transparent', fill: false, spanGaps: true });
      }
    });
    return out.concat(bands);
  }

  function tooltipLabel(spec) {
    return function (item) {
      var ds = item.dataset;
      var v = item.raw;
      var text = Array.isArray(v) ? fmt(v[0]) + ' … ' + fmt(v[1]) : fmt(v);
      var ci = ds.vnbCi && ds.vnbCi[item.dataIndex];
      var ref = ds.vnbRefs && ds.vnbRefs[item.dataIndex];
      var s = ds.label + ': ' + text + ' ' + spec.unit;
      if (ci) s += ' (CI ' + fmt(ci[0]) + '–' + fmt(ci[1]) + ', n=' + (ref && ref.n) + ')';
      return s;
    };
  }

  function config(spec) {
    var horizontal = Boolean(spec.horizontal);
    var valueTitle = horizontal ? spec.xTitle : spec.yTitle;
    var indexTitle = horizontal ? spec.yTitle : spec.xTitle;
    var valueAxis = { beginAtZero: true, stacked: Boolean(spec.stacked), title: { display: Boolean(valueTitle), text: valueTitle }, ticks: { callback: fmt } };
    var indexAxis = { stacked: Boolean(spec.stacked), title: { display: Boolean(indexTitle), text: indexTitle }, grid: { display: false } };
    if (spec.marks) {
      // Keep every reference line (0 and ±threshold) in view, whatever the data's range.
      var values = spec.marks.map(function (m) { return m.value; });
      valueAxis.beginAtZero = false;
      valueAxis.suggestedMin = Math.min.apply(null, values) * 1.25;
      valueAxis.suggestedMax = Math.max.apply(null, values) * 1.25;
    }
    return {
      type: spec.kind,
      data: { labels: spec.labels, datasets: datasets(spec) },
      plugins: [whiskers, marks],
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        vnbMarks: spec.marks,
        interaction: { mode: 'nearest', intersect: false, axis: horizontal ? 'y' : 'x' },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 12, filter: function (i, data) { return !data.datasets[i.datasetIndex].vnbBand; } } },
          tooltip: { filter: function (i) { return !i.dataset.vnbBand; }, callbacks: { label: tooltipLabel(spec) } },
        },
        scales: horizontal ? { x: valueAxis, y: indexAxis } : { x: indexAxis, y: valueAxis },
      },
    };
  }

  var charts = [];
  specs.forEach(function (spec) {
    var canvas = document.getElementById(spec.id);
    if (canvas) charts.push(new Chart(canvas, config(spec)));
  });

  // Charts size themselves to their box; print boxes are A4-sized, so redraw on the way in and out.
  function resizeAll() { charts.forEach(function (c) { c.resize(); }); }
  window.addEventListener('beforeprint', resizeAll);
  window.addEventListener('afterprint', resizeAll);
  if (window.matchMedia) window.matchMedia('print').addEventListener('change', resizeAll);

  // Open every expandable block for printing, and restore afterwards.
  var opened = [];
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details.print-open:not([open])').forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener('afterprint', function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });

  window.vnbCharts = charts;
  window.vnbResize = resizeAll;
  window.vnbReady = true;
})();

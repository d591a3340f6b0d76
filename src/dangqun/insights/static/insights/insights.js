/* Draws each dashboard chart (ECharts, served locally) from the JSON beside it: the same rows as
   the table under the chart. No inline code (CSP); without JavaScript the tables remain. */
(function () {
  "use strict";
  var SYMBOLS = ["circle", "rect", "triangle", "diamond", "pin"];

  function option(data, elder) {
    var font = elder ? 18 : 12;
    var horizontal = data.kind === "hbar";
    var pct = data.series.every(function (s) { return s.pct; });
    var many = data.labels.length > 6;
    var category = {
      type: "category",
      data: data.labels,
      inverse: horizontal,
      axisLabel: {
        fontSize: font,
        interval: 0,
        width: horizontal ? (elder ? 150 : 120) : 90,
        overflow: "truncate",
        rotate: !horizontal && many ? 30 : 0
      }
    };
    var value = {
      type: "value",
      max: pct ? 100 : null,
      axisLabel: { fontSize: font, formatter: pct ? "{value}%" : "{value}" }
    };
    return {
      animation: false,
      aria: { enabled: true, label: { enabled: false }, decal: { show: true } },
      textStyle: { fontSize: font },
      tooltip: {
        trigger: "axis",
        textStyle: { fontSize: font },
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + (pct ? "%" : ""); }
      },
      legend: { show: data.series.length > 1, top: 0, textStyle: { fontSize: font } },
      grid: { left: 8, right: 24, bottom: 8, top: data.series.length > 1 ? 36 : 16, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: data.series.map(function (s, i) {
        return {
          name: s.name,
          type: data.kind === "line" ? "line" : "bar",
          data: s.data,
          symbol: SYMBOLS[i % SYMBOLS.length],
          symbolSize: elder ? 10 : 7,
          label: { show: !many || horizontal, position: horizontal ? "right" : "top", fontSize: font,
                   formatter: function (p) { return p.value === null ? "" : p.value + (s.pct ? "%" : ""); } }
        };
      })
    };
  }

  function drawAll() {
    if (!window.echarts) { return; }
    var elder = document.body.classList.contains("elder");
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) { return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(JSON.parse(source.textContent), elder));
      el.setAttribute("data-rendered", "1");
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();

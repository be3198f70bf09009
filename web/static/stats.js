// The statistics page's charts. Each chart's figure carries a table of the numbers the server
// computed (the monthly report's figures); this draws that table with Chart.js, so the chart
// and the table can never disagree. No inline script: the CSP allows only files like this one.
(function () {
  "use strict";
  if (!window.Chart) return;
  var Chart = window.Chart;
  var css = getComputedStyle(document.documentElement);
  Chart.defaults.font.family = css.fontFamily;
  Chart.defaults.color = "#1d2733";
  Chart.defaults.animation = false;   // the figures are read, not watched

  var seriesColor = { received: "#1f5fae", resolved: "#1e7b4a", unresolved: "#b3261e",
                      withdrawn: "#8a94a6", open: "#d08a00", overdue: "#c53030" };
  var keyColor = { blue: "#2b6cb0", yellow: "#d69e2e", orange: "#dd6b20", red: "#c53030" };
  var slices = ["#1f5fae", "#2f9e8f", "#e0a020", "#c53030", "#7a5cc0", "#5d6b7a", "#3fa34d",
                "#d0679d", "#8c6d1f", "#4a90c2"];
  var narrow = window.matchMedia("(max-width: 640px)").matches;

  function read(table) {
    var series = [].map.call(table.querySelectorAll("thead th[data-series]"), function (th) {
      return { key: th.getAttribute("data-series"), label: th.textContent };
    });
    var rows = [].map.call(table.querySelectorAll("tbody tr"), function (tr) {
      return {
        key: tr.getAttribute("data-key"),
        label: tr.querySelector("th").textContent,
        values: [].map.call(tr.querySelectorAll("td"), function (td) {
          return Number(td.getAttribute("data-v"));
        })
      };
    });
    return { series: series, rows: rows };
  }

  function draw(table) {
    var canvas = document.getElementById(table.getAttribute("data-chart"));
    if (!canvas) return;
    var kind = canvas.getAttribute("data-kind"), d = read(table);
    var round = kind === "doughnut";
    // a breakdown draws its rows that hold something (the table keeps every row); a timeline
    // and the units keep theirs, zeros too
    if (canvas.getAttribute("data-skip-zero") === "1")
      d.rows = d.rows.filter(function (r) { return r.values.some(function (v) { return v !== 0; }); });
    canvas.setAttribute("data-keys", JSON.stringify(d.rows.map(function (r) { return r.key; })));
    var datasets = d.series.map(function (s, i) {
      var ds = { label: s.label, data: d.rows.map(function (r) { return r.values[i]; }) };
      if (round) {
        ds.backgroundColor = d.rows.map(function (r, j) { return keyColor[r.key] || slices[j % slices.length]; });
        ds.borderColor = "#fff";
      } else {
        ds.backgroundColor = seriesColor[s.key] || slices[i % slices.length];
        ds.borderColor = ds.backgroundColor;
        if (kind === "line") { ds.cubicInterpolationMode = "monotone"; ds.pointRadius = 3; ds.fill = false; }
        else { ds.borderRadius = 3; ds.maxBarThickness = 28; }
      }
      return ds;
    });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
    };
    if (!round) {
      options.scales = {
        y: { beginAtZero: true, ticks: { precision: 0 } },
        x: { ticks: { autoSkip: true, maxRotation: narrow ? 60 : 0 } }
      };
      // many categories on a phone: bars along the screen, labels readable
      if (kind === "bar" && narrow && d.rows.length > 6) {
        options.indexAxis = "y";
        options.scales = { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } };
        canvas.parentNode.style.height = Math.max(260, d.rows.length * 34) + "px";
      }
    }
    new Chart(canvas, { type: kind, data: { labels: d.rows.map(function (r) { return r.label; }), datasets: datasets }, options: options });
    table.classList.add("drawn");
  }

  document.querySelectorAll("table.chart-data").forEach(draw);
})();

/* mouse-rsa report: sortable and filterable tables, CSV download of the rows shown, Vega-Lite charts
   (drawn offline by the vendored vega-embed) and the two-model comparison. No network. */
(function () {
  "use strict";
  var EMBED = { actions: { export: true, source: false, compiled: false, editor: false }, renderer: "svg" };

  function bodyRows(table) { return Array.prototype.slice.call(table.tBodies[0].rows); }

  function compare(a, b, numeric, descending) {
    if (a === "" && b === "") { return 0; }
    if (a === "") { return 1; }  // missing values sort last either way
    if (b === "") { return -1; }
    var order = numeric ? parseFloat(a) - parseFloat(b) : a.localeCompare(b, undefined, { numeric: true });
    return descending ? -order : order;
  }

  function sortBy(table, th, index) {
    var descending = th.getAttribute("aria-sort") === "ascending";
    table.querySelectorAll("thead th").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var numeric = th.classList.contains("num");
    var rows = bodyRows(table);
    rows.sort(function (r, s) {
      return compare(r.cells[index].dataset.sort, s.cells[index].dataset.sort, numeric, descending);
    });
    rows.forEach(function (row) { table.tBodies[0].appendChild(row); });
  }

  function updateCount(table) {
    var rows = bodyRows(table);
    var shown = rows.filter(function (row) { return !row.hidden; }).length;
    var count = table.closest("[data-table-block]").querySelector("[data-count]");
    count.textContent = shown === rows.length ? rows.length + " rows" : shown + " of " + rows.length + " rows shown";
  }

  function csvValue(value) {
    if (value === null || value === undefined) { return ""; }
    var text = String(value);
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function shownCsv(table) {
    var columns = JSON.parse(table.dataset.columns);
    var lines = [columns.map(csvValue).join(",")];
    bodyRows(table).forEach(function (row) {
      if (row.hidden) { return; }
      var record = JSON.parse(row.dataset.row);
      lines.push(columns.map(function (c) { return csvValue(record[c]); }).join(","));
    });
    return lines.join("\n") + "\n";
  }

  function download(name, text) {
    var url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function setUpTables() {
    document.querySelectorAll("table.data").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (th, index) {
        th.querySelector("button.sort").addEventListener("click", function () { sortBy(table, th, index); });
      });
      var block = table.closest("[data-table-block]");
      block.querySelector("button.download").addEventListener("click", function (event) {
        download(event.currentTarget.dataset.download, shownCsv(table));
      });
    });
    window.mouseRsaCsv = shownCsv;  // what the download button writes, for scripts and tests
  }

  function setUpFilters() {
    var form = document.querySelector("form[data-filters]");
    if (!form) { return; }
    function apply() {
      var wanted = {};
      form.querySelectorAll("[data-filter]").forEach(function (select) {
        if (select.value) { wanted[select.dataset.filter] = select.value; }
      });
      var text = form.querySelector("[data-filter-text]").value.trim().toLowerCase();
      document.querySelectorAll("table[data-filterable]").forEach(function (table) {
        bodyRows(table).forEach(function (row) {
          var keep = Object.keys(wanted).every(function (key) { return row.dataset[key] === wanted[key]; });
          if (keep && text) { keep = String(JSON.parse(row.dataset.row).model).toLowerCase().indexOf(text) >= 0; }
          row.hidden = !keep;
        });
        updateCount(table);
      });
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  function embed(element, spec) {
    return vegaEmbed(element, spec, EMBED).catch(function (error) { console.error("chart failed: " + error); });
  }

  function setUpCharts() {
    document.querySelectorAll("div.vega[data-spec]").forEach(function (element) {
      embed(element, JSON.parse(document.getElementById(element.dataset.spec).textContent));
    });
  }

  function comparisonSpecs(pairs, nameA, nameB, colors) {
    var config = { font: "Atkinson Hyperlegible, DejaVu Sans, sans-serif" };
    var color = { field: "area", type: "nominal", title: "visual area", scale: colors };
    var low = Math.min.apply(null, pairs.map(function (p) { return Math.min(p.a, p.b); }));
    var high = Math.max.apply(null, pairs.map(function (p) { return Math.max(p.a, p.b); }));
    var tooltip = [{ field: "site" }, { field: "a", title: nameA, format: ".3f" }, { field: "b", title: nameB, format: ".3f" },
                   { field: "difference", title: "A − B", format: ".3f" }];
    var scatter = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json", config: config, width: 320, height: 320,
      title: { text: "Score per site, A against B", subtitle: "line: A = B" },
      layer: [
        { data: { values: [{ x: low, y: low }, { x: high, y: high }] }, mark: { type: "line", color: "#777" },
          encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } },
        { data: { values: pairs }, mark: { type: "point", filled: true, size: 60 },
          encoding: { x: { field: "b", type: "quantitative", title: "B: " + nameB, scale: { zero: false } },
                      y: { field: "a", type: "quantitative", title: "A: " + nameA, scale: { zero: false } },
                      color: color, tooltip: tooltip } }]
    };
    var differences = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json", config: config, width: Math.max(320, 22 * pairs.length),
      height: 280, title: { text: "Paired difference per site", subtitle: "A − B; above 0: A scores higher" },
      data: { values: pairs },
      layer: [
        { mark: "bar", encoding: { x: { field: "site", type: "nominal", sort: null, title: "neural site", axis: { labelAngle: -45 } },
                                   y: { field: "difference", type: "quantitative", title: "score A − score B" },
                                   color: color, tooltip: tooltip } },
        { mark: { type: "rule", color: "#000" }, encoding: { y: { datum: 0 } } }]
    };
    return [scatter, differences];
  }

  function setUpComparison() {
    var form = document.querySelector("form[data-compare]");
    if (!form) { return; }
    var sites = JSON.parse(document.getElementById("compare-data").textContent);
    var colors = JSON.parse(form.dataset.areaColors);
    var scope = form.querySelector("[data-compare-scope]");
    var pickA = form.querySelector("[data-compare-a]");
    var pickB = form.querySelector("[data-compare-b]");
    var summary = document.querySelector("[data-compare-summary]");

    function fill() {
      var entries = [];
      sites.forEach(function (s) { if (s.scope === scope.value && entries.indexOf(s.entry) < 0) { entries.push(s.entry); } });
      [pickA, pickB].forEach(function (pick, i) {
        pick.innerHTML = "";
        entries.forEach(function (entry) { pick.add(new Option(entry, entry)); });
        pick.selectedIndex = Math.min(i, entries.length - 1);
      });
    }

    function draw() {
      var byEntry = function (entry) {
        var out = {};
        sites.forEach(function (s) { if (s.scope === scope.value && s.entry === entry) { out[s.site] = s; } });
        return out;
      };
      var a = byEntry(pickA.value), b = byEntry(pickB.value);
      var pairs = Object.keys(a).filter(function (site) { return site in b; }).map(function (site) {
        return { site: site, area: a[site].area, a: a[site].score, b: b[site].score, difference: a[site].score - b[site].score };
      });
      if (!pairs.length) {
        summary.textContent = "These two have no site in common.";
        return;
      }
      var mean = pairs.reduce(function (t, p) { return t + p.difference; }, 0) / pairs.length;
      var higher = pairs.filter(function (p) { return p.difference > 0; }).length;
      summary.textContent = "A − B: mean paired difference " + mean.toFixed(3) + " over " + pairs.length +
        " sites; A scores higher at " + higher + " of " + pairs.length + ".";
      var specs = comparisonSpecs(pairs, pickA.value, pickB.value, colors);
      embed("#compare-scatter", specs[0]);
      embed("#compare-diff", specs[1]);
    }

    scope.addEventListener("change", function () { fill(); draw(); });
    pickA.addEventListener("change", draw);
    pickB.addEventListener("change", draw);
    fill();
    draw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpTables();
    setUpFilters();
    setUpCharts();
    setUpComparison();
  });
}());

// fwbench tables: filters and sorting for every table.fwbench-filterable (the results view, the appendix index).
// Written for fwbench, no dependencies, served with the book, so it works offline; a table is complete without it.
// data-filter-columns names the columns that get a pick list; a cell's data-sort holds its raw value.
(function () {
  "use strict";
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.fwbench-filterable"), enhance);
  }
  function enhance(table) {
    if (table.dataset.ready) { return; }
    table.dataset.ready = "1";
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var bar = document.createElement("div");
    bar.className = "fwbench-filter-bar";
    var search = document.createElement("input");
    search.type = "search";
    search.placeholder = "filter: words that must all appear in a row";
    search.setAttribute("aria-label", "filter rows");
    bar.appendChild(search);
    var selects = [];
    (table.dataset.filterColumns || "").split(",").filter(Boolean).forEach(function (name) {
      var col = heads.findIndex(function (th) { return th.textContent === name; });
      if (col < 0) { return; }
      var values = {};
      rows.forEach(function (r) { values[r.cells[col].textContent] = true; });
      var select = document.createElement("select");
      select.setAttribute("aria-label", name);
      var all = document.createElement("option");
      all.value = "";
      all.textContent = "every " + name;
      select.appendChild(all);
      Object.keys(values).sort().forEach(function (v) {
        var o = document.createElement("option");
        o.value = v;
        o.textContent = v;
        select.appendChild(o);
      });
      selects.push({col: col, el: select});
      bar.appendChild(select);
    });
    var count = document.createElement("span");
    count.className = "fwbench-filter-count";
    bar.appendChild(count);
    table.parentNode.insertBefore(bar, table);

    function apply() {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (r) {
        var text = r.textContent.toLowerCase();
        var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) &&
          selects.every(function (s) { return !s.el.value || r.cells[s.col].textContent === s.el.value; });
        r.hidden = !ok;
        shown += ok ? 1 : 0;
      });
      count.textContent = shown + " of " + rows.length + " rows";
    }
    search.addEventListener("input", apply);
    selects.forEach(function (s) { s.el.addEventListener("change", apply); });

    heads.forEach(function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent;
      function sort() {
        var dir = th.dataset.dir === "asc" ? -1 : 1;
        heads.forEach(function (h) { delete h.dataset.dir; });
        th.dataset.dir = dir === 1 ? "asc" : "desc";
        function key(r) {
          var c = r.cells[col];
          var raw = c.dataset.sort !== undefined ? c.dataset.sort : c.textContent;
          var n = parseFloat(raw);
          return isNaN(n) || String(n) !== String(parseFloat(raw)) ? raw : n;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (typeof x === "number" && typeof y === "number") { return dir * (x - y); }
          return dir * String(x).localeCompare(String(y));
        });
        var body = table.tBodies[0];
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
    apply();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());

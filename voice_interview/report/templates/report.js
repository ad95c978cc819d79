"use strict";
(function () {
  // Click a transcript word, an evidence time or a point on a chart: the answer plays from there.
  function seek(audioId, t) {
    var audio = document.getElementById(audioId);
    if (!audio || !isFinite(t)) return;
    audio.currentTime = Math.max(0, t);
    var playing = audio.play();
    if (playing && playing.catch) playing.catch(function () { /* autoplay refused: seeked only */ });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var el = target.closest("[data-t]");
    if (el) {
      var holder = el.closest("[data-audio]");
      if (holder) seek(holder.getAttribute("data-audio"), parseFloat(el.getAttribute("data-t")));
      return;
    }
    var chart = target.closest("svg.chart[data-audio]");
    if (chart && event instanceof MouseEvent) {
      var box = chart.getBoundingClientRect();
      var view = chart.viewBox.baseVal;
      var x = (event.clientX - box.left) * view.width / box.width;
      var x0 = parseFloat(chart.getAttribute("data-x0"));
      var x1 = parseFloat(chart.getAttribute("data-x1"));
      var duration = parseFloat(chart.getAttribute("data-duration"));
      if (x >= x0 && x <= x1) seek(chart.getAttribute("data-audio"), (x - x0) / (x1 - x0) * duration);
    }
  });

  // While an answer plays, the word being spoken is highlighted.
  document.querySelectorAll(".transcript[data-audio]").forEach(function (holder) {
    var audio = document.getElementById(holder.getAttribute("data-audio"));
    if (!audio) return;
    var words = Array.prototype.slice.call(holder.querySelectorAll(".w[data-t]"));
    var times = words.map(function (w) { return parseFloat(w.getAttribute("data-t")); });
    var current = null;
    audio.addEventListener("timeupdate", function () {
      var t = audio.currentTime, lo = 0, hi = times.length - 1, found = -1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (times[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
      }
      var next = found >= 0 ? words[found] : null;
      if (next === current) return;
      if (current) current.classList.remove("now");
      if (next) next.classList.add("now");
      current = next;
    });
  });

  // Sortable tables: click a header; numbers sort as numbers, empty cells last.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.querySelectorAll("th");
    headers.forEach(function (th, column) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(row) {
          var cell = row.cells[column];
          var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
          if (!numeric) return raw.toLowerCase();
          return raw === "" ? null : parseFloat(raw);
        }
        rows.sort(function (a, b) {
          var ka = key(a), kb = key(b);
          if (ka === kb) return 0;
          if (ka === null) return 1;
          if (kb === null) return -1;
          return (ka < kb ? -1 : 1) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();

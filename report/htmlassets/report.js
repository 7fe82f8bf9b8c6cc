// smtpscope HTML report: sorts the sessions table by a clicked header and
// filters it by the words typed. Without this script the page shows the
// same content, the table in session order.
(function () {
  "use strict";
  var table = document.getElementById("table");
  if (!table || !table.tBodies.length) {
    return;
  }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var heads = table.tHead.rows[0].cells;
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var texts = null; // each row's text, lower-cased, made on first use

  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    var v = cell.getAttribute("data-v");
    if (v === null) {
      v = cell.textContent;
    }
    if (numeric) {
      var n = parseFloat(v);
      return isNaN(n) ? -Infinity : n;
    }
    return v.toLowerCase();
  }

  function sortBy(th, col, numeric) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    for (var i = 0; i < heads.length; i++) {
      heads[i].removeAttribute("aria-sort");
    }
    th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    var keyed = rows.map(function (row, i) {
      return { row: row, key: cellKey(row, col, numeric), i: i };
    });
    keyed.sort(function (a, b) {
      var c = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return c * dir || a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) {
      frag.appendChild(k.row);
    });
    body.appendChild(frag);
  }

  Array.prototype.forEach.call(heads, function (th, col) {
    var type = th.getAttribute("data-sort");
    if (!type) {
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    while (th.firstChild) {
      button.appendChild(th.firstChild);
    }
    th.appendChild(button);
    button.addEventListener("click", function () {
      sortBy(th, col, type === "num");
    });
  });

  function count(n) {
    return n === 1 ? "1 session" : n.toLocaleString("en") + " sessions";
  }

  function applyFilter() {
    if (texts === null) {
      // A row's text and its tooltips: the whole outcome, a name cut short.
      texts = rows.map(function (row) {
        var t = row.textContent;
        row.querySelectorAll("[title]").forEach(function (e) {
          t += " " + e.getAttribute("title");
        });
        return t.toLowerCase();
      });
    }
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    rows.forEach(function (row, i) {
      var match = words.every(function (w) {
        return texts[i].indexOf(w) >= 0;
      });
      row.hidden = !match;
      if (match) {
        n++;
      }
    });
    shown.textContent = words.length ? count(n) + " of " + rows.length.toLocaleString("en") + " shown" : count(rows.length);
  }

  filter.addEventListener("input", applyFilter);
  document.getElementById("tools").hidden = false;
  shown.textContent = count(rows.length);
})();

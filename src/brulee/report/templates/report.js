(function () {
  "use strict";
  // Progressive enhancement only: every service and location is in the page without this.
  var controls = document.getElementById("controls");
  var list = document.getElementById("service-list");
  var index = document.getElementById("index-body");
  if (!controls || !list || !index) {
    return;
  }
  var text = document.getElementById("filter-text");
  var severity = document.getElementById("filter-severity");
  var status = document.getElementById("filter-status");
  var sort = document.getElementById("sort");
  var shown = document.getElementById("shown");
  var cards = Array.prototype.slice.call(list.children);
  var rows = {};
  Array.prototype.forEach.call(index.children, function (row) {
    rows[row.getAttribute("data-key")] = row;
  });
  var haystack = null;

  function filter() {
    var q = text.value.trim().toLowerCase();
    if (q && haystack === null) {
      haystack = cards.map(function (card) { return card.textContent.toLowerCase(); });
    }
    var count = 0;
    cards.forEach(function (card, i) {
      var d = card.dataset;
      var ok = (!q || haystack[i].indexOf(q) !== -1) &&
        (!severity.value || d.severities.split(" ").indexOf(severity.value) !== -1) &&
        (!status.value || d.status === status.value);
      card.hidden = !ok;
      rows[d.key].hidden = !ok;
      count += ok ? 1 : 0;
    });
    shown.textContent = count + " of " + cards.length + " services shown";
  }

  var keys = {
    urgency: function (d) { return [+d.order]; },
    kev: function (d) { return [-d.kev, -d.possibleKev, +d.order]; },
    severity: function (d) { return [-d.score, -d.possibleScore, +d.order]; },
    name: function (d) { return [d.label, +d.order]; },
    vulnerabilities: function (d) { return [-d.vulns, +d.order]; },
    locations: function (d) { return [-d.locations, +d.order]; }
  };

  function compare(a, b) {
    for (var i = 0; i < a.key.length; i += 1) {
      if (a.key[i] < b.key[i]) { return -1; }
      if (a.key[i] > b.key[i]) { return 1; }
    }
    return 0;
  }

  function order() {
    var key = keys[sort.value] || keys.urgency;
    cards.map(function (card) { return { card: card, key: key(card.dataset) }; })
      .sort(compare)
      .forEach(function (entry) {
        list.appendChild(entry.card);
        index.appendChild(rows[entry.card.dataset.key]);
      });
  }

  text.addEventListener("input", filter);
  severity.addEventListener("change", filter);
  status.addEventListener("change", filter);
  sort.addEventListener("change", order);
  controls.hidden = false;
  filter();
}());

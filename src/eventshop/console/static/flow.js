// The event flow's figures, fetched again every few seconds from /flow.json: each element with a
// data-figure id takes its new text, in red when busy. Without scripts the page reloads itself instead.
(function () {
  "use strict";
  var flow = document.querySelector("[data-refresh]");
  if (!flow) return;
  var every = 1000 * Number(flow.getAttribute("data-every") || 5);

  function show(figures) {
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      var figure = figures[element.getAttribute("data-figure")];
      if (!figure) return;
      element.textContent = figure.text;
      element.classList.toggle("busy", figure.busy);
    });
  }

  function refresh() {
    fetch(flow.getAttribute("data-refresh"), {headers: {Accept: "application/json"}, redirect: "manual"})
      .then(function (answer) {
        if (answer.type === "opaqueredirect") { window.location.reload(); return null; }  // signed out
        return answer.ok ? answer.json() : null;
      })
      .then(function (found) { if (found) show(found.figures); })
      .catch(function () { /* the next refresh tries again */ })
      .finally(function () { window.setTimeout(refresh, every); });
  }

  window.setTimeout(refresh, every);
})();

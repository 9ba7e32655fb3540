// Progress bar widths come from data-percent: the CSP forbids inline style attributes.
// Runs on the first page load and on every fragment htmx swaps in while polling.
(function () {
  function setWidths(root) {
    var bars = Array.prototype.slice.call(root.querySelectorAll("[data-percent]"));
    if (root.matches && root.matches("[data-percent]")) bars.push(root);
    bars.forEach(function (bar) {
      bar.style.width = bar.dataset.percent + "%";
    });
  }
  document.addEventListener("htmx:load", function (event) {
    setWidths(event.detail.elt);
  });
  setWidths(document);
})();

// Bar widths come from data-pct, because the CSP forbids inline style attributes.
document.querySelectorAll("[data-pct]").forEach(function (bar) {
  bar.style.width = bar.dataset.pct + "%";
});

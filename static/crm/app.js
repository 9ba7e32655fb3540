// Keyboard: "/" focuses the global search, Escape closes its dropdown.
document.addEventListener("keydown", function (event) {
  const search = document.getElementById("global-search");
  if (!search) return;
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (event.key === "/" && !typing) {
    event.preventDefault();
    search.focus();
  } else if (event.key === "Escape" && document.activeElement === search) {
    document.getElementById("search-results").innerHTML = "";
    search.blur();
  }
});

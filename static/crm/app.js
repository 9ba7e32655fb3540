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

// Enter in a search box inside a form (data-no-submit: the customer pickers' searches)
// searches; it must not submit the surrounding form.
document.addEventListener("keydown", function (event) {
  if (event.key === "Enter" && event.target instanceof Element && event.target.matches("[data-no-submit]")) {
    event.preventDefault();
  }
});

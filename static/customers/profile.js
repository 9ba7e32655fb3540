// The customer form: show only the fields of the chosen kind (company or person).
// Hidden fields are disabled too, so they are not sent; the server checks the same rule.
(function () {
  const kind = document.querySelector("[data-customer-kind]");
  if (kind) {
    const toggle = function () {
      document.querySelectorAll("[data-kind-only]").forEach(function (block) {
        // A field with an error stays in sight, so the person can see what to fix.
        const hidden = block.dataset.kindOnly !== kind.value && !block.querySelector(".is-invalid");
        block.hidden = hidden;
        block.querySelectorAll("input, select, textarea").forEach(function (input) {
          input.disabled = hidden;
        });
      });
    };
    kind.addEventListener("change", toggle);
    toggle();
  }
})();

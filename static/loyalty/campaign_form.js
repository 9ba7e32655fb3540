// The campaign form: "Add a step" appends a copy of the steps formset's empty form and
// raises its TOTAL_FORMS, so the server reads the new row like the others.
(function () {
  const button = document.getElementById("add-step");
  const template = document.getElementById("step-template");
  const total = document.getElementById("id_steps-TOTAL_FORMS");
  const rows = document.getElementById("step-rows");
  if (!button || !template || !total || !rows) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    const added = rows.lastElementChild;
    added.querySelector(".step-number").textContent = String(rows.querySelectorAll(".step-row").length);
    total.value = String(index + 1);
    const first = added.querySelector("input:not([type=hidden]), textarea");
    if (first) first.focus();
  });
})();

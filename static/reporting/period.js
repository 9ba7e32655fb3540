// The period form: choosing a preset clears the custom dates and shows it at once;
// typing a date switches the preset to "Custom" (the server takes dates over a preset).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("period-form");
  if (!form) return;
  const preset = form.querySelector("[name=preset]");
  const dates = form.querySelectorAll("input[type=date]");
  preset.addEventListener("change", () => {
    dates.forEach((input) => { input.value = ""; });
    if (preset.value) form.requestSubmit();
  });
  dates.forEach((input) => input.addEventListener("change", () => { preset.value = ""; }));
});

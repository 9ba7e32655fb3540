// The deal pages. CSP: no inline scripts, so every behaviour is wired here.
(function () {
  // Board: drag a card onto another column to move it. The server applies the stage
  // rules; the answer moves the card (and redraws the column heads) or returns it with
  // the reason it cannot move. The arrow buttons on each card do the same without a mouse.
  let dragged = null;
  const columnOf = function (node) {
    return node && node.closest ? node.closest("[data-drop-stage]") : null;
  };
  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest ? event.target.closest("[data-move-url]") : null;
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });
  document.addEventListener("dragover", function (event) {
    const column = columnOf(event.target);
    if (dragged && column) {
      event.preventDefault();
      column.classList.add("board-drop");
    }
  });
  document.addEventListener("dragleave", function (event) {
    const column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("board-drop");
  });
  document.addEventListener("dragend", function () {
    document.querySelectorAll(".board-drop").forEach(function (column) {
      column.classList.remove("board-drop");
    });
    dragged = null;
  });
  document.addEventListener("drop", function (event) {
    const column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    column.classList.remove("board-drop");
    const card = dragged;
    dragged = null;
    if (column.dataset.dropStage === card.dataset.stage) return;
    const values = { to_stage: column.dataset.dropStage, from: "board" };
    const filters = document.getElementById("board-filters");
    if (filters) {
      new FormData(filters).forEach(function (value, key) {
        values[key] = value;
      });
    }
    htmx.ajax("POST", card.dataset.moveUrl, { source: card, target: "#" + card.id, swap: "outerHTML", values: values });
  });

  // Documents: the print button (the browser's print dialog also saves a PDF).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();

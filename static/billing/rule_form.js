// Rule version form: "Add row" copies the table's last row, emptied, so another pricing tier
// or benefit combination can be typed. Without JavaScript one empty row is always offered
// (save, and the form comes back with another).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-add-row]");
    if (!button) return;
    event.preventDefault();
    var body = document.querySelector(button.dataset.addRow + " tbody");
    if (!body || !body.rows.length) return;
    var row = body.rows[body.rows.length - 1].cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.removeAttribute("aria-invalid");
    });
    row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    row.classList.remove("row-error");
    body.appendChild(row);
    var first = row.querySelector("input");
    if (first) first.focus();
  });
})();

// Confirmation of consequential actions: a <form data-confirm="..."> asks first in a dialog
// that says what will happen. Without JavaScript the form posts as usual (the server still
// checks everything); with it, nothing is sent until the person confirms.
(function () {
  "use strict";
  var dialog = null;

  function ensureDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-title");
    dialog.innerHTML =
      '<form method="dialog">' +
      '<h2 id="confirm-title">Please confirm</h2>' +
      '<p class="confirm-text"></p>' +
      '<div class="actions">' +
      '<button value="cancel" class="secondary">Cancel</button> ' +
      '<button value="confirm" class="primary" autofocus>Confirm</button>' +
      "</div></form>";
    document.body.appendChild(dialog);
    return dialog;
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
      if (form.dataset.confirmed === "yes") {
        form.dataset.confirmed = "";
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      var submitter = event.submitter || null;
      var d = ensureDialog();
      d.querySelector(".confirm-text").textContent = form.dataset.confirm;
      d.querySelector("button[value=confirm]").textContent = form.dataset.confirmButton || "Confirm";
      d.returnValue = "";
      d.onclose = function () {
        if (d.returnValue !== "confirm") return;
        form.dataset.confirmed = "yes";
        if (form.requestSubmit) form.requestSubmit(submitter);
        else form.submit();
      };
      d.showModal();
    },
    true
  );
})();

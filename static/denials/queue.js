// The receivables queue's force-match dialogs: a button opens its <dialog> (the reason form),
// Cancel closes it. The form posts normally; the server checks the reason again.
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.dataset.openDialog);
    if (dialog && typeof dialog.showModal === "function") {
      dialog.showModal();
      var reason = dialog.querySelector("textarea, input[name=reason]");
      if (reason) reason.focus();
    }
    return;
  }
  var closer = event.target.closest("[data-close-dialog]");
  if (closer) {
    var open = closer.closest("dialog");
    if (open) open.close();
  }
});

// The Exceptions tab: "Resolve selected" names how many are ticked, in its button and in the
// confirmation (static/core/confirm.js reads data-confirm when the form is submitted). Without
// JavaScript the form posts the ticked ids as usual and the server reports per item.
(function () {
  "use strict";
  function setup() {
    var form = document.getElementById("bulk-select");
    if (!form) return;
    var button = document.getElementById("resolve-selected");
    var all = document.getElementById("select-all-exceptions");
    function picks() {
      return Array.prototype.slice.call(document.querySelectorAll('input.pick[form="bulk-select"]'));
    }
    function update() {
      var n = picks().filter(function (box) { return box.checked; }).length;
      var what = n + " selected exception" + (n === 1 ? "" : "s");
      form.dataset.confirm = "Resolve " + what + " of run " + form.dataset.run + " with this note";
      form.dataset.confirmButton = "Resolve " + n;
      button.textContent = n ? "Resolve " + what : "Resolve selected";
      button.disabled = n === 0;
    }
    document.addEventListener("change", function (event) {
      var target = event.target;
      if (target === all) {
        picks().forEach(function (box) { box.checked = all.checked; });
      }
      if (target === all || (target.classList && target.classList.contains("pick"))) update();
    });
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();

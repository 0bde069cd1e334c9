// The trigger form's confirmation text, kept in step with what is chosen: a production run asks
// "Bill 83,180 members of BLUEPEAK for 2026-11" (counts per payer come from the page, computed
// by the server). A simulation bills nothing and is not confirmed. Same text as the server's
// billing.views.forms.trigger_confirm_text.
(function () {
  "use strict";
  var form = document.getElementById("trigger-form");
  var data = document.getElementById("scope-counts");
  if (!form || !data) return;
  var counts = JSON.parse(data.textContent);

  function members(n) {
    return n.toLocaleString("en-US") + (n === 1 ? " member" : " members");
  }

  function update() {
    var mode = (form.querySelector("input[name=mode]:checked") || {}).value;
    var month = (form.querySelector("input[name=month]") || {}).value;
    var all = form.querySelector("input[name=all_payers]");
    var chosen = [];
    if (all && all.checked) {
      chosen = Object.keys(counts).sort();
    } else {
      form.querySelectorAll("input[name=payers]:checked").forEach(function (box) {
        var code = box.value.toUpperCase();
        if (code in counts) chosen.push(code);
      });
    }
    if (mode !== "PRODUCTION" || !month || chosen.length === 0) {
      delete form.dataset.confirm;
      return;
    }
    var total = chosen.reduce(function (sum, code) { return sum + counts[code]; }, 0);
    var who = all && all.checked ? "all active payers (" + chosen.join(", ") + ")" : chosen.join(", ");
    form.dataset.confirm = "Bill " + members(total) + " of " + who + " for " + month.slice(0, 7);
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();

// Confirmation texts of the wallet forms, kept in step with what is typed (core/confirm.js shows
// them): a top-up names the amount and the balance it leads to; a prepaid run names the accounts
// and the as-of day. The server checks everything again.
(function () {
  "use strict";
  function money(n) {
    return "$" + n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  var topup = document.getElementById("topup-form");
  if (topup) {
    var update = function () {
      var raw = (topup.querySelector("[name=amount]").value || "").replace(/[$,\s]/g, "");
      var amount = Number(raw);
      var ref = topup.querySelector("[name=reference]").value.trim();
      if (!raw || !isFinite(amount)) return;
      var after = Number(topup.dataset.balance) + amount;
      topup.dataset.confirm =
        "Credit " + money(amount) + " to the wallet of " + topup.dataset.account +
        " (balance " + money(Number(topup.dataset.balance)) + " → " + money(after) + ")" +
        (ref ? ", reference “" + ref + "”" : "") + "? A top-up cannot be undone.";
    };
    topup.addEventListener("input", update);
    update();
  }
  var trigger = document.getElementById("trigger-form");
  if (trigger) {
    var again = function () {
      var accounts = (trigger.querySelector("[name=accounts]").value || "").split(/[\s,;]+/).filter(Boolean);
      var asOf = trigger.querySelector("[name=as_of]").value || "the day chosen";
      var who = accounts.length ? (accounts.length === 1 ? "account " : "accounts ") + accounts.join(", ") : "every prepaid account in scope";
      trigger.dataset.confirm = "Rate and debit the wallets of " + who + " as of " + asOf + "? Debits are taken at once.";
    };
    trigger.addEventListener("input", again);
    trigger.addEventListener("change", again);
    again();
  }
})();

// The crisis panel's progressive enhancement (no build step):
// - a 110/120 button dials (tel:) as the form records the transfer on the ticket;
// - the refer form's urgency follows the service: crisis for crisis intervention on a crisis
//   ticket, normal for anything else (a 12348 legal-aid referral is not a 15-minute emergency),
//   until the seat picks an urgency by hand;
// - a link to #action-refer opens that form.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.dial-form[data-tel]"), function (form) {
      form.addEventListener("submit", function () {
        var dial = document.createElement("a");
        dial.href = form.getAttribute("data-tel");
        dial.style.display = "none";
        document.body.appendChild(dial);
        dial.click();
        dial.remove();
      });
    });
    var urgency = document.querySelector("select[name=urgency][data-crisis-for]");
    var service = document.querySelector("select[data-partners-url]");
    if (urgency && service) {
      var touched = false;
      urgency.addEventListener("change", function () { touched = true; });
      service.addEventListener("change", function () {
        if (!touched) urgency.value = service.value === urgency.getAttribute("data-crisis-for") ? "crisis" : "normal";
      });
    }
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.tagName === "DETAILS") target.open = true;
  });
})();

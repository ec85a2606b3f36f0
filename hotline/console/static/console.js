// The console's only script: the caller's earlier tickets appear while the seat types the number;
// the refer form's partner list follows the chosen service. Both work without it, a step slower.
(function () {
  "use strict";
  function debounce(fn, ms) {
    var timer;
    return function () { clearTimeout(timer); var args = arguments; timer = setTimeout(function () { fn.apply(null, args); }, ms); };
  }
  document.addEventListener("DOMContentLoaded", function () {
    var service = document.querySelector("select[data-partners-url]");
    if (service) {
      var partner = document.getElementById(service.getAttribute("data-partners-target"));
      service.addEventListener("change", function () {
        var url = service.getAttribute("data-partners-url") + "?service=" + encodeURIComponent(service.value) +
                  "&partner=" + encodeURIComponent(partner.value);
        fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html !== null) partner.innerHTML = html; })
          .catch(function () {});
      });
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var input = document.querySelector("input[data-history-url]");
    if (!input) return;
    var target = document.getElementById(input.getAttribute("data-history-target"));
    var last = null;
    var load = debounce(function () {
      var phone = input.value.replace(/[\s-]/g, "");
      if (phone === last) return;
      last = phone;
      if (phone.length < 5) { target.innerHTML = ""; return; }
      fetch(input.getAttribute("data-history-url") + "?phone=" + encodeURIComponent(phone),
            {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) { if (last === phone) target.innerHTML = html; })
        .catch(function () {});
    }, 250);
    input.addEventListener("input", load);
    input.addEventListener("change", load);
    if (input.value) load();
  });
})();

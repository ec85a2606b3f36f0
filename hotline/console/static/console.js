// The console's only script: the caller's earlier tickets appear while the seat types the number.
(function () {
  "use strict";
  function debounce(fn, ms) {
    var timer;
    return function () { clearTimeout(timer); var args = arguments; timer = setTimeout(function () { fn.apply(null, args); }, ms); };
  }
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

// The console's only script: the caller's earlier tickets appear while the seat types the number;
// the refer form's partner list follows the chosen service; the seat's waiting calls refresh
// themselves; an export says it is being made until its download begins. All of it works
// without the script, a step slower (reload the page) or more quietly.
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
  // A panel that keeps itself current: every data-refresh-seconds its data-refresh-url is
  // fetched and replaces the panel's content. It pauses while the tab is hidden and stops when
  // the session is gone (the request was sent to the login page) or the role lost the page.
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-refresh-url]"), function (panel) {
      var seconds = Math.max(2, parseInt(panel.getAttribute("data-refresh-seconds"), 10) || 5);
      var busy = false;
      var timer = null;
      function refresh() {
        if (busy || document.hidden) return;
        busy = true;
        fetch(panel.getAttribute("data-refresh-url"),
              {credentials: "same-origin", cache: "no-store",
               headers: {"Accept": "text/html", "X-Console-Refresh": "1"}})
          .then(function (response) {
            if (response.redirected || response.status === 401 || response.status === 403) {
              clearInterval(timer);
              return null;
            }
            return response.ok ? response.text() : null;
          })
          .then(function (html) { if (html !== null) panel.innerHTML = html; })
          .catch(function () {})
          .then(function () { busy = false; });
      }
      timer = setInterval(refresh, seconds * 1000);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
    });
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
  // Exports: a big XLSX takes a while to build before the browser shows any download. The link
  // gets a token; the answer sets the cookie export_ready to it, and until then the page says
  // how long it has been working.
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".exports"), function (box) {
      var status = box.querySelector(".export-status");
      var timer = null;
      Array.prototype.forEach.call(box.querySelectorAll("a.export"), function (link) {
        link.addEventListener("click", function () {
          var token = Math.random().toString(36).slice(2) + Date.now().toString(36);
          link.href = link.href.replace(/([?&])export_token=[^&]*&?/, "$1").replace(/[?&]$/, "") +
                      (link.href.indexOf("?") < 0 ? "?" : "&") + "export_token=" + token;
          var started = Date.now();
          clearInterval(timer);
          function tick() {
            if (document.cookie.split("; ").indexOf("export_ready=" + token) >= 0) {
              clearInterval(timer);
              status.textContent = box.getAttribute("data-started");
              return;
            }
            var seconds = Math.floor((Date.now() - started) / 1000);
            status.textContent = box.getAttribute("data-waiting").replace("{s}", seconds);
          }
          tick();
          timer = setInterval(tick, 500);
        });
      });
    });
  });
})();

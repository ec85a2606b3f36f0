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
  // The 管理 menu closes on a click elsewhere or on Escape, like any menu.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.nav-more[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.nav-more[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
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
  // One round of a self-refreshing part: the answer's text (JSON parsed), or null when there is
  // none; `stop` is called when the session is gone (sent to the login page) or the role lost it.
  function refreshFetch(url, accept, stop) {
    return fetch(url, {credentials: "same-origin", cache: "no-store",
                       headers: {"Accept": accept, "X-Console-Refresh": "1"}})
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 403) {
          stop();
          return null;
        }
        if (!response.ok) return null;
        return accept === "application/json" ? response.json() : response.text();
      });
  }
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
        // Not while the user works in it (a form open or focused): the next round will do.
        // Nor while rows are ticked for a bulk action.
        if (panel.querySelector("details[open]") || panel.contains(document.activeElement) ||
            panel.querySelector("input[name=ticket]:checked")) return;
        busy = true;
        refreshFetch(panel.getAttribute("data-refresh-url"), "text/html", function () { clearInterval(timer); })
          .then(function (html) {
            if (html === null) return;
            // data-refresh-select: the answer is a whole page; only that element of it is taken.
            var select = panel.getAttribute("data-refresh-select");
            if (select) {
              var part = new DOMParser().parseFromString(html, "text/html").querySelector(select);
              if (part) panel.innerHTML = part.innerHTML;
            } else {
              panel.innerHTML = html;
            }
          })
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
  // A list's sort picker applies itself when changed (its button does the same without the script).
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
  // The pulse (#live): every data-pulse-seconds the navigation's counts and the crisis alerts
  // this user has not acknowledged. An alert is a banner at the top of the page and a beep
  // (again every minute while one waits) until its button is clicked; the click is recorded.
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (!live) return;
    var seconds = Math.max(1, parseFloat(live.getAttribute("data-pulse-seconds")) || 15);
    var shown = {};
    var lastBeep = 0;
    var audio = null;
    var timer = null;
    function beep() {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      try {
        audio = audio || new Context();
        if (audio.state === "suspended") audio.resume();
        [0, 0.35, 0.7].forEach(function (offset) {
          var oscillator = audio.createOscillator();
          var gain = audio.createGain();
          oscillator.type = "square";
          oscillator.frequency.value = 880;
          gain.gain.value = 0.15;
          oscillator.connect(gain);
          gain.connect(audio.destination);
          oscillator.start(audio.currentTime + offset);
          oscillator.stop(audio.currentTime + offset + 0.2);
        });
        lastBeep = Date.now();
        live.setAttribute("data-beeped", String(lastBeep));
      } catch (error) { /* no sound device: the banner still shows */ }
    }
    // Browsers keep a page silent until the user has clicked or typed on it: the first gesture
    // unlocks the sound, and sounds the alerts already on screen.
    function unlock(event) {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume();
      if (live.children.length && !live.contains(event.target)) beep();
    }
    document.addEventListener("pointerdown", unlock, {once: true});
    document.addEventListener("keydown", unlock, {once: true});
    function banner(alert) {
      var box = document.createElement("div");
      box.className = "crisis-alert";
      box.setAttribute("role", "alert");
      box.setAttribute("data-alert", alert.id);
      var title = document.createElement("strong");
      title.textContent = live.getAttribute(alert.kind === "hotspot" ? "data-title-hotspot" : "data-title");
      var text = document.createElement("span");
      text.className = "message";
      text.textContent = alert.message;
      var open = document.createElement("a");
      open.href = live.getAttribute("data-ticket-url").replace(/\/0$/, "/" + alert.ticket);
      open.textContent = live.getAttribute("data-open") + " " + (alert.number || "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ack";
      button.textContent = live.getAttribute("data-ack");
      button.addEventListener("click", function () {
        button.disabled = true;
        fetch(live.getAttribute("data-ack-url").replace(/\/0\/ack$/, "/" + alert.id + "/ack"),
              {method: "POST", credentials: "same-origin",
               headers: {"X-CSRFToken": live.getAttribute("data-csrf"), "Accept": "application/json"}})
          .then(function (response) {
            if (response.ok || response.status === 404) { box.remove(); return; }
            button.disabled = false;
          })
          .catch(function () { button.disabled = false; });
      });
      box.appendChild(title);
      box.appendChild(text);
      box.appendChild(open);
      box.appendChild(button);
      return box;
    }
    function apply(data) {
      Object.keys(data.counts || {}).forEach(function (endpoint) {
        // Shown by the stylesheet after the link's name (the link's own text stays its name).
        var link = document.querySelector("[data-nav-count='" + endpoint + "']");
        if (!link) return;
        var count = data.counts[endpoint];
        if (count) link.setAttribute("data-count", count > 99 ? "99+" : String(count));
        else link.removeAttribute("data-count");
      });
      var fresh = false;
      var waiting = {};
      (data.alerts || []).forEach(function (alert) {
        waiting[alert.id] = true;
        if (shown[alert.id]) return;
        shown[alert.id] = true;
        fresh = true;
        live.appendChild(banner(alert));
      });
      Array.prototype.forEach.call(live.querySelectorAll("[data-alert]"), function (box) {
        if (!waiting[box.getAttribute("data-alert")]) box.remove();  // acknowledged elsewhere
      });
      if (fresh || (live.children.length && Date.now() - lastBeep > 60000)) beep();
    }
    function poll() {
      if (document.hidden) return;
      refreshFetch(live.getAttribute("data-pulse-url"), "application/json", function () { clearInterval(timer); })
        .then(function (data) { if (data) apply(data); })
        .catch(function () {});
    }
    poll();
    timer = setInterval(poll, seconds * 1000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  });
})();

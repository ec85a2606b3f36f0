// Knowledge suggestions at intake: as the seat types the caller's request, the best published
// articles appear beside the form (the page asks the console's knowledge search, debounced);
// "用此答复" fills the direct answer and remembers the article. Without the script the seat
// types the answer by hand.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("kb-suggestions");
    var form = panel && document.getElementById(panel.getAttribute("data-kb-source"));
    if (!form) return;
    var results = panel.querySelector(".kb-results");
    var fields = ["subject", "content"].map(function (name) { return form.elements[name]; }).filter(Boolean);
    var unit = form.elements.location_unit;
    var last = null, timer = null;
    function query() {
      return fields.map(function (field) { return field.value.trim(); }).filter(Boolean).join(" ");
    }
    function load(final) {
      var q = query();
      if (!final && q === last) return;
      last = q;
      if (q.length < 2) { results.innerHTML = ""; return; }
      var url = panel.getAttribute("data-kb-url") + "?q=" + encodeURIComponent(q) +
                (unit && unit.value ? "&unit=" + encodeURIComponent(unit.value) : "") + (final ? "&final=1" : "");
      fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null && last === q) results.innerHTML = html; })
        .catch(function () {});
    }
    fields.forEach(function (field) {
      field.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(load, 300); });
      field.addEventListener("change", function () { clearTimeout(timer); load(true); });
    });
    results.addEventListener("click", function (event) {
      var button = event.target.closest("button.kb-use");
      if (!button) return;
      form.elements.direct_answer.value = button.getAttribute("data-answer");
      form.elements.article.value = button.getAttribute("data-article");
      var chosen = form.querySelector(".kb-chosen");
      chosen.hidden = false;
      chosen.querySelector("span").textContent = button.getAttribute("data-article");
      form.elements.direct_answer.focus();
    });
    form.elements.direct_answer.addEventListener("input", function () {
      // An answer typed over the article's is the seat's own.
      if (!this.value.trim()) { form.elements.article.value = ""; form.querySelector(".kb-chosen").hidden = true; }
    });
    if (query()) load(false);
  });
})();

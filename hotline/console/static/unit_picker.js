// The unit picker (issue 22): over a <select data-unit-picker data-search-url>, a box where two
// characters of a unit's name or code list the matches with their place in the tree. The select
// stays in the form and carries the choice, so without this script the page still works (the
// plain list, Ctrl-click for several).
(function () {
  "use strict";
  var MIN = 2;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function optionFor(select, item) {
    var found = Array.prototype.find.call(select.options, function (o) { return o.value === item.code; });
    if (!found) {
      found = new Option(item.name, item.code);
      select.appendChild(found);
    }
    return found;
  }

  function picker(select) {
    var multiple = select.multiple;
    var url = select.getAttribute("data-search-url");
    var box = el("div", "unit-picker");
    var chips = el("span", "chips");
    var input = el("input");
    input.type = "search";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.placeholder = select.getAttribute("data-placeholder") || "";
    input.setAttribute("aria-label", input.placeholder);
    var list = el("ul", "suggestions");
    list.setAttribute("role", "listbox");
    list.hidden = true;
    box.appendChild(chips);
    box.appendChild(input);
    box.appendChild(list);
    select.parentNode.insertBefore(box, select.nextSibling);
    select.hidden = true;
    var hint = select.parentNode.querySelector(".no-js-hint");
    if (hint) hint.style.display = "none";
    var items = [];
    var active = -1;
    var asked = 0;

    function render() {
      chips.innerHTML = "";
      Array.prototype.forEach.call(select.selectedOptions, function (option) {
        if (!option.value) return;
        if (!multiple) { if (document.activeElement !== input) input.value = option.textContent.trim(); return; }
        var chip = el("span", "chip", option.textContent.trim());
        chip.setAttribute("data-code", option.value);
        var remove = el("button", "remove", "×");
        remove.type = "button";
        remove.setAttribute("aria-label", "× " + option.textContent.trim());
        remove.addEventListener("click", function () { option.selected = false; render(); });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }

    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }

    function choose(item) {
      var option = optionFor(select, item);
      if (!multiple) select.value = item.code;
      option.selected = true;
      select.dispatchEvent(new Event("change", {bubbles: true}));
      input.value = multiple ? "" : item.name;
      close();
      render();
      input.focus();
    }

    function show(found) {
      items = found;
      list.innerHTML = "";
      if (!found.length) {
        list.appendChild(el("li", "none", select.getAttribute("data-none") || "—"));
      }
      found.forEach(function (item, index) {
        var li = el("li");
        li.setAttribute("role", "option");
        li.setAttribute("data-code", item.code);
        li.id = select.name + "-option-" + index;
        li.appendChild(el("span", "name", item.name));
        li.appendChild(el("span", "path", (item.path ? item.path + " › " : "") + item.kind + " · " + item.code));
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(item); });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function highlight(index) {
      var rows = list.querySelectorAll("li[role=option]");
      if (!rows.length) return;
      active = (index + rows.length) % rows.length;
      Array.prototype.forEach.call(rows, function (row, i) { row.classList.toggle("active", i === active); });
      input.setAttribute("aria-activedescendant", rows[active].id);
    }

    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (!multiple && !text) select.value = "";
      if (text.length < MIN) { close(); return; }
      timer = setTimeout(function () {
        var ticket = ++asked;
        fetch(url + (url.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(text),
              {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (response) { return response.ok ? response.json() : {items: []}; })
          .then(function (body) { if (ticket === asked) show(body.items || []); })
          .catch(function () {});
      }, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter" && !list.hidden) {
        event.preventDefault();
        if (items.length) choose(items[Math.max(active, 0)]);
      } else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); if (!multiple) render(); });
    render();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-unit-picker]"), picker);
    // "Select all" of a bulk form's rows.
    Array.prototype.forEach.call(document.querySelectorAll("input[data-select-all]"), function (all) {
      all.addEventListener("change", function () {
        var form = all.getAttribute("data-select-all");
        Array.prototype.forEach.call(document.querySelectorAll("input[name=ticket][form='" + form + "']"),
                                     function (box) { box.checked = all.checked; });
      });
    });
  });
})();

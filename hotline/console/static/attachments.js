/* The file inputs of the console's forms (_attach_inputs.html): list what was chosen, and
   refuse in the browser a file over the limit before a phone spends minutes sending it.
   The server checks everything again. Loaded once however many forms include it. */
(function () {
  if (window.hotlineAttachments) return;
  window.hotlineAttachments = true;

  function refresh(box) {
    var list = box.querySelector(".chosen");
    var problem = box.querySelector(".problem");
    var max = parseInt(box.dataset.maxBytes, 10), maxFiles = parseInt(box.dataset.maxFiles, 10);
    var chosen = [], messages = [];
    box.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (file) { chosen.push([input, file]); });
    });
    list.textContent = "";
    chosen.forEach(function (pair) {
      var file = pair[1], item = document.createElement("li");
      item.textContent = file.name + "（" + Math.max(1, Math.round(file.size / 1024)) + " KB）";
      if (file.size > max) { messages.push(box.dataset.tooLarge + file.name); item.className = "error"; }
      list.appendChild(item);
    });
    if (chosen.length > maxFiles) messages.push(box.dataset.tooMany);
    if (!problem) { problem = document.createElement("p"); problem.className = "problem"; box.appendChild(problem); }
    problem.textContent = messages.join("；");
    box.dataset.refused = messages.length ? "1" : "";
  }

  document.addEventListener("change", function (event) {
    var box = event.target.closest && event.target.closest(".attach-inputs");
    if (box && event.target.type === "file") refresh(box);
  });
  document.addEventListener("submit", function (event) {
    var box = event.target.querySelector && event.target.querySelector(".attach-inputs");
    if (box && box.dataset.refused) { event.preventDefault(); box.scrollIntoView({block: "center"}); }
  }, true);
})();

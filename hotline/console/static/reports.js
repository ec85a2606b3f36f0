// The report pages' print button (the pages print without it too: Ctrl+P).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

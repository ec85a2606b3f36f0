/* The dispatch sheet's 打印 button (inline scripts are not allowed by the console's CSP). */
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});

// A Print button for pages that are meant for paper (the wallet and fridge cards):
// a <button data-print hidden> is shown, and prints the page, only when this script runs.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () { window.print(); });
  }
})();

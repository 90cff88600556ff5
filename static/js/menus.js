// The header's menus are <details> elements, so they open and close without JavaScript (and Pico closes an
// open one on a click elsewhere). This adds the one thing people also expect of a menu: Escape closes it and
// returns focus to its button.
"use strict";

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") {
    return;
  }
  document.querySelectorAll(".site-header details[open]").forEach((menu) => {
    menu.removeAttribute("open");
    menu.querySelector("summary").focus();
  });
});

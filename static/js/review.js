// Keyboard shortcuts of the review queue: a key clicks the control in the current
// item that carries it in data-key (a, 1-9, 0, j, k, s). The buttons do the work,
// so a shortcut does exactly what a click does, CSRF and all.
"use strict";

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) {
    return;
  }
  const typing = event.target.closest(
    "textarea, select, [contenteditable], input:not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button])",
  );
  if (typing) {
    return;
  }
  const item = document.getElementById("review-item");
  if (!item) {
    return;
  }
  // One decision at a time: while a request from the item is in flight, keys wait.
  if (item.classList.contains("htmx-request") || item.querySelector(".htmx-request")) {
    event.preventDefault();
    return;
  }
  const control = item.querySelector(`[data-key="${CSS.escape(event.key.toLowerCase())}"]`);
  if (!control || control.disabled) {
    return;
  }
  event.preventDefault();
  control.click();
});

// Keyboard shortcuts of the review queue: a key clicks the control in the current
// item that carries it in data-key (a, 1-9, 0, j, k, s, u). The buttons do the work,
// so a shortcut does exactly what a click does, CSRF and all.
// Also: the list's highlighted row follows the current item, "select all" ticks every
// row, and Cancel on the inline bulk-accept question closes it.
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

// The row of the current item is marked (aria-current) wherever the item came from: j, k, a decision.
function followCurrent() {
  const item = document.getElementById("review-item");
  const list = document.getElementById("review-list");
  if (!item || !list) {
    return;
  }
  const current = item.dataset.document;
  for (const row of list.querySelectorAll("tr[data-document]")) {
    if (row.dataset.document === current) {
      row.setAttribute("aria-current", "true");
    } else {
      row.removeAttribute("aria-current");
    }
  }
}

document.addEventListener("htmx:afterSettle", followCurrent);

// Select all: the header box ticks every row that can be accepted; a row unticked unticks the header.
document.addEventListener("change", (event) => {
  const box = event.target;
  const form = box.closest ? box.closest("#bulk-form") : null;
  if (!form) {
    return;
  }
  const rows = form.querySelectorAll('input[name="document_id"]:not(:disabled)');
  const all = form.querySelector('input[name="all"]');
  if (box === all) {
    for (const row of rows) {
      row.checked = all.checked;
    }
  } else if (all && box.name === "document_id") {
    all.checked = [...rows].every((row) => row.checked);
  }
});

document.addEventListener("click", (event) => {
  const cancel = event.target.closest ? event.target.closest("[data-cancel-confirm]") : null;
  const area = cancel ? cancel.closest("#bulk-confirm") : null;
  if (area) {
    event.preventDefault();
    area.replaceChildren();
  }
});

// Quartermaster's own script: loaded after htmx, no inline scripts anywhere (CSP).
"use strict";

// Every htmx request carries the CSRF token from the page's <meta>, so state
// changes made through htmx are protected exactly like plain form posts.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.content;
  }
});

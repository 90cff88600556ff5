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

// Time zones: the sign-in form's hidden field carries the browser's IANA zone (Europe/Berlin), so a
// person who has not chosen one on their account page reads times in their own zone from the first
// page on. Without script the field stays empty and pages show UTC until they choose.
function fillBrowserTimeZone(root) {
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  root.querySelectorAll("input[data-browser-time-zone]").forEach((input) => {
    input.value = zone;
  });
}
document.addEventListener("DOMContentLoaded", () => fillBrowserTimeZone(document));
document.addEventListener("htmx:load", (event) => fillBrowserTimeZone(event.detail.elt));

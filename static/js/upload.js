// The upload page: every file is sent on its own request so each gets its own
// progress bar; the server answers with the file's live status widget, which
// htmx then keeps up to date. Without this script the form still posts normally.
"use strict";

(() => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector('input[type="file"]');
  const zone = document.getElementById("drop-zone");
  const list = document.getElementById("upload-list");
  const token = form.querySelector('input[name="csrf_token"]').value;
  const limit = Number(form.dataset.limit);
  const parallel = 3; // a burst of 200 files goes three at a time
  const waiting = [];
  let running = 0;

  function addRow(file) {
    const row = document.createElement("li");
    row.className = "upload-row";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    const result = document.createElement("div");
    result.className = "upload-result";
    result.textContent = "waiting…";
    row.append(name, bar, result);
    list.prepend(row);
    return { row, bar, result };
  }

  function showError(parts, message) {
    parts.bar.remove();
    const p = document.createElement("p");
    p.className = "field-error";
    p.setAttribute("role", "alert");
    p.textContent = message;
    parts.result.replaceChildren(p);
  }

  function send(file, parts) {
    return new Promise((resolve) => {
      const data = new FormData();
      data.append("csrf_token", token);
      data.append("files", file, file.name);
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-CSRFToken", token);
      request.setRequestHeader("HX-Request", "true"); // answer with a fragment, errors included
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) {
          parts.bar.value = Math.round((event.loaded / event.total) * 100);
          parts.result.textContent = `uploading ${parts.bar.value}%`;
        }
      });
      request.addEventListener("load", () => {
        parts.bar.value = 100;
        if (request.getResponseHeader("HX-Redirect")) {
          window.location.href = request.getResponseHeader("HX-Redirect");
          return;
        }
        // Our own server's HTML: names in it are escaped by the template.
        parts.result.innerHTML = request.responseText;
        window.htmx.process(parts.result);
        parts.row.dataset.status = String(request.status);
        resolve();
      });
      request.addEventListener("error", () => {
        showError(parts, "The upload did not reach the server (network error). Try again.");
        resolve();
      });
      request.send(data);
    });
  }

  function pump() {
    while (running < parallel && waiting.length) {
      const [file, parts] = waiting.shift();
      running += 1;
      send(file, parts).finally(() => {
        running -= 1;
        pump();
      });
    }
  }

  function addFiles(files) {
    for (const file of files) {
      const parts = addRow(file);
      if (file.size > limit) {
        showError(parts, `${file.name} is larger than the ${Math.round(limit / 1048576)} MB limit; it was not sent.`);
        continue;
      }
      waiting.push([file, parts]);
    }
    pump();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    addFiles(input.files);
    input.value = "";
  });
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    addFiles(event.dataTransfer.files);
  });
})();

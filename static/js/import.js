/* Confirm of a 《人选汇总表》 import in chunks, with a progress bar.
   Without this file the form posts once and the server imports every row in that request.
   Each chunk is re-checked by the server, so a repeated chunk writes nothing twice. */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-import-chunks]");
    if (!form || !window.fetch || !window.FormData) { return; }
    var bar = document.getElementById("import-progress");
    var status = document.getElementById("import-status");
    var button = form.querySelector("button[type=submit]");
    var size = parseInt(form.getAttribute("data-import-chunks"), 10) || 50;
    var total = parseInt(form.getAttribute("data-total"), 10) || 0;
    var running = false;

    var show = function (done) {
      if (bar) { bar.max = total; bar.value = done; }
      if (status) {
        status.textContent = form.getAttribute("data-label-progress")
          .replace("{done}", String(done)).replace("{total}", String(total));
      }
    };
    var fail = function (message) {
      running = false;
      if (button) { button.disabled = false; }
      if (status) { status.textContent = message || form.getAttribute("data-label-error"); }
    };
    var send = function (start) {
      var data = new FormData(form);
      data.set("start", String(start));
      data.set("size", String(size));
      fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (!result.ok) { fail(result.body && result.body.message); return; }
          show(result.body.processed);
          if (result.body.finished) {
            window.location.assign(result.body.result_url);
          } else {
            send(result.body.processed);
          }
        })
        .catch(function () { fail(); });
    };

    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) { return; } // app.js: the person cancelled the confirm
      event.preventDefault();
      if (running) { return; }
      running = true;
      if (button) { button.disabled = true; }
      if (bar) { bar.hidden = false; }
      show(0);
      send(0);
    });
  });
})();

/* mingxiao — small progressive enhancements; every page works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    // Language switch: submit as soon as a language is chosen.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) { select.form.submit(); }
      });
    });

    // Forms with data-confirm ask before submitting (void, restore, …).
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });

    // Navigation toggle on small screens.
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("main-nav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("is-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }

    // Sync indicator: while changes are waiting, ask /healthz until they are in the workbook.
    var sync = document.querySelector(".sync[data-sync-url]");
    if (sync && (sync.classList.contains("sync--syncing") || sync.classList.contains("sync--blocked"))) {
      var label = sync.querySelector(".sync__label");
      var tries = 0;
      var poll = function () {
        tries += 1;
        fetch(sync.getAttribute("data-sync-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data || typeof data.pending !== "number") { return; }
            if (data.pending === 0 && !data.parked) {
              sync.classList.remove("sync--syncing", "sync--blocked");
              sync.classList.add("sync--synced");
              label.textContent = sync.getAttribute("data-label-synced");
              return;
            }
            label.textContent = sync.getAttribute("data-label-syncing").replace("{n}", String(data.pending));
            if (tries < 60) { window.setTimeout(poll, 3000); }
          })
          .catch(function () { /* offline: keep the last known state */ });
      };
      window.setTimeout(poll, 2000);
    }
  });
})();

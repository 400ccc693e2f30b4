// Live progress for long work (imports, exports, campaign sends, erasure), on any page, from markup alone:
//
//   <section data-progress-url="/t/acme/imports/<id>/progress" data-status="running">
//     <strong data-field="status">running</strong>
//     <progress data-field="processed_rows" data-max-field="total_rows" max="100" value="3"></progress>
//     <span data-field="imported_rows">3</span>
//   </section>
//
// While data-status is one of data-running (default "queued running"), the element's URL is polled
// (GET, JSON object) every second; each [data-field] inside shows that key of the answer (a <progress>
// takes it as its value, and data-max-field as its max). When the status leaves the running ones, the
// page reloads once (data-done="reload", the default) to show the finished state from the server, or
// stays as it is (data-done="stay"). Without script, the page shows the figures of its last load.
(function () {
  "use strict";

  function follow(element) {
    var running = (element.dataset.running || "queued running").split(/\s+/);
    if (running.indexOf(element.dataset.status) < 0) return;

    function show(progress) {
      element.querySelectorAll("[data-field]").forEach(function (field) {
        var value = progress[field.dataset.field];
        if (value === undefined) return;
        if (field.tagName === "PROGRESS") {
          var max = field.dataset.maxField && progress[field.dataset.maxField];
          if (max) field.max = max;
          field.value = value || 0;
        } else {
          field.textContent = value === null ? "" : String(value);
        }
      });
      element.dataset.status = progress.status;
    }

    function poll() {
      fetch(element.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (progress) {
          show(progress);
          if (running.indexOf(progress.status) >= 0) {
            window.setTimeout(poll, 1000);
          } else if ((element.dataset.done || "reload") === "reload") {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, 5000); }); // a hiccup: try again, less often
    }
    window.setTimeout(poll, 1000);
  }

  function start() {
    document.querySelectorAll("[data-progress-url]").forEach(follow);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

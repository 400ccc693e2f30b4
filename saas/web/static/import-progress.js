// Follows a running CSV import: polls its progress URL and updates the figures until it ends.
(function () {
  "use strict";
  var section = document.getElementById("import-progress");
  if (!section) return;
  var running = ["queued", "running"];
  if (running.indexOf(section.dataset.status) < 0) return;
  var bar = section.querySelector("progress");

  function show(progress) {
    Object.keys(progress).forEach(function (name) {
      var field = section.querySelector('[data-field="' + name + '"]');
      if (field) field.textContent = progress[name] === null ? "" : String(progress[name]);
    });
    if (bar) bar.value = progress.processed_rows;
  }

  function poll() {
    fetch(section.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (progress) {
        show(progress);
        // Finished: reload once, to list the rows with errors.
        if (running.indexOf(progress.status) < 0) window.location.reload();
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();

// Search-as-you-type for a server-rendered choice list, from markup alone:
//
//   <input type="search" name="contact_q" data-choices-url="/t/acme/privacy/requests/contact-choices"
//          data-choices-target="contact-choices">
//   <div id="contact-choices">…radio buttons rendered by the server…</div>
//
// While the person types, the URL is asked (GET, ?q=<what was typed>) for the choices as HTML, and the
// target's content is replaced by the answer. Without script, the search's own form (a "Find" button)
// reloads the page with the same choices, rendered by the same server template.
(function () {
  "use strict";

  function attach(input) {
    var target = document.getElementById(input.dataset.choicesTarget);
    if (!target) return;
    var timer = null;
    var asked = 0;

    function refresh() {
      var ticket = ++asked;
      var url = input.dataset.choicesUrl + "?q=" + encodeURIComponent(input.value);
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          if (ticket !== asked) return; // an older answer arriving after a newer one
          target.innerHTML = html;
          // The chosen person's search goes with the request form, so a refused submit shows it again.
          var echo = target.closest("form") && target.closest("form").querySelector('input[type=hidden][name="' + input.name + '"]');
          if (echo) echo.value = input.value;
        })
        .catch(function () { /* the Find button still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }

  document.querySelectorAll("input[data-choices-url]").forEach(attach);
})();

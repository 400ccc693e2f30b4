// Asks before a destructive form is sent, from markup alone (the CSP allows no inline handlers):
//
//   <form method="post" action="…" data-confirm="Delete this contact?">
//
// Cancelling the browser's dialog keeps the form from being submitted. Without script the form posts
// at once, as a plain HTML form does.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();

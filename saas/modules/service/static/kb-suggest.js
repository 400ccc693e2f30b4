// Suggest help articles while the customer writes a ticket: asks the portal after a pause in typing.
(function () {
  var form = document.getElementById("new-ticket");
  if (!form) return;
  var target = document.getElementById("suggestions");
  var timer = null;
  function ask() {
    var text = (form.subject.value + " " + form.description.value).trim();
    if (text.length < 3) return;
    fetch(form.dataset.suggest + "?q=" + encodeURIComponent(text), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { target.innerHTML = html; });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 400);
  });
})();

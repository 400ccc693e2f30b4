// Search-as-you-type pickers, from markup alone. Two kinds share the asking (debounced, newest answer wins):
//
// 1. A relation picker (JSON): an input that takes a name or an id, its picked id in a hidden input before it.
//
//   <input type="hidden" name="account_id" value="…" data-picker-value>
//   <input id="account_id" name="account_id_q" data-picker-url="/t/acme/pick/accounts">
//
//   becomes an ARIA combobox: typing asks the URL (GET ?q=) for {data: [{id, label, detail}]}, shown as a
//   listbox; arrows move, Enter or a click picks (the label into the input, the id into the hidden one),
//   Escape closes. Without script, the server resolves the typed name or id when the form is posted.
//
// 2. A server-rendered choice list (HTML):
//
//   <input type="search" name="contact_q" data-choices-url="/t/acme/privacy/requests/contact-choices"
//          data-choices-target="contact-choices">
//   <div id="contact-choices">…radio buttons rendered by the server…</div>
//
//   the target's content is replaced by the URL's answer (GET ?q=, HTML). Without script, the search's own
//   form (a "Find" button) reloads the page with the same choices, rendered by the same server template.
(function () {
  "use strict";

  // Calls answer(body) with the URL's answer to what the input holds, 250 ms after the last keystroke;
  // an older answer arriving after a newer one is dropped.
  function asking(input, url, accept, answer) {
    var timer = null;
    var asked = 0;
    function ask() {
      var ticket = ++asked;
      var sep = url.indexOf("?") < 0 ? "?" : "&";
      fetch(url + sep + "q=" + encodeURIComponent(input.value), { credentials: "same-origin", headers: { Accept: accept } })
        .then(function (response) {
          if (!response.ok) return Promise.reject(response.status);
          return accept === "application/json" ? response.json() : response.text();
        })
        .then(function (body) { if (ticket === asked) answer(body); })
        .catch(function () { /* the form's own way still works */ });
    }
    return function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    };
  }

  function attachChoices(input) {
    if (input.dataset.choicesAttached) return;
    input.dataset.choicesAttached = "1";
    var target = document.getElementById(input.dataset.choicesTarget);
    if (!target) return;
    input.addEventListener("input", asking(input, input.dataset.choicesUrl, "text/html", function (html) {
      target.innerHTML = html;
      // The chosen person's search goes with the request form, so a refused submit shows it again.
      var echo = target.closest("form") && target.closest("form").querySelector('input[type=hidden][name="' + input.name + '"]');
      if (echo) echo.value = input.value;
    }));
  }

  var pickers = 0;

  function attachPicker(input) {
    if (input.getAttribute("role") === "combobox") return; // a page may load this script twice
    var hidden = input.previousElementSibling;
    if (!hidden || !hidden.hasAttribute("data-picker-value")) return;
    var listId = input.id + "-picks";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "picker-options";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-expanded", "false");
    var picks = [];
    var active = -1;
    var prefix = "pick-" + (++pickers) + "-";

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0) input.setAttribute("aria-activedescendant", prefix + index);
      else input.removeAttribute("aria-activedescendant");
    }

    function choose(index) {
      var pick = picks[index];
      if (!pick) return;
      hidden.value = pick.id;
      input.value = pick.label;
      close();
    }

    function show(body) {
      picks = body.data || [];
      list.textContent = "";
      picks.forEach(function (pick, i) {
        var option = document.createElement("li");
        option.id = prefix + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = pick.label;
        if (pick.detail) {
          var detail = document.createElement("span");
          detail.className = "picker-detail";
          detail.textContent = " " + pick.detail;
          option.appendChild(detail);
        }
        // mousedown, not click: it comes before the input's blur closes the list.
        option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(option);
      });
      list.hidden = picks.length === 0;
      input.setAttribute("aria-expanded", picks.length ? "true" : "false");
      highlight(picks.length ? 0 : -1);
    }

    var ask = asking(input, input.dataset.pickerUrl, "application/json", show);
    input.addEventListener("input", function () {
      // Typed text differing from the picked record's name is resolved by the server; an emptied input
      // means "none".
      if (input.value.trim()) ask();
      else { hidden.value = ""; close(); }
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) {
        if (event.key === "ArrowDown" && input.value.trim()) ask();
        return;
      }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(Math.min(active + 1, picks.length - 1)); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(active); }
      else if (event.key === "Escape") { event.preventDefault(); close(); }
    });
    input.addEventListener("blur", close);
  }

  document.querySelectorAll("input[data-choices-url]").forEach(attachChoices);
  document.querySelectorAll("input[data-picker-url]").forEach(attachPicker);
})();

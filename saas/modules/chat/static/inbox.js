// The chat inbox, live: new, answered and ended chats refresh the list, the open chat's messages appear
// as they are written, and answers go out without leaving the page (the forms also work without this).
(function () {
  "use strict";
  var root = document.getElementById("chat-inbox");
  if (!root || !window.EventSource || !window.fetch) return;
  var current = root.dataset.chat;
  var log = document.getElementById("chat-messages");
  var form = document.getElementById("chat-answer");

  function show(message) {
    if (!log || message.chat_id !== current || log.querySelector('[data-id="' + message.id + '"]')) return;
    var entry = document.createElement("li");
    entry.className = "timeline-entry chat-" + message.author;
    entry.dataset.id = message.id;
    var meta = document.createElement("p");
    meta.className = "timeline-meta";
    var who = document.createElement("strong");
    who.textContent = message.author === "visitor" ? root.dataset.visitor : root.dataset.you;
    meta.appendChild(who);
    meta.appendChild(document.createTextNode(" · " + message.at.slice(11, 16) + " UTC"));
    var body = document.createElement("p");
    body.className = "pre-wrap";
    body.textContent = message.body;
    entry.appendChild(meta);
    entry.appendChild(body);
    log.appendChild(entry);
  }

  function refreshList() {
    fetch(root.dataset.page, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("chat-list");
        var old = document.getElementById("chat-list");
        if (fresh && old) old.replaceWith(fresh);
      });
  }

  // A form that leaves the page (ending the chat) must not be cut short by a reload of the old page.
  var leaving = false;
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) leaving = true;
  });

  var events = new EventSource(root.dataset.events);
  var opened = false;
  events.addEventListener("open", function () {
    if (opened) refreshList(); // back after a break: events may have been missed
    opened = true;
  });
  events.addEventListener("message", function (event) {
    var message = JSON.parse(event.data);
    show(message);
    if (message.chat_id !== current) refreshList();
  });
  events.addEventListener("chat", function (event) {
    var chat = JSON.parse(event.data);
    if (chat.chat_id === current && chat.status === "closed") {
      if (!leaving) window.location.reload(); // ended elsewhere: show it as ended
      return;
    }
    refreshList();
  });

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      }).then(function (response) {
        if (response.status !== 201) {
          form.submit(); // the page answers with the form's message
          return;
        }
        return response.json().then(function (message) {
          show(message);
          form.elements.body.value = "";
          form.elements.body.focus();
        });
      });
    });
  }
})();

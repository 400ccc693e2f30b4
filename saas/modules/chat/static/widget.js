// The live chat widget a website includes with one <script> tag. It talks only to the CRM that served
// it (its own address names the workspace): nothing is loaded from, or sent to, any other host.
// Within business hours a visitor chats live; outside them they leave a message that becomes a ticket.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.crmChatLoaded || !window.fetch) return;
  window.crmChatLoaded = true;
  var base = script.src.replace(/\/widget\.js(\?.*)?$/, "");
  var storeKey = "crm-chat:" + base;
  var texts = {};
  var online = false;
  var source = null;
  var STYLE =
    ":host{all:initial}" +
    ".box{position:fixed;right:16px;bottom:16px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif;color:#1f2933}" +
    ".launcher,button{background:#2456a6;color:#fff;border:0;border-radius:6px;padding:8px 14px;font:inherit;cursor:pointer}" +
    ".panel{width:320px;max-width:calc(100vw - 32px);background:#fff;border:1px solid #c5ced8;border-radius:8px;" +
    "box-shadow:0 4px 16px rgba(0,0,0,.15);padding:12px;margin-bottom:8px}" +
    ".panel[hidden]{display:none}h2{font-size:16px;margin:0 0 6px}p{margin:0 0 8px}" +
    "ol{list-style:none;margin:0 0 8px;padding:0;max-height:260px;overflow-y:auto}" +
    "li{margin:4px 0;padding:6px 8px;border-radius:6px;background:#eef2f7;white-space:pre-wrap}" +
    "li.visitor{background:#dce8fb;margin-left:24px}li b{display:block;font-size:12px}" +
    "label{display:block;font-size:12px;margin-top:6px}" +
    "input,textarea{box-sizing:border-box;width:100%;font:inherit;padding:6px;border:1px solid #9aa5b1;border-radius:4px}" +
    ".error{color:#b42318}.close{float:right;background:none;color:#1f2933;padding:0 4px}";

  var host = document.createElement("div");
  host.id = "crm-chat";
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function remembered() {
    try { return JSON.parse(window.sessionStorage.getItem(storeKey) || "null"); } catch (e) { return null; }
  }

  function remember(chat) {
    try {
      if (chat) window.sessionStorage.setItem(storeKey, JSON.stringify(chat));
      else window.sessionStorage.removeItem(storeKey);
    } catch (e) { /* storage off: the chat lasts as long as the page */ }
  }

  function call(method, path, body, token) {
    var headers = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    if (token) headers["X-Chat-Token"] = token;
    return fetch(base + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
      mode: "cors",
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          var error = new Error(data.detail || data.title || "Error");
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  var box = el("div", { class: "box" });
  var style = el("style");
  style.textContent = STYLE;
  var panel = el("section", { class: "panel", hidden: "", "aria-label": "Chat" });
  // Hidden until the workspace answers: a switched-off chat shows nothing at all.
  var launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", hidden: "" });
  box.appendChild(panel);
  box.appendChild(launcher);
  root.appendChild(style);
  root.appendChild(box);

  function field(form, name, label, kind, required) {
    var id = "crm-chat-" + name;
    form.appendChild(el("label", { for: id }, label));
    var input = el(kind === "textarea" ? "textarea" : "input", { id: id, name: name });
    if (kind === "email") input.setAttribute("type", "email");
    if (kind === "textarea") {
      input.setAttribute("rows", "3");
      input.addEventListener("keydown", function (event) {
        // Enter sends, as in any chat; Shift+Enter starts a new line.
        if (event.key === "Enter" && !event.shiftKey && form.requestSubmit) {
          event.preventDefault();
          form.requestSubmit();
        }
      });
    }
    if (required) input.setAttribute("required", "");
    form.appendChild(input);
    return input;
  }

  function formWith(fields, submitLabel, onSubmit) {
    var form = el("form", { novalidate: "" });
    var inputs = {};
    fields.forEach(function (f) { inputs[f[0]] = field(form, f[0], f[1], f[2], f[3]); });
    var error = el("p", { class: "error", role: "alert" });
    form.appendChild(error);
    form.appendChild(el("button", { type: "submit" }, submitLabel));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var values = {};
      Object.keys(inputs).forEach(function (name) { values[name] = inputs[name].value; });
      error.textContent = "";
      onSubmit(values, inputs).catch(function (e) { error.textContent = e.message; });
    });
    return form;
  }

  function head() {
    panel.textContent = "";
    var close = el("button", { class: "close", type: "button", "aria-label": texts.close }, "×");
    close.addEventListener("click", toggle);
    panel.appendChild(close);
    panel.appendChild(el("h2", {}, texts.title));
  }

  function showMessage(log, message) {
    if (log.querySelector('[data-id="' + message.id + '"]')) return;
    var item = el("li", { class: message.author, "data-id": message.id });
    item.appendChild(el("b", {}, message.author === "visitor" ? texts.you : texts.support));
    item.appendChild(document.createTextNode(message.body));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function ended(log) {
    remember(null);
    if (source) source.close();
    source = null;
    log.parentNode.querySelectorAll("form").forEach(function (form) { form.remove(); });
    panel.appendChild(el("p", { role: "status" }, texts.ended));
  }

  function showChat(chat) {
    head();
    var log = el("ol", { "aria-live": "polite" });
    panel.appendChild(log);
    chat.messages.forEach(function (message) { showMessage(log, message); });
    panel.appendChild(
      formWith([["body", texts.message, "textarea", true]], texts.send, function (values, inputs) {
        return call("POST", "/chats/" + chat.id + "/messages", { body: values.body }, chat.token).then(
          function (message) {
            inputs.body.value = "";
            showMessage(log, message);
          }
        );
      })
    );
    if (chat.status === "closed") return ended(log);
    if (source) source.close();
    source = new EventSource(base + "/chats/" + chat.id + "/events?token=" + encodeURIComponent(chat.token));
    var opened = false;
    source.addEventListener("open", function () {
      if (opened) { // back after a break: fetch what was written meanwhile
        call("GET", "/chats/" + chat.id, null, chat.token).then(function (fresh) {
          fresh.messages.forEach(function (message) { showMessage(log, message); });
        });
      }
      opened = true;
    });
    source.addEventListener("message", function (event) { showMessage(log, JSON.parse(event.data)); });
    source.addEventListener("chat", function (event) {
      if (JSON.parse(event.data).status === "closed") ended(log);
    });
  }

  function showStart() {
    head();
    panel.appendChild(el("p", {}, texts.intro));
    var fields = [["name", texts.name, "text"], ["email", texts.email, "email", !online], ["body", texts.message, "textarea", true]];
    if (!online) {
      panel.appendChild(
        formWith(fields, texts.leave, function (values) {
          return call("POST", "/requests", values).then(function () {
            head();
            panel.appendChild(el("p", { role: "status" }, texts.thanks));
          });
        })
      );
      return;
    }
    panel.appendChild(
      formWith(fields, texts.start, function (values) {
        values.page_url = window.location.href;
        return call("POST", "/chats", values).then(function (chat) {
          remember({ id: chat.id, token: chat.token });
          showChat(chat);
        });
      })
    );
  }

  function open() {
    var known = remembered();
    if (!known) return showStart();
    call("GET", "/chats/" + known.id, null, known.token).then(
      function (chat) { chat.token = known.token; showChat(chat); },
      function () { remember(null); showStart(); }
    );
  }

  function toggle() {
    var opening = panel.hasAttribute("hidden");
    if (opening) {
      panel.removeAttribute("hidden");
      open();
    } else {
      panel.setAttribute("hidden", "");
      if (source) source.close();
      source = null;
    }
    launcher.setAttribute("aria-expanded", String(opening));
  }

  call("GET", "/status").then(function (status) {
    texts = status.texts;
    online = status.online;
    launcher.textContent = texts.open;
    launcher.removeAttribute("hidden");
    panel.setAttribute("aria-label", texts.title);
    launcher.addEventListener("click", toggle);
  });
})();

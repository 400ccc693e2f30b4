// A record page's properties, edited in place: "Change" (or a click on the value) shows the property's own
// small form; Enter or Save sends it to the record's property endpoint with the page's CSRF token, Escape
// or Cancel puts the value back. Errors show at the field. Without script the panel's "Edit all" link
// opens the record's form, which stays the way for every field.
(function () {
  "use strict";
  var panel = document.querySelector(".record-properties[data-save-url]");
  if (!panel) {
    return;
  }
  var status = document.getElementById("properties-status");

  function parts(property) {
    return {
      value: property.querySelector(".property-value"),
      edit: property.querySelector(".property-edit"),
      form: property.querySelector(".property-form"),
      input: property.querySelector("[name=value]"),
      error: property.querySelector(".error"),
    };
  }

  function showError(p, message) {
    p.error.textContent = message;
    p.error.hidden = !message;
    if (message) {
      p.input.setAttribute("aria-invalid", "true");
      p.input.setAttribute("aria-describedby", p.error.id);
    } else {
      p.input.removeAttribute("aria-invalid");
      p.input.removeAttribute("aria-describedby");
    }
  }

  // What the input holds now, and puts back on Cancel: a select's chosen options, else its text.
  function valueOf(input) {
    if (input.multiple) {
      return Array.prototype.filter.call(input.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    }
    return input.value;
  }

  function keepAsDefault(input) {
    if (input.tagName === "SELECT") {
      Array.prototype.forEach.call(input.options, function (o) { o.defaultSelected = o.selected; });
    } else {
      input.defaultValue = input.value;
    }
  }

  function open(property) {
    var p = parts(property);
    p.value.hidden = true;
    p.edit.hidden = true;
    p.form.hidden = false;
    p.input.focus();
  }

  function close(property, restore) {
    var p = parts(property);
    if (restore) {
      p.form.reset();
      showError(p, "");
    }
    p.form.hidden = true;
    p.value.hidden = false;
    p.edit.hidden = false;
    p.edit.focus();
  }

  function save(property) {
    var p = parts(property);
    var button = p.form.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(panel.dataset.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": panel.dataset.csrf,
      },
      body: JSON.stringify({ name: property.dataset.property, value: valueOf(p.input) }),
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      button.disabled = false;
      if (!answer.ok) {
        var errors = (answer.body.errors || {})[property.dataset.property];
        showError(p, (errors && errors.join(" ")) || answer.body.detail);
        p.input.focus();
        return;
      }
      // The page's own copy is the saved one: a reload shows it, and the history is untouched.
      p.value.innerHTML = answer.body.shown;
      keepAsDefault(p.input);
      showError(p, "");
      close(property, false);
      status.textContent = panel.dataset.saved;
    }).catch(function () {
      button.disabled = false;
      showError(p, panel.dataset.failed);
    });
  }

  panel.querySelectorAll(".property").forEach(function (property) {
    var p = parts(property);
    p.edit.hidden = false;
    p.edit.addEventListener("click", function () { open(property); });
    p.value.addEventListener("click", function (event) {
      if (!event.target.closest("a")) {
        open(property);
      }
    });
    p.form.addEventListener("submit", function (event) {
      event.preventDefault();
      save(property);
    });
    p.form.querySelector(".property-cancel").addEventListener("click", function () { close(property, true); });
    p.form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        close(property, true);
      } else if (event.key === "Enter" && event.target.tagName === "SELECT") {
        event.preventDefault(); // a select does not submit its form on Enter by itself
        save(property);
      }
    });
  });
})();

// The command palette: Ctrl/⌘-K opens it on any workspace page, to go to a page or a record or to run
// an action. Its choices come from the workspace's /palette endpoint (JSON: the sidebar's pages, the
// modules' actions, the global search's records) and from the page itself: any element with
// data-command="Label" (a button of the page) is offered first and clicked when chosen.
//
// An ARIA combobox: the input keeps the focus and points at the chosen option (aria-activedescendant);
// ↑/↓ move, Enter goes, Escape closes (the <dialog>'s own cancel) and focus returns where it was.
// Without a chosen option Enter sends the form: the search page for what was typed.
(function () {
  "use strict";
  var dialog = document.querySelector("[data-palette]");
  if (!dialog) return;
  var input = dialog.querySelector("[role=combobox]");
  var list = dialog.querySelector("[role=listbox]");
  var status = dialog.querySelector("[data-palette-status]");
  var words = dialog.dataset;
  var items = [];
  var active = -1;
  var opener = null;
  var pending = null;
  var timer = null;
  var shownQuery = null; // the query whose choices are listed
  var enterWaiting = false; // Enter pressed before the choices of what was typed arrived
  var picked = false; // a choice made with the arrows since the last keystroke in the field

  function pageCommands(query) {
    var found = [];
    document.querySelectorAll("[data-command]").forEach(function (element) {
      var label = element.dataset.command;
      if (!query || label.toLowerCase().indexOf(query.toLowerCase()) !== -1) {
        found.push({ kind: "command", label: label, detail: "", element: element });
      }
    });
    return found;
  }

  function choose(index) {
    var options = list.querySelectorAll("[role=option]");
    active = index;
    options.forEach(function (option, position) {
      option.setAttribute("aria-selected", position === index ? "true" : "false");
    });
    if (index >= 0 && options[index]) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function render(found, query) {
    // A choice made with the arrows stays chosen when late answers for the same text arrive.
    var kept = picked ? items[active] : null;
    items = found;
    shownQuery = query;
    list.textContent = "";
    found.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = "palette-option-" + index;
      option.setAttribute("role", "option");
      option.className = "palette-option palette-" + item.kind;
      var label = document.createElement("span");
      label.className = "palette-label";
      label.textContent = item.label;
      var detail = document.createElement("span");
      detail.className = "palette-detail";
      detail.textContent = item.detail || words["kind" + item.kind.charAt(0).toUpperCase() + item.kind.slice(1)] || "";
      option.appendChild(label);
      option.appendChild(detail);
      option.addEventListener("mousedown", function (event) { event.preventDefault(); });
      option.addEventListener("click", function () { go(index); });
      list.appendChild(option);
    });
    input.setAttribute("aria-expanded", found.length ? "true" : "false");
    status.textContent = found.length ? words.countText.replace("%d", found.length) : words.noneText;
    var same = kept ? found.findIndex(function (item) {
      return item.label === kept.label && item.url === kept.url && item.element === kept.element;
    }) : -1;
    choose(same >= 0 ? same : found.length ? 0 : -1);
    if (enterWaiting && query === input.value.trim()) {
      enterWaiting = false;
      if (active >= 0) go(active); else dialog.querySelector("form").submit();
    }
  }

  function load() {
    var query = input.value.trim();
    if (pending) pending.abort();
    pending = new AbortController();
    var url = words.url + "?q=" + encodeURIComponent(query);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: pending.signal })
      .then(function (response) { return response.json(); })
      .then(function (body) { render(pageCommands(query).concat(body.items || []), query); })
      .catch(function (error) { if (error.name !== "AbortError") status.textContent = words.failedText; });
  }

  function go(index) {
    var item = items[index];
    if (!item) return;
    if (item.element) {
      opener = null; // the focus goes to the page's control, not back where the palette was opened
      dialog.close();
      item.element.focus();
      item.element.click();
    } else {
      window.location.assign(item.url);
    }
  }

  function open() {
    if (dialog.open) return;
    opener = document.activeElement;
    input.value = "";
    enterWaiting = false;
    picked = false;
    active = -1;
    render(pageCommands(""), null);
    dialog.showModal();
    input.focus();
    load();
  }

  dialog.addEventListener("close", function () {
    if (pending) pending.abort();
    input.setAttribute("aria-expanded", "false");
    if (opener && opener.focus && document.activeElement !== opener && !dialog.contains(opener)) opener.focus();
  });

  input.addEventListener("input", function () {
    picked = false;
    clearTimeout(timer);
    timer = setTimeout(load, 120);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      picked = true;
      choose((active + 1) % items.length);
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      picked = true;
      choose((active - 1 + items.length) % items.length);
    } else if (event.key === "Enter" && shownQuery !== input.value.trim()) {
      // Typed faster than the answers came: go to the first choice for what was typed once it arrives.
      event.preventDefault();
      enterWaiting = true;
      clearTimeout(timer);
      load();
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      go(active);
    }
  });

  // A click on the backdrop (outside the box) closes, as Escape does.
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) dialog.close();
  });

  document.querySelectorAll("[data-palette-open]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", open);
  });

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K")) {
      event.preventDefault();
      if (dialog.open) dialog.close(); else open();
    }
  });
})();

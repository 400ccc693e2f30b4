// The workspace shell: the sidebar stays open on wide screens (a phone folds it into "Menu"), "?" opens
// the keyboard shortcuts overlay (its link leads to the same list as a page without JavaScript), "/"
// goes to the search box. Keys typed in a field stay the field's.
(function () {
  "use strict";
  var sidebar = document.querySelector("[data-sidebar]");
  if (sidebar) {
    var wide = window.matchMedia("(min-width: 60em)");
    var follow = function () { if (wide.matches) sidebar.open = true; };
    follow();
    wide.addEventListener("change", follow);
  }

  var help = document.querySelector("[data-help]");
  var opener = null;
  function openHelp() {
    if (!help || help.open) return;
    opener = document.activeElement;
    help.showModal();
  }
  if (help) {
    help.addEventListener("close", function () {
      if (opener && opener.focus) opener.focus();
    });
    document.querySelectorAll("[data-help-open]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        openHelp();
      });
    });
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "?") {
      event.preventDefault();
      openHelp();
    } else if (event.key === "/") {
      var search = document.getElementById("global-q");
      if (search) {
        event.preventDefault();
        search.focus();
      }
    }
  });
})();

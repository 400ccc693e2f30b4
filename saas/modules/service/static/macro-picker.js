// The macro picker of a ticket page: its shortcut key (data-macro-shortcut) opens it and puts the
// cursor in its filter; typing narrows the list, Enter applies the first macro shown, Escape closes.
(function () {
  var picker = document.getElementById("macro-picker");
  if (!picker) return;
  var key = picker.dataset.macroShortcut || "m";
  var filter = picker.querySelector("[data-macro-filter]");
  var choices = Array.prototype.slice.call(picker.querySelectorAll("[data-macro-name]"));

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function shown() {
    return choices.filter(function (item) { return !item.hidden; });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== key || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    event.preventDefault();
    picker.open = true;
    (filter || picker.querySelector("button") || picker).focus();
  });

  picker.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      picker.open = false;
      picker.querySelector("summary").focus();
    }
  });

  if (!filter) return;
  filter.addEventListener("input", function () {
    var words = filter.value.toLowerCase().trim();
    choices.forEach(function (item) { item.hidden = words !== "" && item.dataset.macroName.indexOf(words) === -1; });
  });
  filter.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();  // a search field's Enter would otherwise send the form without a macro
    var first = shown()[0];
    if (first) first.querySelector("button").click();
  });
})();

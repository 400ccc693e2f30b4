// "Select all shown" for a list's bulk action bar, from markup alone:
//
//   <input type="checkbox" data-select-all="bulk-form" hidden aria-label="Select all shown">
//
// shows the box and ticks or unticks every checkbox of the page that belongs to the form it names
// (form="bulk-form"). Without script the box stays hidden; the rows are ticked one by one, or the bar's
// "all that match this filter" chosen.
(function () {
  "use strict";
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var rows = document.querySelectorAll('input[type=checkbox][form="' + all.dataset.selectAll + '"]');
    all.hidden = false;
    all.addEventListener("change", function () {
      rows.forEach(function (row) { row.checked = all.checked; });
    });
  });
})();

// The booking page shows slots in the visitor's time zone: until they choose one, take the browser's.
(function () {
  var page = document.querySelector("[data-booking]");
  if (!page) return;
  var select = document.getElementById("booking-tz");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
  if (page.getAttribute("data-tz-chosen") === "1") return;
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone || zone === page.getAttribute("data-tz")) return;
  if (select && !Array.prototype.some.call(select.options, function (o) { return o.value === zone; })) return;
  var url = new URL(window.location.href);
  url.searchParams.set("tz", zone);
  window.location.replace(url.toString());
})();

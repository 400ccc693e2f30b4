/* Open CRM website tracking: page views under a random visitor id, only after the site reports consent.
 *
 * Until the site calls OpenCRM.consent(true) this script sets no cookie, stores nothing and sends no
 * request. With consent it keeps two first-party cookies on the site (ocrm_vid: the visitor's random id,
 * 13 months; ocrm_sid: the visit, 30 minutes since the last page), and sends page views in batches to the
 * CRM it was loaded from. OpenCRM.consent(false) deletes both cookies and drops what was not sent.
 * Forms of the CRM embedded on the page carry the visitor id, so a submission joins the visits to the
 * person; so does the link of a tracked email (its ocrm_ident parameter).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.OpenCRM && window.OpenCRM.loaded) return;
  var source = new URL(script.src);
  var base = source.origin + source.pathname.replace(/\/track\.js$/, "");
  var slug = base.split("/").pop();
  var formsPrefix = source.origin + "/m/" + slug + "/f/";
  var VISITOR = "ocrm_vid", VISIT = "ocrm_sid";
  var queue = [], timer = null, consented = false, identity = null;

  function uuid() {
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function readCookie(name) {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(name + "=") === 0; })[0];
    return found ? found.slice(name.length + 1) : null;
  }
  function writeCookie(name, value, seconds) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + value + "; Max-Age=" + seconds + "; Path=/; SameSite=Lax" + secure;
  }
  function ids() {
    var visitor = readCookie(VISITOR) || uuid(), visit = readCookie(VISIT) || uuid();
    writeCookie(VISITOR, visitor, 34214400);
    writeCookie(VISIT, visit, 1800);
    return { visitor: visitor, visit: visit };
  }
  function send() {
    clearTimeout(timer);
    timer = null;
    if (!consented || !queue.length) return;
    var now = Date.now(), current = ids();
    var body = {
      visitor: current.visitor,
      session: current.visit,
      events: queue.splice(0, 50).map(function (e) {
        return { path: e.path, title: e.title, referrer: e.referrer, ago: Math.max(0, now - e.at) };
      })
    };
    if (identity) body.ident = identity;
    identity = null;
    // text/plain: a "simple" request, so the browser sends no preflight; our cookies never go along.
    fetch(base + "/events", {
      method: "POST", body: JSON.stringify(body), keepalive: true, credentials: "omit", mode: "cors",
      headers: { "Content-Type": "text/plain" }
    }).catch(function () {});
    if (queue.length) send();
  }
  function schedule() {
    if (!timer) timer = setTimeout(send, 1000);
  }
  function pageView() {
    queue.push({ path: location.pathname, title: document.title, referrer: document.referrer, at: Date.now() });
    schedule();
  }
  function markForms(visitor) {
    Array.prototype.forEach.call(document.querySelectorAll("iframe[src]"), function (frame) {
      if (frame.src.indexOf(formsPrefix) !== 0 || frame.src.indexOf("vid=") !== -1) return;
      var url = new URL(frame.src);
      url.searchParams.set("vid", visitor);
      frame.src = url.toString();
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[action]"), function (form) {
      if (form.action.indexOf(formsPrefix) !== 0 || form.querySelector("input[name=visitor_id]")) return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "visitor_id";
      input.value = visitor;
      form.appendChild(input);
    });
  }
  function takeIdentity() {
    // A tracked email's link carries ocrm_ident; it is sent once with the next batch, then dropped.
    var params = new URLSearchParams(location.search);
    identity = params.get("ocrm_ident");
  }

  window.OpenCRM = {
    loaded: true,
    consent: function (granted) {
      if (granted && !consented) {
        consented = true;
        takeIdentity();
        markForms(ids().visitor);
        pageView();
      } else if (!granted) {
        consented = false;
        queue = [];
        clearTimeout(timer);
        timer = null;
        writeCookie(VISITOR, "", 0);
        writeCookie(VISIT, "", 0);
      }
    }
  };
  addEventListener("pagehide", send);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") send();
  });
})();

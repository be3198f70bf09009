// The workbench's one script: live updates. The server's event stream (/app/api/events, the
// committed case history of the user's area) says which case changed; the page then fetches
// itself again and swaps in the parts marked with an id (the tables of the board, the history
// and head of a case), keeping what the user is typing. No inline script: CSP allows only this
// file.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;   // the sign-in page, or a browser without SSE
  var caseHead = document.querySelector(".case-head");
  var caseNo = caseHead ? caseHead.getAttribute("data-case") : null;
  var busy = false, again = false;

  function typing() {
    var t = document.querySelector("textarea[name=note]");
    return t && (t.value !== "" || document.activeElement === t);
  }

  function swap(doc, id) {
    var now = document.getElementById(id), next = doc.getElementById(id);
    if (!now || !next) return;
    if (id === "board" || id === "mine") {
      var seen = {};
      now.querySelectorAll("tr[data-case]").forEach(function (tr) { seen[tr.getAttribute("data-case")] = 1; });
      next.querySelectorAll("tr[data-case]").forEach(function (tr) {
        if (!seen[tr.getAttribute("data-case")]) tr.classList.add("new");
      });
    }
    now.replaceWith(document.importNode(next, true));
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["board", "mine", "history"].forEach(function (id) { swap(doc, id); });
        var b = document.querySelector(".case-head .badges"), nb = doc.querySelector(".case-head .badges");
        if (b && nb) b.replaceWith(document.importNode(nb, true));
        if (!typing()) swap(doc, "actions");
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }

  var es = new EventSource("/app/api/events");
  es.onopen = function () { live.classList.add("on"); };
  es.onerror = function () { if (es.readyState === 2) live.classList.remove("on"); };
  es.addEventListener("case", function (ev) {
    live.classList.add("on");
    var d;
    try { d = JSON.parse(ev.data); } catch (e) { return; }
    if (caseNo && d.case_no !== caseNo) return;   // a case page follows its own case
    refresh();
  });
})();

// The roster page: a chosen file is read into the form's text field, which is what is sent
// (the server checks it as `fengqiao roster import` does and shows the first problem).
(function () {
  "use strict";
  var file = document.getElementById("roster-file"), text = document.getElementById("roster-text");
  if (!file || !text || !window.FileReader) return;
  file.addEventListener("change", function () {
    var f = file.files && file.files[0];
    if (!f) return;
    var r = new FileReader();
    r.onload = function () { text.value = r.result; text.dispatchEvent(new Event("input")); };
    r.readAsText(f, "utf-8");
  });
})();

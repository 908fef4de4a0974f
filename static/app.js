// Tenant Portal: small progressive enhancements. Every page works without them; the
// Content-Security-Policy allows only scripts from the portal itself, so none inline.
(function () {
  "use strict";

  // "Copy" buttons next to a field: shown only where the clipboard can be written.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = field.value || field.textContent;
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        field.select();
      });
    });
  });

  // Exact times in the reader's own time zone, on hover.
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var at = new Date(el.getAttribute("datetime"));
    if (!isNaN(at.getTime())) {
      el.title = at.toLocaleString();
    }
  });
})();

// OpenIOP: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Warn one minute before the idle time-out signs the user out.
  var timeout = parseInt(document.body.dataset.idleTimeout || "0", 10);
  if (!timeout) { return; }
  var timer;
  function arm() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var note = document.getElementById("idle-warning");
      if (!note) {
        note = document.createElement("div");
        note.id = "idle-warning";
        note.className = "idle-warning";
        note.setAttribute("role", "alert");
        note.textContent = "You will be signed out in a minute for inactivity. Save your work or click anywhere to stay.";
        document.body.appendChild(note);
      }
    }, Math.max(timeout - 60, 1) * 1000);
  }
  ["click", "keydown"].forEach(function (name) {
    document.addEventListener(name, function () {
      var note = document.getElementById("idle-warning");
      if (note) { note.remove(); fetch("/healthz", {credentials: "same-origin"}); }
      arm();
    });
  });
  arm();
})();

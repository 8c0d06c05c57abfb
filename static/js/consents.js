// OpenIOP consents: a signature pad for the signing page.
// Without JavaScript the page still works: the patient types their legal name and ticks
// "I am signing electronically". With it, the patient also draws a signature on a canvas,
// which is written as a PNG data URL into the form's hidden input.
(function () {
  "use strict";
  var pad = document.querySelector("[data-signature-pad]");
  if (!pad) { return; }
  var canvas = pad.querySelector("canvas");
  var input = document.getElementById(pad.dataset.input);
  var fallback = document.getElementById(pad.dataset.fallback);
  var form = pad.closest("form");
  if (!canvas || !input || !form || !canvas.getContext) { return; }
  var ctx = canvas.getContext("2d");
  var drawing = false;
  var hasInk = false;
  var last = null;

  // Shown only when drawing works. Styles are set here (the CSP forbids inline styles).
  pad.hidden = false;
  pad.style.margin = "0 0 .8rem";
  pad.style.gridColumn = "1 / -1";
  canvas.style.width = "100%";
  canvas.style.maxWidth = canvas.width + "px";
  canvas.style.height = "auto";
  canvas.style.border = "1px solid #5b6675";
  canvas.style.borderRadius = "6px";
  canvas.style.background = "#fff";
  canvas.style.touchAction = "none";
  canvas.style.cursor = "crosshair";

  // With a drawn signature the checkbox is not needed: hide its row.
  var fallbackRow = fallback ? fallback.closest(".field") : null;
  if (fallbackRow) { fallbackRow.hidden = true; fallbackRow.style.display = "none"; }

  function reset() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#111";
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    hasInk = false;
    input.value = "";
  }

  function point(event) {
    var rect = canvas.getBoundingClientRect();
    return {
      x: (event.clientX - rect.left) * (canvas.width / rect.width),
      y: (event.clientY - rect.top) * (canvas.height / rect.height)
    };
  }

  function save() {
    if (hasInk) { input.value = canvas.toDataURL("image/png"); }
  }

  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    drawing = true;
    last = point(event);
    if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    ctx.beginPath();
    ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, Math.PI * 2);
    ctx.fillStyle = "#111";
    ctx.fill();
    hasInk = true;
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    event.preventDefault();
    var p = point(event);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  });
  function stop() {
    if (!drawing) { return; }
    drawing = false;
    save();
  }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  canvas.addEventListener("pointerleave", stop);

  var clear = document.getElementById("signature-clear");
  if (clear) { clear.addEventListener("click", reset); }

  // A page re-shown after an error keeps the signature already drawn. Read it before
  // reset(): a hidden input's value and its value attribute are the same thing.
  var previous = input.value;
  reset();
  if (previous && previous.indexOf("data:image/png;base64,") === 0) {
    var img = new Image();
    img.onload = function () {
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      hasInk = true;
      input.value = previous;
    };
    img.src = previous;
  }

  form.addEventListener("submit", function (event) {
    save();
    if (!hasInk && !(fallback && fallback.checked)) {
      event.preventDefault();
      var note = pad.querySelector(".field-error");
      if (!note) {
        note = document.createElement("div");
        note.className = "field-error";
        note.setAttribute("role", "alert");
        pad.appendChild(note);
      }
      note.textContent = "Draw your signature in the box, then press Sign.";
      canvas.focus();
    }
  });
})();

// OpenIOP autosave: drafts are never lost, even when the session times out.
//
// Contract (any form may opt in):
//   <form data-autosave data-autosave-key="note:<public id>" method="post" action="...">
//     <input type="hidden" name="version" value="3">   (optional; updated from replies)
//     <span data-autosave-status></span>                (optional; shows "Saved 10:42")
//   </form>
// - After typing stops for 2 seconds (and every 30 seconds while typing) the form's fields
//   are POSTed to its action with the header "X-Autosave: 1". The server answers JSON:
//   {"saved": true, "version": N, "saved_at": "10:42"} or {"saved": false, "error": "..."}
//   with 409 (conflict) or 422. A new "version" is written into input[name=version].
// - Every change is also kept in this browser's localStorage under the key. If the server
//   cannot be reached, answers non-JSON (e.g. the sign-in page after a time-out) or an
//   error, the copy stays and the status says so. When the page is opened again and a
//   kept copy holds text the page does not show (empty kept fields and fields the page
//   added since, such as extra blank rows after a refused save, don't count), a
//   "Restore" button puts it back.
// - The copy is removed once the server has saved it.
// Works without this file: the form's own Save button still posts normally.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-autosave]");
  Array.prototype.forEach.call(forms, function (form) {
    var key = "openiop-autosave:" + (form.dataset.autosaveKey || form.action);
    var status = form.querySelector("[data-autosave-status]");
    var timer = null, lastSent = Date.now(), dirty = false, busy = false;

    function say(text, bad) {
      if (!status) { return; }
      status.textContent = text;
      status.classList.toggle("autosave-bad", !!bad);
    }
    function fields() {
      var out = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "hidden" || el.type === "submit" || el.disabled) { return; }
        if (el.type === "checkbox" || el.type === "radio") {
          out[el.name + "=" + el.value] = el.checked;
        } else {
          out[el.name] = el.value;
        }
      });
      return out;
    }
    function apply(values) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "hidden" || el.disabled) { return; }
        if (el.type === "checkbox" || el.type === "radio") {
          var k = el.name + "=" + el.value;
          if (k in values) { el.checked = values[k]; }
        } else if (el.name in values) {
          el.value = values[el.name];
        }
      });
    }
    function keep() {
      try { localStorage.setItem(key, JSON.stringify({at: Date.now(), values: fields()})); } catch (e) { /* full or disabled */ }
    }
    function forget() {
      try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
    }
    function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
    // Does the kept copy hold anything the page does not show? Fields the page added
    // since (a re-rendered form with extra empty rows) and empty kept fields don't count.
    function holdsMore(keptValues, shown) {
      return Object.keys(keptValues).some(function (name) {
        var value = keptValues[name];
        if (value === "" || value === false) { return false; }
        return !(name in shown) || shown[name] !== value;
      });
    }

    function save() {
      if (busy || !dirty) { return; }
      busy = true; dirty = false; lastSent = Date.now();
      var sent = fields();
      say("Saving…");
      var body = new FormData(form);
      body.delete("sign");
      fetch(form.dataset.autosaveUrl || form.action, {
        method: "POST", body: body, credentials: "same-origin",
        headers: {"X-Autosave": "1"}, redirect: "manual"
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          throw new Error("Not saved: you may have been signed out. Your text is kept in this browser; sign in again and reopen this page to restore it.");
        }
        return response.json().then(function (reply) {
          if (!reply.saved) { throw new Error("Not saved: " + (reply.error || "the server refused.") + " Your text is kept in this browser."); }
          var version = form.querySelector("input[name=version]");
          if (version && reply.version) { version.value = reply.version; }
          if (same(sent, fields())) { forget(); }
          say("Draft saved " + (reply.saved_at || ""));
        });
      }).catch(function (error) {
        dirty = true;
        say(error && error.message && error.message.indexOf("Not saved") === 0 ? error.message : "Not saved: the server could not be reached. Your text is kept in this browser.", true);
      }).then(function () { busy = false; });
    }
    function changed() {
      dirty = true;
      keep();
      clearTimeout(timer);
      if (Date.now() - lastSent > 30000) { save(); } else { timer = setTimeout(save, 2000); }
    }

    // A copy kept from an earlier visit that the server never saved: offer it back.
    var kept = null;
    try { kept = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { kept = null; }
    if (kept && kept.values && holdsMore(kept.values, fields())) {
      var bar = document.createElement("div");
      bar.className = "alert warn autosave-restore";
      bar.setAttribute("role", "status");
      bar.textContent = "This browser kept text that was not saved (" + new Date(kept.at).toLocaleString() + "). ";
      var restore = document.createElement("button");
      restore.type = "button";
      restore.textContent = "Restore unsaved text";
      restore.addEventListener("click", function () { apply(kept.values); bar.remove(); changed(); });
      var drop = document.createElement("button");
      drop.type = "button"; drop.className = "link";
      drop.textContent = "Discard it";
      drop.addEventListener("click", function () { forget(); bar.remove(); });
      bar.appendChild(restore); bar.appendChild(document.createTextNode(" ")); bar.appendChild(drop);
      form.parentNode.insertBefore(bar, form);
    } else if (kept) {
      forget();
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () { keep(); });
  });
})();

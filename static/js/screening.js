// OpenIOP screening: hide items the skip logic does not ask. The page works without it:
// every item is then shown with a note ("Answer only if item 2 is Yes"), and answers to
// items that were not asked are dropped when the form is saved.
(function () {
  "use strict";
  var form = document.getElementById("instrument-form");
  if (!form) { return; }
  var dependants = form.querySelectorAll("fieldset[data-asked-if-item]");
  if (!dependants.length) { return; }

  function checkedValue(number) {
    var input = form.querySelector("input[name='item_" + number + "']:checked");
    return input ? input.value : "";
  }

  function isAsked(fieldset) {
    var controlling = fieldset.getAttribute("data-asked-if-item");
    var wanted = fieldset.getAttribute("data-asked-if-values").split(" ");
    var controller = document.getElementById("item-" + controlling);
    if (controller && controller.hidden) { return false; }
    var value = checkedValue(controlling);
    // Unknown until the controlling item is answered: keep showing it.
    return value === "" || wanted.indexOf(value) !== -1;
  }

  function update() {
    dependants.forEach(function (fieldset) {
      var asked = isAsked(fieldset);
      fieldset.hidden = !asked;
      var note = fieldset.querySelector(".skip-note");
      if (note) { note.hidden = true; }
    });
  }

  form.addEventListener("change", update);
  update();
})();

// OpenIOP intake: the pipeline board. Every page works without this file.
(function () {
  "use strict";
  // A refused card move answers 422 with the board re-rendered and the error beside the
  // card; htmx does not swap error responses by default, so let the board's swap through.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (detail.xhr && detail.xhr.status === 422 && detail.target && detail.target.id === "board") {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });
  // After a swap, put the keyboard focus back on the board (or on the error).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "board") { return; }
    var board = document.getElementById("board");
    if (!board) { return; }
    var error = board.querySelector(".referral-card.has-error select");
    var status = board.querySelector(".board-notice");
    if (error) { error.focus(); } else if (status) { status.setAttribute("tabindex", "-1"); status.focus(); }
  });
})();

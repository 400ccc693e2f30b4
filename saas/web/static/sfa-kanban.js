// Drag a deal card onto another stage of the pipeline board. Each card's own "Move" form stays the way
// for keyboards and browsers without script; this only posts the same form data for the dropped card.
(function () {
  "use strict";
  var board = document.querySelector(".kanban");
  if (!board) {
    return;
  }
  var status = document.getElementById("kanban-status");
  var dragged = null;

  function say(text) {
    status.textContent = text;
  }

  // The page's language: phrases come translated in the board's data attributes, "{deal}" filled here.
  function phrase(name, deal) {
    return board.dataset[name].split("{deal}").join(deal);
  }

  function clearTargets() {
    board.querySelectorAll(".drop-target").forEach(function (column) {
      column.classList.remove("drop-target");
    });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest(".kanban-card");
    if (!card) {
      return;
    }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.dealName);
  });

  board.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    clearTargets();
  });

  board.addEventListener("dragover", function (event) {
    var column = event.target.closest(".kanban-column");
    if (dragged && column) {
      event.preventDefault();
      clearTargets();
      column.classList.add("drop-target");
    }
  });

  board.addEventListener("drop", function (event) {
    var column = event.target.closest(".kanban-column");
    var card = dragged;
    clearTargets();
    if (!card || !column) {
      return;
    }
    event.preventDefault();
    if (card.closest(".kanban-column") === column) {
      return;
    }
    var body = new FormData();
    body.append("csrf_token", board.dataset.csrf);
    body.append("stage_id", column.dataset.stageId);
    if (column.dataset.stageKind === "lost") {
      var reason = window.prompt(phrase("sayWhyLost", card.dataset.dealName));
      if (reason === null) {
        return;
      }
      body.append("lost_reason", reason);
    }
    say(phrase("sayMoving", card.dataset.dealName));
    fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        if (result.ok) {
          window.location.reload(); // the totals of both columns change with the card
        } else {
          say(phrase("sayNotMoved", card.dataset.dealName) + " " + result.data.detail);
        }
      })
      .catch(function () {
        say(board.dataset.sayFailed);
      });
  });
})();

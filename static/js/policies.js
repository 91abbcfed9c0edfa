// Policy review: keyboard shortcuts for the queue and a flag's page, and the note a false positive needs.
// Loaded with <script src defer>; no inline script anywhere (the CSP forbids it).
//
// Queue:  j / k next / previous flag · Enter or o open it · a acknowledge · r resolve
//         f false positive (asks for a note) · c coaching · ? this help
// Flag:   a acknowledge · r resolve · f write the false-positive note · c write coaching · ? help
//
// Every shortcut only clicks or focuses a control the page already has (marked data-shortcut="key"),
// so each one does exactly what the mouse does, and everything works without JavaScript.
(function () {
  "use strict";

  var CURRENT = "is-current";

  function queueRows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-flag-row]"));
  }

  // The row holding the focus (a Tab or a click moved it there), else the one j/k last selected.
  function currentRow() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("[data-flag-row]") : null;
    return row || document.querySelector("[data-flag-row]." + CURRENT);
  }

  function select(row) {
    queueRows().forEach(function (other) {
      other.classList.remove(CURRENT);
    });
    if (!row) {
      return;
    }
    row.classList.add(CURRENT);
    var link = row.querySelector("[data-open]");
    if (link) {
      link.focus({ preventScroll: true });
    }
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var rows = queueRows();
    if (rows.length === 0) {
      return;
    }
    var index = rows.indexOf(currentRow());
    var next = index === -1 ? 0 : Math.min(Math.max(index + step, 0), rows.length - 1);
    select(rows[next]);
  }

  function isTyping(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function showHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && !dialog.open) {
      dialog.showModal();
    }
  }

  function activate(scope, key) {
    var control = scope.querySelector('[data-shortcut="' + key + '"]');
    if (!control) {
      return false;
    }
    if (control.tagName.toLowerCase() === "textarea") {
      control.scrollIntoView({ block: "center" });
      control.focus();
    } else {
      control.click();
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || isTyping(event.target)) {
      return;
    }
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open) {
      return;
    }
    var key = event.key;
    if (key === "?") {
      showHelp();
      event.preventDefault();
      return;
    }
    var inQueue = document.querySelector("[data-queue]") !== null;
    if (inQueue) {
      if (key === "j" || key === "k") {
        move(key === "j" ? 1 : -1);
        event.preventDefault();
        return;
      }
      var row = currentRow();
      if (!row) {
        return;
      }
      if (key === "Enter" || key === "o") {
        var open = row.querySelector("[data-open]");
        if (open) {
          window.location.assign(open.href);
          event.preventDefault();
        }
        return;
      }
      if ("arfc".indexOf(key) !== -1 && key.length === 1 && activate(row, key)) {
        event.preventDefault();
      }
      return;
    }
    if ("arfc".indexOf(key) !== -1 && key.length === 1 && activate(document, key)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest ? event.target.closest("[data-shortcuts-help]") : null;
    if (trigger) {
      showHelp();
    }
  });

  // A false positive needs a note. In the queue the form carries a hidden note: ask for it before the
  // form goes anywhere (capture phase, so htmx never sees a submit without one). Cancelling sends nothing.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!form.matches || !form.matches("form[data-needs-note]")) {
        return;
      }
      var note = form.querySelector('input[name="note"]');
      if (!note || note.value.trim() !== "") {
        return;
      }
      var answer = window.prompt(form.getAttribute("data-needs-note") || "Note (required)");
      if (answer === null || answer.trim() === "") {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      note.value = answer.trim();
    },
    true
  );

  // After htmx replaces a queue row (an action's answer), keep it selected so j/k carry on from there.
  // htmx fires afterSwap on the new element, which bubbles up to the body.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var row = event.target;
    if (row && row.matches && row.matches("[data-flag-row]")) {
      select(row);
    }
  });
})();

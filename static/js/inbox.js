/* Keyboard shortcuts of the triage inbox (engagement/inbox.html and inbox_item.html).
 *
 * j / k move between items, Enter or o opens one, a assigns it to me, h marks it handled (focuses the
 * reason: arrows choose, Enter confirms, Escape cancels), d dismisses, n writes a note, x selects it
 * for a bulk action, ? shows the help, Escape closes the opened item or the help.
 *
 * The shortcuts submit the same htmx-enhanced forms a mouse user clicks (form.requestSubmit(), which
 * htmx intercepts), so the server decides everything. They never fire while the user types in a
 * field. No inline handlers anywhere: the page's Content-Security-Policy forbids them.
 */
(function () {
  "use strict";

  var ROW = ".inbox-row";
  var currentId = null; // the row the user is on; survives htmx replacing that row
  var pendingNoteFor = null; // row whose note field gets the focus once its opened part has loaded
  var returnFocusTo = null; // where the focus goes back to when the help closes
  var restoreFocusTo = null; // the row whose request is in flight, to focus again once it is replaced

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(ROW));
  }

  function isTyping(element) {
    if (!element || !element.tagName) return false;
    if (element.isContentEditable) return true;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    var type = (element.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "hidden"].indexOf(type) === -1;
  }

  function currentRow() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest(ROW) : null;
    if (row) return row;
    return currentId ? document.getElementById(currentId) : null;
  }

  function focusRow(row) {
    if (!row) return;
    rows().forEach(function (other) {
      other.setAttribute("tabindex", "-1");
    });
    row.setAttribute("tabindex", "0");
    currentId = row.id;
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    var next = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(index + step, 0), all.length - 1);
    focusRow(all[next]);
  }

  function submit(form) {
    if (form) form.requestSubmit();
  }

  function action(row, name) {
    return row.querySelector('form[data-shortcut="' + name + '"]');
  }

  function open(row) {
    var link = row.querySelector("a.inbox-open");
    if (link) link.click();
  }

  function close(row) {
    var detail = row.querySelector(".inbox-detail");
    if (!detail || !detail.children.length) return false;
    detail.replaceChildren(); // also stops the opened item's presence poll
    focusRow(row);
    return true;
  }

  function noteField(row) {
    return row.querySelector('form[data-shortcut="note"] textarea');
  }

  function startNote(row) {
    var field = noteField(row);
    if (field) {
      field.focus();
      return;
    }
    pendingNoteFor = row.id;
    open(row);
  }

  function startHandle(row) {
    var select = row.querySelector('form[data-shortcut="handle"] select[data-reason]');
    if (select) select.focus();
  }

  function toggleSelected(row) {
    var box = row.querySelector('input[type="checkbox"][name="items"]');
    if (box) box.checked = !box.checked;
  }

  function help() {
    return document.getElementById("inbox-help");
  }

  function setHelp(show) {
    var overlay = help();
    var toggle = document.getElementById("inbox-help-toggle");
    if (!overlay) return;
    if (show) {
      returnFocusTo = currentRow();
      overlay.hidden = false;
      var closeButton = document.getElementById("inbox-help-close");
      if (closeButton) closeButton.focus();
    } else {
      overlay.hidden = true;
      if (returnFocusTo && document.contains(returnFocusTo)) focusRow(returnFocusTo);
    }
    if (toggle) toggle.setAttribute("aria-expanded", show ? "true" : "false");
  }

  function onKeydown(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    // The reason chooser of "mark handled": Enter confirms, Escape goes back to the row.
    if (target.matches && target.matches("select[data-reason]")) {
      if (event.key === "Enter") {
        event.preventDefault();
        submit(target.form);
      } else if (event.key === "Escape") {
        event.preventDefault();
        focusRow(target.closest(ROW));
      }
      return;
    }
    if (event.key === "Escape") {
      var overlay = help();
      if (overlay && !overlay.hidden) {
        event.preventDefault();
        setHelp(false);
        return;
      }
      var row = currentRow();
      if (!row) return;
      if (isTyping(target)) {
        // Out of the field (a note being written) and back to its row; Escape again closes it.
        event.preventDefault();
        focusRow(row);
      } else if (close(row)) {
        event.preventDefault();
      }
      return;
    }
    if (isTyping(target)) return;
    if (event.key === "?") {
      event.preventDefault();
      var shown = help();
      setHelp(shown ? shown.hidden : false);
      return;
    }
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      move(event.key === "j" ? 1 : -1);
      return;
    }
    var current = currentRow();
    if (!current) return;
    switch (event.key) {
      case "Enter":
        // Only on the row itself: on a button or a link, Enter keeps its usual meaning.
        if (target !== current) return;
        event.preventDefault();
        open(current);
        break;
      case "o":
        event.preventDefault();
        open(current);
        break;
      case "a":
        event.preventDefault();
        submit(action(current, "assign"));
        break;
      case "h":
        event.preventDefault();
        startHandle(current);
        break;
      case "d":
        event.preventDefault();
        submit(action(current, "dismiss"));
        break;
      case "n":
        event.preventDefault();
        startNote(current);
        break;
      case "x":
        event.preventDefault();
        toggleSelected(current);
        break;
      default:
        return;
    }
  }

  function onFocusIn(event) {
    var row = event.target.closest ? event.target.closest(ROW) : null;
    if (row) currentId = row.id;
  }

  // A request from inside the row the user is on (a shortcut, or a button reached with Tab) replaces
  // that row: remember it, and put the focus back on the new row once htmx has swapped it in.
  function onBeforeRequest(event) {
    var row = event.target.closest ? event.target.closest(ROW) : null;
    var active = document.activeElement;
    restoreFocusTo = row && active && row.contains(active) ? row.id : null;
  }

  function onSettle() {
    var id = restoreFocusTo;
    restoreFocusTo = null;
    if (pendingNoteFor) {
      var pending = document.getElementById(pendingNoteFor);
      var field = pending && noteField(pending);
      if (field) {
        pendingNoteFor = null;
        field.focus();
        return;
      }
    }
    var active = document.activeElement;
    if (id && (!active || active === document.body)) {
      var row = document.getElementById(id);
      if (row) focusRow(row);
    }
  }

  function init() {
    var toggle = document.getElementById("inbox-help-toggle");
    if (toggle) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        var overlay = help();
        setHelp(overlay ? overlay.hidden : false);
      });
    }
    var closeButton = document.getElementById("inbox-help-close");
    if (closeButton) {
      closeButton.addEventListener("click", function () {
        setHelp(false);
      });
    }
    var first = document.querySelector(ROW);
    if (first) first.setAttribute("tabindex", "0");
    document.addEventListener("keydown", onKeydown);
    document.addEventListener("focusin", onFocusIn);
    document.addEventListener("htmx:beforeRequest", onBeforeRequest);
    document.addEventListener("htmx:afterSettle", onSettle);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

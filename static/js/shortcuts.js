/* Keyboard shortcuts for every list (the triage inbox, the policy queue) and for a single item's page.
 * One module, driven by data attributes; no inline handlers anywhere (the page's Content-Security-Policy
 * forbids them). Every shortcut clicks, submits or focuses a control the page already has, so it does
 * exactly what the mouse does, and everything works without JavaScript.
 *
 *   [data-shortcuts-row]          a row of a list; j / k move between rows (the row itself takes the focus,
 *                                 roving tabindex, and carries the class is-current)
 *   [data-shortcut="key"]         inside the current row (or anywhere on a page without rows): the control
 *                                 for that key — a form is submitted, a field focused, anything else clicked
 *   [data-shortcut-open]          inside a row: Enter (on the row) or o opens it
 *   [data-shortcut-after-open]    on a row: keys whose control appears once the row is opened (e.g. "n":
 *                                 the note field); the key opens the row, then focuses the control
 *   [data-shortcut-confirm]       a select where Enter submits its form and Escape goes back to the row
 *   [data-shortcuts-detail]       inside a row: the opened part; Escape empties it (and stops its polling)
 *   dialog[data-shortcuts-help]   the help; ? opens or closes it, [data-shortcuts-help-toggle] buttons too
 *   [data-select-all="form-id"]   a checkbox that ticks or unticks every row checkbox of that form on the page
 *                                 (hidden without JavaScript, where it could do nothing)
 *   [data-select-all-more="id"]   shown while that form's select-all box is ticked (the offer of "all N
 *                                 matching", beyond the page)
 *   [data-dialog-open="id"]       a link or button that opens the <dialog id> (a form); without JavaScript
 *                                 the link goes to its href, a page with the same form. In the dialog,
 *                                 [data-dialog-cancel] (or Escape) closes it and sends nothing.
 *
 * Shortcuts never fire while the user types: in a text field, a textarea, a select or editable content
 * (checkboxes and buttons do not count), nor while a dialog other than the help is open.
 * After htmx replaces the row the user is on, the focus goes back to the new row with the same id.
 */
(function () {
  "use strict";

  var ROW = "[data-shortcuts-row]";
  var CURRENT = "is-current";
  var currentId = null; // the row the user is on; survives htmx replacing that row
  var pending = null; // {row: id, key: key}: a control to focus once the opened row has loaded
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
      other.classList.remove(CURRENT);
    });
    row.setAttribute("tabindex", "0");
    row.classList.add(CURRENT);
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

  function control(scope, key) {
    return scope.querySelector('[data-shortcut="' + key + '"]');
  }

  function activate(element) {
    var tag = element.tagName;
    if (tag === "FORM") {
      element.requestSubmit();
    } else if (tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && isTyping(element))) {
      element.scrollIntoView({ block: "center" });
      element.focus();
    } else {
      element.click();
    }
  }

  function open(row) {
    var link = row.querySelector("[data-shortcut-open]");
    if (link) link.click();
  }

  function closeDetail(row) {
    var detail = row.querySelector("[data-shortcuts-detail]");
    if (!detail || !detail.children.length) return false;
    detail.replaceChildren(); // also stops the polling of what was opened
    focusRow(row);
    return true;
  }

  function opensLater(row, key) {
    var keys = (row.getAttribute("data-shortcut-after-open") || "").split(" ");
    return keys.indexOf(key) !== -1;
  }

  // --- Dialogs: the help, and forms shown in a <dialog> ------------------------------------------

  function helpDialog() {
    return document.querySelector("dialog[data-shortcuts-help]");
  }

  function openDialog(dialog) {
    if (dialog && !dialog.open) dialog.showModal();
  }

  function toggleHelp() {
    var dialog = helpDialog();
    if (!dialog) return;
    if (dialog.open) {
      dialog.close();
    } else {
      openDialog(dialog);
    }
  }

  function otherDialogOpen() {
    var open = document.querySelector("dialog[open]");
    return open !== null && !open.hasAttribute("data-shortcuts-help");
  }

  function onClick(event) {
    var target = event.target.closest ? event.target : null;
    if (!target) return;
    if (target.matches("[data-select-all]")) {
      var boxes = document.querySelectorAll('input[type="checkbox"][form="' + target.getAttribute("data-select-all") + '"]');
      boxes.forEach(function (box) {
        box.checked = target.checked;
      });
      document.querySelectorAll('[data-select-all-more="' + target.getAttribute("data-select-all") + '"]').forEach(function (more) {
        more.hidden = !target.checked;
      });
      return;
    }
    if (target.closest("[data-shortcuts-help-toggle]")) {
      toggleHelp();
      return;
    }
    var cancel = target.closest("[data-dialog-cancel]");
    if (cancel) {
      event.preventDefault(); // sends nothing
      cancel.closest("dialog").close();
      return;
    }
    var opener = target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && dialog.tagName === "DIALOG") {
        event.preventDefault();
        openDialog(dialog);
      }
    }
  }

  // --- Keys --------------------------------------------------------------------------------------

  function onKeydown(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var key = event.key;
    if (otherDialogOpen()) return; // a form in a dialog: the browser's own keys (Escape closes it)
    if (target.matches && target.matches("select[data-shortcut-confirm]")) {
      if (key === "Enter") {
        event.preventDefault();
        target.form.requestSubmit();
      } else if (key === "Escape") {
        event.preventDefault();
        focusRow(target.closest(ROW));
      }
      return;
    }
    var help = helpDialog();
    if (help && help.open) {
      if (key === "?") {
        event.preventDefault();
        help.close();
      }
      return; // Escape: the browser closes the dialog
    }
    if (key === "Escape") {
      var row = currentRow();
      if (!row) return;
      if (isTyping(target)) {
        // Out of the field (a note being written) and back to its row; Escape again closes the row.
        event.preventDefault();
        focusRow(row);
      } else if (closeDetail(row)) {
        event.preventDefault();
      }
      return;
    }
    if (isTyping(target)) return;
    if (key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    var hasRows = document.querySelector(ROW) !== null;
    if (hasRows && (key === "j" || key === "k")) {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
      return;
    }
    if (key.length !== 1 && key !== "Enter") return;
    var current = currentRow();
    if (hasRows && !current) return;
    if (current && (key === "o" || (key === "Enter" && target === current))) {
      // Enter only on the row itself: on a button or a link, Enter keeps its usual meaning.
      event.preventDefault();
      open(current);
      return;
    }
    if (key === "Enter") return;
    var element = control(current || document, key);
    if (element) {
      event.preventDefault();
      activate(element);
    } else if (current && opensLater(current, key)) {
      event.preventDefault();
      pending = { row: current.id, key: key };
      open(current);
    }
  }

  function onFocusIn(event) {
    var row = event.target.closest ? event.target.closest(ROW) : null;
    if (row) currentId = row.id;
  }

  // A request from inside the row the user is on (a shortcut, or a button reached with Tab) replaces
  // that row: remember it, and put the focus back on the new row once htmx has swapped it in.
  // Requests from elsewhere (a count refreshed because of that action) leave the remembered row alone.
  function onBeforeRequest(event) {
    var row = event.target.closest ? event.target.closest(ROW) : null;
    var active = document.activeElement;
    if (row && active && (active === row || row.contains(active))) restoreFocusTo = row.id;
  }

  function onSettle() {
    var id = restoreFocusTo;
    restoreFocusTo = null;
    if (pending) {
      var waiting = document.getElementById(pending.row);
      var element = waiting && control(waiting, pending.key);
      if (element) {
        pending = null;
        activate(element);
        return;
      }
    }
    var active = document.activeElement;
    if (id && (!active || active === document.body)) {
      var row = document.getElementById(id);
      if (row) focusRow(row);
    }
  }

  // Controls useless without JavaScript are rendered hidden: show them, in the page and in every piece of
  // it htmx swaps in later (the inbox's "N new — show" replaces the list and its bulk bar).
  function reveal(root) {
    root.querySelectorAll("[data-shortcuts-help-toggle], [data-select-all-label]").forEach(function (element) {
      element.hidden = false;
    });
  }

  function onLoad(event) {
    if (event.target.querySelectorAll) reveal(event.target);
  }

  function init() {
    reveal(document);
    var first = document.querySelector(ROW);
    if (first && !document.querySelector(ROW + '[tabindex="0"]')) first.setAttribute("tabindex", "0");
    document.addEventListener("keydown", onKeydown);
    document.addEventListener("click", onClick);
    document.addEventListener("focusin", onFocusIn);
    document.addEventListener("htmx:beforeRequest", onBeforeRequest);
    document.addEventListener("htmx:afterSettle", onSettle);
    document.addEventListener("htmx:load", onLoad);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

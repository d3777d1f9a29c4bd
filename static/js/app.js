// A few lines of our own; everything else is htmx. No inline scripts anywhere (CSP).
(function () {
  "use strict";

  // Top-bar switcher: choosing a workspace submits the form (a <noscript> button does it without JS).
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.value) form.requestSubmit();
  });

  // Key expiry: typing a date chooses "Custom date" (without JS the person picks it).
  document.addEventListener("input", function (event) {
    var field = event.target.closest(".expiry-field");
    if (field && event.target.type === "datetime-local") {
      var custom = field.querySelector('input[name="expiry"][value="custom"]');
      if (custom) custom.checked = true;
    }
  });

  // Copy buttons: <button data-copy-target="#id"> copies that element's text or value.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent.trim();
    var done = function () {
      var label = button.getAttribute("data-copied-label") || "Copied!";
      var status = document.getElementById(button.getAttribute("aria-describedby") || "");
      if (status) status.textContent = label;
      button.classList.add("copied");
      // Copying a secret (or the example that holds it) counts as saving it.
      var secret = button.closest("[data-show-once]");
      if (secret) secret.setAttribute("data-copied", "true");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      if (source.select) source.select();
      document.execCommand("copy");
      done();
    }
  });

  // Dialogs swapped into #modal-root open modally; focus returns to the opener when they close.
  var lastOpener = null;
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[hx-get],[hx-post],[hx-delete],button,a");
    if (opener && !opener.closest("dialog")) lastOpener = opener;
  }, true);

  function openDialogs(root) {
    var dialogs = Array.prototype.slice.call(root.querySelectorAll("dialog[data-open]"));
    if (root.matches && root.matches("dialog[data-open]")) dialogs.unshift(root);
    dialogs.forEach(function (dialog) {
      if (dialog.open) return;
      var opener = lastOpener;
      dialog.showModal();
      var focusTarget = dialog.querySelector("[autofocus]") || dialog.querySelector("input,select,textarea,button");
      if (focusTarget) focusTarget.focus();
      dialog.addEventListener("close", function () {
        dialog.remove();
        if (opener && document.body.contains(opener)) opener.focus();
      }, { once: true });
    });
  }
  document.addEventListener("htmx:load", function (event) { openDialogs(event.target); });
  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });

  // Closing a dialog by Escape, its × or its backdrop asks first while it shows a secret that
  // was not copied (data-show-once); "I've saved my key" (data-close-anyway) just closes.
  function mayClose(dialog) {
    var secret = dialog.querySelector("[data-show-once]");
    if (!secret || secret.getAttribute("data-copied") === "true") return true;
    var check = secret.querySelector("[data-close-check]");
    if (!check) return true;
    check.hidden = false;
    check.querySelector("[data-close-check-back]").focus();
    return false;
  }
  function requestClose(dialog) { if (mayClose(dialog)) dialog.close(); }

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (!dialog) return;
      event.preventDefault();
      if (closer.hasAttribute("data-close-anyway")) dialog.close(); else requestClose(dialog);
      return;
    }
    var back = event.target.closest("[data-close-check-back]");
    if (back) {
      var check = back.closest("[data-close-check]");
      check.hidden = true;
      var copy = check.closest("[data-show-once]").querySelector("[data-copy-target]");
      if (copy) copy.focus();
      return;
    }
    // A click on the backdrop lands on the <dialog> itself, outside its box (confirm dialogs
    // only: a side panel's form would lose what was typed).
    if (event.target.matches("dialog.confirm-dialog[open]")) {
      var box = event.target.getBoundingClientRect();
      var outside = event.clientX < box.left || event.clientX > box.right ||
                    event.clientY < box.top || event.clientY > box.bottom;
      if (outside) requestClose(event.target);
    }
  });
  // Escape fires "cancel" on the open dialog.
  document.addEventListener("cancel", function (event) {
    if (event.target.matches("dialog") && !mayClose(event.target)) event.preventDefault();
  }, true);
  // The server asks (HX-Trigger: closeDialog) to close the open dialog after a successful action.
  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("closeDialog", function () {
      document.querySelectorAll("#modal-root dialog[open]").forEach(function (d) { d.close(); });
    });
  });
})();

// Top-bar menu (<details class="topnav">): open, i.e. inline, on wide screens; closed behind its
// Menu button on narrow ones. Without JS, CSS (::details-content) shows it inline on wide screens.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 761px)");
  function sync() {
    document.querySelectorAll("details.topnav").forEach(function (menu) { menu.open = wide.matches; });
  }
  document.addEventListener("DOMContentLoaded", sync);
  wide.addEventListener("change", sync);

  // Settings tabs (a scrolling row on narrow screens): bring the current page's tab into view.
  document.addEventListener("DOMContentLoaded", function () {
    var nav = document.querySelector(".settings-sidebar nav");
    var current = nav && nav.querySelector('[aria-current="page"]');
    if (current && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
    }
  });
})();

// API keys: an action re-renders its table row, so the control that opened the dialog is
// replaced. Focus then goes to the control with the same id in the new row (ids are stable,
// e.g. key-<id>-status for Revoke/Activate) instead of falling back to <body>.
(function () {
  "use strict";
  var openerId = null;
  document.addEventListener("click", function (event) {
    var control = event.target.closest("a[id],button[id]");
    if (control && !control.closest("dialog")) openerId = control.id;
  }, true);

  function restoreFocus() {
    if (!openerId || document.querySelector("dialog[open]")) return;
    var active = document.activeElement;
    if (active && active !== document.body && document.body.contains(active)) return;
    var control = document.getElementById(openerId);
    if (control) control.focus();
  }
  document.addEventListener("htmx:afterSettle", function () { setTimeout(restoreFocus, 0); });
  document.addEventListener("close", function () { setTimeout(restoreFocus, 0); }, true);
})();

// Contacts table (issue 8): "select all on this page", a live count of selected rows, and the
// bulk bar showing only the list/tag/status picker the chosen action needs. Without JS every
// picker stays visible and rows are ticked one by one.
(function () {
  "use strict";
  function bulkForm() { return document.getElementById("bulk-form"); }
  function rowBoxes() { return document.querySelectorAll('input[name="contact_ids"][form="bulk-form"]'); }
  function refreshCount() {
    var label = document.querySelector("[data-selected-count]");
    if (!label) return;
    var n = 0;
    rowBoxes().forEach(function (box) { if (box.checked) n += 1; });
    label.textContent = n ? n + " selected row" + (n === 1 ? "" : "s") : "Selected rows";
  }
  function refreshPickers() {
    var form = bulkForm();
    if (!form) return;
    var action = form.querySelector("[data-bulk-action]");
    form.querySelectorAll("[data-for-actions]").forEach(function (el) {
      el.hidden = action.value ? el.getAttribute("data-for-actions").split(" ").indexOf(action.value) < 0 : false;
    });
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
      refreshCount();
    } else if (target.matches('input[name="contact_ids"]')) {
      refreshCount();
    } else if (target.matches("[data-bulk-action]")) {
      refreshPickers();
    }
  });
  function init() { refreshPickers(); refreshCount(); }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();

// A failed htmx request must not look like nothing happened: say why in the flash area.
(function () {
  "use strict";
  var MESSAGES = {
    400: "This page has expired. Reload it and try again.",
    403: "Your role does not allow this.",
    404: "This item no longer exists. Reload the page to see the current state.",
    413: "That upload is too large.",
    429: "Too many requests. Please wait a moment and try again.",
    503: "The service is briefly unavailable. Please try again in a few seconds."
  };
  function showError(text) {
    var area = document.getElementById("flashes");
    if (!area) return;
    var flash = document.createElement("div");
    flash.className = "flash flash-error";
    flash.setAttribute("role", "alert");
    flash.textContent = text;
    area.replaceChildren(flash);
  }
  // A 409 that names where it goes (HX-Retarget) explains a lost race itself (e.g. "This key
  // changed meanwhile"): show it like a normal answer instead of a generic error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 409 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    showError(MESSAGES[status] || "Something went wrong (" + status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check your connection and try again.");
  });
})();

// Sudo mode: a request the server stopped for the password (X-Sudo-Required) shows its dialog
// in #sudo-root (over any open panel, whose form stays as typed). Once POST /sudo confirms
// (HX-Trigger: sudoConfirmed) the very same request is issued again from its own element.
(function () {
  "use strict";
  var stopped = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail.xhr.getResponseHeader("X-Sudo-Required")) return;
    if (detail.requestConfig.path.indexOf("/sudo") !== 0) {
      stopped = { elt: detail.requestConfig.elt, verb: detail.requestConfig.verb,
                  path: detail.requestConfig.path };
    }
    detail.shouldSwap = true;  // the prompt is not an error to report
    detail.isError = false;
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("sudoConfirmed", function () {
      document.querySelectorAll("#sudo-root dialog[open]").forEach(function (d) { d.close(); });
      var request = stopped;
      stopped = null;
      if (request && document.body.contains(request.elt)) {
        htmx.ajax(request.verb, request.path, { source: request.elt });
      }
    });
  });
})();

// Key abilities: "All resources" or "Restricted" shows its own boxes and disables the other set
// (disabled boxes are not posted). Without JavaScript both show and the server reads the choice.
(function () {
  "use strict";
  function sync(picker) {
    var checked = picker.querySelector("input[data-access]:checked");
    var choice = checked ? checked.value : "all";
    picker.querySelectorAll("[data-access-for]").forEach(function (set) {
      var active = set.getAttribute("data-access-for") === choice;
      set.hidden = !active;
      set.disabled = !active;
    });
  }
  function syncAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-ability-picker]").forEach(sync);
  }
  document.addEventListener("change", function (event) {
    var picker = event.target.matches("input[data-access]") && event.target.closest("[data-ability-picker]");
    if (picker) sync(picker);
  });
  document.addEventListener("DOMContentLoaded", function () { syncAll(document); });
  document.addEventListener("htmx:load", function (event) { syncAll(event.target); });
})();

// Feedback after htmx actions (HX-Trigger showToast, see web.toast): a toast in the
// role="status" region and a brief highlight of the changed row. After a row is deleted, focus
// moves to the next row's first action (or the previous row's, or the page heading) instead of
// falling to <body>.
(function () {
  "use strict";
  var TOAST_MS = 5000, HIGHLIGHT_MS = 2000;
  function showToast(detail) {
    var region = document.getElementById("toasts");
    if (!region || !detail || !detail.message) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.textContent = detail.message;
    region.appendChild(toast);
    setTimeout(function () { toast.remove(); }, TOAST_MS);
  }
  function highlight(selector) {
    var row = selector && document.querySelector(selector);
    if (!row) return;
    row.classList.remove("just-changed");
    void row.offsetWidth;  // restart the animation when the same row changes twice
    row.classList.add("just-changed");
    setTimeout(function () { row.classList.remove("just-changed"); }, HIGHLIGHT_MS);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("showToast", function (event) {
      showToast(event.detail);
      // The row is swapped in after the trigger fires: highlight once it is in place.
      setTimeout(function () { highlight(event.detail && event.detail.highlight); }, 50);
    });
  });

  function firstAction(row) {
    return row && (row.querySelector("td.actions a, td.actions button") || row.querySelector("a, button"));
  }
  // An empty answer swapped over a table row deletes it. The row (and the dialog's form that
  // asked) leave the document, so htmx's later events never reach it: look once it is gone.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.tagName !== "TR" || event.detail.xhr.responseText.trim() !== "") return;
    var next = firstAction(target.nextElementSibling) || firstAction(target.previousElementSibling);
    if (!next) {
      next = document.querySelector("main h1");
      if (next) next.setAttribute("tabindex", "-1");
    }
    setTimeout(function () {
      if (next && !document.body.contains(target) && document.body.contains(next)) next.focus();
    }, 50);
  });
})();

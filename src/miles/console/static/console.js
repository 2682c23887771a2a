// miles console: keyboard shortcuts, and where focus and announcements go after htmx swaps in an answer.
// No inline script anywhere (the CSP allows none): this file is the console's only behaviour besides htmx.
//
// The server marks what an answer means:
//   data-announce      its words (or the attribute's value) go to the page's one live region, #announcer;
//   data-focus         focus moves there (the result), so a keyboard user carries on from it;
//   .error-summary     a refused form (role="alert"): focus goes to its first invalid field.
// Each mark is acted on once (a poll swapping a status in does not move focus back to an old result).
(function () {
  "use strict";

  // "/" jumps to the member search
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    var search = document.getElementById("q");
    event.preventDefault();
    if (search) { search.focus(); search.select(); } else { window.location.href = "/console/members"; }
  });

  function words(element) {
    var given = element.getAttribute("data-announce");
    return (given || element.textContent || "").replace(/\s+/g, " ").trim();
  }

  var pending = [];
  var timer = null;

  // Every outcome not yet announced, in document order, into the live region. The region is emptied first
  // and written a moment later, so that the same words twice are read twice.
  function announce() {
    var fresh = document.querySelectorAll("[data-announce]:not([data-announced])");
    for (var i = 0; i < fresh.length; i++) {
      fresh[i].setAttribute("data-announced", "");
      var text = words(fresh[i]);
      if (text) pending.push(text);
    }
    if (!pending.length) return;
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () {
      region.textContent = pending.join(" ");
      pending = [];
      timer = null;
    }, 50);
  }

  function focusOn(element) {
    if (!element) return false;
    if (!element.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(element.tagName)) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus({ preventScroll: true });
    element.scrollIntoView({ block: "nearest" });
    return document.activeElement === element;
  }

  // Where focus goes after an answer: a refused form's first invalid field, else the result it marks.
  // Returns whether it moved focus.
  function focusResult(scope) {
    var summary = scope.querySelector(".error-summary:not([data-seen])");
    if (summary) {
      summary.setAttribute("data-seen", "");
      var form = summary.closest("section, tbody, .card, form") || scope;
      var invalid = form.querySelector('[aria-invalid="true"]');
      return focusOn(invalid || summary);
    }
    var marked = scope.querySelector("[data-focus]");
    if (marked) {
      marked.removeAttribute("data-focus");
      return focusOn(marked);
    }
    return false;
  }

  // Focus held inside what a swap replaces would fall to the page's body: remember where it was.
  var lostFrom = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    lostFrom = null;
    if (target && active && active !== document.body && target.contains(active)) {
      lostFrom = { id: active.id, target: target.id };
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    announce();
    if (focusResult(document)) return;
    var active = document.activeElement;
    if (active && active !== document.body) return; // focus was elsewhere: leave it where the agent is
    if (!lostFrom) return;
    var again = (lostFrom.id && document.getElementById(lostFrom.id)) ||
      (lostFrom.target && document.getElementById(lostFrom.target)) || event.detail.target;
    if (again && again.isConnected) {
      var heading = again.matches("h1, h2, h3, input, select, textarea, button, a") ? null : again.querySelector("h2, h1, h3");
      focusOn(heading || again);
    }
    lostFrom = null;
  });

  // A page served whole (a form sent without htmx, a refused filter) puts focus where its answer is.
  // A refused page (sign-in, for one) that says why in an alert: focus on its first invalid field.
  document.addEventListener("DOMContentLoaded", function () {
    var marked = document.querySelectorAll("[data-announce]");
    for (var i = 0; i < marked.length; i++) marked[i].setAttribute("data-announced", "");
    if (focusResult(document)) return;
    if (document.querySelector('#main [role="alert"]')) focusOn(document.querySelector('#main [aria-invalid="true"]'));
  });
})();

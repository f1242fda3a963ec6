// jobdeck: show times in the browser's time zone, and refresh rows still in progress without a reload.
"use strict";
(function () {
  var REFRESH_MS = 1000;
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        el.textContent = format.format(when);
        el.title = el.getAttribute("datetime");
      }
    });
  }

  // The server renders rows and the detail section; refreshing fetches the same page and swaps in the
  // fresh markup for anything that was still live, so the page never needs to know two templates.
  function liveNodes() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live='true'][id]"));
  }

  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

  // Tells assistive technology, through the page's status region, that a live job changed status.
  function announce(node, adopted) {
    var region = document.getElementById("live-status");
    var status = adopted.querySelector(".status[title]");
    if (!region || !status || node.getAttribute("data-status") === adopted.getAttribute("data-status")) {
      return;
    }
    region.textContent = (adopted.getAttribute("data-name") || "Job") + ": " + status.getAttribute("title");
  }

  // Swapping a node that holds the keyboard focus would drop it on the body: move it to the same place
  // in the fresh markup (by position among the focusable elements), or to the main region if that is gone.
  function swap(node, adopted) {
    var focused = document.activeElement;
    var index = node.contains(focused) ? Array.prototype.indexOf.call(node.querySelectorAll(FOCUSABLE), focused) : -2;
    node.replaceWith(adopted);
    if (index === -2) {
      return;
    }
    var same = index >= 0 ? adopted.querySelectorAll(FOCUSABLE)[index] : null;
    var target = same || document.getElementById("main");
    if (target) {
      target.focus({ preventScroll: true });
    }
  }

  function refresh() {
    var nodes = liveNodes();
    if (nodes.length === 0) {
      return;
    }
    if (document.hidden) {  // a background tab asks again when it is looked at
      window.setTimeout(refresh, REFRESH_MS);
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        nodes.forEach(function (node) {
          var replacement = fresh.getElementById(node.id);
          if (!replacement) {
            return;
          }
          var adopted = document.importNode(replacement, true);
          localize(adopted);
          // Only swap what changed, so focus and text selection stay put while nothing happens.
          if (adopted.outerHTML !== node.outerHTML) {
            announce(node, adopted);
            swap(node, adopted);
          }
        });
      })
      .catch(function () { /* a missed refresh is retried on the next tick */ })
      .finally(function () { window.setTimeout(refresh, REFRESH_MS); });
  }

  // The filters leave out the fields left blank: a short address to share, and no empty date for the
  // server to refuse.
  function dropEmptyFilters(event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.filters")) {
      return;
    }
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && value !== "") {
        params.append(name, value);
      }
    });
    event.preventDefault();
    window.location.assign(form.action + "?" + params.toString());
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("submit", dropEmptyFilters);
    localize(document);
    window.setTimeout(refresh, REFRESH_MS);
  });
})();

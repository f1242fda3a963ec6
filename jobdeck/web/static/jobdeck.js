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
            node.replaceWith(adopted);
          }
        });
      })
      .catch(function () { /* a missed refresh is retried on the next tick */ })
      .finally(function () { window.setTimeout(refresh, REFRESH_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    window.setTimeout(refresh, REFRESH_MS);
  });
})();

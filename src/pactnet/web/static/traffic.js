// The traffic page, live: on each `changed` event, fetch the page again and swap in its table.
// Progressive enhancement only: without this file the page and its Refresh link work the same.
(function () {
  "use strict";
  var table = document.getElementById("traffic-rows");
  if (!table || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var source = new EventSource("/ui/traffic/events?since=" + encodeURIComponent(table.dataset.digest));
  source.addEventListener("open", function () { status.textContent = "Live: updates as reports move."; });
  source.addEventListener("signed-out", function () { source.close(); window.location.assign("/ui/sign-in"); });
  source.addEventListener("changed", function () {
    fetch("/ui/traffic", { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("traffic-rows");
        if (fresh) { table.replaceWith(fresh); table = fresh; status.textContent = "Updated " + new Date().toLocaleTimeString() + "."; }
      })
      .catch(function () { status.textContent = "Could not update: use Refresh."; });
  });
}());

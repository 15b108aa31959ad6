// Live updates: the page arrived complete; this only adds what closes afterwards. It listens to
// the node's event stream (/events, named by <body data-events>) and, for each event, fetches the
// row the server renders for it (same template, same language) into the matching
// <tbody data-live="ledger|tx" data-fragment="...{seq}|{hash}..." data-keep="N">.
// Without JavaScript, or if the stream fails, the page simply stays as it was loaded.
(function () {
  "use strict";
  var source = document.body.getAttribute("data-events");
  if (!source || !window.EventSource || !window.fetch) { return; }
  var lang = document.body.getAttribute("data-lang") || "en";

  function insert(kind, key, value) {
    var bodies = document.querySelectorAll('tbody[data-live="' + kind + '"]');
    Array.prototype.forEach.call(bodies, function (body) {
      if (body.querySelector("tr[data-" + key + '="' + value + '"]')) { return; }
      var url = body.getAttribute("data-fragment").replace("{" + key + "}", encodeURIComponent(value));
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (!html || body.querySelector("tr[data-" + key + '="' + value + '"]')) { return; }
          var holder = document.createElement("tbody");
          holder.innerHTML = html.trim();
          var row = holder.querySelector("tr");
          if (!row) { return; }
          row.classList.add("arrived");
          body.insertBefore(row, body.firstChild);
          var keep = parseInt(body.getAttribute("data-keep") || "0", 10);
          while (keep > 0 && body.rows.length > keep) { body.deleteRow(body.rows.length - 1); }
        });
    });
  }

  function setText(name, text) {
    Array.prototype.forEach.call(document.querySelectorAll('[data-live-text="' + name + '"]'), function (el) {
      el.textContent = text;
      if (el.tagName === "A") { el.setAttribute("href", "/web/ledgers/" + text); }
    });
  }

  var stream = new EventSource(source);
  stream.addEventListener("ledger", function (event) {
    var ledger = JSON.parse(event.data);
    setText("ledger-seq", String(ledger.seq));
    insert("ledger", "seq", String(ledger.seq));
  });
  stream.addEventListener("tx", function (event) {
    insert("tx", "hash", JSON.parse(event.data).hash);
  });
  stream.addEventListener("gap", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-status]"), function (el) {
      el.textContent = el.getAttribute("data-gap-text") || el.textContent;
    });
  });
})();

// Live updates: the page arrived complete; this only adds what closes afterwards. It listens to
// the node's event stream (/events, named by <body data-events>) and, for each event, fetches the
// row the server renders for it (same template, same language) into the matching
// <tbody data-live="ledger|tx" data-fragment="...{seq}|{hash}..." data-keep="N">, and fetches again
// the parts marked data-live-refresh (below).
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

  // A part of the page rendered again by the server (<div data-live-refresh="URL">, e.g. a
  // proposal's count): when a vote on data-proposal arrives, when a ledger closes at or after
  // data-refresh-at (the deadline), and at least every data-refresh-every ms while ledgers close.
  // A fragment without data-live-refresh of its own (a decided proposal) ends the refreshing.
  var refreshed = Date.now();
  function refresh(el) {
    var url = el.getAttribute("data-live-refresh");
    if (!url) { return; }
    refreshed = Date.now();
    fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        el.innerHTML = html;
        if (el.querySelector(".outcome.open") === null) { el.removeAttribute("data-live-refresh"); }
      });
  }
  function refreshing() { return document.querySelectorAll("[data-live-refresh]"); }

  var stream = new EventSource(source);
  stream.addEventListener("ledger", function (event) {
    var ledger = JSON.parse(event.data);
    setText("ledger-seq", String(ledger.seq));
    insert("ledger", "seq", String(ledger.seq));
    Array.prototype.forEach.call(refreshing(), function (el) {
      var due = parseInt(el.getAttribute("data-refresh-at") || "0", 10);
      var every = parseInt(el.getAttribute("data-refresh-every") || "0", 10);
      if ((due && ledger.close_time_ms >= due) || (every && Date.now() - refreshed >= every)) { refresh(el); }
    });
  });
  stream.addEventListener("tx", function (event) {
    var tx = JSON.parse(event.data);
    insert("tx", "hash", tx.hash);
    Array.prototype.forEach.call(refreshing(), function (el) {
      var wanted = el.getAttribute("data-proposal");
      var votes = (tx.operations || []).some(function (op) { return op.type === "vote" && op.proposal === wanted; });
      if (wanted && votes && tx.code === "ok") { refresh(el); }
    });
  });
  stream.addEventListener("gap", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-status]"), function (el) {
      el.textContent = el.getAttribute("data-gap-text") || el.textContent;
    });
  });
})();

// The console: the CSRF token on htmx requests; one beat for every polled part of a page
// (the queues, the request page's hand-off panel and messages), kept up in a background
// tab; parts swapped only when what they show changed. On the queues: the tab's title,
// the summary, acknowledging from a row, and the alert sound.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
    // A polled part says what it shows: the server answers 204 (nothing to swap) while
    // that is still current, so a poll never wipes what is being typed into it.
    var shown = event.detail.elt.getAttribute("data-version");
    if (shown !== null) { event.detail.headers["X-Shown-Version"] = shown; }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var version = event.detail.xhr && event.detail.xhr.getResponseHeader("X-Version");
    if (version !== null && event.detail.elt.hasAttribute("data-version")) {
      event.detail.elt.setAttribute("data-version", version);
    }
  });

  // A field that had the focus in a part that changed gets it back (by its name).
  var focusedName = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    focusedName = active && active.name && event.detail.target.contains(active) ? active.name : null;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (focusedName === null) { return; }
    var again = event.detail.target.querySelector('[name="' + window.CSS.escape(focusedName) + '"]');
    if (again) { again.focus(); }
    focusedName = null;
  });

  // Polling ------------------------------------------------------------------------
  // Every part marked data-poll is fetched again on each beat. A worker's timer keeps a
  // 2-second pace in a background tab (the page's own timers are slowed there to once a
  // minute after a few minutes).
  function poll() {
    if (!window.htmx) { return; }
    document.querySelectorAll("[data-poll]").forEach(function (part) {
      window.htmx.trigger(part, "console-tick");
    });
  }
  var ticker = document.querySelector('meta[name="console-ticker"]');
  if (ticker && document.querySelector("[data-poll]")) {
    var paced = false;
    var paceHere = function () {
      if (!paced) { paced = true; window.setInterval(poll, 2000); }
    };
    try {
      var beat = new Worker(ticker.content);
      beat.onmessage = poll;
      beat.onerror = paceHere;
    } catch (error) {
      paceHere();
    }
  }

  // The queues -------------------------------------------------------------------------
  var poller = document.getElementById("queue-poller");
  if (!poller) { return; }

  // A row is not replaced under a pointer pressing its button.
  var pressing = false;
  poller.addEventListener("pointerdown", function () { pressing = true; });
  document.addEventListener("pointerup", function () { window.setTimeout(function () { pressing = false; }, 100); });
  document.addEventListener("pointercancel", function () { pressing = false; });
  poller.addEventListener("htmx:beforeSwap", function (event) {
    if (pressing && event.detail.elt === poller) { event.detail.shouldSwap = false; }
  });

  // Acknowledging from a row: the rows are fetched again at once.
  var failed = document.getElementById("acknowledge-failed");
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.classList || !form.classList.contains("portal-queue__acknowledge")) { return; }
    if (failed) { failed.hidden = event.detail.successful; }
    poll();
  });

  // Sound ------------------------------------------------------------------------------
  // One toggle that says what is true now: "Sound on" only while the browser lets the
  // page play sound. Browsers hold sound until a click on the page; the choice is kept
  // per workstation (on unless turned off here).
  var box = document.querySelector(".portal-sound");
  var toggle = document.getElementById("sound-toggle");
  var note = document.getElementById("sound-note");
  var KEY = "portal.console.sound";
  var AudioContext = window.AudioContext || window.webkitAudioContext;
  var context = AudioContext ? new AudioContext() : null;
  var sound = null;

  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (error) { return null; }
  }
  function store(value) {
    try { window.localStorage.setItem(KEY, value); } catch (error) { /* private mode */ }
  }
  var wanted = stored() !== "off";

  function audible() { return wanted && context !== null && context.state === "running"; }
  function show() {
    var on = audible();
    toggle.textContent = on ? toggle.dataset.on : toggle.dataset.off;
    toggle.setAttribute("aria-pressed", String(on));
    note.hidden = on || !wanted;
  }
  function play() {
    if (!audible() || sound === null) { return; }
    var source = context.createBufferSource();
    source.buffer = sound;
    source.connect(context.destination);
    source.start();
  }
  function allow() {
    return context.resume().then(show, show);
  }

  if (context !== null) {
    window.fetch(box.dataset.sound)
      .then(function (response) { return response.arrayBuffer(); })
      .then(function (data) { return context.decodeAudioData(data); })
      .then(function (decoded) { sound = decoded; })
      .catch(function () { /* no sound file: the title still counts */ });
    context.addEventListener("statechange", show);
    toggle.hidden = false;
    show();
    toggle.addEventListener("click", function () {
      if (audible()) {
        wanted = false;
        store("off");
        show();
      } else {
        wanted = true;
        store("on");
        allow().then(play);
      }
    });
    // Any click or key on the page lets the sound chosen here play.
    var unlock = function (event) {
      if (wanted && context.state !== "running" && event.target !== toggle) { allow(); }
    };
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true);
  }

  // After each poll --------------------------------------------------------------------
  var baseTitle = document.title;
  var summary = document.getElementById("queue-summary");
  var newestSeen = null;
  var newestTextSeen = null;

  function check() {
    var queue = document.getElementById("queue");
    if (!queue) { return; }
    var data = queue.dataset;
    var waiting = Number(data.waiting || 0);
    var prefix = data.title !== undefined ? data.title : (waiting ? "(" + waiting + ")" : "");
    document.title = prefix ? prefix + " " + baseTitle : baseTitle;
    // The locked and signed-out screens say what happened in their heading.
    var heading = queue.querySelector("h2");
    var words = data.summary !== undefined ? data.summary : (heading ? heading.textContent : "");
    if (summary && words && summary.textContent !== words) { summary.textContent = words; }
    // A sound for a new request nobody has, and for a texter's new text.
    var newest = Number(data.newest || 0);
    var newestText = Number(data.newestText || 0);
    if ((newestSeen !== null && newest > newestSeen) || (newestTextSeen !== null && newestText > newestTextSeen)) {
      play();
    }
    newestSeen = Math.max(newestSeen || 0, newest);
    newestTextSeen = Math.max(newestTextSeen || 0, newestText);
  }
  // On the swap itself: a settle delay is a timer, slowed in a background tab.
  document.addEventListener("htmx:afterSwap", check);
  check();
})();

// The dispatcher console: CSRF token on htmx requests, and a sound when a request arrives.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
  });

  var box = document.querySelector(".portal-sound");
  if (!box) { return; }
  var enable = document.getElementById("enable-sound");
  var mute = document.getElementById("mute-sound");
  var audio = new Audio(box.dataset.sound);
  var soundOn = false;
  var muted = false;
  var newestSeen = null;
  var baseTitle = document.title;
  enable.hidden = false;

  // Browsers play sound only after the user has clicked on the page.
  enable.addEventListener("click", function () {
    audio.play().then(function () { soundOn = true; enable.hidden = true; mute.hidden = false; }).catch(function () {});
  });
  mute.addEventListener("click", function () {
    muted = !muted;
    mute.setAttribute("aria-pressed", String(muted));
  });

  function check() {
    var queue = document.getElementById("queue");
    if (!queue) { return; }
    var newest = Number(queue.dataset.newest || 0);
    var waiting = Number(queue.dataset.waiting || 0);
    document.title = waiting ? "(" + waiting + ") " + baseTitle : baseTitle;
    if (newestSeen !== null && newest > newestSeen && soundOn && !muted) {
      audio.currentTime = 0;
      audio.play().catch(function () {});
    }
    newestSeen = Math.max(newestSeen || 0, newest);
  }
  document.addEventListener("htmx:afterSettle", check);
  check();
})();

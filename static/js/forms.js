// Character counts under free-text fields that have a maximum (templates/macros/forms.html).
//
// The fields have no maxlength, which cut a long paste silently: everything typed is
// kept, the count says how far over it is, and the server refuses over-long text with
// the same maximum (the page works without this script). The templates come translated
// from the server; the numbers are put in here, in the page's locale.
(function () {
  "use strict";
  var PAUSE = 1000; // ms without typing before a screen reader hears the count
  var lang = document.documentElement.lang || "en";
  var numbers, plurals;
  try {
    numbers = new Intl.NumberFormat(lang);
    plurals = new Intl.PluralRules(lang);
  } catch (error) {
    numbers = new Intl.NumberFormat("en");
    plurals = new Intl.PluralRules("en");
  }

  // As the server counts: in characters (code points, so an emoji is one), and a line
  // break in a text box is sent as two (CR LF).
  function length(field) {
    var value = field.value;
    var count = Array.from(value).length;
    if (field.tagName === "TEXTAREA") { count += (value.match(/\n/g) || []).length; }
    return count;
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (placeholder, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? numbers.format(values[name]) : placeholder;
    });
  }

  // templates: a sample number -> the catalogue's form for it. The form for n is the one
  // whose sample has n's plural category; else the last (the largest sample's, "other").
  function plural(templates, n) {
    var category = plurals.select(n);
    var chosen = null;
    Object.keys(templates).forEach(function (sample) {
      if (chosen === null && plurals.select(Number(sample)) === category) { chosen = templates[sample]; }
    });
    if (chosen !== null) { return chosen; }
    var samples = Object.keys(templates);
    return templates[samples[samples.length - 1]];
  }

  function setUp(count) {
    var field = document.getElementById(count.getAttribute("data-char-count-for"));
    if (!field) { return; }
    var max = Number(field.getAttribute("data-max-length"));
    var near = Number(count.getAttribute("data-near")) * max;
    var of = count.getAttribute("data-of");
    var over = JSON.parse(count.getAttribute("data-over"));

    // What a screen reader hears: only after a pause in typing, and only near or over
    // the maximum (or when coming back from there), never on every keystroke.
    var live = document.createElement("div");
    live.className = "usa-sr-only";
    live.dir = "auto";
    live.setAttribute("aria-live", "polite");
    count.parentNode.insertBefore(live, count.nextSibling);
    var timer = null;
    var announced = "";
    var wasNear = false;

    function status() {
      var typed = length(field);
      var shown = typed >= near || typed > max;
      var text = "";
      if (typed > max) {
        text = fill(plural(over, typed - max), { num: typed - max });
      } else if (shown) {
        text = fill(of, { count: typed, num: max });
      }
      return { typed: typed, shown: shown, over: typed > max, text: text };
    }

    // The count describes the field while it is shown.
    function describe(shown) {
      var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      var at = ids.indexOf(count.id);
      if (shown && at < 0) { ids.push(count.id); }
      if (!shown && at >= 0) { ids.splice(at, 1); }
      if (ids.length) { field.setAttribute("aria-describedby", ids.join(" ")); }
      else { field.removeAttribute("aria-describedby"); }
    }

    function show() {
      var now = status();
      count.hidden = !now.shown;
      describe(now.shown);
      count.textContent = now.text;
      count.classList.toggle("portal-char-count--over", now.over);
      return now;
    }

    function announce() {
      timer = null;
      var now = status();
      var isNear = now.shown && (now.over || now.typed >= 0.9 * max);
      var text = isNear || wasNear ? now.text : "";
      wasNear = isNear;
      if (text && text !== announced) {
        announced = text;
        live.textContent = text;
      }
    }

    field.addEventListener("input", function () {
      show();
      if (timer !== null) { clearTimeout(timer); }
      timer = setTimeout(announce, PAUSE);
    });
    var first = show();
    // Already near or over when the page opened (the server sent it back): no
    // announcement now, the error summary speaks; later changes are announced.
    wasNear = first.over || first.typed >= 0.9 * max;
    announced = wasNear ? first.text : "";
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-char-count-for]"), setUp);
})();

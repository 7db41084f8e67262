// The character counter of the long fields (a need's text, a seed's summary, the titles): the count and the limit
// as the user types, a warning from 90% of the limit, and a clear message once over it. The fields carry no
// maxlength, which made the browser cut a pasted text silently; the server refuses a text over the limit with a
// Japanese message instead, and this counter says so before the form is sent.
// Characters are counted as the server counts them: by code point (an emoji is one), a line break as one.
// The count itself is not a live region (a screen reader would read it at every key); a hidden live region says
// only when the text crosses into the warning or over the limit, and back.
(function () {
  var WARN_AT = 0.9;

  function count(text) {
    return Array.from(text.replace(/\r\n/g, "\n")).length;
  }

  function update(field, output, live) {
    var max = parseInt(field.getAttribute("data-max-chars"), 10);
    var n = count(field.value);
    var fmt = function (x) { return x.toLocaleString("ja-JP"); };
    var text = fmt(n) + " / " + fmt(max) + " 文字";
    var state = n > max ? "over" : (n >= max * WARN_AT ? "warn" : "ok");
    output.classList.remove("warn", "over");
    if (state === "over") {
      text += "（上限を " + fmt(n - max) + " 文字超えています。このままでは保存できません。減らしてください）";
    } else if (state === "warn") {
      text += "（残り " + fmt(max - n) + " 文字）";
    }
    if (state !== "ok") output.classList.add(state);
    output.textContent = text;
    if (live.getAttribute("data-state") !== state) {
      live.setAttribute("data-state", state);
      live.textContent = state === "ok" ? "" : text;
    }
    field.setAttribute("aria-invalid", n > max ? "true" : field.getAttribute("data-server-invalid") || "false");
  }

  function attach(field) {
    var output = document.getElementById(field.id + "-count");
    if (!output) return;
    var live = document.createElement("span");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");
    live.setAttribute("data-state", "ok");
    output.after(live);
    field.setAttribute("data-server-invalid", field.getAttribute("aria-invalid") || "false");
    update(field, output, live);
    field.addEventListener("input", function () { update(field, output, live); });
  }

  function start() {
    document.querySelectorAll("[data-max-chars]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// Behaviour the pages once wrote inline (onclick=, javascript:), which the pages' CSP (script-src 'self') refuses:
// - a button with data-confirm asks before its form is sent;
// - a link with data-back goes back in the history (without JavaScript it goes to its href, the home page).
document.addEventListener("click", function (event) {
  var asking = event.target.closest("[data-confirm]");
  if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
    event.preventDefault();
    return;
  }
  var back = event.target.closest("a[data-back]");
  if (back && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// Injected by tests/test_html_browser.py into a copy of report.html (the report itself has no
// script): records every equation, table, figure and pre block wider than the text column
// (body content box) or extending past it, or past the table cell holding it, as JSON in
// <body data-overflow="...">.
function gradproofMeasure() {
  var body = document.body;
  var style = getComputedStyle(body);
  var box = body.getBoundingClientRect();
  var left = box.left + parseFloat(style.paddingLeft);
  var right = box.right - parseFloat(style.paddingRight);
  var bad = [];
  var checked = 0;
  document.querySelectorAll("math, .eq, table, figure, pre, img").forEach(function (el) {
    var r = el.getBoundingClientRect();
    checked += 1;
    var own = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible";
    // inside a table cell: the cell's content box is the column
    // (the outermost cell of a layout table, not a cell of an equation's own row table)
    var cell = null;
    for (var up = el.parentElement; up; up = up.parentElement) {
      if ((up.tagName === "TD" || up.tagName === "TH") && !up.closest("table.rows")) {
        cell = up;
        break;
      }
    }
    var cl = left, cr = right;
    if (cell && cell !== el) {
      var cs = getComputedStyle(cell), cb = cell.getBoundingClientRect();
      cl = cb.left + parseFloat(cs.paddingLeft) + parseFloat(cs.borderLeftWidth);
      cr = cb.right - parseFloat(cs.paddingRight) - parseFloat(cs.borderRightWidth);
    }
    if (r.right > Math.min(right, cr) + 1 || r.left < Math.max(left, cl) - 1 || own) {
      var host = el.closest("[id]");
      bad.push({tag: el.tagName.toLowerCase(), id: host ? host.id : "", left: Math.round(r.left),
                right: Math.round(r.right), column: [Math.round(left), Math.round(right)],
                scroll: own});
    }
  });
  body.setAttribute("data-column", Math.floor(left) + "," + Math.ceil(right) + "," +
                    Math.ceil(document.documentElement.scrollHeight));
  body.setAttribute("data-checked", String(checked));
  body.setAttribute("data-overflow", JSON.stringify(bad.slice(0, 20)));
  body.setAttribute("data-overflow-count", String(bad.length));
  if (window.parent !== window) {  // inside the phone-width iframe of the test: report to the host page
    window.parent.postMessage({column: body.getAttribute("data-column"), checked: String(checked),
                               overflow: JSON.stringify(bad.slice(0, 20)), count: String(bad.length)}, "*");
  }
}
// after every image and font has loaded, so that the layout is the one a reader sees
window.addEventListener("load", function () {
  (document.fonts ? document.fonts.ready : Promise.resolve()).then(gradproofMeasure);
});

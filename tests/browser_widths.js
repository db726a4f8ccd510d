// Injected by tests/test_html_browser.py into a copy of report.html (the report itself has no
// script): records every equation, table, figure and pre block wider than the text column
// (body content box) or extending past it, as JSON in <body data-overflow="...">.
(function () {
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
    if (r.right > right + 1 || r.left < left - 1 || own) {
      var host = el.closest("[id]");
      bad.push({tag: el.tagName.toLowerCase(), id: host ? host.id : "", left: Math.round(r.left),
                right: Math.round(r.right), column: [Math.round(left), Math.round(right)],
                scroll: own});
    }
  });
  body.setAttribute("data-checked", String(checked));
  body.setAttribute("data-overflow", JSON.stringify(bad.slice(0, 20)));
  body.setAttribute("data-overflow-count", String(bad.length));
})();

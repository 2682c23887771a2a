// miles console: keyboard shortcuts only (htmx does the rest). "/" jumps to the member search.
document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  var target = event.target;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
  var search = document.getElementById("q");
  event.preventDefault();
  if (search) { search.focus(); search.select(); } else { window.location.href = "/console/members"; }
});

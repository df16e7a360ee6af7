// Applied before first paint (a classic script, not a module): the saved theme of the last
// workspace, default Slate.
(function () {
  try {
    var ws = localStorage.getItem("flowai.workspace") || "default";
    var saved = JSON.parse(localStorage.getItem("flowai.settings." + ws) || "{}");
    document.documentElement.dataset.theme = saved.theme || "slate";
  } catch (e) {
    document.documentElement.dataset.theme = "slate";
  }
})();

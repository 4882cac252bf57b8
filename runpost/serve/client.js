// The live-reload client, added to each HTML page the preview serves (never to the files).
// `state` is {generation, error, events}: the build generation the page was served from,
// the last build's error text (or null), and the server-sent events path.
// Reload on a good build; show an overlay with the errors on a failed one. The page knows
// its generation, so a build that finished between serving the page and connecting still
// triggers a reload.
(function (state) {
  var overlay = null;
  function show(text) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "runpost-error-overlay";
      overlay.setAttribute("role", "alert");
      // Every colour is set here, none inherited: the page's own light or dark styles must not
      // make the errors unreadable.
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;padding:2rem;" +
        "margin:0;box-sizing:border-box;color-scheme:dark;background:#1b0d0d;color:#f4f4f4;" +
        "font:14px/1.5 ui-monospace,Menlo,Consolas,monospace;text-align:left";
      document.body.appendChild(overlay);
    }
    overlay.innerHTML = "<h2 style='margin:0 0 1rem;padding:0;font:bold 18px system-ui,sans-serif;" +
      "color:#ffb4b4;background:none'>runpost: build failed</h2>" +
      "<pre style='white-space:pre-wrap;margin:0;padding:0;border:0;background:none;color:#f4f4f4;" +
      "font:inherit'></pre><p style='margin:1rem 0 0;font:14px system-ui,sans-serif;color:#e0e0e0;" +
      "background:none'>Fix the source; this page reloads after the next good build.</p>";
    overlay.querySelector("pre").textContent = text;
  }
  if (state.error) show(state.error);
  var source = new EventSource(state.events);
  source.addEventListener("build", function (event) {
    var result = JSON.parse(event.data);
    if (result.generation === state.generation) return;
    if (result.error) { state.generation = result.generation; show(result.error); }
    else location.reload();
  });
})

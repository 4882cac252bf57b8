// YouTube and Vimeo without tracking: the page ships a local placeholder link;
// only a click (or Enter/Space on the focused link) loads the player, from
// youtube-nocookie.com or player.vimeo.com with dnt=1. Without JavaScript the
// link simply opens the video.
(function () {
  "use strict";

  var ALLOW = "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture";

  function playerUrl(link) {
    if (link.hasAttribute("data-vimeo-id")) {
      var parts = (link.getAttribute("data-vimeo-id") || "").split("/");   // "id" or "id/hash" (unlisted)
      var query = new URLSearchParams({ autoplay: "1", dnt: "1" });
      if (parts[1]) query.set("h", parts[1]);
      return "https://player.vimeo.com/video/" + encodeURIComponent(parts[0]) + "?" + query.toString();
    }
    var id = link.getAttribute("data-youtube-id") || "";
    var params = new URLSearchParams({ autoplay: "1" });
    var start = parseInt(link.getAttribute("data-start") || "", 10);
    if (start > 0) params.set("start", String(start));
    return "https://www.youtube-nocookie.com/embed/" + encodeURIComponent(id) + "?" + params.toString();
  }

  function play(link) {
    var iframe = document.createElement("iframe");
    iframe.src = playerUrl(link);
    iframe.title = link.getAttribute("data-title") || "Video";
    iframe.setAttribute("allow", ALLOW);
    iframe.setAttribute("allowfullscreen", "");
    iframe.setAttribute("loading", "lazy");
    iframe.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    link.replaceWith(iframe);
    iframe.focus();
  }

  function embedLink(event) {
    var target = event.target;
    return target && target.closest
      ? target.closest(".youtube-embed__link[data-youtube-id], .vimeo-embed__link[data-vimeo-id]") : null;
  }

  document.addEventListener("click", function (event) {
    var link = embedLink(event);
    // Let modified clicks (new tab, new window) open the video as a normal link would.
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    play(link);
  });

  // Enter already fires "click" on a link; Space does not, so add it.
  document.addEventListener("keydown", function (event) {
    var link = embedLink(event);
    if (!link || (event.key !== " " && event.key !== "Spacebar")) return;
    event.preventDefault();
    play(link);
  });
})();

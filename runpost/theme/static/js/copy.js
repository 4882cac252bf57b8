// Copy buttons on every code block and cell output, and keyboard-reachable wide tables and
// formulas: progressive enhancement. Without
// JavaScript the page has no buttons and the code can still be selected. The
// copied text leaves out line numbers (Hugo's linenos, inline or table) and shell
// or Python prompts, so it runs as pasted. A live region says "Copied" to screen readers.
(function () {
  "use strict";

  // Highlighted code, cell output, and a plain fence (no language, or one Chroma does not know).
  var BLOCKS = ".highlight, pre";
  var SKIP = ".ln, .lnt, .linenos, .gp, .copy-bar";
  var status;

  function codeText(block) {
    // linenos=table: the numbers are in the first cell, the code in the last.
    var cells = block.querySelectorAll(".lntd");
    var source = cells.length ? cells[cells.length - 1] : block;
    var clone = source.cloneNode(true);
    Array.prototype.forEach.call(clone.querySelectorAll(SKIP), function (node) { node.remove(); });
    return clone.textContent.replace(/^\n+|\n+$/g, "");
  }

  function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {   // http:// pages: the old way
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var done = document.execCommand("copy");
      area.remove();
      if (done) resolve(); else reject(new Error("copy refused"));
    });
  }

  function announce(button, message) {
    status.textContent = "";
    // A fresh text node each time, so a second copy is announced again.
    window.setTimeout(function () { status.textContent = message; }, 50);
    button.textContent = message;
    window.clearTimeout(button.copyTimer);
    button.copyTimer = window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }

  function addButton(block) {
    var bar = document.createElement("span");   // a span: it may sit inside a <pre>
    bar.className = "copy-bar";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", block.matches("pre.cell-output") ? "Copy output" : "Copy code");
    button.addEventListener("click", function () {
      writeClipboard(codeText(block)).then(
        function () { announce(button, "Copied"); },
        function () { announce(button, "Copy failed"); });
    });
    bar.appendChild(button);
    block.insertBefore(bar, block.firstChild);
  }

  // A Markdown table or a displayed formula wider than the screen scrolls inside itself
  // (style.css). One a keyboard cannot reach hides its right-hand part from readers without a
  // mouse (Safari does not focus scrolling regions by itself; code blocks and {{< table >}}s carry
  // tabindex in their HTML): those that overflow get tabindex="0", again as the window changes.
  var WIDE = ".post-content > table, math[display=block]";
  function reachable() {
    Array.prototype.forEach.call(document.querySelectorAll(WIDE), function (region) {
      var added = region.hasAttribute("data-scroll-tabindex");
      if (region.scrollWidth > region.clientWidth + 1) {
        if (!region.hasAttribute("tabindex")) {
          region.setAttribute("tabindex", "0");
          region.setAttribute("data-scroll-tabindex", "");
        }
      } else if (added) {
        region.removeAttribute("tabindex");
        region.removeAttribute("data-scroll-tabindex");
      }
    });
  }

  function start() {
    reachable();
    window.addEventListener("resize", reachable);
    status = document.createElement("p");
    status.className = "visually-hidden copy-status";
    status.setAttribute("aria-live", "polite");
    document.body.appendChild(status);
    Array.prototype.forEach.call(document.querySelectorAll(BLOCKS), function (block) {
      if (!block.parentElement.closest(BLOCKS)) addButton(block);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

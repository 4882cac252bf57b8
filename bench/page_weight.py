"""Transfer weight of a built page: every response body (HTML, CSS, JS, images) while it loads.

    python bench/page_weight.py SITE_FOLDER posts/rnn-vs-lstm/

Serves SITE_FOLDER at http://127.0.0.1:<port>/, opens the page in headless Chromium
(a fresh context per viewport, so nothing is cached), scrolls to the bottom step by
step so lazy images load, waits for the network to go quiet, and sums the body sizes
of all responses. Prints two tables, one row per viewport (390 px at pixel ratio 2, a
phone; 1280 px at 1 and at 2):

- **sent**: the bodies as they travel from GitHub Pages, which gzips text (HTML, CSS,
  JS, SVG, XML, JSON) and sends images as they are. The text bodies are counted as
  Python's gzip at level 6 compresses them (the local server sends them whole);
- **uncompressed**: the bodies as stored in the site folder.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import threading
from collections import Counter
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TEXT = ("html", "css", "javascript", "svg+xml", "xml", "json", "plain")
IMAGES = ("png", "webp", "jpeg", "svg+xml", "gif", "avif")
VIEWPORTS = [("390 px, 2x", 390, 844, 2), ("1280 px, 1x", 1280, 900, 1), ("1280 px, 2x", 1280, 900, 2)]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def weigh(browser, url: str, width: int, height: int, ratio: int) -> tuple[Counter, Counter]:
    """(uncompressed, sent) body bytes by kind ('html', 'css', 'png', ...) and 'total'."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=ratio)
    page = context.new_page()
    bodies: Counter = Counter()
    sent: Counter = Counter()

    def record(response) -> None:
        try:
            body = response.body()
        except Exception:          # redirects and aborted requests have no body
            return
        kind = response.headers.get("content-type", "other").split(";")[0].split("/")[-1]
        compressed = len(gzip.compress(body, compresslevel=6, mtime=0)) if kind in TEXT else len(body)
        for counter, size in ((bodies, len(body)), (sent, compressed)):
            counter[kind] += size
            counter["total"] += size

    page.on("response", record)
    page.goto(url, wait_until="networkidle")
    scroll_height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, scroll_height + height, height // 2):
        page.evaluate(f"window.scrollTo(0, {top})")
        page.wait_for_timeout(100)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    context.close()
    return bodies, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("page", help="path of the page in the site, e.g. posts/rnn-vs-lstm/")
    options = parser.parse_args()
    server = serve(options.site)
    url = f"http://127.0.0.1:{server.server_address[1]}/{options.page}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rows = [(name, *weigh(browser, url, width, height, ratio)) for name, width, height, ratio in VIEWPORTS]
        browser.close()
        for title, column in (("sent (text gzipped, as GitHub Pages sends it)", 2), ("uncompressed", 1)):
            print(f"\n{title}\n\n| viewport | total (kB) | html | css | js | images |\n|---|---:|---:|---:|---:|---:|")
            for row in rows:
                bodies = row[column]
                images = sum(size for kind, size in bodies.items() if kind in IMAGES)
                print(f"| {row[0]} | {bodies['total'] / 1000:.0f} | {bodies['html'] / 1000:.0f} "
                      f"| {bodies['css'] / 1000:.0f} | {bodies['javascript'] / 1000:.0f} | {images / 1000:.0f} |")
    server.shutdown()


if __name__ == "__main__":
    main()

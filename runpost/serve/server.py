"""Live preview: `python build.py serve`.

Builds the site into a preview folder (never the deploy folder), serves it
under the config's base path (`/repo/` when base_url is
`https://user.github.io/repo/`), watches the sources and rebuilds on change.
Open tabs reload through a server-sent event; a failed build is printed in the
terminal, compiler style, and shown over the page until the next good build.

- Output: `<build_dir>/.preview/site/` (gitignored), built with
  base_url = http://HOST:PORT/<base path>, so canonical and feed URLs point at
  the preview. `site/` is never touched.
- Execution: the normal mode (stale posts only), so a prose edit reuses build/
  and never retrains.
- The reload script is added to HTML as it is served, never to the files.
- Restart `serve` after changing `base_url` (the served path is fixed at start).
"""
from __future__ import annotations

import dataclasses
import json
import mimetypes
import posixpath
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from ..config import CONFIG_NAME, Config, load_config
from ..errors import BuildError, BuildErrors
from ..report import Reporter

EVENTS_PATH = "/__runpost/events"
DEBOUNCE_SECONDS = 0.15
KEEPALIVE_SECONDS = 15.0
# Editor droppings and caches: changes to these never trigger a rebuild.
IGNORED_PARTS = ("__pycache__", ".git", ".ipynb_checkpoints")
IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp", ".pyc")


def serve(config: Config, reporter: Reporter, host: str = "127.0.0.1", port: int = 1313) -> int:
    running = start(config, reporter, host, port)
    reporter.info(f"serving {running.preview.url} (Ctrl+C to stop)")
    try:
        running.server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        reporter.info("stopped")
    finally:
        running.close()
    return 0


@dataclass
class Running:
    """A started preview: call server.serve_forever() to answer requests, close() to stop."""

    preview: "Preview"
    server: ThreadingHTTPServer
    observer: object | None          # the watchdog Observer, None without watchdog

    def close(self) -> None:
        self.preview.close()
        if self.observer is not None:
            self.observer.stop()
        self.server.server_close()


def start(config: Config, reporter: Reporter, host: str, port: int,
          build: Callable[[Config, Reporter], None] | None = None) -> Running:
    """Bind the server (port 0 picks a free one), build once, start watching."""
    preview = Preview(config, reporter, host, port, build)
    server = make_server(preview.output_dir, config.base_path, host, port, preview=preview)
    preview.port = server.server_address[1]  # the preview's base_url needs the real port
    preview.rebuild()
    observer = watch(preview.watched_paths(), preview.schedule_rebuild)
    return Running(preview, server, observer)


class Preview:
    """Builds into the preview folder and tells connected browsers about each result."""

    def __init__(self, config: Config, reporter: Reporter, host: str, port: int,
                 build: Callable[[Config, Reporter], None] | None = None):
        self.initial = config
        self._build = build            # the pipeline's build(); tests pass a stand-in
        self.reporter = reporter
        self.host = host
        self.port = port
        # build/.preview/ (gitignored) also holds execution/store.py's --param runs (<name>-<hash>/)
        # and pending memo results; the preview site takes its own "site" folder there.
        self.output_dir = config.build_dir / ".preview" / "site"
        self.generation = 0            # bumped after every build, good or bad
        self.error: str | None = None  # text of the last build's errors; None after a good build
        self.closed = False
        self._changed = threading.Condition()
        self._timer: threading.Timer | None = None
        self._build_lock = threading.Lock()

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://{shown}:{self.port}{self.initial.base_path}"

    def watched_paths(self) -> list[Path]:
        paths = [self.initial.content_dir, *self.initial.static_dirs, *self.initial.templates_dirs,
                 self.initial.root / CONFIG_NAME]
        return list(dict.fromkeys(paths))

    def config(self) -> Config:
        """The settings for one rebuild: runpost.toml re-read, command-line choices kept."""
        fresh = load_config(self.initial.root)
        keep = {name: getattr(self.initial, name) for name in
                ("content_dir", "build_dir", "drafts", "future", "mode", "params", "timeout", "debug")}
        return dataclasses.replace(fresh, **keep, output_dir=self.output_dir, base_url=self.url)

    def schedule_rebuild(self, changed: Path) -> None:
        # Editors save in bursts (temp file, rename, chmod); wait for the burst to end.
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(DEBOUNCE_SECONDS, self.rebuild, kwargs={"reason": changed})
        self._timer.daemon = True
        self._timer.start()

    def rebuild(self, reason: Path | None = None) -> bool:
        if self._build is None:
            from ..pipeline import build as pipeline_build  # imported late: serve.py stays light

            self._build = pipeline_build
        build = self._build
        with self._build_lock:
            if reason is not None:
                self.reporter.info(f"change in {_shown(reason)}: rebuilding")
            started = time.monotonic()
            try:
                build(self.config(), self.reporter)
                error = None
            except BuildErrors as errors:
                error = "\n".join(str(one) for one in errors.errors) + f"\nbuild failed: {len(errors.errors)} errors"
            except BuildError as one:
                error = str(one)
            except Exception as bug:  # a bug in runpost; keep serving so the user can fix and retry
                error = f"error: internal error: {type(bug).__name__}: {bug}"
            if error:
                print(error, file=sys.stderr, flush=True)
            else:
                self.reporter.info(f"built in {time.monotonic() - started:.2f}s")
            with self._changed:
                self.error = error
                self.generation += 1
                self._changed.notify_all()
            return error is None

    def wait_for_change(self, seen: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.generation != seen or self.closed, timeout)
            return self.generation

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()
        if self._timer is not None:
            self._timer.cancel()

    def inject(self, page: bytes) -> bytes:
        """Add the reload client (and the error overlay, if the last build failed) to served HTML."""
        snippet = client_script(self.generation, self.error).encode("utf-8")
        index = page.lower().rfind(b"</body>")
        return page + snippet if index < 0 else page[:index] + snippet + page[index:]


def client_script(generation: int, error: str | None) -> str:
    state = json.dumps({"generation": generation, "error": error, "events": EVENTS_PATH})
    state = state.replace("</", "<\\/")  # the error text must not close the script element
    return f"<script>\n(function (state) {{\n{_CLIENT_JS}\n}})({state});\n</script>\n"


# Reload on a good build; show an overlay with the errors on a failed one. The
# page knows the build generation it was served from, so a build that finished
# between serving the page and connecting still triggers a reload.
_CLIENT_JS = """
  var overlay = null;
  function show(text) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "runpost-error-overlay";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;padding:2rem;" +
        "background:rgba(20,0,0,.92);color:#fff;font:14px/1.5 ui-monospace,Menlo,Consolas,monospace";
      document.body.appendChild(overlay);
    }
    overlay.innerHTML = "<h2 style='margin:0 0 1rem;font:bold 18px system-ui,sans-serif;color:#ff9b9b'>" +
      "runpost: build failed</h2><pre style='white-space:pre-wrap;margin:0'></pre>" +
      "<p style='font:14px system-ui,sans-serif;color:#ddd'>Fix the source; this page reloads after the next good build.</p>";
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
"""


def make_server(site_dir: Path, base_path: str, host: str, port: int,
                preview: Preview | None = None) -> ThreadingHTTPServer:
    """An HTTP server for a built site under `base_path`, as GitHub Pages serves it."""
    handler = type("Handler", (SiteRequestHandler,), {"site_dir": Path(site_dir), "base_path": base_path,
                                                      "preview": preview})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


class SiteRequestHandler(BaseHTTPRequestHandler):
    """Serves site_dir at base_path: `/` redirects there, folders serve index.html,
    missing files get 404.html with status 404 (what GitHub Pages does)."""

    site_dir: Path = Path(".")
    base_path: str = "/"
    preview: Preview | None = None
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: the terminal is for build messages

    def _respond(self, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if self.preview is not None and path == EVENTS_PATH:
            return self._stream_events()
        if not path.startswith(self.base_path):
            if path.rstrip("/") + "/" == self.base_path:
                return self._redirect(self.base_path)
            return self._redirect(self.base_path) if path == "/" else self._not_found(send_body)
        relative = posixpath.normpath("/" + path[len(self.base_path):]).lstrip("/")
        target = self.site_dir / relative if relative not in ("", ".") else self.site_dir
        if target.is_dir():
            if not path.endswith("/"):
                return self._redirect(path + "/")
            target = target / "index.html"
        if not target.is_file():
            return self._not_found(send_body)
        self._send_file(target, HTTPStatus.OK, send_body)

    def _not_found(self, send_body: bool) -> None:
        page = self.site_dir / "404.html"
        if page.is_file():
            return self._send_file(page, HTTPStatus.NOT_FOUND, send_body)
        body = b"<!DOCTYPE html><title>Not found</title><p>Not found.</p>"
        if self.preview is not None and self.preview.error:
            body = self.preview.inject(b"<!DOCTYPE html><title>Build failed</title><body></body>")
        self._send(HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", body, send_body)

    def _send_file(self, file: Path, status: HTTPStatus, send_body: bool) -> None:
        body = file.read_bytes()
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/xml", "image/svg+xml"):
            kind += "; charset=utf-8"
        if self.preview is not None and kind.startswith("text/html"):
            body = self.preview.inject(body)
        self._send(status, kind, body, send_body)

    def _send(self, status: HTTPStatus, kind: str, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if self.preview is not None:
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY if self.preview is None else HTTPStatus.FOUND)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stream_events(self) -> None:
        preview = self.preview
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        seen = preview.generation
        try:
            self._send_event(seen, preview.error)
            while not preview.closed:
                current = preview.wait_for_change(seen, KEEPALIVE_SECONDS)
                if current == seen:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                seen = current
                self._send_event(seen, preview.error)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the tab closed or reloaded

    def _send_event(self, generation: int, error: str | None) -> None:
        data = json.dumps({"generation": generation, "error": error})
        self.wfile.write(f"event: build\ndata: {data}\n\n".encode("utf-8"))
        self.wfile.flush()


def watch(paths: list[Path], on_change: Callable[[Path], None]):
    """Call on_change(path) for every change under the given folders and files."""
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        print("warning: watchdog is not installed (pip install 'runpost[serve]'); "
              "serving without rebuilding on change", file=sys.stderr)
        return None

    files = {path.resolve() for path in paths if path.is_file() or path.suffix}
    folders = [path.resolve() for path in paths if path.is_dir()]

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type in ("opened", "closed", "closed_no_write"):
                return
            if event.is_directory and event.event_type == "modified":
                return  # the file event inside it names what changed
            for raw in (event.src_path, getattr(event, "dest_path", "")):
                if raw and _is_relevant(Path(raw), files, folders):
                    on_change(Path(raw))
                    return

    observer = Observer()
    handler = Handler()
    for folder in folders:
        observer.schedule(handler, str(folder), recursive=True)
    # Single files (runpost.toml): watch their folder, filter by name.
    for parent in {file.parent for file in files}:
        if parent not in folders:
            observer.schedule(handler, str(parent), recursive=False)
    observer.daemon = True
    observer.start()
    return observer


def _is_relevant(path: Path, files: set[Path], folders: list[Path]) -> bool:
    if path.name.endswith(IGNORED_SUFFIXES) or path.name.startswith(".#") or any(p in IGNORED_PARTS for p in path.parts):
        return False
    resolved = path.resolve()
    return resolved in files or any(resolved.is_relative_to(folder) for folder in folders)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


"""The preview's HTTP server: the built site under its base path, plus the event stream.

Served as GitHub Pages serves it: `/` redirects to the base path, folders
serve index.html, missing files get 404.html with status 404. A browser that
goes away mid-response is normal (a reload, a closed tab) and prints nothing.
"""
from __future__ import annotations

import json
import sys
import mimetypes
import posixpath
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from ..site.urls import split_url

if TYPE_CHECKING:
    from .preview import Preview

EVENTS_PATH = "/__runpost/events"
KEEPALIVE_SECONDS = 15.0


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of connections (a page's images, tabs
    # reconnecting after a restart) overflowed it and the next connect waited a second for
    # the kernel to retry (test_serve's 20 hung-up clients took 2 s, now milliseconds).
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the client went away: not worth a traceback in the writer's terminal
        super().handle_error(request, client_address)


def make_server(site_dir: Path, base_path: str, host: str, port: int,
                preview: Preview | None = None) -> ThreadingHTTPServer:
    """An HTTP server for a built site under `base_path`, as GitHub Pages serves it."""
    handler = type("Handler", (SiteRequestHandler,), {"site_dir": Path(site_dir), "base_path": base_path,
                                                      "preview": preview})
    return QuietServer((host, port), handler)


class SiteRequestHandler(BaseHTTPRequestHandler):
    """Serves site_dir at base_path: `/` redirects there, folders serve index.html,
    missing files get 404.html with status 404 (what GitHub Pages does)."""

    site_dir: Path = Path(".")
    base_path: str = "/"
    preview: "Preview | None" = None
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: the terminal is for build messages

    def _respond(self, send_body: bool) -> None:
        path = unquote(split_url(self.path).path)
        if self.preview is not None and path == EVENTS_PATH:
            return self._stream_events()
        if not path.startswith(self.base_path):
            if path.rstrip("/") + "/" == self.base_path:
                return self._redirect(self.base_path)
            return self._redirect(self.base_path) if path == "/" else self._not_found(send_body)
        relative = posixpath.normpath("/" + path[len(self.base_path):]).lstrip("/")
        target = self.site_dir / relative if relative not in ("", ".") else self.site_dir
        try:
            target.stat()
        except (OSError, ValueError):    # a name too long for the file system, a NUL: no such page
            return self._not_found(send_body)
        if target.is_dir():
            if not path.endswith("/"):
                # To the folder as normalised: the request's own text (%0d%0a, a leading //) never
                # reaches the Location header.
                return self._redirect(self.base_path + (relative + "/" if relative not in ("", ".") else ""))
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
        elif self.preview is not None:
            # With the reload script: a page asked for before the first build has written it (that
            # build stopped for new code, say) shows once a build has.
            text = b"Not found." if self.preview.built else b"Not built yet: this page reloads when the build is done."
            body = self.preview.inject(b"<!DOCTYPE html><title>Not found</title><body><p>" + text + b"</p></body>")
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
        """A redirect within this server: one leading slash (`//host` would leave it), and every
        character a header or a URL path may not hold percent-encoded."""
        self.send_response(HTTPStatus.MOVED_PERMANENTLY if self.preview is None else HTTPStatus.FOUND)
        self.send_header("Location", quote("/" + location.lstrip("/"), safe="/!$&'()*+,;=:@-._~"))
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
        except ConnectionError:
            pass  # the tab closed or reloaded

    def _send_event(self, generation: int, error: str | None) -> None:
        data = json.dumps({"generation": generation, "error": error})
        self.wfile.write(f"event: build\ndata: {data}\n\n".encode("utf-8"))
        self.wfile.flush()

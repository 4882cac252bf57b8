"""Live preview: `python build.py serve`.

Builds the site into a preview folder (never the deploy folder), serves it
under the config's base path (`/repo/` when base_url is
`https://user.github.io/repo/`), watches the sources and rebuilds on change.
Open tabs reload through a server-sent event; a failed build is printed in the
terminal, compiler style, and shown over the page until the next good build.

  __init__.py   serve(): bind, watch, build once, answer requests until Ctrl+C
  preview.py    Preview: rebuilds into build/.preview/site, tracks the last result
  handler.py    the HTTP server: files under the base path, the event stream
  watch.py      watchdog: which file changes trigger a rebuild
  client.js     the reload / error-overlay script added to served HTML

- Execution: the normal mode (stale posts only), so a prose edit reuses build/
  and never retrains.
- Restart `serve` after changing `base_url` (the served path is fixed at start).
"""
from __future__ import annotations

import errno
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Callable

from ..config import Config
from ..errors import StartError
from ..report import Reporter
from .handler import EVENTS_PATH, make_server
from ..site.output import check_preview_folder, hold_preview
from .preview import Preview
from .watch import watch

__all__ = ["EVENTS_PATH", "Running", "serve", "start"]


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
    held: object | None = None       # the preview's lock (output.hold_preview), let go at close

    def close(self) -> None:
        self.preview.close()
        if self.observer is not None:
            try:
                self.observer.stop()
            except Exception:        # watchdog ending a watch of a folder gone since: nothing left to end
                pass
        self.server.server_close()
        if self.held is not None:
            self.held.close()


def start(config: Config, reporter: Reporter, host: str, port: int,
          build: Callable[[Config, Reporter], None] | None = None) -> Running:
    """Bind the server (port 0 picks a free one), build once, start watching."""
    preview = Preview(config, reporter, host, port, build)
    check_preview_folder(preview.output_dir, config.build_dir)
    held = hold_preview(config.build_dir)
    try:
        return _start(config, preview, host, port, held)
    except BaseException:
        if held is not None:
            held.close()
        raise


def _start(config: Config, preview: Preview, host: str, port: int, held) -> Running:
    try:
        server = make_server(preview.output_dir, config.base_path, host, port, preview=preview)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise StartError(None, f"port {port} on {host} is already in use: pass --port with another "
                             "number (--port 0 picks a free one)") from None
        raise StartError(None, f"cannot listen on {host}:{port}: {error.strerror}") from None
    preview.port = server.server_address[1]  # the preview's base_url needs the real port
    # Watched from before the first build: an edit saved while it runs (a post's code may run for
    # minutes) is built right after it, not left unseen until the next save.
    observer = watch(preview.watched_paths(), preview.schedule_rebuild, project=config.root,
                     never=(config.build_dir, preview.output_dir))
    preview.watch_inputs = getattr(observer, "watch_inputs", preview.watch_inputs)
    try:
        preview.rebuild()
    except BaseException:        # Ctrl-C during the first build
        if observer is not None:
            observer.stop()
        preview.close()
        server.server_close()
        raise
    return Running(preview, server, observer, held)

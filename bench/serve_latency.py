"""How long a writer waits in `serve`: from saving a post to the page with the edit.

    first, waits = measure(project, post, repeats=5, work=temp_folder)   # from build_speed.py

A real `python build.py serve` process in `project`, driven as a browser tab
drives it: connected to the reload event stream, it saves a prose edit (a new
last paragraph, different each time), waits for the build event, then fetches
the post's page over HTTP and checks that the edit is on it. The time counts
everything a writer waits for but the browser's paint: the file watcher, the
debounce, the rebuild, the event and the page request. `first` is the time from
starting the process to the first build being served.
"""
from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS_PATH = "/__runpost/events"
TIMEOUT = 120      # seconds: a first build of 1,000 posts takes a few


def measure(project: Path, post: Path, repeats: int, work: Path, flags: tuple[str, ...] = ()) -> tuple[float, list[float]]:
    """(seconds until the first build is served, seconds from each save to its page); serve's log goes in `work`."""
    port = _free_port()
    log = work / f"serve-{port}.log"
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port), *flags],
                                   cwd=project, stdout=output, stderr=output)
    try:
        base = _served_url(process, log)
        first = time.perf_counter() - started
        events = _EventStream(f"127.0.0.1:{port}")
        page_url = base.rstrip("/") + _post_url(post)
        waits = []
        for _ in range(repeats):
            time.sleep(0.5)   # the previous save is long settled; the file's mtime will differ
            # A label never used before: the save always changes the post's text (a repeated
            # one would time a rebuild with nothing changed).
            label = f"serve-{time.time_ns()}"
            seen = events.latest()
            saved = time.perf_counter()
            edit_prose(post, label)
            events.wait_past(seen)
            page = urllib.request.urlopen(page_url, timeout=TIMEOUT).read().decode("utf-8")
            waits.append(time.perf_counter() - saved)
            if f"Benchmark edit {label}:" not in page:
                raise SystemExit(f"error: serve's page {page_url} does not show edit {label} (log: {log})")
        return first, waits
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def edit_prose(post: Path, label: object) -> None:
    """A prose edit a writer makes: a new last paragraph, naming `label`; an error if nothing changes."""
    before = post.read_text(encoding="utf-8")
    text = before.split("\n\nBenchmark edit ")[0]
    after = f"{text.rstrip()}\n\nBenchmark edit {label}: one more sentence of prose.\n"
    if after == before:
        raise SystemExit(f"error: benchmark edit {label} of {post} changes nothing")
    post.write_text(after, encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _served_url(process: subprocess.Popen, log: Path) -> str:
    """The URL serve prints once its first build is served ("serving http://... (Ctrl+C to stop)")."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"serving (http://\S+)", log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise SystemExit(f"error: serve exited with status {process.returncode}:\n{log.read_text()}")
        time.sleep(0.01)
    raise SystemExit(f"error: serve did not start within {TIMEOUT} s (log: {log})")


def _post_url(post: Path) -> str:
    """The post's site path, as runpost computes it ("/posts/<slug>/")."""
    sys.path.insert(0, str(ROOT))
    from runpost.content.load import parse_post

    bundle = post.parent if post.name == "index.md" else None
    return parse_post(post, post.read_text(encoding="utf-8"), bundle).url


class _EventStream:
    """serve's reload events, read as a tab reads them: the latest build generation."""

    def __init__(self, host: str):
        self._generation = -1
        self._changed = threading.Condition()
        connection = http.client.HTTPConnection(host, timeout=TIMEOUT)
        connection.request("GET", EVENTS_PATH)
        self._response = connection.getresponse()
        threading.Thread(target=self._read, daemon=True).start()
        with self._changed:
            self._changed.wait_for(lambda: self._generation >= 0, TIMEOUT)

    def _read(self) -> None:
        for line in self._response:
            found = re.match(rb'data: \{"generation": (\d+)', line)
            if found:
                with self._changed:
                    self._generation = int(found.group(1))
                    self._changed.notify_all()

    def latest(self) -> int:
        with self._changed:
            return self._generation

    def wait_past(self, seen: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._generation != seen, TIMEOUT):
                raise SystemExit(f"error: no build event within {TIMEOUT} s of saving")

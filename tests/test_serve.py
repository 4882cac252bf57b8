"""Live preview: serves under the base path, rebuilds on change, tells the browser.

Most tests use a stand-in build (one page made from one file) so they pin the
server's behaviour, not the pipeline's; the last one runs the real pipeline.
"""
from __future__ import annotations

import json
import os
import shutil
import functools
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from runpost.config import load_config
from runpost.errors import BuildError, Location
from runpost.report import Reporter
from runpost.serve import EVENTS_PATH, start

REPO = Path(__file__).resolve().parent.parent


def fake_build(config, reporter):
    """Write one page holding the text of content/posts/a.md; 'BROKEN' in it is an error."""
    source = config.content_dir / "posts" / "a.md"
    text = source.read_text(encoding="utf-8")
    if "BROKEN" in text:
        raise BuildError(Location(source, 3, 1), "unknown shortcode 'figur'")
    config.output_dir.mkdir(parents=True, exist_ok=True)
    (config.output_dir / ".runpost-site").write_text("")     # as the real writer marks its folder
    (config.output_dir / "index.html").write_text(
        f"<!DOCTYPE html><html><body><p id=text>{text}</p><a href='{config.base_url}'>home</a></body></html>")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "content" / "posts").mkdir(parents=True)
    (tmp_path / "content" / "posts" / "a.md").write_text("first version", encoding="utf-8")
    (tmp_path / "runpost.toml").write_text('title = "T"\nbase_url = "https://user.github.io/repo/"\n')
    return tmp_path


@pytest.fixture
def preview(project: Path):
    config = load_config(project)
    running = start(config, Reporter(quiet=True), "127.0.0.1", 0, build=fake_build)
    thread = threading.Thread(target=running.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield running
    running.server.shutdown()
    running.close()


def _get(url: str) -> tuple[int, str, dict]:
    request = urllib.request.Request(url)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read().decode("utf-8"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class EventStream:
    """Reads the server-sent events of /__runpost/events."""

    def __init__(self, url: str):
        self.response = urllib.request.urlopen(url, timeout=10)

    def next_build(self) -> dict:
        data = None
        while True:
            line = self.response.fp.readline().decode("utf-8")
            if not line:
                raise EOFError("event stream closed")
            if line.startswith("data: "):
                data = json.loads(line[len("data: "):])
            elif line == "\n" and data is not None:
                return data

    def close(self) -> None:
        self.response.close()


def test_preview_builds_into_its_own_folder_with_its_own_base_url(preview, project):
    assert preview.preview.output_dir == project / "build" / ".preview" / "site"
    assert (project / "build" / ".preview" / "site" / "index.html").is_file()
    assert not (project / "site").exists(), "serve must never write the deploy folder"
    _, page, _ = _get(preview.preview.url)
    assert f"href='http://127.0.0.1:{preview.preview.port}/repo/'" in page


def test_site_is_served_under_the_base_path_and_root_redirects(preview):
    root = f"http://127.0.0.1:{preview.preview.port}/"
    status, _, headers = _get(root)
    assert status in (301, 302) and headers["Location"] == "/repo/"
    status, _, headers = _get(root + "repo")
    assert status in (301, 302) and headers["Location"] == "/repo/"
    status, page, _ = _get(root + "repo/")
    assert status == 200 and "first version" in page


@pytest.mark.parametrize("base_url, base", [("https://user.github.io/repo/", "/repo/"), ("https://blog.example.com/", "/")])
def test_a_folder_redirect_goes_to_the_normalised_folder_never_to_what_the_request_wrote(project, base_url, base):
    import http.client

    (project / "runpost.toml").write_text(f'title = "T"\nbase_url = "{base_url}"\n')
    running = start(load_config(project), Reporter(quiet=True), "127.0.0.1", 0, build=fake_build)
    thread = threading.Thread(target=running.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        (running.preview.output_dir / "posts").mkdir()

        def location(path: str) -> tuple[int, dict]:
            connection = http.client.HTTPConnection("127.0.0.1", running.preview.port, timeout=5)
            connection.request("GET", path)
            response = connection.getresponse()
            headers = {name.lower(): value for name, value in response.getheaders()}
            connection.close()
            return response.status, headers

        # A CR LF in the request would split the response (a header of the attacker's choosing).
        status, headers = location(base + "posts/%0d%0aSet-Cookie:%20pwned=1%0d%0aX-Injected:%20yes/..")
        assert status == 302 and headers["location"] == base + "posts/" and "set-cookie" not in headers
        # `//evil.example/..` names the site's folder; a redirect to it would leave the server.
        status, headers = location(base + "%2F%2Fevil.example/%2e%2e")
        assert status == 302 and headers["location"] == base
        # A request target urlsplit refuses (an unclosed IPv6 host) is a page that is not there.
        assert location("//[x/")[0] == 404 and location(base + "posts")[0] == 302
    finally:
        running.server.shutdown()
        running.close()


def test_reload_script_is_added_to_served_html_but_not_to_the_written_file(preview, project):
    _, page, headers = _get(preview.preview.url)
    assert EVENTS_PATH in page and "EventSource" in page
    assert headers["Cache-Control"] == "no-store"
    assert EVENTS_PATH not in (project / "build" / ".preview" / "site" / "index.html").read_text()


def test_an_edit_rebuilds_and_notifies_open_pages(preview, project):
    # How fast is measured by bench/build_speed.py, never asserted here.
    events = EventStream(f"http://127.0.0.1:{preview.preview.port}{EVENTS_PATH}")
    try:
        first = events.next_build()
        (project / "content" / "posts" / "a.md").write_text("second version", encoding="utf-8")
        event = events.next_build()
    finally:
        events.close()
    assert event["generation"] > first["generation"] and event["error"] is None
    _, page, _ = _get(preview.preview.url)
    assert "second version" in page


def test_a_failed_build_is_printed_and_shown_over_the_page_until_the_next_good_build(preview, project, capfd):
    events = EventStream(f"http://127.0.0.1:{preview.preview.port}{EVENTS_PATH}")
    post = project / "content" / "posts" / "a.md"
    try:
        events.next_build()
        post.write_text("BROKEN", encoding="utf-8")
        failed = events.next_build()
        _, page, _ = _get(preview.preview.url)
        post.write_text("fixed", encoding="utf-8")
        fixed = events.next_build()
    finally:
        events.close()
    message = "content/posts/a.md:3:1: error: unknown shortcode 'figur'"
    assert message in failed["error"]
    assert message in capfd.readouterr().err
    # The last good page is still served, with the error for the overlay.
    assert "first version" in page and "unknown shortcode" in page and "runpost-error-overlay" in page
    assert fixed["error"] is None
    _, page, _ = _get(preview.preview.url)
    assert "fixed" in page and "unknown shortcode" not in page


def test_missing_page_gets_404(preview):
    status, _, _ = _get(preview.preview.url + "no/such/page/")
    assert status == 404
    # A name longer than the file system allows printed a traceback and answered nothing (found by review).
    status, _, _ = _get(preview.preview.url + "a" * 300)
    assert status == 404


def test_an_error_text_never_ends_or_keeps_open_the_script_that_shows_it():
    # `<!--<script>` in an error (a link a post wrote) kept the script element open past its end
    # tag: no overlay, and no reload after the fix (found by review).
    from runpost.serve.preview import client_script

    script = client_script(3, "x.md:1:1: error: '/<!--<script>/' and </script> do not exist")
    body = script[len("<script>\n"):-len("</script>\n")]
    assert "<" not in body.rsplit("({", 1)[1] and script.count("</script") == 1


def test_serving_the_fixture_site_with_the_real_pipeline(tmp_path):
    pytest.importorskip("runpost.pipeline", reason="the pipeline is not importable yet")
    project = tmp_path / "site-project"
    shutil.copytree(REPO / "tests" / "fixtures" / "site", project)
    running = start(load_config(project), Reporter(quiet=True), "127.0.0.1", 0)
    thread = threading.Thread(target=running.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        assert running.preview.error is None, running.preview.error
        status, page, _ = _get(running.preview.url)
        assert status == 200 and EVENTS_PATH in page
        assert (project / "build" / ".preview" / "site" / "index.html").is_file() and not (project / "site").exists()
    finally:
        running.server.shutdown()
        running.close()


def test_a_port_in_use_is_a_one_line_error_suggesting_port(project, preview, tmp_path_factory):
    from runpost.serve import start as start_again

    other = tmp_path_factory.mktemp("other")          # another project: this one's preview is held
    shutil.copytree(project / "content", other / "content")
    shutil.copy(project / "runpost.toml", other / "runpost.toml")
    taken = preview.preview.port
    with pytest.raises(BuildError, match=f"port {taken} on 127.0.0.1 is already in use: pass --port"):
        start_again(load_config(other), Reporter(quiet=True), "127.0.0.1", taken, build=fake_build)


def test_a_second_serve_or_a_param_build_on_one_project_is_refused_while_one_serves(project, preview):
    # From a review: two serves (one with --drafts) or a --param build wrote build/.preview/site in
    # turn, each replacing the other's pages in the other's open tab.
    from runpost.errors import UsageError
    from runpost.serve import start as start_again

    with pytest.raises(UsageError, match="another runpost is writing the preview in .*: stop it first"):
        start_again(load_config(project), Reporter(quiet=True), "127.0.0.1", 0, build=fake_build)
    from conftest import run_build

    result = run_build("--param", "x=1", cwd=project)
    assert result.returncode == 2 and "another runpost is writing the preview" in result.stderr


def test_a_page_asked_for_before_any_build_wrote_it_reloads_when_one_has(project):
    # From a review: the first build stopped for new code left no site; the tab got a bare
    # "Not found." without the reload script, and stayed on it after the next build.
    from runpost.serve.handler import make_server
    from runpost.serve.preview import Preview

    preview = Preview(load_config(project), Reporter(quiet=True), "127.0.0.1", 0, build=fake_build)
    server = make_server(preview.output_dir, "/repo/", "127.0.0.1", 0, preview=preview)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        status, page, _ = _get(f"http://127.0.0.1:{server.server_address[1]}/repo/posts/a/")
        assert status == 404 and "Not built yet" in page and EVENTS_PATH in page
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_that_disconnects_prints_nothing(preview, capfd):
    import socket

    for _ in range(20):  # ask for a page and hang up before reading the answer
        with socket.create_connection(("127.0.0.1", preview.preview.port)) as connection:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            connection.sendall(b"GET /repo/ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _get(preview.preview.url)[0] == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Exception" not in captured.err


def test_a_burst_of_connections_waits_in_the_queue_not_for_a_kernel_retry(tmp_path):
    # Nothing accepts here (serve_forever is not running): the listen queue alone must hold a
    # burst as large as a page's parallel requests. socketserver's default of 5 made the
    # seventh connect wait a second for the kernel to retry its SYN.
    import socket

    from runpost.serve.handler import make_server

    server = make_server(tmp_path, "/repo/", "127.0.0.1", 0)
    connections = []
    try:
        for _ in range(32):
            connections.append(socket.create_connection(server.server_address, timeout=0.5))
    finally:
        for connection in connections:
            connection.close()
        server.server_close()
    assert len(connections) == 32


@pytest.mark.parametrize("name", [".a.md.swp", "a.md~", "4913", ".#a.md", "#a.md#", ".goutputstream-XYZ",
                                  "a.md.tmp.123", ".a.md.kate-swp"])
def test_editor_files_never_trigger_a_rebuild(project, name):
    from runpost.serve.watch import _is_relevant

    folder = (project / "content").resolve()
    assert not _is_relevant(folder / "posts" / name, set(), [folder])
    assert _is_relevant(folder / "posts" / "a.md", set(), [folder])
    # A bundle file named like a word starting "tmp" is a source: its edits were never seen.
    assert _is_relevant(folder / "posts" / "table.tmpl.html", set(), [folder])


def test_a_rename_over_the_edited_file_names_the_edited_file(project):
    from watchdog.events import FileMovedEvent

    from runpost.serve.watch import watch

    seen = []
    observer = watch([project / "content"], seen.append)
    try:
        handler = next(iter(observer._handlers.values()))
        next(iter(handler)).dispatch(FileMovedEvent(str(project / "content/posts/.a.md.tmp"),
                                                    str(project / "content/posts/a.md")))
    finally:
        observer.stop()
    assert seen == [project / "content/posts/a.md"]


def test_reading_the_sources_is_not_an_event_but_saving_one_is(project):
    # A rebuild reads every source: were opens and reads reported, the watcher thread would wake
    # for each file a build reads and compete with it for the GIL (serve's rebuild ran 1.7x slower).
    import threading
    import time

    from watchdog.observers.inotify import InotifyEmitter

    from runpost.serve.watch import watch

    seen, changed = [], threading.Event()
    observer = watch([project / "content"], lambda path: (seen.append(path), changed.set()))
    try:
        emitters = list(observer.emitters)
        if emitters and isinstance(emitters[0], InotifyEmitter):   # Linux: the kernel is asked for changes only
            assert all(not emitter.get_event_mask_from_filter() & 0x21 for emitter in emitters)  # IN_ACCESS, IN_OPEN
        for path in (project / "content").rglob("*.md"):
            path.read_bytes()
        time.sleep(0.3)
        assert seen == []
        post = next((project / "content").rglob("*.md"))
        post.write_text(post.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
        assert changed.wait(5), "saving a post was not seen"
        # Metadata only: `touch`, and `chmod +r` that makes an unreadable post readable again.
        for change in (lambda: os.utime(post), lambda: post.chmod(0o600), lambda: post.chmod(0o644)):
            time.sleep(0.2)
            changed.clear()
            change()
            assert changed.wait(5), "a metadata change was not seen"
    finally:
        observer.stop()


def saw_event(seen: list[Path], test, since: int = 0) -> bool:
    """Whether an event after the first `since` of `seen` satisfies `test`, within 5 s (events
    arrive from watchdog's threads, in an order the test does not control)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(test(path) for path in seen[since:]):
            return True
        time.sleep(0.02)
    return False


def test_a_watched_folder_made_after_serve_started_is_watched_from_then_on(project):
    # A new blog has no static/ or templates/: made while serving, they must count as sources.
    import shutil

    from runpost.serve.watch import watch

    seen: list[Path] = []
    static = (project / "static").resolve()
    saw = functools.partial(saw_event, seen)

    observer = watch([project / "content", project / "static", project / "runpost.toml"], seen.append)
    try:
        (project / "static").mkdir()
        assert saw(lambda path: path == static), seen
        for text in ("one", "two"):
            since = len(seen)
            (project / "static" / "extra.css").write_text(text, encoding="utf-8")
            assert saw(lambda path: path.name == "extra.css", since), f"writing {text} in the new folder was not seen"
        (project / "static" / "css").mkdir()             # and a folder made in it later
        (project / "static" / "css" / "more.css").write_text("x", encoding="utf-8")
        assert saw(lambda path: path.name == "more.css"), seen
        # Deleted and made again (a checkout, rsync --delete): still watched.
        shutil.rmtree(project / "static")
        assert saw(lambda path: path == static and not path.exists()), seen
        since = len(seen)
        (project / "static").mkdir()
        assert saw(lambda path: path == static, since), seen
        time.sleep(0.2)                                   # its watch is being added
        (project / "static" / "again.css").write_text("x", encoding="utf-8")
        assert saw(lambda path: path.name == "again.css"), seen
        # Moved away: the site changes (its files are gone), so that is a change too.
        since = len(seen)
        (project / "static").rename(project / "static.off")
        assert saw(lambda path: path == static, since), seen
    finally:
        observer.stop()


def test_after_its_first_build_serve_has_the_markdown_converter_ready(tmp_path, monkeypatch):
    # The first build converts posts in worker processes (parallel.precompute); the writer's
    # first edit must not pay for building the converter in serve's own process.
    import runpost.pipeline
    from runpost.markup.markdown import _converter
    from runpost.serve.preview import Preview

    def elsewhere(function, items, **options):       # as worker processes would: nothing stays here
        done = {index: function(item) for index, item in enumerate(items)}
        _converter.cache_clear()
        return done

    monkeypatch.setattr(runpost.pipeline, "precompute", elsewhere)
    project = tmp_path / "project"
    (project / "content/posts").mkdir(parents=True)
    (project / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n')
    for name in ("a", "b"):
        (project / f"content/posts/{name}.md").write_text(f"---\ntitle: {name}\ndate: 2024-01-01\n---\nProse.\n")
    monkeypatch.chdir(project)
    preview = Preview(load_config(project), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    assert _converter.cache_info().currsize >= 1


def test_new_code_saved_while_the_old_runs_stops_the_old_run_and_prose_does_not(tmp_path, monkeypatch):
    # Saving a post's code while its old code ran (a training run) waited for all of the old
    # run's minutes before the new code ran (found by a new-user review).
    from runpost.serve.preview import Preview

    project = tmp_path / "project"
    (project / "content/posts").mkdir(parents=True)
    (project / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n')
    post = project / "content/posts/slow.md"
    marker = tmp_path / "running"
    code = "```python {exec=true timeout=60}\nimport pathlib, time\npathlib.Path(%r).write_text('x')\ntime.sleep(%d)\nprint('%s')\n```\n"
    post.write_text("---\ntitle: Slow\ndate: 2024-01-01\n---\nProse.\n\n" + code % (str(marker), 30, "old"))
    monkeypatch.chdir(project)
    preview = Preview(load_config(project), Reporter(quiet=True), "127.0.0.1", 1313)
    results: list[bool] = []
    first = threading.Thread(target=lambda: results.append(preview.rebuild()), daemon=True)
    first.start()
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline and first.is_alive()
        time.sleep(0.02)
    post.write_text(post.read_text().replace("Prose.", "Prose, edited."))
    preview._stop_outdated_run(post)                  # what the watcher does on a save
    time.sleep(0.5)
    assert first.is_alive()                           # prose: the run goes on
    post.write_text(post.read_text().replace("time.sleep(30)", "time.sleep(0)").replace("'old'", "'new'"))
    started = time.monotonic()
    preview._stop_outdated_run(post)
    first.join(timeout=10)
    assert not first.is_alive() and time.monotonic() - started < 5 and results == [False]
    assert preview.rebuild(), preview.error           # the build the watcher scheduled
    assert "new" in (project / "build/.preview/site/posts/slow/index.html").read_text(encoding="utf-8")


def test_a_linked_post_is_a_change_and_a_linked_bundle_is_watched_where_it_leads(project, tmp_path):
    # A post added as a link (inside or outside the project) rebuilt nothing: its path was read
    # where it led. A bundle linked from elsewhere in the project was never watched there.
    from runpost.serve.watch import watch

    seen: list[Path] = []
    saw = functools.partial(saw_event, seen)
    shared = project / "shared" / "post"
    shared.mkdir(parents=True)
    (shared / "index.md").write_text("---\ntitle: S\ndate: 2024-01-01\n---\nOne.\n")
    outside = tmp_path / "outside.md"
    outside.write_text("---\ntitle: O\ndate: 2024-01-01\n---\nOut.\n")
    posts = project / "content" / "posts"
    observer = watch([project / "content", project / "runpost.toml"], seen.append, project=project,
                     never=(project / "build",))
    try:
        (posts / "ext.md").symlink_to(outside)
        assert saw(lambda path: path.name == "ext.md"), seen
        (posts / "shared").symlink_to(shared, target_is_directory=True)
        assert saw(lambda path: path.name == "shared"), seen
        time.sleep(0.2)                                   # its watch is being added
        since = len(seen)
        (shared / "index.md").write_text("---\ntitle: S\ndate: 2024-01-01\n---\nTwo.\n")
        assert saw(lambda path: path.name == "index.md" and "shared" in path.parts, since), seen
    finally:
        observer.stop()


def test_a_tab_open_across_a_restart_of_serve_sees_a_new_generation(project):
    # Both processes counted builds from 0: the tab of the first, reconnecting to the second,
    # saw the same number and kept showing the old page (found by a review of serve).
    from runpost.serve.preview import Preview

    first = Preview(load_config(project), Reporter(quiet=True), "127.0.0.1", 1313, build=lambda config, reporter: None)
    first.rebuild()
    time.sleep(0.002)
    second = Preview(load_config(project), Reporter(quiet=True), "127.0.0.1", 1313, build=lambda config, reporter: None)
    second.rebuild()
    assert second.generation != first.generation


def test_serve_keeps_the_executor_given_on_its_command_line_for_every_rebuild(project):
    # `serve --executor dask://...` ran memoized calls locally: each rebuild re-read runpost.toml and
    # kept the command line's other choices, not this one.
    from runpost.serve.preview import Preview

    seen = []
    preview = Preview(load_config(project, executor="dask://127.0.0.1:8786"), Reporter(quiet=True), "127.0.0.1", 1313,
                      build=lambda config, reporter: seen.append(config.executor))
    preview.rebuild()
    assert seen == ["dask://127.0.0.1:8786"]


def test_an_edit_saved_during_the_first_build_is_built_after_it(project):
    # serve watched only once its first build was done: a post saved while that build ran (its code
    # training for minutes) stayed unseen, the page showing the old text until the next save.
    pytest.importorskip("watchdog")
    source = project / "content" / "posts" / "a.md"
    calls = []

    def slow_first_build(config, reporter):
        fake_build(config, reporter)
        calls.append(source.read_text(encoding="utf-8"))
        if len(calls) == 1:
            source.write_text("saved while the first build ran", encoding="utf-8")
            time.sleep(0.5)          # the build goes on after the save

    running = start(load_config(project), Reporter(quiet=True), "127.0.0.1", 0, build=slow_first_build)
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls[:2] == ["first version", "saved while the first build ran"]
        page = (running.preview.output_dir / "index.html").read_text(encoding="utf-8")
        assert "saved while the first build ran" in page
    finally:
        running.close()


def test_a_changed_base_url_says_serve_needs_a_restart(project, capfd):
    # The preview is served under the base path serve started with; a new base_url was ignored unsaid.
    from runpost.serve.preview import Preview

    preview = Preview(load_config(project), Reporter(), "127.0.0.1", 1313, build=lambda config, reporter: None)
    preview.rebuild()
    settings = project / "runpost.toml"
    settings.write_text(settings.read_text() + '\nbase_url = "https://example.com/other/"\n'
                        if "base_url" not in settings.read_text() else
                        re.sub(r'base_url = "[^"]*"', 'base_url = "https://example.com/other/"', settings.read_text()))
    preview.rebuild()
    preview.rebuild()
    err = capfd.readouterr().err
    assert err.count("base_url is now 'https://example.com/other/': restart serve to preview the site under it") == 1, err


def test_a_changed_timeout_or_executor_says_serve_needs_a_restart(project, capfd):
    # serve keeps the timeout and executor it started with; a runpost.toml edit to either was ignored unsaid.
    from runpost.serve.preview import Preview

    preview = Preview(load_config(project), Reporter(), "127.0.0.1", 1313, build=lambda config, reporter: None)
    preview.rebuild()
    settings = project / "runpost.toml"
    original = settings.read_text()
    settings.write_text(original + '\ntimeout = 60\nexecutor = "dask://127.0.0.1:8786"\n')
    preview.rebuild()
    preview.rebuild()
    err = capfd.readouterr().err
    assert err.count("timeout is now '60' in runpost.toml: restart serve to use it (its runs use '1800' until then)") == 1, err
    assert err.count("executor is now 'dask://127.0.0.1:8786' in runpost.toml: restart serve to use it") == 1, err
    settings.write_text(original)
    preview.rebuild()
    assert "is now" not in capfd.readouterr().err


def test_a_run_is_outdated_only_by_its_own_files_save_with_other_code(tmp_path):
    # From a review: a stop request for one post killed the next post's run, and the run of the
    # new code itself when a save came as two events; a .py the code wrote into its own bundle
    # stopped every run of it, for ever.
    from runpost.content.load import parse_post
    from runpost.content.scan import scan_post
    from runpost.execution.runner import RunWatch, code_of
    from runpost.markup.shortcodes import BUILTINS, parse_shortcodes

    def post(name: str, code: str):
        path = tmp_path / f"{name}.md"
        text = f"---\ntitle: {name}\ndate: 2024-01-01\n---\nProse.\n\n```python {{exec=true}}\n{code}\n```\n"
        path.write_text(text)
        return parse_shortcodes(scan_post(parse_post(path, text, None)), BUILTINS)

    old_a, b = post("a", "print(1)"), post("b", "print(2)")
    watch = RunWatch()
    assert not watch.outdated(old_a)
    new_a = post("a", "print(3)")
    watch.saved_code(new_a.path, code_of(new_a))
    assert watch.outdated(old_a) and not watch.outdated(b) and not watch.outdated(new_a)
    watch.saved_code(new_a.path, code_of(new_a))       # the same save's second event
    assert not watch.outdated(new_a)
    watch.start_build()
    assert not watch.outdated(old_a)                  # the next build read the file itself


def test_a_link_made_at_the_projects_root_is_not_followed_and_a_linked_post_file_is_watched(project, tmp_path):
    # From a review: `ln -s data data-link` at the root made data/ watched (every write there a
    # rebuild); editing the file a linked post leads to rebuilt nothing.
    from runpost.serve.watch import watch

    seen: list[Path] = []
    saw = functools.partial(saw_event, seen)
    (project / "data").mkdir()
    (project / "drafts").mkdir()
    draft = project / "drafts" / "d.md"
    draft.write_text("---\ntitle: D\ndate: 2024-01-01\n---\nOne.\n")
    (project / "content/posts/d.md").symlink_to(draft)
    observer = watch([project / "content", project / "runpost.toml"], seen.append, project=project,
                     never=(project / "build",))
    try:
        (project / "data-link").symlink_to(project / "data", target_is_directory=True)
        time.sleep(0.3)
        since = len(seen)
        (project / "data" / "x.csv").write_text("1\n")
        draft.write_text("---\ntitle: D\ndate: 2024-01-01\n---\nTwo.\n")
        assert saw(lambda path: path.name == "d.md", since), seen
        assert not any(path.name == "x.csv" for path in seen[since:]), seen
    finally:
        observer.stop()


def test_a_declared_input_outside_the_watched_folders_rebuilds_the_preview(tmp_path):
    # From a review: `inputs: [../../../data/abtest.csv]` changed while serve ran; no rebuild, and the
    # preview showed the old numbers (a build reran the post).
    pytest.importorskip("watchdog")
    from runpost.serve.watch import watch

    (tmp_path / "content").mkdir()
    (tmp_path / "data").mkdir()
    data = tmp_path / "data" / "abtest.csv"
    data.write_text("a\n1\n")
    changed: list[Path] = []
    observer = watch([tmp_path / "content"], changed.append, project=tmp_path, never=(tmp_path / "build",))
    try:
        observer.watch_inputs([tmp_path / "content" / "posts" / "ab" / ".." / ".." / ".." / "data" / "abtest.csv"])
        (tmp_path / "data" / "other.csv").write_text("not declared\n")
        data.write_text("a\n2\n")
        deadline = time.monotonic() + 5
        while not changed and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        assert changed and {path.resolve() for path in changed} == {data.resolve()}
    finally:
        observer.stop()


def test_a_param_build_lets_go_of_the_preview_when_it_ends(project, monkeypatch):
    # From a review: the lock of a --param build was held until the process ended, so a second
    # main() in one process (a script, a test) was refused by the first's.
    from runpost.cli import main

    monkeypatch.chdir(project)
    (project / "content" / "posts" / "a.md").write_text("---\ntitle: A\ndate: 2024-01-01\nparams: {n: 1}\n---\nA.\n")
    assert main(["build", "--param", "n=2"]) == 0
    assert main(["build", "--param", "n=3"]) == 0


def _reported(changed: list, change, wait: float = 3, then=lambda: None) -> set[str]:
    """The names of the files whose changes a watcher reported into `changed` for `change`, after
    `then` (what a rebuild does: the posts' inputs asked again). Late events of the step before, on a
    busy machine, are let through first."""
    time.sleep(0.3)
    changed.clear()
    change()
    deadline = time.monotonic() + wait
    while not changed and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    then()
    return {Path(path).name for path in changed}


def test_a_declared_input_whose_folder_comes_later_or_is_made_anew_is_watched(tmp_path):
    # From a review: an input in a folder not made yet (the build said "not found") and one whose
    # folder a script deleted and made again were never watched; their edits left the preview stale.
    pytest.importorskip("watchdog")
    import shutil as files
    from runpost.serve.watch import watch

    (tmp_path / "content").mkdir()
    data = tmp_path / "data" / "sub" / "y.txt"
    changed: list[Path] = []
    observer = watch([tmp_path / "content"], changed.append, project=tmp_path, never=(tmp_path / "build",))

    rebuild = lambda: observer.watch_inputs([data])
    after = lambda change: _reported(changed, change, then=rebuild)
    try:
        rebuild()
        assert after(lambda: data.parent.mkdir(parents=True))       # data/ made: a change
        assert data.name in after(lambda: data.write_text("7\n"))
        remake = lambda: (files.rmtree(tmp_path / "data"), data.parent.mkdir(parents=True), data.write_text("8\n"))
        assert after(remake)
        assert data.name in after(lambda: data.write_text("9\n"))
    finally:
        observer.stop()


def test_declared_inputs_are_watched_as_the_last_build_declared_them(tmp_path):
    # From a review: a declared link re-pointed (`ln -sfn b.csv cur.csv`), a declared `.baseline.csv`
    # (an editor's file by its name) never rebuilt; an input no longer declared went on rebuilding.
    pytest.importorskip("watchdog")
    from runpost.serve.watch import watch

    (tmp_path / "content").mkdir()
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.csv", "b.csv", ".baseline.csv", "metrics.log"):
        (data / name).write_text("1\n")
    (data / "cur.csv").symlink_to("a.csv")
    changed: list[Path] = []
    observer = watch([tmp_path / "content"], changed.append, project=tmp_path, never=(tmp_path / "build",))

    after = lambda change, wait=3: _reported(changed, change, wait)

    try:
        observer.watch_inputs([data / "cur.csv", data / ".baseline.csv", data / "metrics.log"])
        assert after(lambda: (data / ".baseline.csv").write_text("2\n"))
        def repoint():
            (data / "new.csv").symlink_to("b.csv")
            (data / "new.csv").replace(data / "cur.csv")
        assert after(repoint)
        observer.watch_inputs([data / "cur.csv", data / ".baseline.csv", data / "metrics.log"])   # the rebuild: same list
        assert after(lambda: (data / "b.csv").write_text("2\n"))                 # where the link leads now
        observer.watch_inputs([data / "cur.csv", data / ".baseline.csv"])        # the next build: metrics.log dropped
        assert "metrics.log" not in after(lambda: (data / "metrics.log").write_text("2\n"), wait=1)
        assert "a.csv" not in after(lambda: (data / "a.csv").write_text("2\n"), wait=1)    # where the link led
    finally:
        observer.stop()


def test_the_watcher_outlives_a_link_loop_and_follows_link_chains_and_a_file_made_a_folder(tmp_path):
    # From a review: a symbolic link loop made in a watched folder ended the watcher's thread (no
    # rebuild until a restart); `chain1 -> chain2 -> d2` re-pointed in its middle, and a declared
    # file made a folder, were not watched; a declared folder holding build/ rebuilt for ever.
    pytest.importorskip("watchdog")
    from runpost.serve.watch import watch

    (tmp_path / "content").mkdir()
    for folder in ("d2", "d3", "build", "data"):
        (tmp_path / folder).mkdir()
    (tmp_path / "d2/a").write_text("1")
    (tmp_path / "d3/a").write_text("2")
    (tmp_path / "data/x.csv").write_text("3")
    (tmp_path / "chain2").symlink_to("d2")
    (tmp_path / "chain1").symlink_to("chain2")
    changed: list[Path] = []
    observer = watch([tmp_path / "content"], changed.append, project=tmp_path, never=(tmp_path / "build",))
    declared = [tmp_path / "chain1", tmp_path / "data" / "x.csv", tmp_path]

    after = lambda change, wait=3: _reported(changed, change, wait, then=lambda: observer.watch_inputs(declared))

    try:
        observer.watch_inputs(declared)
        def loop():
            (tmp_path / "content" / "l1").symlink_to("l2")
            (tmp_path / "content" / "l2").symlink_to("l1")
        after(loop)
        assert "a" in after(lambda: (tmp_path / "d2/a").write_text("4"))        # still watching
        def repoint():
            (tmp_path / "new").symlink_to("d3")
            (tmp_path / "new").replace(tmp_path / "chain2")
        assert after(repoint)
        assert "a" in after(lambda: (tmp_path / "d3/a").write_text("5"))
        def folder_now():
            (tmp_path / "data/x.csv").unlink()
            (tmp_path / "data/x.csv").mkdir()
        assert after(folder_now)
        assert "one" in after(lambda: (tmp_path / "data/x.csv/one").write_text("6"))
        assert not after(lambda: (tmp_path / "build/results.json").write_text("{}"), wait=1)
    finally:
        observer.stop()

"""Preview: rebuild into the preview folder and remember how the last build went.

The HTTP handler asks it for the generation and error of the last build (to
inject into pages and stream to open tabs); the watcher calls schedule_rebuild.
"""
from __future__ import annotations

import dataclasses
import functools
import gc
import json
import sys
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Callable

from ..config import CONFIG_NAME, Config, load_config
from ..errors import BuildError, BuildErrors, Superseded
from ..report import Reporter
from .handler import EVENTS_PATH
from .watch import shown

# An editor's save is a burst of events a few milliseconds long (temp file, rename, chmod;
# or truncate, write). 20 ms covers it and is a fifteenth of the 0.3 s a writer notices; an
# event arriving during a build schedules one more build after it, so nothing is missed.
DEBOUNCE_SECONDS = 0.02
# After a watched edit's build: time for the open page to ask for its reload (tens of ms) before
# the cache is saved and the garbage collected (both hold the interpreter for 0.1-0.2 s at 1,000
# posts: the page's request would wait behind them). Measured: 0.66 -> 0.51 s from save to page.
TIDY_DELAY_SECONDS = 0.1
_CLIENT_JS = resources.files(__package__).joinpath("client.js").read_text(encoding="utf-8")


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
        # Bumped after every build, good or bad. It starts where no earlier serve process's could
        # be (milliseconds since 1970): a tab left open across a restart sees a new number and
        # reloads, where a count from 0 matched the old process's and kept the old page.
        self.generation = time.time_ns() // 1_000_000
        self.error: str | None = None  # text of the last build's errors; None after a good build
        self.closed = False
        self._changed = threading.Condition()
        self._timer: threading.Timer | None = None
        self._build_lock = threading.Lock()
        self._cache = None             # serve's render cache, kept in memory across rebuilds
        self._warm: set[bool] = set()  # raw_html settings whose Markdown converter this process has made
        self._tidy_timer: threading.Timer | None = None   # a watched edit's build tidies after the reload
        self._watch = None             # runner.RunWatch of the real build: stops a run whose code the writer changed
        # runpost.toml's settings that serve keeps from its start, as read at the first build,
        # and the changed values the writer was told about (each once).
        self.built = False             # whether a build has ended (the preview folder may not exist before)
        # Watches the posts' declared inputs too (serve/watch.py; set once watching starts).
        self.watch_inputs: Callable[[list[Path]], None] = lambda paths: None
        self._started: dict[str, object] | None = None
        self._told: dict[str, object] = {}

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
        self._tell_about_kept_settings(fresh)
        keep = {name: getattr(self.initial, name) for name in
                ("content_dir", "build_dir", "drafts", "future", "expired", "mode", "params", "timeout", "debug", "executor")}
        # Links written with the published address (the command line's --base-url, else runpost.toml's
        # at the start: serve keeps it, as it keeps the path it serves under) are this site's.
        return dataclasses.replace(fresh, **keep, output_dir=self.output_dir, base_url=self.url,
                                   published_url=self.initial.base_url)

    def _tell_about_kept_settings(self, fresh: Config) -> None:
        """A runpost.toml edit to a setting serve keeps from its start is said once, not ignored unsaid:
        the path the preview is served under (its server is bound), and the timeout and executor of
        the code's runs (the command line's --timeout or --executor wins over the file's anyway)."""
        now = {"base_url": fresh.base_url, "timeout": fresh.timeout, "executor": fresh.executor}
        if self._started is None:
            self._started = now
            return
        for name, value in now.items():
            if value == self._started[name] or self._told.get(name) == value:
                continue
            self._told[name] = value
            shown = f"{value:g}" if isinstance(value, float) else value
            if name == "base_url":
                self.reporter.warning(f"base_url is now '{value}': restart serve to preview the site under it "
                                      f"(it is served under {self.initial.base_path} until then)")
            else:
                self.reporter.warning(f"{name} is now '{shown}' in {CONFIG_NAME}: restart serve to use it "
                                      f"(its runs use '{self._shown(name)}' until then)")

    def _shown(self, name: str) -> object:
        value = getattr(self.initial, name)
        return f"{value:g}" if isinstance(value, float) else value

    def schedule_rebuild(self, changed: Path) -> None:
        # Editors save in bursts (temp file, rename, chmod); wait for the burst to end.
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(DEBOUNCE_SECONDS, self.rebuild, kwargs={"reason": changed, "tidy_later": True})
        self._timer.daemon = True
        self._timer.start()
        self._stop_outdated_run(changed)

    def _stop_outdated_run(self, changed: Path) -> None:
        """While code runs, a post file saved with other code or parameters than its run has
        (runner.RunWatch): that run stops as soon as it runs, so that the build waiting for the lock
        runs the new code now rather than after the old code's minutes. A prose edit, or a file
        that cannot be read whole yet (a save in two writes, an editor's rename), stops nothing."""
        watch = self._watch
        if watch is None or watch.running is None or changed.suffix != ".md":
            return
        from ..content.load import bundle_page_names, parse_post, site_languages
        from ..content.scan import scan_post
        from ..execution.runner import code_of
        from ..markup.shortcodes import available_shortcodes, parse_shortcodes, shortcodes_needing_inner

        languages = site_languages(self.initial)
        bundle = changed.parent if changed.name in bundle_page_names(languages) else None
        try:
            text = changed.read_text(encoding="utf-8")
            now = parse_shortcodes(scan_post(parse_post(changed, text, bundle, languages)),
                                   available_shortcodes(self.initial), shortcodes_needing_inner(self.initial))
        except Exception:      # half-saved, gone or wrong: the next save, or the next build, says
            return
        watch.saved_code(changed, code_of(now))

    def rebuild(self, reason: Path | None = None, tidy_later: bool = False) -> bool:
        if self._build is None:
            from ..pipeline import build as pipeline_build  # imported late: serve.py stays light
            from ..render_cache import RenderCache

            # One render cache for the whole session, kept in memory (and on disk beside the
            # preview site): after an edit only what depends on it is rendered again.
            from ..site.write import PreviewWriter
            from ..execution.runner import RunWatch

            cache = RenderCache(self.output_dir.parent / "render-cache", self.reporter.warning)
            self._watch = RunWatch()
            self._build = functools.partial(pipeline_build, cache=cache, write=PreviewWriter(), save_cache=False,
                                            watch=self._watch, inputs=lambda paths: self.watch_inputs(paths))
            self._cache = cache
        build = self._build
        with self._build_lock:
            self._tidy_now()                     # the last build's tidying, if not done yet
            if reason is not None:
                self.reporter.info(f"change in {shown(reason)}: rebuilding")
            started = time.monotonic()
            config = None
            if self._watch is not None:
                self._watch.start_build()    # this build reads every post itself
            try:
                config = self.config()      # runpost.toml may be half-saved or wrong: an error like any other
                build(config, self.reporter)
                error = None
            except Superseded as superseded:
                # The build waiting for this lock runs the new code; the open page waits for that one.
                self.reporter.info(f"{superseded}: stopped it to run the new code (finished memo calls kept)")
                return False
            except BuildErrors as errors:
                error = "\n".join(str(one) for one in errors.errors) + f"\nbuild failed: {len(errors.errors)} error{'s' if len(errors.errors) != 1 else ''}"
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
                self.built = True
                self.generation += 1
                self._changed.notify_all()
            tidy = functools.partial(self._tidy, config if error is None else None)
            if tidy_later:
                # The open page reloads now: its request is answered first (a collection holds
                # the interpreter for 0.1 s at 1,000 posts), then the tidying (or before the next
                # build, if an edit comes first).
                self._tidy_timer = threading.Timer(TIDY_DELAY_SECONDS, self._tidy_when_free, args=(tidy,))
                self._tidy_timer.daemon = True
                self._tidy_timer.start()
            else:
                tidy()
            return error is None

    def _tidy(self, config: Config | None) -> None:
        """After a build (`config`: a good build's settings, else None), with the build lock held:
        save the render cache, warm the Markdown converter, collect the build's garbage."""
        if self._cache is not None and config is not None:
            self._cache.save()   # after the reload event: writing the cache is not the writer's wait
        if config is not None and self._cache is not None and config.raw_html not in self._warm:
            from ..markup.markdown import warm_up

            warm_up(config.raw_html)   # the first build converted posts in other processes
            self._warm.add(config.raw_html)
        # Collect the build's garbage now, while the writer reads, not during the next rebuild.
        gc.collect()

    def _tidy_when_free(self, tidy: Callable[[], None]) -> None:
        with self._build_lock:
            if self._tidy_timer is threading.current_thread():    # not cancelled by a build since
                self._tidy_timer = None
                tidy()

    def _tidy_now(self) -> None:
        """The pending tidy, if any, done now (the build lock held)."""
        timer, self._tidy_timer = self._tidy_timer, None
        if timer is not None:
            timer.cancel()
            timer.args[0]()

    def flush(self) -> None:
        """Do a pending tidy now (serve stopping: the render cache is saved for the next start)."""
        if self._tidy_timer is None or not self._build_lock.acquire(timeout=30):
            return
        try:
            self._tidy_now()
        finally:
            self._build_lock.release()

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
        self.flush()

    def inject(self, page: bytes) -> bytes:
        """Add the reload client (and the error overlay, if the last build failed) to served HTML."""
        snippet = client_script(self.generation, self.error).encode("utf-8")
        index = page.lower().rfind(b"</body>")
        return page + snippet if index < 0 else page[:index] + snippet + page[index:]


def client_script(generation: int, error: str | None) -> str:
    state = json.dumps({"generation": generation, "error": error, "events": EVENTS_PATH})
    # The error text must not end the script element early (`</script`), nor keep it open past its
    # end tag (`<!--<script`: the script data's escaped state): every `<` is written as \u003c.
    state = state.replace("<", "\\u003c")
    return f"<script>\n{_CLIENT_JS.rstrip()}({state});\n</script>\n"

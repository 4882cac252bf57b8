"""Run posts' executable blocks, or read their results back from build/.

Per post: plan it (plan.py: chain keys, staleness); if build/ holds results for
the final key, read them (results.py) without starting Python; otherwise run
every block, in order, in one fresh `python -m runpost.execution.kernel`
(kernel.py; the protocol is below), then store the new results atomically
(store.py). Outputs are data (text, values, files), never HTML.
"""
from __future__ import annotations

import dataclasses
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import keys, store
from .environment import installed_versions, stamp_text, version_changes
from ..parallel import STOP_SIGNAL
from .plan import Plan, check_frozen, effective_params, parse_overrides, plan_post, warn_unverified
from .results import KernelRun, make_manifest, previous_values, read_results, report_summary, value_changes
from ..config import Config
from ..errors import BuildError, BuildErrors, ErrorCollector, Location, Superseded
from ..post import Cell, CellOutput, Post, Results
from ..report import Reporter

PACKAGE_PARENT = Path(__file__).resolve().parents[2]


class RunWatch:
    """serve's view of a build's code runs. The watcher, for each post file saved while code runs,
    records the code (and parameters) the file now holds; a post's run whose code is not what its
    file was last saved with is stopped (the writer changed it: waiting minutes for the old code's
    results helps no one), whichever post runs, as soon as it runs. The memo calls that finished are
    kept, as after Ctrl-C. Each build starts with nothing recorded: it read the files itself."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: Post | None = None            # the post whose code runs now
        self.saved: dict[Path, tuple] = {}           # post file -> code_of() what it was saved with

    def start_build(self) -> None:
        with self.lock:
            self.saved.clear()

    def saved_code(self, path: Path, code: tuple) -> None:
        with self.lock:
            self.saved[path.resolve()] = code

    def outdated(self, post: Post) -> bool:
        with self.lock:
            saved = self.saved.get(post.path.resolve())
        return saved is not None and saved != code_of(post)


def code_of(post: Post) -> tuple:
    """What a post's run depends on that a save of its file can change: its blocks' code and its parameters."""
    return tuple(cell.code for cell in post.cells), repr(sorted(post.meta.params.items()))


# How often a watched run looks at its stop request while the code runs.
_WATCH_SECONDS = 0.1


def execute_posts(posts: list[Post], config: Config, reporter: Reporter, watch: RunWatch | None = None) -> list[Post]:
    """Fill `results` of every post; raise all posts' errors together at the end."""
    overrides = parse_overrides(posts, config)
    if config.build_dir.is_dir() and config.mode != "frozen":
        store.clean_leftovers(config.build_dir)
    errors = ErrorCollector()
    done = []
    nothing = Results()
    # A results folder that holds no results of runpost's will be replaced (its post must run): each
    # is checked before any code runs, so one that is a user's (--build-dir ~/papers) stops the build
    # before another post's folder is replaced. A post whose folder holds results is checked at its
    # turn, if it runs; its inputs are hashed then too (an earlier post's run may take hours, and a
    # file edited meanwhile must key the results it gives).
    if config.mode != "frozen":
        refused = ErrorCollector()
        for post in posts:
            if post.cells:
                try:
                    folder = store.result_folder(config.build_dir, post.name, effective_params(post, overrides)[1])
                    if config.mode == "rerun" or not store.holds_results(folder):      # (--rerun replaces all)
                        store.check_replaceable(folder)
                except BuildError as error:
                    refused.add(error)
        if refused.errors:             # said with every other post's own error, all at once
            for post in posts:
                try:
                    plan_post(post, config, overrides) if post.cells else None
                except BuildError as error:
                    refused.add(error)
                except BuildErrors as many:
                    refused.extend(many)
            refused.raise_if_any()
    for post in posts:
        if not post.cells and post.results == nothing:
            done.append(post)       # nothing to run or read (serve: the same object goes on)
            continue
        try:
            done.append(dataclasses.replace(post, results=execute_post(post, config, overrides, reporter, watch)))
        except BuildError as error:
            errors.add(error)
            done.append(post)
        except BuildErrors as many:
            errors.extend(many)
            done.append(post)
    errors.raise_if_any()
    report_summary(done, reporter)
    return done


def execute_post(post: Post, config: Config, overrides: dict[str, Any], reporter: Reporter,
                 watch: RunWatch | None = None) -> Results:
    if not post.cells:
        return Results()
    plan = plan_post(post, config, overrides)
    if config.mode == "frozen":
        check_frozen(plan)
        warn_other_versions(plan, reporter)
        return read_results(plan)
    if config.mode != "rerun" and plan.fresh:
        warn_other_versions(plan, reporter)
        return read_results(plan)
    warn_unverified(plan, reporter)
    return run_post(plan, config, reporter, watch)


def run_post(plan: Plan, config: Config, reporter: Reporter, watch: RunWatch | None = None) -> Results:
    """Run the post in a temp folder and swap it in only if every block succeeded.

    Memo results are stored in build/<post>/memo the moment each call returns,
    so a failed or interrupted run keeps them for the next one.
    """
    store.check_replaceable(plan.folder)      # before its memo folder is written into
    temp = store.new_temp_folder(plan.folder)
    memo = memo_folder(plan, temp, config)
    started = time.time()
    try:
        if watch is not None:
            watch.running = plan.post
        try:
            if watch is not None and watch.outdated(plan.post):      # saved anew before its turn came
                raise Superseded(f"{Location(plan.post.path)}: its code changed before it ran")
            run = run_kernel(plan, temp, memo, config, reporter, watch)
        finally:
            if watch is not None:
                watch.running = None
        store.collect_memo(memo, temp / "memo", [entry["key"] for entry in run.memo])
        manifest = store.write_manifest(temp, make_manifest(plan, temp, run))
        changes = value_changes(previous_values(plan, config), run.values)
        with store.interrupts_deferred() as deferred:
            store.swap_in(temp, plan.folder)
        if config.mode == "rerun":
            shutil.rmtree(memo.parent, ignore_errors=True)  # now part of the result (the stamp goes too)
    except KeyboardInterrupt:
        shutil.rmtree(temp, ignore_errors=True)
        raise KeyboardInterrupt(interrupted(plan, memo, started, config)) from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    if deferred.received:
        raise KeyboardInterrupt(f"interrupted: {Location(plan.folder)} was updated just before; site/ unchanged")
    report_memo(plan, run, reporter)
    warn_changed_sources(plan, reporter)
    return read_results(dataclasses.replace(plan, manifest=manifest), run=True, changes=changes)


def warn_changed_sources(plan: Plan, reporter: Reporter) -> None:
    """A run that changed its own post's files (a download cache written into the bundle, a log)
    made its results stale at once: the next build would run it again, and --frozen fail. Said
    once per such file."""
    try:
        after = keys.fingerprint_post(plan.post, plan.params)
    except BuildError:             # a declared input the code deleted: the next build reports it
        return
    before = plan.fingerprints
    folder = keys.code_folder(plan.post)
    changed = sorted({name for old, new in ((before.helpers, after.helpers), (before.inputs, after.inputs))
                      for name in old.keys() | new.keys() if old.get(name) != new.get(name)})
    for name in changed:
        reporter.warning(f"post '{plan.post.name}': this file of the post's own sources changed while its code ran "
                         "(an edit saved meanwhile, or the code writing it), so its results are stale at once (the next "
                         "build runs it again, --frozen fails); if the code writes it, write what the code makes to its "
                         "working folder (published beside the page) or outside content/",
                         Location(folder / name))


def memo_folder(plan: Plan, temp: Path, config: Config) -> Path:
    # --rerun recomputes every call, so its entries must not replace the ones the
    # stored run used until it succeeds; they go to a folder of their own that outlives
    # a failed or interrupted --rerun, whose finished calls the next --rerun reuses
    # (they were computed by a --rerun, with the same keys).
    if config.mode == "rerun":
        folder = store.rerun_memo_folder(config.build_dir, plan.post.name)
        # Another Python or library since the interrupted --rerun that left these: not reused.
        stamp, here = folder.parent / "environment.json", stamp_text()     # every installed package: read once
        if folder.exists() and not (stamp.is_file() and stamp.read_text(encoding="utf-8") == here):
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(here, encoding="utf-8")
        return folder
    return plan.folder / "memo"


def warn_other_versions(plan: Plan, reporter: Reporter) -> None:
    """Stored results used as they are, made with another Python or library version than this
    machine has: said, since its numbers may differ (a key holds the code and inputs, not these)."""
    recorded = (plan.manifest or {}).get("environment", {})
    recorded = recorded if isinstance(recorded, dict) else {}
    libraries = recorded.get("libraries") if isinstance(recorded.get("libraries"), dict) else {}
    changes = version_changes(recorded, installed_versions(libraries))
    if changes:
        reporter.warning(f"post '{plan.post.name}': its stored results were computed with another version "
                         f"({', '.join(changes)}): they are used as stored; `--rerun` computes them again here",
                         Location(plan.folder / store.MANIFEST))


def interrupted(plan: Plan, memo: Path, started: float, config: Config) -> str:
    """The one line Ctrl-C prints: what was kept, and that nothing else changed."""
    unchanged = f"{Location(plan.folder)} results and site/ unchanged"
    kept = store.memo_finished_since(memo, started)
    if config.mode == "rerun":
        return (f"interrupted: kept {kept} finished memo result{'s' if kept != 1 else ''} in {Location(memo)} "
                f"for the next --rerun; {unchanged}")
    return f"interrupted: kept {kept} finished memo result{'s' if kept != 1 else ''} in {Location(memo)}; {unchanged}"


def report_memo(plan: Plan, run: KernelRun, reporter: Reporter) -> None:
    if run.memo:
        computed = len(run.memo) - run.memo_reused
        reporter.info(f"{plan.post.name}: memo results: {run.memo_reused} reused, {computed} computed")


def run_kernel(plan: Plan, temp: Path, memo: Path, config: Config, reporter: Reporter,
               watch: RunWatch | None = None) -> KernelRun:
    (temp / "files").mkdir()
    job = make_job(plan, temp, memo, config)
    job_read, job_write = os.pipe()
    event_read, event_write = os.pipe()
    try:
        process = start_kernel(job_read, event_write, temp / "files")
    finally:
        os.close(job_read)
        os.close(event_write)
    try:
        send_job(job_write, job)
        run = follow_kernel(process, EventReader(event_read), plan, config, reporter, watch)
    except BaseException:
        # An error, a timeout or Ctrl-C: the kernel (its own process group) gets no say.
        kill_group(process)
        process.wait()
        raise
    finally:
        os.close(event_read)
    finish_kernel(process)
    return run


def make_job(plan: Plan, temp: Path, memo: Path, config: Config) -> dict[str, Any]:
    rerun = config.mode == "rerun"  # --rerun reads only what an earlier, unfinished --rerun computed
    return {
        "path": str(plan.post.path),
        "code_folder": str(keys.code_folder(plan.post)),
        "params": plan.params,
        "base_key": keys.base_key(plan.fingerprints),
        "site_dir": str(temp / "site"),
        "memo_dir": str(memo),
        "memo_read": True,
        "memo_trusted": {} if rerun else store.trusted_memo(plan.manifest),
        "work_dir": str(temp / "files"),
        # Where uncached memo calls compute (cluster.py); workers check declared inputs against these hashes.
        "executor": config.executor,
        "inputs": plan.fingerprints.inputs,
        # Files the code may read without its results going stale (their contents are in the key),
        # and where reading is not a source: kernel.watch_reads warns about any other file of the
        # project (a data/ folder beside content/, the post's own Markdown) the code reads. The
        # post's modules under content/ compile from source, never from a __pycache__.
        "watched": [str(config.root), str(config.content_dir)],     # --content may name a folder elsewhere
        "content": str(config.content_dir),
        "covered": [str(path) for path in keys.covered_paths(plan.post)],
        "declared": [str(keys.code_folder(plan.post) / name) for name in plan.post.meta.inputs],
        "bundle": str(plan.post.bundle) if plan.post.bundle else None,     # its dot-files are in no key
        # runpost's own files (where the project holds runpost, as this repository does) are no source.
        "not_sources": [str(config.build_dir), str(config.output_dir), str(temp), str(PACKAGE_PARENT / "runpost")],
        "cells": [{"index": cell.index, "id": cell.id, "code": cell.code, "code_line": cell.code_line, "key": key}
                  for cell, key in zip(plan.post.cells, plan.keys)],
    }


def start_kernel(job_read: int, event_write: int, workdir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), env.get("PYTHONPATH")]))
    # Same hash order every run (sets, dicts of strings): runs are reproducible.
    env["PYTHONHASHSEED"] = "0"
    # Keep __pycache__ out of the post's bundle (it would be hashed as a helper otherwise).
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # No GUI: plt.show() does nothing and open figures wait for the kernel to capture them.
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.Popen(
        [sys.executable, "-m", "runpost.execution.kernel", str(job_read), str(event_write)],
        cwd=workdir, env=env, pass_fds=(job_read, event_write),
        stdin=subprocess.DEVNULL,
        stdout=2,                # stray fd-1 output goes to the terminal, never into --explain's stdout
        start_new_session=True,  # its own process group: a timeout kills it and all it forked
    )


def send_job(fd: int, job: dict[str, Any]) -> None:
    import json

    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(json.dumps(job).encode("utf-8"))
    except BrokenPipeError:
        pass  # the kernel died before reading; follow_kernel reports how


def finish_kernel(process: subprocess.Popen) -> None:
    """Let the kernel exit after "done", then kill what the post left running (forked workers)."""
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    kill_group(process)
    process.wait()


class EventReader:
    """JSON lines from the kernel, with a deadline."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""

    def next(self, deadline: float | None) -> dict[str, Any] | None:
        """The next event; None at end of stream; TimeoutError past the deadline."""
        import json

        while b"\n" not in self.buffer:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError
            # At most an hour a wait: select() cannot wait 1e308 seconds (a timeout of that many is allowed).
            ready, _, _ = select.select([self.fd], [], [], None if remaining is None else min(remaining, 3600.0))
            if not ready:
                continue           # the deadline is checked again above
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return valid_text(json.loads(line))


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(value: Any) -> Any:
    """An event with every lone surrogate in its strings replaced by U+FFFD: a block may print
    or publish "\\udcff" (a byte it could not decode), which no page or JSON file can hold."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [valid_text(item) for item in value]
    if isinstance(value, dict):
        return {valid_text(key): valid_text(item) for key, item in value.items()}
    return value


def follow_kernel(process: subprocess.Popen, events: EventReader, plan: Plan, config: Config,
                  reporter: Reporter, watch: RunWatch | None = None) -> KernelRun:
    """Report progress and enforce each block's timeout until the kernel is done."""
    cells = plan.post.cells
    outputs: list[CellOutput] = []
    figures: list[list[dict[str, str]]] = []
    current = cells[0]
    deadline = time.monotonic() + timeout_of(current, config)
    while True:
        try:
            event = events.next(deadline if watch is None else min(deadline, time.monotonic() + _WATCH_SECONDS))
        except TimeoutError:
            if watch is not None and time.monotonic() < deadline:
                _stop_if_outdated(watch, plan, process)
                continue
            kill_group(process)
            raise BuildError(current.location, f"block '{current.id}' timed out after "
                                               f"{timeout_of(current, config):g} seconds (allow it longer with "
                                               f"{{timeout=SECONDS}} on the block, or `timeout` in runpost.toml)") from None
        except (ValueError, RecursionError) as error:    # not JSON, or an int longer than Python reads
            kill_group(process)
            raise garbled(current, error) from None
        if event is None:
            raise BuildError(current.location, f"the Python process running block '{current.id}' "
                                               f"{describe_exit(process)}")
        try:
            current, finished = _follow(event, current, cells, outputs, figures, plan, config, reporter)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:   # a forged event
            kill_group(process)
            raise garbled(current, error) from None
        if finished is not None:
            return finished
        if watch is not None:
            _stop_if_outdated(watch, plan, process)       # a block that sends events all the time, too
        if event.get("event") == "start":
            deadline = time.monotonic() + timeout_of(current, config)


def _stop_if_outdated(watch: RunWatch, plan: Plan, process: subprocess.Popen) -> None:
    if watch.outdated(plan.post):
        kill_group(process)
        raise Superseded(f"{Location(plan.post.path)}: its code changed while it ran")


def garbled(current: Cell, error: Exception) -> BuildError:
    """The kernel's event pipe carried what runpost does not write there."""
    problem = " ".join(f"{type(error).__name__}: {error}".split())[:200]
    return BuildError(current.location, f"block '{current.id}': runpost's events from the Python process cannot be "
                                        f"read ({problem}); does the code write to runpost's pipe (an inherited "
                                        "file descriptor), or publish an integer of more than 4,300 digits?")


def _follow(event: dict[str, Any], current: Cell, cells: tuple[Cell, ...], outputs: list, figures: list,
            plan: Plan, config: Config, reporter: Reporter) -> tuple[Cell, KernelRun | None]:
    """One event: (the block running now, the run when the kernel is done, else None)."""
    _check_shape(event)
    kind = event["event"]
    if kind == "start":
        if not 0 <= event["index"] < len(cells):
            raise IndexError(f"block number {event['index']} of {len(cells)}")
        current = cells[event["index"]]
        # The block's opening line, as errors name it (a timeout, --frozen): one number for one block.
        reporter.info(f"{plan.post.name}: block '{current.id}' ({current.index + 1}/{len(cells)}, "
                      f"line {current.location.line}) running")
    elif kind == "end":
        outputs.append(CellOutput(event["stdout"], event["seconds"]))
        figures.append(event.get("figures", []))
        outcome = "failed after" if event.get("failed") else "finished in"
        reporter.info(f"{plan.post.name}: block '{current.id}' {outcome} {event['seconds']:.1f}s")
    elif kind == "call":
        reporter.info(call_progress(plan.post.name, event))
    elif kind == "warning":
        reporter.warning(f"post '{plan.post.name}': {event['message']}", Location(Path(event["path"])))
    elif kind == "error":
        raise code_error(plan.post, event)
    elif kind == "done":
        return current, KernelRun(outputs, figures, event["values"], event["memo"], event["environment"],
                                  event["memo_reused"])
    return current, None


def _check_shape(event: Any) -> None:
    """TypeError unless the fields runpost reads of an event have the types the kernel writes."""
    def holds(value: Any, kind: Any, name: str) -> None:
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise TypeError(f"{name} is {type(value).__name__}")

    holds(event, dict, "an event")
    kind = event.get("event")
    if kind == "start":
        holds(event["index"], int, "start's index")
    elif kind == "end":
        holds(event["stdout"], str, "end's stdout")
        holds(event["seconds"], (int, float), "end's seconds")
        holds(event.get("figures", []), list, "end's figures")
        for figure in event.get("figures", []):
            holds(figure, dict, "a figure")
            holds(figure.get("path"), str, "a figure's path")
            holds(figure.get("alt", ""), str, "a figure's alt")
    elif kind == "done":
        holds(event["values"], dict, "done's values")
        holds(event["environment"], dict, "done's environment")
        holds(event["memo_reused"], int, "done's memo_reused")
        holds(event["memo"], list, "done's memo")
        for entry in event["memo"]:
            holds(entry, dict, "a memo entry")
            if not (isinstance(entry.get("key"), str) and re.fullmatch(r"[0-9a-f]{8,128}", entry["key"])):
                raise ValueError("a memo entry's key is not one runpost makes")
    elif kind in ("warning", "error", "call"):
        pass                      # read with their own defaults (code_error, call_progress)
    else:
        raise ValueError(f"no event is called {str(kind)[:40]!r}")


def call_progress(post_name: str, event: dict[str, Any]) -> str:
    """A memoized call computed in the kernel, a forked child or on a Dask worker: one line per state
    (a call's arguments as one line: numpy writes a long array over several)."""
    event = {**event, "call": " ".join(str(event["call"]).split())}
    where = f" on {event['where']}" if event.get("where") else ""
    if event["state"] == "started":
        return f"{post_name}: memo {event['call']} running{where}"
    seconds = f" {event['seconds']:.1f}s" if "seconds" in event else ""
    device = f" ({event['device'][0]})" if event.get("device") else ""
    if event["state"] == "failed":
        return f"{post_name}: memo {event['call']} failed{' after' + seconds if seconds else ''}{where}"
    return f"{post_name}: memo {event['call']} finished in{seconds}{where}{device}"


def timeout_of(cell: Cell, config: Config) -> float:
    return cell.timeout if cell.timeout is not None else config.timeout


def kill_group(process: subprocess.Popen) -> None:
    """End the kernel and all the post's code started. Its reaper (kernel.become_reaper) is asked
    first: it also kills what left the process group (setsid); then the group is killed outright."""
    if process.poll() is None:
        try:
            os.kill(process.pid, STOP_SIGNAL if sys.platform.startswith("linux") else signal.SIGTERM)
            process.wait(timeout=3)
        except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def describe_exit(process: subprocess.Popen) -> str:
    try:
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return "closed its pipe and hung"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"was killed by {name}"
    return f"exited with status {code} (os._exit?)"


def code_error(post: Post, event: dict[str, Any]) -> BuildError:
    """An exception in the post's code, at the Markdown line of the failing statement."""
    message = f"{event['type']}: {event['message']}" if event["message"] else event["type"]
    # A message of several lines keeps them, indented: no line of it reads as an error of its own.
    message = "\n    ".join(message.rstrip("\n").split("\n"))
    location = Location(post.path, event["line"], _file_column(post, event["line"], event.get("column") or 0))
    return BuildError(location, message, detail=event["traceback"])


def _file_column(post: Post, line: int, column: int) -> int:
    """A column of a block's code (a SyntaxError's) as a column of the Markdown file: a block indented
    in a list item runs without the indentation its lines have in the file. Unknown (0): where the
    line's statement starts."""
    if not column:
        lines = post.source.splitlines()
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        return len(text) - len(text.lstrip()) + 1 if text.strip() else 0
    for cell in post.cells:
        code = cell.code.split("\n")
        if cell.code_line <= line < cell.code_line + len(code):
            written, run = post.source.splitlines()[line - 1], code[line - cell.code_line]
            return column + len(written) - len(run) if written.endswith(run) else column
    return column



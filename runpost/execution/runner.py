"""Run posts' executable blocks, or read their results back from build/.

Per post: compute the chain keys (store.py); if build/ holds results for the
final key, use them without starting Python; otherwise run every block, in
order, in one fresh `python -m runpost.execution.kernel` (kernel.py), then store the new
results atomically. Outputs are data (text, values, files), never HTML.
"""
from __future__ import annotations

import dataclasses
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import store
from ..config import Config
from ..errors import BuildError, BuildErrors, ErrorCollector, Location
from ..post import Cell, CellOutput, Figure, Post, Results, ValueChange
from ..report import Reporter

PACKAGE_PARENT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Plan:
    """What a post's results depend on now, and where they are stored."""

    post: Post
    params: dict[str, Any]           # effective parameters
    overrides: dict[str, Any]        # --param values that differ from front matter
    fingerprints: store.Fingerprints
    keys: list[str]                  # chain key per block
    folder: Path                     # build/<name> or build/.preview/<name>-<hash>
    manifest: dict[str, Any] | None  # what the folder holds now

    @property
    def final_key(self) -> str:
        return self.keys[-1]

    @property
    def fresh(self) -> bool:
        return store.is_fresh(self.folder, self.manifest, self.final_key)


@dataclass(frozen=True)
class KernelRun:
    """What one kernel run reported."""

    outputs: list[CellOutput]
    figures: list[list[dict[str, str]]]   # per block: {"path": file in the working folder, "alt"}
    values: dict[str, Any]
    memo: list[dict[str, Any]]
    environment: dict[str, Any]


def execute_posts(posts: list[Post], config: Config, reporter: Reporter) -> list[Post]:
    """Fill `results` of every post; raise all posts' errors together at the end."""
    overrides = parse_overrides(posts, config)
    if config.build_dir.is_dir() and config.mode != "frozen":
        store.clean_leftovers(config.build_dir)
    errors = ErrorCollector()
    done = []
    for post in posts:
        try:
            done.append(dataclasses.replace(post, results=execute_post(post, config, overrides, reporter)))
        except BuildError as error:
            errors.add(error)
            done.append(post)
        except BuildErrors as many:
            errors.extend(many)
            done.append(post)
    errors.raise_if_any()
    report_summary(done, reporter)
    return done


def execute_post(post: Post, config: Config, overrides: dict[str, Any], reporter: Reporter) -> Results:
    if not post.cells:
        return Results()
    plan = plan_post(post, config, overrides)
    if config.mode == "frozen":
        check_frozen(plan)
        return read_results(plan)
    if config.mode != "rerun" and plan.fresh:
        return read_results(plan)
    return run_post(plan, config, reporter)


# --- parameters -------------------------------------------------------------

def parse_overrides(posts: list[Post], config: Config) -> dict[str, Any]:
    """--param NAME=VALUE, values parsed as YAML scalars (`epochs=2` is the int 2)."""
    if not config.params:
        return {}
    import yaml  # only needed with --param

    known = sorted({name for post in posts for name in post.meta.params})
    errors = ErrorCollector()
    parsed = {}
    for name, text in config.params.items():
        if name not in known:
            hint = f" (parameters: {', '.join(known)})" if known else " (no post declares params:)"
            errors.add(BuildError(None, f"--param {name}: no post has a parameter '{name}'{hint}"))
            continue
        try:
            parsed[name] = yaml.safe_load(text) if text.strip() else text
        except yaml.YAMLError as error:
            errors.add(BuildError(None, f"--param {name}: cannot parse '{text}' ({error})"))
    errors.raise_if_any()
    return parsed


def effective_params(post: Post, overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(front matter params with overrides applied, the overrides that change something)."""
    applied = {name: value for name, value in overrides.items()
               if name in post.meta.params and store.canonical_json(value) != store.canonical_json(post.meta.params[name])}
    return {**post.meta.params, **applied}, applied


def plan_post(post: Post, config: Config, overrides: dict[str, Any]) -> Plan:
    params, applied = effective_params(post, overrides)
    fingerprints = store.fingerprint_post(post, params)
    keys = store.chain_keys(store.base_key(fingerprints), post.cells)
    folder = store.result_folder(config.build_dir, post.name, applied)
    return Plan(post, params, applied, fingerprints, keys, folder, store.read_manifest(folder))


# --- frozen -----------------------------------------------------------------

def check_frozen(plan: Plan) -> None:
    if plan.fresh:
        return
    reasons = store.staleness(plan.manifest, plan.fingerprints, plan.post.cells, plan.keys, plan.folder)
    stored = plan.manifest.get("cells", []) if plan.manifest else []
    first = store.first_stale_cell(stored, plan.keys)
    # Point at the changed block when that is the cause; else at the post.
    changed_block = reasons[0].startswith("block") and first < len(plan.post.cells)
    location = plan.post.cells[first].location if changed_block else Location(plan.post.path, 1)
    where = plan.folder.relative_to(plan.folder.parent.parent) if plan.overrides else plan.folder.name
    raise BuildError(location, f"post '{plan.post.name}' is stale ({'; '.join(reasons)}); "
                               f"--frozen never runs code: build without it and commit build/{where}")


# --- reading results --------------------------------------------------------

def read_results(plan: Plan, run: bool = False, changes: tuple[ValueChange, ...] = ()) -> Results:
    manifest = plan.manifest or {}
    stored = manifest.get("cells", [])
    outputs = {cell.id: CellOutput(entry.get("stdout", ""), entry.get("seconds", 0.0), stored_figures(plan.post, entry))
               for cell, entry in zip(plan.post.cells, stored)}
    files = {site_path(plan.post, entry["path"]): plan.folder / entry["path"] for entry in manifest.get("files", [])}
    count = len(plan.post.cells)
    return Results(
        outputs=outputs,
        values=manifest.get("values", {}),
        files=files,
        provenance=provenance(manifest),
        executed=run,
        cells_run=count if run else 0,
        cells_reused=0 if run else count,
        changes=changes,
        overrides=dict(plan.overrides),
    )


def stored_figures(post: Post, entry: dict[str, Any]) -> tuple[Figure, ...]:
    # Manifests written before figures were captured have no "figures": none.
    return tuple(Figure(site_path(post, figure["path"]), figure.get("alt", "")) for figure in entry.get("figures", []))


def site_path(post: Post, stored_path: str) -> str:
    """files/x.png -> /posts/<slug>/x.png (beside the page); site/a/x.png -> /a/x.png."""
    area, _, relative = stored_path.partition("/")
    if area == "site":
        return "/" + relative
    return post.url.rstrip("/") + "/" + relative


def provenance(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        **manifest.get("environment", {}),
        "cells": [{"id": entry.get("id"), "seconds": entry.get("seconds", 0.0)} for entry in manifest.get("cells", [])],
        "memo": [{"call": entry.get("call"), "seconds": entry.get("seconds", 0.0)} for entry in manifest.get("memo", [])],
    }


# --- running ----------------------------------------------------------------

def run_post(plan: Plan, config: Config, reporter: Reporter) -> Results:
    """Run the post in a temp folder and swap it in only if every block succeeded."""
    temp = store.new_temp_folder(plan.folder)
    pending = store.pending_memo_folder(config.build_dir, plan.post.name)
    try:
        run = run_kernel(plan, temp, config, reporter)
        manifest = make_manifest(plan, temp, run)
        store.write_json(temp / store.MANIFEST, manifest)
        changes = value_changes(previous_values(plan, config), run.values)
        store.swap_in(temp, plan.folder)
    except BaseException:
        keep_memo(temp / "memo", pending)
        shutil.rmtree(temp, ignore_errors=True)
        raise
    shutil.rmtree(pending, ignore_errors=True)
    return read_results(dataclasses.replace(plan, manifest=manifest), run=True, changes=changes)


def keep_memo(memo: Path, pending: Path) -> None:
    """Save a failed run's memo results (gitignored) so the next try reuses them."""
    entries = sorted(memo.glob("*.pkl")) if memo.is_dir() else []
    if entries:
        pending.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        os.replace(entry, pending / entry.name)


def run_kernel(plan: Plan, temp: Path, config: Config, reporter: Reporter) -> KernelRun:
    (temp / "files").mkdir()
    job = make_job(plan, temp, config)
    job_read, job_write = os.pipe()
    event_read, event_write = os.pipe()
    try:
        process = start_kernel(job_read, event_write, temp / "files")
    finally:
        os.close(job_read)
        os.close(event_write)
    try:
        send_job(job_write, job)
        run = follow_kernel(process, EventReader(event_read), plan, config, reporter)
    except BaseException:
        # An error, a timeout or Ctrl-C: the kernel (its own process group) gets no say.
        kill_group(process)
        process.wait()
        raise
    finally:
        os.close(event_read)
    finish_kernel(process)
    return run


def make_job(plan: Plan, temp: Path, config: Config) -> dict[str, Any]:
    # --rerun really recomputes: no earlier memo results are offered to the kernel.
    sources = [] if config.mode == "rerun" else [
        plan.folder / "memo", store.pending_memo_folder(config.build_dir, plan.post.name)]
    return {
        "path": str(plan.post.path),
        "code_folder": str(store.code_folder(plan.post)),
        "params": plan.params,
        "base_key": store.base_key(plan.fingerprints),
        "site_dir": str(temp / "site"),
        "memo_dir": str(temp / "memo"),
        "memo_sources": [str(folder) for folder in sources],
        "work_dir": str(temp / "files"),
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
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)


def follow_kernel(process: subprocess.Popen, events: EventReader, plan: Plan, config: Config,
                  reporter: Reporter) -> KernelRun:
    """Report progress and enforce each block's timeout until the kernel is done."""
    cells = plan.post.cells
    outputs: list[CellOutput] = []
    figures: list[list[dict[str, str]]] = []
    current = cells[0]
    deadline = time.monotonic() + timeout_of(current, config)
    while True:
        try:
            event = events.next(deadline)
        except TimeoutError:
            kill_group(process)
            raise BuildError(current.location, f"block '{current.id}' timed out after "
                                               f"{timeout_of(current, config):g} seconds") from None
        if event is None:
            raise BuildError(current.location, f"the Python process running block '{current.id}' "
                                               f"{describe_exit(process)}")
        kind = event["event"]
        if kind == "start":
            current = cells[event["index"]]
            deadline = time.monotonic() + timeout_of(current, config)
            reporter.info(f"{plan.post.name}: block '{current.id}' ({current.index + 1}/{len(cells)}, "
                          f"line {current.code_line}) running")
        elif kind == "end":
            outputs.append(CellOutput(event["stdout"], event["seconds"]))
            figures.append(event.get("figures", []))
            outcome = "failed after" if event.get("failed") else "finished in"
            reporter.info(f"{plan.post.name}: block '{current.id}' {outcome} {event['seconds']:.1f}s")
        elif kind == "error":
            raise code_error(plan.post, event)
        elif kind == "done":
            return KernelRun(outputs, figures, event["values"], event["memo"], event["environment"])


def timeout_of(cell: Cell, config: Config) -> float:
    return cell.timeout if cell.timeout is not None else config.timeout


def kill_group(process: subprocess.Popen) -> None:
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
    location = Location(post.path, event["line"], event.get("column") or 0)
    return BuildError(location, message, detail=event["traceback"])


# --- storing ----------------------------------------------------------------

def make_manifest(plan: Plan, temp: Path, run: KernelRun) -> dict[str, Any]:
    cells = [{"id": cell.id, "key": key, "code_sha256": store.hash_text(cell.code), "line": cell.code_line,
              "seconds": output.seconds, "stdout": output.stdout, **manifest_figures(figures)}
             for cell, key, output, figures in zip(plan.post.cells, plan.keys, run.outputs, run.figures)]
    import datetime as dt

    environment = {**run.environment,
                   "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()}
    return {
        "format": store.FORMAT_VERSION,
        "post": plan.post.name,
        "key": plan.final_key,
        "overrides": plan.overrides,
        "fingerprints": plan.fingerprints.as_json(),
        "cells": cells,
        "values": run.values,
        "files": stored_files(plan.post, temp),
        "memo": run.memo,
        "environment": environment,
    }


def manifest_figures(figures: list[dict[str, str]]) -> dict[str, Any]:
    """A block's captured figures, paths relative to the result folder; no key when none (small diffs)."""
    if not figures:
        return {}
    return {"figures": [{"path": f"files/{figure['path']}", "alt": figure["alt"]} for figure in figures]}


def stored_files(post: Post, temp: Path) -> list[dict[str, str]]:
    entries = []
    for area in ("files", "site"):
        root = temp / area
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(temp).as_posix()
                entries.append({"path": relative, "site_path": site_path(post, relative),
                                "sha256": store.hash_file(path)})
    return entries


def previous_values(plan: Plan, config: Config) -> dict[str, Any]:
    """The values of the stored run this one replaces (for a preview: else the full run)."""
    if plan.manifest is not None:
        return plan.manifest.get("values", {})
    if plan.overrides:
        default = store.read_manifest(config.build_dir / plan.post.name)
        return default.get("values", {}) if default else {}
    return {}


def value_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[ValueChange, ...]:
    return tuple(ValueChange(name, old[name], new[name]) for name in sorted(new)
                 if name in old and store.canonical_json(old[name]) != store.canonical_json(new[name]))


# --- reporting --------------------------------------------------------------

def report_summary(posts: list[Post], reporter: Reporter) -> None:
    for post in posts:
        if not post.cells:
            continue
        results = post.results
        if results.executed:
            seconds = sum(output.seconds for output in results.outputs.values())
            line = f"{post.name}: executed {blocks(results.cells_run)} in {seconds:.1f}s"
        else:
            line = f"{post.name}: reused {blocks(results.cells_reused)} from build/ " \
                   f"(last run {results.provenance.get('seconds', 0.0):.1f}s)"
        if results.overrides:
            line += " with " + ", ".join(f"--param {name}={value!r}" for name, value in results.overrides.items()) \
                    + " (preview, stored in build/.preview/)"
        reporter.info(line)
        for change in results.changes:
            for path, old, new in leaf_changes(change.name, change.old, change.new):
                reporter.info(f"  {path}: {old!r} -> {new!r}")


def blocks(count: int) -> str:
    return f"{count} block" if count == 1 else f"{count} blocks"


def leaf_changes(path: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """The changed leaves of two published values: "results.1.Test accuracy", not two whole tables."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(dict.fromkeys([*old, *new]))
        return [change for key in keys
                for change in leaf_changes(f"{path}.{key}", old.get(key, _MISSING), new.get(key, _MISSING))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [change for index, (a, b) in enumerate(zip(old, new))
                for change in leaf_changes(f"{path}.{index}", a, b)]
    return [] if old == new else [(path, old, new)]


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


_MISSING = _Missing()

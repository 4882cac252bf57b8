"""A run's results as data: read from a stored manifest, or made into one; the summary.

Outputs are text, values and files, never HTML.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import keys, store
from .plan import Plan
from ..config import Config
from ..content.load import is_utf8
from ..errors import BuildError, Location
from ..post import CellOutput, Figure, Post, Results, ValueChange
from ..report import Reporter


@dataclass(frozen=True)
class KernelRun:
    """What one kernel run reported."""

    outputs: list[CellOutput]
    figures: list[list[dict[str, str]]]   # per block: {"path": file in the working folder, "alt"}
    values: dict[str, Any]
    memo: list[dict[str, Any]]           # the memoized calls used, in first-use order
    environment: dict[str, Any]
    memo_reused: int                     # how many of them were read from build/, not computed


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


def make_manifest(plan: Plan, temp: Path, run: KernelRun) -> dict[str, Any]:
    cells = [{"id": cell.id, "key": key, "code_sha256": keys.hash_text(cell.code), "line": cell.code_line,
              "seconds": output.seconds, "stdout": output.stdout, **manifest_figures(figures)}
             for cell, key, output, figures in zip(plan.post.cells, plan.keys, run.outputs, run.figures)]
    import datetime as dt

    environment = {**run.environment,
                   "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()}
    return {
        "format": keys.FORMAT_VERSION,
        "post": plan.post.name,
        "key": plan.final_key,
        "overrides": plan.overrides,
        "fingerprints": plan.fingerprints.as_json(),
        "cells": cells,
        "values": run.values,
        "files": stored_files(plan.post, temp),
        "memo": [{**entry, "stored": store.stored_memo(temp, entry["key"])} for entry in run.memo],
        "environment": environment,
    }


def manifest_figures(figures: list[dict[str, str]]) -> dict[str, Any]:
    """A block's captured figures, paths relative to the result folder; no key when none (small diffs)."""
    if not figures:
        return {}
    return {"figures": [{"path": f"files/{figure['path']}", "alt": figure["alt"]} for figure in figures]}


def stored_files(post: Post, temp: Path) -> list[dict[str, str]]:
    """The files the code wrote (beside the page, or at the site root), to store and publish. A
    symbolic link among them is an error: published, it would copy what it leads to (another
    file of the machine), and stored, it would lead elsewhere on the next machine."""
    entries, links, unnamed = [], [], []
    for area in ("files", "site"):
        root = temp / area
        for folder, folders, names in os.walk(root):       # links to folders are not followed
            here = Path(folder)
            links += [(here / name).relative_to(root) for name in folders + names if (here / name).is_symlink()]
            unnamed += [(here / name).relative_to(root) for name in folders + names if not is_utf8(name)]
            folders[:] = sorted(name for name in folders if name != "__pycache__" and not (here / name).is_symlink())
            for name in sorted(names):
                path = here / name
                if path.is_file() and not path.is_symlink():
                    relative = path.relative_to(temp).as_posix()
                    entries.append({"path": relative, "site_path": site_path(post, relative),
                                    "sha256": keys.hash_file(path)})
    if unnamed:
        shown = ", ".join(sorted(repr(path.as_posix()) for path in unnamed))
        raise BuildError(Location(post.path), f"the code wrote files whose names are not UTF-8: {shown}; "
                         "name them in UTF-8 (no page can link to them, nor any manifest hold them)")
    if links:
        shown = ", ".join(sorted(link.as_posix() for link in links))
        raise BuildError(Location(post.path), f"the code left symbolic links among the files it wrote: {shown}; "
                         "a post publishes files its code writes, not links to others (copy the file instead)")
    return sorted(entries, key=lambda entry: Path(entry["path"]))    # files/ then site/, each as sorted paths


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
                 if name in old and keys.canonical_json(old[name]) != keys.canonical_json(new[name]))


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

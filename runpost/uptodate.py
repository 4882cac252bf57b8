"""Before any stage: is the site the last build wrote still what this build would write?

    last = current(config)           # cli.py, before the pipeline is even imported
    record(config, started, posts, next_release)   # pipeline.py, after a build wrote its site

make and ninja judge a target by the sizes and modification times of its inputs; so
does this. A successful build leaves build/.cache/last-build.json: the settings and
engine it ran with, the size and modification time of every file it could have read
(the content folder, the templates and static folders, runpost.toml, build/ but its
caches, each post's declared inputs), every file of the output folder as it left it,
and the moment a post it held back (publishDate in the future) is due. If all of that
is unchanged, there is nothing to do: the command says so and exits, in the time it
takes to list the files, where a full rebuild re-reads and re-renders every post.

Anything else means a full build, which also verifies every stored result again:
- a file changed, added or removed, among the inputs or in the output folder;
- an input modified just before the last build started (0.1 s, or 2 s on a file system
  with whole-second timestamps): its change may share a timestamp tick with the build's
  reading of it (git's "racily clean");
- --rerun or --explain (they always do their work), other settings, flags or
  parameters, another runpost, Python or library version;
- a held-back post is due.
The manifest lives in the gitignored cache, so a fresh clone (and CI) always builds in full.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

from .config import CONFIG_NAME, Config

MANIFEST = Path(".cache") / "last-build.json"
FORMAT = "runpost-last-build-1"
# How close before a build's start a change may have been made and still share its timestamp
# tick with the build's reading of the file: whole-second timestamps (FAT, HFS+, some network
# file systems) tick every 1 to 2 s; finer ones (ext4, APFS, NTFS) every few milliseconds.
RACY_SECONDS = 2.0
RACY_SECONDS_FINE = 0.1
_BUILD_CACHES = {".cache", ".preview"}   # build/'s own caches: written by builds, never their inputs


def current(config: Config) -> dict[str, Any] | None:
    """The last build's manifest if this build would write the same site, else None."""
    if config.mode in ("rerun", "explain"):
        return None
    try:
        manifest = json.loads((config.build_dir / MANIFEST).read_text(encoding="utf-8"))
        return manifest if _still_current(config, manifest) else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):   # a manifest we did not write
        return None


def _still_current(config: Config, manifest: Any) -> bool:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return False
    if manifest["settings"] != settings_of(config):
        return False
    due = manifest["next_release"]
    if due is not None and dt.datetime.now(dt.timezone.utc).timestamp() >= due:
        return False
    inputs = manifest["inputs"]
    if not isinstance(inputs, dict) or inputs != _inputs(config, [str(path) for path in manifest["declared"]]):
        return False
    if any(_racy(entry[1], manifest["started_ns"]) for entry in inputs.values() if entry):
        return False
    return manifest["output"] == files_of([config.output_dir]) and isinstance(manifest["warnings"], list)


def _racy(mtime_ns: int, started_ns: int) -> bool:
    coarse = mtime_ns % 1_000_000_000 == 0      # a whole second: a file system that keeps no finer time
    return mtime_ns >= started_ns - int((RACY_SECONDS if coarse else RACY_SECONDS_FINE) * 1e9)


def record(config: Config, started_ns: int, declared: Iterable[Path], next_release: dt.datetime | None,
           warnings: list[str]) -> None:
    """Write the manifest of a build that just wrote its site (a failed write only costs the next build time)."""
    declared = sorted({str(path) for path in declared})
    manifest = {
        "format": FORMAT,
        "settings": settings_of(config),
        "started_ns": started_ns,
        "next_release": next_release.timestamp() if next_release else None,
        "declared": declared,
        "inputs": _inputs(config, declared),
        "output": files_of([config.output_dir]),
        "warnings": warnings,
    }
    target = config.build_dir / MANIFEST
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".tmp", delete=False,
                                         encoding="utf-8") as temporary:
            json.dump(manifest, temporary)
        os.replace(temporary.name, target)
    except OSError:
        pass


def forget(config: Config) -> None:
    """No manifest: the next build is a full one (a build is about to change the output folder)."""
    try:
        (config.build_dir / MANIFEST).unlink()
    except OSError:
        pass


def settings_of(config: Config) -> str:
    from .render_cache import ENGINE, key

    return key("last-build", ENGINE, sys.version, {name: getattr(config, name) for name in vars(config)})


def files_of(paths: Iterable[Path], skip: Iterable[Path] = ()) -> dict[str, list | None]:
    """{path: [size, mtime_ns]} of every file under `paths` but the `skip` folders (symlinks followed; None: missing)."""
    skipped = {str(folder) for folder in skip}
    found: dict[str, list | None] = {}
    for path in paths:
        path = Path(path)
        try:
            status = path.stat()
        except OSError:
            found[str(path)] = None
            continue
        if not path.is_dir():
            found[str(path)] = [status.st_size, status.st_mtime_ns]
            continue
        seen = set()
        for folder, folders, names in os.walk(path, followlinks=True):
            here = os.stat(folder)
            if (here.st_dev, here.st_ino) in seen:     # a symlink loop: its files are listed once
                folders[:] = []
                continue
            seen.add((here.st_dev, here.st_ino))
            folders[:] = [name for name in folders if os.path.join(folder, name) not in skipped]
            for name in names:
                full = os.path.join(folder, name)
                try:
                    entry = os.stat(full)
                    found[full] = [entry.st_size, entry.st_mtime_ns]
                except OSError:
                    found[full] = None
    return found


def _inputs(config: Config, declared: Iterable[str]) -> dict[str, list | None]:
    paths = [config.content_dir, *config.templates_dirs, *config.static_dirs, config.root / CONFIG_NAME,
             config.build_dir, *(Path(path) for path in declared)]
    return files_of(paths, skip=[config.build_dir / name for name in _BUILD_CACHES])

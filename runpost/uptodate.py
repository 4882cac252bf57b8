"""Before any stage: is the site the last build wrote still what this build would write?

    last = current(config)           # cli.py, before the pipeline is even imported
    record(config, started, declared, next_release, warnings, folder)   # pipeline.py, after the write

make and ninja judge a target by the sizes and modification times of its inputs; this
adds each file's status change time and inode, as git's index does (a copy that keeps an old
modification time still changes it). A successful build leaves build/.cache/last-build.json:
the settings and engine it ran with, the size and times of every file (and each folder and
symlink) it could have read (the content folder, the templates and static folders,
runpost.toml, build/ but its caches, each post's declared inputs), the output folder's
identity and every entry in it as it left them, and the moment a post it held back
(publishDate in the future) is due. If all of that
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
import stat
import sys
from pathlib import Path
from typing import Any, Iterable

from .atomic import replace_file
from .config import CONFIG_NAME, Config

MANIFEST = Path(".cache") / "last-build.json"
FORMAT = "runpost-last-build-4"
# How close before a build's start a change may have been made and still share its timestamp
# tick with the build's reading of the file: whole-second timestamps (FAT, HFS+, some network
# file systems) tick every 1 to 2 s; finer ones (ext4, APFS, NTFS) every few milliseconds.
RACY_SECONDS = 2.0
RACY_SECONDS_FINE = 0.1
# build/'s own caches and serve's preview (and its lock), written by builds and never their inputs; a --param
# run's results (build/.preview/<post>-<hash>/) are inputs like any stored result.
_BUILD_CACHES = (".cache", ".preview/site", ".preview/render-cache", ".preview/.lock")


def current(config: Config) -> dict[str, Any] | None:
    """The last build's manifest if this build would write the same site, else None."""
    if config.mode in ("rerun", "explain"):
        return None
    try:
        if not (config.build_dir / MANIFEST).is_file():   # none yet, or a pipe that would never end
            return None
        manifest = json.loads((config.build_dir / MANIFEST).read_text(encoding="utf-8"))
        return manifest if _still_current(config, manifest) else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):   # not a manifest we wrote
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
    # The later of the modification and status change times: a copy that kept an old modification
    # time (cp -p, rsync -t, touch -d) was still made just now.
    if any(racy(max(entry[1], entry[2]), manifest["started_ns"]) for entry in inputs.values() if isinstance(entry, list)):
        return False
    if _folder_identity(config.output_dir) != manifest["folder"]:
        return False     # another folder at the output path: someone else's site, or a copy
    return manifest["output"] == files_of([config.output_dir]) and isinstance(manifest["warnings"], list)


def _folder_identity(folder: Path) -> list[int] | None:
    try:
        status = os.stat(folder)
    except OSError:
        return None
    return [status.st_dev, status.st_ino]


def racy(mtime_ns: int, started_ns: int) -> bool:
    """Whether a file changed at `mtime_ns` may have changed again within the same timestamp tick
    as a reading at `started_ns` (git's "racily clean"); the render cache's file digests ask too."""
    coarse = mtime_ns % 1_000_000_000 == 0      # a whole second: a file system that keeps no finer time
    return mtime_ns >= started_ns - int((RACY_SECONDS if coarse else RACY_SECONDS_FINE) * 1e9)


def record(config: Config, started_ns: int, declared: Iterable[Path], next_release: dt.datetime | None,
           warnings: list[str], folder: tuple[int, int]) -> None:
    """Write the manifest of a build that just wrote its site (a failed write only costs the next build time).

    `folder`: the (device, inode) of the output folder this build swapped in. If another build
    has swapped in its own since, the folder listed would be that build's site: no manifest."""
    declared = sorted({str(path) for path in declared})
    if _folder_identity(config.output_dir) != list(folder):
        return
    output = files_of([config.output_dir])
    if _folder_identity(config.output_dir) != list(folder):
        return
    manifest = {
        "format": FORMAT,
        "settings": settings_of(config),
        "started_ns": started_ns,
        "next_release": next_release.timestamp() if next_release else None,
        "declared": declared,
        "inputs": _inputs(config, declared),
        "output": output,
        "folder": list(folder),
        "warnings": warnings,
    }
    target = config.build_dir / MANIFEST
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_file(target, json.dumps(manifest).encode("utf-8"))
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


def files_of(paths: Iterable[Path], skip: Iterable[Path] = ()) -> dict[str, Any]:
    """Every file, folder and symlink under `paths` but the `skip` folders: {path: [size, mtime_ns, ctime_ns, inode]}
    for a file, "folder", the target of a symlink (under "path ->"), None where stat fails.

    Symlinked folders are followed (each path they are reached by is listed), except into a
    folder that is already one of the path's own ancestors (a loop)."""
    skipped = {str(folder) for folder in skip}
    found: dict[str, Any] = {}
    for path in paths:
        _list(str(path), found, skipped, frozenset())
    return found


def _list(path: str, found: dict[str, Any], skipped: set[str], ancestors: frozenset) -> None:
    try:
        if os.path.islink(path):
            found[path + " ->"] = os.readlink(path)
        status = os.stat(path)
    except OSError:
        found[path] = None
        return
    if not stat.S_ISDIR(status.st_mode):
        # The status change time too: a copy that keeps the old modification time (cp -p, tar,
        # rsync -t, touch -d) of a file of the same size still changes it. And its inode, as git's
        # index keeps: a folder renamed into its place (a bundle swapped for another) changes no
        # time of the files in it.
        found[path] = [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]
        return
    found[path] = "folder"
    identity = (status.st_dev, status.st_ino)
    if identity in ancestors:
        return
    try:
        names = sorted(os.listdir(path))
    except OSError:
        found[path] = None
        return
    for name in names:
        child = os.path.join(path, name)
        if child not in skipped:
            _list(child, found, skipped, ancestors | {identity})


def _inputs(config: Config, declared: Iterable[str]) -> dict[str, list | None]:
    paths = [config.content_dir, *config.templates_dirs, *config.static_dirs, config.root / CONFIG_NAME,
             config.build_dir, *(Path(path) for path in declared)]
    return files_of(paths, skip=[config.build_dir / name for name in _BUILD_CACHES] + [config.output_dir])

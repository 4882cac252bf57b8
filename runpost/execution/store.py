"""The results stored under build/: manifests, atomic writes, temp folders.

Knows nothing of HTML or of running code. A post's results live in

    build/<name>/manifest.json     keys, outputs, values, files, memo calls, environment
    build/<name>/files/...         what the code wrote to its working folder (beside the page)
    build/<name>/site/...          what it wrote through runpost.site_file (site root)
    build/<name>/memo/<key>.json   @runpost.memo results (memo_store.py: JSON record, data beside it)

Everything the manifest lists (files, memo entries) carries its sha256, and the
manifest carries the sha256 of its own contents: results are used only once
verify_stored() finds them as the run left them.

Runs with --param overrides go to build/.preview/<name>-<hash>/ instead, so a
quick preview never replaces the committed full run.
"""
from __future__ import annotations

import json
import os
import shutil
import re
import signal
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .keys import FORMAT_VERSION, canonical_json, hash_file, hash_text
from ..atomic import exchange, running
from ..errors import BuildError, Location

__all__ = ["FORMAT_VERSION"]  # re-exported: a manifest's format is the keys' format
MANIFEST = "manifest.json"
PREVIEW_DIR = ".preview"
# Temp folders carry this marker; .gitignore ignores them and clean_leftovers removes them.
TEMP_MARKER = ".tmp-"


def preview_name(name: str, overrides: dict[str, Any]) -> str:
    return f"{name}-{hash_text(canonical_json(overrides))[:12]}"


def result_folder(build_dir: Path, name: str, overrides: dict[str, Any]) -> Path:
    if overrides:
        return build_dir / PREVIEW_DIR / preview_name(name, overrides)
    return build_dir / name


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The stored manifest, or None if there is none or it is unreadable."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):     # RecursionError: [[[[... nested deeper than Python reads
        return None
    return manifest if isinstance(manifest, dict) and _well_formed(manifest) else None


def _well_formed(manifest: dict[str, Any]) -> bool:
    """Whether every field runpost reads has the type it writes (a manifest edited by hand or another
    tool, then sealed again, is read as one that cannot be read, never as an internal error)."""
    text, number = str, (int, float)

    def records(value: Any, fields: dict[str, Any], optional: dict[str, Any] | None = None) -> bool:
        return isinstance(value, list) and all(
            isinstance(entry, dict) and all(isinstance(entry.get(name), kind) and not isinstance(entry.get(name), bool)
                                            if kind is number else isinstance(entry.get(name), kind)
                                            for name, kind in fields.items())
            and all(name not in entry or isinstance(entry[name], kind) for name, kind in (optional or {}).items())
            for entry in value)

    stored = {"path": text, "sha256": text}
    environment = manifest.get("environment", {})
    return (isinstance(manifest.get("values", {}), dict) and records([environment], {}, {"seconds": number, "date": text})
            and isinstance(manifest.get("fingerprints", {}), dict) and isinstance(manifest.get("overrides", {}), dict)
            and records(manifest.get("cells", []), {"id": text, "key": text, "stdout": text}, {"seconds": number, "figures": list})
            and all(records(cell.get("figures", []), {"path": text}, {"alt": text}) for cell in manifest.get("cells", []))
            and records(manifest.get("files", []), stored)
            and records(manifest.get("memo", []), {"key": text}, {"call": text, "seconds": number, "stored": list})
            and all(records(entry.get("stored", []), stored) for entry in manifest.get("memo", [])))


def write_json(path: Path, data: Any) -> None:
    """Deterministic JSON (sorted keys, indent 2, trailing newline), written atomically.

    Published values keep the order the post's code gave them (a table's
    columns follow its first row's keys); everything else is sorted.
    """
    text = json.dumps(_sorted_keys(data), indent=2, ensure_ascii=False, default=str) + "\n"
    temp = path.with_name(temp_name(path.name))
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def _sorted_keys(data: Any, parent: str = "") -> Any:
    if parent == "values":
        return data
    if isinstance(data, dict):
        return {key: _sorted_keys(data[key], str(key)) for key in sorted(data)}
    if isinstance(data, list):
        return [_sorted_keys(item, parent) for item in data]
    return data


def rerun_memo_folder(build_dir: Path, name: str) -> Path:
    """Where a --rerun stores its memo results until the run succeeds (gitignored, kept on failure)."""
    return build_dir / PREVIEW_DIR / f"rerun-{name}" / "memo"


def new_temp_folder(final: Path) -> Path:
    """An empty folder beside `final`, to fill and then swap in."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(temp_name(final.name))
    temp.mkdir()
    return temp


def swap_in(temp: Path, final: Path) -> None:
    """Replace `final` by the complete folder `temp`.

    Where the system can (atomic.exchange), the two folders trade places in one step, and `temp`
    then holds the old results, removed. Elsewhere, two renames: a process killed between them
    leaves the old folder aside under `<name>.tmp-old-<pid>-...`, and the next build puts it back
    (clean_leftovers), so `final` is never missing for long, nor half-written.
    """
    check_replaceable(final)
    if final.is_dir() and not final.is_symlink() and exchange(temp, final):
        shutil.rmtree(temp, ignore_errors=True)
        return
    old = final.with_name(temp_name(final.name, "old-"))
    if final.exists() or final.is_symlink():
        os.rename(final, old)
    os.rename(temp, final)
    shutil.rmtree(old, ignore_errors=True)


# What runpost writes in a post's results folder (a run cut short leaves memo/ alone), and what a
# file browser leaves in any folder it shows (hidden files such as .DS_Store count too).
_RESULTS_ENTRIES = frozenset({MANIFEST, "memo", "files", "site"})
_DESKTOP_FILES = frozenset({"Thumbs.db", "desktop.ini", "Icon\r", ".DS_Store"})


def check_replaceable(folder: Path) -> None:
    """A post's results folder is replaced only if runpost made it: it holds nothing but what
    runpost writes there (or nothing at all)."""
    if folder.is_symlink():
        raise BuildError(Location(folder), f"refusing to write the post's results here: it is a symbolic link "
                         f"(to {os.readlink(folder)}); delete it, runpost makes the folder itself")
    if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
        # A file of the user's named as the post (`--build-dir ~/notes` and a post `todo`): renamed
        # aside as an old results folder, the next build's tidying would delete it.
        raise BuildError(Location(folder), "refusing to replace this file with the post's results: runpost keeps "
                         "a folder here (is --build-dir the right folder?)")
    if folder.is_dir():
        names = {entry.name for entry in folder.iterdir()}
        # runpost's: with its manifest, what runpost writes there (and a Finder's dot-files). Without
        # one (a run that never finished, a manifest deleted to run the code again), only memo calls
        # named as the memo store names them. Else a `files` folder, a dot-folder (.git, .venv) or
        # a dot-file is the user's, and went with the folder (`--build-dir ~/papers`, a post named
        # like a folder there).
        made = MANIFEST in names and _runposts_manifest(folder / MANIFEST)
        foreign = sorted(name for name in names
                         if name == ".git" or not ((made and name in _RESULTS_ENTRIES) or name == MANIFEST
                                                   or _TEMPORARY.fullmatch(name)
                                                   or name in _DESKTOP_FILES or (made and name.startswith("."))
                                                   or (name == "memo" and _memo_calls_only(folder / name))))
        if foreign:
            raise BuildError(Location(folder), f"refusing to replace this folder with the post's results: it holds "
                             f"{foreign[0]!r}, which runpost does not write there (is --build-dir the right folder?)")


# What memo_store writes in memo/: <sha256>.json, its data file (.pt, .pkl), and their temporaries.
_MEMO_ENTRY = re.compile(r"[0-9a-f]{64}\.(?:json|pt|pkl)(?:\.tmp-\d+)?")


# A temporary runpost names in a results folder (temp_name's, write_atomically's), not `draft.tmp-1.txt`.
_TEMPORARY = re.compile(r".+\.tmp-(?:old-)?\d+(?:-[0-9a-f]{8})?")


def holds_results(folder: Path) -> bool:
    """Whether a post's results folder holds a manifest runpost wrote (its results may be reused)."""
    return _runposts_manifest(folder / MANIFEST)


def _runposts_manifest(path: Path) -> bool:
    """Whether a manifest.json is one runpost wrote (a JSON object naming its post), not any file of that name."""
    try:
        data = json.loads(path.read_bytes())      # whole: a manifest holds every published value, 18 MB or more
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("post"), str) and "format" in data


def _memo_calls_only(folder: Path) -> bool:
    try:
        return folder.is_dir() and not folder.is_symlink() and all(
            _MEMO_ENTRY.fullmatch(entry.name) or entry.name in _DESKTOP_FILES for entry in folder.iterdir())
    except OSError:
        return False


def temp_name(name: str, kind: str = "") -> str:
    """`<name>.tmp-[old-]<pid>-<random>`: a temporary of this process, which clean_leftovers knows."""
    return f"{name}{TEMP_MARKER}{kind}{os.getpid()}-{uuid.uuid4().hex[:8]}"


# A temporary runpost names (temp_name; in memo/, memo_store's `.tmp-<pid>`) and nothing else:
# --build-dir may be a folder of the user's with `notes.tmp-1.txt` or `notes.tmp-20241201`. (Older
# versions' `.tmp-<random>` names are left alone: a date or a word of hex reads the same.)
_LEFTOVER = re.compile(r".+\.tmp-(?:old-)?(?P<pid>\d+)-[0-9a-f]{8}")
_MEMO_LEFTOVER = re.compile(r".+\.tmp-(?P<pid>\d+)")


def is_temporary_name(name: str) -> bool:
    """Whether `name` reads as one of runpost's temporaries in build/ (temp_name's): a post so named
    (`run.tmp-4242-deadbeef.md`) would have its results taken for a leftover and deleted."""
    return _LEFTOVER.fullmatch(name) is not None


def _is_leftover(name: str, pattern: re.Pattern = _LEFTOVER) -> bool:
    """A temporary of a run that no longer runs (another build or serve may be filling its own)."""
    match = pattern.fullmatch(name)
    return bool(match) and not (match.group("pid") and running(int(match.group("pid"))))


def clean_leftovers(build_dir: Path) -> list[Path]:
    """Remove temp folders and files left by interrupted runs; return what was removed."""
    removed = []
    for parent in (build_dir, build_dir / PREVIEW_DIR):
        if not parent.is_dir():
            continue
        for path in sorted(parent.iterdir()):
            if _is_leftover(path.name) and not path.is_symlink():
                aside = path.name.rfind(TEMP_MARKER + "old-")
                own = path.with_name(path.name[:aside])
                if aside > 0 and path.is_dir() and not (own.exists() or own.is_symlink()):
                    # Killed between swap_in's two renames: the old results were aside, none in place.
                    os.rename(path, own)
                    continue
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        # A write cut short (memo entries are written as they finish).
        for temp_file in parent.glob(f"*/{MANIFEST}{TEMP_MARKER}*"):
            if _is_leftover(temp_file.name):
                temp_file.unlink(missing_ok=True)
        for temp_file in parent.glob(f"*/memo/*{TEMP_MARKER}*"):
            if _is_leftover(temp_file.name, _MEMO_LEFTOVER):
                temp_file.unlink(missing_ok=True)
    return removed


def write_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write the manifest sealed with the sha256 of its own contents; return what was written."""
    sealed = {**manifest, "sha256": seal(manifest)}
    write_json(folder / MANIFEST, sealed)
    return sealed


def seal(manifest: dict[str, Any]) -> str:
    return hash_text(canonical_json({name: value for name, value in manifest.items() if name != "sha256"}))


def verify_stored(folder: Path, manifest: dict[str, Any]) -> list[tuple[Path, str]]:
    """(file, problem) for everything stored that is not as the run left it; [] if all is.

    Covers the manifest itself (published values, printed output), the files
    it lists (published beside the page or at the site root) and its memo entries.
    """
    if manifest.get("sha256") != seal(manifest):
        return [(folder / MANIFEST, "the manifest changed since the run that wrote it "
                                    "(its contents do not match its sha256)")]
    problems = []
    if folder.is_symlink():
        return [(folder, "the results folder is a symbolic link: results are files runpost wrote, never links")]
    if (folder / MANIFEST).is_symlink():      # it would be read from wherever it leads, outside the project too
        return [(folder / MANIFEST, "the manifest is a symbolic link: results are files runpost wrote, never links")]
    for entry in stored_entries(manifest):
        path = folder / entry["path"]
        if not is_inside(entry["path"]):
            problems.append((folder / MANIFEST, f"the manifest lists a file outside {folder.name}/: {entry['path']}"))
        elif any(link.is_symlink() for link in [path, *path.parents][:len(Path(entry["path"]).parts)]):
            # Followed, a link would publish what it leads to (a file of this machine whose
            # contents are known, so its sha256 could be in the manifest).
            problems.append((path, "a stored file is a symbolic link or inside one: results are files runpost "
                                   "wrote, never links"))
        elif not path.is_file():
            problems.append((path, "a stored file is missing"))
        elif hash_file(path) != entry.get("sha256"):
            problems.append((path, f"a stored file changed since the run that wrote it "
                                   f"(its sha256 differs from {folder.name}/{MANIFEST})"))
    return problems


def stored_entries(manifest: dict[str, Any]) -> list[dict[str, str]]:
    """Every file the manifest vouches for: {"path" (relative to the result folder), "sha256"}."""
    return [*manifest.get("files", []), *(stored for entry in manifest.get("memo", []) for stored in entry.get("stored", []))]


def is_inside(relative: Any) -> bool:
    if not isinstance(relative, str):
        return False
    parts = Path(relative).parts
    return bool(parts) and parts[0] in ("files", "site", "memo") and ".." not in parts and not Path(relative).is_absolute()


def memo_record(folder: Path, key: str) -> Path:
    return folder / "memo" / f"{key}.json"


def memo_files(memo: Path, key: str) -> list[Path]:
    """An entry's record and, if it names one, its data file (the record is JSON: reading it runs nothing)."""
    record = memo / f"{key}.json"
    try:
        data = json.loads(record.read_text(encoding="utf-8")).get("data")
    except (OSError, ValueError, AttributeError):
        return []
    extra = [memo / data] if isinstance(data, str) and data.startswith(key) and "/" not in data else []
    return [record, *[path for path in extra if path.is_file()]]


def stored_memo(folder: Path, key: str) -> list[dict[str, str]]:
    """The manifest's record of an entry's files: their sha256 vouches for entries written before it."""
    return [{"path": f"memo/{path.name}", "sha256": hash_file(path)} for path in memo_files(folder / "memo", key)]


def trusted_memo(manifest: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """key -> {file name: sha256} of the memo entries a stored run used."""
    return {entry["key"]: {Path(stored["path"]).name: stored["sha256"] for stored in entry.get("stored", [])}
            for entry in (manifest or {}).get("memo", [])}


def collect_memo(source: Path, target: Path, keys: list[str]) -> None:
    """Hard-link the entries a run used into its new result folder; the others are pruned with the old one."""
    if source == target:
        return
    target.mkdir(parents=True, exist_ok=True)
    for key in keys:
        for path in memo_files(source, key):
            try:
                os.link(path, target / path.name)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                shutil.copy2(path, target / path.name)


def memo_finished_since(memo: Path, start: float) -> int:
    """How many entries were stored since `start` (time.time())."""
    return sum(1 for record in memo.glob("*.json") if record.stat().st_mtime >= start) if memo.is_dir() else 0


class DeferredInterrupt:
    received = False


@contextmanager
def interrupts_deferred():
    """Ctrl-C waits until the block is done (check `.received` after it): half a swap would
    leave neither the old results nor the new ones in place."""
    deferred = DeferredInterrupt()
    if threading.current_thread() is not threading.main_thread():
        yield deferred
        return

    def note(_signum: int, _frame: Any) -> None:
        deferred.received = True
    # cli.py stops a build on SIGTERM and SIGHUP as on Ctrl-C: those wait too.
    stops = [number for number in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
             if number is not None and signal.getsignal(number) not in (signal.SIG_IGN, signal.SIG_DFL, None)]
    previous = {number: signal.signal(number, note) for number in stops}
    try:
        yield deferred
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)

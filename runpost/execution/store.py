"""Keys for a post's code and the results stored under build/.

Knows nothing of HTML or of running code. A post's results live in

    build/<name>/manifest.json     keys, outputs, values, files, memo calls, environment
    build/<name>/files/...         what the code wrote to its working folder (beside the page)
    build/<name>/site/...          what it wrote through runpost.site_file (site root)
    build/<name>/memo/<key>.pkl    @runpost.memo results

Runs with --param overrides go to build/.preview/<name>-<hash>/ instead, so a
quick preview never replaces the committed full run.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BuildError
from ..post import Cell, Post

# Bump when the meaning of a key or the layout of build/ changes: every post re-runs.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PREVIEW_DIR = ".preview"
# Temp folders carry this marker; .gitignore ignores them and clean_leftovers removes them.
TEMP_MARKER = ".tmp-"


@dataclass(frozen=True)
class Fingerprints:
    """What, besides the blocks' code, a post's results depend on (sha256 per file)."""

    helpers: dict[str, str]          # bundle file (relative path) -> sha256, index.md excluded
    inputs: dict[str, str]           # declared input (as written) -> sha256
    params: dict[str, Any]           # effective parameters

    def as_json(self) -> dict[str, Any]:
        return {"helpers": self.helpers, "inputs": self.inputs, "params": self.params}


def code_folder(post: Post) -> Path:
    """Where the post's helper modules live: first on the kernel's sys.path."""
    return post.bundle if post.bundle else post.path.parent


def fingerprint_post(post: Post, params: dict[str, Any]) -> Fingerprints:
    return Fingerprints(helpers=_helper_hashes(post), inputs=_input_hashes(post), params=params)


def _helper_hashes(post: Post) -> dict[str, str]:
    folder = code_folder(post)
    if post.bundle:
        candidates = (path for path in folder.rglob("*") if path.is_file() and path != post.path)
    else:
        # A single-file post shares its folder with other posts: only modules it could import count.
        candidates = (path for path in folder.glob("*.py") if path.is_file())
    hashes = {}
    for path in candidates:
        relative = path.relative_to(folder)
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
            continue
        hashes[relative.as_posix()] = hash_file(path)
    return dict(sorted(hashes.items()))


def _input_hashes(post: Post) -> dict[str, str]:
    folder = code_folder(post)
    hashes = {}
    for declared in post.meta.inputs:
        path = folder / declared
        if path.is_file():
            hashes[declared] = hash_file(path)
        elif path.is_dir():
            hashes[declared] = _hash_folder(path)
        else:
            raise BuildError(post.meta.location_of(post.path, "inputs"),
                             f"input '{declared}' not found (looked for {path})")
    return dict(sorted(hashes.items()))


def _hash_folder(folder: Path) -> str:
    entries = sorted((path.relative_to(folder).as_posix(), hash_file(path))
                     for path in folder.rglob("*") if path.is_file())
    return hash_text(json.dumps(entries))


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def base_key(fingerprints: Fingerprints) -> str:
    """key_0: everything the first block can see before its own code."""
    return hash_text(canonical_json({"format": FORMAT_VERSION, **fingerprints.as_json()}))


def chain_keys(key: str, cells: tuple[Cell, ...] | list[Cell]) -> list[str]:
    """key_i = sha256(key_{i-1}, code of block i).

    Blocks share one namespace, so a block's key includes every earlier
    block's; otherwise editing block 2 would leave block 5's plot stale.
    Display options (echo, output, id) and the timeout are not part of it:
    changing them never re-runs anything.
    """
    keys = []
    for cell in cells:
        key = hash_text(canonical_json([key, cell.language, cell.code]))
        keys.append(key)
    return keys


def canonical_json(data: Any) -> str:
    # default=str: YAML front matter may hold dates; they key by their text.
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


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
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def is_complete(folder: Path, manifest: dict[str, Any]) -> bool:
    """Every file the manifest lists is present (someone may have deleted build/x/files)."""
    return all((folder / entry["path"]).is_file() for entry in manifest.get("files", []))


def is_fresh(folder: Path, manifest: dict[str, Any] | None, final_key: str) -> bool:
    return (manifest is not None and manifest.get("format") == FORMAT_VERSION
            and manifest.get("key") == final_key and is_complete(folder, manifest))


def write_json(path: Path, data: Any) -> None:
    """Deterministic JSON (sorted keys, indent 2, trailing newline), written atomically.

    Published values keep the order the post's code gave them (a table's
    columns follow its first row's keys); everything else is sorted.
    """
    text = json.dumps(_sorted_keys(data), indent=2, ensure_ascii=False, default=str) + "\n"
    temp = path.with_name(f"{path.name}{TEMP_MARKER}{uuid.uuid4().hex[:8]}")
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


def new_temp_folder(final: Path) -> Path:
    """An empty folder beside `final`, to fill and then swap in."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f"{final.name}{TEMP_MARKER}{uuid.uuid4().hex[:8]}")
    temp.mkdir()
    return temp


def swap_in(temp: Path, final: Path) -> None:
    """Replace `final` by the complete folder `temp`.

    Two renames: if the process dies between them, `final` is missing (the
    post re-runs next time) but never half-written; the moved-aside old folder
    carries the temp marker and is cleaned next time.
    """
    old = final.with_name(f"{final.name}{TEMP_MARKER}old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        os.rename(final, old)
    os.rename(temp, final)
    shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(build_dir: Path) -> list[Path]:
    """Remove temp folders and files left by interrupted runs; return what was removed."""
    removed = []
    for parent in (build_dir, build_dir / PREVIEW_DIR):
        if not parent.is_dir():
            continue
        for path in parent.iterdir():
            if TEMP_MARKER in path.name:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        for manifest_temp in parent.glob(f"*/{MANIFEST}{TEMP_MARKER}*"):
            manifest_temp.unlink(missing_ok=True)
    return removed


def memo_file(folder: Path, key: str) -> Path:
    return folder / "memo" / f"{key}.pkl"


def pending_memo_folder(build_dir: Path, name: str) -> Path:
    """Where memo results of a failed run wait (gitignored), so fixing a late
    block does not recompute an expensive early call."""
    return build_dir / PREVIEW_DIR / "pending-memo" / name


def staleness(manifest: dict[str, Any] | None, fingerprints: Fingerprints,
              cells: tuple[Cell, ...], keys: list[str], folder: Path) -> list[str]:
    """Why the stored results do not match the post now; [] if they do."""
    if manifest is None:
        return ["no stored results"]
    if manifest.get("format") != FORMAT_VERSION:
        return [f"results stored by another runpost format ({manifest.get('format')} -> {FORMAT_VERSION})"]
    stored = manifest.get("fingerprints", {})
    reasons = _changed_files("helper file", stored.get("helpers", {}), fingerprints.helpers)
    reasons += _changed_files("input", stored.get("inputs", {}), fingerprints.inputs)
    reasons += _changed_params(stored.get("params", {}), fingerprints.params)
    if not reasons:
        reasons = _changed_cells(manifest.get("cells", []), cells, keys)
    if not reasons and manifest.get("key") != (keys[-1] if keys else None):
        reasons = ["the results' key does not match (build/ was edited by hand?)"]
    if not reasons and not is_complete(folder, manifest):
        missing = [entry["path"] for entry in manifest.get("files", []) if not (folder / entry["path"]).is_file()]
        reasons = [f"stored file missing: {path}" for path in missing]
    return reasons


def _changed_files(kind: str, old: dict[str, str], new: dict[str, str]) -> list[str]:
    reasons = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            reasons.append(f"{kind} {name} added")
        elif name not in new:
            reasons.append(f"{kind} {name} removed")
        elif old[name] != new[name]:
            reasons.append(f"{kind} {name} changed")
    return reasons


def _changed_params(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    reasons = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            reasons.append(f"parameter {name} added ({new[name]!r})")
        elif name not in new:
            reasons.append(f"parameter {name} removed (was {old[name]!r})")
        elif canonical_json(old[name]) != canonical_json(new[name]):
            reasons.append(f"parameter {name} changed ({old[name]!r} -> {new[name]!r})")
    return reasons


def _changed_cells(stored: list[dict[str, Any]], cells: tuple[Cell, ...], keys: list[str]) -> list[str]:
    for position, cell in enumerate(cells):
        if position >= len(stored):
            return [f"block '{cell.id}' (line {cell.code_line}) is new"]
        if stored[position].get("key") != keys[position]:
            return [f"block '{cell.id}' (line {cell.code_line}) code changed"]
    if len(stored) > len(cells):
        return [f"block '{stored[len(cells)].get('id')}' was removed"]
    return []


def first_stale_cell(stored: list[dict[str, Any]], keys: list[str]) -> int:
    """Index of the first block whose key differs from the stored run (len(keys) if none)."""
    for position, key in enumerate(keys):
        if position >= len(stored) or stored[position].get("key") != key:
            return position
    return len(keys)

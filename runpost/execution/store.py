"""The results stored under build/: manifests, atomic writes, temp folders.

Knows nothing of HTML or of running code. A post's results live in

    build/<name>/manifest.json     keys, outputs, values, files, memo calls, environment
    build/<name>/files/...         what the code wrote to its working folder (beside the page)
    build/<name>/site/...          what it wrote through runpost.site_file (site root)
    build/<name>/memo/<key>.pkl    @runpost.memo results

Runs with --param overrides go to build/.preview/<name>-<hash>/ instead, so a
quick preview never replaces the committed full run.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from .keys import FORMAT_VERSION, canonical_json, hash_text

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


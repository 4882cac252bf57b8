"""Stage: Site -> the output folder, atomically.

The whole site is written to a temporary folder beside the output and
swapped in with renames only once complete, so a failed or interrupted
build leaves the previous site untouched. Every path is checked to stay
inside the output folder, whatever a slug, tag or file name says.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from ..errors import BuildError
from ..post import Site


def write_site(site: Site, output_dir: Path) -> None:
    output_dir = output_dir.resolve()
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.tmp-", dir=output_dir.parent))
    try:
        for path, text in sorted(site.pages.items()):
            _target(staging, path).write_bytes(text.encode("utf-8"))
        for path, source in sorted(site.files.items()):
            shutil.copyfile(source, _target(staging, path))
        _swap(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _target(root: Path, path: str) -> Path:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise BuildError(None, f"refusing to write '{path}' outside the output folder")
    target = root.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _swap(staging: Path, output_dir: Path) -> None:
    # rename() is atomic for each step; between the two steps the old site is
    # still complete under its backup name, never half-written.
    backup = None
    if output_dir.exists():
        backup = output_dir.with_name(f".{output_dir.name}.old-{os.getpid()}")
        shutil.rmtree(backup, ignore_errors=True)
        os.rename(output_dir, backup)
    os.rename(staging, output_dir)
    if backup:
        shutil.rmtree(backup, ignore_errors=True)

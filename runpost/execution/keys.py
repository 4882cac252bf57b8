"""Chain keys: what a post's results depend on, hashed.

key_0 covers the format, the bundle's helper files, declared inputs and the
effective parameters; key_i adds block i's code. Pure: reads files, writes nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import BuildError
from ..post import Cell, Post

# Bump when the meaning of a key or the layout of build/ changes: every post re-runs.
# 2: manifests sealed with their sha256, memo entries as JSON records (memo_store.py).
FORMAT_VERSION = 2


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


def covered_paths(post: Post) -> list[Path]:
    """Files and folders whose contents are in the post's keys: its bundle (or, for a single-file
    post, the modules beside it) and its declared inputs. Not its own Markdown, of which only the
    code is in the keys (kernel.watch_reads: a read of it is warned about, unless declared)."""
    folder = code_folder(post)
    found = [folder / declared for declared in post.meta.inputs]
    found += [post.bundle] if post.bundle else [*folder.glob("*.py"), *_packages_beside(folder)]
    return found


def _packages_beside(folder: Path) -> list[Path]:
    """The packages a single-file post could import from its folder (`mylib/__init__.py`)."""
    return sorted(path.parent for path in folder.glob("*/__init__.py") if path.is_file())


def _helper_hashes(post: Post) -> dict[str, str]:
    folder = code_folder(post)
    if post.bundle:
        candidates = (path for path in files_under(folder) if path != post.path)
    else:
        # A single-file post shares its folder with other posts: only modules it could import count,
        # the packages beside it included (their edit left --frozen publishing old values).
        candidates = [*(path for path in folder.glob("*.py") if path.is_file()),
                      *(path for package in _packages_beside(folder) for path in files_under(package)
                        if path.suffix == ".py")]
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
    entries = sorted((path.relative_to(folder).as_posix(), hash_file(path)) for path in files_under(folder))
    return hash_text(json.dumps(entries))


def files_under(folder: Path) -> Iterator[Path]:
    """Every file under `folder`, through linked folders too (rglob does not enter them: data
    shared by several posts, linked into a bundle, was in no key); each real folder once."""
    seen: set[str] = set()
    for directory, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:             # a link loop, or a second link to the same folder
            folders[:] = []
            continue
        seen.add(real)
        folders.sort()
        for name in sorted(names):
            path = Path(directory, name)
            if path.is_file():
                yield path


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


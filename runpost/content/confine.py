"""Nothing from outside the project reaches the site.

A symlink in a pull request could otherwise publish any file of the build
machine (Hugo does not follow symlinks in content). Every post, bundle file,
static file, template and declared input is resolved and must land inside
the project folder or the content folder, and not in a hidden folder or file at
their top (`static/token -> ../.git/config` would publish the credentials
actions/checkout keeps there); a symlink that leads elsewhere is an error at its
path. Symlinks that stay inside the project work.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable
from stat import S_ISLNK

from ..errors import BuildError, Location


class Roots(tuple):
    """The folders files may resolve into, and the folders resolved so far by this build.

    A file that is not a symlink resolves to its folder's resolved path plus its name, so
    1,000 posts in one folder cost one full resolve and 1,000 lstat calls, not 1,000 resolves.
    Made per build (allowed_roots): a symlink changed between two serve rebuilds is seen.
    Each file is asked whether it is a symlink when it is about to be read, never from an
    earlier listing: a file swapped for a symlink in between would get through. What `lstat`
    said of a file that is not a symlink is kept in `stats` for the read that follows (serve
    tells an unchanged post by it: one system call per post, not two).
    """
    folders: dict[str, str]
    stats: dict[str, os.stat_result]
    generated: tuple[str, ...]       # resolved: the output and results folders (paths_to_publish)


def allowed_roots(root: Path, content_dir: Path, generated: tuple[Path, ...] = ()) -> Roots:
    """`generated`: the output and results folders, which no linked folder may lead into or hold."""
    roots = Roots(dict.fromkeys([root.resolve(), content_dir.resolve()]))
    roots.folders = {}
    roots.stats = {}
    roots.generated = tuple(os.path.realpath(folder) for folder in generated)
    return roots


def is_inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether `path` resolves into one of the roots, and not into a hidden folder or file at the
    top of one (.git, whose config may hold the deploy's token; .github, .venv, .env)."""
    resolved = _resolve(os.fspath(path), roots)
    for root in roots:
        root = os.fspath(root)
        if resolved == root:
            return True
        top = root.rstrip(os.sep) + os.sep
        if resolved.startswith(top):
            return not resolved[len(top):].startswith(".")
    return False


def _resolve(path: str, roots: tuple[Path, ...]) -> str:
    """os.path.realpath(path), with each folder resolved once per build (roots.folders): a build
    asks about every post, bundle file and input, most of them in a few folders."""
    folders = getattr(roots, "folders", None)
    parent, name = os.path.split(path)
    if folders is None or name in ("", ".", "..") or _is_link(path, roots):
        return os.path.realpath(path)
    folder = folders.get(parent)
    if folder is None:
        folder = folders[parent] = os.path.realpath(parent)
    return os.path.join(folder, name)


def _is_link(path: str, roots: Roots) -> bool:
    """os.path.islink(path); what lstat says of a path that is not a link is kept in roots.stats."""
    try:
        status = os.lstat(path)
    except (OSError, ValueError):
        return False
    if S_ISLNK(status.st_mode):
        return True
    roots.stats[path] = status
    return False


def _real(path: Path) -> Path:
    # os.path.realpath, not Path.resolve: on a symlink loop Python 3.11's resolve raises
    # RuntimeError; realpath stops there, and the loop, which cannot be read, is reported
    # where it is read (a bundle file that is not a regular file, a post that cannot be read).
    return Path(os.path.realpath(path))


def outside_error(path: Path, roots: tuple[Path, ...], what: str = "file") -> BuildError | None:
    """The error at `path` if it resolves outside every root, else None."""
    if is_inside(path, roots):
        return None
    real = _real(path)
    if any(real.is_relative_to(root) for root in roots):
        return BuildError(Location(path), f"{what} leads into a hidden file or folder of the project (to {real}); "
                          "runpost never reads .git, .github, .venv and the like")
    return BuildError(Location(path), f"{what} leads outside the project (to {real}); "
                      "runpost reads only files inside the project")


def check_inside(path: Path, roots: tuple[Path, ...], what: str = "file") -> None:
    """Raise outside_error(...) if there is one."""
    error = outside_error(path, roots, what)
    if error is not None:
        raise error


def symlink_errors(folder: Path, roots: tuple[Path, ...], what: str) -> list[BuildError]:
    """Each symlink under `folder` that leads outside the project or cannot be read (dangling,
    a loop), as an error at its path."""
    errors = []
    for path in [folder] * folder.is_symlink() + symlinks_under(folder):     # the folder itself may be one
        if (outside := outside_error(path, roots, what)) is not None:
            errors.append(outside)
        elif not os.path.exists(path):
            errors.append(BuildError(Location(path), f"{what} is a symlink to {os.readlink(path)}, which cannot "
                                     "be read (missing, a loop, or through a file)"))
    return errors


def paths_to_publish(folder: Path, roots: tuple[Path, ...] | None, what: str, errors: list[BuildError],
                     skip: Callable[[str], bool] | None = None) -> list[Path]:
    """Every path under `folder` that may be published (files, folders, links), sorted, with linked
    folders followed as Hugo follows them in a bundle (execution/keys.files_under, which hashes a
    bundle, follows them too). A link leading outside the project (`roots`), or to a folder that
    is or holds the project, content/, this folder, the output or the results (`static/all -> ..`
    published the project, drafts and the last site included, growing each build), or lies inside
    the output or the results, is an error in `errors`, and nothing under it is listed. Each real
    folder is entered through one link at most (two links to one folder, chained, doubled the
    files at each step). A name `skip` accepts is passed over, link or not, and all under it."""
    base = os.path.realpath(folder)
    generated = getattr(roots, "generated", ())
    guarded = [*(os.fspath(root) for root in roots or ()), base, *generated]
    entered: set[str] = set()
    found: list[Path] = []

    def holds(outer: str, inner: str) -> bool:
        return outer == inner or inner.startswith(outer.rstrip(os.sep) + os.sep)

    def walk(directory: Path) -> None:
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:          # not a folder after all, or unreadable: its caller reports what it cannot read
            return
        for entry in entries:
            if skip is not None and skip(entry.name):
                continue
            path = Path(entry.path)
            if not entry.is_symlink():
                found.append(path)
                if entry.is_dir(follow_symlinks=False):
                    walk(path)
                continue
            if roots is not None and (outside := outside_error(path, roots, what)) is not None:
                errors.append(outside)
                continue
            found.append(path)
            if not os.path.isdir(path):
                continue             # a linked file; one that leads nowhere is its caller's to report
            real = os.path.realpath(path)
            if any(holds(real, kept) for kept in guarded) or any(holds(out, real) for out in generated):
                found.pop()
                errors.append(BuildError(Location(path), f"{what} is a link to {real}, a folder that holds or is "
                                         "inside what the build reads or writes (the project, content/, the output or "
                                         "build/): link a folder of the files to publish instead"))
            elif real not in entered:
                entered.add(real)
                walk(path)

    walk(folder)
    return found          # sorted already: each folder's entries by name, depth first, is Path order


def symlinks_under(folder: Path) -> list[Path]:
    """The symlinks under `folder`, in order. Symlinked folders are listed, not entered; dot-names
    (an editor's lock file `.#name`) are not files of the site."""
    found = []
    for parent, folders, names in os.walk(folder):
        found += [Path(parent, name) for name in sorted(folders + names)
                  if not name.startswith(".") and os.path.islink(os.path.join(parent, name))]
        folders[:] = sorted(name for name in folders if not name.startswith("."))
    return found


# What a static folder or a bundle may hold that is never for readers: a repository (a vendored clone's history,
# a remote URL with a token), keys, credentials. Other dot-files (.well-known/, .nojekyll) are published.
_PRIVATE_FOLDERS = frozenset({".git", ".hg", ".svn", ".ssh", ".gnupg", ".aws", ".docker", ".kube", ".env.d"})
_PRIVATE_FILES = frozenset({".env", ".envrc", ".htpasswd", ".netrc", ".npmrc", ".pypirc", ".pgpass",
                            ".git-credentials", "_netrc", ".bash_history", ".zsh_history", ".python_history"})
_KEY_FILES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")


def private(relative: Path) -> bool:
    name = relative.name.lower()
    return any(part.lower() in _PRIVATE_FOLDERS for part in relative.parts) or name in _PRIVATE_FILES \
        or name.startswith(".env.") or name.startswith(_KEY_FILES)

"""Which folder a build may replace with the generated site.

The output folder is runpost's, and only runpost's: `write.py` leaves a marker
file in every site it writes, and a build replaces an existing folder only
when it is empty or carries that marker. `--force` overrides the marker check,
never the list of folders that are always refused: the project itself, its
ancestors, the home folder, `/`, hidden folders (.git, .github, .venv, ~/.ssh), a file,
and any folder that holds a project's sources
(Hugo never cleans its destination unless asked; Zola refuses a non-empty one
without --force).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError

MARKER = ".runpost-site"
# Hidden folders that tools and people keep (a repository, workflows, environments, keys, settings).
_TOOLS_FOLDERS = frozenset({".git", ".github", ".gitlab", ".hg", ".svn", ".venv", ".env", ".tox", ".nox", ".ssh",
                            ".gnupg", ".aws", ".config", ".local", ".cache", ".vscode", ".idea", ".devcontainer"})
# A folder holding any of these is someone's project, never a build output.
_PROJECT_ENTRIES = ("content", "build", "templates", "static", ".git", "runpost.toml")


def check_output_folder(output_dir: Path, root: Path, sources: list[Path], force: bool = False) -> None:
    """Raise UsageError unless the build may replace `output_dir`.

    `root` is the project folder (the output may live inside it, never be it
    or above it); `sources` are the folders the build reads (content, results,
    templates, static, .git): the output may be none of them, hold one, or
    sit inside one.
    """
    output = output_dir.resolve()
    refusal = _never_allowed(output, root.resolve(), [path.resolve() for path in sources])
    if refusal:
        raise UsageError(f"refusing to use '{output_dir}' as the output folder: {refusal}")
    # A hidden folder of someone else's (outside the project, or one tools keep: .git, .venv) is
    # refused whatever it holds, even nothing yet or a site runpost wrote there before: an empty
    # `--output ~/.ssh` got a site, and a later build replaced the key the user had put there since.
    # The project's own `.site` is refused only when it holds what runpost did not write (below).
    hidden = _hidden_in(output, root.resolve())
    outside = root.resolve() not in output.parents
    below = output.parts[len(root.resolve().parts):] if not outside else ()
    if _someone_elses(hidden, outside, below):
        raise _hidden_refusal(output_dir, hidden)
    if not output.exists():
        parent = next(path for path in output_dir.parents if path.exists() or path.is_symlink())
        if not parent.is_dir():
            raise UsageError(f"cannot use '{output_dir}' as the output folder: '{parent}' is a file, not a folder")
        return
    # --force replaces a folder, never a file (`--output runpost.toml --force` is a typo, not a wish).
    if not output.is_dir():
        raise UsageError(f"output '{output_dir}' exists and is not a folder")
    unmarked = any(output.iterdir()) and not (output / MARKER).is_file()
    if unmarked and hidden:
        raise _hidden_refusal(output_dir, hidden)
    # Only where --force would replace files runpost did not write, outside the project: a project
    # under /usr/src/app or /opt/build/repo (Docker, Netlify) builds into its own folders as anywhere else.
    if unmarked and force and outside and (system := _system_folder(output)):
        raise UsageError(f"refusing to use '{output_dir}' as the output folder: {system}")
    if force:
        return
    if unmarked:
        raise UsageError(f"output folder '{output_dir}' is not empty and was not made by runpost "
                         f"(it has no {MARKER} file); choose another folder, empty it, or pass "
                         "--force to replace everything in it")


def misplaced(folder: Path, root: Path, others: list[Path]) -> str:
    """Why the resolved `folder` may not be one a build replaces ("" if it may): it is `/`, home, the
    project or one of their parents, or it is, holds or sits inside one of `others` (resolved),
    the folders the build reads or writes otherwise. For the output and the results folder alike."""
    home = Path.home().resolve()
    if folder == Path(folder.anchor):
        return "it is the root of the file system"
    if folder == home or folder in home.parents:
        return "it is your home folder or one of its parents"
    if folder == root or folder in root.parents:
        return "it is the project folder or one of its parents"
    for other in others:
        shown = _shown(other, root)
        if folder == other:
            return f"it is {shown}, which the build uses"
        if folder in other.parents:
            return f"it holds {shown}, which the build uses"
        if other in folder.parents:
            return f"it is inside {shown}, which the build uses"
    return ""


def check_build_folder(build_dir: Path, root: Path, others: list[Path]) -> None:
    """The results folder is written to and swapped post by post (build/<post>/): misplaced() as the
    output is (`--build-dir content/posts` replaced each post's folder with its results)."""
    resolved = build_dir.resolve()
    problem = misplaced(resolved, root.resolve(), [path.resolve() for path in others])
    if problem:
        raise UsageError(f"refusing to use '{build_dir}' as the results folder: {problem}")
    # As for the output: `--build-dir ~/.ssh` swapped a file there named as a post for its results.
    hidden = _hidden_in(resolved, root.resolve())
    outside = root.resolve() not in resolved.parents
    if _someone_elses(hidden, outside, resolved.parts[len(root.resolve().parts):] if not outside else ()):
        raise _hidden_refusal(build_dir, hidden, "results folder")
    existing = next(path for path in (build_dir, *build_dir.parents) if path.exists() or path.is_symlink())
    if not existing.is_dir():
        shown = "it is" if existing == build_dir else f"'{existing}' is"
        raise UsageError(f"cannot use '{build_dir}' as the results folder: {shown} a file, not a folder")


# The system's own folders, which --force never replaces: `--output /etc --force` (a typo for
# ./etc) as root would have replaced /etc with the site. Any folder right under / (/etc, /usr, /var,
# /home, /opt, /srv...), a user's home folder, and anything in the trees that are the system's
# (Linux's and macOS's: /private/etc is where /etc leads there), but for the places web servers
# serve a site from. Asked only of a folder holding files runpost did not write.
_SYSTEM_TREES = frozenset({"etc", "boot", "proc", "sys", "dev", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
                           "run", "snap", "usr", "var", "opt", "private", "System", "Library", "Applications"})
_WEB_ROOTS = ("/var/www", "/usr/share/nginx", "/usr/share/httpd", "/usr/local/var/www", "/opt/homebrew/var/www",
              "/usr/local/www", "/var/lib/nginx/html", "/private/var/www")


def _system_folder(output: Path) -> str:
    """Why `output` is the system's, or ""."""
    parts = output.parts
    if os.name != "posix" or len(parts) < 2:
        return ""
    served = any(output == Path(root) or Path(root) in output.parents for root in _WEB_ROOTS)
    if len(parts) == 2 or (parts[1] in _SYSTEM_TREES and not served) \
            or (parts[1] in ("home", "Users") and len(parts) == 3):
        return "it is a system folder (or a user's home), which a build never replaces, even with --force"
    return ""


def _never_allowed(output: Path, root: Path, sources: list[Path]) -> str:
    problem = misplaced(output, root, sources)
    if problem:
        return problem
    if (output / MARKER).is_file():      # a site runpost wrote may hold static/build/app.js, an alias /content/old/
        if (output / ".git").exists():   # since made a clone or worktree of the gh-pages branch: its history would go
            return ("it holds '.git', a repository: a build replaces the whole folder, history included "
                    "(build elsewhere and copy the site in, or publish with the Pages workflow)")
        return ""
    for entry in _PROJECT_ENTRIES:
        if (output / entry).exists():
            return f"it holds '{entry}', so it looks like a project, not a generated site"
    return ""


def _hidden_in(output: Path, root: Path) -> str:
    """The hidden folder (`.git`, `.github`, `.venv`, `~/.ssh`) that the resolved `output` is or is
    inside, else "": inside the project, below the project's folder (a project that itself lives in
    a hidden folder, `~/.blogs/mine`, may still replace its own output); outside it, anywhere on its
    path (`~/.config/nvim` beside `~/.config/blog`)."""
    parts = output.parts
    start = len(root.parts) if root in output.parents else 1
    hidden = next((index for index in range(start, len(parts)) if parts[index].startswith(".")), None)
    return str(Path(*parts[:hidden + 1])) + "/" if hidden is not None else ""


def _someone_elses(hidden: str, outside: bool, below: tuple[str, ...]) -> bool:
    """A hidden folder a build never writes in: outside the project, or one tools keep (.git, .venv)."""
    return bool(hidden) and (outside or any(part.lower() in _TOOLS_FOLDERS for part in below))


def _hidden_refusal(folder: Path, hidden: str, what: str = "output folder") -> UsageError:
    return UsageError(f"refusing to use '{folder}' as the {what}: it is inside '{hidden}', a hidden "
                      "folder (such as .git, .github, .venv or ~/.ssh), which even --force does not replace")


def _shown(folder: Path, root: Path) -> str:
    return f"'{folder.relative_to(root)}/'" if root in folder.parents else f"'{folder}'"


def check_preview_folder(folder: Path, build_dir: Path) -> None:
    """Raise UsageError unless a preview (serve, --param) may replace `folder`, which lies inside
    the results folder: no folder on the way there may be a symbolic link (a repository that
    committed build/.preview/site -> ../.. had serve replace the whole clone), and an existing
    folder must be empty or carry runpost's marker."""
    relative = folder.relative_to(build_dir)
    for path in [build_dir, *(build_dir / Path(*relative.parts[:index]) for index in range(1, len(relative.parts) + 1))]:
        if path.is_symlink():
            raise UsageError(f"refusing to write the preview into '{folder}': '{path}' is a symbolic link "
                             f"(to {os.readlink(path)}); delete it, runpost makes the folder itself")
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / MARKER).is_file())):
        raise UsageError(f"refusing to write the preview into '{folder}': it holds files runpost did not write "
                         f"(it has no {MARKER} file); delete it, runpost makes the folder itself")



# Held by the process that writes build/.preview/site (serve for its whole run, a --param build
# for its build): two of them replaced each other's pages, a --drafts serve's drafts showing in
# another's tab. An flock (Linux, macOS) ends with the process, however it ends.
PREVIEW_LOCK = ".lock"


def hold_preview(build_dir: Path):
    """An open file holding the preview's lock (close it to let go), or UsageError if another process
    has it; None where the system has no flock (the preview is not guarded there)."""
    try:
        import fcntl
    except ImportError:
        return None
    folder = build_dir / ".preview"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / PREVIEW_LOCK, "a+b")
    except OSError:      # a read-only checkout: check_preview_folder and the write say what is wrong
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UsageError(f"another runpost is writing the preview in {folder / 'site'} (a `serve`, or a build "
                         "with --param): stop it first (a build with --param may write elsewhere with --output)") from None
    return handle

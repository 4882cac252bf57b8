"""`runpost new FOLDER`: a new blog, copied from the skeleton that ships in the package.

The skeleton's files are package data (runpost/skeleton/). Names starting with
`dot-` become dotfiles (`dot-gitignore` -> `.gitignore`): setuptools' package-data
globs skip hidden files, so they could not ship under their real names.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import sys
from importlib import metadata
from pathlib import Path

SKELETON = Path(__file__).resolve().parent / "skeleton"
HIDDEN_PREFIX = "dot-"


def new_blog(folder: Path) -> int:
    """Create the blog; exit 2 (a usage error) if the folder exists and is not empty."""
    try:
        os.fsencode(folder).decode("utf-8")
    except UnicodeDecodeError:   # bytes no file name of a site, a URL or the README can hold
        print(f"error: {os.fsencode(folder)!r} is not a UTF-8 name; give the blog's folder one", file=sys.stderr)
        return 2
    if folder.is_symlink() and not folder.exists():
        print(f"error: {folder} is a symlink to {os.readlink(folder)}, which does not exist; "
              "runpost new needs a new or empty folder", file=sys.stderr)
        return 2
    if folder.exists() and not folder.is_dir():
        print(f"error: {folder} is a file; runpost new needs a new or empty folder", file=sys.stderr)
        return 2
    # An empty git repository (`git init`, a clone of a new one) holds only .git: that is empty too.
    if folder.exists() and any(entry.name != ".git" for entry in folder.iterdir()):
        print(f"error: {folder} exists and is not empty; runpost new needs a new or empty folder "
              "(or one that holds only .git)", file=sys.stderr)
        return 2
    name = folder.resolve().name
    values = {"__BLOG_NAME__": name, "__TODAY__": dt.date.today().isoformat(),
              # A TOML string (a name may hold quotes or backslashes), and the name GitHub would
              # give a repository of that name (spaces and the like as "-"), for the base URL.
              "__BLOG_TITLE__": json.dumps(name, ensure_ascii=False),
              "__BLOG_SLUG__": re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "blog",
              "__RUNPOST_REQUIREMENT__": runpost_requirement()}
    try:
        write_skeleton(folder, values)
    except OSError as error:
        print(f"error: cannot create the blog: {error}", file=sys.stderr)
        return 1
    if not values["__RUNPOST_REQUIREMENT__"].startswith("runpost @ "):
        print(f"note: the Pages workflow installs what requirements.txt names, "
              f"'{values['__RUNPOST_REQUIREMENT__']}', from your package index; if runpost is not there, "
              "write where you install it from (runpost @ git+https://github.com/OWNER/runpost) before you push",
              file=sys.stderr)
    print(f"created a blog in {folder}/ (its README.md says what next)\n\n"
          f"  cd {shlex.quote(str(folder))}\n"
          f"  runpost build     # runs the example post's code: needs runpost[exec]\n"
          f"  runpost serve     # preview with live reload: needs runpost[exec,serve]")
    return 0


def write_skeleton(folder: Path, values: dict[str, str]) -> None:
    for source in sorted(SKELETON.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            target = folder / _unhide(source.relative_to(SKELETON))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_fill(source.read_text(encoding="utf-8"), values), encoding="utf-8")


def runpost_requirement() -> str:
    """How the blog's Pages workflow installs this runpost: the git URL it came from (pip's record
    of a `git+` install, or the remote of the checkout it is installed from), else its version."""
    try:
        distribution = metadata.distribution("runpost")
    except metadata.PackageNotFoundError:
        return "runpost"
    direct = json.loads(distribution.read_text("direct_url.json") or "{}")
    vcs = direct.get("vcs_info")
    if vcs and vcs.get("vcs") == "git":
        return f"runpost @ git+{direct['url']}@{vcs['commit_id']}"
    if "dir_info" in direct and str(direct.get("url", "")).startswith("file://"):
        remote = _checkout_remote(Path(direct["url"][len("file://"):]))
        if remote:
            return f"runpost @ git+{remote}"
    return f"runpost>={distribution.version}"


def _checkout_remote(folder: Path) -> str:
    """`https://...git[@commit]` for a git checkout with a remote `origin` a CI runner can fetch
    (a GitHub ssh address as https); the commit only where a remote branch holds it; else ""."""
    import subprocess

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    if git("rev-parse", "--show-toplevel") != str(folder.resolve()):
        return ""                   # a folder inside some other repository, not a clone of runpost
    url = git("config", "--get", "remote.origin.url")
    url = re.sub(r"^git@([^:/]+):", r"https://\1/", url)
    if not url.startswith("https://"):
        return ""
    # Never a credential in a file the blogger commits (`https://user:token@github.com/...`).
    url = re.sub(r"^https://[^/@]*@", "https://", url)
    commit = git("rev-parse", "HEAD")
    pushed = commit and git("branch", "-r", "--contains", commit)
    return f"{url}@{commit}" if pushed else url


def _unhide(relative: Path) -> Path:
    return Path(*[("." + part[len(HIDDEN_PREFIX):]) if part.startswith(HIDDEN_PREFIX) else part
                  for part in relative.parts])


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text

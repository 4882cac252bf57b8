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
    requirement = runpost_requirement()
    unknown = requirement is None and _described() is None     # a checkout run as it is: no wheel can be made of it
    if unknown:
        requirement = "# runpost @ git+https://github.com/OWNER/runpost    <- where the workflow installs runpost from"
    values = {"__BLOG_NAME__": name, "__TODAY__": dt.date.today().isoformat(),
              # A TOML string (a name may hold quotes or backslashes), and the name GitHub would
              # give a repository of that name (spaces and the like as "-"), for the base URL.
              "__BLOG_TITLE__": json.dumps(name, ensure_ascii=False).replace("\x7f", "\\u007f"),   # TOML: no raw DEL
              "__BLOG_SLUG__": re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "blog",
              "__RUNPOST_REQUIREMENT__": requirement or f"./{VENDOR}/{wheel_name()}"}
    existed = folder.exists()
    try:
        write_skeleton(folder, values)
        if requirement is None:
            write_wheel(folder / VENDOR)
    except OSError as error:
        # Half a blog would be refused by the next try ("not empty"): what this wrote goes (a full disk).
        _remove_made(folder, existed)
        print(f"error: cannot create the blog: {error}", file=sys.stderr)
        return 1
    if unknown:
        print("note: this runpost is not installed (its metadata cannot be read), so requirements.txt names no "
              "runpost: write where the Pages workflow installs it from (runpost @ git+https://github.com/OWNER/runpost) "
              "before you push", file=sys.stderr)
    elif requirement is None:
        print(f"note: runpost was installed from a file, not from a package index or a git repository, so the "
              f"blog holds a copy of it ({VENDOR}/{wheel_name()}, to commit) and the Pages workflow installs that; "
              "to upgrade, install a newer runpost and copy its wheel there (or name a git URL in requirements.txt)",
              file=sys.stderr)
    elif not requirement.startswith("runpost @ "):
        print(f"note: the Pages workflow installs what requirements.txt names, "
              f"'{requirement}', from your package index (where this runpost came from); if that is a private "
              "index, write where GitHub's runner can install it from before you push", file=sys.stderr)
    print(f"created a blog in {folder}/ (its README.md says what next)\n\n"
          f"  cd {shlex.quote(str(folder))}\n"
          f"  runpost build     # runs the example post's code: needs runpost[exec]\n"
          f"  runpost serve     # preview with live reload: needs runpost[exec,serve]")
    return 0


def _described() -> str | None:
    """runpost's metadata as a wheel's METADATA (an egg-info, a source tree's, calls it PKG-INFO), if it
    names its dependencies: a wheel without them would install runpost and nothing it needs."""
    try:
        distribution = metadata.distribution("runpost")
    except metadata.PackageNotFoundError:
        return None
    described = distribution.read_text("METADATA") or distribution.read_text("PKG-INFO")
    return described if described and "Requires-Dist:" in described else None


# What the package ships besides its modules: pyproject.toml's [tool.setuptools.package-data].
_PACKAGE_DATA = ("theme/", "skeleton/", "serve/client.js", "markup/hugo_compat/chroma_languages.json")


def _package_files(package: Path) -> list[str]:
    """The package's files as a wheel of it holds them (relative to it): the ones pip's record of
    the install lists, else (an editable install, a checkout) its modules and package data, never
    a hidden file, an editor's swap or backup file, or anything else lying in the folder."""
    try:
        distribution = metadata.distribution("runpost")
        # RECORD: an installer's list of what it put there (a source tree's egg-info lists sources, maybe stale).
        recorded = sorted({str(path)[len("runpost/"):] for path in distribution.files or ()
                           if str(path).startswith("runpost/") and "__pycache__" not in str(path)}) \
            if distribution.read_text("RECORD") is not None else []
    except metadata.PackageNotFoundError:
        recorded = []
    if recorded and all((package / relative).is_file() for relative in recorded):
        return recorded
    found = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package).as_posix()
        if not path.is_file() or any(part.startswith(".") or part == "__pycache__" for part in relative.split("/")) \
                or relative.endswith(("~", ".swp", ".pyc", ".pyo", ".orig", ".rej")):
            continue
        if relative.endswith(".py") or relative.startswith(_PACKAGE_DATA):
            found.append(relative)
    return found


def _remove_made(folder: Path, existed: bool) -> None:
    """Everything in `folder` but a .git (it held nothing else: new_blog checked), and the folder if new."""
    import shutil

    try:
        for entry in folder.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        if not existed:
            folder.rmdir()
    except OSError:
        pass


def write_skeleton(folder: Path, values: dict[str, str]) -> None:
    for source in sorted(SKELETON.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            target = folder / _unhide(source.relative_to(SKELETON))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_fill(source.read_text(encoding="utf-8"), values), encoding="utf-8")


VENDOR = "vendor"         # where a blog keeps the copy of runpost its workflow installs


def runpost_requirement() -> str | None:
    """How the blog's Pages workflow installs this runpost: the git URL it came from (pip's record
    of a `git+` install, or the remote of the checkout it is installed from), the URL of an archive
    it was installed from, or its version if it came from a package index. None where it came
    from a file of this machine (a wheel, a folder that is no clone): no runner can fetch that, and
    `runpost>=VERSION` would install whatever another party may one day publish under the name."""
    try:
        distribution = metadata.distribution("runpost")
    except metadata.PackageNotFoundError:     # a checkout run as it is (python build.py new)
        remote = _checkout_remote(Path(__file__).resolve().parent.parent)
        return f"runpost @ git+{remote}" if remote else None
    direct = json.loads(distribution.read_text("direct_url.json") or "{}")
    vcs = direct.get("vcs_info")
    url = str(direct.get("url", ""))
    if vcs and vcs.get("vcs") == "git":
        return f"runpost @ git+{url}@{vcs['commit_id']}"
    if "dir_info" in direct and url.startswith("file://"):
        remote = _checkout_remote(Path(url[len("file://"):]))
        return f"runpost @ git+{remote}" if remote else None
    if "archive_info" in direct:
        return f"runpost @ {url}" if url.startswith("https://") else None
    if direct:
        return None
    if distribution.read_text("INSTALLER"):
        return f"runpost>={distribution.version}"      # an installer's, with no direct URL: from an index
    # Metadata in a source tree (an egg-info beside the package): the checkout's remote, if any.
    remote = _checkout_remote(Path(__file__).resolve().parent.parent)
    return f"runpost @ git+{remote}" if remote else None


def wheel_name() -> str:
    return f"runpost-{_version()}-py3-none-any.whl"


def _version() -> str:
    try:
        return metadata.version("runpost")
    except metadata.PackageNotFoundError:      # run from a checkout that was never installed
        return "0.0.0"


def write_wheel(folder: Path) -> Path:
    """A wheel of the runpost that runs this: its package folder (what the installed wheel put there,
    or an editable install's source) and its metadata; the same bytes each time (fixed file times)."""
    import base64
    import hashlib
    import zipfile

    version = _version()
    info = f"runpost-{version}.dist-info"
    package = Path(__file__).resolve().parent
    files = {f"runpost/{relative}": (package / relative).read_bytes() for relative in _package_files(package)}
    described = _described()
    if described is None:
        raise OSError("runpost's metadata (its dependencies) cannot be read to copy it into the blog")
    try:
        entry_points = metadata.distribution("runpost").read_text("entry_points.txt")
    except metadata.PackageNotFoundError:
        entry_points = None
    files[f"{info}/METADATA"] = described.encode()
    files[f"{info}/entry_points.txt"] = (entry_points or "[console_scripts]\nrunpost = runpost.cli:main\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: runpost new\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
              for name, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / wheel_name()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return target


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

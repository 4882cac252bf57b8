"""The render cache: what rendering a post (or a list page) gave last time, by what it depended on.

Rendering is a pure function of its inputs, so each result is stored with a key
that hashes every input (`key`) plus the engine itself (`ENGINE`: runpost's own
source and the versions of the libraries that shape HTML). A build asks
`memo(owner, kind, parts, compute)`: the stored value if the key matches, else
compute, remember, return. Only values that computed without raising are kept,
so errors are found again on every build.

On disk: build/.cache/render/shard-XX.json (gitignored, never committed, safe to
delete): the pages' entries spread over SHARDS files by a hash of the page's path
(one file per page made a cold build of 1,000 posts create 2,000 files, a second of
this machine's time), each entry one per kind: JSON only, so nothing stored can run
code when loaded. A file that does not parse or holds another shard's pages is
ignored with a warning and rewritten. Beside them, file-digests.json: the sha256 of each
file a post's content depends on (bundle and result files), with what stat said when it was
hashed. Keys hold contents and project-relative names, never absolute paths or modification
times, so a fresh checkout with the cache restored (the Pages workflow) or a moved project
renders nothing again.
`serve` keeps one RenderCache across rebuilds, so its hits come from memory.

Serve's rebuilds also ask `same(stage, post path, inputs, compute)`: the object a stage
made for that post last time, if its inputs are equal (`==`, which is `is` for the very
same object). Nothing is hashed, and an unchanged post keeps the very objects it had,
so each later stage finds its inputs unchanged as cheaply. Memory only, never on disk.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from stat import S_ISREG
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from .atomic import replace_file

FORMAT = "runpost-render-cache-2"
CACHE_FOLDER = Path(".cache") / "render"
# Libraries whose version changes the HTML a post renders to.
# Pillow: image sizes in <img> and the WebP copies (without it, neither).
_LIBRARIES = ("markdown", "pymdown-extensions", "pygments", "jinja2", "markupsafe", "latex2mathml", "pyyaml", "pillow")


def _engine_fingerprint() -> str:
    """runpost's own source plus the rendering libraries' versions: a change to either is a new engine."""
    digest = hashlib.sha256(FORMAT.encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        # .json: package data that shapes HTML (markup/hugo_compat/chroma_languages.json).
        if path.suffix in (".py", ".html", ".xml", ".txt", ".css", ".js", ".json") and path.is_file():
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none\0".encode())
    return digest.hexdigest()


ENGINE = _engine_fingerprint()


def key(*parts: Any) -> str:
    """sha256 of the engine and the parts (strings, numbers, lists, dicts; paths and other objects as str).

    Each value goes into the hash with its type and length, so two different inputs never
    frame the same bytes; a post's whole text is hashed as it is, without JSON's escaping
    (three times faster: serve computes about ten keys per post on every rebuild).
    """
    digest = hashlib.sha256(ENGINE.encode() + b"\0")
    _feed(digest.update, parts)
    return digest.hexdigest()


def _feed(update: Callable[[bytes], None], value: Any) -> None:
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        update(b"s%d:" % len(data))
        update(data)
    elif isinstance(value, (list, tuple, dict)) and len(value) > 32 and (data := _json(value)) is not None:
        # A long list or map (every ref name of a site): JSON's C encoder is faster than recursing here.
        update(b"j%d:" % len(data))
        update(data)
    elif isinstance(value, (list, tuple)):
        update(b"l%d:" % len(value))
        for item in value:
            _feed(update, item)
    elif isinstance(value, dict):
        update(b"d%d:" % len(value))
        for name in sorted(value, key=str):
            _feed(update, str(name))
            _feed(update, value[name])
    elif value is None or isinstance(value, (bool, int, float)):
        text = repr(value).encode()
        update(b"v%d:" % len(text))
        update(text)
    else:
        _feed(update, str(value))


def _json(value: Any) -> bytes | None:
    try:
        return json.dumps(value, sort_keys=True, default=str).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):   # keys of mixed types: _feed sorts them itself
        return None


def folder_digest(folders: Any) -> str:
    """Every file under the folders, by its place in them and its contents (templates: few and small).

    Not by absolute path: a project moved or checked out elsewhere keeps its cache. Linked
    folders are followed, as Jinja's loader follows them (uptodate.files_of: the one walker)."""
    from .uptodate import files_of   # uptodate imports this module

    digest = hashlib.sha256()
    for index, folder in enumerate(folders):
        listed = files_of([Path(folder)])
        for path in sorted(path for path, entry in listed.items() if isinstance(entry, list)):
            name = f"{index}:{Path(os.path.relpath(path, folder)).as_posix()}".encode("utf-8", "surrogateescape")
            data = Path(path).read_bytes()
            digest.update(b"%d:%s%d:%s" % (len(name), name, len(data), data))
    return digest.hexdigest()


class RenderCache:
    """Entries by owner (an output path) and kind; loaded lazily, written by `save`."""

    def __init__(self, folder: Path | None, warn: Callable[[str], None] = lambda message: None):
        self.folder = folder           # None: memory only (tests, --no-cache)
        self.warn = warn
        self.records: dict[str, dict[str, Any]] = {}   # owner -> {kind: {"key", "value"}}
        self.used: set[str] = set()    # owners asked for in this build
        self.changed: set[str] = set() # owners with an entry added since the last save
        self.loaded: set[int] = set()  # shards read from disk
        self.dirty: set[int] = set()   # shards to write (or delete) at save
        self.hits = 0
        self.computed: list[tuple[str, str]] = []   # (owner, kind) computed in this build
        # (stage, post path) -> [inputs, what the stage made, the last build that asked for it]:
        # Python objects for serve's rebuilds.
        self.kept: dict[tuple[str, str], list] = {}
        self.generation = 0            # this build's number, for `kept`'s entries
        # File path -> [what stat said when it was hashed, sha256 of its bytes] (file_digest).
        self.digests: dict[str, list] | None = None    # read from DIGESTS_FILE on first use
        self.digests_used: set[str] = set()
        self.digests_changed = False

    def start_build(self) -> None:
        """Begin a build's bookkeeping (after a failed build too: what is in memory stays valid)."""
        self.used = set()
        self.generation += 1
        self.digests_used = set()
        self.hits = 0
        self.computed = []

    def memo(self, owner: str, kind: str, parts: Any, compute: Callable[[], Any], wanted: str | None = None) -> Any:
        """The stored value for `parts`, else compute() stored; `wanted`: key(kind, parts) if already known."""
        wanted = wanted or key(kind, parts)
        found = self.lookup(owner, kind, wanted)
        if found is not None:
            self.hits += 1
            return found
        value = compute()
        self.computed.append((owner, kind))
        self.store(owner, kind, wanted, value)
        return value

    def has(self, owner: str, kind: str, wanted: str) -> bool:
        """Whether a value is stored under `wanted` (key(kind, parts))."""
        return self.lookup(owner, kind, wanted) is not None

    def same(self, stage: str, slot: str, inputs: tuple, compute: Callable[[], Any]) -> Any:
        """What `stage` made for `slot` (a post's path) last time if `inputs` are equal, else compute() kept.

        Only for pure stages whose inputs are all in `inputs`: files they read go in as
        digests (file_digest), the site's settings as a key."""
        found = self.recall(stage, slot, inputs)
        if found is MISSING:
            found = compute()
            self.keep(stage, slot, inputs, found)
        return found

    def recall(self, stage: str, slot: str, inputs: tuple) -> Any:
        """The kept value (see `same`), or MISSING."""
        entry = self.kept.get((stage, slot))
        if entry is None:
            return MISSING
        entry[2] = self.generation   # asked for: kept past this build's save (a stamp, not a set: 17,000 a rebuild)
        return entry[1] if entry[0] == inputs else MISSING

    def keep(self, stage: str, slot: str, inputs: tuple, value: Any) -> None:
        self.kept[stage, slot] = [inputs, value, self.generation]

    def file_digest(self, path: Path) -> str | None:
        """sha256 of a file's bytes (None if it cannot be read), as a cache input.

        By contents, not modification time: a fresh checkout (a deploy) or a moved project keeps
        its cache. Hashed again only when the file's size, times or inode change (git's index does
        the same), so an unchanged file costs one stat. A file changed just now (uptodate.racy, by
        its modification or status change time: a copy may keep an old modification time) is
        not remembered: a second change within the same timestamp tick would look the same."""
        try:
            stat = path.stat()
            if not S_ISREG(stat.st_mode):     # a pipe would block the build; nothing to read
                return None
            if self.digests is None:
                self.digests = self._load_digests()
            name = str(path)
            identity = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
            self.digests_used.add(name)
            known = self.digests.get(name)
            if known is not None and known[0] == identity:
                return known[1]
            digest = hashlib.sha256()
            with path.open("rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        from .uptodate import racy   # uptodate imports this module

        if not racy(max(stat.st_mtime_ns, stat.st_ctime_ns), time.time_ns()):
            self.digests[name] = [identity, digest.hexdigest()]
            self.digests_changed = True
        else:
            self.digests.pop(name, None)
        return digest.hexdigest()

    def file_bytes(self, path: Path, status: os.stat_result | None = None) -> bytes:
        """A file's bytes (OSError as reading raises it). Serve's rebuilds take an unchanged file's
        from memory (a rebuild of 1,000 posts read them all: a tenth of its time): unchanged by what
        stat says of it, as file_digest asks, and not changed just before it was read (racy)."""
        status = status or os.stat(path)      # `status`: what lstat said of it just now, if not a link
        identity = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev)
        found = self.recall("file-bytes", str(path), identity)
        if found is not MISSING:
            return found
        data = path.read_bytes()
        from .uptodate import racy   # uptodate imports this module

        if S_ISREG(status.st_mode) and not racy(max(status.st_mtime_ns, status.st_ctime_ns), time.time_ns()):
            self.keep("file-bytes", str(path), identity, data)
        return data

    def _load_digests(self) -> dict[str, list]:
        if self.folder is None:
            return {}
        path = self.folder / DIGESTS_FILE
        try:
            data = json.loads(_read_text(path))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:   # RecursionError: [[[[... nested deeper than Python goes
            data = error
        files = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT else None
        if not (isinstance(files, dict) and all(
                isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)
                and isinstance(entry[0], list) and len(entry[0]) == 4 and all(type(n) is int for n in entry[0])
                for entry in files.values())):
            self.warn(f"ignoring corrupt or foreign render cache entry {path}")
            self.digests_changed = True      # rewritten at save
            return {}
        return files

    def touch(self, owner: str) -> None:
        """Keep the owner's entries at save, though this build took its values from `same`."""
        self.used.add(owner)

    def lookup(self, owner: str, kind: str, wanted: str) -> Any:
        self.used.add(owner)
        entry = self._record(owner).get(kind)
        if isinstance(entry, dict) and entry.get("key") == wanted:
            return entry.get("value")
        return None

    def store(self, owner: str, kind: str, wanted: str, value: Any) -> None:
        self.used.add(owner)
        self._record(owner)[kind] = {"key": wanted, "value": value}
        self.changed.add(owner)

    def _record(self, owner: str) -> dict[str, Any]:
        if owner not in self.records:
            self._load_shard(_shard(owner))
            self.records.setdefault(owner, {})
        return self.records[owner]

    def _path(self, shard: int) -> Path:
        assert self.folder is not None
        return self.folder / f"shard-{shard:02x}.json"

    def _load_shard(self, shard: int) -> None:
        """Every owner's entries in the shard's file, into `records` (once per shard and cache)."""
        if self.folder is None or shard in self.loaded:
            return
        self.loaded.add(shard)
        path = self._path(shard)
        try:
            text = _read_text(path)
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as error:
            self.warn(f"ignoring unreadable render cache entry {path}: {error}")
            return
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):   # RecursionError: [[[[... nested deeper than Python goes
            data = None
        owners = data.get("owners") if isinstance(data, dict) else None
        if not (isinstance(data, dict) and data.get("format") == FORMAT and data.get("shard") == shard
                and isinstance(owners, dict) and all(isinstance(entries, dict) and _shard(owner) == shard
                                                     for owner, entries in owners.items())):
            self.warn(f"ignoring corrupt or foreign render cache entry {path}")
            self.dirty.add(shard)      # rewritten at save, with what this build computes
            return
        for owner, entries in owners.items():
            self.records.setdefault(owner, entries)

    def save(self) -> None:
        """Write the shards whose entries changed; forget (and delete) owners this build did not ask for."""
        for owner in set(self.records) - self.used:
            del self.records[owner]
            self.dirty.add(_shard(owner))
        for slot in [slot for slot, entry in self.kept.items() if entry[2] != self.generation]:
            del self.kept[slot]
        if self.digests is not None and set(self.digests) - self.digests_used:
            self.digests = {name: entry for name, entry in self.digests.items() if name in self.digests_used}
            self.digests_changed = True
        if self.folder is not None:
            try:
                self._save_shards()
            except OSError as error:      # the cache only saves time: a build never fails for it
                self.warn(f"could not save the render cache in {self.folder}: {error}")
        self.changed = set()
        self.dirty = set()
        self.digests_changed = False

    def _save_shards(self) -> None:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dirty |= {_shard(owner) for owner in self.changed & self.used}
        by_shard: dict[int, dict[str, Any]] = {}
        for owner in self.used:
            by_shard.setdefault(_shard(owner), {})[owner] = self.records[owner]
        keep = {self._path(shard).name for shard in by_shard} | {DIGESTS_FILE}
        # Anything else named *.json (a shard no page of this build uses, a stray folder) goes first.
        for path in self.folder.glob("*.json"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.name not in keep:
                path.unlink(missing_ok=True)
        # Half-written shards of a build that was killed; not one of a build writing right now.
        for path in self.folder.glob("*.json.*.tmp"):
            try:
                if path.is_file() and time.time() - path.lstat().st_mtime > STALE_TEMPORARY_SECONDS:
                    path.unlink()
            except OSError:
                pass
        for shard in sorted(self.dirty & set(by_shard)):
            self._write(shard, by_shard[shard])
        if self.digests_changed and self.digests is not None:
            data = {"format": FORMAT, "files": self.digests}
            replace_file(self.folder / DIGESTS_FILE, json.dumps(data, separators=(",", ":")).encode("utf-8"))

    def _write(self, shard: int, owners: dict[str, Any]) -> None:
        # Replaced whole (atomic.py): a reader never sees half a shard, a failure leaves no temporary.
        path = self._path(shard)
        data = {"format": FORMAT, "shard": shard, "owners": owners}
        replace_file(path, json.dumps(data, separators=(",", ":")).encode("utf-8"))   # dumps: one C call


_NO_WAIT_NO_LINK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)


def _read_text(path: Path) -> str:
    """A cache file's text; OSError for anything but a regular file (a pipe would block the build,
    a link to /dev/zero never end). FileNotFoundError if there is none."""
    with open(path, "rb", opener=lambda name, flags: os.open(name, flags | _NO_WAIT_NO_LINK)) as file:
        if not S_ISREG(os.fstat(file.fileno()).st_mode):
            raise OSError("not a regular file")
        return file.read().decode("utf-8")


MISSING = object()   # recall's answer when nothing equal is kept

SHARDS = 64
DIGESTS_FILE = "file-digests.json"   # beside the shards: file_digest's memory
# A temporary shard older than this was left by a build that was killed before renaming it.
STALE_TEMPORARY_SECONDS = 600


def _shard(owner: str) -> int:
    """Which of the SHARDS files holds an owner's entries (a cold build creates 64 files, not 2,000)."""
    return hashlib.sha256(owner.encode("utf-8", "surrogatepass")).digest()[0] % SHARDS


def open_cache(build_dir: Path, warn: Callable[[str], None]) -> RenderCache:
    return RenderCache(build_dir / CACHE_FOLDER, warn)


def settings_key(config: Any) -> str:
    """The site settings that can change rendered HTML (not where it goes, nor how code runs).

    Folders inside the project count by their place in it, not by absolute path: a project
    moved or checked out elsewhere keeps its cache."""
    ignored = {"root", "output_dir", "mode", "debug", "timeout", "executor"}
    root = Path(config.root)

    def portable(value: Any) -> Any:
        if isinstance(value, Path):
            return f"<project>/{value.relative_to(root).as_posix()}" if value.is_relative_to(root) else str(value)
        if isinstance(value, (list, tuple)) and any(isinstance(item, Path) for item in value):
            return [portable(item) for item in value]
        return value

    return key("settings", {name: portable(getattr(config, name)) for name in vars(config) if name not in ignored})

"""The subprocess that runs one post's blocks: `python -m runpost.execution.kernel JOB_FD EVENT_FD`.

The builder (runner.py) writes the job as JSON to JOB_FD and closes it; the
kernel answers with JSON lines on EVENT_FD:

    {"event": "start", "index": i}
    {"event": "end", "index": i, "stdout": "...", "seconds": s, "failed": bool,
     "figures": [{"path": "<cell id>-1.png", "alt": "..."}]}
    {"event": "error", "index": i, "type": "...", "message": "...", "line": n, "column": c, "traceback": "..."}
    {"event": "warning", "path": "build/<post>/memo/<key>.pkl", "message": "..."}
    {"event": "call", "state": "started" | "finished" | "failed", "call": "f(2)", "where": host or worker,
     "seconds": s, "device": [kind, name]}                           a memoized call computed (not reused)
    {"event": "done", "values": {...}, "memo": [...], "memo_reused": n, "environment": {...}}

A private pipe, not stdout: the post's code may print anything, and its fd 1
is sent to the terminal's stderr. The post's stderr passes through live, so
tqdm bars show while a model trains. The kernel runs in its own process group
so the builder can kill it, and every process it forked, on a timeout.
"""
from __future__ import annotations

import builtins
import importlib.machinery
import io
import linecache
from json import dumps as _dumps, loads as _loads   # the kernel's own: a post may patch json.dumps for itself
import os
import sys
import threading
import time
import tokenize
import traceback
import types
from pathlib import Path
from typing import Any, Callable

import runpost

from .environment import environment
from .figures import capture_figures
from .cluster import DaskExecutor
from .memo import Memoized, die_with_parent
from ..parallel import STOP_SIGNAL
from .memo_store import MemoStore


class KernelSession:
    """runpost's API backed by the run's folders (see runpost/__init__.py)."""

    def __init__(self, job: dict[str, Any], events: "EventPipe"):
        self.values: dict[str, Any] = {}
        self.events = events
        self.site = Path(job["site_dir"])
        self.memo = MemoStore(Path(job["memo_dir"]), job["memo_trusted"], job["memo_read"], self.warn)
        self.used: dict[str, dict[str, Any]] = {}     # memo key -> manifest entry, in first-use order
        self.cell_key = job["base_key"]
        self.cell_index = -1
        self.devices: list[tuple[str, str]] = []       # where memoized calls ran (maybe in children)
        self.reads: dict[str, int] = {}                # project files read that no key covers (watch_reads)
        self.memoized: set[tuple[str, str]] = set()    # (block key, function name) memoized so far
        self.publishing: list[dict[str, Any]] = []     # one log per memo call running now (memo.published_by)
        # Uncached memo calls go to the cluster if the job names one (connected on first use), else stay local.
        self.cluster = DaskExecutor(job["executor"], job, self) if job.get("executor", "local") != "local" else None

    def publish(self, name: str, value: Any) -> None:
        self.values[name] = value
        for log in self.publishing:       # memo calls running now: each replays what it published
            log[name] = value

    def warn(self, path: Path, message: str) -> None:
        self.events.send("warning", path=str(path), message=message)

    def site_root(self) -> Path:
        return self.site

    def note_memoized(self, cell_key: str, name: str) -> bool:
        """Whether a function of this name was memoized in this block before, in this run."""
        seen = (cell_key, name) in self.memoized
        self.memoized.add((cell_key, name))
        return seen

    def memoize(self, function: Callable, resources: dict[str, float] | None = None, retries: int = 0) -> Callable:
        # The key of the block running now is the key of the block defining the
        # function: its results stay valid while only later blocks change.
        return Memoized(self, function, self.cell_key, self.cell_index, resources, retries)

    def note_used(self, key: str, call: str, function: str, entry: dict[str, Any], cell_index: int) -> None:
        self.used.setdefault(key, {"key": key, "call": call, "function": function,
                                   "seconds": round(entry["seconds"], 3), "cell": cell_index,
                                   "host": entry.get("host", ""), "device": list(entry["device"])})

    def reused(self) -> int:
        return sum(1 for key in self.used if key not in self.memo.computed)


class EventPipe:
    def __init__(self, fd: int):
        self.fd = fd
        # The Dask client reports "call started" from its own thread: one line at a time.
        self.lock = threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        data = (_dumps({"event": event, **fields}) + "\n").encode("utf-8")
        with self.lock:
            try:
                while data and self.fd >= 0:
                    data = data[os.write(self.fd, data):]
            except BrokenPipeError:       # the builder is gone (killed): nobody is left to tell
                os._exit(1)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def run_job(job: dict[str, Any], events: EventPipe) -> bool:
    """Run every block in order in one namespace; False after the first error."""
    session = KernelSession(job, events)
    before_the_post = {name.split(".")[0] for name in list(sys.modules)}   # site's .pth imports, runpost's own
    prepare_process(job, session)
    namespace = fresh_main_module().__dict__
    captured: dict[str, tuple[str, tuple]] = {}      # figure file -> (block that left it open, its stat)
    start = time.perf_counter()
    for cell in job["cells"]:
        events.send("start", index=cell["index"])
        session.cell_key, session.cell_index = cell["key"], cell["index"]
        stdout, seconds, figures, error = run_cell(cell, job["path"], namespace, Path(job["work_dir"]))
        error = error or replaced_figure(captured, cell, Path(job["work_dir"]))
        captured.update((figure["path"], (cell["id"], _stat_of(Path(job["work_dir"]) / figure["path"])))
                        for figure in figures)
        events.send("end", index=cell["index"], stdout=stdout, seconds=round(seconds, 3), figures=figures,
                    failed=bool(error))
        if error:
            events.send("error", index=cell["index"], **error)
            return False
    for relative, index in sorted(session.reads.items()):
        cell = job["cells"][index] if 0 <= index < len(job["cells"]) else None
        by = f"block '{cell['id']}'" if cell else "the code"
        if relative.endswith(os.sep):      # a folder it listed (watch_reads)
            events.send("warning", path=relative[:-1], message=(
                f"listed by {by} but not among the post's inputs: a file added to it or removed will not "
                "run the code again (list the folder under inputs: in the front matter, as a path from the "
                "post's folder)"))
            continue
        events.send("warning", path=relative, message=(
            f"read by {by} but not among the post's inputs: an edit to it will not run the code again "
            "(list it under inputs: in the front matter, as a path from the post's folder)"))
    events.send("done", values=session.values, memo=list(session.used.values()), memo_reused=session.reused(),
                environment=environment(time.perf_counter() - start, session.devices,
                                        before_the_post | (session.cluster.imported if session.cluster else set())))
    return True


def _stat_of(path: Path) -> tuple:
    try:
        status = path.stat()
    except OSError:
        return ()
    return status.st_size, status.st_mtime_ns, status.st_ino


def replaced_figure(captured: dict[str, tuple[str, tuple]], cell: dict[str, Any], work_dir: Path) -> dict | None:
    """An error if the block just run wrote over (or removed) a figure an earlier block left open:
    the page would show its file under the earlier block (the other way round, capture_figures refuses)."""
    for name, (owner, status) in captured.items():
        if _stat_of(work_dir / name) != status:
            return {"type": "FileExistsError", "line": cell["code_line"], "column": 0, "traceback": "",
                    "message": f"block '{cell['id']}' wrote over {name}, the figure block '{owner}' left open: "
                               "save its own file under another name"}
    return None


def prepare_process(job: dict[str, Any], session: KernelSession) -> None:
    # Helper modules beside index.md import first; the working folder (outputs) is not a source.
    sys.path[0] = job["code_folder"]
    read_sources_only(job["code_folder"], job.get("content"))
    sys.argv = [job["path"]]
    runpost.params.clear()
    runpost.params.update(job["params"])
    runpost.post_dir = Path(job["code_folder"])
    runpost._session = session
    Path(job["site_dir"]).mkdir(parents=True, exist_ok=True)
    if "watched" in job:
        session.reads = watch_reads(job, session)


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the module from its .py every time: never a __pycache__ .pyc, which Python trusts
    while the source has the same size and modification second (an edit saved within the second
    of an import, or copied with its time kept, would run the old code under the new code's key)."""

    def get_code(self, fullname: str) -> types.CodeType:
        return self.source_to_code(self.get_data(self.path), self.path)


def read_sources_only(*folders: str | None) -> None:
    """Modules under these folders (the post's own helpers: their sources are in its key) are read
    from source; the rest (libraries) keep their bytecode."""
    roots = [os.path.join(os.path.realpath(folder), "") for folder in folders if folder]

    def hook(path: str) -> importlib.machinery.FileFinder:
        if not os.path.join(os.path.realpath(path or "."), "").startswith(tuple(roots)):
            raise ImportError("not a folder of the post")          # the next hook takes it
        machinery = importlib.machinery           # the default finder's loaders, but for .py files
        return machinery.FileFinder(path, (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
                                    (_SourceOnlyLoader, machinery.SOURCE_SUFFIXES),
                                    (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES))

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def watch_reads(job: dict[str, Any], session: KernelSession) -> dict[str, int]:
    """Note each file of the project the code opens for reading whose contents are not in the post's
    keys (keys.covered_paths): path -> the block that first read it. An edit to such a file would
    leave the results stale, so the builder warns about each (run_job). The post's own Markdown is
    not in its keys (a prose edit never runs code): reading it is noted too, unless Python reads it
    to show source lines (linecache: tracebacks, warnings, inspect), which only shows code lines.
    A module's bytecode (`__pycache__/m.cpython-311.pyc`) counts as a read of its source. Not noted:
    what the run itself wrote, installed packages (site-packages, their metadata), and the tools'
    own state in the project's dot-folders (.git, .venv, .cache: a project that is a home folder).
    A folder of the project it lists is noted too, as its path with a separator at its end: which
    files it holds is an input (`len(os.listdir("data/samples"))`)."""
    roots = tuple(os.path.join(os.path.abspath(folder), "") for folder in job["watched"])
    content = os.path.join(os.path.abspath(job["content"]), "")
    covered = [os.path.abspath(path) for path in job["covered"]]
    declared = [os.path.abspath(path) for path in job["declared"]]
    own = os.path.abspath(job["path"])
    bundle = os.path.abspath(job["bundle"]) if job.get("bundle") else None
    skipped = tuple(os.path.join(os.path.abspath(path), "") for path in [*job["not_sources"], *_library_folders()])
    reads: dict[str, int] = {}
    checked: set[str] = set()
    written: set[str] = set()
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT
    showing_source = {os.path.abspath(linecache.__file__), os.path.abspath(tokenize.__file__)}

    def hook(event: str, args: tuple) -> None:
        if event in ("os.listdir", "os.scandir"):
            listed(args[0])
            return
        if event not in ("open", "sqlite3.connect"):
            return
        try:
            path, mode, flags = args if event == "open" else (args[0], "r", 0)
            if isinstance(path, int) or path is None:
                return
            name = os.path.abspath(os.fsdecode(path))
            if (mode and any(c in mode for c in "wax+")) or (not mode and flags and flags & writing):
                written.add(name)     # the run's own file: reading it back is no source
                return
            if name in checked or name in written:
                return
            checked.add(name)
            name = _source_of(name)
            if name is None or not name.startswith(roots) or name.startswith(skipped) or name in written \
                    or any(part.endswith(_METADATA) for part in name.split(os.sep)) \
                    or (not name.startswith(content) and _in_dot_folder(name, roots)) or not os.path.isfile(name):
                return
            if name == own:
                if any(_under(name, path) for path in declared):
                    return
                if _called_from(showing_source):
                    checked.discard(name)      # the code itself may still read it later
                    return
            elif any(_covers(path, name, bundle) for path in covered):
                return
            reads.setdefault(name, session.cell_index)
        except Exception:      # an audit hook that raises would fail the post's open()
            pass

    def listed(path: Any) -> None:
        """A folder of the project the code lists (os.listdir, os.scandir: glob, Path.iterdir, os.walk):
        which files it holds is an input too. Noted as its path and a separator, unless a declared
        folder (or the post's bundle) covers it."""
        try:
            if path is None or isinstance(path, int):
                return                 # the working folder (the run's own) or an open folder
            name = os.path.join(os.path.abspath(os.fsdecode(path)), "")
            if name in checked or _listed_by_importing():
                return            # (import finds modules by listing sys.path's folders: no input of the code's)
            checked.add(name)
            folder = name[:-1]
            if not name.startswith(roots) or name.startswith(skipped) \
                    or any(part.endswith(_METADATA) for part in folder.split(os.sep)) \
                    or (not name.startswith(content) and _in_dot_folder(folder, roots)) \
                    or any(_covers(path, folder, bundle) for path in covered) or not os.path.isdir(folder):
                return
            reads.setdefault(name, session.cell_index)
        except Exception:      # as for open(): never fail the post's own call
            pass

    sys.addaudithook(hook)
    return reads


def _source_of(name: str) -> str | None:
    """The file a read of `name` reads: for a module's bytecode in __pycache__, its source (None if
    it has none: nothing to edit)."""
    folder, file = os.path.split(name)
    if os.path.basename(folder) != "__pycache__":
        return None if "__pycache__" in name.split(os.sep) else name
    source = os.path.join(os.path.dirname(folder), file.split(".", 1)[0] + ".py")
    return source if file.endswith(".pyc") and os.path.isfile(source) else None


def _library_folders() -> list[str]:
    """Where installed packages live (their data files are no post's source): the interpreter's
    prefixes, site-packages (the user's too) and every such folder on sys.path."""
    import site

    folders = [sys.prefix, sys.base_prefix, *getattr(site, "getsitepackages", lambda: [])()]
    if site.ENABLE_USER_SITE and getattr(site, "getusersitepackages", None):
        folders.append(site.getusersitepackages())
    folders += [entry for entry in sys.path if os.path.basename(entry) in ("site-packages", "dist-packages")]
    return folders


def _in_dot_folder(name: str, roots: tuple[str, ...]) -> bool:
    """Whether `name` is inside a folder whose name starts with a dot, below the root it is under."""
    root = max((root for root in roots if name.startswith(root)), key=len)
    return any(part.startswith(".") for part in name[len(root):].split(os.sep)[:-1])


def _under(name: str, path: str) -> bool:
    return name == path or name.startswith(os.path.join(path, ""))


# Installed packages' metadata, which importlib.metadata reads in every folder on sys.path (an
# editable install of runpost leaves runpost.egg-info in its project): never a post's data.
_METADATA = (".egg-info", ".dist-info")


def _called_from(files: set[str], depth: int = 12) -> bool:
    """Whether a function of one of `files` is among the innermost `depth` callers (an audit hook's)."""
    frame = sys._getframe(2)
    while frame is not None and depth > 0:
        if frame.f_code.co_filename in files:
            return True
        frame, depth = frame.f_back, depth - 1
    return False


_IMPORTING = os.path.join(os.path.dirname(os.path.abspath(importlib.machinery.__file__)), "")


def _listed_by_importing() -> bool:
    """Whether the import system (or importlib.metadata, importlib.resources) lists the folder itself:
    the Python function that called os.listdir or os.scandir is one of theirs. Only that one: a
    module of the post's that lists a folder while it is imported is the post's code listing it."""
    frame = sys._getframe(3)          # (this function <- listed <- the audit hook <- the caller)
    name = frame.f_code.co_filename if frame is not None else ""
    return name.startswith(("<frozen importlib", "<frozen zipimport")) or name.startswith(_IMPORTING)


def _covers(path: str, name: str, bundle: str | None) -> bool:
    """Whether the key holds file `name` through covered `path`: the file itself, or one under the
    folder, except a dot-file (or one in a dot-folder) of the bundle, which its key skips."""
    if name == path:
        return True
    if not name.startswith(os.path.join(path, "")):
        return False
    return path != bundle or not any(part.startswith(".") for part in name[len(path) + 1:].split(os.sep))


def fresh_main_module() -> types.ModuleType:
    # A real __main__ module, so pickle finds classes and functions the blocks define.
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    return module


def run_cell(cell: dict[str, Any], path: str, namespace: dict,
             work_dir: Path) -> tuple[str, float, list[dict[str, str]], dict | None]:
    capture = _Capture()
    sys.stdout, real_stdout = capture, sys.stdout
    start = time.perf_counter()
    figures, error = [], None
    try:
        # Pad with blank lines so line numbers in the code object are Markdown lines:
        # tracebacks then point straight into index.md.
        code = compile("\n" * (cell["code_line"] - 1) + cell["code"], path, "exec")
        exec(code, namespace)
        # Every block's open figures are captured and closed, as Jupyter's inline
        # backend does; output=false only hides them on the page. So what a run
        # stores never depends on a display option, which is not in the cache key.
        figures = capture_figures(cell["id"], work_dir)
    except SystemExit as exit:
        error = {"type": "SystemExit", "message": f"the block called sys.exit({exit.code!r})",
                 "line": innermost_line(exit, path, cell), "column": 0, "traceback": format_error(exit, path)}
    except BaseException as exception:
        error = describe_error(exception, path, cell)
    finally:
        sys.stdout = real_stdout
    return kept_output(capture.getvalue()), time.perf_counter() - start, figures, error


# What a block prints is kept up to this many characters: the page, its notebook, its feed
# entry and build/'s results all carry it (a block printing 100 MB made a 700 MB site).
OUTPUT_LIMIT = 1_000_000


def kept_output(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f"\n[runpost kept the first {OUTPUT_LIMIT:,} characters of this output; " \
                                 f"{len(text) - OUTPUT_LIMIT:,} more were printed]\n"


def describe_error(error: BaseException, path: str, cell: dict[str, Any]) -> dict[str, Any]:
    if isinstance(error, SyntaxError) and error.filename == path:
        return {"type": type(error).__name__, "message": error.msg, "line": error.lineno or cell["code_line"],
                "column": error.offset or 0, "traceback": format_error(error, path)}
    message = _text_of(error)
    if isinstance(error, ModuleNotFoundError) and error.name in _EXEC_EXTRA:
        message += ' (pip install "runpost[exec]" brings matplotlib, numpy and tqdm)'
    return {"type": type(error).__name__, "message": message, "line": innermost_line(error, path, cell),
            "column": 0, "traceback": format_error(error, path)}


class _Capture(io.StringIO):
    """A block's stdout: closing it (sys.stdout.close()) keeps what was printed, and bytes written
    to `sys.stdout.buffer` (as a terminal's stdout has one) are kept as UTF-8 text."""

    def close(self) -> None:
        pass

    @property
    def buffer(self) -> "_BytesInto":
        return _BytesInto(self)


class _BytesInto:
    """sys.stdout.buffer of a block: bytes decoded (UTF-8, bad bytes replaced) into its text."""

    def __init__(self, text: io.StringIO):
        self.text = text

    def write(self, data: bytes) -> int:
        self.text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        pass


def _text_of(error: BaseException) -> str:
    """str(error), or what traceback prints when that raises."""
    try:
        return str(error)
    except BaseException:      # even a KeyboardInterrupt its __str__ raises: the block failed, not the kernel
        return "<exception str() failed>"


# What runpost's `exec` extra installs: a post importing one of them on a plain install is told so.
_EXEC_EXTRA = {"matplotlib", "numpy", "tqdm"}


# cloudpickle names the code of functions it ships by value "<dynamic-code>" (line
# numbers kept): on a Dask worker, those are the post's own functions.
SHIPPED_CODE = "<dynamic-code>"


def innermost_line(error: BaseException, path: str, cell: dict[str, Any]) -> int:
    """The Markdown line of the innermost frame in the post (not in a helper module), maybe on a worker."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
             if frame.filename in (path, SHIPPED_CODE)]
    return lines[-1] if lines else cell["code_line"]


def format_error(error: BaseException, path: str) -> str:
    # Drop the kernel's own frames: the traceback starts in the post.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))
    return text.replace(f'File "{SHIPPED_CODE}"', f'File "{path}"')


def read_job(fd: int) -> dict[str, Any]:
    with os.fdopen(fd, "rb") as file:
        return _loads(file.read().decode("utf-8"))


_write, _exit = os.write, os._exit      # the kernel's own: a post may replace os.write for itself


def _name_of(error: BaseException) -> str:
    """The exception's class name, even when the post made reading it raise."""
    try:
        return str(type.__dict__["__name__"].__get__(type(error)))
    except BaseException:
        return "an exception"


def main(argv: list[str]) -> None:
    # A post's code must not train on for an hour as an orphan of a builder killed outright.
    if not become_reaper():
        die_with_parent(None)
    job = read_job(int(argv[0]))
    events = EventPipe(int(argv[1]))
    try:
        ok = run_job(job, events)
    except BaseException as error:      # the post's code broke what the kernel itself uses
        _write(2, f"runpost: the post's code broke the process running it ({_name_of(error)}); the block "
                  "that ran last is named below\n".encode())
        _exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: threads or atexit handlers the post left behind must not keep
    # the kernel alive or print after the builder has its results.
    os._exit(0 if ok else 1)


def become_reaper() -> bool:
    """Fork: the child returns True and runs the post as the kernel; this process stays behind as
    its reaper and never returns. Linux only (False elsewhere: this process is the kernel).

    The builder kills the kernel's process group after a run, a timeout or Ctrl-C; but a builder
    killed outright could take only the kernel with it (PR_SET_PDEATHSIG), and what the post's
    code started (`subprocess.Popen(["sleep", "77"])`, a server) ran on as an orphan, writing into
    build/'s temporary folder. The reaper, the process the builder started and the group's
    leader, is told when the builder dies and kills the whole group. It is the kernel's parent,
    not its child: code that waits for all its children (`os.wait()` until none) never waits for it.
    It ends as the kernel ended (its exit status, or its signal), for the builder to read, once
    nothing the code started is left. STOP_SIGNAL (the builder's stop: a timeout, Ctrl-C) kills them all."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import signal

    # Every signal is blocked here and taken one at a time below (the kernel gets the mask it had):
    # one the post's code sends its whole group (SIGUSR1, SIGTERM, a real-time one) must not kill
    # the reaper, nor be taken for the builder's stop.
    watched = set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
    original = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    builder = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, STOP_SIGNAL)          # PR_SET_PDEATHSIG: told when the builder dies
        # Orphans of the post's code (a double fork, setsid, start_new_session: out of the group) are
        # reparented here, not to init, so that none outlives the run.
        libc.prctl(36, 1)                   # PR_SET_CHILD_SUBREAPER
        kernel = os.fork()
    except (OSError, AttributeError):
        signal.pthread_sigmask(signal.SIG_SETMASK, original)
        return False
    if kernel == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, original)
        die_with_parent(os.getppid())         # and the kernel dies with its reaper
        return True
    try:
        os.closerange(3, 65536)     # its copy of the event pipe would keep the builder waiting after the kernel
        status = None
        # The builder died before PR_SET_PDEATHSIG took effect (a builder that is PID 1, in a
        # container without an init, is no dead builder).
        builder_gone = os.getppid() != builder
        while status is None and not builder_gone:
            # The stop: STOP_SIGNAL (a real-time signal: queued, never merged) from the builder, or
            # sent for its death (PR_SET_PDEATHSIG, which carries the dying builder's pid).
            received = signal.sigwaitinfo(watched)
            builder_gone = received.si_signo == STOP_SIGNAL and received.si_pid in (builder, 0)
            status = _reap(kernel)
        _kill_descendants()
        if builder_gone or status is None:
            os._exit(1)
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            if number not in (signal.SIGKILL, signal.SIGSTOP):     # (neither can be handled or blocked)
                signal.signal(number, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
            os.kill(os.getpid(), number)      # ended as the kernel ended: the OOM killer's SIGKILL is told as such
        os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
    finally:
        os._exit(1)


def _reap(kernel: int) -> int | None:
    """Collect every child that ended; the kernel's wait status if it was one of them."""
    found = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            return found
        if pid == kernel:
            found = status


def _kill_descendants() -> None:
    """SIGKILL every process below this one until none is left: each killed process's own children
    come here (PR_SET_CHILD_SUBREAPER) and are killed in turn, however deep the chain or slow the death."""
    import signal

    while True:
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)            # until one ends (its orphans are ours now); none left: done
        except ChildProcessError:
            return


def _children() -> list[int]:
    """This process's children (Linux: /proc/self/task/*/children, else each process's parent in /proc)."""
    me = os.getpid()
    try:
        return [int(pid) for task in os.listdir("/proc/self/task")
                for pid in open(f"/proc/self/task/{task}/children").read().split()]
    except OSError:
        pass
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(name))
    return found


if __name__ == "__main__":
    # Run the copy imported as runpost.execution.kernel, so this module's __main__ slot is free for the post.
    from runpost.execution.kernel import main as kernel_main

    kernel_main(sys.argv[1:])

"""The subprocess that runs one post's blocks: `python -m runpost.execution.kernel JOB_FD EVENT_FD`.

The builder (execute.py) writes the job as JSON to JOB_FD and closes it; the
kernel answers with JSON lines on EVENT_FD:

    {"event": "start", "index": i}
    {"event": "end", "index": i, "stdout": "...", "seconds": s, "failed": bool,
     "figures": [{"path": "<cell id>-1.png", "alt": "..."}]}
    {"event": "error", "index": i, "type": "...", "message": "...", "line": n, "column": c, "traceback": "..."}
    {"event": "done", "values": {...}, "memo": [...], "environment": {...}}

A private pipe, not stdout: the post's code may print anything, and its fd 1
is sent to the terminal's stderr. The post's stderr passes through live, so
tqdm bars show while a model trains. The kernel runs in its own process group
so the builder can kill it, and every process it forked, on a timeout.
"""
from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import pickle
import platform
import re
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any, Callable

import runpost


class KernelSession:
    """runpost's API backed by the run's folders (see runpost/__init__.py)."""

    def __init__(self, job: dict[str, Any], events: "EventPipe"):
        self.values: dict[str, Any] = {}
        self.events = events
        self.site = Path(job["site_dir"])
        self.memo_dir = Path(job["memo_dir"])          # this run's memo folder (becomes build/<name>/memo)
        self.memo_sources = [Path(p) for p in job["memo_sources"]]  # earlier runs' memo folders
        self.used: dict[str, dict[str, Any]] = {}     # memo key -> manifest entry, in first-use order
        self.cell_key = job["base_key"]
        self.cell_index = -1
        self.devices: list[tuple[str, str]] = []       # where memoized calls ran (maybe in children)

    def publish(self, name: str, value: Any) -> None:
        self.values[name] = value

    def site_root(self) -> Path:
        return self.site

    def memoize(self, function: Callable) -> Callable:
        # The key of the block running now is the key of the block defining the
        # function: its results stay valid while only later blocks change.
        return Memoized(self, function, self.cell_key, self.cell_index)

    def load(self, key: str) -> dict[str, Any] | None:
        for folder in [self.memo_dir, *self.memo_sources]:
            path = folder / f"{key}.pkl"
            try:
                with open(path, "rb") as file:
                    entry = pickle.load(file)
            except FileNotFoundError:
                continue
            except Exception:  # a truncated or incompatible pickle is just a miss
                continue
            if folder != self.memo_dir:
                self.adopt(path, key)
            return entry
        return None

    def adopt(self, path: Path, key: str) -> None:
        """Keep an earlier run's entry: this run's memo folder replaces the old one."""
        target = self.memo_dir / f"{key}.pkl"
        try:
            os.link(path, target)
        except FileExistsError:
            pass
        except OSError:
            write_atomically(target, path.read_bytes())

    def store(self, key: str, entry: dict[str, Any]) -> None:
        write_atomically(self.memo_dir / f"{key}.pkl", pickle.dumps(entry, protocol=4))

    def note_used(self, key: str, call: str, function: str, seconds: float, cell_index: int) -> None:
        self.used.setdefault(key, {"key": key, "call": call, "function": function,
                                   "seconds": round(seconds, 3), "cell": cell_index})


class Memoized:
    """A @runpost.memo function: results in build/, `.map` in forked processes."""

    def __init__(self, session: KernelSession, function: Callable, cell_key: str, cell_index: int):
        self.session = session
        self.function = function
        self.cell_key = cell_key
        self.cell_index = cell_index
        self.__wrapped__ = function
        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(self, attribute, getattr(function, attribute, None))

    def key(self, args: tuple, kwargs: dict) -> str:
        parts = [self.cell_key, self.function.__qualname__, runpost.arguments_hash(args, kwargs)]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = self.key(args, kwargs)
        entry = self.session.load(key)
        if entry is None:
            entry = self._compute(args, kwargs)
            self.session.store(key, entry)
        else:
            # Replay what the call printed, so a cached run prints what a fresh one does.
            sys.stdout.write(entry["stdout"])
        self._note(key, args, kwargs, entry)
        return entry["result"]

    def _compute(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        recorder = Tee(sys.stdout)
        sys.stdout, outer = recorder, sys.stdout
        start = time.perf_counter()
        try:
            result = self.function(*args, **kwargs)
        finally:
            sys.stdout = outer
        return {"result": result, "stdout": recorder.getvalue(), "seconds": time.perf_counter() - start,
                "device": device()}

    def _note(self, key: str, args: tuple, kwargs: dict, entry: dict[str, Any]) -> None:
        call = runpost.describe_call(self.function, args, kwargs)
        self.session.note_used(key, call, self.function.__qualname__, entry["seconds"], self.cell_index)
        if entry.get("device"):
            self.session.devices.append(tuple(entry["device"]))

    def map(self, calls: Any, processes: int = 1) -> list:
        """Results of `self(*call)` for each call, the uncached ones computed in parallel.

        Children are forked (multiprocessing's fork context, Process directly)
        so neither the function nor the arguments are pickled; each child
        writes its memo file and exits. At most `processes` run at once.
        """
        calls = [runpost.as_arguments(call) for call in calls]
        keys = [self.key(call, {}) for call in calls]
        missing = {}
        for key, call in zip(keys, calls):
            if key not in missing and self.session.load(key) is None:
                missing[key] = call
        run_children(self, list(missing.items()), max(1, int(processes)))
        results = []
        for key, call in zip(keys, calls):
            entry = self.session.load(key)
            sys.stdout.write(entry["stdout"])
            self._note(key, call, {}, entry)
            results.append(entry["result"])
        return results


def run_children(memoized: Memoized, work: list[tuple[str, tuple]], processes: int) -> None:
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    waiting, running, failures = list(work), {}, []
    while waiting or running:
        # After a failure, start nothing new but let running children finish: their results are cached.
        while waiting and len(running) < processes and not failures:
            key, call = waiting.pop(0)
            child = context.Process(target=compute_in_child, args=(memoized, key, call))
            child.start()
            running[child.sentinel] = (child, key, call)
        if not running:
            break
        for sentinel in wait(list(running)):
            child, key, call = running.pop(sentinel)
            child.join()
            if child.exitcode != 0:
                failures.append(child_failure(memoized, key, call, child.exitcode))
    if failures:
        raise failures[0]


def compute_in_child(memoized: Memoized, key: str, call: tuple) -> None:
    session = memoized.session
    session.events.close()  # only the kernel talks to the builder
    sys.stdout = io.StringIO()
    start = time.perf_counter()
    try:
        result = memoized.function(*call)
        # The device is read in the child: CUDA used there is invisible to the kernel.
        entry = {"result": result, "stdout": sys.stdout.getvalue(), "seconds": time.perf_counter() - start,
                 "device": device()}
        session.store(key, entry)
    except BaseException as error:
        report = {"text": "".join(traceback.format_exception(error)), "exception": error}
        try:
            data = pickle.dumps(report, protocol=4)
        except Exception:
            report["exception"] = None
            data = pickle.dumps(report, protocol=4)
        write_atomically(session.memo_dir / f"{key}.error", data)
        sys.stderr.flush()
        os._exit(1)
    sys.stderr.flush()
    os._exit(0)


def child_failure(memoized: Memoized, key: str, call: tuple, exitcode: int) -> BaseException:
    """The child's exception, raised again in the kernel with the child's traceback as a note."""
    path = memoized.session.memo_dir / f"{key}.error"
    call_text = runpost.describe_call(memoized.function, call, {})
    try:
        report = pickle.loads(path.read_bytes())
        path.unlink()
    except (OSError, pickle.UnpicklingError, EOFError):
        how = f"was killed by signal {-exitcode}" if exitcode < 0 else f"exited with status {exitcode}"
        return RuntimeError(f"the process computing {call_text} {how}")
    error = report["exception"]
    if not isinstance(error, BaseException):
        error = RuntimeError(report["text"].strip().splitlines()[-1])
    error.add_note(f"raised in the process computing {call_text}:\n{report['text'].rstrip()}")
    return error


class Tee(io.StringIO):
    """Records what a memoized call prints while passing it on."""

    def __init__(self, target: Any):
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(text)
        return super().write(text)


def write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(temp, "wb") as file:
        file.write(data)
    os.replace(temp, path)


class EventPipe:
    def __init__(self, fd: int):
        self.fd = fd

    def send(self, event: str, **fields: Any) -> None:
        if self.fd < 0:
            return
        data = (json.dumps({"event": event, **fields}) + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.fd, data):]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def run_job(job: dict[str, Any], events: EventPipe) -> bool:
    """Run every block in order in one namespace; False after the first error."""
    session = KernelSession(job, events)
    prepare_process(job, session)
    namespace = fresh_main_module().__dict__
    start = time.perf_counter()
    for cell in job["cells"]:
        events.send("start", index=cell["index"])
        session.cell_key, session.cell_index = cell["key"], cell["index"]
        stdout, seconds, figures, error = run_cell(cell, job["path"], namespace, Path(job["work_dir"]))
        events.send("end", index=cell["index"], stdout=stdout, seconds=round(seconds, 3), figures=figures,
                    failed=bool(error))
        if error:
            events.send("error", index=cell["index"], **error)
            return False
    events.send("done", values=session.values, memo=list(session.used.values()),
                environment=environment(time.perf_counter() - start, session.devices))
    return True


def prepare_process(job: dict[str, Any], session: KernelSession) -> None:
    # Helper modules beside index.md import first; the working folder (outputs) is not a source.
    sys.path[0] = job["code_folder"]
    sys.argv = [job["path"]]
    runpost.params.clear()
    runpost.params.update(job["params"])
    runpost.post_dir = Path(job["code_folder"])
    runpost._session = session
    Path(job["memo_dir"]).mkdir(parents=True, exist_ok=True)
    Path(job["site_dir"]).mkdir(parents=True, exist_ok=True)


def fresh_main_module() -> types.ModuleType:
    # A real __main__ module, so pickle finds classes and functions the blocks define.
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    return module


def run_cell(cell: dict[str, Any], path: str, namespace: dict,
             work_dir: Path) -> tuple[str, float, list[dict[str, str]], dict | None]:
    capture = io.StringIO()
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
    return capture.getvalue(), time.perf_counter() - start, figures, error


def capture_figures(cell_id: str, work_dir: Path) -> list[dict[str, str]]:
    """Save, then close, every matplotlib figure the block left open, as a notebook shows them.

    Only if the post imported pyplot: importing matplotlib here would slow every
    post down. Saved and closed figures are gone from pyplot, so a figure the
    code saved itself is never captured twice. No Software metadata: reruns
    give identical PNG bytes.
    """
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", cell_id)   # the id becomes a file name and a URL
    figures = []
    for number, figure in enumerate([pyplot.figure(n) for n in pyplot.get_fignums()], 1):
        name = f"{stem}-{number}.png"
        try:
            figure.savefig(work_dir / name, dpi=150, bbox_inches="tight", metadata={"Software": None})
        except Exception as error:   # drawing happens here, not in the block: say so in the traceback
            error.add_note(f"raised while saving figure {number} that block '{cell_id}' left open")
            raise
        pyplot.close(figure)
        figures.append({"path": name, "alt": figure_alt(figure, number, cell_id)})
    return figures


def figure_alt(figure: Any, number: int, cell_id: str) -> str:
    """The figure's suptitle, else its first axes' title, else a generic label."""
    titles = [figure.get_suptitle()] if hasattr(figure, "get_suptitle") else []   # matplotlib >= 3.8
    if figure.axes:
        titles += [figure.axes[0].get_title(loc=where) for where in ("center", "left", "right")]
    return next((title.strip() for title in titles if title and title.strip()), f"Figure {number} of block {cell_id}")


def describe_error(error: BaseException, path: str, cell: dict[str, Any]) -> dict[str, Any]:
    if isinstance(error, SyntaxError) and error.filename == path:
        return {"type": type(error).__name__, "message": error.msg, "line": error.lineno or cell["code_line"],
                "column": error.offset or 0, "traceback": format_error(error, path)}
    return {"type": type(error).__name__, "message": str(error), "line": innermost_line(error, path, cell),
            "column": 0, "traceback": format_error(error, path)}


def innermost_line(error: BaseException, path: str, cell: dict[str, Any]) -> int:
    """The Markdown line of the innermost frame in the post (not in a helper module)."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    return lines[-1] if lines else cell["code_line"]


def format_error(error: BaseException, path: str) -> str:
    # Drop the kernel's own frames: the traceback starts in the post.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))


def environment(seconds: float, memo_devices: list[tuple[str, str]]) -> dict[str, Any]:
    """Versions and device, read from what the post imported (never importing torch here)."""
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "seconds": round(seconds, 3)}
    for name in ("torch", "torchvision", "numpy"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            info[name] = str(module.__version__)
    # CUDA counts if the kernel or any memoized call (often a forked child) used it.
    used = [device()] + memo_devices
    info["device"], info["device_name"] = next((found for found in used if found[0] == "cuda"), used[0])
    return info


def device() -> tuple[str, str]:
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            return "cuda", torch.cuda.get_device_name(0)
    except Exception:  # a broken CUDA setup must not fail a finished run
        pass
    return "cpu", cpu_name()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def read_job(fd: int) -> dict[str, Any]:
    with os.fdopen(fd, "rb") as file:
        return json.loads(file.read().decode("utf-8"))


def main(argv: list[str]) -> None:
    job = read_job(int(argv[0]))
    events = EventPipe(int(argv[1]))
    ok = run_job(job, events)
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: threads or atexit handlers the post left behind must not keep
    # the kernel alive or print after the builder has its results.
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    # Run the copy imported as runpost.execution.kernel, so this module's __main__ slot is free for the post.
    from runpost.execution.kernel import main as kernel_main

    kernel_main(sys.argv[1:])

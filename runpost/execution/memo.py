"""@runpost.memo in the kernel: results stored in build/, `.map` in forked processes.

KernelSession backs runpost's API (see runpost/__init__.py) for one run.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import runpost

from .environment import device

if TYPE_CHECKING:
    from .kernel import EventPipe


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


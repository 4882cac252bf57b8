"""@runpost.memo in the kernel: a call's result is stored (memo_store.py) the moment
it returns, so an interrupted run keeps it; `.map` computes calls in forked processes.
"""
from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pickle
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import runpost

from ..parallel import die_with_parent
from .dependencies import Bindings, code_digest, function_state
from .environment import device
from .memo_store import write_atomically

if TYPE_CHECKING:
    from .kernel import KernelSession


class Memoized:
    """A @runpost.memo function: results in build/, computed in the kernel, forked processes or on a cluster."""

    def __init__(self, session: "KernelSession", function: Callable, cell_key: str, cell_index: int,
                 resources: dict[str, float] | None = None, retries: int = 0):
        self.session = session
        self.function = function
        self.cell_key = cell_key
        self.cell_index = cell_index
        self.resources = dict(resources or {})  # Dask worker resources ({"GPU": 1}); ignored locally
        self.retries = int(retries)              # Dask retries of a call that raised; ignored locally
        self.__wrapped__ = function
        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(self, attribute, getattr(function, attribute, None))
        # What the key must hold besides the block and the arguments (dependencies.py): the
        # function's closure and defaults, and the globals it reads as they were when memoized.
        # Defined again in this run (a loop, a factory): every global of plain data counts too.
        self.bindings = Bindings(function)
        self.defined_again = session.note_memoized(cell_key, function.__qualname__)

    def key(self, args: tuple, kwargs: dict) -> str:
        parts = [self.cell_key, self.function.__qualname__, runpost.arguments_hash(args, kwargs)]
        try:
            reads = function_state(self.function) + self.bindings.changed(every_plain=self.defined_again,
                                                                          arguments=(*args, *kwargs.values()))
        except TypeError as error:
            raise TypeError(f"memo: {self.function.__qualname__} reads a value that {error}; pass it as an "
                            "argument or define it before the function") from None
        # Told apart by more than the block and the name: a function of a helper module by its module
        # (rnn.train and lstm.train, memoized in one block); one memoized again under a name already
        # memoized in this block (redefined, or another module's), and every lambda, by its code.
        module = getattr(self.function, "__module__", None)
        if module not in (None, "__main__"):
            reads.append(("module", module))
        if self.defined_again or "<lambda>" in self.function.__qualname__:
            reads.append(("code", code_digest(self.function)))
        if reads:           # else the key a function reading nothing of these always had
            parts.append(repr(reads))
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def __reduce__(self) -> tuple:
        # A memoized function that another one calls travels to a worker as the plain function.
        return (_plain, (self.function,))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = self.key(args, kwargs)
        entry = self.session.memo.load(key)
        if entry is None and self.session.cluster is not None:
            entry = self.session.cluster.compute(self, [(key, args, kwargs)])[key]
        elif entry is None:
            entry = self._compute(args, kwargs)
            self.session.memo.store(key, entry)
        else:
            # Replay what the call printed and published, so a cached run does what a fresh one does.
            sys.stdout.write(entry["stdout"])
        self._replay(entry)
        self._note(key, args, kwargs, entry)
        return entry["result"]

    def _replay(self, entry: dict[str, Any]) -> None:
        for name, value in entry.get("published", {}).items():
            self.session.publish(name, value)

    def _compute(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        call = runpost.describe_call(self.function, args, kwargs)
        self.session.events.send("call", state="started", call=call, where=socket.gethostname())
        recorder = Tee(sys.stdout)
        sys.stdout, outer = recorder, sys.stdout
        start = time.perf_counter()
        try:
            with published_by(self.session) as published:
                result = self.function(*args, **kwargs)
        except BaseException:
            self.session.events.send("call", state="failed", call=call, where=socket.gethostname())
            raise
        finally:
            sys.stdout = outer
        entry = {"result": result, "stdout": recorder.getvalue(), "seconds": time.perf_counter() - start,
                 "device": device(), "host": socket.gethostname(), "published": published}
        self.session.events.send("call", state="finished", call=call, where=entry["host"], device=entry["device"],
                                 seconds=round(entry["seconds"], 3))
        return entry

    def _note(self, key: str, args: tuple, kwargs: dict, entry: dict[str, Any]) -> None:
        call = runpost.describe_call(self.function, args, kwargs)
        self.session.note_used(key, call, self.function.__qualname__, entry, self.cell_index)
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
        entries = {}
        for key in keys:
            if key not in entries:
                entries[key] = self.session.memo.load(key)
        missing = {key: call for key, call in zip(keys, calls) if entries[key] is None}
        if missing and self.session.cluster is not None:
            self.session.cluster.compute(self, [(key, call, {}) for key, call in missing.items()])
        else:
            run_children(self, list(missing.items()), max(1, int(processes)))
        for key in missing:
            entries[key] = self.stored_by_child(key)
        results = []
        for key, call in zip(keys, calls):
            entry = entries[key]
            sys.stdout.write(entry["stdout"])
            self._replay(entry)               # a child's publish() happened in the child
            self._note(key, call, {}, entry)
            results.append(entry["result"])
        return results

    def stored_by_child(self, key: str) -> dict[str, Any]:
        memo = self.session.memo
        entry = memo.load_written(key)
        if entry is None:
            raise RuntimeError(f"memo: the process computing a call of {self.__qualname__} stored no result")
        memo.computed.add(key)  # stored by the child: computed in this run, not reused
        return entry


class published_by:
    """`with published_by(session) as log:` log holds each name the call published (runpost.publish)
    and its last value, in the order first published: every publish, also one of a value equal to,
    or the very object, the name held before (True, None, a small int: a replay must set it again)."""

    def __init__(self, session: Any):
        self.session, self.log = session, {}

    def __enter__(self) -> dict[str, Any]:
        self.session.publishing.append(self.log)
        return self.log

    def __exit__(self, *_exc: Any) -> None:
        # By identity: an outer call's log holds what this one published, so may compare equal to it.
        self.session.publishing[:] = [log for log in self.session.publishing if log is not self.log]


def _plain(function: Callable) -> Callable:
    return function


def run_children(memoized: Memoized, work: list[tuple[str, tuple]], processes: int) -> None:
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    if len(work) > 1:
        import_before_fork()
    waiting, running, failures = list(work), {}, []
    # Children report exceptions in a private temp folder, never in build/: the
    # report is a pickle (the exception itself) that only our own children write.
    with tempfile.TemporaryDirectory(prefix="runpost-memo-") as reports:
        while waiting or running:
            # After a failure, start nothing new but let running children finish: their results are stored.
            while waiting and len(running) < processes and not failures:
                key, call = waiting.pop(0)
                child = context.Process(target=compute_in_child, args=(memoized, key, call, Path(reports), os.getpid()))
                child.start()
                running[child.sentinel] = (child, key, call, time.perf_counter())
                report_call(memoized, call, "started")
            if not running:
                break
            for sentinel in wait(list(running)):
                child, key, call, started = running.pop(sentinel)
                child.join()
                merge_reads(memoized.session, Path(reports) / f"{key}.reads")
                seconds = round(time.perf_counter() - started, 3)
                if child.exitcode != 0:
                    failures.append(child_failure(memoized, call, child.exitcode, Path(reports) / key))
                report_call(memoized, call, "failed" if child.exitcode else "finished", seconds=seconds)
    if failures:
        raise failures[0]


# Modules that a library already in the kernel imports lazily on first use,
# which every forked child would otherwise import again for itself. PyTorch
# imports torch._dynamo (1.4 s on a 2-core machine) when the first optimizer
# is built: once here instead of once per training run.
LAZY_IMPORTS = {"torch": ("torch._dynamo",)}


def import_before_fork() -> None:
    """Import in the kernel, before forking, what each child would import lazily."""
    for loaded, lazy in LAZY_IMPORTS.items():
        if loaded not in sys.modules:
            continue  # the post does not use it: importing it here would only cost
        for name in lazy:
            try:
                importlib.import_module(name)
            except Exception:  # the child will meet (and report) the same failure itself
                pass


def report_call(memoized: Memoized, call: tuple, state: str, **fields: Any) -> None:
    text = runpost.describe_call(memoized.function, call, {})
    memoized.session.events.send("call", state=state, call=text, where=socket.gethostname(), **fields)


def compute_in_child(memoized: Memoized, key: str, call: tuple, reports: Path, kernel: int) -> None:
    die_with_parent(kernel)        # a .map child dies with its kernel, which dies with its builder
    session = memoized.session
    session.events.close()  # only the kernel talks to the builder
    sys.stdout = io.StringIO()
    start = time.perf_counter()
    try:
        with published_by(session) as published:
            result = memoized.function(*call)
        # The device is read in the child: CUDA used there is invisible to the kernel.
        entry = {"result": result, "stdout": sys.stdout.getvalue(), "seconds": time.perf_counter() - start,
                 "device": device(), "host": socket.gethostname(), "published": published}
        session.memo.store(key, entry)
        # Files the call read that no key covers: noted in this process, told to the kernel.
        write_atomically(reports / f"{key}.reads", json.dumps(session.reads).encode("utf-8"))
    except BaseException as error:
        report = {"text": "".join(traceback.format_exception(error)), "exception": error}
        try:
            data = pickle.dumps(report, protocol=4)
        except Exception:
            report["exception"] = None
            data = pickle.dumps(report, protocol=4)
        write_atomically(reports / key, data)
        sys.stderr.flush()
        os._exit(1)
    sys.stderr.flush()
    os._exit(0)


def merge_reads(session: Any, path: Path) -> None:
    """The reads a .map child noted (kernel.watch_reads), added to the kernel's: each warned about once."""
    try:
        reads = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for name, cell in reads.items() if isinstance(reads, dict) else ():
        session.reads.setdefault(name, cell)


def child_failure(memoized: Memoized, call: tuple, exitcode: int, path: Path) -> BaseException:
    """The child's exception, raised again in the kernel with the child's traceback as a note."""
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

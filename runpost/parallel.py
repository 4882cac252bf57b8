"""Pure per-item work (Markdown, finishing pages) spread over the machine's cores.

Forked worker processes inherit the items and the function, so only results
travel back. A result is the same whichever process computes it; an item
that raises in a worker, or that a killed worker did not send back, is left out,
and the caller computes it again itself, where its error is reported as usual. Small batches, a single core, a platform
without fork, or a process with other threads (serve's server: forking one
that may hold a lock is unsafe) run serially instead.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

# Below this many items a pool's start-up (about 25 ms) costs more than it saves. Measured
# 2026-11-30 on 2 cores with the parity corpus's Markdown (about 3 ms a post), parallel/serial:
# 8 posts 1.41x, 16 posts 0.94x, 24 posts 0.78x, 48 posts 0.78x, 96 posts 0.66x.
# Heavier items (an image to encode: about 100 ms) pass a smaller min_items.
MIN_ITEMS = 24
# The content and site stages run on call_deep's thread while the main thread waits for it.
_THREADS_OF_A_BUILD = 2

_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def precompute(function: Callable[[Any], Any], items: Sequence[Any], min_items: int | None = None,
               prepare: Callable[[], object] | None = None) -> dict[int, Any]:
    """{index: function(items[index])} for every item that did not raise; {} when it is not worth a pool.

    `prepare` runs here, before the fork, only when a pool is used: work every worker would
    otherwise repeat for itself (building the Markdown converter, compiling Pygments' lexers:
    0.75 s of CPU over a 1,250-post cold build's workers), done once and inherited by each.
    """
    min_items = MIN_ITEMS if min_items is None else min_items
    workers = min(_cores(), len(items) // max(1, min_items // 2) or 1)
    if len(items) < min_items or workers < 2 or not _can_fork():
        return {}
    if prepare is not None:
        prepare()
    global _work
    _work = (function, items)
    try:
        chunks = _chunks(len(items), workers * 4)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                                 initargs=(os.getpid(),)) as pool:
            done: dict[int, Any] = {}
            try:
                for part in pool.map(_run_chunk, chunks):
                    done.update(part)
            except BrokenProcessPool:
                # A worker was killed (the OOM killer, a signal sent to it alone): the items it had
                # not sent back are left to the caller, as if they had raised. Ctrl-C stops the
                # builder itself (KeyboardInterrupt), not this.
                pass
            return done
    finally:
        _work = None


def _start_worker(builder: int) -> None:
    """A worker ends with its builder: killed outright (SIGKILL, the OOM killer) the builder would
    leave it blocked on a pipe no one reads; and SIGTERM, SIGHUP and Ctrl-C stop it as they stop
    any process (it inherited the builder's handlers, which stop a build cleanly, not a worker)."""
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    die_with_parent(builder)


# The builder's stop for a post's run, and the kernel's reaper's notice of the builder's death
# (execution/kernel.become_reaper, runner.kill_group): a real-time signal, queued, never merged
# with the SIGTERMs a post's code may send its process group.
STOP_SIGNAL = int(getattr(signal, "SIGRTMIN", 34)) + 2


def die_with_parent(parent: int | None) -> None:
    """Be killed when the process that started this one dies, however it dies (SIGKILL included).
    `parent`: its pid, to see that it died before this took effect (None: it is not init). Linux
    only (prctl); elsewhere a kernel learns it when its next event to the builder fails."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if (os.getppid() != parent) if parent is not None else os.getppid() == 1:
        os._exit(1)


def _run_chunk(bounds: tuple[int, int]) -> dict[int, Any]:
    function, items = _work  # type: ignore[misc]  # set before the fork
    done = {}
    for index in range(*bounds):
        try:
            done[index] = function(items[index])
        except Exception:  # computed again by the caller, which reports it
            pass
    return done


def _chunks(count: int, parts: int) -> list[tuple[int, int]]:
    size = max(1, -(-count // parts))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() <= _THREADS_OF_A_BUILD

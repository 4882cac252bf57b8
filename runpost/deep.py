"""Run a stage on a stack deep enough for any input a user can write.

Python-Markdown, PyYAML, tomllib and Jinja recurse once per level of nesting:
5,000 nested block quotes or list items end in RecursionError on Python's
default stack. Hugo renders such posts, so we do too: the content stages run
in a thread with a large stack and a raised recursion limit. The execute stage
stays on the main thread, where Ctrl-C is handled.
"""
from __future__ import annotations

import sys
import threading
from typing import Callable, TypeVar

Result = TypeVar("Result")

STACK_BYTES = 512 * 1024 * 1024   # address space reserved, not memory used
RECURSION_LIMIT = 200_000


def call_deep(function: Callable[[], Result]) -> Result:
    """function() on a deep stack; its result returned, its exception raised here."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = function()
        except BaseException as error:  # handed to the caller as it is
            outcome["error"] = error

    # The limit is the interpreter's, not the thread's: raised only while the deep thread
    # runs. Left raised, code on an ordinary 8 MB stack afterwards (the next build in the
    # same process, a deeply nested JSON file) would overflow the C stack and crash
    # instead of raising RecursionError. Restored however this ends (a thread that cannot
    # start under a memory limit, Ctrl-C while waiting).
    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous_limit, RECURSION_LIMIT))
    try:
        previous_size = threading.stack_size(STACK_BYTES)
        try:
            thread = threading.Thread(target=run, name="runpost-deep", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous_size)
        thread.join()
    finally:
        sys.setrecursionlimit(previous_limit)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


_marks = threading.local()     # the innermost bounded() call on this thread: (its frame, its depth)


def bounded(function: Callable[[], Result], frames: int = 4_000) -> Result:
    """function() with at most `frames` more frames of Python stack: a template that includes
    itself, or a macro that calls itself, ends in RecursionError in half a second, where the deep
    stack's limit (above) let it grow for minutes and gigabytes. A template's own rendering needs
    tens of frames, a macro drawing a tree a few per level. A shortcode's inner shortcodes are
    rendered before its template, not inside this allowance, so deep but finite nesting still
    renders. The limit is only ever lowered: off the deep stack, Python's own stays."""
    outer = getattr(_marks, "mark", None)
    here, steps = sys._getframe(), 0
    frame = here
    while frame is not None and (outer is None or frame is not outer[0]):   # back to the enclosing call only
        steps, frame = steps + 1, frame.f_back
    depth = steps + (outer[1] if outer is not None and frame is not None else 0)
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(min(previous, depth + frames))      # never above the limit it runs under
    _marks.mark = (here, depth)
    try:
        return function()
    finally:
        _marks.mark = outer
        sys.setrecursionlimit(previous)

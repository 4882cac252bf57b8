"""The API a post's own code uses: `import runpost`.

    runpost.params                  the post's parameters (front matter `params:` + --param)
    runpost.publish(name, value)    a JSON value the prose shows with {{< value name >}}
    @runpost.memo                   cache an expensive function's result in build/
    fn.map(arg_tuples, processes=N) compute uncached calls in N forked processes
    runpost.site_file(path)         a file published at the site root, not beside the page
    runpost.post_dir                the post's source folder (bundle), to read its input files

The build runs each post's code in `python -m runpost.execution.kernel`, which installs a
session backed by build/ (see execution/kernel.py, memo.py). Imported anywhere else (a REPL, a
test, `python helper.py`) the same calls work in memory, so a post's helper
modules import and run without the builder.

This module is imported by every post, including on machines that only render:
it must stay light (no torch, no jinja2, no markdown).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable, Iterable

__all__ = ["params", "post_dir", "publish", "memo", "site_file"]

# Filled in by the kernel before the post's first block runs; {} elsewhere.
params: dict[str, Any] = {}
# The bundle folder (or a single-file post's folder); the blocks' working folder
# is a staging folder for outputs, so inputs are read relative to this.
try:
    post_dir: Path = Path.cwd()
except OSError:             # started in a folder deleted since: the command line says so (cli.py)
    post_dir = Path(".")


def publish(name: str, value: Any) -> None:
    """Make `value` available to the prose as `{{< value name >}}` / `{{< table name >}}`.

    `value` must be JSON-serialisable: numbers, strings, bools, None, lists and
    dicts of them. Scalars with `.item()` (numpy, torch) and arrays with
    `.tolist()` are converted. Anything else raises TypeError here, so the
    build error points at the line that published it.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"publish() needs a non-empty string name, got {name!r}")
    _session.publish(name, to_json(name, value))


def memo(function: Callable | None = None, *, resources: dict[str, float] | None = None,
         retries: int = 0) -> Callable:
    """Cache `function`'s results in build/, keyed by the defining block and the arguments.

    `@memo(resources={"GPU": 1}, retries=2)`: on a Dask executor, run each call on
    a worker offering those resources, and retry a call that raised (a worker that
    died is retried by Dask anyway). Both are ignored by the local executor.

    The key is the chain key of the block that defines (or imports) the
    function, its qualified name, and a hash of the pickled arguments, so
    editing a later block reuses the results while editing this block, an
    earlier one, a helper module, an input or a parameter recomputes them.
    Results are stored as JSON, as torch weights_only data, or (a last resort)
    pickled, and loaded only once their sha256 matched (docs/execution.md).
    `fn.map(list_of_arg_tuples, processes=N)`
    computes the uncached calls in forked child processes, N at a time.
    """
    if function is None:
        return lambda function: memo(function, resources=resources, retries=retries)
    import types

    if not isinstance(function, types.FunctionType) and not (isinstance(function, types.MethodType)
                                                             and isinstance(function.__func__, types.FunctionType)):
        # Its key is its code and what the code reads: a builtin, a functools.cache wrapper, a partial
        # or a callable object has none to read (it failed with "... has no attribute '__globals__'").
        raise TypeError(f"memo takes a function written with def or lambda, not {_a_name(type(function))}: "
                        "put @runpost.memo on a def of your own that calls it")
    return _session.memoize(function, resources=resources, retries=retries)


def _a_name(kind: type) -> str:
    name = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ not in ("builtins", "__main__") else kind.__qualname__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def site_file(relative_path: str | Path) -> Path:
    """A path to write a file that is published at the site root.

    `site_file("200502_RNN/x.png")` is served as `/200502_RNN/x.png`. Parent
    folders are created. Files written to the working folder instead are
    published beside the page (`/posts/<slug>/x.png`).
    """
    relative = Path(relative_path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"site_file() needs a relative path inside the site, got '{relative_path}'")
    path = _session.site_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def to_json(name: str, value: Any) -> Any:
    """`value` as plain JSON data (a deep copy), or TypeError naming what is wrong."""
    def convert(item: Any) -> Any:
        # numpy/torch scalars have .item(); arrays and tensors have .tolist(). An array is a list
        # even of one element (`.item()` made np.array([0.5]) the number 0.5).
        methods = ("tolist", "item") if getattr(item, "ndim", 0) else ("item", "tolist")
        for method in methods:
            if callable(getattr(item, method, None)):
                try:
                    converted = getattr(item, method)()
                except (TypeError, ValueError):
                    continue
                if getattr(getattr(item, "dtype", None), "kind", "O") == "O":
                    _check_keys(name, converted)   # an object array's dicts are checked as they come out
                return converted
        # A pandas DataFrame (or Series) has to_dict(): its records are a table's rows.
        hint = "; for a table, publish its .to_dict(\"records\")" if callable(getattr(item, "to_dict", None)) else ""
        raise TypeError(f"cannot publish '{name}': {type(item).__name__} is not JSON-serialisable "
                        f"(use numbers, strings, bools, None, lists and dicts{hint})")

    deep = f"cannot publish '{name}': it is nested more than {PUBLISH_DEPTH} levels deep (lists in lists, " \
           "dicts in dicts), more than runpost's reader of results takes; publish it flatter"
    try:
        # Key order is kept: a published table's columns are its first row's keys.
        text = json.dumps(value, default=convert, allow_nan=True)
    except ValueError as error:  # circular references
        raise TypeError(f"cannot publish '{name}': {error}") from None
    except RecursionError:
        raise TypeError(deep) from None
    _check_keys(name, value)
    data = json.loads(text)
    if _depth(data) > PUBLISH_DEPTH:
        raise TypeError(deep)
    return data


# How deep a published value may nest: the builder reads the kernel's events with Python's json,
# which recursion limits (a value 560 levels deep failed there, far from the publish line).
PUBLISH_DEPTH = 400


def _depth(value: Any) -> int:
    """How many lists and dicts deep `value` nests (without recursion: it may be deep)."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, (list, dict)):
            level += 1
            deepest = max(deepest, level)
            if deepest > PUBLISH_DEPTH:
                return deepest
            pending += [(child, level) for child in (item.values() if isinstance(item, dict) else item)]
    return deepest


def _check_keys(name: str, value: Any) -> None:
    """JSON's keys are strings: json.dumps writes 1 as "1", so {1: a, "1": b} would keep only b, silently.
    Two keys that would be one are a TypeError (keys of other types json.dumps has refused already)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            seen: dict[str, Any] = {}
            for key in item:
                # As json.dumps writes each key (a float's NaN and Infinity as JSON spells them).
                text = key if isinstance(key, str) else json.dumps(key) if key is None or isinstance(key, (bool, float)) \
                    else str(int(key)) if isinstance(key, int) else None
                if text is not None and text in seen:
                    raise TypeError(f"cannot publish '{name}': the keys {seen[text]!r} and {key!r} would both be "
                                    f"the key \"{text}\" (JSON's keys are strings); keep one")
                seen[text] = key
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(entry for entry in item if isinstance(entry, (dict, list, tuple)))


def arguments_hash(args: tuple, kwargs: dict) -> str:
    """sha256 of the pickled call arguments (keyword order does not matter); a function or a
    post's class among them by what it does, not by name (execution/dependencies.py)."""
    from .execution.dependencies import fingerprint

    try:
        return fingerprint((tuple(args), sorted(kwargs.items())))
    except TypeError as error:
        raise TypeError(f"memo: arguments must be picklable to form the cache key ({error})") from None


def describe_call(function: Callable, args: tuple, kwargs: dict, limit: int = 120) -> str:
    """A short, readable `name(args)` for the manifest and --explain."""
    parts = [repr(arg) for arg in args] + [f"{key}={value!r}" for key, value in sorted(kwargs.items())]
    text = f"{function.__qualname__}({', '.join(parts)})"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_arguments(call: Any) -> tuple:
    """An item of `fn.map(...)`: a tuple of positional arguments, or one argument."""
    return call if isinstance(call, tuple) else (call,)


class MemorySession:
    """The session outside a kernel: publish and memo in memory, site files in a temp folder."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._cache: dict[tuple[str, str], Any] = {}
        self._site_root: Path | None = None

    def publish(self, name: str, value: Any) -> None:
        self.values[name] = value

    def site_root(self) -> Path:
        if self._site_root is None:
            import tempfile

            self._site_root = Path(tempfile.mkdtemp(prefix="runpost-site-"))
        return self._site_root

    def memoize(self, function: Callable, **options: Any) -> Callable:
        session = self

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = (function.__qualname__, arguments_hash(args, kwargs))
            if key not in session._cache:
                session._cache[key] = function(*args, **kwargs)
            return session._cache[key]

        def map_calls(calls: Iterable[tuple], processes: int = 1) -> list:
            return [wrapper(*as_arguments(call)) for call in calls]

        wrapper.map = map_calls  # type: ignore[attr-defined]
        return wrapper


# The kernel replaces this with a session backed by build/ (kernel.KernelSession).
_session: Any = MemorySession()

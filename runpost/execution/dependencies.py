"""What a @runpost.memo function reads besides its arguments, for its calls' keys (memo.py).

A memo key names the block that defines the function, so an edit there or above recomputes
its calls. That misses what the code of that block does not fix:

- closure cells and default values: `make(2)` and `make(3)` return two functions with one
  name and one block;
- globals the function reads that are bound after it is defined (`SCALE = 10` in a later
  block), rebound since (a loop), or, for plain data (numbers, strings, lists, dicts, ...),
  changed since;
- a function defined again in the same run (a loop over settings that defines and calls it),
  whose globals of plain data all count, since the block's text is the same each time.

Each of these goes into the key by value (`fingerprint`). A function's value is its code,
defaults and closure, not its name: a helper edited in a later block, or passed as an
argument, recomputes what used it. A function that reads nothing of these gets the key it
always had, so results stored before stay valid.
"""
from __future__ import annotations

import dis
import hashlib
import io
import pickle
import types
from typing import Any, Callable

# Plain data: compared by value between the definition and a call (cheap to pickle, and what a
# post's settings are). Anything else (a tensor, a data frame) by identity.
_PLAIN = (int, float, complex, str, bytes, bool, type(None), tuple, list, dict, set, frozenset)


def global_names(code: types.CodeType) -> list[str]:
    """The global names a function's code (and the code nested in it) reads, in order; not its
    attribute names (`settings.epochs` reads `settings`, not a global `epochs`)."""
    names: dict[str, None] = {}
    stack = [code]
    while stack:
        current = stack.pop(0)
        names.update(dict.fromkeys(instruction.argval for instruction in dis.get_instructions(current)
                                   if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME")))
        stack += [const for const in current.co_consts if isinstance(const, types.CodeType)]
    return list(names)


class Bindings:
    """A function's globals as they were when it was memoized: name -> (object, digest of plain data)."""

    def __init__(self, function: Callable):
        self.function = function
        self.names = global_names(function.__code__)
        namespace = function.__globals__
        self.seen = {name: (namespace[name], _plain_fingerprint(namespace[name])) for name in self.names if name in namespace}

    def changed(self, every_plain: bool = False) -> list[tuple[str, str]]:
        """(name, fingerprint) of each global read that is new, rebound or (plain data) changed since
        the function was memoized; with `every_plain`, also every global holding plain data."""
        found = []
        namespace = self.function.__globals__
        for name in self.names:
            if name not in namespace:
                continue                   # a builtin, or not bound yet: the call fails or reads a builtin
            value = namespace[name]
            if isinstance(value, types.ModuleType) or getattr(value, "__wrapped__", None) is self.function:
                continue                   # an import, or the memo function itself (recursion)
            before = self.seen.get(name)
            if (before is None or before[0] is not value or (every_plain and _is_plain(value))
                    or (before[1] is not None and before[1] != fingerprint(value))):
                found.append((name, fingerprint(value)))
        return found


def function_state(function: Callable) -> list[tuple[str, str]]:
    """The closure cells and defaults of `function`, each by value; empty for a plain `def`."""
    found = []
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or ()):
        try:
            found.append((f"closure {name}", fingerprint(cell.cell_contents)))
        except ValueError:                 # an empty cell: a name bound later in the enclosing function
            found.append((f"closure {name}", "unbound"))
    if function.__defaults__:
        found.append(("defaults", fingerprint(function.__defaults__)))
    if function.__kwdefaults__:
        found.append(("keyword defaults", fingerprint(sorted(function.__kwdefaults__.items()))))
    return found


def fingerprint(value: Any) -> str:
    """sha256 of `value` pickled, with functions and classes by what they do (code, defaults,
    closure; methods) rather than by name. A value that cannot be pickled: TypeError."""
    buffer = io.BytesIO()
    try:
        _Fingerprinter(buffer).dump(value)
    except Exception as error:
        raise TypeError(f"cannot be pickled to form the memo key ({type(error).__name__}: {error})") from None
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def _is_plain(value: Any) -> bool:
    return isinstance(value, _PLAIN)


def _plain_fingerprint(value: Any) -> str | None:
    """The fingerprint of plain data, to compare at a call; None for other values or plain data
    holding what cannot be pickled (compared by identity only)."""
    if not _is_plain(value):
        return None
    try:
        return fingerprint(value)
    except TypeError:
        return None


class _Fingerprinter(pickle.Pickler):
    def __init__(self, file: io.BytesIO):
        super().__init__(file, protocol=4)
        self.seen_code: set[int] = set()

    def reducer_override(self, value: Any) -> Any:
        if value is _code_marker or value is _class_marker or value is _set_marker:
            return NotImplemented
        if isinstance(value, (set, frozenset)):     # in an order that does not depend on the hash seed
            return _set_marker, (type(value).__name__, sorted(value, key=repr))
        if isinstance(value, types.FunctionType):
            return _code_marker, (_code_digest(value.__code__), value.__defaults__, value.__kwdefaults__,
                                  tuple(_cell(cell) for cell in value.__closure__ or ()))
        if isinstance(value, type) and value.__module__ == "__main__":
            # A post's own class: its methods' code, not its name (pickle's default).
            methods = sorted((name, member) for name, member in vars(value).items()
                             if isinstance(member, (types.FunctionType, staticmethod, classmethod, property)))
            return _class_marker, (value.__qualname__, tuple(name for name, _ in methods),
                                   tuple(_member(member) for _, member in methods))
        return NotImplemented


def _member(member: Any) -> Any:
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    if isinstance(member, property):
        return (member.fget, member.fset, member.fdel)
    return member


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return None


def _code_digest(code: types.CodeType) -> str:
    """What a code object does: its bytecode, names and constants (nested code the same way); not
    its file name or line numbers, so a moved project or a prose edit above it changes nothing."""
    digest = hashlib.sha256()
    for part in (code.co_code, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars, code.co_name,
                 code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags):
        digest.update(repr(part).encode() + b"\0")
    for const in code.co_consts:
        digest.update((_code_digest(const) if isinstance(const, types.CodeType) else _constant(const)).encode() + b"\0")
    return digest.hexdigest()


def _constant(value: Any) -> str:
    if isinstance(value, frozenset):             # `x in {"a", "b"}`: in an order that does not depend on the hash seed
        return "frozenset(" + ",".join(sorted(map(_constant, value))) + ")"
    if isinstance(value, tuple):
        return "(" + ",".join(map(_constant, value)) + ")"
    return repr(value)


def _code_marker(*parts: Any) -> None:
    """Stands for a function in a fingerprint (never called: fingerprints are never loaded)."""


def _class_marker(*parts: Any) -> None:
    """Stands for a class in a fingerprint (never called)."""


def _set_marker(*parts: Any) -> None:
    """Stands for a set in a fingerprint (never called)."""

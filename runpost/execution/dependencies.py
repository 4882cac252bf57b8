"""What a @runpost.memo function reads besides its arguments, for its calls' keys (memo.py).

A memo key names the block that defines the function, so an edit there or above recomputes
its calls. That misses what the code of that block does not fix:

- closure cells and default values: `make(2)` and `make(3)` return two functions with one
  name and one block;
- globals the function reads, itself or through the post's own functions and classes it
  reaches (called by name, held in a dict or list, in a decorator's closure, passed as an
  argument, or the class of an instance passed in), that are bound after it is memoized
  (`SCALE = 10` in a later block) or rebound since (a loop);
- a function memoized again in the same run (a loop over settings that defines and calls it),
  whose globals of plain data all count, since the block's text is the same each time.

Each of these goes into the key by value (`fingerprint`). A function's value is its code,
defaults and closure, not its name: a helper edited in a later block, or passed as an
argument, recomputes what used it (its bytecode: a new Python version recomputes such calls
once). A function that reads nothing of these gets the key it always had, so results stored
before stay valid. Not seen: a value changed in place (`CONFIG["lr"] = 5` in a later block).
"""
from __future__ import annotations

import dis
import enum
import functools
import hashlib
import io
import pickle
import types
from typing import Any, Callable

# Plain data: compared by value between the definition and a call (cheap to pickle, and what a
# post's settings are). Anything else (a tensor, a data frame) by identity.
_PLAIN = (int, float, complex, str, bytes, bool, type(None), tuple, list, dict, set, frozenset)


@functools.lru_cache(maxsize=4096)       # asked at every call, of the same few functions
def global_names(code: types.CodeType) -> tuple[str, ...]:
    """The global names a function's code (and the code nested in it) reads, in order; not its
    attribute names (`settings.epochs` reads `settings`, not a global `epochs`)."""
    names: dict[str, None] = {}
    stack = [code]
    while stack:
        current = stack.pop(0)
        names.update(dict.fromkeys(instruction.argval for instruction in dis.get_instructions(current)
                                   if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME")))
        stack += [const for const in current.co_consts if isinstance(const, types.CodeType)]
    return tuple(names)


class Bindings:
    """The globals a memo function reads, itself or through the post's own functions and classes it
    reaches (by a global's name, in a closure, a dict or list of them, or a call's arguments), and
    what the post's namespace held when it was memoized."""

    def __init__(self, function: Callable):
        self.function = function
        self.namespace = function.__globals__
        self.seen = dict(self.namespace)            # every binding at memoization (a shallow copy)
        self.digests: dict[str, tuple[Any, str]] = {}     # name -> (object, fingerprint), asked before

    def reachable(self, arguments: tuple = ()) -> list[str]:
        """The global names the function reads, and those that the post's own functions and classes
        it reaches read (a helper reading SCALE; one held in a dict, a decorator's closure, or
        passed as an argument; an instance's class), as far as they are bound now."""
        names: dict[str, None] = {}
        pending = list(global_names(self.function.__code__))
        values = list(arguments)
        visited: set[int] = set()
        while pending or values:
            if values:
                try:
                    pending += self._names_in(values.pop(), values, visited)
                except Exception:      # an object whose attributes raise (a lazy proxy): nothing of the post's in it
                    pass
                continue
            name = pending.pop(0)
            if name not in names:
                names[name] = None
                if name in self.namespace:
                    values.append(self.namespace[name])
        return list(names)

    def _names_in(self, value: Any, values: list, visited: set[int]) -> list[str]:
        """The global names `value` reads if it is the post's own code; what it holds that may be
        (closure cells, items of a small container, an instance's class) goes onto `values`."""
        if id(value) in visited or isinstance(value, types.ModuleType):
            return []
        visited.add(id(value))
        wrapped = _own_attribute(value, "__wrapped__")   # a memo function's function, a functools.wraps original
        if wrapped is not None:
            values.append(wrapped)
        if isinstance(value, types.FunctionType):
            if value.__globals__ is not self.namespace:
                return []                                # a library's: not the post's code
            values += [_cell(cell) for cell in value.__closure__ or ()]
            return list(global_names(value.__code__))
        if isinstance(value, type):
            if value.__module__ != self.namespace.get("__name__"):
                return []
            found = []
            for member in vars(value).values():
                try:
                    member = _member(member)
                except Exception:      # a proxy whose attributes (even __class__) raise: no code of the post's
                    continue
                for function in member if isinstance(member, tuple) else (member,):
                    if type(function) is types.FunctionType:
                        found += global_names(function.__code__)
            return found
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            items = value.values() if isinstance(value, dict) else value
            # A registry of models or settings, not a data set: its first items only.
            values += [item for _, item in zip(range(_CONTAINER_ITEMS), items) if not isinstance(item, _SCALARS)]
            return []
        if type(value).__module__ == self.namespace.get("__name__"):
            values.append(type(value))                  # an instance of the post's class: its methods
        return []

    def changed(self, every_plain: bool = False, arguments: tuple = ()) -> list[tuple[str, str]]:
        """(name, fingerprint) of each global read that is new or rebound since the function was
        memoized; with `every_plain`, also every global holding plain data. (A value changed in place
        is not seen: that would cost a pickle per call, and a function that appends to a global
        would never be reused.)"""
        found = []
        for name in self.reachable(arguments):
            if name not in self.namespace:
                continue                   # a builtin, or not bound yet: the call fails or reads a builtin
            value = self.namespace[name]
            if isinstance(value, types.ModuleType) or getattr(value, "__wrapped__", None) is self.function:
                continue                   # an import, or the memo function itself (recursion)
            if self.seen.get(name, _UNBOUND) is not value or (every_plain and _is_plain(value)):
                found.append((name, self.fingerprint(name, value)))
        return found

    def fingerprint(self, name: str, value: Any) -> str:
        """fingerprint(value), once per object (a value changed in place is not seen, as above): a
        large array bound after the function is pickled once, not at every call."""
        known = self.digests.get(name)
        if known is None or known[0] is not value:
            known = self.digests[name] = (value, fingerprint(value))
        return known[1]


_UNBOUND = object()
# Items of a container a search for the post's functions looks at (a dict of models, not a data set).
_CONTAINER_ITEMS = 256
_SCALARS = (int, float, complex, str, bytes, bool, type(None))


def _own_attribute(value: Any, name: str) -> Any:
    """value.name if the object itself holds it (in its __dict__): no __getattr__ of a proxy runs."""
    try:
        own = object.__getattribute__(value, "__dict__")
    except AttributeError:
        return None
    return own.get(name) if isinstance(own, dict) else None


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




class _Fingerprinter(pickle.Pickler):
    """Pickles as pickle does, but a function as its code, defaults and closure (by name, pickle
    would miss an edit to its body); `functools.cache`'s wrapper as its function; and a class the
    post defines (module `__main__`) as what _class_shape reads of it (an edit to its body in a
    later block is seen). Other classes stay by name, as pickle has them: a key of a call taking a
    library's dataclass is then the same on every Python version."""

    def __init__(self, file: io.BytesIO):
        super().__init__(file, protocol=4)
        self.active: set[int] = set()     # functions being pickled: a recursive closure refers to itself

    def reducer_override(self, value: Any) -> Any:
        if value is _code_marker or value is _set_marker:
            return NotImplemented
        if isinstance(value, (set, frozenset)):     # in an order that does not depend on the hash seed
            return _set_marker, (type(value).__name__, sorted(value, key=repr))
        if isinstance(value, types.FunctionType):
            if id(value) in self.active:
                return _code_marker, (_code_digest(value.__code__),)
            self.active.add(id(value))
            return _code_marker, (_code_digest(value.__code__), value.__defaults__, value.__kwdefaults__,
                                  tuple(_cell(cell) for cell in value.__closure__ or ()))
        if isinstance(value, type) and value.__module__ == "__main__":
            return _code_marker, (_class_shape(value, set()),)
        if isinstance(value, _CACHE_WRAPPERS) and isinstance(_own_attribute(value, "__wrapped__"), types.FunctionType):
            return _code_marker, (type(value).__qualname__, value.__wrapped__)    # functools.cache's: its function
        return NotImplemented


# functools.cache and lru_cache make these; a wrapper object of the post's own (with __wrapped__ and
# more state) is pickled with all of its state, as any object is.
_CACHE_WRAPPERS = (type(functools.lru_cache(maxsize=None)(lambda: None)),)


def _class_shape(cls: type, seen: set[int]) -> Any:
    """What a class of the post does, without pickling anything of it (a lock in a method's closure, a
    tensor as a default: the first cannot be pickled, the second pickles differently in each process):
    its name, its bases of the post, and each member: a function by its code and the plain data and
    functions its defaults and closure hold, plain data by value, an Enum member by its value,
    anything else by its type's name."""
    if cls.__module__ != "__main__" or id(cls) in seen:
        return cls.__qualname__ if cls.__module__ == "__main__" else f"{cls.__module__}.{cls.__qualname__}"
    seen = seen | {id(cls)}
    body = []
    for name, member in sorted(vars(cls).items()):
        if name in ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__", "__slotnames__"):   # (pickle caches __slotnames__)
            continue
        try:
            member = _member(member)
            if isinstance(member, enum.Enum):
                body.append((name, "member", member.value if _plain_through(member.value) else type(member.value).__qualname__))
            else:
                body.append((name, _shape(member, seen, 0)))
        except Exception:        # a proxy whose attributes (even __class__) raise: by its type alone
            body.append((name, type(member).__qualname__))
    return cls.__qualname__, tuple(_class_shape(base, seen) for base in cls.__bases__), tuple(body)


def _shape(value: Any, seen: set[int], depth: int) -> Any:
    if isinstance(value, tuple) and not _plain_through(value):
        return tuple(_shape(item, seen, depth) for item in value)
    if isinstance(value, types.FunctionType):
        if depth > 8 or id(value) in seen:
            return _code_digest(value.__code__)
        seen = seen | {id(value)}
        return (_code_digest(value.__code__), _shape(value.__defaults__, seen, depth + 1),
                _shape(tuple(_cell(cell) for cell in value.__closure__ or ()), seen, depth + 1))
    if isinstance(value, type):
        return _class_shape(value, seen)
    if value is None or _plain_through(value):
        return value
    wrapped = _own_attribute(value, "__wrapped__")
    if isinstance(wrapped, types.FunctionType):
        return type(value).__qualname__, _shape(wrapped, seen, depth + 1)
    return type(value).__qualname__


def _plain_through(value: Any, depth: int = 0) -> bool:
    """Plain data all the way down (a class's settings dict, not a lock or a model inside it)."""
    if depth > 20 or not _is_plain(value):
        return False
    if isinstance(value, dict):
        return all(_plain_through(key, depth + 1) and _plain_through(item, depth + 1) for key, item in value.items())
    if isinstance(value, (tuple, list, set, frozenset)):
        return all(_plain_through(item, depth + 1) for item in value)
    return True


def _member(member: Any) -> Any:
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    if isinstance(member, property):
        return (member.fget, member.fset, member.fdel)
    if isinstance(member, functools.cached_property):
        return member.func
    return member


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return None


def code_digest(function: Callable) -> str:
    """What a function's code does (not its file or lines): two lambdas of one block differ by it."""
    return _code_digest(function.__code__)


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


def _set_marker(*parts: Any) -> None:
    """Stands for a set in a fingerprint (never called)."""

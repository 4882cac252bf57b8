"""Errors users see: one compiler-style line per problem.

Every stage raises `BuildError` (one problem) or `BuildErrors` (several, so a
stage can report everything it found before the build stops). `cli.py` is the
only place that prints them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a source file; line and column are 1-based, 0 means unknown."""

    path: Path
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        """`path`, or `path:line:column` as a compiler writes it (column 1 where only the line is known)."""
        text = shown_name(_display_path(self.path))
        if self.line:
            text += f":{self.line}:{self.column or 1}"
        return text


_UNPRINTABLE = dict.fromkeys([*range(0x20), *range(0x7f, 0xa0), 0x2028, 0x2029])


def shown_name(name: str) -> str:
    """A file name as a terminal may print it: control characters (an escape sequence that clears the
    screen, a newline that starts a forged `file:1:1: error:` line) written as Python escapes."""
    if not any(ord(character) in _UNPRINTABLE for character in name):
        return name
    return "".join(repr(character)[1:-1] if ord(character) in _UNPRINTABLE else character for character in name)


_CONTROLS = dict.fromkeys(code for code in _UNPRINTABLE if code not in (0x0A, 0x09))


def shown_text(text: str) -> str:
    """A message as a terminal may print it: what a post wrote into it (a value's name, a URL) may
    hold an escape sequence that clears the screen or rewrites earlier lines; control characters
    but newline and tab are written as Python escapes."""
    if not any(ord(character) in _CONTROLS for character in text):
        return text
    return "".join(repr(character)[1:-1] if ord(character) in _CONTROLS else character for character in text)


def _display_path(path: Path) -> str:
    # Paths under the working directory print relative, as compilers do, so the
    # message is clickable in a terminal and identical on every machine.
    # The path as the user sees it: a symlink is named, not followed (it may lead elsewhere).
    import os

    try:
        return str(Path(os.path.abspath(path)).relative_to(os.path.abspath(Path.cwd())))
    except ValueError:
        pass
    try:      # through symlinks, only if needed: a looping link cannot be resolved
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)


def did_you_mean(name: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest of `choices`, or ''."""
    import difflib

    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class BuildError(Exception):
    """One problem in the user's content or configuration."""

    def __init__(self, location: Location | None, message: str, detail: str = ""):
        super().__init__(message)
        self.location = location
        self.message = message
        # Extra text (a mapped traceback, say) shown only with --debug.
        self.detail = detail

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}error: {shown_text(self.message)}"


class StartError(BuildError):
    """serve could not start (its port is in use): no build ran, so none is said to have failed."""


def is_long_number(error: ValueError) -> bool:
    """Python's int() refuses 4,300 digits and more (CVE-2020-10735): PyYAML, tomllib and json too."""
    return "integer string conversion" in str(error)


def long_number_error(path: Path, text: str) -> BuildError:
    """The error for a file whose reader met such a number, at the number."""
    found = re.search(r"\d{4300,}", text)
    where = Location(path, text.count("\n", 0, found.start()) + 1, found.start() - text.rfind("\n", 0, found.start())) \
        if found else Location(path, 1, 1)
    return BuildError(where, "a number of more than 4,300 digits, which Python does not read: write it in quotes "
                             "to keep it as text")


class UsageError(Exception):
    """The command line asks for something runpost must not do (exit status 2).

    Raised before anything is read or written: a missing content folder, an
    output folder that is not runpost's to replace.
    """


class BuildErrors(Exception):
    """Several problems found by one stage; raised once the stage is done."""

    def __init__(self, errors: list[BuildError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = list(errors)


class Superseded(Exception):
    """serve: the code of the post being run changed, and its run was stopped so that the new code
    runs at once (execution/runner.RunWatch). Not an error of the post's."""


class ErrorCollector:
    """Gather errors while a stage walks all its input, then raise them together."""

    def __init__(self) -> None:
        self.errors: list[BuildError] = []

    def add(self, error: BuildError) -> None:
        self.errors.append(error)

    def extend(self, errors: "BuildErrors | list[BuildError]") -> None:
        self.errors.extend(errors.errors if isinstance(errors, BuildErrors) else errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise BuildErrors(self.errors)

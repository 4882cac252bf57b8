"""Errors users see: one compiler-style line per problem.

Every stage raises `BuildError` (one problem) or `BuildErrors` (several, so a
stage can report everything it found before the build stops). `cli.py` is the
only place that prints them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a source file; line and column are 1-based, 0 means unknown."""

    path: Path
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        text = _display_path(self.path)
        if self.line:
            text += f":{self.line}"
            if self.column:
                text += f":{self.column}"
        return text


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
        return f"{prefix}error: {self.message}"


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

"""Terminal output of a build: progress while it runs, a summary at the end.

Messages go to stderr so that stdout stays free for --explain's plan.
"""
from __future__ import annotations

import sys
from typing import TextIO


class Reporter:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.warnings: list[str] = []   # as printed: an up-to-date build shows the last build's again

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def warning(self, message: str, location: object = None) -> None:
        """Compiler style: `path:line: warning: message` when there is a place to name."""
        from .errors import shown_text     # what a post wrote may hold escape sequences

        prefix = f"{location}: " if location else ""
        self.warnings.append(f"{prefix}warning: {shown_text(message)}")
        print(self.warnings[-1], file=self.stream, flush=True)

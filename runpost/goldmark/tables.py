r"""GFM tables: `\|` in a cell is a pipe, in code spans too, as in goldmark's table extension.

Python-Markdown's tables keep the backslash of an escaped pipe inside a code
span: a cell's `` `a \| b` `` shows `a \| b`, where GitHub and Hugo show `a | b`.
"""
from __future__ import annotations

import re

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.extensions.tables import TableProcessor


class TableExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Replaces the "tables" extension's processor, so it must be registered after it.
        md.parser.blockprocessors.register(GfmTableProcessor(md.parser, {"use_align_attribute": False}), "table", 75)


class GfmTableProcessor(TableProcessor):
    def _split_row(self, row: str) -> list[str]:
        return [re.sub(r"(?<!\\)\\\|", "|", cell) for cell in super()._split_row(row)]

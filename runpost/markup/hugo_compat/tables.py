r"""GFM tables: cells split at every unescaped `|`, as in goldmark's table extension.

Python-Markdown's tables do not split inside code spans and keep the backslash
of an escaped pipe there: a cell's `` `a \| b` `` shows `a \| b`, where GitHub
and Hugo show `a | b`, and `` `a|b` `` is two cells to them. goldmark also
gives a cell missing from a short row no alignment, and takes a leading and a
trailing pipe off every row, where Python-Markdown does so only when the header
row has them (` | 7 | x` under `a | b | c` is `7`, `x` and a missing cell).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.extensions.tables import TableProcessor


class TableExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Replaces the "tables" extension's processor, so it must be registered after it.
        md.parser.blockprocessors.register(GfmTableProcessor(md.parser, {"use_align_attribute": False}), "table", 75)


class GfmTableProcessor(TableProcessor):
    def _split_row(self, row: str) -> list[str]:
        row = row.strip(" ")
        row = self.RE_END_BORDER.sub("", row[1:] if row.startswith("|") else row)
        return [cell.replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]

    def _build_row(self, row: str, parent: etree.Element, align) -> None:
        super()._build_row(row, parent, align)
        for cell in list(parent[-1])[len(self._split_row(row)):]:
            cell.attrib.pop("style", None)

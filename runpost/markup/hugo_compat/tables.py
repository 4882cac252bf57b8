r"""GFM tables: cells split at every unescaped `|`, as in goldmark's table extension.

Python-Markdown's tables do not split inside code spans and keep the backslash
of an escaped pipe there: a cell's `` `a \| b` `` shows `a \| b`, where GitHub
and Hugo show `a | b`, and `` `a|b` `` is two cells to them. goldmark also
gives a cell missing from a short row no alignment, and takes a leading and a
trailing pipe off every row, where Python-Markdown does so only when the header
row has them (` | 7 | x` under `a | b | c` is `7`, `x` and a missing cell).

A table may also start inside a paragraph, as in goldmark (a paragraph transformer): the
lines before a header row and its delimiter row stay a paragraph, the rest is the table.
Python-Markdown starts a table only at the first line of a block, so `Results:` right above
`| a | b |` made one paragraph of pipes and dashes.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.blockprocessors import BlockProcessor
from markdown.extensions.tables import TableProcessor

from .headings import THEMATIC_BREAK

# A line that starts a heading or a quote: the end of a table above it.
_ENDS_TABLE = re.compile(r"[ ]{0,3}(?:#{1,6}(?:[ \t]|$)|>)")
# A line that may be a delimiter row (`|---|:--:|`, `--- | ---`): the quick test before the table's own.
_DELIMITER_ROW = re.compile(r" *\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")


class TableExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Replaces the "tables" extension's processor, so it must be registered after it.
        md.parser.blockprocessors.register(GfmTableProcessor(md.parser, {"use_align_attribute": False}), "table", 75)
        # Above the paragraph processor (10) and below every other: what reaches it is a paragraph.
        md.parser.blockprocessors.register(TableInParagraphProcessor(md.parser), "runpost_table_in_paragraph", 11)


class TableInParagraphProcessor(BlockProcessor):
    """Splits a paragraph where a table starts in it: the lines above stay a paragraph."""

    def test(self, parent: etree.Element, block: str) -> bool:
        return self._table_start(parent, block) > 0

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        lines = block.split("\n")
        start = self._table_start(parent, block)
        # A paragraph's lines may be indented (in a list item, lazily); a table's rows are not code.
        blocks[:0] = ["\n".join(lines[:start]), "\n".join(line.lstrip(" \t") for line in lines[start:])]

    def _table_start(self, parent: etree.Element, block: str) -> int:
        """The line where a table starts (a header row, then its delimiter row), 0 if none after the first."""
        if "|" not in block or "-" not in block:
            return 0
        lines = block.split("\n")
        table = self.parser.blockprocessors["table"]
        # Rows indented four spaces or more are paragraph text, as in goldmark; in a list item
        # Python-Markdown keeps four spaces of the item's indentation on its later lines.
        indent = 7 if parent.tag == "li" else 3
        for index in range(1, len(lines) - 1):
            if _DELIMITER_ROW.fullmatch(lines[index + 1]) and "|" in lines[index] + lines[index + 1] \
                    and all(len(line) - len(line.lstrip(" ")) <= indent for line in lines[index:index + 2]) \
                    and table.test(parent, "\n".join(lines[index:index + 2])):
                return index
        return 0


class GfmTableProcessor(TableProcessor):
    def test(self, parent: etree.Element, block: str) -> bool:
        # A header row without a pipe is one cell with no border: never a table. Python-Markdown's
        # test splits the whole block into rows first (a 1,000-deep list: once for every level).
        end = block.find("\n")
        return "|" in (block if end < 0 else block[:end]) and super().test(parent, block)

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        # A table ends where another block starts (a heading, a quote, a thematic break), as in
        # goldmark; Python-Markdown took each such line for one more row.
        lines = blocks[0].split("\n")
        for index in range(2, len(lines)):
            if _ENDS_TABLE.match(lines[index]) or THEMATIC_BREAK.match(lines[index]):
                blocks[0:1] = ["\n".join(lines[:index]), "\n".join(lines[index:])]
                break
        header_only = blocks[0].count("\n") < 2
        super().run(parent, blocks)
        if header_only:     # goldmark writes no <tbody>; Python-Markdown a row of empty cells
            table = parent[-1]
            table.remove(table.find("tbody"))

    def _split_row(self, row: str) -> list[str]:
        row = row.strip(" ")
        row = self.RE_END_BORDER.sub("", row[1:] if row.startswith("|") else row)
        return [cell.replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]

    def _build_row(self, row: str, parent: etree.Element, align) -> None:
        super()._build_row(row, parent, align)
        for cell in list(parent[-1])[len(self._split_row(row)):]:
            cell.attrib.pop("style", None)

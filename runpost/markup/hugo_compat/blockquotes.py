"""Blockquotes as goldmark (CommonMark) reads them.

Python-Markdown's blockquote continues the previous blockquote after a blank
line, so a post's `> quote one` + blank + `> quote two` is one quote, where
goldmark makes two. And inside `> ...` only Python-Markdown's block processors
run, not our preprocessors: a fenced block in a quote stays paragraph text and
a list cannot interrupt a paragraph. QuotedBlocksPreprocessor runs the fence
and list preprocessors over each quote's inner lines (nested quotes too) and
puts the `>` back, so a quote holds what the same lines hold outside one.
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown import util
from markdown.blockprocessors import BlockQuoteProcessor
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from .headings import lazy_line

_QUOTE_LINE = re.compile(r"^(?P<marker> {0,3}>) ?(?P<content>.*)$")


class BlockQuoteExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # After top-level fences are stashed (31) and whitespace is normalised (30),
        # before lists (27), which it calls itself for the quotes' insides.
        md.preprocessors.register(QuotedBlocksPreprocessor(md), "runpost_quoted_blocks", 28)
        md.parser.blockprocessors.register(CommonMarkBlockQuoteProcessor(md.parser), "quote", 20)


class QuotedBlocksPreprocessor(Preprocessor):
    """Fences and lists inside `> ` lines, found as outside them."""

    def run(self, lines: list[str]) -> list[str]:
        output: list[str] = []
        number = 0
        lazy = False
        while number < len(lines):
            if not _QUOTE_LINE.match(lines[number]):
                # Lines right under a quote's text, up to a blank line, continue it lazily.
                lazy = lazy and bool(lines[number].strip())
                output.append(lazy_line(lines[number]) if lazy else lines[number])
                number += 1
                continue
            end = number
            while end < len(lines) and _QUOTE_LINE.match(lines[end]):
                end += 1
            output += self.quote(lines[number:end])
            lazy = lines[end - 1].strip() != ">"
            number = end
        return output

    def quote(self, lines: list[str]) -> list[str]:
        matches = [_QUOTE_LINE.match(line) for line in lines]
        inner = [match["content"] for match in matches]
        processed = self.md.preprocessors["runpost_fences"].run(inner)
        processed = self.run(processed)                                 # quotes in the quote
        processed = self.md.preprocessors["runpost_lists"].run(processed)
        if processed == inner:
            return lines
        marker = matches[0]["marker"]
        return [f"{marker} {line}" if line.strip() else marker for line in processed]


class CommonMarkBlockQuoteProcessor(BlockQuoteProcessor):
    """A blockquote after a blank line is a new blockquote, never the previous one continued."""

    depth = 0       # quotes open around the one being parsed

    def test(self, parent: etree.Element, block: str) -> bool:
        # Python-Markdown walks the whole stack at every quote to stay clear of the recursion
        # limit: 10,000 nested quotes took 12 s. Walked every 32nd level, with room for 32 more.
        if not self.RE.search(block):
            return False
        return self.depth % 32 or sys.getrecursionlimit() - util._get_stack_depth() >= _ROOM

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = self.RE.search(block)
        self.parser.parseBlocks(parent, [block[:match.start()]])      # lines before the quote
        quote = etree.SubElement(parent, "blockquote")
        # As Python-Markdown does: blockquotes in lists use <p> tags.
        self.parser.state.set("blockquote")
        self.depth += 1
        try:
            self.parser.parseChunk(quote, "\n".join(self.clean(line) for line in block[match.start():].split("\n")))
        finally:
            self.depth -= 1
        self.parser.state.reset()


# Stack frames kept free below the recursion limit: Python-Markdown's 100, and 32 levels of
# quotes (under 20 frames each) past the last check.
_ROOM = 100 + 32 * 20

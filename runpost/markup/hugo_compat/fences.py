"""Fenced code blocks as goldmark reads them, written in Chroma's markup; indented code with its tabs.

Python-Markdown's fenced_code (and pymdownx.superfences) find fences by their
own rules and read `{.python}`-style attributes. Hugo's fences end where
CommonMark says, take Hugo's info strings (`go {linenos=table,hl_lines=[2]}`),
keep tabs in code, and nest in list items without making the list loose. This
preprocessor takes every fence out before Python-Markdown looks, using the same
scanner (content/scan.py) the shortcodes stage uses, so the code that keeps its
shortcodes literal is exactly the code shown as code. Indented code blocks are
taken out here too, as plain `<pre><code>`, so that their tabs survive.
"""
from __future__ import annotations

import re
from html import escape

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.preprocessors import NormalizeWhitespace, Preprocessor
from markdown.util import ETX, STX

from ...content.scan import find_code_blocks
from ..codeblocks import fence_language, parse_fence_info
from .highlighting import highlight_code


class FencedCodeExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Fences go first, before Python-Markdown expands tabs (goldmark keeps them in code)
        # and before raw HTML is taken out, so HTML in code stays code.
        md.preprocessors.register(FencedCodePreprocessor(md), "runpost_fences", 31)
        md.preprocessors.register(KeepPlaceholdersNormalizeWhitespace(md), "normalize_whitespace", 30)


class FencedCodePreprocessor(Preprocessor):
    """Fenced code -> Chroma-shaped HTML in the stash."""

    def run(self, lines: list[str]) -> list[str]:
        # normalize_whitespace's first steps, done here so that our stash placeholders survive it.
        text = "\n".join(lines).replace(STX, "").replace(ETX, "").replace("\r\n", "\n").replace("\r", "\n")
        pieces, position = [], 0
        ordinal = 0
        for block in find_code_blocks(text):
            if not block.fenced:
                # Indented code too, before tabs are expanded: goldmark keeps tabs past the indent.
                code = _strip_code_indent(text[block.code_start:block.code_end])
                placeholder = self.md.htmlStash.store(f"<pre><code>{escape(code, quote=False)}</code></pre>")
                pieces += [text[position:block.start], "\n", placeholder, "\n\n"]
                position = block.end
                continue
            language, options = _fence_options(block.info)
            # Hugo numbers a page's fenced blocks; anchorlinenos ids default to "hl-<ordinal>-<line>".
            options.setdefault("lineanchors", f"hl-{ordinal}")
            ordinal += 1
            # goldmark drops the empty lines before the closing fence, and keeps the newline
            # that ends the last code line.
            code = _dedent(text[block.code_start:block.code_end], len(block.indent)).rstrip("\n")
            if code:
                code += "\n"
            placeholder = self.md.htmlStash.store(highlight_code(code, language, options, fenced=True))
            if block.indent:
                # In a list item: no blank lines of our own, or the list would turn loose
                # (goldmark keeps `1. text` + fence + `2. text` tight: <li>text<div class="highlight">).
                pieces += [text[position:block.start], block.indent, placeholder, "\n"]
            else:
                pieces += [text[position:block.start], "\n", placeholder, "\n\n"]
            position = block.end
        pieces.append(text[position:])
        return "".join(pieces).split("\n")


class KeepPlaceholdersNormalizeWhitespace(NormalizeWhitespace):
    """Python-Markdown's normalize_whitespace, less the STX/ETX removal FencedCodePreprocessor did."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines) + "\n\n"
        source = source.expandtabs(self.md.tab_length)
        return re.sub(r"(?<=\n) +\n", "\n", source).split("\n")


def _fence_options(info: str) -> tuple[str, dict[str, str]]:
    try:
        return parse_fence_info(info)
    except ValueError:         # the shortcodes stage reported it already; show the code plainly
        return fence_language(info), {}


def _strip_code_indent(code: str) -> str:
    """An indented code block's text: each line loses four columns of indentation (a tab reaches
    the next multiple of four), and nothing else; tabs after that stay tabs."""
    lines = []
    for line in code.rstrip("\n").split("\n"):
        column = index = 0
        while index < len(line) and column < 4 and line[index] in " \t":
            column = column + 1 if line[index] == " " else column + 4 - column % 4
            index += 1
        lines.append(" " * (column - 4) + line[index:] if column > 4 else line[index:])
    return "\n".join(lines) + "\n"


def _dedent(code: str, width: int) -> str:
    if not width:
        return code
    return "\n".join(line[width:] if line[:width].isspace() else line.lstrip() for line in code.split("\n"))

"""Lists as goldmark (CommonMark) reads and writes them.

Python-Markdown needs a blank line before a list and four spaces per nesting
level; CommonMark lets a bullet list interrupt a paragraph and nests at the
parent's content column (often two spaces), and the seed article relies on
both. CommonMark also makes a whole list loose or tight, where Python-Markdown
decides item by item, and starts a new list when the bullet character changes.
`1)` numbers a list as `1.` does.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER_RE

# Stashed between two lists that Python-Markdown would merge; removed after rendering.
_LIST_BREAK = "<!--runpost:list-break-->"
_LIST_MARKER = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])(?P<space> +|$)")
_STASHED = HTML_PLACEHOLDER_RE       # STX "wzxhzdk:<stash index>" ETX
_BLOCK_TAGS = {"p", "ul", "ol", "div", "pre", "blockquote", "table", "dl", "hr",
               "h1", "h2", "h3", "h4", "h5", "h6"}


class ListExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # After normalize_whitespace (30), before raw HTML blocks are taken out (20).
        md.preprocessors.register(CommonMarkListPreprocessor(md), "runpost_lists", 27)
        # After inline Markdown (20), so list items hold their final elements.
        md.treeprocessors.register(LooseListTreeprocessor(md), "runpost_loose_lists", 13)
        # After raw_html (30) has put the stashed list breaks back.
        md.postprocessors.register(ListBreakPostprocessor(md), "runpost_list_breaks", 15)


class CommonMarkListPreprocessor(Preprocessor):
    """Rewrite list lines so that Python-Markdown's list rules see CommonMark's lists.

    Each item is re-indented to four spaces per level, a blank line goes before a
    list that interrupts a paragraph, and a stashed break goes between two lists
    that differ only in their bullet character.
    """

    def run(self, lines: list[str]) -> list[str]:
        output: list[str] = []
        levels: list[tuple[int, int]] = []     # (source marker indent, source content column)
        top_kind = ""                           # the open top-level list's "-", "*", "+", "." or ")"
        previous = ""
        blank_in_item = False                   # a blank line since the last item's marker
        block_indent = 0                        # indentation of the first line after the last blank line
        for line in lines:
            marker = self.item_marker(line, previous, levels)
            if not line.strip():
                output.append(line)
                blank_in_item = True
                block_indent = None
                previous = line
                continue
            if marker:
                levels, top_kind = self.add_item(output, levels, top_kind, marker, line, previous)
                blank_in_item = False
            elif levels and line.startswith(" "):
                output.append(self.continuation(levels, line, quote_allowed=not blank_in_item))
            else:
                if not previous.strip():
                    levels, top_kind = [], ""
                output.append(line)
            indent = len(output[-1]) - len(output[-1].lstrip(" "))
            if block_indent is None:
                block_indent = indent
            elif marker and indent < block_indent:
                # `- a` + blank + `  more` + `- b`: Python-Markdown hands an indented block to
                # the item above, `- b` and all. A blank line makes `- b` a block of its own.
                output.insert(len(output) - 1, "")
                block_indent = indent
            previous = line
        return output

    def item_marker(self, line: str, previous: str, levels: list[tuple[int, int]]) -> re.Match | None:
        """The line's list marker, if it starts an item here."""
        marker = _LIST_MARKER.match(line)
        if not marker or levels:
            return marker
        if len(marker["indent"]) >= 4:
            return None                         # indented code or a footnote's text, not a list
        if self.continues_paragraph(previous, marker):
            return None                         # "2." cannot interrupt a paragraph; only "1." can
        return marker

    def add_item(self, output: list[str], levels, top_kind: str, marker: re.Match, line: str, previous: str):
        """Append the item's line to output; returns the new (levels, top_kind)."""
        levels = self.open_item(levels, marker)
        if len(levels) == 1:
            kind = marker["marker"][-1]
            if top_kind and kind != top_kind:
                # A new bullet character (or `.` vs `)`) starts a new list.
                output += ["", self.md.htmlStash.store(_LIST_BREAK), ""]
            top_kind = kind
        if previous.strip() and len(levels) == 1 and not _LIST_MARKER.match(previous) and \
                not output[-1].startswith(" "):
            output.append("")                   # a list may interrupt a paragraph
        depth = len(levels) - 1
        item = line.lstrip(" ")
        if marker["marker"].endswith(")"):
            item = re.sub(r"^(\d+)\)", r"\1.", item)     # Python-Markdown knows only `1.`
        output.append(" " * (4 * depth) + item)
        return levels, top_kind

    @staticmethod
    def continues_paragraph(previous: str, marker: re.Match) -> bool:
        ordered = marker["marker"][0].isdigit()
        return bool(previous.strip()) and not previous.lstrip().startswith("#") and ordered and \
            int(marker["marker"][:-1]) != 1

    def open_item(self, levels, marker) -> list[tuple[int, int]]:
        indent = len(marker["indent"])
        content = indent + len(marker["marker"]) + max(1, len(marker["space"]))
        while levels and indent < levels[-1][1]:
            levels = levels[:-1]
        return levels + [(indent, content)]

    def continuation(self, levels, line: str, quote_allowed: bool) -> str:
        indent = len(line) - len(line.lstrip(" "))
        depth = len(levels)
        while depth and indent < levels[depth - 1][1]:
            depth -= 1
        if not depth:
            return line
        extra = indent - levels[depth - 1][1]
        if quote_allowed and extra < 4 and line.lstrip(" ").startswith(">"):
            # A quote right under an item's text (`- item` + `  > quote`): Python-Markdown keeps
            # such a line in the item's text, indentation and all, and sees a quote only if that
            # indentation (past the enclosing items' four spaces each) is under four.
            return " " * (4 * (depth - 1) + 2) + line.lstrip(" ")
        return " " * (4 * depth + extra) + line.lstrip(" ")


class LooseListTreeprocessor(Treeprocessor):
    """CommonMark makes a whole list loose (<p> in every item); Python-Markdown decides item by item.

    In a loose item a code block is its own block, not part of the text before it
    (FencedCodePreprocessor leaves it inline so that tight lists stay tight).
    """

    def run(self, root: etree.Element) -> None:
        for parent in list(root.iter()):
            items = [child for child in parent if child.tag == "li"] if parent.tag in ("ul", "ol") else []
            if not any(child.tag == "p" for item in items for child in item):
                continue
            for item in items:
                self.wrap_text(item)
                for paragraph in [child for child in item if child.tag == "p"]:
                    self.split_at_code(item, paragraph)

    def wrap_text(self, item: etree.Element) -> None:
        leading = []
        for child in item:
            if child.tag in _BLOCK_TAGS:
                break
            leading.append(child)
        if not (item.text or "").strip() and not leading:
            return
        paragraph = etree.Element("p")
        paragraph.text, item.text = (item.text or "").lstrip(), None
        if not leading:
            paragraph.text = paragraph.text.rstrip()
        for child in leading:
            item.remove(child)
            paragraph.append(child)
        if leading and leading[-1].tail:
            leading[-1].tail = leading[-1].tail.rstrip()
        item.insert(0, paragraph)

    def split_at_code(self, item: etree.Element, paragraph: etree.Element) -> None:
        if not any(self.is_block(match) for text in self.texts(paragraph) for match in _STASHED.finditer(text)):
            return
        pieces: list[etree.Element] = [etree.Element("p")]
        for text, child in [(paragraph.text, None)] + [(child.tail, child) for child in paragraph]:
            if child is not None:
                child.tail = None
                pieces[-1].append(child)
            for part in re.split("(" + _STASHED.pattern + ")", text or ""):
                if _STASHED.fullmatch(part) and self.is_block(_STASHED.fullmatch(part)):
                    block = etree.Element("p")
                    block.text = part
                    pieces += [block, etree.Element("p")]
                elif part and not part.isdigit():      # skip the pattern's group: the stash index
                    self.append_text(pieces[-1], part)
        index = list(item).index(paragraph)
        item.remove(paragraph)
        for offset, piece in enumerate(p for p in pieces if len(p) or (p.text or "").strip()):
            piece.text = (piece.text or "").lstrip() or None
            if len(piece):
                piece[-1].tail = (piece[-1].tail or "").rstrip() or None
            elif piece.text:
                piece.text = piece.text.rstrip()
            item.insert(index + offset, piece)

    def texts(self, paragraph: etree.Element) -> list[str]:
        return [paragraph.text or ""] + [child.tail or "" for child in paragraph]

    def is_block(self, match: re.Match) -> bool:
        stash = self.md.htmlStash.rawHtmlBlocks
        index = int(match.group(1))
        return index < len(stash) and str(stash[index]).startswith(("<div", "<pre"))

    @staticmethod
    def append_text(element: etree.Element, text: str) -> None:
        if len(element):
            element[-1].tail = (element[-1].tail or "") + text
        else:
            element.text = (element.text or "") + text


class ListBreakPostprocessor(Postprocessor):
    """Drop the markers CommonMarkListPreprocessor put between two lists."""

    def run(self, text: str) -> str:
        return text.replace(_LIST_BREAK, "")

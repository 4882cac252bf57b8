"""Lists as goldmark (CommonMark) reads and writes them.

Python-Markdown needs a blank line before a list and four spaces per nesting
level; CommonMark lets a bullet list interrupt a paragraph and nests at the
parent's content column (often two spaces), and the seed article relies on
both. CommonMark also makes a whole list loose or tight, where Python-Markdown
decides item by item, and starts a new list when the bullet character changes.
`1)` numbers a list as `1.` does.

Looseness needs the blank lines, which Python-Markdown's tree no longer shows (a
blank line inside a nested list puts `<p>` in the outer item too). So the
preprocessor decides it from the source and marks the items of each list with
a sentinel; LooseListSentinelTreeprocessor moves the mark onto the `<ul>`/`<ol>`
before inline Markdown runs, and LooseListTreeprocessor applies it.

Why about 350 lines: the preprocessor (nesting and looseness from the source)
and the two tree processors that carry its marks are one mechanism; split
apart, neither half can be read or tested alone.
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

from .headings import THEMATIC_BREAK, lazy_line
from .raw_html import HtmlBlock

# Stashed between two lists that Python-Markdown would merge; removed after rendering.
_LIST_BREAK = "<!--runpost:list-break-->"
_LIST_MARKER = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])(?P<space> +|$)")
_STASHED = HTML_PLACEHOLDER_RE       # STX "wzxhzdk:<stash index>" ETX
# A line that is a whole block no paragraph continues: a stashed fence or HTML block, an ATX heading.
_ENDS_BLOCK = re.compile(HTML_PLACEHOLDER_RE.pattern + r"|#{1,6}(?:[ \t].*)?")
# Put after an item's marker, before its text, unless that text could start a block
# (a heading, fence, quote, table, HTML, a nested list, a rule or a reference definition).
_TIGHT = "\x02runpost-tight\x03"
_LOOSE = "\x02runpost-loose\x03"
_SENTINEL = re.compile("\x02runpost-(tight|loose)\x03")
_BLOCK_START = re.compile(r"[#><|\t]|```|~~~|[-+*](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)|\[[^\]]*\]:"
                          r"|([-*_])[ \t]*(?:\1[ \t]*){2,}$")
_LOOSENESS = "data-runpost-looseness"        # on a <ul>/<ol> between the two treeprocessors
_BLOCK_TAGS = {"p", "ul", "ol", "div", "pre", "blockquote", "table", "dl", "hr",
               "h1", "h2", "h3", "h4", "h5", "h6"}


class ListExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # After normalize_whitespace (30), before raw HTML blocks are taken out (20).
        md.preprocessors.register(CommonMarkListPreprocessor(md), "runpost_lists", 27)
        # After the block parser, before heading ids (25) and inline Markdown (20) see the text.
        md.treeprocessors.register(LooseListSentinelTreeprocessor(md), "runpost_list_sentinels", 26)
        # After inline Markdown (20), so list items hold their final elements.
        md.treeprocessors.register(LooseListTreeprocessor(md), "runpost_loose_lists", 13)
        # After raw_html (30) has put the stashed list breaks back.
        md.postprocessors.register(ListBreakPostprocessor(md), "runpost_list_breaks", 15)
        # A list marker has at most nine digits in CommonMark ("1234567890. x" is text): the list
        # processors (sane_lists' by now) are told so, where Python-Markdown takes any number.
        for name in ("olist", "ulist"):
            processor = md.parser.blockprocessors[name]
            for pattern in ("RE", "CHILD_RE", "INDENT_RE"):
                if hasattr(processor, pattern):
                    setattr(processor, pattern, re.compile(getattr(processor, pattern).pattern.replace(r"\d+", r"\d{1,9}")))


def _join_items_starting_blank(lines: list[str]) -> list[str]:
    """`-` alone on its line, its text on the next, indented past the marker: one item, as
    CommonMark reads it (an item may start with one blank line). Python-Markdown needs the
    text on the marker's line. Only where an item may start: after a blank line or an item."""
    joined: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = _LIST_MARKER.match(line)
        after = lines[index + 1] if index + 1 < len(lines) else ""
        content = len(marker["indent"]) + len(marker["marker"]) + 1 if marker else 0
        if (marker and not line[marker.end():].strip() and after.strip()
                and content <= len(after) - len(after.lstrip(" ")) < content + 4     # not indented code
                and (not joined or not joined[-1].strip() or _LIST_MARKER.match(joined[-1]))):
            joined.append(f'{marker["indent"]}{marker["marker"]} {after.lstrip(" ")}')
            index += 2
            continue
        joined.append(line)
        index += 1
    return joined


class CommonMarkListPreprocessor(Preprocessor):
    """Rewrite list lines so that Python-Markdown's list rules see CommonMark's lists.

    Each item is re-indented to four spaces per level, a blank line goes before a
    list that interrupts a paragraph, and a stashed break goes between two lists
    that differ only in their bullet character.
    """

    def run(self, lines: list[str]) -> list[str]:
        lines = _join_items_starting_blank(lines)
        output: list[str] = []
        levels: list[tuple[int, int]] = []     # (source marker indent, source content column)
        top_kind = ""                           # the open top-level list's "-", "*", "+", "." or ")"
        previous = ""
        blank_in_item = False                   # a blank line since the last item's marker
        block_indent = 0                        # indentation of the first line after the last blank line
        looseness = _Looseness(output)
        for line in lines:
            marker = self.item_marker(line, previous, levels)
            if not line.strip():
                output.append(line)
                blank_in_item = True
                block_indent = None
                previous = line
                continue
            if marker:
                open_lists, old_kind = len(levels), top_kind
                levels, top_kind = self.add_item(output, levels, top_kind, marker, line, previous)
                same_list = len(levels) > 1 or not old_kind or top_kind == old_kind
                looseness.item(len(levels) - 1, open_lists, same_list, blank_before=not previous.strip())
                blank_in_item = False
            elif levels and line.startswith(" ") and (previous.strip() or self.content_depth(levels, line)):
                if not previous.strip():
                    looseness.blank_before_block(self.content_depth(levels, line))
                text_marker = _LIST_MARKER.match(line)
                if text_marker and text_marker["marker"][0].isdigit() and self.is_text_in_item(text_marker, previous, levels):
                    # `7.` under an item's text is text (Python-Markdown would start a list): escaped.
                    cut = text_marker.start("marker") + len(text_marker["marker"]) - 1
                    line = line[:cut] + "\\" + line[cut:]
                output.append(self.continuation(levels, line, quote_allowed=not blank_in_item))
            else:
                item = _LIST_MARKER.match(previous)
                after_block = previous.strip() and _ENDS_BLOCK.fullmatch(previous[item.end() if item else 0:].strip())
                if levels and (after_block or THEMATIC_BREAK.match(line)):
                    # Only a paragraph continues lazily: after an item's fence, HTML block or
                    # heading, an unindented line ends the list (goldmark), blank line or not;
                    # and a thematic break always does.
                    output.append("")
                    previous = ""
                if not previous.strip():
                    levels, top_kind = [], ""
                    looseness.close(0)
                    # After a blank line, a line indented less than the item's text is outside the
                    # list (`1. a` + blank + `  b`): its few spaces mean nothing to a paragraph.
                    if line.startswith(" ") and len(line) - len(line.lstrip(" ")) < 4:
                        line = line.lstrip(" ")
                output.append(lazy_line(line) if levels else line)
            indent = len(output[-1]) - len(output[-1].lstrip(" "))
            if block_indent is None:
                block_indent = indent
            elif marker and indent < block_indent:
                # `- a` + blank + `  more` + `- b`: Python-Markdown hands an indented block to
                # the item above, `- b` and all. A blank line makes `- b` a block of its own.
                output.insert(len(output) - 1, "")
                block_indent = indent
            if marker:
                looseness.mark(len(output) - 1)
            previous = line
        looseness.close(0)
        return output

    def item_marker(self, line: str, previous: str, levels: list[tuple[int, int]]) -> re.Match | None:
        """The line's list marker, if it starts an item here."""
        # `* * *`, `- - -`: a thematic break, though it starts like an item (CommonMark: the break wins).
        marker = _LIST_MARKER.match(line) if not THEMATIC_BREAK.match(line.lstrip(" ")) else None
        if marker and levels and self.is_text_in_item(marker, previous, levels):
            return None
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
        if not line[marker.end():].strip():
            # An empty item: Python-Markdown needs text after the marker (else `- a` + `-` is a
            # heading "a"); a stashed nothing stands in.
            item = item.rstrip() + " " + self.md.htmlStash.store(HtmlBlock(""))   # in a loose list: no <p>
        output.append(" " * (4 * depth) + item)
        return levels, top_kind

    def is_text_in_item(self, marker: re.Match, previous: str, levels: list[tuple[int, int]]) -> bool:
        """Whether an ordered marker at an item's content column or deeper, right under the item's
        text, is that text's: a list inside an item interrupts its paragraph only as a list would
        interrupt any paragraph (`1. Bake` + `   7. first half` is one item's text)."""
        return (marker["marker"][0].isdigit() and len(marker["indent"]) >= levels[-1][1]
                and self.continues_paragraph(previous, marker))

    @staticmethod
    def continues_paragraph(previous: str, marker: re.Match) -> bool:
        """Whether the marker's line is paragraph text: a list interrupts a paragraph only with
        an item that has text and, if ordered, starts at 1 (`Title` + `-` is a heading)."""
        if not previous.strip() or previous.lstrip().startswith("#"):
            return False
        empty = not marker.string[marker.end():].strip()
        return empty or (marker["marker"][0].isdigit() and int(marker["marker"][:-1]) != 1)

    def open_item(self, levels, marker) -> list[tuple[int, int]]:
        indent = len(marker["indent"])
        content = indent + len(marker["marker"]) + max(1, len(marker["space"]))
        while levels and indent < levels[-1][1]:
            levels = levels[:-1]
        return levels + [(indent, content)]

    @staticmethod
    def content_depth(levels, line: str) -> int:
        """How many of the open items this indented line is inside."""
        indent = len(line) - len(line.lstrip(" "))
        depth = len(levels)
        while depth and indent < levels[depth - 1][1]:
            depth -= 1
        return depth

    def continuation(self, levels, line: str, quote_allowed: bool) -> str:
        indent = len(line) - len(line.lstrip(" "))
        depth = self.content_depth(levels, line)
        if not depth:
            return line
        extra = indent - levels[depth - 1][1]
        if quote_allowed and extra < 4 and line.lstrip(" ").startswith(">"):
            # A quote right under an item's text (`- item` + `  > quote`): Python-Markdown keeps
            # such a line in the item's text, indentation and all, and sees a quote only if that
            # indentation (past the enclosing items' four spaces each) is under four.
            return " " * (4 * (depth - 1) + 2) + line.lstrip(" ")
        return " " * (4 * depth + extra) + line.lstrip(" ")


class _Looseness:
    """CommonMark's looseness of each open list, from the blank lines between its parts.

    A list is loose if a blank line separates two of its items, or two blocks
    directly inside one of its items; a blank line inside a nested list, or at
    a list's end, does not count. When a list closes, its items' lines get
    _TIGHT or _LOOSE.
    """

    def __init__(self, output: list[str]):
        self.output = output
        self.lists: list[tuple[bool, list[int]]] = []    # per depth: (loose, output indices of its items)

    def item(self, depth: int, open_lists: int, same_list: bool, blank_before: bool) -> None:
        continuing = open_lists > depth and same_list
        self.close(depth + 1 if continuing else depth)
        if not continuing:
            self.lists.append((False, []))
            if blank_before and depth:
                self.make_loose(depth - 1)        # `- a` + blank + `  - b`: a blank in item a
        elif blank_before:
            self.make_loose(depth)

    def blank_before_block(self, depth: int) -> None:
        """A blank line, then a block inside the item at `depth` (1 = a top-level item)."""
        if depth:
            self.close(depth)
            self.make_loose(depth - 1)

    def make_loose(self, depth: int) -> None:
        if depth < len(self.lists):
            self.lists[depth] = (True, self.lists[depth][1])

    def mark(self, index: int) -> None:
        if self.lists:
            self.lists[-1][1].append(index)

    def close(self, depth: int) -> None:
        """Close the lists at `depth` and deeper: mark their items."""
        for loose, items in self.lists[depth:]:
            for index in items:
                self.output[index] = self.with_sentinel(self.output[index], _LOOSE if loose else _TIGHT)
        del self.lists[depth:]

    @staticmethod
    def with_sentinel(line: str, sentinel: str) -> str:
        marker = _LIST_MARKER.match(line)
        text = line[marker.end():] if marker else ""
        if not text.strip() or len(marker["space"]) > 4 or _BLOCK_START.match(text):
            return line
        return line[:marker.end()] + sentinel + line[marker.end():]


class LooseListSentinelTreeprocessor(Treeprocessor):
    """Each list's looseness mark, from its items' text onto the list; every sentinel removed."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if element.tag in ("ul", "ol"):
                for item in (child for child in element if child.tag == "li"):
                    first = item[0] if len(item) and item[0].tag == "p" and not (item.text or "").strip() else item
                    found = _SENTINEL.match(first.text or "")
                    if found:
                        element.set(_LOOSENESS, found.group(1))
            for attribute in ("text", "tail"):
                value = getattr(element, attribute)
                if value and "\x02runpost-" in value:
                    setattr(element, attribute, _SENTINEL.sub("", value))


class LooseListTreeprocessor(Treeprocessor):
    """CommonMark makes a whole list loose (<p> in every item); Python-Markdown decides item by item.

    In a loose item a code block is its own block, not part of the text before it
    (FencedCodePreprocessor leaves it inline so that tight lists stay tight).
    """

    def run(self, root: etree.Element) -> None:
        for parent in list(root.iter()):
            items = [child for child in parent if child.tag == "li"] if parent.tag in ("ul", "ol") else []
            looseness = parent.attrib.pop(_LOOSENESS, None)
            if looseness == "tight":
                for item in items:
                    for paragraph in [child for child in item if child.tag == "p"]:
                        self.unwrap(item, paragraph)
                continue
            if looseness is None and not any(child.tag == "p" for item in items for child in item):
                continue
            for item in items:
                self.wrap_text(item)
                for paragraph in [child for child in item if child.tag == "p"]:
                    self.split_at_code(item, paragraph)

    def unwrap(self, item: etree.Element, paragraph: etree.Element) -> None:
        """A tight item's paragraph -> its bare text and inline elements, as goldmark writes it."""
        index = list(item).index(paragraph)
        children = list(paragraph)
        item.remove(paragraph)
        for offset, child in enumerate(children):
            item.insert(index + offset, child)
        self.append_at(item, index, paragraph.text or "")
        self.append_at(item, index + len(children), paragraph.tail or "")

    @staticmethod
    def append_at(item: etree.Element, position: int, text: str) -> None:
        """Add text after the item's child at position - 1 (at its start for 0)."""
        if position:
            item[position - 1].tail = (item[position - 1].tail or "") + text
        else:
            item.text = (item.text or "") + text

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

"""Headings as goldmark reads them, with the ids Hugo gives them.

Python-Markdown takes `#hashtag` as a heading and drops the `#` of `## C#`;
CommonMark needs a space after the opening hashes and before closing ones.
A `---` or `===` underline makes the whole paragraph above it a heading, not
only its last line.
Python-Markdown gives headings no ids (its toc extension would make them from
the rendered text); Hugo makes them from the heading's source text, or takes a
trailing `{#id .class}`. Links into posts and tables of contents use those ids.
"""
from __future__ import annotations

import re
from collections import Counter
import unicodedata
import xml.etree.ElementTree as etree
from typing import Callable

import markdown as python_markdown
from markdown.blockprocessors import HashHeaderProcessor, HRProcessor, SetextHeaderProcessor
from markdown.extensions import Extension
from markdown.extensions.attr_list import get_attrs_and_remainder
from markdown.treeprocessors import Treeprocessor

from ..placeholders import TOKEN_PATTERN, split_tokens

# `***`, `- - -`, `___` on a line of its own (CommonMark's thematic break), on any line of a block.
THEMATIC_BREAK = re.compile(r"^[ ]{0,3}([-*_])[ \t]*(?:\1[ \t]*){2,}$", re.MULTILINE)
# A block's first line that starts a block of another kind (a list item, a quote, an ATX heading,
# a reference definition): no paragraph, so no setext heading. (Fences are stashed by then.)
NOT_PARAGRAPH = re.compile(r"[ ]{0,3}(?:[-+*](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)|>|#{1,6}(?:[ \t]|$)|\[[^\]]*\]:)")
# A later line that interrupts a paragraph (CommonMark): a bullet or `1.` item with text, a quote,
# an ATX heading. `1999. It was` or `[a]: /x` under a line of text is that paragraph's text.
INTERRUPTS_PARAGRAPH = re.compile(r"^[ ]{0,3}(?:[-+*][ \t]+\S|1[.)][ \t]+\S|>|#{1,6}(?:[ \t]|$))", re.MULTILINE)
_EQUALS_LINE = re.compile(r"[ ]{0,3}=+[ \t]*")
# A line that could underline a setext heading; a line that could be a thematic break (ends in -, _ or *).
_UNDERLINE = re.compile(r"^[ ]{0,3}(?:=+|-+)[ \t]*$", re.MULTILINE)
_MAY_BE_BREAK = re.compile(r"[-_*][ ]*$", re.MULTILINE)
_HEADING_ATTRIBUTES = re.compile(r"[ \t]*\{([^{}\n]*)\}[ \t]*$")


def lazy_line(line: str) -> str:
    """A line that continues a list item's or a quote's paragraph lazily (without the item's
    indentation or the quote's `>`), made safe from the setext processor: an `===` there is
    text in CommonMark (an underline cannot be lazy), and Python-Markdown, which sees the
    line inside the item or quote, would make the paragraph an <h1>."""
    return "\\" + line.lstrip(" ") if _EQUALS_LINE.fullmatch(line) else line


class HeadingExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        md.parser.blockprocessors.register(CommonMarkHashHeaderProcessor(md.parser), "hashheader", 70)
        md.parser.blockprocessors.register(CommonMarkSetextHeaderProcessor(md.parser), "setextheader", 60)
        md.parser.blockprocessors.register(LinearHRProcessor(md.parser), "hr", 50)
        # Before 'inline' (20): ids come from the heading's source text, as goldmark's do.
        md.treeprocessors.register(HeadingIdTreeprocessor(md), "runpost_heading_ids", 25)


class LinearHRProcessor(HRProcessor):
    """Python-Markdown's thematic break (`---`, `***`, `___`), asked first whether any line of the
    block could be one: a line that does not end in `-`, `_` or `*` cannot. Its regular expression
    scans the whole block, and a list nested on one line (`- - - ... text`) is asked once per level:
    5,000 levels took 0.7 s, now 0.01 s."""

    def test(self, parent: etree.Element, block: str) -> bool:
        if not _MAY_BE_BREAK.search(block):     # in C: a block is asked again after each item it loses
            return False
        return super().test(parent, block)


class CommonMarkHashHeaderProcessor(HashHeaderProcessor):
    """ATX headings as CommonMark reads them: `#` needs a space after it (`#hashtag` is text),
    and closing hashes need a space before them (`## C# and F#` keeps its `#`); a backslash
    may end one (`## Why C\\`: literal, as no line follows within the heading)."""

    RE = re.compile(r"(?:^|\n)[ ]{0,3}(?P<level>#{1,6})(?=[ \t]|\n|$)[ \t]*"
                    r"(?P<header>(?:\\.|\\(?=\n|$)|[^\\\n])*?)(?:[ \t]+#+)?[ \t]*(?:\n|$)")

    def test(self, parent: etree.Element, block: str) -> bool:
        # A block without a `#` holds no heading: found without the expression's scan of every
        # position (asked once per level of a list nested on one line, as LinearHRProcessor).
        return "#" in block and super().test(parent, block)


class CommonMarkSetextHeaderProcessor(SetextHeaderProcessor):
    """`line one` + `line two` + `---`: one <h2> holding both lines (Python-Markdown: a paragraph, an <hr>)."""

    RE = re.compile(r"^(?:[^\S\n]*\S[^\n]*\n)+?[ ]{0,3}(?P<underline>=+|-+)[ \t]*(?:\n|$)")

    def test(self, parent: etree.Element, block: str) -> bool:
        # Only a paragraph takes an underline: `- a` + `---`, `> a` + `---` or `***` + `---` is
        # that block and a thematic break, not a heading of the block's source.
        if NOT_PARAGRAPH.match(block):      # first: it looks at one line, RE at every line of the block
            return False
        if not _UNDERLINE.search(block):    # in C, without RE's backtracking over every line
            return False
        match = self.RE.match(block)
        if not match:
            return False
        second = block.find("\n") + 1
        return not THEMATIC_BREAK.search(block, 0, match.start("underline")) \
            and not INTERRUPTS_PARAGRAPH.search(block, second, match.start("underline"))

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = self.RE.match(block)
        lines = block[:match.end()].rstrip("\n").split("\n")[:-1]
        heading = etree.SubElement(parent, "h1" if match["underline"][0] == "=" else "h2")
        heading.text = "\n".join(line.strip() for line in lines)
        if block[match.end():]:
            blocks.insert(0, block[match.end():])


class HeadingIdTreeprocessor(Treeprocessor):
    """Heading ids as Hugo 0.111 makes them, before inline Markdown is rendered.

    goldmark builds the id from the heading's source line, not its rendered text:
    `## Links in [docs](https://x.org)` -> "links-in-docshttpsxorg", `__init__` keeps
    its underscores. A trailing `{#id .class}` sets the id and classes (Hugo's
    default `parser.attribute.title`).

    An automatic id is not final here: a shortcode in the heading adds its
    output's text, and repeats get -1, -2 across the whole page, shortcode output
    included. So the heading gets AUTO_ID_ATTRIBUTE (tokens kept, in lower case so
    that filling placeholders leaves them alone), and `resolve_heading_ids` makes
    the real ids once every placeholder is filled.
    """

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                source = self.take_attributes(element)
                if "id" not in element.attrib:
                    element.set(AUTO_ID_ATTRIBUTE, heading_id(source.split("\n")[-1]).lower())
                else:      # `{#custom}`: taken where it stands among the automatic ids (resolve_heading_ids)
                    element.set(CUSTOM_ID_ATTRIBUTE, "")

    @staticmethod
    def take_attributes(element: etree.Element) -> str:
        source = element.text or ""
        match = _HEADING_ATTRIBUTES.search(source)
        if not match:
            return source
        attributes, remainder = get_attrs_and_remainder(match.group(1))
        if remainder.strip() or not attributes or any(value is None for _, value in attributes):
            return source            # not goldmark's attribute syntax: ordinary text
        classes = [value for key, value in attributes if key == "."]
        for key, value in attributes:
            if key != ".":
                element.set(key, value)
        if classes:
            element.set("class", " ".join(classes))
        element.text = source[:match.start()]
        return element.text


def heading_id(text: str) -> str:
    """Hugo's `github` autoHeadingIDType: letters, digits and _ lowercased; space and - become -.

    Shortcode tokens are kept as they are, for render.py to replace.
    """
    pieces, tokens = split_tokens(text.strip())
    kept = [_sanitize(pieces[0])]
    for token, piece in zip(tokens, pieces[1:]):
        kept += [token, _sanitize(piece)]
    return "".join(kept) or "heading"


def _sanitize(text: str) -> str:
    kept = []
    for char in text:
        if char in " \t-":
            kept.append("-")
        elif char == "_" or unicodedata.category(char) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd"):
            kept.append(go_lower(char))
    return "".join(kept)


def go_lower(text: str) -> str:
    """Lower case as Go's strings.ToLower makes it (Hugo's ids and URLs): each character on its
    own. Python's str.lower() differs in two places: `İ` (U+0130) becomes `i` plus a combining
    dot, and a final `Σ` becomes `ς` (by context); Go makes `i` and `σ`."""
    if text.isascii():
        return text.lower()
    return "".join("i" if char == "\u0130" else char.lower() for char in text)


AUTO_ID_ATTRIBUTE = "data-runpost-auto-id"
CUSTOM_ID_ATTRIBUTE = "data-runpost-custom-id"
_AUTO_ID = re.compile(r'\s' + AUTO_ID_ATTRIBUTE + r'="([^"]*)"')
_ANY_ID = re.compile(r'\sid="([^"]*)"')
# A heading's marker, automatic or custom (a custom one: the start tag's id, before or after the marker).
_HEADING_ID = re.compile(r'\s' + AUTO_ID_ATTRIBUTE + r'="([^"]*)"|<h[1-6](?:\s[^>]*?)?\s' + CUSTOM_ID_ATTRIBUTE + r'=""[^>]*>')
_LOWER_TOKEN = re.compile(TOKEN_PATTERN.pattern.lower())


def resolve_heading_ids(html: str, token_text: Callable[[str], str]) -> str:
    """Turn each heading's AUTO_ID_ATTRIBUTE into its final, page-unique `id`.

    Runs once, on the page's content with every placeholder filled; `token_text`
    gives the id text a shortcode's output contributes ("new" for a badge).
    """
    # Unique among every id the page already has that is not a heading's (a cell's `id="results"`).
    # A heading's `{#custom}` id counts from where it stands, as in goldmark: `## Setup` then
    # `## Installation {#setup}` are both "setup" (the first one is where Hugo's #setup leads),
    # and a third `## Setup` is "setup-1".
    ids = Counter(_ANY_ID.findall(html))
    custom = [match.group() for match in _HEADING_ID.finditer(html) if match.group(1) is None]
    ids.subtract(_ANY_ID.search(tag).group(1) for tag in custom if _ANY_ID.search(tag))
    seen: dict[str, int] = {found: 0 for found, count in ids.items() if count > 0}

    def final(match: re.Match) -> str:
        if match.group(1) is None:          # a custom id: taken as it is, and from here on taken
            tag = match.group().replace(f" {CUSTOM_ID_ATTRIBUTE}=\"\"", "")
            if (written := _ANY_ID.search(tag)) is not None:
                seen.setdefault(written.group(1), 0)
            return tag
        source = _LOWER_TOKEN.sub(lambda token: token_text(token.group().upper()), match.group(1))
        return f' id="{_unique(source or "heading", seen)}"'
    return _HEADING_ID.sub(final, html)


def _unique(anchor: str, seen: dict[str, int]) -> str:
    if anchor not in seen:
        seen[anchor] = 0
        return anchor
    while True:
        seen[anchor] += 1
        candidate = f"{anchor}-{seen[anchor]}"
        if candidate not in seen:
            seen[candidate] = 0
            return candidate

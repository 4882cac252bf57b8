"""Inline links and images as goldmark (CommonMark) reads them.

Python-Markdown's link parser knows only quoted titles and recovers from a
broken one; CommonMark also takes a title in parentheses (`[x](url (title))`,
which Python-Markdown reads as part of the URL) and, when the title is not
followed by `)` (`[x](url 'It's')`), gives up on the link and shows its text.
goldmark also writes an image's alt text as plain text: `![a *very* big chart](x)`
gets `alt="a very big chart"`, where Python-Markdown keeps the asterisks.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown.blockprocessors import ReferenceProcessor
from markdown.extensions import Extension
from markdown.inlinepatterns import (IMAGE_LINK_RE, IMAGE_REFERENCE_RE, LINK_RE, REFERENCE_RE, ImageInlineProcessor,
                                     ImageReferenceInlineProcessor, LinkInlineProcessor, ReferenceInlineProcessor,
                                     ShortImageReferenceInlineProcessor, ShortReferenceInlineProcessor)
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, HTML_PLACEHOLDER_RE, STX

from ..placeholders import SUMMARY_DIVIDER_PATTERN, TOKEN_PATTERN

# Text that earlier inline patterns (code spans, escapes) stashed: one unit, never split.
_PLACEHOLDER = re.compile(STX + "[^" + ETX + "]*" + ETX)
# Parentheses a destination may nest, as in cmark (CommonMark lets a parser set a limit).
_MAX_PARENTHESES = 32
# What a destination holds but never ends or nests at: not a space, control character, parenthesis or placeholder.
_PLAIN_DESTINATION = re.compile("[^\x00-\x20\x7f()" + STX + "]+")
# CommonMark's whitespace around a destination and title: spaces and tabs, at most one line ending.
_SPACE = re.compile(r"[ \t]*(?:\n[ \t]*)?")
_TITLE_END = {'"': '"', "'": "'", "(": ")"}
# The typographer stashes its entities (`&rsquo;`); an alt keeps those and drops stashed raw HTML.
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|\w+);")


class LinkExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Python-Markdown's own names and priorities, so these replace its processors.
        md.parser.blockprocessors.register(CommonMarkReferenceProcessor(md.parser), "reference", 15)
        md.inlinePatterns.register(LinearReferenceProcessor(REFERENCE_RE, md), "reference", 170)
        md.inlinePatterns.register(CommonMarkLinkProcessor(LINK_RE, md), "link", 160)
        md.inlinePatterns.register(LinearShortReferenceProcessor(REFERENCE_RE, md), "short_reference", 130)
        md.inlinePatterns.register(PlainAltImageProcessor(IMAGE_LINK_RE, md), "image_link", 150)
        md.inlinePatterns.register(PlainAltImageReferenceProcessor(IMAGE_REFERENCE_RE, md), "image_reference", 140)
        md.inlinePatterns.register(PlainAltShortImageReferenceProcessor(IMAGE_REFERENCE_RE, md),
                                   "short_image_ref", 125)
        # After the typographer (12), which also works on an alt's text, as goldmark's does.
        md.treeprocessors.register(AltTextTreeprocessor(md), "runpost_alt_text", 11)


def parse_link_tail(data: str, index: int) -> tuple[str, str | None, int] | None:
    """`(destination "title")` at data[index] -> (destination, title, index past `)`), or None."""
    if data[index:index + 1] != "(":
        return None
    position = _SPACE.match(data, index + 1).end()
    destination, position = _destination(data, position)
    if destination is None:
        return None
    title = None
    after_space = _SPACE.match(data, position).end()
    if after_space > position and data[after_space:after_space + 1] in _TITLE_END:
        title, position = _title(data, after_space)
        if title is None:
            return None
        after_space = _SPACE.match(data, position).end()
    if data[after_space:after_space + 1] != ")":
        return None
    return destination, title, after_space + 1


def _destination(data: str, position: int) -> tuple[str | None, int]:
    if data[position:position + 1] == "<":
        end = position + 1
        while end < len(data) and data[end] not in "<>\n":
            end += 1
        if data[end:end + 1] != ">":
            return None, position
        return data[position + 1:end], end + 1
    depth, end = 0, position
    while end < len(data):
        plain = _PLAIN_DESTINATION.match(data, end)      # the common characters, read in C
        if plain:
            end = plain.end()
            continue
        placeholder = _PLACEHOLDER.match(data, end)
        if placeholder:
            end = placeholder.end()
            continue
        char = data[end]
        if char <= " " or char == "\x7f" or (char == ")" and depth == 0):
            break
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth > _MAX_PARENTHESES:     # cmark's limit: `[a](` x 5,000 read to the end each time
            return None, position
        end += 1
    if depth:
        return None, position
    return data[position:end], end


def _title(data: str, position: int) -> tuple[str | None, int]:
    opening = data[position]
    closing = _TITLE_END[opening]
    end = data.find(closing, position + 1)
    if end < 0:
        return None, position
    title = data[position + 1:end]
    if opening == "(" and "(" in title:
        return None, position
    # A blank line ends the paragraph: a whole line inside the title with nothing on it (the
    # title's last line holds its closing mark).
    if "\n" in title and any(not line.strip() for line in title.split("\n")[1:-1]):
        return None, position
    return title, end + 1


# A line that stands for a block: a token (runpost's placeholders) or a stashed HTML block.
_BLOCK_LINE = re.compile(rf"(?:{TOKEN_PATTERN.pattern}|{SUMMARY_DIVIDER_PATTERN}|{HTML_PLACEHOLDER_RE.pattern})")


def label_key(label: str) -> str:
    """A reference label as CommonMark matches it: whitespace runs as one space, case folded
    (`[Docs  page]` finds `[docs page]:`, `[SS]` finds `[ẞ]:`)."""
    return " ".join(label.split()).casefold()


class CommonMarkReferenceProcessor(ReferenceProcessor):
    """Reference definitions as goldmark reads them: one may not interrupt a paragraph (`See
    [docs].` + `[docs]: /docs` is two lines of text), the first of two with one label wins,
    labels match as label_key says, and a destination in `<...>` may hold spaces."""

    RE = re.compile(r'^[ ]{0,3}\[([^\[\]]*)\]:[ ]*(?:\n[ ]*)?(<[^<>\n]*>|[^\s]+)[ ]*(?:\n[ ]*)?'
                    r'((["\'])(.*)\4[ ]*|\((.*)\)[ ]*)?$', re.MULTILINE)

    def run(self, parent: etree.Element, blocks: list[str]) -> bool:
        block = blocks[0]
        first = self.RE.search(block)
        before = block[:first.start()] if first else ""
        # A definition starts the block, or follows a line that is a block of its own (an
        # executable fence's or a figure's token, a stashed HTML block, <!--more-->); anywhere
        # else it is inside a paragraph, where CommonMark reads it as text.
        if first is None or (before.strip() and not _BLOCK_LINE.fullmatch(before.rstrip("\n").rsplit("\n", 1)[-1].strip())):
            return False
        blocks.pop(0)
        end = first.start()
        # As Python-Markdown does: the definitions on the lines that follow, in this pass.
        for match in self.RE.finditer(block, end):
            if match.start() > end and (block[end:match.start()].strip("\n") or "\n" in match.group()):
                break
            label = label_key(match.group(1))
            if label and label not in self.parser.md.references:
                destination = match.group(2)
                destination = destination[1:-1] if destination.startswith("<") else destination
                title = match.group(5) or match.group(6)
                self.parser.md.references[label] = (_unescaped(destination), title and _unescaped(title))
            end = match.end()
        if block[end:].strip():
            blocks.insert(0, block[end:].lstrip("\n"))
        if before.strip():
            blocks.insert(0, before.rstrip("\n"))
        return True


# A backslash escape (of ASCII punctuation) or a character reference, as CommonMark reads them in
# a definition's destination and title: `/files/a\(1\).pdf` is /files/a(1).pdf, `caf&eacute;` café.
_ESCAPE_OR_REFERENCE = re.compile(r"\\([!-/:-@\[-`{-~])|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _unescaped(text: str) -> str:
    return _ESCAPE_OR_REFERENCE.sub(lambda match: match.group(1) if match.group(1) is not None else html.unescape(match.group()), text)


class LabelKey:
    """Looks a reference up by label_key, as CommonMarkReferenceProcessor stores it."""

    def evalId(self, data: str, index: int, text: str) -> tuple[str | None, int, bool]:
        label, end, handled = super().evalId(data, index, text)  # type: ignore[misc]
        return (label_key(label) if label is not None else None), end, handled


class LinearBrackets:
    """getText in linear time. Python-Markdown rescans to the end of the text for every
    `[` (10,000 unmatched brackets took 90 s); here each text's brackets are matched
    once, with a stack, and every later `[` looks its partner up."""

    _matched_text: str | None = None
    _partners: dict[int, int] = {}
    _shift = 0           # add to a position in _matched_text to find it in the text the partners are of
    _valid_from = 0      # positions before this one in _matched_text may differ from that text

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        if data is not self._matched_text:
            # After a link, Python-Markdown asks about a new text: the last one with the link made
            # a placeholder. Where the rest, from this `[` on, is the last text's end, its brackets
            # pair as before, shifted; else they are matched again (a post of 10,000 links to one
            # reference definition took a minute when each was matched again).
            old = self._matched_text or ""
            shift = len(old) - len(data)
            if self._valid_from <= index - 1 + shift < len(old) and data.endswith(old[index - 1 + shift:]):
                self._matched_text, self._shift, self._valid_from = data, self._shift + shift, index - 1
            else:
                self._matched_text, self._partners, self._shift, self._valid_from = data, _match_brackets(data), 0, 0
        elif index - 1 < self._valid_from:
            self._partners, self._shift, self._valid_from = _match_brackets(data), 0, 0
        close = self._partners.get(index - 1 + self._shift)
        close = None if close is None else close - self._shift
        if close is None:
            return data[index:], len(data), False
        return data[index:close], close + 1, True


def _match_brackets(data: str) -> dict[int, int]:
    """Position of each `[` -> position of the `]` that closes it (unmatched ones absent)."""
    partners, opened = {}, []
    for position, char in enumerate(data):
        if char == "[":
            opened.append(position)
        elif char == "]" and opened:
            partners[opened.pop()] = position
    return partners


class LinearReferenceProcessor(LabelKey, LinearBrackets, ReferenceInlineProcessor):
    # A full reference is `[text][label]` with nothing between (CommonMark); Python-Markdown
    # allows a space, so `[[n]] [y]` became one link to y showing "[n]".
    RE_LINK = re.compile(r"\[([^\]]*)\]", re.DOTALL | re.UNICODE)


class LinearShortReferenceProcessor(LabelKey, LinearBrackets, ShortReferenceInlineProcessor):
    pass


class CommonMarkLinkTail(LinearBrackets):
    """getLink for both links and images: CommonMark's destination and title rules."""

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        parsed = parse_link_tail(data, index)
        if parsed is None:
            return "", None, index, False
        destination, title, end = parsed
        if title is not None:
            title = self.unescape(title)
        return self.unescape(destination).strip(), title, end, True


class CommonMarkLinkProcessor(CommonMarkLinkTail, LinkInlineProcessor):
    pass


class PlainAltImageProcessor(CommonMarkLinkTail, ImageInlineProcessor):
    """The alt text goes in as the image's text, so that inline Markdown runs over it;
    AltTextTreeprocessor turns it into the plain-text alt."""

    def handleMatch(self, m, data):
        element, start, end = super().handleMatch(m, data)
        if element is not None:
            del element.attrib["alt"]
            text, _, _ = self.getText(data, m.end(0))
            element.text = text
        return element, start, end


class PlainAltImageReferenceProcessor(LabelKey, LinearBrackets, ImageReferenceInlineProcessor):
    def makeTag(self, href: str, title: str, text: str) -> etree.Element:
        element = super().makeTag(href, title, text)
        del element.attrib["alt"]
        element.text = text
        return element


class PlainAltShortImageReferenceProcessor(ShortImageReferenceInlineProcessor, PlainAltImageReferenceProcessor):
    pass


class AltTextTreeprocessor(Treeprocessor):
    """An image's rendered text -> its alt attribute, as goldmark's nodeToHTMLText: text only."""

    def run(self, root: etree.Element) -> None:
        for image in root.iter("img"):
            if image.get("alt") is None:
                image.set("alt", HTML_PLACEHOLDER_RE.sub(self.entity_or_nothing, "".join(image.itertext())))
                image.text = None
                for child in list(image):
                    image.remove(child)

    def entity_or_nothing(self, match: re.Match) -> str:
        stash = self.md.htmlStash.rawHtmlBlocks
        index = int(match.group(1))
        stashed = str(stash[index]) if index < len(stash) else ""
        return match.group(0) if _ENTITY.fullmatch(stashed) else ""

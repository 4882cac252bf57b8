"""Inline Markdown where CommonMark (goldmark) and Python-Markdown disagree.

Each of these shows in ordinary prose: a backslash before any ASCII punctuation
escapes it (Python-Markdown escapes only some), a backslash at a line's end is a
hard break, code spans keep inner spaces, `<mailto:...>` shows its scheme, bare
`www.` links get https://, and a paragraph's trailing spaces are dropped.
"""
from __future__ import annotations

import re
import string
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import BACKTICK_RE, BacktickInlineProcessor, InlineProcessor, SubstituteTagInlineProcessor
from markdown.postprocessors import Postprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString, code_escape

# CommonMark: a backslash at the end of a line is a hard line break.
_BACKSLASH_BREAK = r"\\\n"
_MAILTO_AUTOLINK = r"<(mailto:[^<> ]+@[^@<> ]+)>"
# goldmark strips a paragraph's trailing spaces; Python-Markdown keeps one.
_TRAILING_SPACE = re.compile(r"[ \t]+(</(?:p|li|dt|dd|td|th|h[1-6])>)")


class InlineExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # CommonMark's ASCII punctuation is exactly string.punctuation (`\"` stays a straight quote).
        md.ESCAPED_CHARS.extend(char for char in string.punctuation if char not in md.ESCAPED_CHARS)
        # Inline patterns run from high priority to low: code spans (190) before anything
        # that could match inside them, and mailto before Python-Markdown's automail (110).
        md.inlinePatterns.register(SubstituteTagInlineProcessor(_BACKSLASH_BREAK, "br"), "runpost_break", 185)
        md.inlinePatterns.register(CommonMarkBacktickProcessor(BACKTICK_RE), "backtick", 190)
        md.inlinePatterns.register(MailtoAutolinkProcessor(_MAILTO_AUTOLINK, md), "runpost_mailto", 111)
        # After 'inline' (20) has made the links, before the typographer (12) changes their text.
        md.treeprocessors.register(HttpsLinkifyTreeprocessor(md), "runpost_linkify", 16)
        # On the finished HTML, once raw_html (30) has put stashed blocks back.
        md.postprocessors.register(TrailingSpacePostprocessor(md), "runpost_trailing_space", 10)


class CommonMarkBacktickProcessor(BacktickInlineProcessor):
    """CommonMark code spans: line ends become spaces and one space is stripped from each
    side only when both sides have one (`` `  x  ` `` keeps " x "); Python-Markdown strips all."""

    def handleMatch(self, m, data):
        element, begin, end = super().handleMatch(m, data)
        if isinstance(element, etree.Element):
            start, stop = self.find_code_spans(m.start(0), data)
            code = data[start:stop].replace("\n", " ")
            if code.startswith(" ") and code.endswith(" ") and code.strip():
                code = code[1:-1]
            element.text = AtomicString(code_escape(code))
        return element, begin, end


class MailtoAutolinkProcessor(InlineProcessor):
    """`<mailto:me@example.com>` shows "mailto:me@example.com", as in CommonMark; automail drops the scheme."""

    def handleMatch(self, m, data):
        element = etree.Element("a")
        element.set("href", m.group(1))
        element.text = AtomicString(m.group(1))
        return element, m.start(0), m.end(0)


class HttpsLinkifyTreeprocessor(Treeprocessor):
    """goldmark's linkify gives bare www. links https://; pymdownx.magiclink gives http://."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter("a"):
            if (element.text or "").startswith("www.") and element.get("href", "") == "http://" + element.text:
                element.set("href", "https://" + element.text)


class TrailingSpacePostprocessor(Postprocessor):
    def run(self, text: str) -> str:
        return _TRAILING_SPACE.sub(r"\1", text)

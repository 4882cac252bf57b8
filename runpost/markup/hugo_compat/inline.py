"""Inline Markdown where CommonMark (goldmark) and Python-Markdown disagree.

Each of these shows in ordinary prose: a backslash before any ASCII punctuation
escapes it (Python-Markdown escapes only some), a backslash at a line's end is a
hard break, code spans keep inner spaces, and a paragraph's trailing spaces are
dropped. (Bare URLs and `<autolinks>`: linkify.py.)
"""
from __future__ import annotations

import re
import string
import xml.etree.ElementTree as etree
from html.entities import html5

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import (BACKTICK_RE, ENTITY_RE, ESCAPE_RE, BacktickInlineProcessor, EscapeInlineProcessor,
                                    HtmlInlineProcessor, SubstituteTagInlineProcessor)
from markdown.postprocessors import Postprocessor
from markdown.util import AtomicString, code_escape

# CommonMark: a backslash at the end of a line is a hard line break.
_BACKSLASH_BREAK = r"\\\n"
# goldmark strips a paragraph's trailing spaces; Python-Markdown keeps one.
_TRAILING_SPACE = re.compile(r"(?<![ \t])[ \t]+(</(?:p|li|dt|dd|td|th|h[1-6])>)")


class AmpersandEscapeProcessor(EscapeInlineProcessor):
    """`\\&copy;` is the text "&copy;": the escaped `&` is stashed as `&amp;`. Python-Markdown put
    the bare `&` back, and its serializer leaves an `&` that starts an entity alone: the page
    showed ©."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[str | None, int, int]:
        if m.group(1) == "&":
            return self.md.htmlStash.store("&amp;"), m.start(0), m.end(0)
        return super().handleMatch(m, data)


class InlineExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # CommonMark's ASCII punctuation is exactly string.punctuation (`\"` stays a straight quote).
        md.ESCAPED_CHARS.extend(char for char in string.punctuation if char not in md.ESCAPED_CHARS)
        # Inline patterns run from high priority to low: code spans (190) before anything
        # that could match inside them, escapes (180) before the backslash break, so that an
        # escaped backslash at a line's end (`C:\\`) is text, not a break.
        md.inlinePatterns.register(AmpersandEscapeProcessor(ESCAPE_RE, md), "escape", 180)
        md.inlinePatterns.register(SubstituteTagInlineProcessor(_BACKSLASH_BREAK, "br"), "runpost_break", 175)
        md.inlinePatterns.register(CommonMarkBacktickProcessor(BACKTICK_RE), "backtick", 190)
        md.inlinePatterns.register(KnownEntityProcessor(ENTITY_RE, md), "entity", 80)
        # On the finished HTML, once raw_html (30) has put stashed blocks back.
        md.postprocessors.register(TrailingSpacePostprocessor(md), "runpost_trailing_space", 10)


class KnownEntityProcessor(HtmlInlineProcessor):
    """`&name;` is an entity only if HTML names one (CommonMark): `&notanentity;` is text, its
    `&` escaped. Python-Markdown passed any name through, and a browser reads the `&not`
    of `&notanentity;` as ¬."""

    def handleMatch(self, m, data):
        name = m.group(1)[1:]
        if not name.startswith("#") and name not in html5:
            # Stashed as written, escaped: the serializer leaves any `&name;` in text alone.
            return self.md.htmlStash.store("&amp;" + name), m.start(0), m.end(0)
        return super().handleMatch(m, data)


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


class TrailingSpacePostprocessor(Postprocessor):
    def run(self, text: str) -> str:
        return _TRAILING_SPACE.sub(r"\1", text)

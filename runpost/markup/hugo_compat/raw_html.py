"""Raw HTML in posts, omitted unless the site allows it, as goldmark's `unsafe` setting decides.

Hugo's goldmark replaces raw HTML with `<!-- raw HTML omitted -->` unless
`markup.goldmark.renderer.unsafe` is on; Python-Markdown always passes it
through. Both modes find raw HTML by CommonMark's rules, not Python-Markdown's:
an HTML block such as `<details>` ends at the first blank line, so Markdown
after it is Markdown (Python-Markdown would take everything up to
`</details>`), and `<https://a b>` or `<<` is text, never a tag.
"""
from __future__ import annotations

import re

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import HtmlInlineProcessor
from markdown.postprocessors import RawHtmlPostprocessor
from markdown.preprocessors import Preprocessor

OMITTED = "<!-- raw HTML omitted -->"
# CommonMark's inline raw HTML (spec 6.6); Python-Markdown's HTML_RE also takes
# `<https://a b>` or `<a b c>` for a tag, where goldmark leaves them as text.
_ATTRIBUTE = r"""(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)"""
_INLINE_HTML = "(?<!<)(" + "|".join([
    r"<[A-Za-z][A-Za-z0-9-]*" + _ATTRIBUTE + r"*\s*/?>",        # open tag
    r"</[A-Za-z][A-Za-z0-9-]*\s*>",                            # closing tag
    r"<!--(?:(?!<!--|-->).)*?-->",                              # comment
    r"<\?.*?\?>",                                              # processing instruction
    r"<![A-Za-z]+\s[^>]*>",                                     # declaration
    r"<!\[CDATA\[.*?\]\]>",                                    # CDATA
]) + ")"


class RawHtmlExtension(Extension):
    def __init__(self, omit: bool):
        super().__init__()
        self.omit = omit

    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Python-Markdown's own "html_block" and "html", replaced in place.
        md.preprocessors.register(HtmlBlockPreprocessor(md, self.omit), "html_block", 20)
        md.postprocessors.register(HtmlBlockPostprocessor(md), "raw_html", 30)
        if self.omit:
            md.inlinePatterns.register(OmitHtmlInlineProcessor(_INLINE_HTML, md), "html", 90)
        else:
            md.inlinePatterns.register(HtmlInlineProcessor(_INLINE_HTML, md), "html", 90)


# CommonMark's HTML block starts (spec 4.6), each with the line that ends it;
# None: the block ends before the next blank line.
_BLOCK_NAMES = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|"
    "dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|"
    "hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|"
    "section|source|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul")
_HTML_BLOCK_STARTS = [
    (re.compile(r"<(?:script|pre|style|textarea)(?:\s|>|$)", re.I), re.compile(r"</(?:script|pre|style|textarea)>", re.I)),
    (re.compile(r"<!--"), re.compile(r"-->")),
    (re.compile(r"<\?"), re.compile(r"\?>")),
    (re.compile(r"<![A-Za-z]"), re.compile(r">")),
    (re.compile(r"<!\[CDATA\["), re.compile(r"\]\]>")),
    (re.compile(rf"</?(?:{_BLOCK_NAMES})(?:\s|/?>|$)", re.I), None),
]
# Any other complete tag alone on its line starts a block too, but cannot interrupt a paragraph.
_LONE_TAG = re.compile(r"(?:<[A-Za-z][A-Za-z0-9-]*" + _ATTRIBUTE + r"*\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>)\s*$")


class HtmlBlockPreprocessor(Preprocessor):
    """Top-level raw HTML blocks, found by CommonMark's rules -> the stash (or an omitted comment)."""

    def __init__(self, md: python_markdown.Markdown, omit: bool):
        super().__init__(md)
        self.omit = omit

    def run(self, lines: list[str]) -> list[str]:
        output: list[str] = []
        number, in_paragraph = 0, False
        while number < len(lines):
            end = self.block_end(lines, number, in_paragraph)
            if end is None:
                line = lines[number]
                # Indented code (4+ spaces) cannot start a paragraph, but it can continue one.
                in_paragraph = bool(line.strip()) and (in_paragraph or not line.startswith("    "))
                output.append(line)
                number += 1
                continue
            html = "\n".join(lines[number:end])
            if self.omit:
                # goldmark omits a block's closing line (`-->` on a later line) separately: two comments.
                html = OMITTED + ("\n" + OMITTED if self.has_closure(lines, number, end) else "")
            output += ["", self.md.htmlStash.store(HtmlBlock(html)), ""]
            number, in_paragraph = end, False
        return output

    @staticmethod
    def has_closure(lines: list[str], number: int, end: int) -> bool:
        """Whether the block lines[number:end] ends on a later line than its first with its end mark."""
        first = lines[number].lstrip(" ")
        for start, stop in _HTML_BLOCK_STARTS:
            if start.match(first):
                return stop is not None and end - 1 > number and bool(stop.search(lines[end - 1]))
        return False

    @staticmethod
    def block_end(lines: list[str], number: int, in_paragraph: bool) -> int | None:
        """The line after the HTML block that starts at lines[number], or None if none starts there."""
        line = lines[number]
        if len(line) - len(line.lstrip(" ")) > 3:
            return None
        line = line.lstrip(" ")
        for start, end in _HTML_BLOCK_STARTS:
            if start.match(line):
                break
        else:
            if in_paragraph or not _LONE_TAG.match(line):
                return None
            end = None
        stop = number
        if end is None:
            while stop < len(lines) and lines[stop].strip():
                stop += 1
            return stop
        while stop < len(lines) and not end.search(lines[stop]):
            stop += 1
        return min(stop + 1, len(lines))


class HtmlBlock(str):
    """An HTML block found by CommonMark's rules, as stored in the stash."""


class HtmlBlockPostprocessor(RawHtmlPostprocessor):
    """Python-Markdown's raw_html postprocessor, which unwraps a stashed block from its `<p>` only
    if it starts with a block-level tag; an HTML block of CommonMark's type 7 (a line that is one
    `<img>` or `<br>`, alone) is a block too, as in goldmark: no `<p>` around it."""

    def stash_to_string(self, text: str) -> str:
        return text if isinstance(text, HtmlBlock) else str(text)

    def isblocklevel(self, html: str) -> bool:
        return isinstance(html, HtmlBlock) or super().isblocklevel(html)


class OmitHtmlInlineProcessor(HtmlInlineProcessor):
    """Inline HTML tags and comments -> `<!-- raw HTML omitted -->`."""

    def handleMatch(self, m, data):
        return self.md.htmlStash.store(OMITTED), m.start(0), m.end(0)

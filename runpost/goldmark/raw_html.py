"""Raw HTML in posts, omitted unless the site allows it, as goldmark's `unsafe` setting decides.

Hugo's goldmark replaces raw HTML with `<!-- raw HTML omitted -->` unless
`markup.goldmark.renderer.unsafe` is on; Python-Markdown always passes it
through. With `raw_html` on, only the inline rule changes: goldmark reads `<<`
as the typographer's «, never as the start of a tag.
"""
from __future__ import annotations

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import HTML_RE, HtmlInlineProcessor
from markdown.preprocessors import HtmlBlockPreprocessor

OMITTED = "<!-- raw HTML omitted -->"
_INLINE_HTML = r"(?<!<)" + HTML_RE


class RawHtmlExtension(Extension):
    def __init__(self, omit: bool):
        super().__init__()
        self.omit = omit

    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Python-Markdown's own "html_block" and "html", replaced in place.
        if self.omit:
            md.preprocessors.register(OmitHtmlBlockPreprocessor(md), "html_block", 20)
            md.inlinePatterns.register(OmitHtmlInlineProcessor(_INLINE_HTML, md), "html", 90)
        else:
            md.inlinePatterns.register(HtmlInlineProcessor(_INLINE_HTML, md), "html", 90)


class OmitHtmlBlockPreprocessor(HtmlBlockPreprocessor):
    """Raw HTML blocks -> `<!-- raw HTML omitted -->`."""

    def run(self, lines: list[str]) -> list[str]:
        stash = self.md.htmlStash.rawHtmlBlocks
        before = len(stash)
        result = super().run(lines)
        for index in range(before, len(stash)):
            stash[index] = OMITTED
        return result


class OmitHtmlInlineProcessor(HtmlInlineProcessor):
    """Inline HTML tags and comments -> `<!-- raw HTML omitted -->`."""

    def handleMatch(self, m, data):
        return self.md.htmlStash.store(OMITTED), m.start(0), m.end(0)

"""body -> HTML with Python-Markdown, shaped like Hugo's goldmark output.

Placeholder tokens (markup/placeholders.py) are plain letters and digits, so every
Markdown rule leaves them alone; `site/fragments.py` swaps them for HTML later. A
token alone in a paragraph stands for a block (a figure, a video), so its
`<p>` is dropped, as Hugo does for its own shortcode placeholders.

Python-Markdown and pymdown-extensions do the Markdown; the extensions in
`hugo_compat/` only make it agree with goldmark where Hugo users would notice.
`highlight_code` (Chroma-shaped code) and `heading_id` are also site/fragments.py's,
for the highlight shortcode, cells, and headings that hold shortcodes.
"""
from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import Any

import markdown as python_markdown

from ..config import Config
from .hugo_compat.blockquotes import BlockQuoteExtension
from .codeblocks import fence_language
from .hugo_compat.fences import FencedCodeExtension
from .hugo_compat.footnotes import FootnoteExtension, LinearFootnotes
from .hugo_compat.headings import HeadingExtension, heading_id, resolve_heading_ids
from .hugo_compat.highlighting import highlight_code, prepare_lexers
from .hugo_compat.inline import InlineExtension
from .hugo_compat.links import LinkExtension
from .hugo_compat.linkify import LinkifyExtension
from .hugo_compat.lists import ListExtension
from .hugo_compat.raw_html import RawHtmlExtension
from .hugo_compat.tables import TableExtension
from .hugo_compat.typographer import TypographerExtension
from .inline_gate import GatedInlineExtension
from ..content.scan import find_code_blocks
from .placeholders import SUMMARY_DIVIDER_TOKEN, divider_token
from ..post import Post
from .placeholders import call_tokens, inline_tokens, unwrap_block_tokens

__all__ = ["render_markdown", "markdown_to_html", "highlight_code", "heading_id"]

# Hugo's summary divider. It is raw HTML, which the raw-HTML policy would
# replace, so it crosses the conversion as a token and comes out as itself;
# site/views.py splits the summary there and removes it from the page.
SUMMARY_DIVIDER = "<!--more-->"


def render_markdown(post: Post, config: Config) -> Post:
    """post.body (with placeholders) -> post.html (placeholders intact)."""
    token = divider_token(post.body)     # never text the writer typed
    body = _mark_summary_divider(post.body, token)
    # Heading ids stay provisional until the site stage has filled the placeholders.
    html = markdown_to_html(body, raw_html=config.raw_html, final_ids=False, inline_tokens=inline_tokens(post.shortcodes),
                            tokens=call_tokens(post.shortcodes, post.cells))
    if body is not post.body:
        html = re.sub(rf"<p>\s*{token}\s*</p>|{token}", SUMMARY_DIVIDER, html, count=1)
    return dataclasses.replace(post, html=html)


def _mark_summary_divider(body: str, token: str = SUMMARY_DIVIDER_TOKEN) -> str:
    """The first `<!--more-->` outside code, as a token.

    On a line of its own, at its start, it is an HTML block, as in goldmark: it ends the paragraph,
    quote or list above it. The token is text, so it is set apart by blank lines; else `Intro.` + divider +
    `---` was read as a heading and the paragraphs on either side as one. Not under a line of
    raw HTML, where it is part of that HTML block."""
    if SUMMARY_DIVIDER not in body:
        return body
    position = 0
    code = [(block.start, block.end) for block in find_code_blocks(body)]
    while (position := body.find(SUMMARY_DIVIDER, position)) >= 0:
        if not any(start <= position < end for start, end in code):
            end = position + len(SUMMARY_DIVIDER)
            line_start = body.rfind("\n", 0, position) + 1
            line_end = len(body) if (found := body.find("\n", end)) < 0 else found
            above = body[body.rfind("\n", 0, max(line_start - 1, 0)) + 1:max(line_start - 1, 0)]
            # At the line's start only: indented, it continues a list item or a definition (as in goldmark).
            alone = line_start == position and not body[end:line_end].strip()
            if alone and above.strip() and not above.lstrip().startswith("<"):
                return body[:line_start] + "\n" + token + "\n\n" + body[line_end + 1:]
            return body[:position] + token + body[end:]
        position += len(SUMMARY_DIVIDER)
    return body


# The control characters HTML forbids in a document: C0 but tab, LF, FF and CR; DEL and C1.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    return _CONTROLS.sub("\ufffd", text) if _CONTROLS.search(text) else text


def inner_markdown_to_html(shortcode: Any, raw_html: bool) -> str:
    """A `{{% %}}` call's inner text as HTML, its calls' tokens left in it: inline when written inline
    (`{{% mark %}}*x*{{% /mark %}}`), blocks otherwise. The renderer (fragments.py) shows it; the
    check that every executable block is shown (cells.py) reads it."""
    return markdown_to_html(shortcode.inner, raw_html, inline="\n" not in shortcode.inner,
                            inline_tokens=inline_tokens(shortcode.children), tokens=call_tokens(shortcode.children))


def markdown_to_html(text: str, raw_html: bool = False, inline: bool = False, final_ids: bool = True,
                     inline_tokens: frozenset[str] = frozenset(), tokens: frozenset[str] | None = None) -> str:
    """Markdown -> HTML; `inline` drops the `<p>` around a single paragraph (Hugo's markdownify).
    A placeholder alone in a paragraph stands for a block, and loses its `<p>`, but `inline_tokens`
    (and, with `tokens`, the calls' own tokens, text only looking like one: unwrap_block_tokens).

    With `final_ids`, heading ids are made now (the text holds no placeholder that
    could add to them); else they are left for `resolve_heading_ids`.
    """
    converter = _converter(raw_html)
    converter.reset()
    # CommonMark replaces U+0000 with U+FFFD; HTML allows no control character but whitespace
    # (a page with one is invalid): each becomes U+FFFD.
    rendered = unwrap_block_tokens(converter.convert(without_controls(text)), inline_tokens, tokens)
    if final_ids:
        rendered = resolve_heading_ids(rendered, lambda token: token)
    if inline:
        rendered = _unwrap_paragraph(rendered)
    return rendered


_SAMPLE = """# A heading

Some *emphasis*, **strong**, `code`, a [link](/x/) and ~~struck~~ text.[^1]

> A quote with a list:
>
> - one
> - two

1. first
2. second

| a | b |
|---|---|
| 1 | 2 |

```python
print("hello")
```

[^1]: A note.
"""


def warm_up(raw_html: bool) -> None:
    """Build the converter and compile its expressions in this process, as a first post would.

    serve calls it after its first build: that build converted every post in worker
    processes, so the writer's first edit would otherwise pay for it (0.25 s)."""
    markdown_to_html(_SAMPLE, raw_html=raw_html)


def prepare_workers(posts: list[Post], raw_html: bool) -> None:
    """Before worker processes are forked to convert and render these posts: the converter and
    the lexers of the languages their code is in, made once here instead of once per worker."""
    warm_up(raw_html)
    prepare_lexers(set().union(*(_code_languages(post) for post in posts)))


def _code_languages(post: Post) -> set[str]:
    """The languages of a post's fences (as its scan found them), highlight shortcodes and cells."""
    fenced = {fence_language(block.info) for block in post.scan.blocks if block.fenced} if post.scan else set()
    pending, shortcodes = list(post.shortcodes), set()
    while pending:
        shortcode = pending.pop()
        pending.extend(shortcode.children)
        if shortcode.name == "highlight" and shortcode.positional:
            shortcodes.add(shortcode.positional[0])
    return fenced | shortcodes | {cell.language for cell in post.cells}


def _unwrap_paragraph(rendered: str) -> str:
    match = re.fullmatch(r"<p>(.*)</p>", rendered.strip(), re.S)
    if match and "<p>" not in match.group(1):
        return match.group(1)
    return rendered


@lru_cache(maxsize=2)
def _converter(raw_html: bool) -> python_markdown.Markdown:
    # Building a Markdown instance costs more than converting a post; reset() between uses.
    return python_markdown.Markdown(
        extensions=_extensions(raw_html),
        extension_configs={
            "pymdownx.tilde": {"subscript": False},
            "pymdownx.magiclink": {"hide_protocol": False},
        },
        output_format="html",
    )


def _extensions(raw_html: bool) -> list:
    # Python-Markdown runs processors by priority, not by this list; each goldmark module
    # says where its own sit. The list order matters twice: the goldmark extensions replace
    # processors by name ("table", "backtick", "html"...), so they come after whatever
    # registered those; and processors of equal priority run in the order registered.
    return [
        "tables", LinearFootnotes(BACKLINK_TEXT="&#x21a9;&#xfe0e;", BACKLINK_TITLE=""), "def_list", "sane_lists",
        "pymdownx.betterem", "pymdownx.tilde", "pymdownx.tasklist", "pymdownx.magiclink",
        InlineExtension(),
        LinkExtension(),
        LinkifyExtension(),
        FencedCodeExtension(),
        ListExtension(),
        BlockQuoteExtension(),
        RawHtmlExtension(omit=not raw_html),
        HeadingExtension(),
        TableExtension(),
        FootnoteExtension(),
        TypographerExtension(),
        GatedInlineExtension(),      # last: it tests for every inline pattern the others registered
    ]

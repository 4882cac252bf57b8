"""body -> HTML with Python-Markdown, shaped like Hugo's goldmark output.

Placeholder tokens from shortcodes.py are plain letters and digits, so every
Markdown rule leaves them alone; `render.py` swaps them for HTML later. A
token alone in a paragraph stands for a block (a figure, a video), so its
`<p>` is dropped, as Hugo does for its own shortcode placeholders.

Python-Markdown and pymdown-extensions do the Markdown; the small classes
here only make it agree with goldmark where Hugo users would notice: code
blocks in Chroma's markup, raw HTML omitted, GitHub-style heading ids with
Hugo's `-1` suffixes, CommonMark's list rules, footnote markup.
"""
from __future__ import annotations

import dataclasses
import html
import re
import unicodedata
import xml.etree.ElementTree as etree
from functools import lru_cache

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.extensions.toc import render_inner_html
from markdown.inlinepatterns import HTML_RE, HtmlInlineProcessor, SubstituteTagInlineProcessor
from markdown.preprocessors import HtmlBlockPreprocessor, Preprocessor
from markdown.treeprocessors import Treeprocessor
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from .config import Config
from .post import Post
from .shortcodes import TOKEN_PATTERN, find_code_blocks, parse_fence_info

OMITTED = "<!-- raw HTML omitted -->"
# goldmark reads `<<` as the typographer's «, never as the start of a tag.
_INLINE_HTML = r"(?<!<)" + HTML_RE
# CommonMark: a backslash at the end of a line is a hard line break.
_BACKSLASH_BREAK = r"\\\n"
# goldmark strips a paragraph's trailing spaces; Python-Markdown keeps one.
_TRAILING_SPACE = re.compile(r"[ \t]+(</(?:p|li|dt|dd|td|th|h[1-6])>)")
_BLOCK_TOKEN = re.compile(r"<p>\s*(" + TOKEN_PATTERN.pattern + r")\s*</p>")


def render_markdown(post: Post, config: Config) -> Post:
    """post.body (with placeholders) -> post.html (placeholders intact)."""
    return dataclasses.replace(post, html=markdown_to_html(post.body, raw_html=config.raw_html))


def markdown_to_html(text: str, raw_html: bool = False, inline: bool = False) -> str:
    """Markdown -> HTML; `inline` drops the `<p>` around a single paragraph (Hugo's markdownify)."""
    converter = _converter(raw_html)
    converter.reset()
    rendered = converter.convert(text)
    rendered = _BLOCK_TOKEN.sub(r"\1", rendered)
    rendered = _TRAILING_SPACE.sub(r"\1", rendered)
    if inline:
        rendered = _unwrap_paragraph(rendered)
    return rendered


def _unwrap_paragraph(rendered: str) -> str:
    match = re.fullmatch(r"<p>(.*)</p>", rendered.strip(), re.S)
    if match and "<p>" not in match.group(1):
        return match.group(1)
    return rendered


@lru_cache(maxsize=2)
def _converter(raw_html: bool) -> python_markdown.Markdown:
    # Building a Markdown instance costs more than converting a post; reset() between uses.
    return python_markdown.Markdown(
        extensions=[
            "tables", "footnotes", "def_list", "sane_lists", "smarty",
            "pymdownx.betterem", "pymdownx.tilde", "pymdownx.tasklist", "pymdownx.magiclink",
            HugoExtension(raw_html=raw_html),
        ],
        extension_configs={
            "smarty": {"smart_angled_quotes": True},
            "pymdownx.tilde": {"subscript": False},
            "footnotes": {"BACKLINK_TEXT": "&#x21a9;&#xfe0e;", "BACKLINK_TITLE": ""},
            "pymdownx.magiclink": {"hide_protocol": False},
        },
        output_format="html",
    )


class HugoExtension(Extension):
    """The goldmark-parity pieces, registered around Python-Markdown's own processors."""

    def __init__(self, raw_html: bool = False):
        super().__init__()
        self.raw_html = raw_html

    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Fences go first (before raw HTML is taken out) so HTML in code stays code.
        md.preprocessors.register(FencedCodePreprocessor(md), "runpost_fences", 28)
        md.preprocessors.register(CommonMarkListPreprocessor(md), "runpost_lists", 27)
        md.inlinePatterns.register(SubstituteTagInlineProcessor(_BACKSLASH_BREAK, "br"), "runpost_break", 185)
        if self.raw_html:
            md.inlinePatterns.register(HtmlInlineProcessor(_INLINE_HTML, md), "html", 90)
        else:
            md.preprocessors.register(OmitHtmlBlockPreprocessor(md), "html_block", 20)
            md.inlinePatterns.register(OmitHtmlInlineProcessor(_INLINE_HTML, md), "html", 90)
        # After 'inline' (20) so heading text is final; before 'prettify' (10).
        md.treeprocessors.register(HeadingIdTreeprocessor(md), "runpost_heading_ids", 15)
        md.treeprocessors.register(HugoMarkupTreeprocessor(md), "runpost_hugo_markup", 14)


# ---------------------------------------------------------------- code

class FencedCodePreprocessor(Preprocessor):
    """Fenced code -> Chroma-shaped HTML in the stash.

    Written here rather than with fenced_code/superfences because the block
    boundaries must be exactly those shortcodes.py treats as code, and Hugo's
    info strings (`go {linenos=table}`) and markup are not what they produce.
    """

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        pieces, position = [], 0
        for block in find_code_blocks(text):
            if not block.fenced:
                continue
            language, options = _fence_options(block.info)
            code = _dedent(text[block.code_start:block.code_end], len(block.indent))
            if block.code_end > block.code_start or code:
                code += "\n"       # goldmark keeps the newline that ends the last code line
            placeholder = self.md.htmlStash.store(highlight_code(code, language, options, fenced=True))
            pieces += [text[position:block.start], "\n", block.indent, placeholder, "\n\n"]
            position = block.end
        pieces.append(text[position:])
        return "".join(pieces).split("\n")


def _fence_options(info: str) -> tuple[str, dict[str, str]]:
    try:
        return parse_fence_info(info)
    except ValueError:         # shortcodes.py reported it already; show the code plainly
        return info.split()[0] if info.split() else "", {}


def _dedent(code: str, width: int) -> str:
    if not width:
        return code
    return "\n".join(line[width:] if line[:width].isspace() else line.lstrip() for line in code.split("\n"))


def highlight_code(code: str, language: str, options: dict[str, str] | None = None, fenced: bool = False) -> str:
    """Code -> HTML in Chroma's markup (Hugo's), with Pygments token classes.

    options: linenos (true|table|inline|false), hl_lines ("2 4-5"), linenostart,
    anchorlinenos, lineanchors. Fences with no or an unknown language are shown
    unhighlighted, as Hugo does; the highlight shortcode falls back to plain text.
    """
    options = options or {}
    lexer = _lexer(language)
    if lexer is None and fenced:
        return _plain_block(code, language)
    lines = _highlighted_lines(code, lexer or get_lexer_by_name("text", stripnl=False, ensurenl=True))
    return _chroma_html(lines, language or "text", _display(options))


@dataclasses.dataclass(frozen=True)
class _Display:
    linenos: str              # "", "table" or "inline"
    marked: frozenset[int]    # 1-based positions in the code
    start: int
    anchors: bool
    prefix: str


def _display(options: dict[str, str]) -> _Display:
    linenos = options.get("linenos", "false").strip().lower()
    linenos = {"true": "table", "table": "table", "inline": "inline"}.get(linenos, "")
    try:
        start = int(options.get("linenostart", "1"))
    except ValueError:
        start = 1
    anchors = options.get("anchorlinenos", "false").lower() == "true"
    return _Display(linenos, _marked_lines(options.get("hl_lines", "")), start, anchors,
                    options.get("lineanchors", ""))


def _marked_lines(spec: str) -> frozenset[int]:
    marked: set[int] = set()
    for part in re.split(r"[\s,]+", spec.strip("[] ")):
        bounds = part.strip("\"'").split("-")
        if all(bound.isdigit() for bound in bounds) and bounds[0]:
            marked.update(range(int(bounds[0]), int(bounds[-1]) + 1))
    return frozenset(marked)


def _lexer(language: str):
    if not language:
        return None
    try:
        return get_lexer_by_name(language.lower(), stripnl=False, ensurenl=True)
    except ClassNotFound:
        return None


def _highlighted_lines(code: str, lexer) -> list[str]:
    """One HTML string per code line, each ending in "\n" except a last line the code did not end."""
    lines: list[list[list[str]]] = [[]]        # per line: [css class, text] runs
    for token_type, value in lexer.get_tokens(code):
        css = _css_class(token_type)
        for number, part in enumerate(value.split("\n")):
            if number:
                lines.append([])
            if not part:
                continue
            if lines[-1] and lines[-1][-1][0] == css:
                lines[-1][-1][1] += part        # Chroma coalesces neighbouring tokens of one class
            else:
                lines[-1].append([css, part])
    lines.pop()                # the lexer always ends the text with "\n"
    count = max(1, len(code.splitlines()))
    lines = (lines + [[]] * count)[:count]
    ends = ["\n"] * (count - 1) + ["\n" if code.endswith("\n") else ""]
    return ["".join(_run_html(css, text) for css, text in runs) + end for runs, end in zip(lines, ends)]


def _css_class(token_type) -> str:
    while token_type not in STANDARD_TYPES:
        token_type = token_type.parent
    return STANDARD_TYPES[token_type]


def _run_html(css: str, text: str) -> str:
    escaped = _escape(text)
    return f'<span class="{css}">{escaped}</span>' if css else escaped


def _escape(text: str) -> str:
    # Go's html/template spelling, as in Hugo's output.
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;"))


def _chroma_html(lines: list[str], language: str, display: _Display) -> str:
    code_open = f'<code class="language-{html.escape(language)}" data-lang="{html.escape(language)}">'
    numbers = range(display.start, display.start + len(lines))
    code_lines = []
    for position, (number, line) in enumerate(zip(numbers, lines), 1):
        css = "line hl" if position in display.marked else "line"
        number_html = _line_number(number, display, "ln", "") if display.linenos == "inline" else ""
        text, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        code_lines.append(f'<span class="{css}">{number_html}<span class="cl">{text}{newline}</span></span>')
    code = f'<pre tabindex="0" class="chroma">{code_open}{"".join(code_lines)}</code></pre>'
    if display.linenos != "table":
        return f'<div class="highlight">{code}</div>'
    gutter = "".join(_gutter_line(number, position in display.marked, display)
                     for position, number in enumerate(numbers, 1))
    return ('<div class="highlight"><div class="chroma">\n<table class="lntable"><tr><td class="lntd">\n'
            f'<pre tabindex="0" class="chroma"><code>{gutter}</code></pre></td>\n<td class="lntd">\n'
            f'{code}</td></tr></table>\n</div>\n</div>')


def _gutter_line(number: int, marked: bool, display: _Display) -> str:
    line = _line_number(number, display, "lnt", "\n")
    return f'<span class="hl">{line}</span>' if marked else line


def _line_number(number: int, display: _Display, css: str, end: str) -> str:
    anchor = f"{display.prefix}-{number}" if display.prefix else ""
    id_attribute = f' id="{html.escape(anchor)}"' if anchor else ""
    text = f'<a class="lnlinks" href="#{html.escape(anchor)}">{number}</a>' if display.anchors and anchor else str(number)
    return f'<span class="{css}"{id_attribute}>{text}{end}</span>'


def _plain_block(code: str, language: str) -> str:
    attributes = f' class="language-{html.escape(language)}" data-lang="{html.escape(language)}"' if language else ""
    return f'<pre tabindex="0"><code{attributes}>{html.escape(code, quote=False)}</code></pre>'


# ---------------------------------------------------------------- lists

_LIST_MARKER = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])(?P<space> +|$)")


class CommonMarkListPreprocessor(Preprocessor):
    """Make Python-Markdown read lists as goldmark (CommonMark) does.

    Python-Markdown needs a blank line before a list and four spaces per
    nesting level; CommonMark lets a bullet list interrupt a paragraph and
    nests at the parent's content column (often two spaces). The seed article
    relies on both.
    """

    def run(self, lines: list[str]) -> list[str]:
        output: list[str] = []
        levels: list[tuple[int, int]] = []     # (source marker indent, source content column)
        previous = ""
        for line in lines:
            marker = _LIST_MARKER.match(line)
            if not line.strip():
                output.append(line)
                previous = line
                continue
            if marker:
                levels = self.open_item(levels, marker)
                if previous.strip() and not levels[:-1] and not _LIST_MARKER.match(previous) and not output[-1].startswith(" "):
                    output.append("")           # a list may interrupt a paragraph
                depth = len(levels) - 1
                output.append(" " * (4 * depth) + line.lstrip(" "))
            elif levels and line.startswith(" "):
                output.append(self.continuation(levels, line))
            else:
                if not previous.strip():
                    levels = []
                output.append(line)
            previous = line
        return output

    def open_item(self, levels, marker) -> list[tuple[int, int]]:
        indent = len(marker["indent"])
        content = indent + len(marker["marker"]) + max(1, len(marker["space"]))
        while levels and indent < levels[-1][1]:
            levels = levels[:-1]
        return levels + [(indent, content)]

    def continuation(self, levels, line: str) -> str:
        indent = len(line) - len(line.lstrip(" "))
        depth = len(levels)
        while depth and indent < levels[depth - 1][1]:
            depth -= 1
        if not depth:
            return line
        extra = indent - levels[depth - 1][1]
        return " " * (4 * depth + extra) + line.lstrip(" ")


# ---------------------------------------------------------------- raw HTML

class OmitHtmlBlockPreprocessor(HtmlBlockPreprocessor):
    """Raw HTML blocks -> `<!-- raw HTML omitted -->`, as goldmark does without `unsafe`."""

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


# ---------------------------------------------------------------- headings

class HeadingIdTreeprocessor(Treeprocessor):
    """GitHub-style ids as Hugo makes them: "Café & Crème" -> "café--crème"; repeats get -1, -2."""

    def run(self, root: etree.Element) -> None:
        seen: dict[str, int] = {}
        for element in root.iter():
            if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6") and "id" not in element.attrib:
                text = html.unescape(re.sub(r"<[^>]*>", "", render_inner_html(element, self.md)))
                element.set("id", _unique(heading_id(text), seen))


def heading_id(text: str) -> str:
    """Hugo's `github` autoHeadingIDType: letters, digits and _ lowercased; space and - become -."""
    kept = []
    for char in text.strip():
        if char in " -":
            kept.append("-")
        elif char == "_" or unicodedata.category(char)[0] in "LN" and unicodedata.category(char) != "No":
            kept.append(char.lower())
    return "".join(kept) or "heading"


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


# ---------------------------------------------------------------- small markup differences

class HugoMarkupTreeprocessor(Treeprocessor):
    """Footnotes numbered and marked up as goldmark does; linkified www. links use https."""

    def run(self, root: etree.Element) -> None:
        numbers = self.footnote_numbers(root)
        for element in root.iter():
            self.fix_footnote(element, numbers)
            self.fix_linkify(element)

    def footnote_numbers(self, root: etree.Element) -> dict[str, str]:
        numbers: dict[str, str] = {}
        for element in root.iter("a"):
            href = element.get("href", "")
            if element.get("class") == "footnote-ref" and href.startswith("#fn:"):
                numbers.setdefault(href[4:], str(len(numbers) + 1))
        return numbers

    def fix_footnote(self, element: etree.Element, numbers: dict[str, str]) -> None:
        css = element.get("class", "")
        if element.tag == "div" and css == "footnote":
            element.set("class", "footnotes")
            element.set("role", "doc-endnotes")
        for attribute, prefix in (("id", "fnref:"), ("id", "fn:"), ("href", "#fn:"), ("href", "#fnref:")):
            value = element.get(attribute, "")
            if value.startswith(prefix) and value[len(prefix):] in numbers:
                element.set(attribute, prefix + numbers[value[len(prefix):]])
        if css == "footnote-ref":
            element.set("role", "doc-noteref")
        if css == "footnote-backref":
            element.attrib.pop("title", None)
            element.set("role", "doc-backlink")

    def fix_linkify(self, element: etree.Element) -> None:
        # goldmark's linkify gives bare www. links https://; magiclink gives http://.
        if element.tag == "a" and (element.text or "").startswith("www.") and \
                element.get("href", "") == "http://" + element.text:
            element.set("href", "https://" + element.text)

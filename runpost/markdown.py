"""body -> HTML with Python-Markdown, shaped like Hugo's goldmark output.

Placeholder tokens from shortcodes.py are plain letters and digits, so every
Markdown rule leaves them alone; `render.py` swaps them for HTML later. A
token alone in a paragraph stands for a block (a figure, a video), so its
`<p>` is dropped, as Hugo does for its own shortcode placeholders.

Python-Markdown and pymdown-extensions do the Markdown; the small classes
here only make it agree with goldmark where Hugo users would notice: code
blocks in Chroma's markup, raw HTML omitted, goldmark's heading ids (from the
source line, `{#id}`), CommonMark's list rules (tight/loose as a whole),
goldmark's typographer, footnote markup. tests/hugo/ compares with real Hugo.
"""
from __future__ import annotations

import dataclasses
import html
import re
import unicodedata
import xml.etree.ElementTree as etree
from functools import lru_cache

import markdown as python_markdown
from markdown.blockprocessors import HashHeaderProcessor
from markdown.extensions import Extension
from markdown.extensions.attr_list import get_attrs_and_remainder
from markdown.extensions.tables import TableProcessor
from markdown.inlinepatterns import BACKTICK_RE, HTML_RE, BacktickInlineProcessor, InlineProcessor, HtmlInlineProcessor, SubstituteTagInlineProcessor
from markdown.preprocessors import HtmlBlockPreprocessor, NormalizeWhitespace, Preprocessor
from markdown.util import ETX, STX, AtomicString, code_escape
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
    rendered = _BLOCK_TOKEN.sub(r"\1", rendered).replace(_LIST_BREAK, "")
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
            "tables", "footnotes", "def_list", "sane_lists",
            "pymdownx.betterem", "pymdownx.tilde", "pymdownx.tasklist", "pymdownx.magiclink",
            HugoExtension(raw_html=raw_html),
        ],
        extension_configs={
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
        # CommonMark: a backslash escapes any ASCII punctuation (`\"` stays a straight quote).
        md.ESCAPED_CHARS.extend(char for char in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" if char not in md.ESCAPED_CHARS)
        # Fences go first, before Python-Markdown expands tabs (goldmark keeps them in code)
        # and before raw HTML is taken out, so HTML in code stays code.
        md.preprocessors.register(FencedCodePreprocessor(md), "runpost_fences", 31)
        md.preprocessors.register(KeepPlaceholdersNormalizeWhitespace(md), "normalize_whitespace", 30)
        md.preprocessors.register(CommonMarkListPreprocessor(md), "runpost_lists", 27)
        md.inlinePatterns.register(SubstituteTagInlineProcessor(_BACKSLASH_BREAK, "br"), "runpost_break", 185)
        md.inlinePatterns.register(CommonMarkBacktickProcessor(BACKTICK_RE), "backtick", 190)
        md.inlinePatterns.register(MailtoAutolinkProcessor(_MAILTO_AUTOLINK, md), "runpost_mailto", 111)
        if self.raw_html:
            md.inlinePatterns.register(HtmlInlineProcessor(_INLINE_HTML, md), "html", 90)
        else:
            md.preprocessors.register(OmitHtmlBlockPreprocessor(md), "html_block", 20)
            md.inlinePatterns.register(OmitHtmlInlineProcessor(_INLINE_HTML, md), "html", 90)
        md.parser.blockprocessors.register(CommonMarkHashHeaderProcessor(md.parser), "hashheader", 70)
        md.parser.blockprocessors.register(GfmTableProcessor(md.parser, {"use_align_attribute": False}), "table", 75)
        # Before 'inline' (20): ids come from the heading's source text, as goldmark's do.
        md.treeprocessors.register(HeadingIdTreeprocessor(md), "runpost_heading_ids", 25)
        md.treeprocessors.register(HugoMarkupTreeprocessor(md), "runpost_hugo_markup", 14)
        md.treeprocessors.register(LooseListTreeprocessor(md), "runpost_loose_lists", 13)
        md.treeprocessors.register(TypographerTreeprocessor(md), "runpost_typographer", 12)


# ---------------------------------------------------------------- code

class FencedCodePreprocessor(Preprocessor):
    """Fenced code -> Chroma-shaped HTML in the stash.

    Written here rather than with fenced_code/superfences because the block
    boundaries must be exactly those shortcodes.py treats as code, and Hugo's
    info strings (`go {linenos=table}`) and markup are not what they produce.
    """

    def run(self, lines: list[str]) -> list[str]:
        # normalize_whitespace's first steps, done here so that our stash placeholders survive it.
        text = "\n".join(lines).replace(STX, "").replace(ETX, "").replace("\r\n", "\n").replace("\r", "\n")
        pieces, position = [], 0
        ordinal = 0
        for block in find_code_blocks(text):
            if not block.fenced:
                continue
            language, options = _fence_options(block.info)
            # Hugo numbers a page's fenced blocks; anchorlinenos ids default to "hl-<ordinal>-<line>".
            options.setdefault("lineanchors", f"hl-{ordinal}")
            ordinal += 1
            code = _dedent(text[block.code_start:block.code_end], len(block.indent))
            if block.code_end > block.code_start or code:
                code += "\n"       # goldmark keeps the newline that ends the last code line
            placeholder = self.md.htmlStash.store(highlight_code(code, language, options, fenced=True))
            if block.indent:
                # In a list item: no blank lines of our own, or the list would turn loose
                # (goldmark keeps `1. text` + fence + `2. text` tight: <li>text<div class="highlight">).
                pieces += [text[position:block.start], block.indent, placeholder, "\n"]
            else:
                pieces += [text[position:block.start], "\n", placeholder, "\n\n"]
            position = block.end
        pieces.append(text[position:])
        return "".join(pieces).split("\n")


class KeepPlaceholdersNormalizeWhitespace(NormalizeWhitespace):
    """Python-Markdown's normalize_whitespace, less the STX/ETX removal FencedCodePreprocessor did."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines) + "\n\n"
        source = source.expandtabs(self.md.tab_length)
        return re.sub(r"(?<=\n) +\n", "\n", source).split("\n")


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
    if lexer is None and (fenced or language):
        return _plain_block(code, language)
    if language.lower() in _ENSURE_NEWLINE and not code.endswith("\n"):
        code += "\n"
    lines = _highlighted_lines(code, lexer or get_lexer_by_name("text", stripnl=False, ensurenl=True))
    return _chroma_html(lines, language or "text", _display(options), _outer_attributes(options))


def _outer_attributes(options: dict[str, str]) -> str:
    """Hugo puts a fence's `{.class #id}` on the highlight <div>."""
    css = " ".join(["highlight", *options.get("class", "").split()])
    identifier = f' id="{html.escape(options["id"])}"' if options.get("id") else ""
    return f'class="{html.escape(css)}"{identifier}'


@dataclasses.dataclass(frozen=True)
class _Display:
    linenos: str              # "", "table" or "inline"
    marked: frozenset[int]    # 1-based positions in the code
    start: int
    anchors: bool
    prefix: str
    width: int = 1            # digits in the largest line number


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


# Chroma has no lexer by these names (Pygments does): Hugo shows such code unhighlighted.
_UNKNOWN_TO_CHROMA = frozenset({"psql", "postgresql-console", "postgres-console"})
# Chroma lexers that end the code with a newline (EnsureNL), so the last line keeps one.
_ENSURE_NEWLINE = frozenset({"console", "shell-session", "diff", "udiff"})


def _lexer(language: str):
    if not language or language.lower() in _UNKNOWN_TO_CHROMA:
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


def _chroma_html(lines: list[str], language: str, display: _Display, outer: str = 'class="highlight"') -> str:
    code_open = f'<code class="language-{html.escape(language)}" data-lang="{html.escape(language)}">'
    numbers = range(display.start, display.start + len(lines))
    display = dataclasses.replace(display, width=len(str(numbers[-1])) if numbers else 1)
    code_lines = []
    for position, (number, line) in enumerate(zip(numbers, lines), 1):
        css = "line hl" if position in display.marked else "line"
        number_html = _line_number(number, display, "ln", "") if display.linenos == "inline" else ""
        text, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        code_lines.append(f'<span class="{css}">{number_html}<span class="cl">{text}{newline}</span></span>')
    code = f'<pre tabindex="0" class="chroma">{code_open}{"".join(code_lines)}</code></pre>'
    if display.linenos != "table":
        return f'<div {outer}>{code}</div>'
    gutter = "".join(_gutter_line(number, position in display.marked, display)
                     for position, number in enumerate(numbers, 1))
    return (f'<div {outer}><div class="chroma">\n<table class="lntable"><tr><td class="lntd">\n'
            f'<pre tabindex="0" class="chroma"><code>{gutter}</code></pre></td>\n<td class="lntd">\n'
            f'{code}</td></tr></table>\n</div>\n</div>')


def _gutter_line(number: int, marked: bool, display: _Display) -> str:
    line = _line_number(number, display, "lnt", "\n")
    return f'<span class="hl">{line}</span>' if marked else line


def _line_number(number: int, display: _Display, css: str, end: str) -> str:
    # Chroma pads every number to the width of the largest; lineanchors only counts with anchorlinenos.
    padded = str(number).rjust(display.width)
    if not display.anchors:
        return f'<span class="{css}">{padded}{end}</span>'
    anchor = html.escape(f"{display.prefix}-{number}" if display.prefix else str(number))
    return f'<span class="{css}" id="{anchor}"><a class="lnlinks" href="#{anchor}">{padded}</a>{end}</span>'


def _plain_block(code: str, language: str) -> str:
    attributes = f' class="language-{html.escape(language)}" data-lang="{html.escape(language)}"' if language else ""
    return f'<pre tabindex="0"><code{attributes}>{html.escape(code, quote=False)}</code></pre>'


# ---------------------------------------------------------------- lists

# Stashed between two lists that Python-Markdown would merge; removed after rendering.
_LIST_BREAK = "<!--runpost:list-break-->"
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
        top_kind = ""                           # the open top-level list's "-", "*", "+", "." or ")"
        previous = ""
        for line in lines:
            marker = _LIST_MARKER.match(line)
            if not line.strip():
                output.append(line)
                previous = line
                continue
            if marker and not levels and len(marker["indent"]) >= 4:
                marker = None                   # indented code or a footnote's text, not a list
            if marker and not levels and self.continues_paragraph(previous, marker):
                output.append(line)             # "2." cannot interrupt a paragraph; only "1." can
                previous = line
                continue
            if marker:
                levels = self.open_item(levels, marker)
                if len(levels) == 1:
                    kind = marker["marker"][-1]
                    if top_kind and kind != top_kind:
                        # A new bullet character (or `.` vs `)`) starts a new list.
                        output += ["", self.md.htmlStash.store(_LIST_BREAK), ""]
                    top_kind = kind
                if previous.strip() and not levels[:-1] and not _LIST_MARKER.match(previous) and not output[-1].startswith(" "):
                    output.append("")           # a list may interrupt a paragraph
                depth = len(levels) - 1
                output.append(" " * (4 * depth) + line.lstrip(" "))
            elif levels and line.startswith(" "):
                output.append(self.continuation(levels, line))
            else:
                if not previous.strip():
                    levels, top_kind = [], ""
                output.append(line)
            previous = line
        return output

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

    def continuation(self, levels, line: str) -> str:
        indent = len(line) - len(line.lstrip(" "))
        depth = len(levels)
        while depth and indent < levels[depth - 1][1]:
            depth -= 1
        if not depth:
            return line
        extra = indent - levels[depth - 1][1]
        return " " * (4 * depth + extra) + line.lstrip(" ")


_BLOCK_TAGS = {"p", "ul", "ol", "div", "pre", "blockquote", "table", "dl", "hr",
               "h1", "h2", "h3", "h4", "h5", "h6"}
_STASHED = re.compile(STX + r"wzxhzdk:(\d+)" + ETX)


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
                elif part and not part.isdigit():
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


# ---------------------------------------------------------------- code spans

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


# ---------------------------------------------------------------- autolinks

_MAILTO_AUTOLINK = r"<(mailto:[^<> ]+@[^@<> ]+)>"


class MailtoAutolinkProcessor(InlineProcessor):
    """`<mailto:me@example.com>` shows "mailto:me@example.com", as in CommonMark; automail drops the scheme."""

    def handleMatch(self, m, data):
        element = etree.Element("a")
        element.set("href", m.group(1))
        element.text = AtomicString(m.group(1))
        return element, m.start(0), m.end(0)


# ---------------------------------------------------------------- tables

class GfmTableProcessor(TableProcessor):
    r"""GFM: `\|` in a cell is a pipe, in code spans too (`a \| b` shows `a | b`)."""

    def _split_row(self, row: str) -> list[str]:
        return [re.sub(r"(?<!\\)\\\|", "|", cell) for cell in super()._split_row(row)]


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

class CommonMarkHashHeaderProcessor(HashHeaderProcessor):
    """ATX headings as CommonMark reads them: `#` needs a space after it (`#hashtag` is text),
    and closing hashes need a space before them (`## C# and F#` keeps its `#`)."""

    RE = re.compile(r"(?:^|\n)[ ]{0,3}(?P<level>#{1,6})(?=[ \t]|\n|$)[ \t]*"
                    r"(?P<header>(?:\\.|[^\\\n])*?)(?:[ \t]+#+)?[ \t]*(?:\n|$)")


_HEADING_ATTRIBUTES = re.compile(r"[ \t]*\{([^{}\n]*)\}[ \t]*$")


class HeadingIdTreeprocessor(Treeprocessor):
    """Heading ids as Hugo 0.111 makes them, before inline Markdown is rendered.

    goldmark builds the id from the heading's source line, not its rendered text:
    `## Links in [docs](https://x.org)` -> "links-in-docshttpsxorg", `__init__` keeps
    its underscores. A trailing `{#id .class}` sets the id and classes (Hugo's
    default `parser.attribute.title`). Repeats get -1, -2. Shortcode tokens stay in
    the id; render.py swaps each for its output's text.
    """

    def run(self, root: etree.Element) -> None:
        seen: dict[str, int] = {}
        for element in root.iter():
            if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                source = self.take_attributes(element)
                if "id" not in element.attrib:
                    element.set("id", _unique(heading_id(source.split("\n")[-1]), seen))

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
    pieces = TOKEN_PATTERN.split(text.strip())
    tokens = TOKEN_PATTERN.findall(text.strip())
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
            kept.append(char.lower())
    return "".join(kept)


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
        self.space_backlinks(root)
        self.unwrap_backlinks(root)
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
        # A note's second reference: Python-Markdown's "fnref2:name" is goldmark's "fnref1:<number>".
        for attribute, prefix in (("id", ""), ("href", "#")):
            repeat = re.fullmatch(re.escape(prefix) + r"fnref(\d+):(.+)", element.get(attribute, ""))
            if repeat and repeat.group(2) in numbers:
                element.set(attribute, f"{prefix}fnref{int(repeat.group(1)) - 1}:{numbers[repeat.group(2)]}")
        if css == "footnote-ref":
            element.set("role", "doc-noteref")
        if css == "footnote-backref":
            element.attrib.pop("title", None)
            element.set("role", "doc-backlink")

    @staticmethod
    def unwrap_backlinks(root: etree.Element) -> None:
        # A note ending in a list, quote or code: goldmark puts the backlink in the <li>, not in a new <p>.
        for item in root.iter("li"):
            last = item[-1] if len(item) else None
            if last is None or last.tag != "p" or (last.text or "").strip() or \
                    not all(child.get("class") == "footnote-backref" for child in last):
                continue
            item.remove(last)
            for child in last:
                item.append(child)

    @staticmethod
    def space_backlinks(root: etree.Element) -> None:
        # goldmark puts &#160; before every backlink of a note referenced twice, not only the first.
        for parent in root.iter():
            children = list(parent)
            for first, second in zip(children, children[1:]):
                if first.get("class") == second.get("class") == "footnote-backref" and not first.tail:
                    first.tail = "\u00a0"

    def fix_linkify(self, element: etree.Element) -> None:
        # goldmark's linkify gives bare www. links https://; magiclink gives http://.
        if element.tag == "a" and (element.text or "").startswith("www.") and \
                element.get("href", "") == "http://" + element.text:
            element.set("href", "https://" + element.text)


# ---------------------------------------------------------------- typographer

_INLINE_TAGS = {"em", "strong", "a", "del", "ins", "s", "sup", "sub", "span", "mark", "abbr", "small", "u",
                "img", "input", "label"}
_LITERAL_TAGS = {"code", "pre", "kbd", "samp", "script", "style"}
_ATOM = re.compile(STX + "[^" + ETX + "]*" + ETX + "|.", re.S)


class TypographerTreeprocessor(Treeprocessor):
    """Smart quotes, dashes, ellipses and guillemets as goldmark's typographer makes them.

    Python-Markdown's smarty pairs quotes its own way; goldmark decides each quote
    from its neighbours and an unclosed-quote count per block, with special cases
    ('90s, 'n', I'm). Posts are full of apostrophes, so runpost follows goldmark's
    rules (extension/typographer.go) here, text node by text node, code excluded.
    """

    def run(self, root: etree.Element) -> None:
        for element in list(root.iter()):
            if element.tag not in _INLINE_TAGS and element.tag not in _LITERAL_TAGS and \
                    isinstance(element.tag, str):
                _Typographer(element).apply(self.md.htmlStash.store)


class _Typographer:
    def __init__(self, block: etree.Element):
        self.slots: list[tuple[etree.Element, str]] = []   # (element, "text" or "tail")
        self.units: list[tuple[int, str]] = []              # (slot or -1 for a boundary, text)
        self.read(block, "text")
        for child in block:
            self.boundary(child)
            if child.tag in _INLINE_TAGS:
                self.inline(child)
            self.read(child, "tail")
        self.single = self.double = 0

    def inline(self, element: etree.Element) -> None:
        self.read(element, "text")
        for child in element:
            self.boundary(child)
            if child.tag in _INLINE_TAGS:
                self.inline(child)
            self.boundary(child)
            self.read(child, "tail")
        self.boundary(element)

    def boundary(self, element: etree.Element) -> None:
        # Where an element starts or ends, goldmark saw a delimiter (`*`, `]`, `` ` ``) or a line break.
        self.units.append((-1, "\n" if element.tag == "br" else "*"))

    def read(self, element: etree.Element, attribute: str) -> None:
        text = getattr(element, attribute)
        if not text or isinstance(text, AtomicString) and attribute == "text":
            if text:
                self.units.append((-1, "*"))
            return
        self.slots.append((element, attribute))
        self.units.extend((len(self.slots) - 1, atom) for atom in _ATOM.findall(text))

    def char(self, index: int) -> str:
        if index < 0:
            return "\n"
        if index >= len(self.units):
            return "\n"
        text = self.units[index][1]
        return text if len(text) == 1 else "*"

    def apply(self, stash) -> None:
        """Substitute in place; entities go through `stash` so they come out as Hugo spells them."""
        if not self.slots:
            return
        output = [[] for _ in self.slots]
        index = 0
        while index < len(self.units):
            slot, text = self.units[index]
            if slot < 0:
                index += 1
                continue
            replacement, consumed = self.substitute(index)
            output[slot].append(stash(replacement) if replacement is not None else text)
            index += consumed if replacement is not None else 1
        for (element, attribute), pieces in zip(self.slots, output):
            setattr(element, attribute, "".join(pieces))

    def same_slot(self, index: int, count: int) -> bool:
        return index + count <= len(self.units) and len({slot for slot, _ in self.units[index:index + count]}) == 1

    def substitute(self, index: int) -> tuple[str | None, int]:
        c, next1, next2 = self.char(index), self.char(index + 1), self.char(index + 2)
        if c == "-" and next1 == "-" and self.same_slot(index, 2):
            if next2 == "-" and self.same_slot(index, 3):
                return "&mdash;", 3
            return "&ndash;", 2
        if c == "." and next1 == "." and next2 == "." and self.same_slot(index, 3):
            return "&hellip;", 3
        if c in "<>" and next1 == c and self.same_slot(index, 2):
            return ("&laquo;" if c == "<" else "&raquo;"), 2
        if c in "'\"":
            return self.quote(index, c), 1
        return None, 1

    def line(self, index: int) -> str:
        # The rest of the source line from the quote, as goldmark's PeekLine sees it.
        chars = []
        for position in range(index, len(self.units)):
            chars.append(self.char(position))
            if chars[-1] == "\n":
                break
        else:
            chars.append("\n")
        return "".join(chars)

    def quote(self, index: int, c: str) -> str | None:
        before = self.char(index - 1) if index else "\n"
        line = self.line(index)
        after = line[1] if len(line) > 1 else " "
        can_open = _left_flanking(before, after)
        can_close = _right_flanking(before, after)
        if not can_open and not can_close:
            return None
        if c == "'":
            return self.single_quote(line, before, can_open, can_close)
        if can_open and not can_close:
            self.double += 1
            return "&ldquo;"
        if self.double > 0 and (can_close and not can_open or self.maybe_close(line, can_open, can_close)):
            if len(line) > 1 and line[1] == '"' and before.isdigit():
                return None
            self.double -= 1
            return "&rdquo;"
        return None

    def single_quote(self, line: str, before: str, can_open: bool, can_close: bool) -> str | None:
        if can_open and not can_close and len(line) > 3 and line[1].isdigit() and line[2].isdigit() \
                and line[3] == "s":
            after = line[4] if len(line) > 4 else " "
            if _is_space(after) or _is_punct(after):
                return "&rsquo;"                      # '90s
        if len(line) > 1 and (_unicode_punct(before) or before.isspace()) and line[1] in "teln":
            return "&rsquo;"                          # 'twas, 'em, 'n', 'll
        if len(line) > 1 and (_is_digit(before) or before.isalpha()) and line[1].isalpha():
            return "&rsquo;"                          # don't
        if can_open and not can_close:
            closing = (len(line) > 1 and line[1] in "smtd" and (len(line) < 3 or _ascii_punct(line[2]) or
                                                                   _ascii_space(line[2]))) or \
                      (len(line) > 2 and line[1:3] in ("ve", "ll", "re") and
                       (len(line) < 4 or _ascii_punct(line[3]) or _ascii_space(line[3])))
            if closing:
                return "&rsquo;"
            self.single += 1
            return "&lsquo;"
        if len(line) > 2 and not _is_digit(line[1]):
            return "&rsquo;"                          # Smiths', doin'
        if self.single > 0 and (can_close and not can_open or self.maybe_close(line, can_open, can_close)):
            self.single -= 1
            return "&rsquo;"
        return None

    @staticmethod
    def maybe_close(line: str, can_open: bool, can_close: bool) -> bool:
        return can_close and can_open and len(line) > 1 and _unicode_punct(line[1]) and \
            (len(line) == 2 or _ascii_punct(line[2]) or _ascii_space(line[2]))


def _ascii_punct(char: str) -> bool:
    return char in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def _ascii_space(char: str) -> bool:
    return char in " \t\n\v\f\r"


def _unicode_punct(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _is_punct(char: str) -> bool:
    return _ascii_punct(char) or _unicode_punct(char)


def _is_space(char: str) -> bool:
    return _ascii_space(char) or char.isspace()


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"


def _left_flanking(before: str, after: str) -> bool:
    return not _is_space(after) and (not _is_punct(after) or _is_space(before) or _is_punct(before))


def _right_flanking(before: str, after: str) -> bool:
    return not _is_space(before) and (not _is_punct(before) or _is_space(after) or _is_punct(after))

"""Where things are in a post's source: one scan, asked by every later stage.

`scan_source` reads a post body once and records, by offset into that body:

- code: fenced and indented blocks (CommonMark's rules), the inner text of
  `{{< highlight >}}` calls, and inline code spans;
- shortcode tags outside code blocks, lexed with Hugo's grammar (quoted
  strings with spaces, raw backtick strings holding quotes, calls over several
  lines), each parameter with the offset of its value;
- math outside code, when the post asks for it (`math: true`): `$...$` and
  `\\(...\\)` inline, `$$...$$` and `\\[...\\]` display, by pandoc's dollar rules;
- link and image targets outside code: Markdown links, images and reference
  definitions, `href`/`src` in raw HTML, and the `src`/`link` parameters of
  shortcode calls, each with its file line and column.

The shortcodes stage pairs the tags and swaps them for placeholders, the
Markdown stage finds its code blocks with `find_code_blocks` (the one
code-block scanner), and the link check takes its line and column from
`targets`. Nothing else scans the source with its own patterns, so the stages
cannot disagree about where a code block ends or what a parameter holds.

Why one module of about 600 lines: the four readers (code regions, shortcode
tags, math, link targets) each depend on what the ones before them found (tags
are only lexed outside code blocks, spans only outside tags, targets only
outside all three), and that order is the contract every stage relies on.
Each reader is a section below; none is used from outside except through
`scan_source` and the few helpers named in docs/architecture.md.
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..post import Post

# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class CodeBlock:
    """A region Markdown shows literally: a fenced or indented block, highlight inner text, a code span."""

    start: int                # offset of the region's first character (a block: start of its first line)
    end: int                  # offset just past it (a block: including its last line's newline)
    fenced: bool              # a ``` / ~~~ block
    info: str = ""            # text after the opening fence ("python {exec=true}")
    indent: str = ""          # indentation of the opening fence
    code_start: int = 0       # offset of the code's first character
    code_end: int = 0         # offset just past the code (before the newline of the closing fence)
    first_line: int = 0       # 1-based body line of the opening fence
    kind: str = ""            # "fenced", "indented", "highlight" or "span"


@dataclass(frozen=True)
class Parameter:
    """One shortcode parameter as written."""

    name: str | None          # None for a positional parameter
    value: str                # quotes removed, escapes resolved
    offset: int               # offset of the parameter's first character (its name, or its value)
    value_offset: int         # offset of the value's first character, inside any quotes


@dataclass(frozen=True)
class Tag:
    """One `{{< ... >}}` or `{{% ... %}}` as written, before pairing."""

    kind: str                 # "open", "close" or "comment"
    delimiter: str            # "<" or "%"
    name: str
    start: int                # offset of `{{`
    end: int                  # offset just past `}}`
    parameters: tuple[Parameter, ...] = ()
    self_closing: bool = False
    literal: str = ""         # comment form: the call as printed

    @property
    def positional(self) -> tuple[str, ...]:
        return tuple(parameter.value for parameter in self.parameters if parameter.name is None)

    @property
    def named(self) -> dict[str, str]:
        return {parameter.name: parameter.value for parameter in self.parameters if parameter.name is not None}


@dataclass(frozen=True)
class LinkTarget:
    """A link or image target written in the source (outside code)."""

    target: str               # as written ("../x/", "/img/a b.png")
    kind: str                 # "link", "image", "definition", "html", "shortcode" or "front matter"
    offset: int               # offset in the body (front matter: -1)
    line: int                 # file line (1-based)
    column: int               # file column (1-based)


@dataclass(frozen=True)
class MathRegion:
    """A formula written in the source (outside code), delimiters included."""

    start: int                # offset of the opening delimiter
    end: int                  # offset just past the closing delimiter
    content_start: int        # offset of the LaTeX's first character
    content_end: int          # offset just past the LaTeX
    display: bool             # `$$...$$` or `\\[...\\]`


@dataclass(frozen=True)
class SourceScan:
    """Everything `scan_source` found, by body offset; `position` maps an offset to file line and column."""

    body_line: int                                 # file line where the body starts
    blocks: tuple[CodeBlock, ...] = ()             # fenced and indented code blocks, in order
    highlights: tuple[CodeBlock, ...] = ()         # inner text of paired `highlight` calls
    spans: tuple[CodeBlock, ...] = ()              # inline code spans outside blocks and tags
    tags: tuple[Tag, ...] = ()                     # shortcode tags outside code blocks, in order
    problems: tuple[tuple[int, str], ...] = ()     # (offset, message): tags that do not lex
    targets: tuple[LinkTarget, ...] = ()           # link and image targets outside code, in order
    line_starts: tuple[int, ...] = (0,)            # offset of each body line
    math: tuple[MathRegion, ...] = ()              # formulas outside code (only when asked for)

    def position(self, offset: int) -> tuple[int, int]:
        """(file line, column) of a body offset, both 1-based."""
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return self.body_line + index, offset - self.line_starts[index] + 1

    def in_code(self, offset: int) -> bool:
        return any(region.start <= offset < region.end for region in self.blocks + self.highlights + self.spans)


def scan_source(body: str, body_line: int = 1, math: bool = False) -> SourceScan:
    """Scan a post body once; `body_line` is the file line where it starts; `math` finds formulas too."""
    blocks = tuple(find_code_blocks(body))
    tags, problems = _lex_tags(body, blocks)
    highlights = tuple(_highlight_regions(body, tags))
    hidden = _blank(body, [(tag.start, tag.end) for tag in tags]
                    + [(region.start, region.end) for region in blocks + highlights])
    spans = tuple(_code_spans(hidden))
    hidden = _blank(hidden, [(span.start, span.end) for span in spans])
    line_starts = (0,) + tuple(match.end() for match in re.finditer("\n", body))
    scan = SourceScan(body_line, blocks, highlights, spans, tuple(tags), tuple(problems), (), line_starts)
    formulas = tuple(find_math(_math_text(body, scan))) if math else ()
    return dataclasses.replace(scan, targets=tuple(_targets(scan, hidden)), math=formulas)


def _blank(text: str, regions: list[tuple[int, int]]) -> str:
    """`text` with each region's characters (but not its newlines) replaced by spaces: offsets stay true."""
    characters = list(text)
    for start, end in regions:
        for index in range(start, end):
            if characters[index] != "\n":
                characters[index] = " "
    return "".join(characters)


# ---------------------------------------------------------------- code blocks

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# List items, footnote definitions and definitions (`: text`): all hold indented blocks that are not code.
_LIST_ITEM = re.compile(r"^[ ]{0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)|^\[\^[^\]]+\]:|^[ ]{0,3}:[ \t]")


def find_code_blocks(text: str) -> list[CodeBlock]:
    """Fenced (``` / ~~~, CommonMark rules) and indented code blocks, in order.

    The one code-block scanner: `scan_source` uses it for a post's source, and the
    Markdown stage for the text it converts, so both agree on where code is.
    """
    lines = text.splitlines(keepends=True)
    offsets = _line_offsets(lines)
    blocks: list[CodeBlock] = []
    in_list = False
    number = 0
    previous_blank = True
    while number < len(lines):
        line = lines[number].rstrip("\r\n")
        opening = _FENCE_OPEN.match(line)
        indent = _indent_width(line)
        if opening and (indent <= 3 or in_list) and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            block, number = _fenced_block(lines, offsets, number, opening)
            blocks.append(block)
            previous_blank = False
            continue
        if line.strip() and indent >= 4 and previous_blank and not in_list:
            block, number = _indented_block(lines, offsets, number)
            blocks.append(block)
            previous_blank = False
            continue
        if line.strip():
            if _LIST_ITEM.match(line):
                in_list = True
            elif indent == 0 and previous_blank:
                in_list = False
        previous_blank = not line.strip()
        number += 1
    return blocks


def _fenced_block(lines, offsets, number, opening) -> tuple[CodeBlock, int]:
    fence = opening["fence"]
    closing = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
    end_line = number + 1
    while end_line < len(lines) and not closing.match(lines[end_line].rstrip("\r\n")):
        end_line += 1
    code_start = offsets[number + 1] if number + 1 < len(lines) else offsets[-1]
    if end_line < len(lines):     # closed: code ends before the closing fence's line
        code_end = max(code_start, offsets[end_line] - _newline_width(lines[end_line - 1]))
        after = end_line + 1
    else:                         # unclosed fences run to the end of the document (CommonMark)
        code_end = offsets[-1]
        after = len(lines)
    block = CodeBlock(start=offsets[number], end=offsets[after], fenced=True, info=opening["info"].strip(),
                      indent=opening["indent"], code_start=code_start, code_end=code_end,
                      first_line=number + 1, kind="fenced")
    return block, after


def _indented_block(lines, offsets, number) -> tuple[CodeBlock, int]:
    last = number
    scan = number
    while scan < len(lines):
        line = lines[scan].rstrip("\r\n")
        if line.strip() and _indent_width(line) < 4:
            break
        if line.strip():
            last = scan
        scan += 1
    block = CodeBlock(start=offsets[number], end=offsets[last + 1], fenced=False, code_start=offsets[number],
                      code_end=offsets[last + 1], first_line=number + 1, kind="indented")
    return block, last + 1


def _line_offsets(lines: list[str]) -> list[int]:
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return offsets


def _indent_width(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _newline_width(line: str) -> int:
    return len(line) - len(line.rstrip("\r\n"))


# ---------------------------------------------------------------- code spans

_BACKTICKS = re.compile(r"(?<!\\)`+")
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")


def _code_spans(text: str) -> list[CodeBlock]:
    """CommonMark code spans: a backtick run closed by the next run of the same length in the paragraph."""
    spans: list[CodeBlock] = []
    position = 0
    while opener := _BACKTICKS.search(text, position):
        width = len(opener.group())
        paragraph_end = _PARAGRAPH_END.search(text, opener.end())
        limit = paragraph_end.start() if paragraph_end else len(text)
        closer = next((run for run in re.finditer("`+", text[:limit][opener.end():]) if len(run.group()) == width),
                      None)
        if closer is None:
            position = opener.end()
            continue
        end = opener.end() + closer.end()
        spans.append(CodeBlock(opener.start(), end, False, code_start=opener.end(),
                               code_end=opener.end() + closer.start(), kind="span"))
        position = end
    return spans


# ---------------------------------------------------------------- shortcode tags

_OPENER = re.compile(r"\{\{[<%]")
_NAME = re.compile(r"[\w.-]+(?:/[\w.-]+)*")
_BARE = re.compile(r"[^\s\"`=]+?(?=\s|=|/?[>%]\}\}|$)")


class TagError(Exception):
    """A tag that does not lex; `offset` is where the problem is."""

    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


def _lex_tags(text: str, blocks: tuple[CodeBlock, ...]) -> tuple[list[Tag], list[tuple[int, str]]]:
    """Tags outside code blocks, in order, and the problems of those that do not lex."""
    tags: list[Tag] = []
    problems: list[tuple[int, str]] = []
    position = 0
    for block in list(blocks) + [None]:
        stop = block.start if block else len(text)
        while match := _OPENER.search(text, position, stop):
            try:
                tag = read_tag(text, match.start())
            except TagError as problem:
                problems.append((problem.offset, problem.message))
                position = match.end()
                continue
            tags.append(tag)
            position = tag.end
        if block:
            position = max(position, block.end)
    return tags, problems


def read_tag(text: str, start: int) -> Tag:
    """Lex one tag starting at `{{<` or `{{%`; raises TagError at the offending offset."""
    delimiter = text[start + 2]
    closer = closer_of(delimiter)
    position = _skip_space(text, start + 3)
    if text.startswith("/*", position):
        return _read_comment(text, start, delimiter, position)
    if text.startswith("/", position):
        position = _skip_space(text, position + 1)
        name = _NAME.match(text, position)
        if not name:
            raise TagError(position, "closing tag without a shortcode name")
        position = _skip_space(text, name.end())
        if not text.startswith(closer, position):
            raise TagError(position, f"expected '{closer}' to end the closing tag of '{name.group()}'")
        return Tag("close", delimiter, name.group(), start, position + len(closer))
    name = _NAME.match(text, position)
    if not name:
        raise TagError(position, "expected a shortcode name after '{{" + delimiter + "'")
    parameters: list[Parameter] = []
    end, self_closing = _read_parameters(text, name.end(), start, name.group(), closer, parameters)
    return Tag("open", delimiter, name.group(), start, end, tuple(parameters), self_closing)


def _read_comment(text: str, start: int, delimiter: str, position: int) -> Tag:
    closer = closer_of(delimiter)
    end = re.compile(r"\*/\s*" + re.escape(closer)).search(text, position + 2)
    if not end:
        raise TagError(start, f"unterminated shortcode comment (missing '*/{closer}')")
    literal = "{{" + delimiter + text[position + 2:end.start()] + closer
    return Tag("comment", delimiter, "", start, end.end(), literal=literal)


def closer_of(delimiter: str) -> str:
    return (">" if delimiter == "<" else "%") + "}}"


def _read_parameters(text: str, position: int, start: int, name: str, closer: str,
                     parameters: list[Parameter]) -> tuple[int, bool]:
    """Read parameters into `parameters`; return (offset past the tag, self-closing)."""
    while True:
        position = _skip_space(text, position)
        if position >= len(text) or text.startswith("{{", position):
            raise TagError(start, f"unclosed shortcode tag '{name}' (missing '{closer}')")
        if text.startswith(closer, position):
            return position + len(closer), False
        if text.startswith("/", position) and text.startswith(closer, _skip_space(text, position + 1)):
            return _skip_space(text, position + 1) + len(closer), True
        parameter, position = _read_parameter(text, position)
        parameters.append(parameter)


def _read_parameter(text: str, position: int) -> tuple[Parameter, int]:
    value, after = _read_value(text, position)
    following = _skip_space(text, after)
    if text[position] not in "\"`" and following < len(text) and text[following] == "=":
        value_start = _skip_space(text, following + 1)
        named_value, after = _read_value(text, value_start)
        return Parameter(value, named_value, position, _inside_quotes(text, value_start)), after
    if text[position] not in "\"`" and "'" in value:
        # `{{< badge 'new' >}}` would show the quotes: Hugo 0.111 refuses a ' in an unquoted positional
        # parameter, and so do we (in a named one, `alt=it's`, it keeps it, as we do).
        raise TagError(text.index("'", position), "a single quote does not quote a shortcode parameter: write "
                       "\"...\" (or `...` for text holding double quotes)")
    return Parameter(None, value, position, _inside_quotes(text, position)), after


def _inside_quotes(text: str, position: int) -> int:
    return position + 1 if position < len(text) and text[position] in "\"`" else position


def _read_value(text: str, position: int) -> tuple[str, int]:
    if position >= len(text):
        raise TagError(position, "expected a parameter value")
    quote = text[position]
    if quote == '"':
        return _read_quoted(text, position)
    if quote == "`":
        end = text.find("`", position + 1)
        if end < 0:
            raise TagError(position, "unterminated raw string (missing '`')")
        return text[position + 1:end], end + 1
    bare = _BARE.match(text, position)
    if not bare or not bare.group():
        raise TagError(position, f"unexpected '{text[position]}' in shortcode parameters")
    return bare.group(), bare.end()


def _read_quoted(text: str, position: int) -> tuple[str, int]:
    value = []
    escaped_quote = False
    index = position + 1
    while index < len(text) and text[index] != "\n":
        char = text[index]
        # Hugo's lexer knows one escape in a quoted value, `\"`, and a value that has one loses
        # every backslash; in any other value backslashes are kept (`caption="C:\Temp, \d+"`).
        if char == "\\" and text[index + 1:index + 2] == '"':
            value.append('\\"')
            escaped_quote = True
            index += 2
            continue
        if char == '"':
            raw = "".join(value)
            return (raw.replace("\\", "") if escaped_quote else raw), index + 1
        value.append(char)
        index += 1
    raise TagError(position, "unterminated quoted string in shortcode parameters")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _highlight_regions(text: str, tags: list[Tag]) -> list[CodeBlock]:
    """The inner text of each `highlight` call paired with its closing tag (code, for links)."""
    regions: list[CodeBlock] = []
    closes = closing_tags(tags)
    for index, tag in enumerate(tags):
        if tag.kind != "open" or tag.name != "highlight" or tag.self_closing:
            continue
        close = closes.get(index)
        if close is not None:
            end = tags[close].start
            regions.append(CodeBlock(tag.end, end, False, code_start=tag.end, code_end=end, kind="highlight"))
    return regions


def closing_tags(tags: list) -> dict[int, int]:
    """Open tag's index -> the index of the closing tag that pairs with it: the first one ahead
    of the same name at the same depth (same-name tags nest; other items are passed over).

    One pass with a stack per name: a post of 50,000 calls that are never closed took minutes
    when each open tag looked ahead through every later tag."""
    closes: dict[int, int] = {}
    open_tags: dict[str, list[int]] = {}
    for index, tag in enumerate(tags):
        if not isinstance(tag, Tag):
            continue
        if tag.kind == "open" and not tag.self_closing:
            open_tags.setdefault(tag.name, []).append(index)
        elif tag.kind == "close" and open_tags.get(tag.name):
            closes[open_tags[tag.name].pop()] = index
    return closes


# ---------------------------------------------------------------- math

def _math_text(body: str, scan: SourceScan) -> str:
    """The body with code blanked, and each shortcode tag as letters: `$x = {{< value lr >}}$` stays math."""
    text = _blank(body, [(region.start, region.end) for region in scan.blocks + scan.highlights + scan.spans])
    characters = list(text)
    for tag in scan.tags:
        for index in range(tag.start, tag.end):
            if characters[index] != "\n":
                characters[index] = "x"
    return "".join(characters)


def find_math(text: str) -> list[MathRegion]:
    """Formulas in `text` (code already blanked), by pandoc's `tex_math_dollars` rules.

    `$` opens only before a non-space, and the next `$` closes only after a non-space
    and not before a digit, so "costs $5 and $10" stays prose. `\\$` is a literal dollar. A formula
    never spans a blank line, so an unmatched `$` cannot swallow the paragraphs after it.
    """
    regions: list[MathRegion] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\" and text[position + 1:position + 2] in ("(", "["):
            region = _bracketed(text, position)
        elif char == "\\" and text[position + 1:position + 3] in ("\\(", "\\["):
            # `\\(x\\)`: written for Hugo, whose goldmark shows it as `\(x\)` for KaTeX or MathJax to read.
            region = _bracketed(text, position, escaped=True)
            if region is None:
                position += 2        # an escaped backslash: the `(` after it opens nothing
                continue
        elif char == "\\":
            position += 2            # an escaped character, `\\$` included
            continue
        elif char == "$":
            region = _dollar(text, position)
        else:
            region = None
        if region is None:
            position += 2 if text.startswith("$$", position) else 1
            continue
        regions.append(region)
        position = region.end
    return regions


_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _paragraph_end(text: str, position: int) -> int:
    blank = _BLANK_LINE.search(text, position)
    return blank.start() if blank else len(text)


def _bracketed(text: str, start: int, escaped: bool = False) -> MathRegion | None:
    """`\\(...\\)` or `\\[...\\]`; `escaped`: each delimiter's backslash doubled, as Markdown escapes it."""
    opener = 3 if escaped else 2
    display = text[start + opener - 1] == "["
    closer = ("\\\\" if escaped else "\\") + ("]" if display else ")")
    end = text.find(closer, start + opener, _paragraph_end(text, start))
    if end < 0 or not text[start + opener:end].strip():
        return None
    return MathRegion(start, end + opener, start + opener, end, display)


def _dollar(text: str, start: int) -> MathRegion | None:
    limit = _paragraph_end(text, start)
    if text.startswith("$$", start):
        end = _unescaped(text, "$$", start + 2, limit)
        if end < 0 or not text[start + 2:end].strip():
            return None
        return MathRegion(start, end + 2, start + 2, end, True)
    if start + 1 >= limit or text[start + 1].isspace():
        return None
    # Only the next `$` may close: in "$5 and $10 for $x$" the first two are prices.
    end = _unescaped(text, "$", start + 1, limit)
    if end < 0 or text[end - 1].isspace() or text[end + 1:end + 2].isdigit():
        return None
    return MathRegion(start, end + 1, start + 1, end, False)


def _unescaped(text: str, needle: str, start: int, limit: int) -> int:
    """Offset of the next `needle` in [start, limit) not preceded by an odd run of backslashes, or -1."""
    while (found := text.find(needle, start, limit)) >= 0:
        backslashes = len(text[:found]) - len(text[:found].rstrip("\\"))
        if backslashes % 2 == 0:
            return found
        start = found + 1
    return -1


# A fence opening inside a block quote (`> ```python {exec=true}`) with exec=true among its options.
_QUOTED_EXEC_FENCE = re.compile(r"^[ ]{0,3}(?:>[ ]?)+[ \t]*(?:`{3,}|~{3,})[^\n]*\bexec\s*=\s*[\"']?true\b", re.MULTILINE)


def quoted_exec_fences(body: str, scan: SourceScan) -> list[int]:
    """Offsets of fences with exec=true inside a block quote, outside code (cells.quoted_exec_blocks:
    runpost runs blocks at the top level and in list items, never in a quote)."""
    return [match.start() for match in _QUOTED_EXEC_FENCE.finditer(body) if not scan.in_code(match.start())]


# ---------------------------------------------------------------- link targets

# Link text: one level of nested brackets (not an image's: `[![a](i)](t)` holds two targets),
# so a run of unmatched `[` is read in linear time.
_LINK_TEXT = r"""(?:\\.|[^\[\]\\\n]|(?<!!)\[(?:\\.|[^\[\]\\\n])*\])*"""
# A bare destination may hold balanced parentheses, as CommonMark allows (`wiki/Foo_(bar)`).
_BARE_DESTINATION = r"""((?:[^()\s]|\([^()\s]*\))+)"""
# A title after the destination, closed by its own mark: `[^)]*` read to the text's end at every `[a](x "`
# of a post that never closes one (quadratic: 800 KB took minutes).
_TITLE = r"""(?:\s+(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\((?:\\.|[^)\\])*\)))?"""
# A link or image whose "[" is not escaped; its target bare or in <angle brackets> (which may hold spaces).
_MARKDOWN_TARGET = re.compile(
    r"""(?<!\\)(!?)\[""" + _LINK_TEXT + r"""\]\(\s*(?:<([^>\n]+)>|""" + _BARE_DESTINATION + r""")""" + _TITLE + r"""\s*\)""")
# [![alt](image)](target): the image is found by the pattern above, the outer link by this one.
_LINKED_IMAGE = re.compile(
    r"""(?<!\\)\[!\[""" + _LINK_TEXT + r"""\]\([^)\n]*\)\]\(\s*(?:<([^>\n]+)>|""" + _BARE_DESTINATION + ")")
# <scheme:...>: a CommonMark autolink (goldmark links any scheme).
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*)>")
# The destination may be on the next line, unless that line starts another definition.
_REFERENCE_DEFINITION = re.compile(r"""^[ ]{0,3}\[(?!\^)[^\]]+\]:[ \t]*(?:\n[ \t]*(?!\[))?(?:<([^>\n]+)>|(\S+))""",
                                   re.M)
_HTML_TAG = re.compile(r"<[A-Za-z][^<>]*>")
# (`xlink:href` too: \b before its href.)
_HTML_TARGET = re.compile(
    r"""\b(?:src|href|poster|srcset|action|formaction|background)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.I)
# A style attribute's url()s: `<div style="background-image: url(/posts/x/a.png)">`.
_HTML_STYLE = re.compile(r"""\bstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
# (Quoted as an attribute value may write the quotes: `url(&quot;/a.png&quot;)`.)
_CSS_URL = re.compile(r"""url\(\s*(&quot;|&#0*34;|&#0*39;|&apos;|["']?)([^"')]*?)\1\s*\)""", re.I)
# Shortcode parameters that name a page or file (figure's src and link, and a site's own shortcodes').
LINK_PARAMETERS = ("src", "link", "attrlink")


def _targets(scan: SourceScan, hidden: str) -> list[LinkTarget]:
    """Targets in `hidden` (the body with code and tags blanked) and in shortcode parameters."""
    found: list[tuple[int, str, str]] = []
    for match in _MARKDOWN_TARGET.finditer(hidden):
        group = 2 if match.group(2) is not None else 3
        found.append((match.start(group), match.group(group), "image" if match.group(1) else "link"))
    for match in _LINKED_IMAGE.finditer(hidden):
        group = 1 if match.group(1) is not None else 2
        found.append((match.start(group), match.group(group), "link"))
    for match in _REFERENCE_DEFINITION.finditer(hidden):
        group = 1 if match.group(1) is not None else 2
        # `[x]: {{< ref "p" >}} "title"`: the shortcode is the destination (checked as a ref);
        # what follows its blanked tag is the title, not a target.
        if not any(match.start() < tag.start < match.start(group) for tag in scan.tags):
            found.append((match.start(group), match.group(group), "definition"))
    for match in _AUTOLINK.finditer(hidden):
        found.append((match.start(1), match.group(1), "link"))
    for tag in _HTML_TAG.finditer(hidden):
        for match in _HTML_TARGET.finditer(tag.group()):
            group = next(number for number in (1, 2, 3) if match.group(number) is not None)
            if match.group(group):
                found.append((tag.start() + match.start(group), match.group(group), "html"))
        for match in _HTML_STYLE.finditer(tag.group()):
            group = 1 if match.group(1) is not None else 2
            found.extend((tag.start() + match.start(group) + url.start(2), url.group(2), "html")
                         for url in _CSS_URL.finditer(match.group(group)) if url.group(2).strip())
    for tag in scan.tags:
        if tag.kind == "open" and not scan.in_code(tag.start):
            found.extend((parameter.value_offset, parameter.value, "shortcode") for parameter in tag.parameters
                         if parameter.name in LINK_PARAMETERS and parameter.value)
    return [LinkTarget(target, kind, offset, *scan.position(offset)) for offset, target, kind in sorted(set(found))]


def front_matter_targets(source: str, body_line: int, images: tuple[str, ...]) -> list[LinkTarget]:
    """Front matter `images`, at the line and column where each is written."""
    found = []
    for number, line in enumerate(source.split("\n")[: body_line - 1], 1):
        # Block lists (`- /a.png`) and flow lists (`images: ["/a.png", "/b.png"]`) alike.
        for image in images:
            column = line.find(image)
            if image and column >= 0:
                found.append(LinkTarget(image, "front matter", -1, number, column + 1))
    return found


_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}")


@functools.lru_cache(maxsize=1 << 16)
def looks_like_template(target: str) -> bool:
    """`{{ .Permalink }}`, `{{ post.url }}`, `{% url 'x' %}`: template text, never a URL to check."""
    from urllib.parse import unquote

    return bool(_TEMPLATE.search(unquote(target)))


# ---------------------------------------------------------------- posts

def scan_post(post: "Post") -> "Post":
    """The post with `scan` filled in, from the body as loaded."""
    return dataclasses.replace(post, scan=scan_source(post.body, post.body_line, math=wants_math(post)))


def scan_of(post: "Post") -> SourceScan:
    """The post's scan; a post made without `scan_post` (a test's, say) is scanned now."""
    return post.scan if post.scan is not None else scan_source(post.body, post.body_line, math=wants_math(post))


def wants_math(post: "Post") -> bool:
    """Math is opt-in (front matter `math: true`): Hugo leaves `$` as text, and prose has prices.
    Hugo themes' other names for it (`mathjax: true`, `katex: true`) turn it on too, and so does
    `true` written as a string, which Hugo templates read as true."""
    return any(_true(post.meta.extra.get(name)) for name in ("math", "mathjax", "katex"))


def _true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")

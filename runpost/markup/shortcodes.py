"""Find `{{< >}}` / `{{% %}}` shortcode calls and executable blocks; swap each for a placeholder.

`parse_shortcodes` is pure: it reads `post.body` and returns a Post whose body
holds one placeholder token per top-level call (or executable block), plus the
parsed calls (`Post.shortcodes`, a tree) and cells (`Post.cells`, flat, in
document order). Markdown never sees shortcode syntax; `site/fragments.py` later swaps
each token for HTML. Shortcodes inside code stay literal: `codeblocks.py` finds
the code blocks (markdown.py uses the same scanner), and `cells.py` turns each
executable block into a Cell.

Grammar (Hugo's): `{{< name "positional" `raw` bare >}}`, `{{< name key="v" k2=v >}}`,
closing tags `{{< /name >}}` (also `{{< / name >}}`), self-closing `{{< name />}}`,
the `%` form whose inner and output are Markdown, and the comment form
`{{</* name */>}}` that prints the call literally.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import cells
from .codeblocks import (CodeBlock, find_code_blocks, parse_bool, parse_fence_info, parse_highlight_options,
                         parse_option_string)
from ..errors import BuildError, BuildErrors, Location, did_you_mean
from ..post import Cell, Post, Shortcode

# Also importable from here, as they were before they moved to codeblocks.py.
__all__ = ["BUILTINS", "TOKEN_FORMAT", "TOKEN_PATTERN", "available_shortcodes", "parse_shortcodes",
           "find_code_blocks", "parse_bool", "parse_fence_info", "parse_highlight_options", "parse_option_string"]

BUILTINS = frozenset({"highlight", "figure", "youtube", "ref", "relref", "value", "table"})

# Tokens are letters and digits only, so Markdown (emphasis, typographer,
# linkify, heading ids) leaves them alone, and the fixed "RPSC...X" frame means
# no token is a substring of another.
TOKEN_FORMAT = "RPSC{:04d}X"
TOKEN_PATTERN = re.compile(r"RPSC\d{4,}X")

_NAME = re.compile(r"[\w.-]+(?:/[\w.-]+)*")
_BARE = re.compile(r"[^\s\"`=]+?(?=\s|=|/?[>%]\}\}|$)")
# Built-ins whose documented form mixes a positional argument with named options
# (`{{< table results caption="..." >}}`); Hugo's rule forbids mixing elsewhere.
_MIXED_PARAMETERS = {"highlight", "table", "value"}


def available_shortcodes(config) -> frozenset[str]:
    """Built-ins plus every templates/shortcodes/<name>.html in the config's template dirs."""
    names = set(BUILTINS)
    for folder in config.templates_dirs:
        shortcodes = Path(folder) / "shortcodes"
        if shortcodes.is_dir():
            names.update(path.relative_to(shortcodes).with_suffix("").as_posix()
                         for path in shortcodes.rglob("*.html"))
    return frozenset(names)


def parse_shortcodes(post: Post, known: frozenset[str] = BUILTINS) -> Post:
    """Replace every top-level call and executable block in `post.body` with its token."""
    parser = _Parser(post, known)
    body, shortcodes = parser.parse()
    errors = parser.errors + cells.duplicate_cell_ids(parser.cells)
    if errors:
        raise BuildErrors(errors)
    return dataclasses.replace(post, body=body, shortcodes=tuple(shortcodes), cells=tuple(parser.cells))


# ---------------------------------------------------------------- tags

@dataclass
class _Tag:
    """One `{{< ... >}}` as written, before pairing."""

    kind: str                 # "open", "close" or "comment"
    delimiter: str            # "<" or "%"
    name: str
    start: int                # offset of `{{`
    end: int                  # offset just past `}}`
    positional: tuple[str, ...] = ()
    named: dict[str, str] = dataclasses.field(default_factory=dict)
    self_closing: bool = False
    literal: str = ""         # comment form: the call as printed
    order: list = dataclasses.field(default_factory=list)   # params as written, for error checks


class _TagError(Exception):
    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


def _read_tag(text: str, start: int) -> _Tag:
    """Lex one tag starting at `{{<` or `{{%`; raises _TagError at the offending offset."""
    delimiter = text[start + 2]
    closer = _closer(delimiter)
    position = _skip_space(text, start + 3)
    if text.startswith("/*", position):
        return _read_comment(text, start, delimiter, position)
    if text.startswith("/", position):
        position = _skip_space(text, position + 1)
        name = _NAME.match(text, position)
        if not name:
            raise _TagError(position, "closing tag without a shortcode name")
        position = _skip_space(text, name.end())
        if not text.startswith(closer, position):
            raise _TagError(position, f"expected '{closer}' to end the closing tag of '{name.group()}'")
        return _Tag("close", delimiter, name.group(), start, position + len(closer))
    name = _NAME.match(text, position)
    if not name:
        raise _TagError(position, "expected a shortcode name after '{{" + delimiter + "'")
    tag = _Tag("open", delimiter, name.group(), start, 0)
    tag.end = _read_parameters(text, name.end(), tag, closer)
    return tag


def _read_comment(text: str, start: int, delimiter: str, position: int) -> _Tag:
    closer = _closer(delimiter)
    end = re.compile(r"\*/\s*" + re.escape(closer)).search(text, position + 2)
    if not end:
        raise _TagError(start, f"unterminated shortcode comment (missing '*/{closer}')")
    literal = "{{" + delimiter + text[position + 2:end.start()] + closer
    return _Tag("comment", delimiter, "", start, end.end(), literal=literal)


def _closer(delimiter: str) -> str:
    return (">" if delimiter == "<" else "%") + "}}"


def _read_parameters(text: str, position: int, tag: _Tag, closer: str) -> int:
    while True:
        position = _skip_space(text, position)
        if position >= len(text):
            raise _TagError(tag.start, f"unclosed shortcode tag '{tag.name}' (missing '{closer}')")
        if text.startswith(closer, position):
            return position + len(closer)
        if text.startswith("/", position) and text.startswith(closer, _skip_space(text, position + 1)):
            tag.self_closing = True
            return _skip_space(text, position + 1) + len(closer)
        if text.startswith("{{", position):
            raise _TagError(tag.start, f"unclosed shortcode tag '{tag.name}' (missing '{closer}')")
        position = _read_parameter(text, position, tag)


def _read_parameter(text: str, position: int, tag: _Tag) -> int:
    value, after = _read_value(text, position)
    following = _skip_space(text, after)
    if text[position] not in "\"`" and following < len(text) and text[following] == "=":
        value_start = _skip_space(text, following + 1)
        named_value, after = _read_value(text, value_start)
        tag.named[value] = named_value
        tag.order.append(("named", position))
    else:
        tag.positional += (value,)
        tag.order.append(("positional", position))
    return after


def _read_value(text: str, position: int) -> tuple[str, int]:
    if position >= len(text):
        raise _TagError(position, "expected a parameter value")
    quote = text[position]
    if quote == '"':
        return _read_quoted(text, position)
    if quote == "`":
        end = text.find("`", position + 1)
        if end < 0:
            raise _TagError(position, "unterminated raw string (missing '`')")
        return text[position + 1:end], end + 1
    bare = _BARE.match(text, position)
    if not bare or not bare.group():
        raise _TagError(position, f"unexpected '{text[position]}' in shortcode parameters")
    return bare.group(), bare.end()


def _read_quoted(text: str, position: int) -> tuple[str, int]:
    value = []
    index = position + 1
    while index < len(text) and text[index] != "\n":
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            value.append(text[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(value), index + 1
        value.append(char)
        index += 1
    raise _TagError(position, "unterminated quoted string in shortcode parameters")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


# ---------------------------------------------------------------- the parser

@dataclass
class _Call:
    """An opening tag paired (or not) with its closing tag."""

    tag: _Tag
    close: _Tag | None
    children: list["_Call"]


class _Parser:
    def __init__(self, post: Post, known: frozenset[str]):
        self.post = post
        self.text = post.body
        self.known = known
        self.errors: list[BuildError] = []
        self.cells: list[Cell] = []
        self.tokens = 0
        self.code_blocks = find_code_blocks(self.text)

    # -- positions and errors

    def location(self, offset: int) -> Location:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return self.post.location(line, column)

    def error(self, offset: int, message: str) -> None:
        self.errors.append(BuildError(self.location(offset), message))

    def reporter(self, offset: int) -> cells.Report:
        return lambda message: self.error(offset, message)

    def next_token(self) -> str:
        self.tokens += 1
        return TOKEN_FORMAT.format(self.tokens)

    # -- driver

    def parse(self) -> tuple[str, list[Shortcode]]:
        items = self.lex()
        calls = self.pair(items, 0, len(items))
        return self.assemble(0, len(self.text), calls, items)

    def lex(self) -> list[_Tag | CodeBlock]:
        """Tags outside code blocks, and the code blocks themselves, in order."""
        items: list[_Tag | CodeBlock] = []
        position = 0
        for block in self.code_blocks + [None]:
            stop = block.start if block else len(self.text)
            items.extend(self.lex_tags(position, stop))
            if block:
                items.append(block)
                position = block.end
        return items

    def lex_tags(self, start: int, stop: int) -> Iterable[_Tag]:
        position = start
        opener = re.compile(r"\{\{[<%]")
        while True:
            match = opener.search(self.text, position, stop)
            if not match:
                return
            try:
                tag = _read_tag(self.text, match.start())
            except _TagError as problem:
                self.error(problem.offset, problem.message)
                position = match.end()
                continue
            yield tag
            position = tag.end

    # -- pairing: an open tag takes the first matching close tag ahead of it at its depth

    def pair(self, items: list, start: int, stop: int) -> list[_Call]:
        calls: list[_Call] = []
        index = start
        while index < stop:
            item = items[index]
            if isinstance(item, CodeBlock) or item.kind == "comment":
                index += 1
                continue
            if item.kind == "close":
                self.error(item.start, f"closing tag '{{{{{item.delimiter} /{item.name} {_closer(item.delimiter)}' "
                                       "has no matching opening tag")
                index += 1
                continue
            close_index = None if item.self_closing else self.find_close(items, index, stop)
            if close_index is None:
                calls.append(_Call(item, None, []))
                index += 1
                continue
            children = self.pair(items, index + 1, close_index)
            calls.append(_Call(item, items[close_index], children))
            index = close_index + 1
        return calls

    def find_close(self, items: list, index: int, stop: int) -> int | None:
        name = items[index].name
        depth = 1
        for later in range(index + 1, stop):
            item = items[later]
            if isinstance(item, CodeBlock) or item.name != name:
                continue
            if item.kind == "open" and not item.self_closing:
                depth += 1
            elif item.kind == "close":
                depth -= 1
                if depth == 0:
                    return later
        return None

    # -- building the new body

    def assemble(self, start: int, stop: int, calls: list[_Call], items: list) -> tuple[str, list[Shortcode]]:
        """Text of [start, stop) with calls replaced by tokens, comments printed, exec fences swapped."""
        pieces: list[str] = []
        shortcodes: list[Shortcode] = []
        position = start
        replacements = self.replacements(start, stop, calls, items)
        for begin, end, text, shortcode in replacements:
            pieces.append(self.text[position:begin])
            pieces.append(text)
            if shortcode is not None:
                shortcodes.append(shortcode)
            position = end
        pieces.append(self.text[position:stop])
        return "".join(pieces), shortcodes

    def replacements(self, start: int, stop: int, calls: list[_Call], items: list):
        """(begin, end, replacement text, Shortcode or None), sorted by position."""
        spans = []
        covered = [(call.tag.start, (call.close or call.tag).end) for call in calls]
        for item in items:
            if isinstance(item, CodeBlock):
                inside = start <= item.start and item.end <= stop
                if inside and not any(begin <= item.start < end for begin, end in covered):
                    spans.append((item.start, None, item))
            elif item.kind == "comment" and start <= item.start < stop:
                if not any(begin <= item.start < end for begin, end in covered):
                    spans.append((item.start, None, item))
        for call in calls:
            spans.append((call.tag.start, call, None))
        spans.sort(key=lambda span: span[0])
        for _, call, item in spans:
            if call is not None:
                yield self.replace_call(call, items)
            elif isinstance(item, CodeBlock):
                yield self.replace_code_block(item)
            else:
                # A comment-form call leaves the call as text; Hugo hands it to goldmark like any
                # other text, so it is literal in a code span (`{{</* x */>}}` shows `{{< x >}}`)
                # and the typographer curls its quotes as it would any others.
                yield item.start, item.end, item.literal, None

    def replace_call(self, call: _Call, items: list):
        tag = call.tag
        end = (call.close or tag).end
        self.check_name(tag)
        self.check_parameters(tag)
        token = self.next_token()
        if tag.name == "highlight" and self.is_exec(tag):
            self.add_highlight_cell(call, token)
            return tag.start, end, token, None
        if tag.name == "highlight" and call.close is None:
            self.error(tag.start, "'highlight' needs a closing tag '{{< /highlight >}}'")
        inner, children = None, []
        if call.close is not None:
            first = items.index(tag) + 1
            last = items.index(call.close)
            inner, children = self.assemble(tag.end, call.close.start, call.children, items[first:last])
        shortcode = Shortcode(name=tag.name, positional=tag.positional, named=dict(tag.named), inner=inner,
                              markdown=tag.delimiter == "%", location=self.location(tag.start), token=token,
                              children=tuple(children))
        return tag.start, end, token, shortcode

    def replace_code_block(self, block: CodeBlock):
        """Exec fences become cells; other code keeps its text, bar comment-form shortcodes."""
        original = self.text[block.start:block.end]
        if block.fenced:
            report = self.reporter(block.start)
            language, options = cells.fence_options(block.info, report)
            if options is not None and cells.read_bool(options.get("exec", "false"), report):
                token = self.next_token()
                code = self.text[block.code_start:block.code_end]
                self.add_cell(language, code, options, block.start, block.first_line + 1, token)
                newline = "\n" if original.endswith("\n") else ""
                return block.start, block.end, block.indent + token + newline, None
        # Hugo prints {{</* x */>}} as {{< x >}} everywhere, code included.
        return block.start, block.end, _uncomment(original), None

    # -- checks

    def check_name(self, tag: _Tag) -> None:
        if tag.name in self.known:
            return
        self.error(tag.start, f"unknown shortcode '{tag.name}'{did_you_mean(tag.name, self.known)}")

    def check_parameters(self, tag: _Tag) -> None:
        if tag.name in _MIXED_PARAMETERS or not (tag.positional and tag.named):
            return
        second = next(offset for kind, offset in tag.order if kind != tag.order[0][0])
        self.error(second, f"shortcode '{tag.name}' mixes positional and named parameters")

    # -- cells

    def is_exec(self, tag: _Tag) -> bool:
        report = self.reporter(tag.start)
        options = cells.highlight_options(tag.positional, tag.named, report)
        return cells.read_bool(options.get("exec", "false"), report)

    def add_highlight_cell(self, call: _Call, token: str) -> None:
        tag = call.tag
        if call.close is None:
            self.error(tag.start, "executable 'highlight' needs a closing tag '{{< /highlight >}}'")
            return
        code_start, code_end = cells.highlight_code_bounds(self.text, tag.end, call.close.start)
        code_line = self.text.count("\n", 0, code_start) + 1
        language = tag.positional[0] if tag.positional else tag.named.get("lang", "python")
        # is_exec() already parsed these options and reported any problem once.
        options = cells.highlight_options(tag.positional, tag.named, report=lambda message: None)
        self.add_cell(language, self.text[code_start:code_end], options, tag.start, code_line, token)

    def add_cell(self, language: str, code: str, options: dict[str, str], offset: int, code_line: int,
                 token: str) -> None:
        """`code_line` is the body line of the code's first line."""
        self.cells.append(cells.make_cell(
            len(self.cells), language, code, options, self.location(offset),
            self.post.body_line + code_line - 1, token, self.reporter(offset)))


def _uncomment(text: str) -> str:
    return re.sub(r"\{\{([<%])/\*(.*?)\*/\s*([>%])\}\}", r"{{\1\2\3}}", text, flags=re.S)

"""Code blocks in a post body: where they are, and the options written on them.

Both the shortcodes stage and the markdown stage read code through this module,
so the blocks whose shortcodes stay literal are exactly the blocks Markdown
shows as code, and a fence's `{exec=true}` means the same to both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# List items, footnote definitions and definitions (`: text`): all hold indented blocks that are not code.
_LIST_ITEM = re.compile(r"^[ ]{0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)|^\[\^[^\]]+\]:|^[ ]{0,3}:[ \t]")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class CodeBlock:
    """A fenced or indented code block: Markdown shows its text literally."""

    start: int                # offset of the block's first character (start of its first line)
    end: int                  # offset just past its last line (including that line's newline)
    fenced: bool
    info: str = ""            # text after the opening fence ("python {exec=true}")
    indent: str = ""          # indentation of the opening fence
    code_start: int = 0       # offset of the code's first character
    code_end: int = 0         # offset just past the code (before the newline of the closing fence)
    first_line: int = 0       # 1-based body line of the opening fence


def find_code_blocks(text: str) -> list[CodeBlock]:
    """Fenced (``` / ~~~, CommonMark rules) and indented code blocks, in order."""
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
                      first_line=number + 1)
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
                      code_end=offsets[last + 1], first_line=number + 1)
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


# ---------------------------------------------------------------- options

def parse_fence_info(info: str) -> tuple[str, dict[str, str]]:
    """"python {exec=true echo=false id=train}" -> ("python", {...}); also commas and quotes.

    Also accepts Hugo's `{linenos=table,hl_lines=[2,"4-5"]}` and pandoc's `{.python}`.
    Raises ValueError for options it cannot read.
    """
    match = re.match(r"^\{?\s*\.?([^\s{}]*)\s*\}?\s*(\{(.*)\})?\s*$", info, re.S)
    if not match:
        return fence_language(info), {}
    language, attributes = match.group(1), match.group(3) or ""
    # Hugo's `{.wide #listing-1 linenos=table}`: classes and an id for the highlight <div>.
    classes = re.findall(r"(?:^|(?<=[\s,]))\.([\w-]+)", attributes)
    identifier = re.findall(r"(?:^|(?<=[\s,]))#([\w-]+)", attributes)
    attributes = re.sub(r"(?:^|(?<=[\s,]))[.#][\w-]+", "", attributes)
    options = parse_option_string(attributes)
    if classes:
        options["class"] = " ".join(classes)
    if identifier:
        options["id"] = identifier[-1]
    return language, options


def fence_language(info: str) -> str:
    """The first word of an info string: the language, when the options cannot be read."""
    return info.split()[0] if info.split() else ""


def parse_option_string(text: str) -> dict[str, str]:
    """`a=1 b="two words", c=[1,"2-3"]` -> {"a": "1", "b": "two words", "c": "1 2-3"}."""
    options: dict[str, str] = {}
    pattern = re.compile(r"""\s*,?\s*([\w-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|'[^']*'|\[[^\]]*\]|[^\s,]*))?""")
    position = 0
    while position < len(text):
        match = pattern.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot read option at '{text[position:].strip()}'")
        if match.group(1):
            options[match.group(1)] = _option_value(match.group(2))
        position = match.end()
        while position < len(text) and text[position] in " ,\t":
            position += 1
    return options


def parse_highlight_options(text: str) -> dict[str, str]:
    """Hugo's highlight option string: "linenos=table,hl_lines=2 4-5" (commas separate, spaces don't)."""
    options: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"expected key=value, got '{item}'")
        options[key.strip()] = value.strip().strip('"')
    return options


def _option_value(raw: str | None) -> str:
    if raw is None:
        return "true"
    if raw[:1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if raw[:1] == "'":
        return raw[1:-1]
    if raw[:1] == "[":     # Hugo's hl_lines=[2,"4-5"] -> "2 4-5"
        return " ".join(item.strip().strip("\"'") for item in raw[1:-1].split(",") if item.strip())
    return raw


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got '{value}'")

"""The options written on code blocks: fence info strings and `highlight` option strings.

Where code blocks are is the source scan's (`content/scan.py`). Both the
shortcodes stage and the markdown stage read options through this module, so a
fence's `{exec=true}` means the same to both.
"""
from __future__ import annotations

import re

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


# ---------------------------------------------------------------- options

def parse_fence_info(info: str) -> tuple[str, dict[str, str]]:
    """"python {exec=true echo=false id=train}" -> ("python", {...}); also commas and quotes.

    Also accepts Hugo's `{linenos=table,hl_lines=[2,"4-5"]}` and pandoc's `{.python}`.
    Raises ValueError for options it cannot read.
    """
    text = info.strip()
    # {python} {exec=true}, {.python} {exec=true}: the language in braces, then the options.
    braced = re.match(r"^\{\s*\.?([^\s{}=]+)\s*\}\s*(\{(.*)\})?\s*$", text, re.S)
    if braced and braced.group(2):
        language, attributes = braced.group(1), braced.group(3)
    elif text.startswith("{=") and text.endswith("}"):
        return text[1:-1].strip(), {}    # pandoc's raw block ({=html}): shown as code, as before
    elif text.startswith("{") and text.endswith("}") and text.count("{") == 1:
        # All in braces: Hugo's ``` {linenos=true}, pandoc's {.python .numberLines} and R Markdown's
        # {r, echo=FALSE, fig.width=6}, whose first word (or first class) is the language.
        attributes = text[1:-1]
        first = re.match(r"\s*\.?([^\s{}=,#.][^\s{}=,]*)(?=\s|,|$)", attributes)
        language, attributes = (first.group(1), attributes[first.end():]) if first else ("", attributes)
    else:
        match = re.match(r"^([^\s{}]*)\s*(\{(.*)\})?\s*$", text, re.S)
        if not match:
            if "{" in text and "=" in text.split("{", 1)[1] and "}" not in text.split("{", 1)[1]:
                # ```python {exec=true: silently plain code, never run, had the brace no end
                raise ValueError("the options' '{' is never closed")
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
    # Names as R Markdown writes them too (fig.width).
    pattern = re.compile(r"""\s*,?\s*([\w.-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|'[^']*'|\[[^\]]*\]|[^\s,]*))?""")
    position = 0
    while position < len(text) and text[position] in " ,\t\n":
        position += 1
    while position < len(text):
        match = pattern.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot read option at '{text[position:].strip()}'")
        if match.group(1):
            options[match.group(1).lower()] = _option_value(match.group(2))   # Hugo: lineNos is linenos
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
        options[key.strip().lower()] = value.strip().strip('"')
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


_LINENOS = {"true", "false", "table", "inline"}
_LINE_RANGE = re.compile(r"\d+(?:-\d+)?")


def display_option_problems(options: dict[str, str]) -> list[tuple[str, str]]:
    """(option, message) for each display option Hugo would not understand: Hugo ignores them silently."""
    problems = []
    linenos = options.get("linenos")
    if linenos is not None and linenos.strip().lower() not in _LINENOS:
        problems.append(("linenos", f"linenos must be true, false, table or inline, got '{linenos}'"))
    hl_lines = options.get("hl_lines")
    if hl_lines is not None:
        items = [item.strip("\"'") for item in re.split(r"[\s,]+", hl_lines.strip().strip("[]")) if item]
        if not all(_LINE_RANGE.fullmatch(item) for item in items):     # `hl_lines=[]`: none, as in Hugo
            problems.append(("hl_lines", f"hl_lines must be line numbers and ranges like \"2 4-6\", got '{hl_lines}'"))
    start = options.get("linenostart")
    if start is not None and not start.strip().isdigit():
        problems.append(("linenostart", f"linenostart must be a line number, got '{start}'"))
    return problems

"""Code -> HTML in the markup Hugo's highlighter (goldmark-highlighting, Chroma) writes.

Hugo's themes style `.chroma` spans and line numbers in tables or inline, so
runpost writes the same elements, with Pygments doing the lexing and naming
tokens by Pygments' short classes (the ones Chroma also uses). Used for fenced
code (fences.py), the highlight shortcode and executable cells (render.py).
"""
from __future__ import annotations

import dataclasses
import fnmatch
import functools
import html
import json
import re
from importlib import resources

from pygments.lexers import find_lexer_class_by_name, get_all_lexers, get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound


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
    lines = _highlighted_lines_of(code, language if lexer is not None else "text")
    return _chroma_html(lines, language or "text", _display(options), _outer_attributes(options, fenced))


def prepare_lexers(languages: set[str]) -> None:
    """Make (and so compile) the lexers for these languages in this process; worker processes
    forked after this inherit them instead of each compiling its own (parallel.precompute)."""
    for language in sorted(languages):
        _lexer(language)


@functools.lru_cache(maxsize=512)
def _highlighted_lines_of(code: str, language: str):
    """Pygments' tokens for the code, remembered: serve re-renders a post's every block after a prose edit."""
    return tuple(_highlighted_lines(code, _lexer(language)))


def _outer_attributes(options: dict[str, str], fenced: bool = False) -> str:
    """Hugo puts a fence's `{.class #id}` on the highlight <div>, and its other attributes
    (`{title="app.py"}`, `data-*`) that are not highlighting options; never an event handler."""
    css = " ".join(["highlight", *options.get("class", "").split()])
    identifier = f' id="{html.escape(options["id"])}"' if options.get("id") else ""
    others = "".join(f' {name}="{html.escape(value)}"' for name, value in options.items()
                     if fenced and _ATTRIBUTE_NAME.fullmatch(name) and name.lower() not in HIGHLIGHT_OPTIONS
                     and not name.lower().startswith("on"))
    return f'class="{html.escape(css)}"{others}{identifier}'


# Hugo's highlighting options (any case), and class/id: the rest of a fence's attributes go on its <div>.
HIGHLIGHT_OPTIONS = frozenset({"linenos", "hl_lines", "linenostart", "anchorlinenos", "lineanchors", "hl_inline",
                                "style", "noclasses", "tabwidth", "guesssyntax", "linenumbersintable", "codefences",
                                "class", "id"})
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][-A-Za-z0-9_.:]*")


@dataclasses.dataclass(frozen=True)
class _Display:
    linenos: str              # "", "table" or "inline"
    marked: tuple[tuple[int, int], ...]   # hl_lines: 1-based (first, last) positions in the code, as written
    start: int
    anchors: bool
    prefix: str
    width: int = 1            # digits in the largest line number


def _display(options: dict[str, str]) -> _Display:
    linenos = options.get("linenos", "false").strip().lower()
    # `linenos=true` is a table unless lineNumbersInTable=false says inline (Hugo's option).
    in_table = options.get("linenumbersintable", "true").strip().lower() != "false"
    linenos = {"true": "table" if in_table else "inline", "table": "table", "inline": "inline"}.get(linenos, "")
    try:
        start = int(options.get("linenostart", "1"))
    except ValueError:
        start = 1
    anchors = options.get("anchorlinenos", "false").lower() == "true"
    return _Display(linenos, _marked_lines(options.get("hl_lines", "")), start, anchors,
                    options.get("lineanchors", ""))


def _marked_lines(spec: str) -> tuple[tuple[int, int], ...]:
    ranges = []
    for part in re.split(r"[\s,]+", spec.strip("[] ")):
        bounds = part.strip("\"'").split("-")
        if all(bound.isdigit() for bound in bounds) and bounds[0]:
            # Past 18 digits a bound is past any block's end (and int() refuses 4,300 digits).
            ranges.append(tuple(int(bound) if len(bound) <= 18 else 10 ** 18 for bound in (bounds[0], bounds[-1])))
    return tuple(ranges)


def _positions(ranges: tuple[tuple[int, int], ...], count: int) -> frozenset[int]:
    """The marked positions among a block's `count` lines: never more than it has, however
    wide the ranges (`hl_lines="1-99999999999"` on a one-line block is one line)."""
    marked: set[int] = set()
    covered = 0          # the ranges, sorted, each taken from past what the ones before covered
    for first, last in sorted(ranges):
        first, last = max(first, covered + 1, 1), min(last, count)
        if first <= last:
            marked.update(range(first, last + 1))
            covered = last
    return frozenset(marked)


# Chroma has no lexer by these names (Pygments does): Hugo shows such code unhighlighted.
# Hugo highlights a fence only when Chroma knows its language; Pygments knows a different set
# (liquid and html+jinja but not go-html-template, say). tests/hugo/probe_chroma.py asked real
# Hugo 0.111 about every name either knows and wrote the answer here.
_PROBED = json.loads(resources.files(__package__).joinpath("chroma_languages.json").read_text(encoding="utf-8"))
_CHROMA = frozenset(_PROBED["highlighted"])
# Chroma also reads a name as a file name ("filename." + name against its globs): `go.mod` is
# highlighted for `*.mod`. The extensions Hugo matched that way, asked as `x.<extension>`.
_CHROMA_EXTENSIONS = frozenset(_PROBED["extensions"])
# Dotted names Chroma knows as names or aliases, so in any case (VB.NET); Hugo asked in capitals.
_CHROMA_DOTTED_ANY_CASE = frozenset(_PROBED["dotted_any_case"])


def chroma_knows(language: str) -> bool:
    """Whether Hugo 0.111's Chroma has a lexer for a fence's language: by name or alias in any
    case (`PY`, `VB.NET`), or a dotted name by its extension, whose glob is case-sensitive (`go.mod`,
    `README.md`; not `Go.Mod`)."""
    if "." not in language:
        return language.lower() in _CHROMA
    parts = language.split(".")
    return language in _CHROMA or language.lower() in _CHROMA_DOTTED_ANY_CASE \
        or any(".".join(parts[index:]) in _CHROMA_EXTENSIONS for index in range(1, len(parts)))
# Chroma lexers that end the code with a newline (EnsureNL), so the last line keeps one.
_ENSURE_NEWLINE = frozenset({"console", "shell-session", "diff", "udiff"})


# Pygments' own lexers only. A name Pygments lacks falls through to the installed
# plugins, which loads every package's entry points (with IPython installed, 0.2 s
# per build); Chroma has none of those lexers anyway.
_PYGMENTS_LEXERS = [(aliases, filenames) for _, aliases, filenames, _ in get_all_lexers(plugins=False) if aliases]
_PYGMENTS_NAMES = frozenset(alias for aliases, _ in _PYGMENTS_LEXERS for alias in aliases)


@functools.lru_cache(maxsize=None)  # lexers are stateless between get_tokens calls
def _lexer(language: str):
    """Pygments' lexer for a language Chroma knows; plain text for one only Chroma knows
    (highlighted markup, untokenised); None for one Chroma does not know (plain <pre>)."""
    name = language.lower()
    if not name or not chroma_knows(language):
        return None
    try:
        if name in _PYGMENTS_NAMES:
            return get_lexer_by_name(name, stripnl=False, ensurenl=True)
        return _lexer_for_filename(f"x.{name}")(stripnl=False, ensurenl=True)
    except ClassNotFound:
        return get_lexer_by_name("text", stripnl=False, ensurenl=True)


def _lexer_for_filename(filename: str):
    """The lexer class Pygments' get_lexer_for_filename picks, among its own lexers only: that
    function also asks every installed package for plugins (0.4 s, once per worker process)."""
    matches = [(find_lexer_class_by_name(aliases[0]), pattern) for aliases, patterns in _PYGMENTS_LEXERS
               for pattern in patterns if fnmatch.fnmatchcase(filename, pattern)]
    if not matches:
        raise ClassNotFound(f"no lexer for filename {filename!r}")
    # As Pygments rates them without code: priority, half a point for a pattern without '*'.
    return max(matches, key=lambda match: (match[0].priority + (0.5 if "*" not in match[1] else 0),
                                           match[0].__name__))[0]


def _highlighted_lines(code: str, lexer) -> list[str]:
    """One HTML string per code line, each ending in "\n" except a last line the code did not end."""
    if not code.strip("\n"):
        return []              # Chroma makes no line of code that is only newlines (or nothing)
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
    marked = _positions(display.marked, len(lines))
    code_lines = []
    for position, (number, line) in enumerate(zip(numbers, lines), 1):
        css = "line hl" if position in marked else "line"
        number_html = _line_number(number, display, "ln", "") if display.linenos == "inline" else ""
        text, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        code_lines.append(f'<span class="{css}">{number_html}<span class="cl">{text}{newline}</span></span>')
    code = f'<pre tabindex="0" class="chroma">{code_open}{"".join(code_lines)}</code></pre>'
    if display.linenos != "table":
        return f'<div {outer}>{code}</div>'
    gutter = "".join(_gutter_line(number, position in marked, display)
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

"""Executable blocks -> Cell: the code that runs and its options, read and checked.

Part of the shortcodes stage: `shortcodes.py` finds the two spellings of an
executable block, `{{< highlight python "exec=true" >}}...{{< /highlight >}}` and
a ```` ```python {exec=true} ```` fence, swaps each for a token and asks this
module for the Cell. Errors go to `report`, which places them at the block's start.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from .codeblocks import parse_bool, parse_fence_info, parse_highlight_options
from .markdown import inner_markdown_to_html
from .placeholders import TOKEN_PATTERN
from ..errors import BuildError, Location
from ..execution.figures import figure_stem
from ..post import Cell, Post, every_call

if TYPE_CHECKING:
    from ..content.scan import SourceScan

# Options that steer execution ("lang" is the highlight shortcode's language); every
# other option is for display (linenos, hl_lines...).
_CELL_OPTIONS = {"exec", "echo", "output", "id", "timeout", "fold", "lang"}

Report = Callable[[str], None]


def read_bool(value: str, report: Report) -> bool:
    try:
        return parse_bool(value)
    except ValueError as problem:
        report(str(problem))
        return False


def fence_options(info: str, report: Report) -> tuple[str, dict[str, str] | None]:
    """A fence's language and options; None for options it cannot read."""
    try:
        return parse_fence_info(info)
    except ValueError as problem:
        report(f"bad code block options: {problem}")
        return "", None


def highlight_options(positional: tuple[str, ...], named: dict[str, str], report: Report) -> dict[str, str]:
    """`{{< highlight python "linenos=table,exec=true" id=x >}}`: option strings after the language, then named."""
    options: dict[str, str] = {}
    for text in positional[1:]:
        try:
            options.update(parse_highlight_options(text))
        except ValueError as problem:
            report(f"bad highlight options: {problem}")
    options.update((key.lower(), value) for key, value in named.items())   # Hugo: hl_Lines is hl_lines
    return options


def highlight_code_bounds(body: str, start: int, end: int) -> tuple[int, int]:
    """The code's offsets between `{{< highlight >}}` (ending at start) and `{{< /highlight >}}` (at end)."""
    # Hugo's highlight shortcode trims every newline after the opening tag and before the
    # closing one (`trim .Inner "\n\r"`): blank lines around the code are not shown.
    while start < end and body[start] in "\r\n":
        start += 1
    while end > start and body[end - 1] in "\r\n":
        end -= 1
    return start, end


def deindent(code: str, indentation: str, fence: bool) -> str:
    """Code written indented under a list item, without that indentation: a fence's (CommonMark
    takes up to as many spaces off each line) or a `{{< highlight >}}` tag's (Hugo's InnerDeindent,
    which its highlight shortcode shows: a line that does not start with it stays as it is).
    Run as written, `  x = 1` is an IndentationError."""
    if not indentation:
        return code

    def line_without(line: str) -> str:
        if line.startswith(indentation):
            return line[len(indentation):]
        return line[min(len(indentation), len(line) - len(line.lstrip(" "))):] if fence else line
    return "\n".join(map(line_without, code.split("\n")))


# The kernel is a Python interpreter; other languages are shown, never run.
RUNNABLE_LANGUAGES = frozenset({"python", "python3", "py", "py3"})


# Options whose misspelling is reported: on a block that runs, echo, output and timeout (a wrong
# one is silently the default: the code shown, a 30-minute limit); on one that does not, exec
# (`{exce=true}` was shown and never run, without a word). Only names one edit away (a letter
# dropped, added, changed or two swapped), four letters or more: Hugo puts any other attribute on
# the block's <div> (`{expect="0 errors"}`, `bold=true`), and those must not fail the build.
_RUN_OPTIONS = ("echo", "output", "timeout")
# What other tools call exec (Quarto's and R Markdown's `eval`, `execute`): `{execute=true}` shown, never run.
_OTHER_TOOLS_EXEC = frozenset({"execute", "eval", "evaluate", "run", "executable"})


def misspelled_options(options: dict[str, str], runs: bool, language: str = "python") -> list[tuple[str, str]]:
    """(option, message) for each option that is no option of a code block but one edit from one runpost
    reads; and another tool's word for exec on a block runpost could run (`{eval=true}` on R is R Markdown's)."""
    from .hugo_compat.highlighting import HIGHLIGHT_OPTIONS

    wanted = _RUN_OPTIONS if runs else ("exec",)
    found = []
    for name in options:
        lowered = name.lower()
        if not runs and lowered in _OTHER_TOOLS_EXEC and options[name].strip().lower() in ("true", "yes", "1") \
                and (language or "python").lower() in RUNNABLE_LANGUAGES:
            close: str | None = "exec"
        elif name in _CELL_OPTIONS or lowered in HIGHLIGHT_OPTIONS or len(lowered) < 4:
            continue
        else:
            close = next((option for option in wanted if _one_edit(lowered, option)), None)
        if close:
            shown = "; as written, the block is shown and never run" if close == "exec" else ""
            found.append((name, f"unknown code block option '{name}' (did you mean '{close}'?{shown})"))
    return found


def _one_edit(one: str, other: str) -> bool:
    """Whether two different words are one edit apart: a letter dropped, added or changed, or two
    neighbours swapped."""
    if one == other or abs(len(one) - len(other)) > 1:
        return False
    if len(one) == len(other):
        differ = [index for index, (a, b) in enumerate(zip(one, other)) if a != b]
        return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                    and one[differ[0]] == other[differ[1]] and one[differ[1]] == other[differ[0]])
    shorter, longer = sorted((one, other), key=len)
    return any(longer[:index] + longer[index + 1:] == shorter for index in range(len(longer)))


def make_cell(index: int, language: str, code: str, options: dict[str, str], location: Location,
              code_line: int, token: str, report: Report) -> Cell:
    """The post's cell number `index`; `code_line` is the file line of its first code line."""
    timeout = _timeout(options, report)
    if (language or "python").lower() not in RUNNABLE_LANGUAGES:
        report(f"only Python blocks can run: exec=true on a '{language}' block "
               f"(use python, or drop exec to show the code)")
    display = {key: value for key, value in options.items() if key not in _CELL_OPTIONS}
    return Cell(
        id=options.get("id") or f"cell-{index + 1}", index=index, language=language or "python",
        code=code, echo=read_bool(options.get("echo", "true"), report),
        output=read_bool(options.get("output", "true"), report), timeout=timeout,
        location=location, code_line=code_line, token=token, display=display,
        fold=_fold(options.get("fold", "false")))


# What a folded block's <summary> says when `fold=true` gives no text of its own.
DEFAULT_FOLD_SUMMARY = "Show the code"


def _fold(value: str) -> str:
    """`fold=true` -> the default summary, `fold=false` -> "" (not folded), any other text is the summary."""
    try:
        return DEFAULT_FOLD_SUMMARY if parse_bool(value) else ""
    except ValueError:
        return value.strip() or DEFAULT_FOLD_SUMMARY


def _timeout(options: dict[str, str], report: Report) -> float | None:
    if "timeout" not in options:
        return None
    try:
        seconds = float(options["timeout"])
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:      # nan ('nan', or not a number) and inf fail both
        report(f"cell timeout must be a number of seconds greater than 0, got '{options['timeout']}'")
        return None
    return seconds


def quoted_exec_blocks(post: Post, scan: SourceScan) -> list[BuildError]:
    """An executable block inside a block quote is shown, never run (runpost runs blocks at the top
    level and in list items): an error, not a silent no-op."""
    from ..content.scan import quoted_exec_fences

    return [BuildError(Location(post.path, scan.position(offset)[0], 1),
                       "exec=true on a block inside a quote: it would be shown, not run; move it out of the quote")
            for offset in quoted_exec_fences(post.body, scan)]


def hidden_exec_blocks(post: Post, shows_inner: frozenset[str], raw_html: bool = False) -> list[BuildError]:
    """An executable block the page does not show: inside an HTML comment (`<!-- disabled ... -->`),
    a raw HTML block the page leaves out (a fence right under `<div>`, no blank line between), a
    footnote no one refers to, or a shortcode whose template never shows what it encloses, or shows
    it through markdownify (not in `shows_inner`: shortcodes_showing_blocks), or that is itself hidden so. It would still run, and
    what it computes reach the page's values unseen: an error at the block, before any code runs.
    Read from the rendered body: the block's token must be in the page's text, or in the text a
    shown call of such a shortcode encloses."""
    if not post.cells:
        return []
    from ..site.html_tags import visible_text_spans     # (the site stage's reading of HTML)

    calls = list(every_call(post.shortcodes))
    parent = {child.token: call for call in calls for child in call.children}
    # Each token's innermost enclosing call (the one with the shortest inner text holding it), in one
    # pass over the calls' inner texts.
    holders: dict[str, Any] = {}
    for call in calls:
        for token in TOKEN_PATTERN.findall(call.inner or ""):
            if token not in holders or len(call.inner) < len(holders[token].inner):
                holders[token] = call
    texts: dict[Any, str] = {}
    spans: dict[Any, list[tuple[int, int]]] = {}

    def shown(token: str, call) -> bool:
        if call is not None and call.name not in shows_inner:
            return False
        place = None if call is None else id(call)
        if place not in texts:      # each text read once: a `{{% %}}`'s inner once rendered (`x<y` is text)
            texts[place] = post.html if call is None else inner_markdown_to_html(call, raw_html) if call.markdown else call.inner
            spans[place] = visible_text_spans(texts[place])
        at = texts[place].find(token)
        if at < 0 or not any(start <= at < end for start, end in spans[place]):
            return False
        return call is None or shown(call.token, parent.get(call.token))

    return [BuildError(cell.location, "this executable block is not shown on the page (it sits in an HTML comment, "
                       "a raw HTML block, a footnote no one refers to, or a shortcode that does not show what it "
                       "encloses, or shows it through markdownify), yet it would run and change what the page says: "
                       "take it out, or remove exec=true")
            for cell in post.cells if not shown(cell.token, holders.get(cell.token))]


# The default theme's <main id>: a name no heading's id can have (base.html), nor a cell's.
THEME_MAIN_ID = "site.main"


def duplicate_cell_ids(cells: list[Cell]) -> list[BuildError]:
    """Outputs and cached results are keyed by cell id, so each id must be unique within its post."""
    errors: list[BuildError] = []
    seen: dict[str, Cell] = {}
    stems: dict[str, Cell] = {}        # two ids that name the same figure files ("a b", "a-b")
    for cell in cells:
        stem = figure_stem(cell.id)
        if cell.id == THEME_MAIN_ID:
            errors.append(BuildError(cell.location, f"cell id '{cell.id}' is the theme's (its <main>): choose another id"))
        elif cell.id in seen:
            errors.append(BuildError(cell.location, f"duplicate cell id '{cell.id}' "
                                                    f"(first used at {seen[cell.id].location})"))
        elif stem in stems:
            errors.append(BuildError(cell.location, f"cell id '{cell.id}' names the same figure files as "
                                     f"'{stems[stem].id}' ({stems[stem].location}): {stem}-1.png; choose another id"))
        seen.setdefault(cell.id, cell)
        stems.setdefault(stem, cell)
    return errors

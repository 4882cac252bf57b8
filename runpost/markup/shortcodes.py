"""Find `{{< >}}` / `{{% %}}` shortcode calls and executable blocks; swap each for a placeholder.

`parse_shortcodes` is pure: it reads `post.body` and returns a Post whose body
holds one placeholder token per top-level call (or executable block), plus the
parsed calls (`Post.shortcodes`, a tree) and cells (`Post.cells`, flat, in
document order). Markdown never sees shortcode syntax; `site/fragments.py` later swaps
each token for HTML. The tags and code blocks come from the post's source scan
(`content/scan.py`, which also lexes the grammar below); this module pairs the
tags and builds the placeholder body. Shortcodes inside code stay literal, and
`cells.py` turns each executable block into a Cell.

Grammar (Hugo's): `{{< name "positional" `raw` bare >}}`, `{{< name key="v" k2=v >}}`,
closing tags `{{< /name >}}` (also `{{< / name >}}`), self-closing `{{< name />}}`,
the `%` form whose inner and output are Markdown, and the comment form
`{{</* name */>}}` that prints the call literally.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from . import cells
from .codeblocks import display_option_problems
from .placeholders import TOKEN_PATTERN, make_token
from .math import MATH_SHORTCODE, MathError, latex_to_mathml
from ..content.scan import CodeBlock, MathRegion, Tag, closer_of, closing_tags, scan_of
from ..errors import BuildError, BuildErrors, Location, did_you_mean
from ..post import Cell, Post, Shortcode, every_call

BUILTINS = frozenset({"highlight", "figure", "youtube", "vimeo", "gist", "tweet", "instagram", "param", "ref", "relref",
                      "value", "table", "vimeo_simple", "twitter", "twitter_simple", "instagram_simple"})


# Built-ins whose documented form mixes a positional argument with named options
# (`{{< table results caption="..." >}}`); Hugo's rule forbids mixing elsewhere.
_MIXED_PARAMETERS = {"highlight", "table", "value"}
# runpost's own shortcodes and the named parameters each takes (any other is a typo: `fromat=`),
# and how many of them may be given by position (`{{< value acc ".2f" >}}`, `{{< table rows >}}`).
_OWN_PARAMETERS = {"value": ("name", "format"), "table": ("name", "caption", "format")}
_OWN_POSITIONAL = {"value": ("name", "format"), "table": ("name",)}
# Hugo 0.111's figure parameters (tpl/tplimpl/embedded/templates/shortcodes/figure.html).
_FIGURE_PARAMETERS = frozenset({"src", "link", "target", "rel", "alt", "title", "caption", "attr", "attrlink",
                                "width", "height", "class", "loading"})


def available_shortcodes(config) -> frozenset[str]:
    """Built-ins plus every templates/shortcodes/<name>.html in the config's template dirs."""
    return BUILTINS | frozenset(_shortcode_templates(config))


def shortcodes_needing_inner(config) -> frozenset[str]:
    """Shortcodes that must be closed: highlight, and templates that use `inner` (Hugo's
    .Inner rule: `{{< note >}}` with no `{{< /note >}}` is an error, not an empty note)."""
    templates = _shortcode_templates(config)
    return frozenset({"highlight"} | {name for name, path in templates.items() if _uses_inner(path)})


def shortcodes_showing_blocks(config) -> frozenset[str]:
    """Shortcodes that show an executable block written inside them: templates that write `inner`,
    not through `markdownify` unless the site keeps raw HTML (markdownify reads the enclosed text as
    Markdown, where a block's HTML is raw HTML, omitted otherwise). cells.hidden_exec_blocks asks."""
    return frozenset(name for name, path in _shortcode_templates(config).items()
                     if _uses_inner(path) and (config.raw_html or not _only_markdownified(path.read_bytes())))


def _only_markdownified(template: bytes) -> bool:
    """Whether every `inner` of a template goes through markdownify (`inner | markdownify`, `inner |
    trim | markdownify`): one written any other way (in another branch, `{{ inner }}`) may show it."""
    uses = len(re.findall(rb"\binner\b", template))
    return uses > 0 and uses == len(_MARKDOWNIFIED.findall(template))


_MARKDOWNIFIED = re.compile(rb"\binner\s*(?:\|\s*\w+\s*(?:\([^()]*\))?\s*)*\|\s*markdownify\b")


def _uses_inner(path: Path) -> bool:
    # As bytes: a template that is not UTF-8 is reported where it is rendered, at its file.
    try:
        return re.search(rb"\binner\b", path.read_bytes()) is not None
    except OSError as error:
        raise BuildError(Location(path), f"cannot read this template: {error.strerror or error}") from None


def _shortcode_templates(config) -> dict[str, Path]:
    """name -> template file; a site's own template wins over the theme's."""
    found: dict[str, Path] = {}
    for folder in reversed(config.templates_dirs):
        shortcodes = Path(folder) / "shortcodes"
        if shortcodes.is_dir():
            # Not dot-names: an editor's lock or backup file (`.#note.html`) is not a shortcode.
            found.update({path.relative_to(shortcodes).with_suffix("").as_posix(): path
                          for path in shortcodes.rglob("*.html")
                          if not any(part.startswith(".") for part in path.relative_to(shortcodes).parts)})
    return found


def parse_shortcodes(post: Post, known: frozenset[str] = BUILTINS,
                     needing_inner: frozenset[str] = frozenset({"highlight"})) -> Post:
    """Replace every top-level call and executable block in `post.body` with its token."""
    scan = scan_of(post)
    parser = _Parser(post, scan, known, needing_inner)
    body, shortcodes = parser.parse()
    errors = parser.errors + cells.duplicate_cell_ids(parser.cells) + cells.quoted_exec_blocks(post, scan)
    if errors:
        raise BuildErrors(errors)
    return dataclasses.replace(post, body=body, shortcodes=tuple(shortcodes), cells=tuple(parser.cells), scan=scan)


# ---------------------------------------------------------------- the parser

@dataclass
class _Call:
    """An opening tag paired (or not) with its closing tag."""

    tag: Tag
    close: Tag | None
    children: list["_Call"]


# Text of the writer's that a token could be mistaken for, in any case (TOKEN_PATTERN's).
_TYPED_TOKEN = re.compile(TOKEN_PATTERN.pattern, re.IGNORECASE)


class _Parser:
    def __init__(self, post: Post, scan, known: frozenset[str], needing_inner: frozenset[str]):
        self.post = post
        self.scan = scan
        self.text = post.body
        self.known = known
        self.needing_inner = needing_inner
        self.errors: list[BuildError] = []
        self.cells: list[Cell] = []
        self.tokens = 0
        self._typed: set[str] | None = None   # token-like text the writer typed, found when a token is first needed
        self._closes: tuple[list, dict[int, int]] | None = None     # pair()'s items and their closing tags

    # -- positions and errors

    def location(self, offset: int) -> Location:
        return Location(self.post.path, *self.scan.position(offset))

    def error(self, offset: int, message: str) -> None:
        self.errors.append(BuildError(self.location(offset), message))

    def option_offset(self, start: int, end: int, name: str) -> int:
        """Where option `name` is written in text[start:end] (a fence's line, a highlight call), else `start`."""
        found = re.compile(rf"(?<![\w-]){re.escape(name)}(?=\s*=|[\s,}}\]\"])").search(self.text, start, end)
        return found.start() if found else start

    def reporter(self, offset: int) -> cells.Report:
        return lambda message: self.error(offset, message)

    def next_token(self) -> str:
        # A number whose token the writer's own text holds (`RPSC0001X`, typed) is skipped: fill()
        # leaves text that is no call's token as it is, so it stays on the page as written.
        self.tokens += 1
        if self._typed is None:       # in any case: heading ids read tokens lower-cased
            self._typed = {found.upper() for found in _TYPED_TOKEN.findall(self.text)}
        while make_token(self.tokens) in self._typed:
            self.tokens += 1
        return make_token(self.tokens)

    # -- driver

    def parse(self) -> tuple[str, list[Shortcode]]:
        items = self.lex()
        calls = self.pair(items, 0, len(items))
        return self.assemble(0, len(self.text), calls, items)

    def lex(self) -> list[Tag | CodeBlock]:
        """Tags outside code blocks, and the code blocks themselves, in order (from the scan)."""
        for offset, message in self.scan.problems:
            self.error(offset, message)
        return sorted(self.scan.tags + self.scan.blocks, key=lambda item: item.start)

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
                self.error(item.start, f"closing tag '{{{{{item.delimiter} /{item.name} {closer_of(item.delimiter)}' "
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
        if self._closes is None or self._closes[0] is not items:
            self._closes = (items, closing_tags(items))
        close = self._closes[1].get(index)
        return close if close is not None and close < stop else None

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
        formulas, calls = self.formulas_in(start, stop, calls)
        covered = [(call.tag.start, (call.close or call.tag).end) for call in calls]
        covered += [(formula.start, formula.end) for formula, _ in formulas]
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
        for formula in formulas:
            spans.append((formula[0].start, None, formula))
        spans.sort(key=lambda span: span[0])
        for _, call, item in spans:
            if call is not None:
                yield self.replace_call(call, items)
            elif isinstance(item, tuple):
                yield self.replace_formula(*item, items)
            elif isinstance(item, CodeBlock):
                yield self.replace_code_block(item)
            else:
                # A comment-form call leaves the call as text; Hugo hands it to goldmark like any
                # other text, so it is literal in a code span (`{{</* x */>}}` shows `{{< x >}}`)
                # and the typographer curls its quotes as it would any others.
                yield item.start, item.end, item.literal, None

    def formulas_in(self, start: int, stop: int, calls: list[_Call]):
        """The formulas in [start, stop) outside calls, each with the calls inside it; the other calls."""
        formulas = []
        inside: set[int] = set()
        for formula in self.scan.math:
            if not (start <= formula.start and formula.end <= stop):
                continue
            spans = [(call.tag.start, (call.close or call.tag).end) for call in calls]
            if any(begin < formula.start < end for begin, end in spans):
                continue                  # inside a call's inner text: that call's own assemble takes it
            if any(begin < formula.end and end > formula.start and not (formula.start <= begin and end <= formula.end)
                   for begin, end in spans):
                continue                  # a call straddles a delimiter: not a formula
            children = [call for call in calls if formula.start <= call.tag.start < formula.end]
            inside.update(id(call) for call in children)
            formulas.append((formula, children))
        return formulas, [call for call in calls if id(call) not in inside]

    def replace_formula(self, formula: MathRegion, children: list[_Call], items: list):
        """A formula becomes a token; its LaTeX (values as tokens) is checked now, converted with the values later."""
        token = self.next_token()
        inner_items = [item for item in items if formula.content_start <= item.start < formula.content_end]
        latex, nested = self.assemble(formula.content_start, formula.content_end, children, inner_items)
        try:
            latex_to_mathml(latex, formula.display)
        except MathError as problem:
            self.error(formula.start, f"cannot render math '{latex.strip()}': {problem}")
        shortcode = Shortcode(name=MATH_SHORTCODE, positional=(), named={"display": str(formula.display).lower()},
                              inner=latex, markdown=False, location=self.location(formula.start), token=token,
                              children=tuple(nested))
        return formula.start, formula.end, token, shortcode

    def replace_call(self, call: _Call, items: list):
        tag = call.tag
        end = (call.close or tag).end
        self.check_name(tag)
        self.check_parameters(tag)
        self.check_figure(tag)
        self.check_own_parameters(tag)
        token = self.next_token()
        # highlight's options are read here, once: the cell, the renderer and the checks use these.
        options = self.highlight_options(tag) if tag.name == "highlight" else {}
        runs = tag.name == "highlight" and cells.read_bool(options.get("exec", "false"), self.reporter(tag.start))
        language = (tag.positional[0] if tag.positional else tag.named.get("lang", "python")) if tag.name == "highlight" else ""
        for name, message in cells.misspelled_options(options, runs, language):
            self.error(self.option_offset(tag.start, tag.end, name), message)
        if runs:
            self.add_highlight_cell(call, token, options)
            return tag.start, end, token, None
        if tag.name in self.needing_inner and call.close is None and not tag.self_closing:
            # Hugo renders `{{< highlight python />}}` as an empty block; an unpaired call has no inner text.
            self.error(tag.start, f"'{tag.name}' needs a closing tag "
                                  f"'{{{{{tag.delimiter} /{tag.name} {closer_of(tag.delimiter)}'")
        if tag.name == "highlight":
            for inside in every_call(call.children):
                if inside.tag.name == "highlight":
                    # Its HTML would be shown as code, and each level escapes the one inside again:
                    # 100 levels made a 9.6 MB page, 3,000 (a 60 KB post) ran the machine out of memory.
                    self.error(inside.tag.start, "a 'highlight' inside another highlight's code would show "
                                                 "its HTML as code: close the first before opening the next")
                    break
        inner, children = None, []
        if call.close is not None:
            first = items.index(tag) + 1
            last = items.index(call.close)
            inner, children = self.assemble(tag.end, call.close.start, call.children, items[first:last])
            if tag.name == "highlight":
                inner = cells.deindent(inner, self.indentation(tag.start), fence=False)
        shortcode = Shortcode(name=tag.name, positional=tag.positional, named=dict(tag.named), inner=inner,
                              markdown=tag.delimiter == "%", location=self.location(tag.start), token=token,
                              children=tuple(children), options=options)
        return tag.start, end, token, shortcode

    def replace_code_block(self, block: CodeBlock):
        """Exec fences become cells; other code keeps its text, bar comment-form shortcodes."""
        original = self.text[block.start:block.end]
        if block.fenced:
            report = self.reporter(block.start)
            language, options = cells.fence_options(block.info, report)
            if options == {} and re.search(r"(?:^|\s)exec\s*=", block.info):
                # goldmark reads `python exec=true` as the language and ignores the rest: the code
                # would be shown, never run, without a word.
                words = block.info.split(None, 1)
                language, rest = (words[0], words[1]) if len(words) == 2 and "=" not in words[0] else ("python", block.info)
                report(f"options after the language go in braces: ```{language} {{{rest.strip()}}}")
            if options is not None:
                self.check_display_options(options, block.start, block.code_start)
            runs = options is not None and cells.read_bool(options.get("exec", "false"), report)
            for name, message in cells.misspelled_options(options or {}, runs, language or ""):
                line_end = self.text.find("\n", block.start)
                self.error(self.option_offset(block.start, line_end if line_end >= 0 else block.end, name), message)
            if runs:
                token = self.next_token()
                code = cells.deindent(self.text[block.code_start:block.code_end], block.indent, fence=True)
                self.add_cell(language, code, options, block.start, block.first_line + 1, token)
                newline = "\n" if original.endswith("\n") else ""
                return block.start, block.end, block.indent + token + newline, None
        # Hugo prints {{</* x */>}} as {{< x >}} everywhere, code included.
        return block.start, block.end, _uncomment(original), None

    # -- checks

    def check_name(self, tag: Tag) -> None:
        if tag.name in self.known:
            return
        self.error(tag.start, f"unknown shortcode '{tag.name}'{did_you_mean(tag.name, self.known)}")

    def check_parameters(self, tag: Tag) -> None:
        if tag.name in _MIXED_PARAMETERS or not (tag.positional and tag.named):
            return
        first = tag.parameters[0].name is None
        second = next(parameter.offset for parameter in tag.parameters if (parameter.name is None) != first)
        self.error(second, f"shortcode '{tag.name}' mixes positional and named parameters")

    # -- cells

    def highlight_options(self, tag: Tag) -> dict[str, str]:
        options = cells.highlight_options(tag.positional, tag.named, self.reporter(tag.start))
        self.check_display_options(options, tag.start, tag.end)
        return options

    def check_display_options(self, options: dict[str, str], start: int, end: int) -> None:
        """Report each option Hugo would not understand at the column where it is written."""
        for key, message in display_option_problems(options):
            found = re.search(rf"\b{re.escape(key)}\s*=", self.text[start:end], re.IGNORECASE)
            self.error(start + found.start() if found else start, message)

    def check_figure(self, tag: Tag) -> None:
        if tag.name != "figure":
            return
        # Hugo's figure ignores a parameter it does not know: `captoin=` left the caption out unsaid.
        misspelt = {name: close for name in tag.named if name not in _FIGURE_PARAMETERS
                    and (close := difflib.get_close_matches(name.lower(), sorted(_FIGURE_PARAMETERS), n=1, cutoff=0.6))}
        for name, close in misspelt.items():
            self.error(tag.start, f"unknown figure parameter '{name}' (did you mean '{close[0]}'?)")
        mixed = tag.positional and tag.named          # reported by check_parameters already
        if not mixed and not tag.named.get("src") and "src" not in {close[0] for close in misspelt.values()}:
            # Hugo's figure takes named parameters only, so `{{< figure "a.png" >}}` has no src either.
            self.error(tag.start, "figure needs an image: {{< figure src=\"image.png\" >}}")

    def check_own_parameters(self, tag: Tag) -> None:
        """A named parameter runpost's value or table does not take was ignored: `fromat=".2f"` printed
        every digit, `captoin=` left the table without its caption, and nothing said so."""
        takes = _OWN_PARAMETERS.get(tag.name)
        positional = [parameter for parameter in tag.parameters if parameter.name is None] if takes else []
        for extra in positional[len(_OWN_POSITIONAL.get(tag.name, ())):]:
            allowed = _OWN_POSITIONAL[tag.name]
            named = [name for name in takes if name not in allowed]
            by_name = f"; give {' or '.join(f'{name}=' for name in named)} by name" if named else ""
            self.error(extra.offset, f"{tag.name} takes {len(allowed)} positional parameter"
                                     f"{'s' if len(allowed) > 1 else ''} ({', '.join(allowed)}){by_name}")
            break
        # No name at all: said now, before any code runs, not once the post's code has run (fragments.py).
        named = {parameter.name for parameter in tag.parameters if parameter.name is not None}
        if takes and not positional and "name" not in named and not any(
                difflib.get_close_matches(name.lower(), ["name"], n=1, cutoff=0.6) for name in named - set(takes)):
            self.error(tag.start, f"{tag.name} needs the name of a published value: {{{{< {tag.name} name >}}}}")
        for parameter in tag.parameters if takes else ():
            if parameter.name is not None and parameter.name not in takes:
                close = difflib.get_close_matches(parameter.name.lower(), takes, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"it takes {', '.join(takes)}"
                written = self.text.rfind(parameter.name, tag.start, parameter.offset)   # (offset: its value's)
                self.error(written if written >= 0 else parameter.offset,
                           f"unknown {tag.name} parameter '{parameter.name}' ({hint})")

    def add_highlight_cell(self, call: _Call, token: str, options: dict[str, str]) -> None:
        tag = call.tag
        if call.close is None:
            self.error(tag.start, "executable 'highlight' needs a closing tag '{{< /highlight >}}'")
            return
        code_start, code_end = cells.highlight_code_bounds(self.text, tag.end, call.close.start)
        code_line = self.text.count("\n", 0, code_start) + 1
        language = tag.positional[0] if tag.positional else tag.named.get("lang", "python")
        code = cells.deindent(self.text[code_start:code_end], self.indentation(tag.start), fence=False)
        self.add_cell(language, code, options, tag.start, code_line, token)

    def indentation(self, offset: int) -> str:
        """The spaces and tabs before `offset` on its line, if nothing else is before it there."""
        before = self.text[self.text.rfind("\n", 0, offset) + 1:offset]
        return before if not before.strip(" \t") else ""

    def add_cell(self, language: str, code: str, options: dict[str, str], offset: int, code_line: int,
                 token: str) -> None:
        """`code_line` is the body line of the code's first line."""
        self.cells.append(cells.make_cell(
            len(self.cells), language, code, options, self.location(offset),
            self.post.body_line + code_line - 1, token, self.reporter(offset)))


def _uncomment(text: str) -> str:
    return re.sub(r"\{\{([<%])/\*(.*?)\*/\s*([>%])\}\}", r"{{\1\2\3}}", text, flags=re.S)

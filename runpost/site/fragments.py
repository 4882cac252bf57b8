"""Swap each placeholder in `post.html` for its shortcode's or cell's HTML.

Built-ins written in Python: highlight, executable cells, ref/relref, value,
table. Built-ins written as templates (so a site can override them):
`templates/shortcodes/figure.html` and `youtube.html`. A site's own
shortcodes are `templates/shortcodes/<name>.html`, rendered with `params`
(named), `positional`, `inner` and `page`.

Everything here emits site paths ("/posts/x/"); the page-relative rewrite is
the last step of render_site, not ours.
"""
from __future__ import annotations

import datetime as dt
import functools
import html
import numbers
import os
import posixpath
import re
from pathlib import Path
from typing import Any, Callable

import jinja2
from markupsafe import Markup
from pygments.formatters import HtmlFormatter
from pygments.styles import get_style_by_name

from ..config import DEFAULT_TEMPLATES
from ..markup.cells import highlight_code_bounds
from ..deep import bounded
from ..errors import BuildError, BuildErrors, Location, did_you_mean
from ..markup.hugo_compat.headings import go_lower, resolve_heading_ids
from ..markup.markdown import heading_id, highlight_code, inner_markdown_to_html, markdown_to_html, without_controls
from .environment import syntax_error, template_location, template_problem
from .images import size_images
from ..markup.math import MATH_SHORTCODE, MathError, latex_to_mathml
from ..post import Cell, Post, Shortcode, every_call
from ..markup.placeholders import fill

LIGHT_STYLE = "default"        # Pygments' default meets WCAG AA on white
DARK_STYLE = "github-dark"


def render_content(post: Post, refs: dict[str, str], env: jinja2.Environment,
                   left_out: dict[str, str] | None = None, images: dict[str, Path] | None = None) -> str:
    """post.html with every placeholder replaced by its HTML; all errors raised together.
    `left_out`: name -> why of each post not published, for what a ref to one says; `images`:
    the site's own images (static/, content/), sized like the post's own files."""
    renderer = _Renderer(post, refs, env, left_out)
    content = resolve_heading_ids(renderer.expand(post.html), renderer.heading_id_text)
    if renderer.errors:
        raise BuildErrors(renderer.errors)
    return size_images(content, {**(images or {}), **post.assets, **post.results.files}, post.url)


def shortcode_renderer(post: Post, refs: dict[str, str], env: jinja2.Environment) -> Callable[[str], str]:
    """token -> the HTML of its call or cell, as render_content makes it (for the notebook's prose)."""
    return _Renderer(post, refs, env).render


@functools.cache       # the installed Pygments' styles: the same for the whole process (serve's rebuilds)
def syntax_css() -> str:
    """One stylesheet: a light Pygments style, and a dark one for `prefers-color-scheme: dark`."""
    dark = _style_css(DARK_STYLE).replace("\n", "\n  ")
    return (f"/* Code highlighting: Pygments '{LIGHT_STYLE}' and '{DARK_STYLE}' on Hugo's Chroma markup. */\n"
            f"{_LAYOUT_CSS}\n{_style_css(LIGHT_STYLE)}\n"
            f"@media (prefers-color-scheme: dark) {{\n  {dark}\n}}\n")


_LAYOUT_CSS = """\
.chroma .lntable { border-spacing: 0; padding: 0; margin: 0; border: 0; }
.chroma .lntd { vertical-align: top; padding: 0; margin: 0; border: 0; }
.chroma .line { display: flex; }
.chroma .ln, .chroma .lnt { white-space: pre; user-select: none; margin-right: 0.4em; padding: 0 0.4em; }
.chroma .lnlinks { outline: none; text-decoration: none; color: inherit; }
.highlight pre { overflow-x: auto; padding: 0.75em 1em; }"""


def _style_css(name: str) -> str:
    style = get_style_by_name(name)
    formatter = HtmlFormatter(style=style)
    rules = formatter.get_style_defs(".chroma")
    # Chroma marks lines and numbers with .hl/.ln/.lnt where Pygments has .hll/.linenos.
    numbers_color = getattr(style, "line_number_color", "inherit")
    return (f".chroma {{ background-color: {style.background_color}; }}\n"
            f".highlight pre.chroma {{ background-color: {style.background_color}; }}\n"
            f".chroma .hl {{ background-color: {style.highlight_color}; display: block; }}\n"
            f".chroma .ln, .chroma .lnt {{ color: {numbers_color}; }}\n{rules}")


# The built-ins that only check their parameters, then render the theme's template: a site's own
# template of the name (a `tweet` that takes a URL) is rendered as the site wrote it.
_LINKING = frozenset({"youtube", "vimeo", "gist", "tweet", "instagram",
                      "vimeo_simple", "twitter", "twitter_simple", "instagram_simple"})   # (Hugo's older names)

# The shortcodes that embed (or link) one thing of another site by its id: (its form, what it is
# called, an example). Checked before the template runs: a page never links a malformed id.
_ID_FORMS = {
    "youtube": (r"[A-Za-z0-9_-]+", "video", "{{< youtube LHXXI4-IEns >}}"),
    "vimeo": (r"[0-9]+(?:/[0-9a-f]+)?", "video", "{{< vimeo 146022717 >}}"),
    "instagram": (r"[A-Za-z0-9_-]+", "post", "{{< instagram BWNjjyYFxVx >}}"),
}
_ID_FORMS.update({"vimeo_simple": _ID_FORMS["vimeo"], "instagram_simple": _ID_FORMS["instagram"]})


class _Renderer:
    def __init__(self, post: Post, refs: dict[str, str], env: jinja2.Environment,
                 left_out: dict[str, str] | None = None):
        self.post = post
        self.refs = refs
        self.left_out = left_out or {}
        self.env = env
        self.errors: list[BuildError] = []
        self.rendered: dict[str, str] = {}
        self.calls: dict[str, Shortcode | Cell] = {cell.token: cell for cell in post.cells}
        for shortcode in every_call(post.shortcodes):
            self.calls[shortcode.token] = shortcode
        self.markdownify: Callable[[str], str] = env.filters.get("markdownify") or (
            lambda text: Markup(markdown_to_html(str(text), raw_html=False, inline=True)))
        self.builtins: dict[str, Callable[[Shortcode], str]] = {
            "highlight": self.highlight, "ref": self.ref, "relref": self.ref,
            "value": self.value, "table": self.table, "youtube": self.by_id, "vimeo": self.by_id,
            "gist": self.gist, "tweet": self.tweet, "instagram": self.by_id, "param": self.param,
            "vimeo_simple": self.by_id, "twitter": self.tweet, "twitter_simple": self.tweet, "instagram_simple": self.by_id,
            MATH_SHORTCODE: self.math,
        }

    def expand(self, text: str) -> str:
        return fill(text, self.render)

    def heading_id_text(self, token: str) -> str:
        """What the call or formula `token` adds to its heading's id: its output's text; a formula's
        LaTeX, as Hugo's id reads the formula's source (`## Why $\\hat\\beta$`: why-hatbeta)."""
        call = self.calls.get(token)
        if call is None:        # the writer's own text that looks like a token: lower-cased, as the id's other words
            return token.lower()
        if isinstance(call, Shortcode) and call.name == MATH_SHORTCODE:
            return heading_id(fill(call.inner or "", lambda inner: heading_id_text(self.render(inner))))
        return heading_id_text(self.render(token))

    def render(self, token: str) -> str:
        # A token in a heading is rendered twice (id and text): render it once.
        if token not in self.rendered:
            self.rendered[token] = self.render_call(token)
        return self.rendered[token]

    def render_call(self, token: str) -> str:
        call = self.calls.get(token)
        if call is None:         # not ours: text that merely looks like a token
            return token
        try:
            if isinstance(call, Cell):
                return self.cell(call)
            return self.shortcode(call)
        except BuildError as error:
            self.errors.append(error)
            return ""

    def fail(self, shortcode: Shortcode | Cell, message: str) -> BuildError:
        return BuildError(shortcode.location, message)

    # -- shortcodes

    def shortcode(self, shortcode: Shortcode) -> str:
        builtin = self.builtins.get(shortcode.name)
        if builtin and shortcode.name in _LINKING and self._sites_own(shortcode.name):
            return self.template(shortcode)      # the site's template, with parameters of its own
        if builtin:
            return builtin(shortcode)
        return self.template(shortcode)

    def inner(self, shortcode: Shortcode) -> str:
        """The inner text as the template gets it: children rendered, `%` form as Markdown."""
        if shortcode.inner is None:
            return Markup("")
        if shortcode.markdown:
            return Markup(self.expand(inner_markdown_to_html(shortcode, self.raw_html())))
        return Markup(self.expand(shortcode.inner))

    def raw_html(self) -> bool:
        return bool(self.env.globals.get("raw_html", False))

    def template(self, shortcode: Shortcode) -> str:
        try:
            template = self.env.get_template(f"shortcodes/{shortcode.name}.html")
        except jinja2.TemplateNotFound:
            raise self.fail(shortcode, f"no template for shortcode '{shortcode.name}' "
                                       f"(expected templates/shortcodes/{shortcode.name}.html)") from None
        except jinja2.TemplateSyntaxError as error:     # at the template's line, as a page template's is
            raise syntax_error(error, f"shortcodes/{shortcode.name}.html") from None
        try:
            inner = self.inner(shortcode)
            output = bounded(lambda: template.render(params=dict(shortcode.named), positional=list(shortcode.positional),
                                                     inner=inner, page=self.post, name=shortcode.name))
        except BuildError:
            raise
        except RecursionError:
            raise self.fail(shortcode, f"shortcode '{shortcode.name}' never ends: its template includes itself or calls "
                                       f"a macro that never stops calling itself (in {template.filename or template.name})") from None
        except Exception as error:   # a template bug: point at the call, and at the template's line
            where = template_location(error, getattr(template, "filename", None) or template.name)
            raise self.fail(shortcode, f"shortcode '{shortcode.name}' failed: {template_problem(error)} "
                                       f"(at {where})") from None
        # A URL that would run script, made by the template (not from the call's own parameters,
        # which the link check finds where they are written): an error at the call, not at the whole page.
        from .urls import script_scheme, script_urls       # fragments -> urls -> html_tags: light, but only here

        given = [*shortcode.named.values(), *shortcode.positional]
        for url in script_urls(output) if not any(script_scheme(str(value)) for value in given) else ():
            if not any(url in value for value in given):
                raise self.fail(shortcode, f"shortcode '{shortcode.name}' writes a {script_scheme(url)}: URL "
                                           f"('{url[:60]}', in {Location(Path(template.filename or template.name))}): "
                                           "links and images may not run script")
        return output

    def _sites_own(self, name: str) -> bool:
        """Whether the site's templates/shortcodes/<name>.html stands in for the theme's."""
        try:
            filename = self.env.get_template(f"shortcodes/{name}.html").filename or ""
        except jinja2.TemplateError:
            return False       # reported where the template is rendered
        return not os.path.abspath(filename).startswith(os.path.join(str(DEFAULT_TEMPLATES), ""))

    def by_id(self, shortcode: Shortcode) -> str:
        """youtube, vimeo, instagram: an id (`id`, else the first positional) of the form the site uses."""
        pattern, kind, example = _ID_FORMS[shortcode.name]
        given = shortcode.named.get("id") or (shortcode.positional[0] if shortcode.positional else "")
        if not re.fullmatch(pattern, given):
            raise self.fail(shortcode, f"{shortcode.name} needs a {kind} id like {example}, got '{given}'")
        return self.template(shortcode)

    def gist(self, shortcode: Shortcode) -> str:
        # Hugo loads gist.github.com's script on every page view; runpost links the gist (no
        # third-party script runs on the page, and the page reads the same without the network).
        user, gist = (list(shortcode.positional) + ["", ""])[:2]
        if not (re.fullmatch(r"[A-Za-z0-9-]+", user) and re.fullmatch(r"[0-9a-fA-F]+", gist)):
            raise self.fail(shortcode, "gist needs a GitHub user and a gist id like "
                                       f"{{{{< gist spf13 7896402 >}}}}, got '{user} {gist}'")
        return self.template(shortcode)

    def tweet(self, shortcode: Shortcode) -> str:
        # Hugo 0.111's fetches the post from publish.twitter.com at every build: a link here (as gist).
        post = shortcode.named.get("id") or (shortcode.positional[-1] if shortcode.positional else "")
        user = shortcode.named.get("user") or (shortcode.positional[0] if len(shortcode.positional) > 1 else "")
        if not (re.fullmatch(r"[0-9]+", post) and re.fullmatch(r"[A-Za-z0-9_]*", user)) or len(shortcode.positional) > 2:
            raise self.fail(shortcode, f"{shortcode.name} needs a post id and its user like {{{{< tweet user=\"SanDiegoZoo\" "
                                       f"id=\"1453110110599868418\" >}}}}, got user '{user}', id '{post}'")
        return self.template(shortcode)

    def param(self, shortcode: Shortcode) -> str:
        # Hugo's .Page.Param: a key of the post's front matter, in any case ("a.b" reaches into maps).
        name = _argument(shortcode, 0, "name")
        if not name:
            raise self.fail(shortcode, "param needs the name of a front matter key: {{< param author >}}")
        meta = self.post.meta
        given = {key.lower() for key in meta.lines}             # keys the front matter wrote
        found: Any = {"title": meta.title, "description": meta.description, "summary": meta.summary,
                      "slug": meta.slug, "tags": list(meta.tags), "draft": meta.draft, "date": meta.date,
                      "publishdate": meta.publish_date, "lastmod": meta.lastmod, "expirydate": meta.expiry_date,
                      "aliases": list(meta.aliases), "images": list(meta.images), "url": meta.url,
                      "inputs": list(meta.inputs)}
        found = {key: value for key, value in found.items() if key in given or key in ("title", "date", "draft")}
        # A --param preview shows the values its code ran with, here as in `value`.
        found.update({**meta.extra, **meta.params, **self.post.results.overrides})
        # Hugo's front matter `params:` map, read as Hugo reads it too: `param "params.mood"`.
        if meta.params and "params" not in {key.lower() for key in found if isinstance(key, str)}:
            found["params"] = {**meta.params, **self.post.results.overrides}
        for part in name.split("."):
            keys = {key.lower(): key for key in found if isinstance(key, str)} if isinstance(found, dict) else {}
            if part.lower() not in keys:
                raise self.fail(shortcode, f"param '{name}' is not in the post's front matter")
            found = found[keys[part.lower()]]
        return html.escape(_go_text(found), quote=False)

    def highlight(self, shortcode: Shortcode) -> str:
        language = shortcode.positional[0] if shortcode.positional else shortcode.named.get("lang", "")
        options = shortcode.options          # parsed (and checked) once, by parse_shortcodes
        # A call inside is rendered first and its output is code, as Hugo's .Inner has it
        # (`name := "{{< param author >}}"` shows the author); its token must never reach the page.
        code = self.expand(shortcode.inner or "")
        start, end = highlight_code_bounds(code, 0, len(code))
        return highlight_code(code[start:end], language, options)

    def cell(self, cell: Cell) -> str:
        parts = [f'<div class="cell" id="{html.escape(cell.id)}">']
        if cell.echo and cell.fold:
            # Only the code folds, as with Quarto's code-fold: what it printed stays in view.
            parts.append(f'<details class="cell-fold"><summary>{html.escape(cell.fold)}</summary>'
                         f'{highlight_code(cell.code, cell.language, cell.display)}</details>')
        elif cell.echo:
            parts.append(highlight_code(cell.code, cell.language, cell.display))
        output = self.post.results.outputs.get(cell.id)
        if cell.output and output is not None:
            if output.stdout:
                parts.append(f'<pre class="cell-output" tabindex="0"><code>{html.escape(terminal_text(output.stdout), quote=False)}'
                             f'</code></pre>')
            parts += [f'<figure class="cell-figure"><img src="{html.escape(figure.path)}" alt="{html.escape(figure.alt)}"'
                      f' loading="lazy"></figure>' for figure in output.figures]
        parts.append("</div>")
        return "".join(parts)

    def math(self, shortcode: Shortcode) -> str:
        # A value inside a formula is LaTeX text, not HTML: unescape what `value` escaped.
        latex = fill(shortcode.inner or "", lambda token: html.unescape(self.render(token)))
        try:
            return latex_to_mathml(latex, shortcode.named.get("display") == "true")
        except MathError as problem:
            raise self.fail(shortcode, f"cannot render math '{latex.strip()}': {problem}") from None

    def ref(self, shortcode: Shortcode) -> str:
        found = resolve_ref(shortcode, self.post, self.refs)
        if found is None:
            from .links import LEFT_OUT       # fragments -> images -> links: imported here

            target = ref_target(shortcode)
            path = target.partition("#")[0]
            name = re.sub(r"(/_?index)?(\.md)?/?$", "", re.sub(r"^/?(posts/)?", "", path))
            why = next((reason for left, reason in self.left_out.items() if go_lower(left) == go_lower(name)), None)
            if why is not None:
                raise self.fail(shortcode, f"{shortcode.name} target '{target}' is not published: that post is {LEFT_OUT[why]}")
            raise self.fail(shortcode, f"{shortcode.name} target '{target}' is not a post or list page of the site"
                                       f"{did_you_mean(go_lower(path), self.refs)}")
        return html.escape(found)

    def value(self, shortcode: Shortcode) -> str:
        name = _argument(shortcode, 0, "name")
        if not name:
            raise self.fail(shortcode, "value needs the name of a published value: {{< value name >}}")
        value = self.published(shortcode, name)
        spec = _argument(shortcode, 1, "format")
        try:
            text = format(value, spec) if spec else _plain(value)
        except (ValueError, TypeError, OverflowError) as error:   # 10**400 as a float
            raise self.fail(shortcode, f"cannot format value '{name}' with '{spec}': {error}") from None
        return html.escape(text, quote=False)

    def published(self, shortcode: Shortcode, name: str) -> Any:
        """The value `name` names: a published name, or one and the items in it (`acc.test`, `rows.0.loss`).
        A name with a dot that is published as it is and also names an item is ambiguous: an error."""
        first, *keys = name.split(".")
        values = self.post.results.values
        if keys and name in values:
            try:
                self.walk(shortcode, name, first, keys)
            except BuildError:
                return values[name]
            raise self.fail(shortcode, f"value '{name}' is ambiguous: the code published '{name}', and '{first}' "
                                       f"holding the item '{'.'.join(keys)}'; rename one")
        return self.walk(shortcode, name, first, keys)

    def walk(self, shortcode: Shortcode, name: str, first: str, keys: list[str]) -> Any:
        values = self.post.results.values
        if first not in values:
            raise self.fail(shortcode, f"value '{first}' was not published by the post's code (runpost.publish)"
                                       f"{did_you_mean(first, values)}")
        value = values[first]
        for depth, key in enumerate(keys, 1):
            try:
                # A list's item by its place, 0 up, written as digits (not -1, not 0_0, which int() reads).
                value = value[int(key) if re.fullmatch(r"[0-9]+", key) else None] if isinstance(value, list) else value[key]
            except (KeyError, IndexError, ValueError, TypeError):
                walked = ".".join([first, *keys[:depth - 1]])
                raise self.fail(shortcode, f"value '{name}': '{walked}' has no item '{key}'") from None
        return value

    def table(self, shortcode: Shortcode) -> str:
        name = _argument(shortcode, 0, "name")
        if not name:
            raise self.fail(shortcode, "table needs the name of a published value: {{< table name >}}")
        header, rows = self.table_rows(shortcode, name, self.published(shortcode, name))
        caption = shortcode.named.get("caption", "")
        spec = shortcode.named.get("format", "")       # for its numbers: format=".3f"
        # A column of whole numbers only is written without the format's precision and float type
        # (`.4f`, `.1%`), its grouping and width kept: layer sizes beside accuracies are `16`, not
        # `16.0000`, as pandas' float_format leaves an int column, and `,.2f` writes 1,250,000. A column
        # holding any float is written whole with the format (an accuracy of 1 among 0.853 reads `1.000`).
        floats = {index for row in rows for index, cell in enumerate(row) if isinstance(cell, float)}
        whole = _FLOAT_PART.sub("", spec)
        try:
            cells = [[_table_cell(cell, spec if index in floats else whole) for index, cell in enumerate(row)]
                     for row in rows]
        except (ValueError, TypeError, OverflowError) as error:
            raise self.fail(shortcode, f"cannot format the numbers of table '{name}' with '{spec}': {error}") from None
        # A column of numbers has its heading over them, right-aligned as they are.
        numeric = {index for index in range(len(header))
                   if any(_is_number(row[index]) for row in rows if index < len(row))
                   and all(_is_number(row[index]) or row[index] in (None, "") for row in rows if index < len(row))}
        table = ("<table><thead><tr>" + "".join(f'<th class="num">{html.escape(str(cell))}</th>' if index in numeric
                                                else f"<th>{html.escape(str(cell))}</th>" for index, cell in enumerate(header))
                 + "</tr></thead><tbody>"
                 + "".join("<tr>" + "".join(row) + "</tr>" for row in cells)
                 + "</tbody></table>")
        # The wrapper scrolls on narrow screens, so it must be focusable and
        # named for keyboard users. The caption sits outside it (in a figure),
        # where it wraps to the screen instead of scrolling away with the table.
        if not caption:
            return (f'<div class="table-wrapper" tabindex="0" role="region" aria-label="{html.escape(name)}">'
                    f"{table}</div>")
        caption_id = "table-" + re.sub(r"[^\w-]+", "-", name)
        return (f'<figure class="table-figure"><figcaption id="{caption_id}">{self.markdownify(caption)}</figcaption>'
                f'<div class="table-wrapper" tabindex="0" role="region" aria-labelledby="{caption_id}">'
                f"{table}</div></figure>")

    def table_rows(self, shortcode: Shortcode, name: str, value: Any) -> tuple[list, list[list]]:
        if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
            # Every key of every row, in the order first seen (as pandas makes a DataFrame's columns):
            # a key only a later row has is a column too, not dropped; a row without one, an empty cell.
            header = list(dict.fromkeys(key for row in value for key in row))
            return header, [[row.get(key, "") for key in header] for row in value]
        if isinstance(value, list) and len(value) >= 1 and all(isinstance(row, list) for row in value):
            header, rows = value[0], value[1:]
            if any(len(row) != len(header) for row in rows):
                raise self.fail(shortcode, f"table '{name}': every row needs {len(header)} cells, like the header")
            return header, rows
        raise self.fail(shortcode, f"table '{name}' must be a list of dicts or a list of lists "
                                   f"(header first), not {_describe(value)}")




def heading_id_text(rendered: str) -> str:
    """The part of a heading id that a shortcode's HTML output contributes."""
    return heading_id(html.unescape(re.sub(r"<[^>]*>", "", rendered)))


def _argument(shortcode: Shortcode, position: int, name: str) -> str:
    if len(shortcode.positional) > position:
        return shortcode.positional[position]
    return shortcode.named.get(name, "")


def _go_text(value: Any) -> str:
    """A front matter value as Hugo's templates print it (Go's fmt): dates `2023-01-05 00:00:00
    +0000 UTC`, lists `[a b]`, maps `map[k:v]` (keys in lower case, sorted), true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        offset = value.strftime("%z") or "+0000"
        return value.strftime("%Y-%m-%d %H:%M:%S ") + offset + (" UTC" if offset == "+0000" else f" {offset}")
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_go_text(item) for item in value) + "]"
    if isinstance(value, dict):
        # Hugo reads front matter keys in lower case; Go prints a map's keys sorted.
        items = sorted((_go_text(key).lower(), _go_text(item)) for key, item in value.items())
        return "map[" + " ".join(f"{key}:{item}" for key, item in items) + "]"
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# A format's precision and float presentation type (`.2f`, `.1%`, `e`): what a whole number goes without.
_FLOAT_PART = re.compile(r"(?:\.\d+)?[eEfFgG%]?$")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _table_cell(value: Any, spec: str = "") -> str:
    """A cell; a number right-aligned, and written with `spec` (the table's format) if it has one."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return f'<td class="num">{html.escape(format(value, spec) if spec else _plain(value))}</td>'
    return "<td></td>" if value is None else f"<td>{html.escape(_plain(value))}</td>"     # None: no measurement


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "an empty list" if not value else "a list of " + type(value[0]).__name__
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def ref_target(shortcode: Shortcode) -> str:
    """What a ref or relref shortcode names: `{{< ref "x#a" >}}` or `{{< ref path="x#a" >}}`
    (spaces around it trimmed, as Hugo trims them)."""
    return (shortcode.positional[0] if shortcode.positional else shortcode.named.get("path", "")).strip()


def resolve_ref(shortcode: Shortcode, post: Post, refs: dict[str, str]) -> str | None:
    """The site path (with its #anchor) a ref or relref shortcode of `post` leads to, or None if
    it names no post. `refs`: pages.reference_map. A ./ or ../ path is read from the page's
    folder (content/posts/, or the bundle's), as Hugo reads it."""
    target = ref_target(shortcode)
    path, _, anchor = target.partition("#")
    suffix = f"#{anchor}" if anchor else ""
    if not path and anchor:          # {{< ref "#section" >}}: this page
        return post.url + suffix
    if path.startswith(("./", "../")):
        here = f"posts/{post.name}/" if post.bundle else "posts/"
        path = posixpath.normpath(posixpath.join(here, path)) + ("/" if path.endswith("/") else "")
        target = path
    found = refs.get(go_lower(target)) or refs.get(go_lower(path))
    if found is None:
        return None
    return found if "#" in found else found + suffix


# Terminal control sequences: CSI (colours, cursor moves: ESC [ ... letter), OSC (titles, links:
# ESC ] ... BEL or ESC \), and two-character escapes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")


def terminal_text(text: str) -> str:
    """What a block printed as a terminal shows it: colours and cursor codes gone, each line as
    its last carriage return left it (a progress bar's final state, not each update), backspaces
    applied; any other control character is U+FFFD, as in the page's text."""
    if not any(character in text for character in "\x1b\r\b"):
        return without_controls(text)
    lines = []
    for line in _ESCAPES.sub("", text).split("\n"):
        segments = [segment for segment in line.split("\r") if segment]
        line = segments[-1] if segments else ""
        if "\b" in line:              # each backspace takes back the character before it
            kept: list[str] = []
            for character in line:
                if character == "\b":
                    if kept:
                        kept.pop()
                else:
                    kept.append(character)
            line = "".join(kept)
        lines.append(line)
    return without_controls("\n".join(lines))


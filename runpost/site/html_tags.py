"""Start tags in finished HTML as a browser finds them, with their attributes.

Used by urls.py, which rewrites the URLs inside start tags and lists them for the link
check and the script-URL check. This follows the tokenizer of the HTML standard
(https://html.spec.whatwg.org/multipage/parsing.html#tokenization):

- text runs to the next `<`; character references never end or hide a tag;
- `<!--` runs to `-->` or `--!>` (`<!-->` and `<!--->` are empty comments); `<!`, `<?` and
  `</` not followed by a letter run to the next `>`, as does `<![CDATA[` outside SVG and
  MathML (inside, to `]]>`); a comment cut off by the end of the input runs to the end;
- a start or end tag ends at the first `>` outside a quoted attribute value; a quote
  starts a value only right after `=`; `/` between attributes is ignored; a tag cut off
  by the end of the input is no tag;
- the text of script, style, textarea, title, xmp, iframe, noembed and noframes runs to
  its own end tag (names compared in ASCII only), and plaintext to the end, except inside
  <svg> or <math>, where the tokenizer does not switch.

Some of this depends on the tree builder's state, which a tokenizer does not know: whether
an HTML tag (`<p>`) has ended the SVG, whether an `</svg>` was ignored, whether a browser
runs scripts (noscript), how old its `<select>` parsing is. `start_tags` takes the likely
reading, noscript's text as markup (what a reader without scripts gets), and is what URLs
are rewritten in. `every_start_tag` also follows the other reading at each such point and
returns the tags of all of them: the checks use it, so that no reading a browser may take
hides a tag from them. Python's html.parser, used before, stopped finding tags after a
stray `&#` (a javascript: URL after it went unchecked) and raised on `<![x[`.
"""
from __future__ import annotations

import re
from typing import Iterator, NamedTuple

# A tag with lower-case-safe names, spaces between attributes and only double-quoted values:
# most of what runpost writes. Where it matches, the tokenizer reads the same tag; else _tag.
_PLAIN_TAG = re.compile(r"""</?([A-Za-z][-A-Za-z0-9]*)(?:[\t\n\f\r ]+[A-Za-z][-A-Za-z0-9_:.]*(?:="[^"]*")?)*"""
                        r"""[\t\n\f\r ]*(/?)>""")
_NAME = re.compile(r"[A-Za-z][^\t\n\f\r />]*")
_BETWEEN = re.compile(r"[\t\n\f\r /]*")        # before an attribute name: spaces, and a '/' not before '>'
_ATTRIBUTE = re.compile(r"""([^\t\n\f\r />][^\t\n\f\r />=]*)[\t\n\f\r ]*"""
                        r"""(?:=[\t\n\f\r ]*(?:"([^"]*)("?)|'([^']*)('?)|([^\t\n\f\r >]*)))?""")
_COMMENT_END = re.compile(r"--!?>")
_TEXT_ELEMENTS = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"})
_end_tags: dict[str, re.Pattern] = {}


class Attribute(NamedTuple):
    name: str          # lower case, as the browser names it
    start: int         # the value's offsets in the HTML (without quotes); start == end for no value
    end: int
    quote: str         # '"', "'" or "" (unquoted, or no value)


class Tag(NamedTuple):
    start: int         # offset of '<'
    end: int           # offset after '>'
    name: str          # lower case


class _State(NamedTuple):
    """What the tokenizer's state depends on, as far as a scan can tell (each count at most 2)."""
    svg: int = 0           # open <svg> and <math> elements
    math: int = 0
    select: int = 0        # open <select>
    integration: int = 0   # open foreignObject, desc, title, mi, ... inside SVG or MathML: an HTML
                           # element opened there makes a browser ignore </svg>


_INTEGRATION_POINTS = frozenset({"foreignobject", "desc", "title", "annotation-xml", "mi", "mo", "mn", "ms", "mtext"})


def start_tags(html: str) -> Iterator[Tag]:
    """Every start tag of `html` in the likely reading, in order (attributes(): its attributes)."""
    return _scan(html, html.find("<"), _State(), None, None, {})


def read_tags(html: str) -> tuple[list[Tag], list[Tag]]:
    """(the tags of the likely reading, the tags only other readings have), each in order."""
    others: list = []
    likely = list(_scan(html, html.find("<"), _State(), others, None, {}))
    if not others:
        return likely, []
    starts = {tag.start for tag in likely}
    return likely, [tag for tag in every_start_tag(html) if tag.start not in starts]


def every_start_tag(html: str) -> list[Tag]:
    """The start tags of every reading a browser may take of `html` (see above), in order."""
    found: dict[int, Tag] = {}
    visited: set[tuple[int, _State]] = set()
    pending = [(html.find("<"), _State())]
    ends: dict[str, tuple[int, int]] = {}
    while pending:
        position, state = pending.pop()
        for tag in _scan(html, position, state, pending, visited, ends):
            found.setdefault(tag.start, tag)
    return [found[start] for start in sorted(found)]


def _scan(html: str, i: int, state: _State, others: list | None, visited: set | None,
          ends: dict[str, tuple[int, int]]) -> Iterator[Tag]:
    """The tags from offset i on in one reading; with `others`, each point where a browser may
    read on differently is added to it as (offset, state), and a reading stops where another
    has been with the same state (`visited`). `ends`: what _text_end found, for the next call."""
    n = len(html)
    while 0 <= i < n - 1:
        if visited is not None:
            if (i, state) in visited:
                return
            visited.add((i, state))
        following = html[i + 1]
        if following.isascii() and following.isalpha():
            plain = _PLAIN_TAG.match(html, i)
            if plain:
                end, name, self_closing = plain.end(), plain.group(1).lower(), plain.group(2) == "/"
            else:
                tag = _tag(html, i, n)
                if tag is None:
                    return                              # cut off by the end: no tag, and nothing after it
                end, name, _, self_closing = tag
            yield Tag(i, end, name)
            i, state = _after_start_tag(html, end, name, self_closing, state, others, ends)
        elif following == "/":
            i, state = _after_end_tag(html, i, n, state, others)
        elif following == "!":
            i = _markup_declaration(html, i, n, state, others)
        elif following == "?":
            i = _past(html, ">", i + 2, n)
        else:
            i = html.find("<", i + 1)


def _after_start_tag(html: str, end: int, name: str, self_closing: bool, state: _State,
                     others: list | None, ends: dict[str, tuple[int, int]]) -> tuple[int, _State]:
    """Where the scan goes on after a start tag, in what state."""
    foreign = state.svg or state.math
    if name in ("svg", "math"):
        if not self_closing:
            state = state._replace(**{name: min(getattr(state, name) + 1, 2)})
        return html.find("<", end), state
    if name == "select" and not foreign:
        return html.find("<", end), state._replace(select=min(state.select + 1, 2))
    if foreign and name in _INTEGRATION_POINTS and not self_closing:
        state = state._replace(integration=min(state.integration + 1, 2))
    if name in _TEXT_ELEMENTS or name == "plaintext":
        text_end = _text_end(html, end, name, ends) if name != "plaintext" else -1
        if foreign:      # likely read as markup; a browser that left the SVG reads text
            if others is not None:
                others.append((text_end, state))
        else:            # likely text; an older <select> parser ignores the tag inside a select
            if others is not None and state.select:
                others.append((html.find("<", end), state))
            return text_end, state
    elif name == "noscript" and others is not None:
        others.append((_text_end(html, end, name, ends), state))   # a browser running scripts reads text
    return html.find("<", end), state


def _after_end_tag(html: str, i: int, n: int, state: _State, others: list | None) -> tuple[int, _State]:
    """Where scanning goes on after the `</` at i, in what state."""
    if i + 2 < n and html[i + 2].isascii() and html[i + 2].isalpha():
        plain = _PLAIN_TAG.match(html, i)
        if plain:
            end, name = plain.end(), plain.group(1).lower()
        else:
            tag = _tag(html, i + 1, n)                  # an end tag reads its attributes as a start tag does
            if tag is None:
                return -1, state
            end, name, _, _ = tag
        after = html.find("<", end)
        if name in ("svg", "math") and getattr(state, name):
            if others is not None and state.integration:
                others.append((after, state))            # ignored: an HTML element is open inside it
            state = state._replace(**{name: getattr(state, name) - 1})
            if not (state.svg or state.math):
                state = state._replace(integration=0)
        elif name == "select" and state.select:
            state = state._replace(select=state.select - 1)
        elif name in _INTEGRATION_POINTS and state.integration:
            state = state._replace(integration=state.integration - 1)
        return after, state
    if html.startswith("</>", i):
        return html.find("<", i + 3), state
    return _past(html, ">", i + 2, n), state            # a bogus comment: `</` then not a letter


def attributes(html: str, tag: Tag) -> list[Attribute]:
    """The attributes of a tag start_tags() found, in order (a repeated name too: the browser keeps the first)."""
    return _tag(html, tag.start, tag.end)[2]


def _tag(html: str, i: int, n: int) -> tuple[int, str, list[Attribute], bool] | None:
    """(end, name, attributes, self-closing) of the tag whose '<' is at i, or None if the input ends in it."""
    name_end = _NAME.match(html, i + 1).end()
    name = html[i + 1:name_end].lower()
    attributes: list[Attribute] = []
    position = name_end
    while True:
        before = position
        position = _BETWEEN.match(html, position).end()
        if position >= n:
            return None
        if html[position] == ">":
            return position + 1, name, attributes, position > before and html[position - 1] == "/"
        match = _ATTRIBUTE.match(html, position)
        attribute = match.group(1).lower()
        if match.group(2) is not None:
            if not match.group(3):
                return None                             # the quoted value runs to the end of the input
            attributes.append(Attribute(attribute, match.start(2), match.end(2), '"'))
        elif match.group(4) is not None:
            if not match.group(5):
                return None
            attributes.append(Attribute(attribute, match.start(4), match.end(4), "'"))
        elif match.group(6) is not None:
            attributes.append(Attribute(attribute, match.start(6), match.end(6), ""))
        else:
            attributes.append(Attribute(attribute, match.end(1), match.end(1), ""))
        position = match.end()


def _markup_declaration(html: str, i: int, n: int, state: _State, others: list | None) -> int:
    """Where scanning goes on after the `<!` at i: a comment, a doctype, CDATA or a bogus comment."""
    if html.startswith("<!--", i):
        if html.startswith(">", i + 4):
            return html.find("<", i + 5)
        if html.startswith("->", i + 4):
            return html.find("<", i + 6)
        match = _COMMENT_END.search(html, i + 4)
        return html.find("<", match.end()) if match else -1
    if html.startswith("<![CDATA[", i) and (state.svg or state.math):
        if others is not None:
            others.append((_past(html, ">", i + 2, n), state))   # a browser that left the SVG: to '>'
        return _past(html, "]]>", i + 9, n)
    return _past(html, ">", i + 2, n)                   # doctype, CDATA in HTML, bogus comment: to the next '>'


def _past(html: str, marker: str, start: int, n: int) -> int:
    """The next '<' after the first `marker` from start; -1 if either is missing."""
    found = html.find(marker, start)
    return -1 if found < 0 else html.find("<", found + len(marker))


def _text_end(html: str, start: int, name: str, ends: dict[str, tuple[int, int]]) -> int:
    """Offset of the end tag that ends the text of element `name` opened just before start, or -1.

    `ends[name]` = (from, found) of the last search: the first such end tag from `from` on is
    at `found` (-1: none), so a page of many unclosed <noscript> is not searched to its end
    once for each."""
    known = ends.get(name)
    if known is not None and known[0] <= start and (known[1] < 0 or known[1] >= start):
        return known[1]
    pattern = _end_tags.get(name)
    if pattern is None:
        # ASCII only: re.IGNORECASE alone would take 'ſ' for 's' and 'ı' for 'i', as no browser does
        pattern = _end_tags[name] = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE | re.ASCII)
    match = pattern.search(html, start)
    found = match.start() if match else -1
    ends[name] = (start, found)
    return found

"""Start tags in finished HTML as a browser finds them, with their attributes.

Used by urls.py, which rewrites the URLs inside start tags and lists them for the link
check and the script-URL check: all three must see the tags a browser sees, no fewer.
This follows the tokenizer of the HTML standard
(https://html.spec.whatwg.org/multipage/parsing.html#tokenization):

- text runs to the next `<`; character references never end or hide a tag;
- `<!--` runs to `-->` or `--!>` (`<!-->` and `<!--->` are empty comments); `<!`, `<?` and
  `</` not followed by a letter run to the next `>`; a comment cut off by the end of the
  input runs to the end;
- a start or end tag ends at the first `>` outside a quoted attribute value; a quote
  starts a value only right after `=`; `/` between attributes is ignored; a tag cut off
  by the end of the input is no tag;
- the text of script, style, textarea, title, xmp, iframe, noembed and noframes runs to
  its own end tag, and plaintext to the end, except inside <svg> or <math>, where the
  tokenizer does not switch.

Where being exact would need the tree builder's state, this reads more as tags, never
fewer: `<![CDATA[` runs to the next `>` as in HTML (inside SVG a browser reads on to
`]]>`, but some HTML tags end the SVG early), noscript's text is read as markup (it is,
where scripting is off), and once inside <svg> or <math> the text of a script is read as
markup until the matching end tag. Python's html.parser, used before, stopped finding tags after a
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
_FOREIGN = ("svg", "math")
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


def start_tags(html: str) -> Iterator[Tag]:
    """Every start tag of `html` a browser would read, in order (attributes(): its attributes)."""
    n = len(html)
    foreign = {"svg": 0, "math": 0}
    i = html.find("<")
    while 0 <= i < n - 1:
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
            if name in foreign:
                foreign[name] += not self_closing
            elif name in _TEXT_ELEMENTS and not (foreign["svg"] or foreign["math"]):
                i = _text_end(html, end, name)
                continue
            elif name == "plaintext" and not (foreign["svg"] or foreign["math"]):
                return
            i = html.find("<", end)
        elif following == "/":
            i = _end_tag(html, i, n, foreign)
        elif following == "!":
            i = _markup_declaration(html, i, n)
        elif following == "?":
            i = _past(html, ">", i + 2, n)
        else:
            i = html.find("<", i + 1)


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


def _end_tag(html: str, i: int, n: int, foreign: dict[str, int]) -> int:
    """Where scanning goes on after the `</` at i."""
    if i + 2 < n and html[i + 2].isascii() and html[i + 2].isalpha():
        plain = _PLAIN_TAG.match(html, i)
        if plain:
            end, name = plain.end(), plain.group(1).lower()
        else:
            tag = _tag(html, i + 1, n)                  # an end tag reads its attributes as a start tag does
            if tag is None:
                return -1
            end, name, _, _ = tag
        if name in foreign and foreign[name]:
            foreign[name] -= 1
        return html.find("<", end)
    if html.startswith("</>", i):
        return html.find("<", i + 3)
    return _past(html, ">", i + 2, n)                   # a bogus comment: `</` then not a letter


def _markup_declaration(html: str, i: int, n: int) -> int:
    """Where scanning goes on after the `<!` at i: a comment, a doctype, CDATA or a bogus comment."""
    if html.startswith("<!--", i):
        if html.startswith(">", i + 4):
            return html.find("<", i + 5)
        if html.startswith("->", i + 4):
            return html.find("<", i + 6)
        match = _COMMENT_END.search(html, i + 4)
        return html.find("<", match.end()) if match else -1
    return _past(html, ">", i + 2, n)                   # doctype, CDATA in HTML, bogus comment: to the next '>'


def _past(html: str, marker: str, start: int, n: int) -> int:
    """The next '<' after the first `marker` from start; -1 if either is missing."""
    found = html.find(marker, start)
    return -1 if found < 0 else html.find("<", found + len(marker))


def _text_end(html: str, start: int, name: str) -> int:
    """Offset of the end tag that ends the text of element `name` opened just before start, or -1."""
    pattern = _end_tags.get(name)
    if pattern is None:
        pattern = _end_tags[name] = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)
    match = pattern.search(html, start)
    return match.start() if match else -1

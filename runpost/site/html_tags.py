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
  its own end tag (names compared in ASCII only; a script's escaped parts, `<!--` then
  `<script`, as the standard says), and plaintext to the end, except inside <svg> or <math>,
  where the tokenizer does not switch.

Some of this depends on the tree builder's state, which a tokenizer does not know: whether
an HTML tag (`<p>`) has ended the SVG, whether an `</svg>` was ignored, whether a browser
runs scripts (noscript), whether it ignores a script or style start tag (an older
`<select>` parser, a `<template>` whose first element is a `<col>`, a `<frameset>`).
`start_tags` takes the likely reading (open <svg> and <math> counted by their tags,
noscript's text read as markup: what a reader without scripts gets): URLs are rewritten
and link-checked in it, which for HTML without svg, math, select, col, frameset, noscript
or CDATA is exactly the standard's. `every_start_tag` follows both ways at each such point
and returns the tags of every reading: the script-URL check uses it, so that no reading a
browser may take hides a `javascript:` link from it. Python's html.parser, used before,
stopped finding tags after a stray `&#` (a javascript: URL after it went unchecked) and
raised on `<![x[`.
"""
from __future__ import annotations

import bisect
import functools
import re
from html import unescape
from html.entities import html5 as _ENTITIES
from typing import Iterator, NamedTuple

# A tag with lower-case-safe names, spaces between attributes and only double-quoted values:
# most of what runpost writes. Where it matches, the tokenizer reads the same tag; else _tag.
_PLAIN_TAG = re.compile(r"""</?([A-Za-z][-A-Za-z0-9]*)(?:[\t\n\f\r ]+[A-Za-z][-A-Za-z0-9_:.]*(?:="[^"]*")?)*"""
                        r"""[\t\n\f\r ]*(/?)>""")
_NAME = re.compile(r"[A-Za-z][^\t\n\f\r />]*")
_BETWEEN = re.compile(r"[\t\n\f\r /]*")        # before an attribute name: spaces, and a '/' not before '>'
_ATTRIBUTE = re.compile(r"""([^\t\n\f\r />][^\t\n\f\r />=]*)[\t\n\f\r ]*"""
                        r"""(?:=[\t\n\f\r ]*(?:"([^"]*)("?)|'([^']*)('?)|([^\t\n\f\r >]*)))?""")
# Elements whose text the tokenizer reads as text up to their end tag (plaintext: to the end).
_TEXT_ELEMENTS = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"})
# Constructs whose reading depends on the tree builder's state (see every_start_tag).
_AMBIGUOUS = re.compile(r"<(?:svg|math|select|col|frameset|noscript)[\t\n\f\r />]|<!\[CDATA\[", re.IGNORECASE | re.ASCII)
# Start tags after which a browser may ignore a script, style, ... start tag (its text is then markup).
_MAY_IGNORE_TEXT_TAGS = frozenset({"select", "col", "frameset"})


class Attribute(NamedTuple):
    name: str          # lower case, as the browser names it
    start: int         # the value's offsets in the HTML (without quotes); start == end for no value
    end: int
    quote: str         # '"', "'" or "" (unquoted, or no value)
    name_start: int    # offset of its name: the attribute is html[name_start:end + len(quote)]


class Tag(NamedTuple):
    start: int         # offset of '<'
    end: int           # offset after '>'
    name: str          # lower case


def start_tags(html: str) -> Iterator[Tag]:
    """Every start tag of `html` in the likely reading, in order (attributes(): its attributes)."""
    return (Tag(start, end, name) for _, start, end, name in _likely(html, everything=False))


def raw_texts(html: str) -> list[tuple[int, int, str]]:
    """(start, end, element name) of the text of each script, style, textarea... in the likely reading."""
    return [(start, end, name) for kind, start, end, name in _likely(html) if kind == "raw"]


def _likely(html: str, everything: bool = True) -> Iterator[tuple[str, int, int, str]]:
    """The likely reading, in order: ("start" or "end", offsets, name) for each tag, ("text",
    offsets, "") for text between tags (comments, doctypes and the like are neither), and
    ("raw", offsets, element name) for the text of a script, style, textarea, ...; with
    `everything` false, only the start tags (the hot path: every page's URLs).

    Runs of plain tags (_plain_run) are read in C; the loop reads a token at a time only
    where a page has something else: a doctype, a comment, a script, an svg, a stray '<'."""
    n = len(html)
    index = _Index(html)
    foreign = {"svg": 0, "math": 0}        # open <svg> and <math>, as far as end tags tell
    last, i = 0, html.find("<")
    slow_until = -1                        # offsets before this are read a token at a time
    while 0 <= i < n - 1:
        if i >= slow_until:
            other = _NOT_PLAIN.search(html, i)
            stop = other.start() if other else n
            run = _plain_run(html, i, stop) if stop > i else None
            if run is None:
                slow_until = stop
            else:
                for tag in run:
                    start, end = tag.span()
                    name = tag.group(1).lower()
                    if everything and start > last:
                        yield "text", last, start, ""
                    if html[start + 1] != "/":
                        yield "start", start, end, name
                    else:
                        if everything:
                            yield "end", start, end, name
                        if name in foreign and foreign[name]:
                            foreign[name] -= 1
                    last = end
                i = stop if stop < n else -1
                continue
        kind, end, name, self_closing = _token(html, i, n, index)
        if kind == "other" and end == i + 1:      # a '<' that is text
            i = html.find("<", end)
            continue
        if everything and i > last:
            yield "text", last, i, ""
        if kind == "start":
            yield kind, i, end, name
            if name in foreign:
                foreign[name] += not self_closing
            elif not (foreign["svg"] or foreign["math"]) and name in _TEXT_ELEMENTS:
                text_end = index.text_end(end, name)
                if everything:
                    yield "raw", end, text_end if text_end >= 0 else n, name
                end = text_end
        elif kind == "end":
            if everything:
                yield kind, i, end, name
            if name in foreign and foreign[name]:
                foreign[name] -= 1
        elif kind == "cdata":
            end = index.cdata_end(i + 9) if foreign["svg"] or foreign["math"] else _after(html, ">", i + 2)
        if end < 0:
            return
        last, i = end, html.find("<", end)
    if everything and last < n:
        yield "text", last, n, ""


# Start tags after which the tokenizer reads on differently: text elements and foreign content.
_SWITCHING = _TEXT_ELEMENTS | {"svg", "math"}


# A '<' that does not start a plain tag's name, or a start tag after which the tokenizer switches.
_NOT_PLAIN = re.compile(r"<(?![/A-Za-z])|</(?![A-Za-z])|<(?:" + "|".join(sorted(_SWITCHING)) + r")[\t\n\f\r />]",
                        re.IGNORECASE | re.ASCII)


def _plain_run(html: str, start: int, stop: int) -> list[re.Match] | None:
    """The tags of html[start:stop] (a token starts at `start`; no _NOT_PLAIN match in between) if
    every '<' there starts a _PLAIN_TAG match that ends by `stop`: then those matches are exactly
    the tokens _likely's loop would read (each '<' starts one, as counting shows: matches do not
    overlap, each holds at least its own '<'). Else None, and the loop reads on a token at a time."""
    found = list(_PLAIN_TAG.finditer(html, start, stop))
    return found if len(found) == html.count("<", start, stop) else None


def every_start_tag(html: str) -> list[Tag]:
    """The start tags of every reading a browser may take of `html` (see above), in order.

    At each point where the tokenizer's state depends on the tree builder, both ways are
    followed: the text of a script, style, textarea, ... or plaintext is read as text and,
    once an <svg> or <math> start tag has been read (a browser may then be in foreign
    content) or a <select>, <col> or <frameset> (where a browser may ignore the tag: an older
    select parser, a template whose first element is a col, a frameset), as markup too;
    noscript's text both ways; CDATA to the next `>` and, after an <svg> or <math>, to `]]>`
    too. No counting of open elements (end tags a browser ignores, nesting) is needed for
    that, and each offset is read at most four times (once per pair of those two facts)."""
    n, index = len(html), _Index(html)
    found: dict[int, Tag] = {}
    visited: set[tuple[int, bool, bool]] = set()
    pending = [(html.find("<"), False, False)]
    while pending:
        i, foreign, ignoring = pending.pop()
        while 0 <= i < n - 1 and (i, foreign, ignoring) not in visited:
            visited.add((i, foreign, ignoring))
            kind, end, name, _ = _token(html, i, n, index)
            if kind == "start":
                found.setdefault(i, Tag(i, end, name))
                if name in ("svg", "math"):
                    foreign = True
                elif name in _MAY_IGNORE_TEXT_TAGS:
                    ignoring = True
                elif name in _TEXT_ELEMENTS or name == "noscript":
                    text_end = index.text_end(end, name)
                    if name != "noscript" and not (foreign or ignoring):
                        i = text_end
                        continue
                    pending.append((text_end, foreign, ignoring))     # as text; as markup below
            elif kind == "cdata":
                if foreign:
                    cdata_end = index.cdata_end(i + 9)
                    pending.append((html.find("<", cdata_end) if cdata_end >= 0 else -1, foreign, ignoring))
                end = _after(html, ">", i + 2)
            i = html.find("<", end) if end >= 0 else -1
    return [found[start] for start in sorted(found)]


def text_and_tags(html: str, formulas_as_latex: bool = False) -> Iterator[tuple[str, str]]:
    """The likely reading as ("text", text as written) and ("tag", lower-case name) for each
    start or end tag, in order; comments, doctypes and the like are neither. The text of a
    script or style is not given (no reader sees it); a textarea's or title's is text.
    With `formulas_as_latex`, a <math> with an `alttext` (runpost's formulas: their LaTeX) is that
    text between dollars (two for a displayed one), as Hugo's summaries show a formula (its MathML's text runs sub- and
    superscripts together: "(X⊤X)−1").

    An element with a `data-embed` attribute stands for something else (the theme's video, gist and
    post links: an iframe or a script in Hugo, which adds no text), so its text is not given: a post
    that opens with a video does not have "Play the video on YouTube" as its summary."""
    formula = 0                     # depth inside a <math> given as its alttext
    tokens = list(_likely(html))
    skipped = _embeds(html, tokens) if _EMBED.search(html) else {}      # an embed's first token -> past its last
    index = 0
    while index < len(tokens):
        kind, start, end, name = tokens[index]
        if index in skipped:
            yield "tag", name       # a block still ends the text before it
            index = skipped[index]
            continue
        index += 1
        if formula:
            formula += (kind == "start" and name == "math") - (kind == "end" and name == "math")
        elif formulas_as_latex and kind == "start" and name == "math" and \
                (found := _alttext(html, Tag(start, end, name))) is not None:
            formula = 1
            source, block = found
            dollars = "$$" if block else "$"
            yield "text", dollars + source.replace("&", "&amp;").replace("<", "&lt;") + dollars
        elif kind in ("start", "end"):
            yield "tag", name
        elif kind == "text" or name not in ("script", "style"):
            yield "text", html[start:end]


def visible_text_spans(html: str) -> list[tuple[int, int]]:
    """(start, end) of each run of text in the likely reading: not a comment, not inside a tag, not
    the text of a script, style, textarea or other raw-text element."""
    return [(start, end) for kind, start, end, _ in _likely(html) if kind == "text"]


def _embeds(html: str, tokens: list[tuple[str, int, int, str]]) -> dict[int, int]:
    """{index of an embed's start tag: index past its end} for each element marked `data-embed` whose
    end the reading finds: its own end tag (elements of its name nested inside counted), or, for a
    <p> whose `</p>` is left out, the next block that closes a paragraph. One whose end is not found
    is not skipped: a stand-in's label in a summary, never the rest of the post."""
    found: dict[int, int] = {}
    index = 0
    while index < len(tokens):
        kind, start, end, name = tokens[index]
        if kind == "start" and name not in _VOID and _EMBED.search(html, start, end) and \
                any(attribute.name == EMBED_ATTRIBUTE for attribute in attributes(html, Tag(start, end, name))):
            depth, after = 1, None
            for later in range(index + 1, len(tokens)):
                other_kind, _, _, other = tokens[later]
                if name == "p" and other_kind == "start" and other in _CLOSES_P:
                    after = later                   # the block itself is read
                    break
                depth += (other_kind == "start" and other == name) - (other_kind == "end" and other == name)
                if depth == 0:
                    after = later + 1
                    break
            if after is not None:
                found[index] = after
                index = after
                continue
        index += 1
    return found


# Start tags that end an open paragraph (the HTML standard's tree construction).
_CLOSES_P = frozenset({"address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
                       "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup",
                       "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul"})


# The attribute that marks an embed's stand-in (text_and_tags), and elements that have no end tag.
EMBED_ATTRIBUTE = "data-embed"
_EMBED = re.compile(re.escape(EMBED_ATTRIBUTE), re.IGNORECASE)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


def _alttext(html: str, tag: Tag) -> tuple[str, bool] | None:
    """A <math>'s alttext, and whether it is shown as a block (display="block"); None without one."""
    listed = {attribute.name: html[attribute.start:attribute.end] for attribute in reversed(attributes(html, tag))}
    if "alttext" not in listed:
        return None
    return unescape_attribute(listed["alttext"]), listed.get("display", "").strip().lower() == "block"


# What images.py puts around an <img> when a dark copy exists (image_tags reads it back).
_DARK_PICTURE_OPEN = re.compile(r'<picture><source srcset="([^"]*)" media="\(prefers-color-scheme: dark\)">\Z')


class Image(NamedTuple):
    start: int         # the <picture> around it, if images.py wrapped it, else the <img>
    end: int
    tag: Tag           # the <img>
    dark: str | None   # the dark <source>'s srcset, as written
    chosen: bool       # the author chose its sources: inside their own <picture>, or with a srcset


@functools.lru_cache(maxsize=4096)
def image_tags(html: str) -> tuple[Image, ...]:
    """The <img> tags of the likely reading, each with the dark-mode <picture> images.py may
    have put around it: a <picture> and a <source> tag right before it, exactly as images.py
    writes them, and `</picture>` right after. Remembered: the image stage asks twice per
    post (copies missing, then the rewrite), and serve at every rebuild for each unchanged post."""
    found = []
    before: list[Tag] = []       # the two start tags before this one
    pictures = 0                 # <picture> elements open here, as far as their tags tell
    for kind, start, end, name in _likely(html):
        if name == "picture" and kind in ("start", "end"):
            pictures = pictures + 1 if kind == "start" else max(pictures - 1, 0)
        if kind != "start":
            continue
        tag = Tag(start, end, name)
        if tag.name == "img":
            start, end, dark, ours = tag.start, tag.end, None, 0
            if (len(before) == 2 and before[0].name == "picture" and before[1].name == "source"
                    and before[0].end == before[1].start and before[1].end == tag.start
                    and html.startswith("</picture>", tag.end)):
                match = _DARK_PICTURE_OPEN.match(html, before[0].start, tag.start)
                if match:
                    start, end, dark, ours = before[0].start, tag.end + len("</picture>"), match.group(1), 1
            chosen = pictures > ours or "srcset" in attribute_values(html[tag.start:tag.end])
            found.append(Image(start, end, tag, dark, chosen))
        before = [*before[-1:], tag]
    return tuple(found)


def tag_attributes(tag: str) -> list[Attribute]:
    """The attributes of the one tag the string `tag` holds (offsets into it), in order."""
    return next((attributes(tag, first) for first in start_tags(tag)), [])


def attribute_values(tag: str) -> dict[str, str]:
    """The attributes of the one tag `tag` holds, name -> value as written (a name's first)."""
    found: dict[str, str] = {}
    for attribute in tag_attributes(tag):
        found.setdefault(attribute.name, tag[attribute.start:attribute.end])
    return found


def with_attributes(tag: str, extra: str) -> str:
    """The one tag `tag` holds with `extra` (' a="b"') added last, before its `>` or ` />`
    (a '/' that ends an unquoted value, as in src=a/>, is the value's)."""
    found = tag_attributes(tag)
    unquoted_end = bool(found) and not found[-1].quote and found[-1].end == len(tag) - 1
    if tag.endswith("/>") and not unquoted_end:
        return f"{tag[:-2].rstrip()}{extra} />"
    return f"{tag[:-1]}{extra}>"


def read_tags(html: str) -> tuple[list[Tag], list[Tag]]:
    """(the tags of the likely reading, the tags only other readings have), each in order."""
    likely = list(start_tags(html))
    if not _AMBIGUOUS.search(html):
        return likely, []                       # no construct whose reading depends on the tree builder
    starts = {tag.start for tag in likely}
    return likely, [tag for tag in every_start_tag(html) if tag.start not in starts]


def _token(html: str, i: int, n: int, index: "_Index") -> tuple[str, int, str, bool]:
    """(kind, end, name, self-closing) of what starts at the '<' at offset i.

    kind: "start" or "end" (a tag), "cdata" (`<![CDATA[`: its end depends on the context),
    "other" (text, comment, doctype, bogus comment), "eof" (a tag cut off by the end of the
    input: no tag, and nothing after it). end: where it ends, -1 for the end of the input."""
    following = html[i + 1]
    if following.isascii() and following.isalpha():
        plain = _PLAIN_TAG.match(html, i)
        if plain:
            return "start", plain.end(), plain.group(1).lower(), plain.group(2) == "/"
        tag = _tag(html, i, n)
        return ("eof", -1, "", False) if tag is None else ("start", tag[0], tag[1], tag[3])
    if following == "/":
        if i + 2 < n and html[i + 2].isascii() and html[i + 2].isalpha():
            plain = _PLAIN_TAG.match(html, i)
            if plain:
                return "end", plain.end(), plain.group(1).lower(), False
            tag = _tag(html, i + 1, n)              # an end tag reads its attributes as a start tag does
            return ("eof", -1, "", False) if tag is None else ("end", tag[0], tag[1], False)
        if html.startswith("</>", i):
            return "other", i + 3, "", False
        return "other", _after(html, ">", i + 2), "", False     # a bogus comment: `</` then not a letter
    if following == "!":
        if html.startswith("<!--", i):
            if html.startswith(">", i + 4):
                return "other", i + 5, "", False
            if html.startswith("->", i + 4):
                return "other", i + 6, "", False
            return "other", index.comment_end(i + 4), "", False
        if html.startswith("<![CDATA[", i):
            return "cdata", -1, "", False
        return "other", _after(html, ">", i + 2), "", False     # doctype, bogus comment: to the next '>'
    if following == "?":
        return "other", _after(html, ">", i + 2), "", False
    return "other", i + 1, "", False


def attributes(html: str, tag: Tag) -> list[Attribute]:
    """The attributes of a tag start_tags() found, in order (a repeated name too: the browser keeps the first)."""
    return _tag(html, tag.start, tag.end)[2]


_CHARACTER_REFERENCE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def unescape_attribute(value: str) -> str:
    """An attribute value's text as a browser decodes it: as html.unescape does, except that a
    named reference without its ';' stays as written when a letter, digit or '=' follows
    (the standard's rule for attributes: in `?a=1&ltb=2`, `&lt` is text)."""
    def decode(match: re.Match) -> str:
        text = match.group(1)
        if text[0] == "#" or text in _ENTITIES:
            return unescape(match.group())
        for length in range(len(text) - 1, 1, -1):       # the longest name, as html.unescape takes it
            if text[:length] in _ENTITIES:
                following = text[length]
                if (following.isascii() and following.isalnum()) or following == "=":
                    return match.group()
                return _ENTITIES[text[:length]] + text[length:]
        return match.group()

    return _CHARACTER_REFERENCE.sub(decode, value)


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
            attributes.append(Attribute(attribute, match.start(2), match.end(2), '"', match.start(1)))
        elif match.group(4) is not None:
            if not match.group(5):
                return None
            attributes.append(Attribute(attribute, match.start(4), match.end(4), "'", match.start(1)))
        elif match.group(6) is not None:
            attributes.append(Attribute(attribute, match.start(6), match.end(6), "", match.start(1)))
        else:
            attributes.append(Attribute(attribute, match.end(1), match.end(1), "", match.start(1)))
        position = match.end()


def _after(html: str, marker: str, start: int) -> int:
    """The offset just after the first `marker` from start on; -1 if there is none."""
    found = html.find(marker, start)
    return -1 if found < 0 else found + len(marker)


class _Index:
    """Where the markers a scan looks for are in one page, found once: the end tags of each
    text element, `<!--`, `]]>` and comment ends. every_start_tag asks from offsets in any
    order; searching the rest of the page at each would make hostile pages quadratic."""

    def __init__(self, html: str):
        self.html = html
        self.found: dict[str, list[int]] = {}
        self.escaped: dict[tuple[int, bool], int] = {}   # _escaped_end's answers

    def text_end(self, start: int, name: str) -> int:
        """Offset of the end tag that ends the text of element `name` opened just before start, or -1."""
        if name == "plaintext":
            return -1
        end = self._first(name, rf"</{name}[\t\n\f\r />]", start)
        if name == "script" and end >= 0:
            escape = self._first("<!--", r"<!--", start)
            if 0 <= escape < end:
                return self._escaped_end(escape + 2, False)
        return end

    def cdata_end(self, start: int) -> int:
        """The offset just after the first `]]>` from start on (a CDATA section's end), or -1."""
        found = self._first("]]>", r"\]\]>", start)
        return -1 if found < 0 else found + 3

    def comment_end(self, start: int) -> int:
        """The offset just after the first `-->` or `--!>` from start on (a comment's end), or -1."""
        found = self._first("-->", r"--!?>", start)
        return -1 if found < 0 else found + (3 if self.html.startswith("-->", found) else 4)

    def _first(self, key: str, pattern: str, start: int) -> int:
        """Offset of the first match of `pattern` at or after start, or -1. No two matches of the
        patterns asked for can overlap (`</name` followed by a space, `/` or `>`; `<!--`; `]]>`;
        `-->` or `--!>`: where one matches, none can start inside it), so finditer finds them all."""
        offsets = self.found.get(key)
        if offsets is None:
            # ASCII only: re.IGNORECASE alone would take 'ſ' for 's' and 'ı' for 'i', as no browser does
            compiled = re.compile(pattern, re.IGNORECASE | re.ASCII)      # re keeps it compiled
            offsets = self.found[key] = [match.start() for match in compiled.finditer(self.html)]
        at = bisect.bisect_left(offsets, start)
        return offsets[at] if at < len(offsets) else -1

    def _escaped_end(self, position: int, double: bool) -> int:
        """Where a script's text ends from an escaped part (after `<!--`, at `position`): the
        tokenizer's script data escaped states. In it a `<script` starts a double-escaped part,
        in which `</script` does not end the script but returns to the escaped part; `-->`
        leaves both. Each (offset, state) is answered once per page."""
        path = []
        while (position, double) not in self.escaped:
            path.append((position, double))
            match = _SCRIPT_STEP.search(self.html, position)
            if match is None:
                result = -1
                break
            text = match.group().lower()
            if text == "-->":                       # back to plain script data: the next <!-- or </script
                after = match.end()
                end = self._first("script", r"</script[\t\n\f\r />]", after)
                escape = self._first("<!--", r"<!--", after)
                if end < 0 or not 0 <= escape < end:
                    result = end
                    break
                position, double = escape + 2, False
            elif text.startswith("</script"):
                if not double:
                    result = match.start()
                    break
                position, double = match.end() - 1, False
            else:                                   # <script: a double-escaped part begins (or goes on)
                position, double = match.end() - 1, True
        else:
            result = self.escaped[(position, double)]
        for key in path:
            self.escaped[key] = result
        return result


# In an escaped part of a script's text: what changes the state (a '<!--' there changes nothing).
_SCRIPT_STEP = re.compile(r"-->|</script[\t\n\f\r />]|<script[\t\n\f\r />]", re.IGNORECASE | re.ASCII)

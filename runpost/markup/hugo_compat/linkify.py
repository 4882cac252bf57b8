"""Bare URLs and `<autolinks>` found where goldmark (Hugo's linkify) finds them; URLs escaped as goldmark does.

pymdownx.magiclink links more than goldmark does, and people paste URLs into
prose all the time: goldmark links `http://host.tld...` only (so
`http://localhost:1313/` stays text), only after a space, `*`, `_`, `~`, `(`,
the start of a line or another inline element (not after `[` or `<`), never
inside a link's `[...]`, keeps a closing `"` in the URL, and drops only one
final `.` before looking at parentheses. `<https://a b>` is not an autolink
(CommonMark's have no spaces). The patterns here replace magiclink's
"magic-link" and "autolink"; its "magic-mail" still links bare emails.
Rules from goldmark 1.5 (Hugo 0.111), extension/linkify.go.

goldmark also percent-encodes every link's and image's URL (`café` ->
`caf%C3%A9`, a space -> `%20`); Python-Markdown writes them as typed, which
is not a valid URL.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from urllib.parse import quote

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

# goldmark's urlRegexp and wwwURLRegxp.
_PATH = r"""(?:[/#?][-a-zA-Z0-9@:%_+.~#$!?&/=();,'">^{}\[\]`]*)?"""
_DOMAIN = r"[-a-zA-Z0-9@:%._+~#=]{1,256}\.[a-z]+"
# Where goldmark tries linkify: a line's start, a space, `*_~(`, the end of an inline
# element (a stashed placeholder), or an opening quote the typographer turned curly.
_AFTER = r"""(?:(?<![^\s*_~(])|(?<=klzzwxh:\d{4}\x03)|(?<=[\s(]["'])|(?<=^["']))"""
_BARE_URL = _AFTER + r"(?:(?P<url>(?:https?|ftp)://" + _DOMAIN + r"(?::\d+)?" + _PATH + r")" + \
    r"|(?P<www>www\." + _DOMAIN + _PATH + r"))"
# CommonMark autolinks: a scheme, then anything but spaces and angle brackets.
_AUTOLINK = r"<([A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\x00-\x20]*)>"
_TRAILING = "?!.,:*_~"
# goldmark's util.URLEscape keeps these and %XX; everything else is percent-encoded.
_URL_SAFE = "-_.~!#$&'()*+,/:;=?@"      # goldmark encodes [ and ] (util.URLEscape)


class LinkifyExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Replaces magiclink's patterns by name, so it must be registered after magiclink.
        md.inlinePatterns.register(AutolinkProcessor(_AUTOLINK, md), "autolink", 120)
        md.inlinePatterns.register(LinkifyProcessor(_BARE_URL, md), "magic-link", 85)
        # After 'inline' (20) has made every link and image.
        md.treeprocessors.register(UrlEscapeTreeprocessor(md), "runpost_url_escape", 19)


def url_escape(url: str) -> str:
    """Percent-encode a URL as goldmark's util.URLEscape does (existing %XX escapes are kept)."""
    return re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", quote(url, safe=_URL_SAFE + "%"))


def _link(href: str, text: str) -> etree.Element:
    element = etree.Element("a")
    element.set("href", href)
    element.text = AtomicString(text)
    return element


class UrlEscapeTreeprocessor(Treeprocessor):
    """Every `<a href>` and `<img src>` from Markdown, percent-encoded as goldmark writes it."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            attribute = {"a": "href", "img": "src"}.get(element.tag)
            value = element.get(attribute) if attribute else None
            # magiclink's mailto: links are entity-encoded placeholders (STX...), left alone.
            if value and "\x02" not in value:
                element.set(attribute, url_escape(value))


class AutolinkProcessor(InlineProcessor):
    """`<scheme:...>` -> a link showing the URL as written (`<mailto:x@y>` keeps "mailto:")."""

    def handleMatch(self, m, data):
        return _link(m.group(1), m.group(1)), m.start(0), m.end(0)


class LinkifyProcessor(InlineProcessor):
    """A bare `https://...` or `www....` -> a link, ending where goldmark's linkify ends it."""

    ANCESTOR_EXCLUDES = ("a",)

    def handleMatch(self, m, data):
        if _in_link_label(data[:m.start(0)]):
            return None, None, None
        text = m.group(0)[:_link_length(m.group(0))]
        href = text if m.group("url") else "https://" + text
        return _link(href, text), m.start(0), m.start(0) + len(text)


def _link_length(url: str) -> int:
    end = len(url)
    if url.endswith("."):
        end -= 1
    elif url.endswith(")"):
        end -= max(0, url.count(")") - url.count("("))
    elif url.endswith(";"):
        entity = re.search(r"&[A-Za-z0-9]+;$", url)
        if entity:
            end = entity.start()
    while end > 1 and url[end - 1] in _TRAILING:
        end -= 1
    return end


def _in_link_label(before: str) -> bool:
    # goldmark never linkifies between a `[` and its `]`, even when they make no link.
    # (Links that were made, and escaped brackets, are placeholders by now.)
    depth = 0
    for char in before:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    return depth > 0

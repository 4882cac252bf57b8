"""Site paths -> page-relative or absolute URLs, inside generated HTML and CSS.

The engine writes *site paths* ("/posts/x/", "/200502_RNN/a.png": rooted at
the site root, not the domain). The last step of rendering rewrites them so
that one output works under any root: page-relative in HTML and CSS,
absolute (from base_url) in feeds. Only URLs inside real start tags are
touched; text in code samples that merely looks like a tag is left alone
because html.parser tells us where the tags are.
"""
from __future__ import annotations

import posixpath
import re
from html import unescape
from html.parser import HTMLParser
from typing import Callable, Iterator
from urllib.parse import urlsplit

_ATTRIBUTE = re.compile(r"""(\s(?:href|src|poster|srcset|data)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(/[^)"'\s]*)\1\s*\)""")
_STYLE_ATTRIBUTE = re.compile(r"""(\sstyle\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


# Every attribute whose value a browser may load or navigate to, quoted or not.
_ANY_URL_ATTRIBUTE = re.compile(
    r"""\s(href|src|poster|srcset|data|action|formaction|xlink:href|background|cite)\s*=\s*"""
    r"""(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_IMAGE_ATTRIBUTES = {"src", "srcset", "poster"}


def script_scheme(url: str, image: bool = False) -> str:
    """The scheme of a URL that could run script ('javascript', 'vbscript', 'data'), else ''.

    Read as a browser reads it: entities decoded, surrounding whitespace and
    control characters dropped, tabs and newlines inside removed, any case.
    `data:image/...` is allowed where an image is loaded (`image`), as in Hugo.
    """
    cleaned = re.sub(r"[\t\n\r]", "", unescape(url)).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c"
                                                          "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
                                                          "\x1a\x1b\x1c\x1d\x1e\x1f \x7f")
    match = _SCHEME.match(cleaned)
    scheme = match.group(1).lower() if match else ""
    if scheme in ("javascript", "vbscript"):
        return scheme
    if scheme == "data" and not (image and cleaned[5:].lstrip().lower().startswith("image/")):
        return scheme
    return ""


def script_urls(html: str) -> list[str]:
    """URLs in the start tags of `html` that could run script (see script_scheme), as written."""
    found: list[str] = []
    for start, end in start_tags(html):
        found.extend(_script_urls_in_tag(html[start:end]))
    return found


def _script_urls_in_tag(tag: str) -> list[str]:
    found = []
    for match in _ANY_URL_ATTRIBUTE.finditer(tag):
        attribute = match.group(1).lower()
        value = next(group for group in match.groups()[1:] if group is not None)
        urls = _srcset_urls(unescape(value)) if attribute == "srcset" else [value]
        found.extend(url for url in urls if script_scheme(url, attribute in _IMAGE_ATTRIBUTES))
    return found


def normalize_url(url: str) -> str:
    """A URL in an attribute as Go's html/template writes it (Hugo's shortcode templates):
    characters a URL may not hold are percent-encoded (`a b.png` -> `a%20b.png`); existing
    escapes and reserved characters stay."""
    from urllib.parse import quote

    return quote(str(url), safe="!#$&*+,/:;=?@[]%")


def is_site_path(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//")


def is_internal(url: str) -> bool:
    """True for URLs that point into the site: site paths and relative paths."""
    if not url or url.startswith(("#", "//", "data:", "mailto:", "tel:", "javascript:")):
        return False
    return not urlsplit(url).scheme


def relative_url(target: str, page_output: str) -> str:
    """Site path `target` as seen from the page written at `page_output` ("posts/x/index.html")."""
    parts = urlsplit(target)
    page_dir = posixpath.dirname(page_output) or "."
    path = parts.path.lstrip("/") or "."
    relative = posixpath.relpath(path, page_dir)
    if parts.path.endswith("/") and relative != ".":
        relative += "/"
    elif relative == ".":
        relative = "./"
    return relative + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def absolute_url(target: str, base_url: str, page_url: str = "/") -> str:
    """Site path or page-relative URL -> absolute URL under base_url."""
    if not is_internal(target):
        return target
    site_path = target if is_site_path(target) else posixpath.normpath(posixpath.join(page_url, target)) + ("/" if target.endswith("/") else "")
    return base_url.rstrip("/") + "/" + site_path.lstrip("/")


def start_tags(html: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of every start tag in html."""
    finder = _TagFinder()
    finder.feed(html)
    finder.close()
    line_offsets = _line_offsets(html)
    for line, column, length in finder.tags:
        start = line_offsets[line - 1] + column
        yield start, start + length


def rewrite_urls(html: str, convert: Callable[[str], str], found: list[str] | None = None,
                 scripts: list[str] | None = None) -> str:
    """Apply `convert` to every URL attribute and CSS url() inside start tags.

    `found`, if given, receives what urls_in(html) would return, and `scripts`
    what script_urls() of the result would, so that the link check need not
    parse the page again (the parse is most of a page's cost)."""
    pieces, last = [], 0
    for start, end in start_tags(html):
        tag = html[start:end]
        rewritten = _rewrite_tag(tag, convert)
        pieces.append(html[last:start])
        pieces.append(rewritten)
        if found is not None:
            found.extend(_urls_in_tag(tag))
        if scripts is not None:
            scripts.extend(_script_urls_in_tag(rewritten))
        last = end
    pieces.append(html[last:])
    return "".join(pieces)


def urls_in(html: str) -> list[str]:
    """Every URL in a URL attribute of a start tag, in order (srcset split, entities decoded)."""
    return [url for start, end in start_tags(html) for url in _urls_in_tag(html[start:end])]


def _urls_in_tag(tag: str) -> list[str]:
    found = []
    for match in _ATTRIBUTE.finditer(tag):
        # Attribute values may hold entities: Python-Markdown writes an autolinked
        # e-mail address as "&#109;&#97;..." so that it reads "mailto:..." only once decoded.
        value = unescape(match.group(3))
        found.extend(_srcset_urls(value) if "srcset" in match.group(1).lower() else [value])
    return found


def rewrite_css(css: str, convert: Callable[[str], str]) -> str:
    return _CSS_URL.sub(lambda m: f"url({m.group(1)}{convert(m.group(2))}{m.group(1)})", css)


def _rewrite_tag(tag: str, convert: Callable[[str], str]) -> str:
    def attribute(match: re.Match) -> str:
        prefix, quote, value = match.groups()
        if "srcset" in prefix.lower():
            new = ", ".join(_rewrite_srcset_item(item, convert) for item in value.split(","))
        else:
            new = convert(value)
        return f"{prefix}{quote}{new}{quote}"

    tag = _ATTRIBUTE.sub(attribute, tag)
    return _STYLE_ATTRIBUTE.sub(lambda m: f"{m.group(1)}{m.group(2)}{rewrite_css(m.group(3), convert)}{m.group(2)}", tag)


def _rewrite_srcset_item(item: str, convert: Callable[[str], str]) -> str:
    parts = item.strip().split(None, 1)
    if not parts:
        return item
    return " ".join([convert(parts[0]), *parts[1:]])


def _srcset_urls(value: str) -> list[str]:
    return [item.strip().split(None, 1)[0] for item in value.split(",") if item.strip()]


def _line_offsets(text: str) -> list[int]:
    # str.find runs in C; a Python loop over every character was about 6% of an 800-post build.
    offsets = [0]
    index = text.find("\n")
    while index >= 0:
        offsets.append(index + 1)
        index = text.find("\n", index + 1)
    return offsets


class _TagFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: list[tuple[int, int, int]] = []

    def handle_starttag(self, _tag, _attrs):
        self._record()

    def handle_startendtag(self, _tag, _attrs):
        self._record()

    def _record(self) -> None:
        text = self.get_starttag_text() or ""
        line, column = self.getpos()
        self.tags.append((line, column, len(text)))

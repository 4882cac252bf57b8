"""Site paths -> page-relative or absolute URLs, inside generated HTML and CSS.

The engine writes *site paths* ("/posts/x/", "/200502_RNN/a.png": rooted at
the site root, not the domain). The last step of rendering rewrites them so
that one output works under any root: page-relative in HTML and CSS,
absolute (from base_url) in feeds. Only URLs inside real start tags are
touched; text in code samples that merely looks like a tag is left alone
because html_tags.py finds the tags and their attributes as a browser does.
"""
from __future__ import annotations

import functools
import posixpath
import re
from html import escape, unescape
from typing import Callable
from urllib.parse import SplitResult, quote, urlsplit

from .html_tags import Tag, attributes, raw_texts, read_tags, start_tags, unescape_attribute

# Rewritten and link-checked (xlink:href: SVG 1.1's href; background: <body>'s and <td>'s image),
# as are the url()s of a style attribute.
_SITE_URL_ATTRIBUTES = frozenset({"href", "src", "poster", "srcset", "data", "xlink:href", "background"})
# Every attribute whose value a browser may load or navigate to: checked for script URLs.
_ANY_URL_ATTRIBUTES = frozenset({*_SITE_URL_ATTRIBUTES, "action", "formaction", "xlink:href", "background", "cite"})
# A form's target: made page-relative as a link is (under a sub-path `/subscribe/` left the site), not
# link-checked: a host may answer it without a page there (Netlify's forms, a function).
_FORM_ATTRIBUTES = frozenset({"action", "formaction"})
_SPACE = "\t\n\f\r "                 # ASCII whitespace, as HTML counts it
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_IMAGE_ATTRIBUTES = {"src", "srcset", "poster"}
_IMAGE_ELEMENTS = frozenset({"img", "source", "video", "input", "image"})   # where those load an image (not an iframe)
# SVG's <image> and <feImage> load an image from href (no script runs in it): data:image/ is allowed there.
_SVG_IMAGE_ELEMENTS = frozenset({"image", "feimage"})
# SVG <animate>/<set> can give an href a script URL; srcdoc is a whole page, read as one.
_ANIMATION_VALUES = frozenset({"to", "from", "by", "values"})


@functools.lru_cache(maxsize=1 << 14)
def output_path(url: str) -> str:
    """Site path of a page ("/posts/x/") -> file in the output ("posts/x/index.html").
    Remembered: serve's rebuilds ask for every post's, in several stages."""
    path = url.lstrip("/")
    return posixpath.join(path, "index.html") if url.endswith("/") else path


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
    """URLs in the start tags of `html` that could run script (see script_scheme), as written:
    in the tags of every reading a browser may take (html_tags.py), and in the page an
    iframe's srcdoc holds."""
    found: list[str] = []
    pages = [html]
    while pages:            # srcdoc pages in srcdoc pages: a list, not recursion, however deep
        page = pages.pop()
        likely, others = read_tags(page)
        for tag in (*likely, *others):
            if _may_hold_url(page, tag):
                found_in = attributes(page, tag)
                kind = _element(page, tag, found_in)
                for attribute in found_in:
                    value = page[attribute.start:attribute.end]
                    if attribute.name == "srcdoc":
                        pages.append(unescape_attribute(value))
                    found.extend(_script_urls_in(kind, attribute.name, value))
    return found


def _scripts_in(tag: str, name: str, value: str) -> list[str]:
    """The script URLs in one attribute's value, a srcdoc's page included."""
    return script_urls(unescape_attribute(value)) if name == "srcdoc" else _script_urls_in(tag, name, value)


def _element(html: str, tag: Tag, found: list) -> str:
    """The tag's name, or "meta refresh" for a <meta http-equiv="refresh">: its content is a URL."""
    if tag.name == "meta" and any(attribute.name == "http-equiv" and unescape_attribute(
            html[attribute.start:attribute.end]).strip().lower() == "refresh" for attribute in found):
        return "meta refresh"
    return tag.name


def _script_urls_in(tag: str, name: str, value: str) -> list[str]:
    """The script URLs in one attribute's value (a srcdoc's page: script_urls reads it). `tag`:
    the element's name, as _element gives it."""
    if tag == "meta refresh" and name == "content":      # content="0; url=..."
        refresh = _REFRESH.match(unescape_attribute(value))
        return [refresh.group(2)] if refresh and script_scheme(refresh.group(2)) else []
    if name == "style":
        # CSS loads images and fonts from url(): a data: URL runs nothing there, javascript: might.
        return [url for url in css_urls(unescape_attribute(value), comments=True)
                if script_scheme(url) in ("javascript", "vbscript")]
    if name in _ANIMATION_VALUES:
        urls = [part.strip() for part in unescape_attribute(value).split(";")] if name == "values" else [value]
    elif name in _ANY_URL_ATTRIBUTES:
        urls = srcset_urls(unescape_attribute(value)) if name == "srcset" else [value]
    else:
        return []
    image = (name in _IMAGE_ATTRIBUTES and tag in _IMAGE_ELEMENTS) or (name in ("href", "xlink:href")
                                                                          and tag in _SVG_IMAGE_ELEMENTS)
    return [url for url in urls if script_scheme(url, image)]


def normalize_url(url: str) -> str:
    """A URL in an attribute as Go's html/template writes it (Hugo's shortcode templates):
    characters a URL may not hold are percent-encoded (`a b.png` -> `a%20b.png`); existing
    escapes and reserved characters stay."""
    from urllib.parse import quote

    return quote(str(url), safe="!#$&*+,/:;=?@[]%")


def split_url(url: str) -> SplitResult:
    """urlsplit, for any text a page may hold: a host with an unclosed '[' (`http://[x/`, which
    urlsplit refuses as an IPv6 address) is read with its brackets as plain characters: a
    browser cannot follow it either, and it is external all the same."""
    try:
        return urlsplit(url)
    except ValueError:
        return urlsplit(url.replace("[", "%5B").replace("]", "%5D"))


def is_site_path(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//")


def is_internal(url: str) -> bool:
    """True for URLs that point into the site: site paths and relative paths."""
    if not url or url.startswith(("#", "//", "data:", "mailto:", "tel:", "javascript:")):
        return False
    return not split_url(url).scheme


def relative_url(target: str, page_output: str) -> str:
    """Site path `target` as seen from the page written at `page_output` ("posts/x/index.html")."""
    parts = split_url(target)
    page_dir = posixpath.dirname(page_output) or "."
    path = parts.path.lstrip("/") or "."
    relative = _relative_path(path, page_dir)
    if parts.path.endswith("/") and relative != ".":
        relative += "/"
    elif relative == ".":
        relative = "./"
    return relative + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def _relative_path(path: str, start: str) -> str:
    """posixpath.relpath for two paths from the site's root, without its os.getcwd() per call (a
    fifth of finishing a page): a '..' above the root stays at the root, as a browser resolves it."""
    steps = [part for part in posixpath.normpath("/" + path).split("/") if part]
    base = [part for part in posixpath.normpath("/" + start).split("/") if part]
    shared = 0
    for step, folder in zip(steps, base):
        if step != folder:
            break
        shared += 1
    return "/".join([".."] * (len(base) - shared) + steps[shared:]) or "."


@functools.lru_cache(maxsize=1 << 14, typed=True)
def absolute_url(target: str, base_url: str, page_url: str = "/") -> str:
    """Site path or page-relative URL -> absolute URL under base_url. Remembered: the sitemap and
    the feeds ask for every post's on every build (a fifth of serve's list pages at 1,000 posts)."""
    if not is_internal(target):
        return target
    site_path = target if is_site_path(target) else posixpath.normpath(posixpath.join(page_url, target)) + ("/" if target.endswith("/") else "")
    # A URL, not an IRI: spaces and other characters no URL may hold as they are (`/posts/café/`)
    # percent-encoded, as the sitemap protocol and feed readers want; escapes already there stay.
    return base_url.rstrip("/") + "/" + quote(site_path.lstrip("/"), safe=_URL_CHARACTERS)


# What a URL may hold as it is (RFC 3986's reserved and unreserved characters, and `%` of escapes).
_URL_CHARACTERS = "!#$%&'()*+,/:;=?@[]~"


# A refresh's target, as the HTML standard reads `content`: a time, then `;` or `,`, then `url=`.
_REFRESH = re.compile(r"""\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(["']?)(.*?)\1\s*$""", re.IGNORECASE | re.DOTALL)
# An attribute worth reading: a name in _ANY_URL_ATTRIBUTES or _ANIMATION_VALUES, srcdoc,
# style or content (a meta refresh), with a value. A name follows a space, a '/' or a value's closing quote, and is never
# written with entities; a tag without one of these is not parsed.
_URL_ATTRIBUTE_NAME = re.compile(r"""[\t\n\f\r /"'](?:href|src|srcset|srcdoc|poster|data|action|formaction|xlink:href|"""
                                 r"""background|cite|style|content|to|from|by|values)[\t\n\f\r ]*=""", re.IGNORECASE | re.ASCII)


def _may_hold_url(html: str, tag: Tag) -> bool:
    """False for a tag with no URL or style attribute with a value (most tags): not worth parsing."""
    return _URL_ATTRIBUTE_NAME.search(html, tag.start, tag.end) is not None


def rewrite_urls(html: str, convert: Callable[[str], str], found: list[str] | None = None,
                 scripts: list[str] | None = None) -> str:
    """Apply `convert` to every URL attribute and CSS url() inside start tags.

    `found`, if given, receives what urls_in(html) would return, and `scripts`
    what script_urls() of the result would, so that the link check need not
    parse the page again. Rewritten and listed in `found`: the likely reading's
    tags and its <style> elements' url()s; `scripts` also has those only another reading
    has (html_tags.py)."""
    html, in_styles = _rewrite_style_elements(html, convert, scripts)
    pieces, last = [], 0
    likely, others = read_tags(html) if scripts is not None else (start_tags(html), [])
    for tag in likely:
        if not _may_hold_url(html, tag):
            continue
        found_in = attributes(html, tag)
        kind = _element(html, tag, found_in) if scripts is not None else tag.name
        for attribute in found_in:
            value = html[attribute.start:attribute.end]
            if attribute.name in _SITE_URL_ATTRIBUTES:
                if found is not None:
                    found.extend(_urls_in(attribute.name, value))
                new = _rewrite_value(attribute.name, value, convert)
            elif attribute.name == "style":
                if found is not None:
                    found.extend(_urls_in(attribute.name, value))
                new = _decoded_rewrite(value, lambda css: rewrite_css(css, convert))
            elif attribute.name in _FORM_ATTRIBUTES:
                new = _rewrite_value(attribute.name, value, convert)
            else:
                new = value
            if scripts is not None:
                scripts.extend(_scripts_in(kind, attribute.name, new))
            if new != value:
                pieces.append(html[last:attribute.start])
                pieces.append(_requoted(new) if not attribute.quote else new)
                last = attribute.end
    for tag in others:          # what another reading sees is checked for script URLs, and left as it is
        if _may_hold_url(html, tag):
            found_in = attributes(html, tag)
            kind = _element(html, tag, found_in)
            for attribute in found_in:
                scripts.extend(_scripts_in(kind, attribute.name, html[attribute.start:attribute.end]))
    pieces.append(html[last:])
    if found is not None:
        found.extend(in_styles)
    return "".join(pieces)


def page_links_absolute(html: str, page: str) -> str:
    """Each link (<a>, <area>) to an element of this page (`href="#setup"`) as one to `page#setup`:
    for HTML read away from the page (a feed entry). Other `#` references (an SVG's `<use>`) stay."""
    if "#" not in html and "&" not in html:      # written `#setup`, `&#35;setup` or `&num;setup`
        return html
    pieces, last = [], 0
    for tag in start_tags(html):
        if tag.name not in ("a", "area"):
            continue
        for attribute in attributes(html, tag):       # (the first href is the one a browser takes)
            if attribute.name == "href":
                value = html[attribute.start:attribute.end]
                read = unescape_attribute(value).strip("\t\n\f\r ")         # as a browser reads a URL
                if read.startswith("#"):
                    # absolute_url's page address holds no space or quote: it needs no quoting.
                    new = escape(page) + value if value.startswith("#") else escape(page + read)
                    pieces += [html[last:attribute.start], new]
                    last = attribute.end
                break
    pieces.append(html[last:])
    return "".join(pieces)


def urls_in(html: str) -> list[str]:
    """Every URL in a URL attribute of a start tag, in order (srcset split, entities decoded), then
    those of the <style> elements, in the likely reading (html_tags.py): what the link check checks."""
    return [url for tag in start_tags(html) if _may_hold_url(html, tag) for attribute in attributes(html, tag)
            if attribute.name in _SITE_URL_ATTRIBUTES or attribute.name == "style"
            for url in _urls_in(attribute.name, html[attribute.start:attribute.end])] + [
        url for start, end in _style_elements(html) for url in css_urls(html[start:end])]


_STYLE_START = re.compile(r"<style[\t\n\f\r />]", re.IGNORECASE)


def _style_elements(html: str) -> list[tuple[int, int]]:
    """The offsets of each <style> element's CSS, as a browser reads the page (not one in a comment,
    a script or an attribute; one in an <svg> is SVG's own, not read here)."""
    if _STYLE_START.search(html) is None:        # most pages have none: no second reading
        return []
    return [(start, end) for start, end, name in raw_texts(html) if name == "style"]


def _rewrite_style_elements(html: str, convert: Callable[[str], str],
                            scripts: list[str] | None) -> tuple[str, list[str]]:
    """A <style> element's url()s, made page-relative as a style attribute's are (a theme's inline
    `background: url(/images/hero.jpg)` left the site under a base path): the page, and the url()s as
    written (rewrite_urls lists them after the tags' URLs, as urls_in does); those that could run
    script go into `scripts`."""
    spans = _style_elements(html)
    if not spans:
        return html, []
    pieces, last, urls = [], 0, []
    for start, end in spans:
        css = html[start:end]
        urls.extend(css_urls(css))
        if scripts is not None:
            scripts.extend(url for url in css_urls(css, comments=True) if script_scheme(url) in ("javascript", "vbscript"))
        pieces += [html[last:start], rewrite_css(css, convert)]
        last = end
    pieces.append(html[last:])
    return "".join(pieces), urls


def _urls_in(name: str, value: str) -> list[str]:
    # Attribute values may hold entities: Python-Markdown writes an autolinked
    # e-mail address as "&#109;&#97;..." so that it reads "mailto:..." only once decoded.
    value = unescape_attribute(value)
    if name == "style":        # background-image: url(/posts/x/a.png), as a browser loads it
        return [url for url in css_urls(value, comments=True) if url.strip()]
    return srcset_urls(value) if name == "srcset" else [value]


def _rewrite_value(name: str, value: str, convert: Callable[[str], str]) -> str:
    rewrite = (lambda text: _rewrite_srcset(text, convert)) if name == "srcset" else convert
    return _decoded_rewrite(value, rewrite)


def _decoded_rewrite(value: str, rewrite: Callable[[str], str]) -> str:
    """`rewrite` applied to an attribute's value as a browser reads it: `&#47;posts/x/` is the site
    path /posts/x/ too. A value without `&` is its own reading; one with entities is kept as
    written unless the rewrite changes it, then written back escaped."""
    if "&" not in value:
        return rewrite(value)
    decoded = unescape_attribute(value)
    new = rewrite(decoded)
    return value if new == decoded else escape(new)


def _requoted(value: str) -> str:
    """A rewritten unquoted value, quoted: a relative URL may hold what ends an unquoted one.
    Its entities are already written as the page had them; only a '"' needs one."""
    return '"' + value.replace('"', "&quot;") + '"'


def rewrite_css(css: str, convert: Callable[[str], str]) -> str:
    """Site paths in url() and in `@import "..."` made by `convert`."""
    pieces, last = [], 0
    for start, end, mark, url in _css_url_calls(css):
        if url.startswith("/") and (mark or not any(character in url for character in "\"'()\t\n\f\r ")):
            pieces += [css[last:start], f"url({mark}{convert(url)}{mark})"]
            last = end
    if pieces:
        css = "".join(pieces) + css[last:]
    return _CSS_IMPORT.sub(lambda match: f"{match.group(1)}{match.group(2)}{convert(match.group(3))}{match.group(2)}", css) \
        if "@import" in css.lower() else css


_URL_CALL = re.compile(r"url\(", re.IGNORECASE)
_SPACES = re.compile(r"[\t\n\f\r ]*")


def _css_url_calls(css: str) -> list[tuple[int, int, str, str]]:
    """(start, end, quote, URL) of each `url(...)` in CSS, in linear time (`url(` ten thousand times
    over, with no closing parenthesis, took a regular expression minutes). A quoted URL runs to its
    closing quote, an unquoted one to the parenthesis; spaces around it are not the URL's."""
    found: list[tuple[int, int, str, str]] = []
    following: dict[str, tuple[int, int]] = {}     # character -> (searched from, found at): positions only grow

    def next_of(character: str, start: int) -> int:
        searched, at = following.get(character, (-1, -1))
        if searched != -1 and searched <= start and (at == -1 or at >= start):
            return at
        at = css.find(character, start)
        following[character] = (start, at)
        return at

    consumed = 0
    for call in _URL_CALL.finditer(css):
        if call.start() < consumed:
            continue
        inside = _SPACES.match(css, call.end()).end()
        quote = css[inside:inside + 1]
        if quote in ("'", '"'):
            close = next_of(quote, inside + 1)
            if close < 0:
                continue
            after = _SPACES.match(css, close + 1).end()
            if css[after:after + 1] != ")":
                continue
            found.append((call.start(), after + 1, quote, css[inside + 1:close]))
            consumed = after + 1
        else:
            close = next_of(")", inside)
            if close < 0:
                continue
            found.append((call.start(), close + 1, "", css[inside:close].rstrip("\t\n\f\r ")))
            consumed = close + 1
    return found


# `@import "/css/print.css"`: a site path as a string (url() forms are _CSS_URL's).
# (At most 2,048 characters: an `@import "` never closed, ten thousand times over, stays linear.)
_CSS_IMPORT = re.compile(r"""(@import[\t\n\f\r ]*)(["'])(/[^"'\n]{0,2048})\2""", re.IGNORECASE)
_CSS_ANY_IMPORT = re.compile(r"""@import[\t\n\f\r ]*(["'])([^"'\n]{0,2048})\1""", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)


def css_urls(css: str, comments: bool = False) -> list[str]:
    """Every URL a stylesheet loads, in order: url()s and `@import "..."`, not those in comments
    (with `comments`, those too: what a script check reads)."""
    if "/*" in css and not comments:
        css = _CSS_COMMENT.sub(lambda comment: " " * len(comment.group()), css)
    found = [(start, url) for start, _, _, url in _css_url_calls(css) if url.strip()]
    if "@import" in css.lower():
        found += [(match.start(), match.group(2)) for match in _CSS_ANY_IMPORT.finditer(css) if match.group(2).strip()]
    return [url for _, url in sorted(found)]


def _srcset_spans(value: str) -> list[tuple[int, int]]:
    """The offsets of each image candidate's URL in a srcset, as the HTML standard parses it
    (https://html.spec.whatwg.org/multipage/images.html#parse-a-srcset-attribute): a URL runs
    to the next whitespace, so it may hold commas (`/a,b.png 2x`), except at its end; the
    descriptors after it run to a comma outside parentheses."""
    spans, i, n = [], 0, len(value)
    while True:
        while i < n and (value[i] in _SPACE or value[i] == ","):
            i += 1
        if i >= n:
            return spans
        start = i
        while i < n and value[i] not in _SPACE:
            i += 1
        end = i
        while end > start and value[end - 1] == ",":
            end -= 1
        if end > start:
            spans.append((start, end))
        if end < i:             # the URL ended in commas: no descriptors
            continue
        parens = False
        while i < n:
            if parens:
                parens = value[i] != ")"
            elif value[i] == "(":
                parens = True
            elif value[i] == ",":
                break
            i += 1


def _rewrite_srcset(value: str, convert: Callable[[str], str]) -> str:
    pieces, last = [], 0
    for start, end in _srcset_spans(value):
        pieces += [value[last:start], convert(value[start:end])]
        last = end
    pieces.append(value[last:])
    return "".join(pieces)


def srcset_urls(value: str) -> list[str]:
    """The URLs of a srcset as a browser reads it (entities already decoded)."""
    return [value[start:end] for start, end in _srcset_spans(value)]

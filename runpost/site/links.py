"""Stage: every internal link and image must point at something the site contains.

Two passes. First each post's own source is scanned for link and image
targets (Markdown links, reference definitions, shortcode `src`/`link`,
front matter `images`), so a broken one is reported at its file, line and
column. Then every URL in every generated page is resolved, which catches
what templates and shortcodes produced.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..config import Config
from ..errors import BuildError, ErrorCollector, Location
from ..markup.codeblocks import find_code_blocks
from ..post import Post, Site
from .urls import is_internal, is_site_path, urls_in

# A link or image whose "[" is not escaped; a reference definition that is not a footnote ("[^1]:").
_MARKDOWN_TARGET = re.compile(r"""(?<!\\)!?\[(?:\\.|[^\]\\\n])*\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)""")
# [![alt](image)](target): the image is found by the pattern above, the outer link by this one.
_LINKED_IMAGE = re.compile(r"""(?<!\\)\[!\[(?:\\.|[^\]\\\n])*\]\([^)\n]*\)\]\(\s*<?([^)\s>]+)""")
_REFERENCE_DEFINITION = re.compile(r"""^\s{0,3}\[(?!\^)[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)""")
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
_SHORTCODE_SPAN = re.compile(r"\{\{[<%].*?[>%]\}\}")
_HTML_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_SHORTCODE_TARGET = re.compile(r"""\b(?:src|link)\s*=\s*["'`]?([^"'`\s>]+)""")
_HTML_TARGET = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""")


def check_links(site: Site, posts: list[Post], config: Config) -> None:
    outputs = set(site.pages) | set(site.files)
    errors = ErrorCollector()
    reported: set[tuple[str, str]] = set()
    for post in posts:
        for location, target in source_targets(post):
            site_path = to_site_path(target, post.url)
            if site_path is not None and not exists(site_path, outputs):
                errors.add(BuildError(location, missing_message(target, site_path)))
                reported.add((post.url, site_path))
    by_page = {_output_of(post.url): post for post in posts}
    for page, html in sorted(site.pages.items()):
        if page.endswith(".html"):
            # The URLs as written resolve to the same site paths as the rewritten ones.
            urls = site.links[page] if page in site.links else urls_in(html)
            _check_page(page, urls, outputs, by_page.get(page), reported, errors)
    errors.raise_if_any()


def _check_page(page: str, urls: list[str], outputs: set[str], post: Post | None,
                reported: set[tuple[str, str]], errors: ErrorCollector) -> None:
    page_url = "/" + posixpath.dirname(page) + "/" if posixpath.dirname(page) else "/"
    for url in urls:
        site_path = to_site_path(url, page_url)
        if site_path is None or exists(site_path, outputs) or (post and (post.url, site_path) in reported):
            continue
        where = Location(post.path) if post else Location(Path(page))
        errors.add(BuildError(where, f"page /{page} links to {site_path}, which the site does not contain"))
        reported.add((post.url if post else page, site_path))


def missing_message(target: str, site_path: str) -> str:
    if unquote(target.split("#")[0].split("?")[0]) == site_path:
        return f"'{target}' does not exist in the site"
    return f"'{target}' (that is {site_path}) does not exist in the site"


def source_targets(post: Post) -> list[tuple[Location, str]]:
    """(location, target) of every link-like target written in the post's file.

    Code is skipped (fenced and indented blocks found by the same scanner the
    shortcode stage uses, and inline code spans), so a sample link in code is
    never checked.
    """
    found = [(Location(post.path, number, column), target)
             for number, line in enumerate(post.source.split("\n")[: post.body_line - 1], 1)
             for column, target in _front_matter_images(line, post)]
    # The source's own body, not post.body: shortcodes have been swapped for placeholders there.
    body = "\n".join(post.source.split("\n")[post.body_line - 1:])
    code_lines = _code_block_lines(body)
    for offset, line in enumerate(body.split("\n")):
        if offset + 1 not in code_lines:
            found.extend((Location(post.path, post.body_line + offset, column), target)
                         for column, target in _targets_in_line(_blank_code_spans(line)))
    return found


def _front_matter_images(line: str, post: Post) -> list[tuple[int, str]]:
    stripped = line.strip().lstrip("-").strip().strip("'\"")
    return [(line.find(stripped) + 1, stripped)] if stripped and stripped in post.meta.images else []


def _code_block_lines(body: str) -> set[int]:
    """1-based body lines inside fenced or indented code blocks."""
    lines = set()
    for block in find_code_blocks(body):
        first = body.count("\n", 0, block.start) + 1
        last = body.count("\n", 0, max(block.start, block.end - 1)) + 1
        lines.update(range(first, last + 1))
    return lines


def _blank_code_spans(line: str) -> str:
    """`code` spans replaced by spaces of the same length, so columns stay true."""
    return _CODE_SPAN.sub(lambda match: " " * len(match.group(0)), line)


def _targets_in_line(line: str) -> list[tuple[int, str]]:
    targets = [(match.start(1) + 1, match.group(1))
               for pattern in (_MARKDOWN_TARGET, _LINKED_IMAGE, _REFERENCE_DEFINITION)
               for match in pattern.finditer(line)]
    # src=/link=/href= count only inside a shortcode call or an HTML tag, not in prose.
    for span_pattern, target_pattern in ((_SHORTCODE_SPAN, _SHORTCODE_TARGET), (_HTML_TAG, _HTML_TARGET)):
        for span in span_pattern.finditer(line):
            targets.extend((span.start() + match.start(1) + 1, match.group(1))
                           for match in target_pattern.finditer(span.group(0)))
    return sorted(set(targets))


def to_site_path(url: str, page_url: str) -> str | None:
    """Internal URL -> normalised site path; None for external URLs and bare fragments."""
    if not is_internal(url):
        return None
    path = unquote(urlsplit(url).path)
    if not path:
        return None
    if not is_site_path(path):
        path = posixpath.join(page_url, path)
    normal = posixpath.normpath(path)
    return normal + "/" if path.endswith("/") and normal != "/" else normal


def exists(site_path: str, outputs: set[str]) -> bool:
    path = site_path.lstrip("/")
    if path in ("", "."):
        return "index.html" in outputs
    if site_path.endswith("/"):
        return posixpath.join(path, "index.html") in outputs
    return path in outputs or posixpath.join(path, "index.html") in outputs


def _output_of(url: str) -> str:
    return posixpath.join(url.lstrip("/"), "index.html")

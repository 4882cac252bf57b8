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

from .config import Config
from .errors import BuildError, ErrorCollector, Location
from .post import Post, Site
from .urls import is_internal, is_site_path, urls_in

_MARKDOWN_TARGET = re.compile(r"""!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)""")
_REFERENCE_DEFINITION = re.compile(r"""^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)""")
_SHORTCODE_TARGET = re.compile(r"""\b(?:src|link)\s*=\s*["'`]?([^"'`\s>]+)""")
_HTML_TARGET = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


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
    """(location, target) of every link-like target written in the post's file."""
    found = []
    in_fence = ""
    for number, line in enumerate(post.source.split("\n"), 1):
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            if not in_fence:
                in_fence = marker
            elif marker[0] == in_fence[0] and len(marker) >= len(in_fence):
                in_fence = ""
            continue
        if in_fence or line.startswith(("    ", "\t")) and number >= post.body_line:
            continue
        found.extend((Location(post.path, number, column), target) for column, target in _targets_in_line(line, number, post))
    return found


def _targets_in_line(line: str, number: int, post: Post) -> list[tuple[int, str]]:
    if number < post.body_line:
        image_values = set(post.meta.images)
        stripped = line.strip().lstrip("-").strip().strip("'\"")
        return [(line.find(stripped) + 1, stripped)] if stripped in image_values else []
    targets = []
    for pattern in (_MARKDOWN_TARGET, _REFERENCE_DEFINITION, _SHORTCODE_TARGET, _HTML_TARGET):
        for match in pattern.finditer(line):
            targets.append((match.start(1) + 1, match.group(1)))
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

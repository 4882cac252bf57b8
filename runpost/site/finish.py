"""The site stage's last step: every page made page-relative, and the files to copy beside them.

pages.py hands over templated pages; here each site path in them becomes a page-relative
URL (urls.py), the URLs and script sources are noted for the link check, and the files
(bundle assets, results, static files, image copies) are collected, each confined to the
project. Finishing is pure: remembered in the render cache, spread over the cores.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..config import CONFIG_NAME, Config
from ..content.confine import allowed_roots, outside_error, paths_to_publish, private
from ..errors import BuildError, ErrorCollector, Location
from ..parallel import precompute
from ..post import Post
from ..render_cache import RenderCache, key
from .output import MARKER
from .urls import is_site_path, output_path, relative_url, rewrite_css, rewrite_urls


def finish_pages(pages: dict[str, str], cache: RenderCache, post_keys: dict[str, str] | None = None,
                 remembered: dict[str, dict] | None = None, finished: dict[str, dict] | None = None,
                 base_path: str = "/") -> tuple[dict[str, str], dict[str, list[str]], dict[str, list[str]]]:
    """finish_text for every page: (pages, their URLs as written, their script URLs). Remembered by
    the page's path and templated text, or for a post's page by `post_keys` (then `remembered`
    holds those found, not templated at all, and `finished` those pages.py templated and finished
    in one go, to be stored). Pages not seen before are finished on all cores."""
    post_keys, remembered, finished = post_keys or {}, remembered or {}, finished or {}
    # The not-found page's URLs depend on the base path too (see finish_text).
    wanted = {path: post_keys.get(path) or key("page", [path, text, base_path if path == NOT_FOUND_PAGE else ""])
              for path, text in pages.items() if path.endswith(".html")}
    kind = lambda path: "post-page" if path in post_keys else "page"
    missing = [(path, text) for path, text in pages.items()
               if path in wanted and cache.lookup(path, kind(path), wanted[path]) is None]
    ready = {missing[index][0]: done for index, done in
             precompute(lambda page: finish_html(*page, base_path=base_path), missing).items()}
    out, links, scripts = {}, {}, {}
    for path in [*remembered, *finished, *pages]:
        if path in remembered:
            done = remembered[path]
        elif path in finished:
            done = finished[path]
            cache.store(path, "post-page", post_keys[path], done)
            cache.computed.append((path, "post-page"))
        elif path not in wanted:
            out[path] = finish_text(path, pages[path])
            continue
        else:
            done = cache.lookup(path, kind(path), wanted[path])
            if done is None:
                done = ready[path] if path in ready else finish_html(path, pages[path], base_path=base_path)
                cache.store(path, kind(path), wanted[path], done)
                cache.computed.append((path, kind(path)))
        out[path], links[path], scripts[path] = done["text"], done["links"], done["scripts"]
    return out, links, scripts


def finish_html(path: str, text: str, base_path: str = "/") -> dict[str, Any]:
    """An HTML page finished: its text, its URLs as written and those that could run script."""
    found: list[str] = []
    script: list[str] = []
    return {"text": finish_text(path, text, found, script, base_path), "links": found, "scripts": script}


# GitHub Pages (and most servers) answer any missing URL with this page, at that URL.
NOT_FOUND_PAGE = "404.html"


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def finish_text(path: str, text: str, links: list[str] | None = None, scripts: list[str] | None = None,
                base_path: str = "/") -> str:
    """Make site paths page-relative in an HTML page or stylesheet; note an HTML page's URLs
    (as written) in `links` and the URLs that could run script in `scripts`.

    The not-found page's are made absolute from the base path instead: served at any missing URL
    (/blog/posts/old-name/), a relative `css/x.css` would lead under it, and the page lose its
    styles and links."""
    if path == NOT_FOUND_PAGE:
        root = base_path.rstrip("/")
        convert = lambda url: root + url if is_site_path(url) else url
    else:
        convert = lambda url: relative_url(url, path) if is_site_path(url) else url
    if path.endswith(".html"):
        return rewrite_urls(text, convert, links, scripts)
    if path.endswith(".css"):
        return rewrite_css(text, convert)
    if path.endswith(".xml"):
        # XML 1.0 forbids most control characters (a NUL in a post would break every feed reader).
        return text if _xml_safe(text) else _NOT_XML.sub("", text)
    return text


_CONTROLS = [chr(code) for code in range(0x20) if chr(code) not in "\t\n\r"]


def _xml_safe(text: str) -> bool:
    """Whether _NOT_XML finds nothing in `text`, told by C-speed tests (the regex reads 25 ns a
    character: 15 ms a serve rebuild for the sitemap and feeds of 1,000 posts): no control
    character, and, beyond ASCII, no lone surrogate (UTF-8 refuses one) and neither non-character."""
    if any(control in text for control in _CONTROLS):
        return False
    if text.isascii():
        return True
    if "\ufffe" in text or "\uffff" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def collect_files(posts: list[Post], config: Config, pages: dict[str, str],
                  static: dict[str, Path] | None = None, loose: dict[str, Path] | None = None) -> dict[str, Path]:
    """Static files, content/'s own files, bundle resources and files the code wrote; two sources
    for one path is an error."""
    files: dict[str, Path] = {}
    # A post's page is named by its post (a slug `index.xml` needs a folder where the feed is).
    of_posts = {output_path(post.url): post for post in posts}
    owners: dict[str, str] = {MARKER: "runpost's marker file",
                              **{path: f"the page of {Location(of_posts[path].path)}" if path in of_posts
                                 else "a generated page" for path in pages}}
    if "CNAME" in pages:
        owners["CNAME"] = f"the cname of {CONFIG_NAME}"
    errors = ErrorCollector()

    def claim(site_path: str, source: Path, owner: str, where: Location) -> None:
        path = site_path.lstrip("/")
        if repository_path(path):
            errors.add(BuildError(where, f"{owner} would publish /{path}: {REPOSITORY_REFUSAL}"))
            return
        if path in owners:
            errors.add(BuildError(where, f"{owner} and {owners[path]} both write /{path}"))
            return
        owners[path] = owner
        files[path] = source

    for path, source in (static_files(config) if static is None else static).items():
        claim("/" + path, source, f"static/{path}", Location(source))
    for path, source in (content_files(config) if loose is None else loose).items():
        claim("/" + path, source, f"{config.content_dir.name}/{path}", Location(source))
    for post in posts:
        for site_path, source in {**post.assets, **post.results.files}.items():
            claim(site_path, source, str(Location(post.path)), Location(post.path, 1, 1))
        # A bundle's own file that the code also writes: the code's was published and the author's
        # dropped, silently (the same clash with static/ was an error).
        for site_path in sorted(post.assets.keys() & post.results.files.keys()):
            bundled, written = post.assets[site_path], post.results.files[site_path]
            if not _same_bytes(bundled, written):
                errors.add(BuildError(Location(bundled), f"the post's code also writes {site_path.rsplit('/', 1)[-1]}, "
                                      f"which would replace this file at {site_path}; rename one of them"))
    # A path both a file and a folder (a static file `posts`, beside the posts' pages): one would
    # replace the other in the output.
    for path in sorted(owners):
        folder = next((folder for folder in folders_of(path) if folder in owners), None)
        if folder is not None:
            post = of_posts.get(path) or of_posts.get(folder)
            where = Location(files[path]) if path in files else Location(post.path, 1, 1) if post else Location(Path(path))
            errors.add(BuildError(where, f"{owners[path]} needs /{folder}/ to be a folder, "
                                  f"but {owners[folder]} writes a file there"))
    errors.raise_if_any()
    return files


def _same_bytes(one: Path, other: Path) -> bool:
    try:
        return one.stat().st_size == other.stat().st_size and one.read_bytes() == other.read_bytes()
    except OSError:
        return False


# A site that holds `.git` looks like a repository: the next build refuses to replace it (output.py).
REPOSITORY_REFUSAL = "a site never holds a '.git' (the next build would refuse to replace it, taking it for a repository)"


def repository_path(path: str) -> bool:
    """Whether an output path is or is inside a `.git` (any case: a case-blind file system's too)."""
    return any(part.lower() == ".git" for part in path.split("/"))


def folders_of(path: str) -> list[str]:
    """The folders an output file needs, innermost first: `a/b/index.html` -> a/b, a."""
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)]


def variant_files(variants: dict[str, Path], files: dict[str, Path], pages: dict[str, str]) -> dict[str, Path]:
    """Output path -> WebP copy (variants.py); a static file or page of the same name wins."""
    return {path.lstrip("/"): file for path, file in variants.items()
            if path.lstrip("/") not in files and path.lstrip("/") not in pages}


def static_files(config: Config) -> dict[str, Path]:
    """Output path -> file for every static folder; the site's own file wins over the theme's."""
    files: dict[str, Path] = {}
    errors = ErrorCollector()
    root = getattr(config, "root", None)
    roots = allowed_roots(root, config.content_dir, (config.output_dir, config.build_dir)) if root is not None else ()
    for folder in reversed(config.static_dirs):
        # The theme's own folder ships with runpost; the site's may not lead outside the project.
        own = root is not None and folder.parent == root
        if own and folder.is_symlink() and (outside := outside_error(folder, roots, "static folder")):
            errors.add(outside)
        elif folder.is_dir():
            # rglob passes over a folder it cannot read: its files would be missing from the site.
            for _ in os.walk(folder, onerror=lambda error: errors.add(BuildError(
                    Location(Path(os.fsdecode(error.filename))), f"cannot read this folder: {error.strerror}"))):
                pass
            # Linked folders too (`static/shared -> ../shared`); one leading outside the project is an error.
            outside: list[BuildError] = []
            for source in paths_to_publish(folder, roots if own else None, "static file", outside):
                if source.is_file() and not private(source.relative_to(folder)):
                    files[source.relative_to(folder).as_posix()] = source
            errors.extend(outside)
    errors.raise_if_any()
    return dict(sorted(files.items()))


def content_files(config: Config) -> dict[str, Path]:
    """Output path -> file for each file under content/ that is neither a page source (Markdown, or
    another format Hugo reads as a page) nor in a page bundle (a folder with an index.md: its files
    are its post's), published where it lies, as Hugo publishes content/images/a.png at
    /images/a.png; linked folders too (paths_to_publish). As in Hugo, hidden files and folders, `#name#`
    and `name~` (editors' autosaves and backups) stay home, and so do anything private (`private`)
    and Python's `__pycache__` (a helper package's bytecode), as in a bundle."""
    from ..content.load import MARKDOWN_SUFFIXES, bundle_page_names, is_page_source, site_languages   # load reads content/

    content = config.content_dir
    root = getattr(config, "root", None)
    roots = allowed_roots(root, content, (config.output_dir, config.build_dir)) if root is not None else None
    files: dict[str, Path] = {}
    outside: list[BuildError] = []
    skipped = lambda name: name.startswith((".", "#")) or name.endswith("~") or name == "__pycache__"
    listed = paths_to_publish(content, roots, "content file", outside, skip=skipped)
    # Any Markdown index makes a bundle here (one outside posts/ too: its files are its page's, unpublished).
    bundle_pages = {f"index{suffix}" for suffix in MARKDOWN_SUFFIXES} | set(bundle_page_names(site_languages(config)))
    bundles = {path.parent for path in listed if path.name.lower() in bundle_pages and path.parent != content}
    for source in listed:
        relative = source.relative_to(content)
        if bundles and any(parent in bundles for parent in source.parents):
            continue
        # A pipe; a link that leads nowhere (a warning: load.unreadable_links); a page Hugo would render.
        if is_page_source(source) or private(relative) or not source.is_file():    # a post's .md: no stat
            continue
        files[relative.as_posix()] = source
    errors = ErrorCollector()
    # A link that leads nowhere publishes nothing (a post's is a warning: load.unreadable_links).
    errors.extend(error for error in outside if error.location is None or os.path.exists(error.location.path))
    errors.raise_if_any()
    return files

"""Stage: every internal link and image must point at something the site contains.

A missing-target error comes from what a page really links to: a URL in the
rendered page, a shortcode's `src`/`link` parameter, a reference definition,
or a front matter image. The post's source scan (content/scan.py) supplies the
line and column of each target written outside code; a target it found that
the page does not link to (text that only looks like a link) is not checked,
and nothing inside code is a target. Broken URLs that only templates and
shortcodes made are reported per page. Template text (`{{ .Permalink }}`,
`{% url 'x' %}`) is never a URL to check.
"""
from __future__ import annotations

import difflib
import functools
import posixpath
import re
from html import escape, unescape
from pathlib import Path
from urllib.parse import unquote

from ..config import Config
from ..content.scan import LinkTarget, SourceScan, front_matter_targets, looks_like_template, scan_of, scan_source
from ..errors import BuildError, ErrorCollector, Location, did_you_mean
from ..markup.markdown import markdown_to_html
from ..post import Post, Site, every_call
from ..render_cache import RenderCache
from .urls import is_internal, is_site_path, script_scheme, script_urls, split_url, srcset_urls, urls_in

# Targets that are links by what they are, whether or not the page shows them: a preview image
# (its URL goes into a <meta> tag). A shortcode's src/link parameter or a reference definition is
# checked where the page links to it: text that only looks like one (inside an HTML comment or
# block, under a paragraph line) links nowhere, and a site's own shortcode may use `src` as it likes.
_DECLARED = {"front matter"}


def check_links(site: Site, posts: list[Post], config: Config, cache: RenderCache | None = None,
                unpublished: dict[str, str] | None = None, unchecked: set[str] = frozenset()) -> None:
    """`unpublished`: URL -> "unrendered", "headless", "draft", "future" or "expired" for each post left out
    (load.unpublished_reason), so that a link to one says why it is missing and what includes it.
    `unchecked`: URLs of posts whose content failed (their pages are empty): neither their links nor
    anchors on their pages are checked."""
    # Every link of every page is checked on every build; the cache remembers which URLs a
    # post's rendered Markdown holds (parsing it is the check's main cost). Serve keeps each
    # page's answer (render_cache.same) while the page's links and the site's paths are equal.
    cache = cache or RenderCache(None)
    outputs = set(site.pages) | set(site.files)
    paths = cache.same("site-paths", "", (outputs,), object)   # the same token while the paths are equal
    errors = ErrorCollector()
    reported: dict[str, frozenset[str]] = {}     # post URL -> site paths already reported at their source
    left_out = unpublished or {}
    if unchecked:
        posts = [post for post in posts if post.url not in unchecked]
    for post in posts:
        page = _output_of(post.url)
        found, reported[post.url] = cache.same(
            "post-links", post.url, (post, site.links.get(page), paths, config.raw_html, left_out),
            lambda: _check_post(post, site, config, cache, outputs, left_out))
        errors.extend(found)
    by_page = {_output_of(post.url): post for post in posts}
    skipped = {_output_of(url) for url in unchecked}
    for page, html in sorted(site.pages.items()):
        if page.endswith(".html") and page not in skipped:
            post = by_page.get(page)
            urls = _page_urls(site, page)
            scripts = site.scripts[page] if page in site.scripts else None
            done = reported.get(post.url, frozenset()) if post else frozenset()
            errors.extend(cache.same("page-links", page, (post, urls, scripts if scripts is not None else html, done, paths),
                                     lambda: _check_whole_page(page, html, urls, scripts, outputs, post, done)))
    errors.extend(check_fragments(site, posts, cache, unchecked, config.site_url))
    if errors.errors:
        errors.errors = _one_per_template_link(errors.errors, config)
    errors.raise_if_any()


_WHOLE_PAGE_MISSING = re.compile(r"page /(.*) links to (.*), which the site does not contain")


def _one_per_template_link(found: list[BuildError], config: Config) -> list[BuildError]:
    """A missing link that no post writes (its error has no line: a template wrote it) was one error
    for each page, blamed on the posts: 44 for a bad link in base.html. Now one, at the first place
    a template of the site's own writes the address, else at the first page."""
    groups: dict[str, list[tuple[str, BuildError]]] = {}
    kept = []
    for error in found:
        match = _WHOLE_PAGE_MISSING.fullmatch(error.message)
        if match and error.location is not None and not error.location.line:
            groups.setdefault(match.group(2), []).append((match.group(1), error))
        else:
            kept.append(error)
    for site_path, pages in groups.items():
        # Only an address a template of the site's own writes as it is: one a shortcode makes from
        # each post's argument (/tags/{{ positional[0] }}/) stays an error of each post.
        places = _written_in_templates(site_path, config) if len(pages) > 1 else []
        if not places:
            kept.extend(error for _, error in pages)
            continue
        kept.extend(BuildError(where, f"a template links to {site_path}, which the site does not contain "
                                      f"(on {len(pages)} pages, /{pages[0][0]} the first)") for where in places)
    return kept


def _written_in_templates(address: str, config: Config) -> list[Location]:
    """Where the site's own templates (not the theme's) write `address` as a quoted value or a CSS
    url() (`href="/about/"`, `link('/about/')`, `url(/fonts/a.woff2)`; not `https://x.org/about/`):
    the first place in each file."""
    own = [folder for folder in config.templates_dirs if folder.parent == config.root]
    quoted = re.compile(r"""(?:["']|url\(\s*["']?)(""" + re.escape(address) + r""")(?:["']|\s*\))""")
    found = []
    for folder in own:
        for path in sorted(folder.rglob("*")):
            try:
                content = path.read_text(encoding="utf-8") if path.is_file() else ""
            except (OSError, UnicodeDecodeError):
                continue
            if (match := quoted.search(content)) is not None:
                start = match.start(1)
                line = content.count("\n", 0, start) + 1
                found.append(Location(path, line, start - (content.rfind("\n", 0, start) + 1) + 1))
    return found


# An id or name attribute's value, wherever the page has one: read loosely (text that only looks like
# one counts too), so that an anchor the page really has is never reported missing.
_ID_ATTRIBUTE = re.compile(r"""[\s"'/](?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)


def page_ids(html: str) -> frozenset[str]:
    """Every anchor of a page: its elements' ids and <a name>s, entities decoded."""
    return frozenset(unescape(next(value for value in match.groups() if value is not None))
                     for match in _ID_ATTRIBUTE.finditer(html))


def check_fragments(site: Site, posts: list[Post], cache: RenderCache | None = None,
                    unchecked: set[str] = frozenset(), base_url: str = "") -> list[BuildError]:
    """A link written in a post to `#anchor`, `page/#anchor` or ref/relref "page#anchor" must find an
    element with that id on the page (HTML pages of this site only; `#top` and text fragments
    always work), written as a site path or as this site's own absolute URL (under `base_url`).
    Links that templates make are theirs (a script may make the element)."""
    from .fragments import ref_target, resolve_ref   # fragments -> images -> links: imported here

    from .pages import reference_map

    # Serve: a page's anchors are read again only when its HTML changed.
    cache = cache or RenderCache(None)
    ids = _Anchors(site, cache)
    # A post's old addresses (aliases, url) and a list's page/1/: their pages send the reader on, anchor and all.
    moved = site.redirects
    refs = site.refs or reference_map(posts)     # render_site's map; a Site made otherwise has none
    found: list[BuildError] = []
    empty = {_output_of(url) for url in unchecked}      # pages of posts whose content failed
    for post in posts:
        # The post's own fragment targets first: most posts have none, and their pages' URLs
        # (a hundred each) need not be read.
        targets = [target for target in scan_of(post).targets if "#" in target.target]
        with_refs = [shortcode for shortcode in every_call(post.shortcodes) if shortcode.name in ("ref", "relref")
                     and "#" in ref_target(shortcode)]
        if not targets and not with_refs:
            continue
        on_page = {_normal(url) for url in _page_urls(site, _output_of(post.url)) if "#" in url}
        if not on_page:
            continue
        written = [(target.target, target.target, Location(post.path, target.line, target.column))
                   for target in targets if _normal(target.target) in on_page]
        written += [(url, f"{shortcode.name} '{ref_target(shortcode)}'", shortcode.location)
                    for shortcode in with_refs if (url := resolve_ref(shortcode, post, refs)) is not None]
        for url, shown, where in written:
            problem = _fragment_problem(url, post, site, ids, moved, empty, base_url)
            if problem:
                found.append(BuildError(where, f"{shown if shown != url else repr(url)}: {problem}"))
    return found


class _Anchors(dict):
    """Page -> its anchors (page_ids), read when first asked; serve keeps them while the HTML is equal."""

    def __init__(self, site: Site, cache: RenderCache):
        super().__init__()
        self.site, self.cache = site, cache

    def __missing__(self, page: str) -> frozenset[str]:
        html = self.site.pages[page]
        self[page] = self.cache.same("page-ids", page, (html,), lambda: page_ids(html))
        return self[page]


def _fragment_problem(url: str, post: Post, site: Site, ids: dict[str, frozenset[str]],
                      moved: dict[str, str] | None = None, empty: set[str] = frozenset(),
                      base_url: str = "") -> str | None:
    parts = split_url(url)
    fragment = unquote(parts.fragment)
    if not fragment or fragment.lower() == "top" or fragment.startswith(":~:"):
        return None
    own_page = not (parts.scheme or parts.netloc or parts.path or parts.query)
    site_path = post.url if own_page else to_site_path(url, post.url)
    if site_path is None and base_url:        # https://example.org/posts/x/#setup: this site's page
        site_path = own_site_path(url, base_url)
    if site_path is None:
        return None
    path = site_path.lstrip("/")
    page = next((candidate for candidate in (posixpath.join(path, "index.html"), path)
                 if candidate.endswith(".html") and candidate in site.pages), None)
    if page is None:             # a file (a PDF's #page=2), or a page the link check reported
        return None
    old, page = page, (moved or {}).get(page, page)      # an old address: the anchor is looked for where it leads
    if page in empty or fragment in ids[page] or unquote(fragment) in ids[page]:
        return None
    where = "this page" if page == _output_of(post.url) else site_path
    if old != page:
        where += f" (an old address of /{(posixpath.dirname(page) + '/').lstrip('/')})"
    return f"{where} has no element with id '{fragment}'{did_you_mean(fragment, ids[page])}"


_FILE_URL = re.compile(r"[\x00-\x20]*file:", re.IGNORECASE)


def _check_post(post: Post, site: Site, config: Config, cache: RenderCache,
                outputs: set[str], left_out: dict[str, str]) -> tuple[list[BuildError], frozenset[str]]:
    """Errors at the post's own link targets, and the site paths they reported."""
    linked = _linked_paths(post, site, config, cache)
    found, reported = [], set()
    for target in post_targets(post):
        where = Location(post.path, target.line, target.column)
        if looks_like_template(target.target):
            continue
        if climbs_above_root(target.target, post.url):
            # The check would read it as the root (as a server does), but under a sub-path
            # (https://user.github.io/repo/) the browser leaves the site.
            found.append(BuildError(where, f"'{target.target}' climbs above the site's root: write it from the "
                                           f"root ({to_site_path(target.target, post.url)}) or with fewer '../'"))
            reported.add(to_site_path(target.target, post.url))
            continue
        if target.kind != "html" and _FILE_URL.match(target.target):
            # A file on the reader's own computer: no reader has it (goldmark writes href="" for one).
            found.append(BuildError(where, f"'{target.target}' is a file: URL, a file on the reader's own computer, "
                                           "not on the site: publish the file beside the post and link it by its name"))
            continue
        site_path = to_site_path(target.target, post.url)
        own = own_site_path(target.target, config.site_url)      # https://example.org/blog/posts/x/: this site
        if site_path is None and own is not None and not exists(own, outputs) and _ours(own, outputs):
            found.append(BuildError(where, f"'{target.target}' is this site's address, and {own} does not exist in the site"))
            reported.add(own)
            continue
        if site_path is None or exists(site_path, outputs):
            continue
        if target.kind in _DECLARED or site_path in linked:
            message = missing_message(target.target, site_path, config.base_path, left_out, outputs)
            if post.meta.url and not target.target.startswith(("/", "#")) and is_internal(target.target):
                # Written for Hugo, where `url:` moves the page: here it redirects to the post's page.
                message += (f"; relative links resolve from the post's page, {post.url}: its url, "
                            f"{post.meta.url}, only redirects there (docs/hugo.md)")
            found.append(BuildError(where, message))
            reported.add(site_path)
    return found, frozenset(reported)


def _ours(site_path: str, outputs: set[str]) -> bool:
    """Whether a path under the base URL is this site's: its first segment is one the site has
    (posts/, tags/, a static file's folder). Under a root base URL (https://user.github.io/) the
    same host serves the user's other projects (/other-project/), which are not this site's."""
    first = site_path.strip("/").split("/")[0]
    return not first or any(output == first or output.startswith(first + "/") for output in outputs)


def climbs_above_root(url: str, page_url: str) -> bool:
    """Whether a relative URL's `..` segments go above the site's root from the page at `page_url`."""
    if not is_internal(url):
        return False
    path = unquote(split_url(url).path)
    if not path or is_site_path(path):
        return False
    depth = page_url.strip("/").count("/") + 1 if page_url.strip("/") else 0
    for segment in path.split("/")[:-1] if not path.endswith("/") else path.split("/"):
        if segment == "..":
            depth -= 1
            if depth < 0:
                return True
        elif segment not in ("", "."):
            depth += 1
    return False


def own_site_path(url: str, base_url: str) -> str | None:
    """The site path of an absolute URL into this site (`https://example.org/blog/posts/x/` under that
    base URL, http or https, or `//example.org/blog/...`), else None."""
    parts, base = split_url(url), split_url(base_url)
    if not base.netloc or parts.netloc.lower() != base.netloc.lower() or parts.scheme not in ("http", "https", ""):
        return None
    base_path = base.path if base.path.endswith("/") else base.path + "/"
    path = unquote(parts.path) or "/"
    if not (path + ("/" if not path.endswith("/") else "")).startswith(base_path):
        return None
    rest = path[len(base_path):] if len(path) >= len(base_path) else ""
    normal = posixpath.normpath("/" + rest)
    return normal + "/" if (path.endswith("/") or not rest) and normal != "/" else normal


def _check_whole_page(page: str, html: str, urls: list[str], scripts: list[str] | None, outputs: set[str],
                      post: Post | None, done: frozenset[str]) -> list[BuildError]:
    """Errors of one finished page: links to nothing (but those `done` at the source) and script URLs."""
    errors = ErrorCollector()
    reported = {(post.url if post else page, path) for path in done}
    _check_page(page, urls, outputs, post, reported, errors)
    _check_schemes(page, scripts if scripts is not None else script_urls(html), post, errors)
    return errors.errors


def _check_schemes(page: str, scripts: list[str], post: Post | None, errors: ErrorCollector) -> None:
    """No URL that runs script reaches href/src/srcset/poster/action (Hugo's html/template
    turns one into #ZgotmplZ); each is an error where the source wrote it. `scripts`:
    the page's script URLs (urls.script_urls)."""
    on_page = {_normal(url) for url in scripts}
    located = set()
    for target in post_targets(post) if post else []:
        url = _normal(target.target)
        # Outside code, a script URL is refused wherever it would land; a shortcode's data:
        # URL only if it lands as a link (figure's src is an image, data:image/ allowed).
        # Raw HTML counts only where the page keeps it (raw_html = true).
        scheme = script_scheme(url, image=target.kind in ("image", "shortcode"))
        shown = url in on_page or any(candidate in on_page for candidate in srcset_urls(url))
        if (scheme and (target.kind != "html" or shown)) or (target.kind == "shortcode" and shown):
            scheme = scheme or script_scheme(url)
            errors.add(BuildError(Location(post.path, target.line, target.column),
                                  f"'{target.target}' is a {scheme}: URL; links and images may not run script"))
            located.add(url)
    body = None
    for url in sorted(on_page - located):
        if post is not None and body is None:
            body = _original_body(post)
        where = _written_at(post, body, url) if post else None
        if where is not None:     # raw HTML the scan does not read as a link (a srcdoc page, an SVG animation)
            errors.add(BuildError(where, f"'{url[:60]}' is a {script_scheme(url)}: URL; links and images may not run script"))
            continue
        where = Location(post.path) if post else Location(Path(page))
        errors.add(BuildError(where, f"page /{page} has a {script_scheme(url)}: URL ('{url[:60]}'); "
                              "links and images may not run script"))


def _original_body(post: Post) -> tuple[str, SourceScan]:
    """The post's body as its file has it (no shortcode placeholders), and its scan (made of
    that text when the post was loaded)."""
    start = 0
    for _ in range(post.body_line - 1):
        start = post.source.index("\n", start) + 1
    body = post.source[start:]
    return body, post.scan if post.scan is not None else scan_source(body, post.body_line)


def _written_at(post: Post, body: tuple[str, SourceScan], url: str) -> Location | None:
    """Where the post's body first has `url` inside a tag, as written or as an attribute value
    escapes it, or in a formula (`\\href{javascript:...}`): not in code, front matter or prose
    (there it is text); None if nowhere."""
    text, scan = body
    in_formula = lambda offset: any(region.content_start <= offset < region.content_end for region in scan.math)
    for written in dict.fromkeys((url, escape(url), escape(url, quote=False))):
        offset = text.find(written)
        while offset >= 0:
            if not scan.in_code(offset) and (text.rfind("<", 0, offset) > text.rfind(">", 0, offset) or in_formula(offset)):
                line, column = scan.position(offset)
                return Location(post.path, line, column)
            offset = text.find(written, offset + 1)
    return None


def _normal(url: str) -> str:
    # Markdown percent-encodes what the source wrote raw (`<` -> %3C): compare decoded forms.
    from html import unescape

    return unquote(unescape(url)).strip()


def _page_urls(site: Site, page: str) -> list[str]:
    # The URLs as written resolve to the same site paths as the rewritten ones.
    return site.links[page] if page in site.links else urls_in(site.pages.get(page, ""))


def _linked_paths(post: Post, site: Site, config: Config, cache: RenderCache) -> set[str]:
    """Site paths the post's page links to: the URLs its finished page holds (noted while its
    URLs were made relative), else those of its rendered Markdown (a page not finished here)."""
    page = _output_of(post.url)
    if page in site.links:
        urls = site.links[page]
    else:
        # A post that has not been through the Markdown stage (a test's, say) is rendered here.
        html = post.html or markdown_to_html(post.body, raw_html=config.raw_html)
        urls = cache.memo(post.url, "urls", [html], lambda: urls_in(html)) + _page_urls(site, page)
    return {path for url in urls if (path := to_site_path(url, post.url)) is not None}


def _check_page(page: str, urls: list[str], outputs: set[str], post: Post | None,
                reported: set[tuple[str, str]], errors: ErrorCollector) -> None:
    page_url = "/" + posixpath.dirname(page) + "/" if posixpath.dirname(page) else "/"
    for url in urls:
        site_path = None if looks_like_template(url) else to_site_path(url, page_url)
        if site_path is None or exists(site_path, outputs) or (post and (post.url, site_path) in reported):
            continue
        where = _first_written(post, url) if post else Location(Path(page))
        errors.add(BuildError(where, f"page /{page} links to {site_path}, which the site does not contain"))
        reported.add((post.url if post else page, site_path))


def _first_written(post: Post, url: str) -> Location:
    """Where in the post's file a URL its finished page holds is written, for a link no scan
    placed (a shortcode's argument, a link Markdown read otherwise): the first place its text
    stands in the file, anywhere (_written_at looks only inside tags and formulas); else the file."""
    for text in dict.fromkeys((url, url.strip(), unquote(url.strip()))):
        start = post.source.find(text) if text else -1
        if start >= 0:
            line = post.source.count("\n", 0, start) + 1
            return Location(post.path, line, start - (post.source.rfind("\n", 0, start) + 1) + 1)
    return Location(post.path)


LEFT_OUT = {"unrendered": "never rendered (render: never in its build options)",
             "headless": "headless (headless: true: its page is never rendered)", "draft": "a draft (--drafts builds drafts)", "future": "dated in the future (--future builds it)",
             "expired": "past its expiry date (--expired builds it)"}


def missing_message(target: str, site_path: str, base_path: str = "/", left_out: dict[str, str] | None = None,
                    outputs: set[str] | None = None) -> str:
    # /blog/posts/b/ under base path /blog/: runpost adds the base path itself.
    hint = f" (runpost adds the base path {base_path} itself: write /{site_path[len(base_path):]})" \
        if base_path != "/" and site_path.startswith(base_path) else ""
    # A left-out post's page, or a file of its bundle: say why, and the flag that builds it.
    why = next((why for url, why in (left_out or {}).items()
                if site_path == url or site_path == url.rstrip("/") or (url != "/" and site_path.startswith(url))), None)
    source = site_path.lower().endswith((".md", ".markdown"))      # a post's .md: the ref hint, unless its case is all
    if why:
        hint += f": that post is {LEFT_OUT[why]}"
    elif outputs and (nearest := nearest_address(site_path, outputs, spelling=not source)):
        hint += f" (did you mean {nearest}?)"
    elif source:
        name = posixpath.basename(site_path).rsplit(".", 1)[0]
        hint += f" (a post's source file: link to its page, or write {{{{< ref \"{name}\" >}}}})"
    if unquote(target.split("#")[0].split("?")[0]) == site_path:
        return f"'{target}' does not exist in the site{hint}"
    return f"'{target}' (that is {site_path}) does not exist in the site{hint}"


def post_targets(post: Post) -> list[LinkTarget]:
    """Front matter images, then the targets the source scan found outside code, in order."""
    return front_matter_targets(post.source, post.body_line, post.meta.images) + list(scan_of(post).targets)


@functools.lru_cache(maxsize=1 << 16)
def to_site_path(url: str, page_url: str) -> str | None:
    """Internal URL -> normalised site path; None for external URLs and bare fragments.

    Pure, and asked for the same few URLs (stylesheet, tags, home) on every page: remembered."""
    if not is_internal(url):
        return None
    path = unquote(split_url(url).path)
    if not path:
        return None
    if not is_site_path(path):
        path = posixpath.join(page_url, path)
    normal = posixpath.normpath(path)
    return normal + "/" if path.endswith("/") and normal != "/" else normal


def nearest_address(site_path: str, outputs: set[str], spelling: bool = True) -> str | None:
    """The site's address nearest a missing one: the same in another case (`Coin.jpg` for `coin.jpg`:
    a Mac's disk does not mind, the web server does), else a close spelling (/posts/random-note/)."""
    addresses = _addresses(outputs)
    wanted = site_path.lower().rstrip("/")
    same = [address for address in addresses if address.lower().rstrip("/") == wanted]
    if same or not spelling:
        return same[0] if same else None
    # A close spelling of the last part, in the same folder: /img/b.png is not a misspelt /img/a.png.
    folder, name = posixpath.split(site_path.rstrip("/"))
    siblings = {posixpath.basename(address.rstrip("/")): address for address in addresses
                if posixpath.dirname(address.rstrip("/")) == folder}
    close = difflib.get_close_matches(name, sorted(siblings), n=1, cutoff=0.85)
    return siblings[close[0]] if close else None


_last_addresses: list = [None, []]     # the site's paths last asked about, and their addresses


def _addresses(outputs: set[str]) -> list[str]:
    """The site's addresses (a page's folder, a file's path), made once per build's set of paths:
    a post with a thousand broken links asks a thousand times."""
    if _last_addresses[0] is not outputs:
        _last_addresses[:] = [outputs, sorted({"/" + (path[:-len("index.html")] if path == "index.html"
                                                      or path.endswith("/index.html") else path)
                                               for path in outputs if not path.startswith(".")})]
    return _last_addresses[1]


def exists(site_path: str, outputs: set[str]) -> bool:
    path = site_path.lstrip("/")
    if path in ("", "."):
        return "index.html" in outputs
    if site_path.endswith("/"):
        return posixpath.join(path, "index.html") in outputs
    return path in outputs or posixpath.join(path, "index.html") in outputs


@functools.lru_cache(maxsize=1 << 14)     # asked for every post in several passes of every build
def _output_of(url: str) -> str:
    return posixpath.join(url.lstrip("/"), "index.html")

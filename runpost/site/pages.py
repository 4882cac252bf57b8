"""Stage: posts with results -> Site (every page and file of the output).

Puts rendered shortcodes and cell outputs into the placeholders (fragments.py),
wraps each post in its page template with its view (views.py), and adds the
site's own pages: home, tags, feed, sitemap, robots.txt, 404. Never runs code.
The last step makes every site path page-relative and collects the files to
copy (finish.py).
"""
from __future__ import annotations

import functools
import posixpath
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import jinja2
import jinja2.meta

from ..config import Config
from ..deep import bounded
from ..content.slugs import tag_slug
from ..errors import BuildError, BuildErrors, ErrorCollector, Location
from ..markup.hugo_compat.headings import go_lower
from ..markup.markdown import prepare_workers
from ..parallel import precompute
from ..post import Post, Site
from ..render_cache import MISSING, RenderCache, folder_digest, key, settings_key
from .environment import Record, make_environment, syntax_error, template_location, template_problem
from .fragments import render_content, shortcode_renderer, syntax_css
from .finish import (REPOSITORY_REFUSAL, collect_files, content_files, finish_html, finish_pages, finish_text,
                     folders_of, repository_path, static_files, variant_files)
from .notebook import download_files
from .output import MARKER
from .images import dark_variant, shown_images
from .variants import light_images
from .urls import output_path, relative_url
from .views import PostView, post_views, view_inputs


def render_site(posts: list[Post], config: Config, cache: RenderCache | None = None,
                left_out: dict[str, str] | None = None, failed: dict[str, list[BuildError]] | None = None) -> Site:
    """The site in memory; `left_out`: name -> why of each post not published (a ref to one says why).

    With `failed`, a post whose content cannot be rendered (a `ref` to no post) does not stop the
    build here: its errors go into `failed` by its URL and its page is made with no content, so that
    the link check can still run on the rest (pipeline.render_and_check reports both, writes nothing)."""
    # The cache (render_cache.py) skips work whose inputs are unchanged; a memory-only one
    # makes this a plain build. Every page is still templated and every link checked.
    cache = cache or RenderCache(None)
    # A new environment for every build: a template's imports are evaluated once per environment,
    # and what they set up (a `namespace` counter) must not carry over to the next build.
    # `site` as shortcode templates and macros imported without context see it: no build_date (it
    # comes from the posts, and a post's content is cached by what it depends on: not the others' dates).
    env = make_environment(config.templates_dirs, config.base_url, config.raw_html,
                           site=Record("site", {**site_settings(config), "build_date": None}))
    site_key = key("site", settings_key(config), folder_digest(config.templates_dirs))
    # Every name a ref shortcode may use, for contents, notebooks and the link check. Serve's
    # rebuilds keep it while no post's name, slug, URL, kind, tags or language suffix changed.
    refs = cache.same("reference-map", "", (tuple((post.name, post.meta.slug, post.url, post.bundle is None, post.meta.tags,
                                                post.language) for post in posts),), lambda: reference_map(posts))
    # The site's own files (static/, content/): an <img> of one gets its size as a bundle's does.
    # Their errors (a link leading outside) are raised below, with the posts' own, as before.
    try:
        static, loose = static_files(config), content_files(config)
    except (BuildError, BuildErrors):
        static = loose = None
    posts = render_post_contents(posts, env, cache, site_key, refs, left_out, failed,
                                 site_images(static, loose) if static is not None and loose is not None else {})
    # A --param preview shows the images as the code saved them: the WebP and narrower copies are
    # for the published site's readers (making them was 2 s of the article's 9 s quick preview).
    # The settings, --param included, are part of site_key: no page cached here reaches a real build.
    posts, image_variants = (posts, {}) if config.params else light_images(posts, config.build_dir / ".cache" / "images", cache)
    views = post_views(posts, config, cache, site_key)
    context = site_context(posts, views, config)
    digests = view_digests(posts, site_key, cache)
    page_keys = post_page_keys(env, posts, views, context, site_key, digests, cache)
    remembered = {path: done for path, wanted in page_keys.items()
                  if (done := cache.lookup(path, "post-page", wanted)) is not None}
    pages: dict[str, str] = {}
    missing = [(output_path(post.url), view) for post, view in zip(posts, views) if output_path(post.url) not in remembered]
    template = lambda item: _render(env, "post.html", context, page=_page_of_post(item[1]), post=item[1])
    finished: dict[str, dict] = {}
    if page_keys:
        # Each post's page is stored by its key, not its text: templated and finished in one go on
        # all cores, it is never sent between processes half done. One that raised is templated
        # again below, where its error is reported.
        done = precompute(lambda item: finish_html(item[0], template(item)), missing)
        finished = {missing[index][0]: page for index, page in done.items()}
    for item in missing:
        if item[0] not in finished:
            pages[item[0]] = template(item)
    paginated: list[dict] = []
    deferred: dict[str, Callable[[], str]] = {}
    pages.update(list_pages(env, context, views, config, ListPageKeys(site_key, context, posts, digests, cache),
                            page_keys, remembered, paginated, deferred))
    # The list pages (a 1,000-post blog has a few hundred) are templated and finished on all cores too.
    jobs = list(deferred.items())
    finished.update((jobs[index][0], page) for index, page in precompute(lambda job: finish_html(job[0], job[1]()), jobs).items())
    pages.update((path, render()) for path, render in jobs if path not in finished)
    pages.update(notebook_pages(posts, env, config, refs))
    if static is None or loose is None:
        static, loose = static_files(config), content_files(config)      # raises what it found
    # A file of content/ replaces the theme's of that name, as the site's own static/ does.
    theme = [folder for folder in config.static_dirs if folder.parent != config.root]
    static = {path: source for path, source in static.items()
              if path not in loose or not any(source.is_relative_to(folder) for folder in theme)}
    for path in _OWN_FILES_WIN:
        if path in static or path in loose:   # the site's own robots.txt or 404.html replaces runpost's
            pages.pop(path, None)
    files_to_copy = {*static, *loose, *(path.lstrip("/") for post in posts for path in [*post.assets, *post.results.files])}
    redirects: dict[str, str] = {}
    # Every page there is: templated here, found in the cache, or templated and finished in a worker;
    # and every file (an image's WebP copy too: an alias made into a folder would break its <picture>).
    # The files written last (the highlighting stylesheet, .nojekyll, CNAME) too: an alias there was
    # an error at the output path, not at the alias.
    written_last = {"css/syntax.css", ".nojekyll", *(["CNAME"] if config.cname else [])}
    taken = lambda: (pages.keys() | remembered.keys() | finished.keys() | files_to_copy | written_last
                     | {path.lstrip("/") for path in image_variants})
    pages.update(alias_pages(env, context, posts, views, taken(), redirects))
    pages.update(first_page_aliases(env, context, paginated, taken(), redirects))
    pages, links, scripts = finish_pages(pages, cache, page_keys, remembered, finished, config.base_path)
    pages["css/syntax.css"] = syntax_css()
    if ".nojekyll" not in static and ".nojekyll" not in loose:
        pages[".nojekyll"] = ""
    if config.cname and not _same_cname(static.get("CNAME") or loose.get("CNAME"), config.cname):
        pages["CNAME"] = config.cname.strip() + "\n"
    files = collect_files(posts, config, pages, static, loose)
    files.update(variant_files(image_variants, files, pages))
    # Stylesheets are rewritten like pages (url(/x) becomes relative), so they are written as text.
    for path, source in list(files.items()):
        if path.endswith(".css"):
            pages[path] = finish_text(path, source.read_text(encoding="utf-8"))
            del files[path]
    return Site(pages=pages, files=files, links=links, scripts=scripts, refs=refs, redirects=redirects)


# Files runpost makes for every site that the site's own static/ may hold instead: Hugo writes
# no robots.txt unless asked, and a 404.html only from a layout, so Hugo sites often keep their own.
_OWN_FILES_WIN = ("robots.txt", "404.html", ".nojekyll")


def _same_cname(source: Path | None, cname: str) -> bool:
    """Whether static/CNAME names the domain runpost.toml's `cname` does (then it is published as it is);
    one that names another is an error (collect_files: both write /CNAME)."""
    try:
        return source is not None and source.read_text(encoding="utf-8").strip().lower() == cname.strip().lower()
    except (OSError, UnicodeDecodeError):
        return False


def site_images(static: dict[str, Path], loose: dict[str, Path]) -> dict[str, Path]:
    """Site path -> file of each image among the site's own files (static/, and content/ outside bundles)."""
    return {"/" + path: source for path, source in {**static, **loose}.items()
            if path.lower().endswith(_IMAGE_SUFFIXES)}


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp", ".tif", ".tiff")


def render_post_contents(posts: list[Post], env: jinja2.Environment, cache: RenderCache | None = None,
                         site_key: str = "", refs: dict[str, str] | None = None,
                         left_out: dict[str, str] | None = None,
                         failed: dict[str, list[BuildError]] | None = None,
                         images: dict[str, Path] | None = None) -> list[Post]:
    """Each post's content (fragments.render_content); `images`: the site's own images (site_images),
    sized where a post shows one. Which of them a content shows is known once it is made, so it is
    kept beside it (image_inputs), and the content is made again when one of those changes (make's
    depfiles): an image no post shows costs no post a render."""
    cache = cache or RenderCache(None)
    refs = reference_map(posts) if refs is None else refs
    images = images or {}
    # A ref may name any post: the whole map is an input of every post's content.
    # Serve: the map's key is kept while the map is equal (a dict compare, not 10,000 names hashed).
    inputs = [site_key, cache.same("refs", "", (refs,), lambda: key("refs", sorted(refs.items())))]
    now = lambda path: cache.file_digest(images[path]) if path in images else None
    current = lambda shown: shown is not None and all(now(path) == digest for path, digest in shown.items())
    # Serve: a post equal to last time's, with the same site and files, keeps its content as is.
    # Results compare by key, not ==: a published 1 and 1.0 (or True) are equal to Python, not on the page.
    digests = {post.path: file_digests(post, cache) for post in posts}
    same = {post.path: (post, *inputs, digests[post.path], results_key(post)) for post in posts}
    kept = {post.path: found for post in posts
            if (found := cache.recall("content", str(post.path), same[post.path])) is not MISSING and current(found[1])}
    keys = {post.path: key("content", [*inputs, *content_inputs(post, digests[post.path])]) for post in posts if post.path not in kept}
    stored = {post.path: content for post in posts if post.path in keys
              and (content := cache.lookup(post.url, "content", keys[post.path])) is not None
              and current(cache.lookup(post.url, "content-images", keys[post.path]))}
    missing = [post for post in posts if post.path in keys and post.path not in stored]
    ready = {missing[index].path: content for index, content in
             precompute(lambda post: render_content(post, refs, env, images=images), missing,
                        prepare=lambda: prepare_workers(missing, bool(env.globals.get("raw_html")))).items()}
    errors = ErrorCollector()
    done = []
    for post in posts:
        if post.path in kept:
            cache.touch(post.url)      # its stored entries stay in the cache
            done.append(kept[post.path][0])
            continue
        try:
            if post.path in stored:
                content = stored[post.path]
                cache.hits += 1
            else:
                content = ready[post.path] if post.path in ready else render_content(post, refs, env, left_out, images)
                cache.computed.append((post.url, "content"))
                cache.store(post.url, "content", keys[post.path], content)
                cache.store(post.url, "content-images", keys[post.path], image_inputs(content, post, images, now))
            done.append(replace(post, content=content))
            cache.keep("content", str(post.path), same[post.path],
                       (done[-1], cache.lookup(post.url, "content-images", keys[post.path])))
        except (BuildError, BuildErrors) as problem:
            found = list(problem.errors) if isinstance(problem, BuildErrors) else [problem]
            if failed is None:
                errors.extend(found)
            else:
                failed[post.url] = found
                done.append(replace(post, content=""))      # a page to link to; never written
    errors.raise_if_any()
    return done


def image_inputs(content: str, post: Post, images: dict[str, Path],
                 digest: Callable[[str], str | None]) -> dict[str, str | None]:
    """The site's own images that the content's <img>s show, or would show were they there (a dark
    variant beside one, a file not made yet), each with its digest (None: no such file): what
    fragments.size_images read of `images` for it. The post's own files are keyed with the post."""
    own = post.assets.keys() | post.results.files.keys()
    shown = {found for path in shown_images(content, post.url) for found in (path, dark_variant(path)) if found}
    return {path: digest(path) for path in sorted(shown - own)}


def notebook_pages(posts: list[Post], env: jinja2.Environment, config: Config,
                   refs: dict[str, str]) -> dict[str, str]:
    """Each post with executable blocks as a notebook and a script beside its page (notebook.py)."""
    return download_files(posts, lambda post: shortcode_renderer(post, refs, env), config.base_url)


def content_inputs(post: Post, digests: dict[str, str | None]) -> list:
    """What a post's content depends on besides the site: its source (front matter, body), where
    it is (shortcode templates see the whole post as `page`, its paths too), its bundle files
    (image sizes; `digests`: file_digests) and its results."""
    return [str(post.path), str(post.bundle), post.source, post.url, post.html, results_key(post), digests]


def in_order(value: Any) -> Any:
    """A published value with its dicts as lists of pairs: `key` sorts a dict's keys, but a
    dict's order is the order of a table's columns."""
    if isinstance(value, dict):
        return ["dict", [[str(name), in_order(item)] for name, item in value.items()]]
    if isinstance(value, (list, tuple)):
        return ["list", [in_order(item) for item in value]]
    return value


def results_key(post: Post) -> str | None:
    """The post's results as a key (types kept: 1, 1.0 and True differ); None if it has none.
    Not `executed`, `cells_run` and the like: they say how this build got the results, not what they are."""
    results = post.results
    if not (results.outputs or results.values or results.provenance or results.overrides):
        return None
    return key("results", [results.outputs, in_order(results.values), results.provenance, results.overrides])


def file_digests(post: Post, cache: RenderCache) -> dict[str, str | None]:
    """The post's bundle files and result files, by contents (image sizes are read from them)."""
    files = {**post.assets, **post.results.files}
    return {site_path: cache.file_digest(source) for site_path, source in sorted(files.items())}


def reference_map(posts: list[Post]) -> dict[str, str]:
    """Every name by which a ref/relref shortcode may call a page -> its site path, in lower case
    (Hugo's lookup ignores case: `ref "Trip-Report"` and `ref "trip-report"` are one post).

    Posts, and the list pages runpost makes as Hugo does: the home page ("/"), the posts
    section ("/posts"), the tags ("/tags") and each tag's page ("/tags/go")."""
    lists = {"": "/", "posts": "/posts/", "tags": "/tags/",
             **{f"tags/{tag_slug(tag)}": f"/tags/{tag_slug(tag)}/" for post in posts for tag in post.meta.tags}}
    refs = {}
    for path, url in lists.items():
        for name in {path, f"{path}/", f"{path}/_index.md"}:
            refs[go_lower(name.lstrip("/"))] = refs[go_lower("/" + name.lstrip("/"))] = url
    for post in posts:
        # "posts/x/index" names x.md too in Hugo, as it names the bundle x/.
        names = {post.name, post.meta.slug, f"posts/{post.name}", post.url, post.url.rstrip("/"),
                 f"posts/{post.name}/index", f"{post.name}/index"}
        if post.bundle:
            # A bundle is its folder, as Hugo names it: "gallery", "gallery/", "posts/gallery/".
            names |= {f"posts/{post.name}/index.md", f"posts/{post.name}/", f"{post.name}/index.md", f"{post.name}/"}
        else:
            names |= {f"posts/{post.name}.md", f"{post.name}.md"}
            if post.language:        # hello.en.md is also called by its file's name, as Hugo calls it
                stem = post.path.stem
                names |= {stem, f"{stem}.md", f"posts/{stem}", f"posts/{stem}.md"}
        names |= {"/" + name for name in list(names) if not name.startswith("/")}
        for name in names:
            refs[go_lower(name)] = post.url
    refs.pop("", None)          # `ref ""` names nothing
    return refs


def site_settings(config: Config) -> dict[str, Any]:
    """What templates see of the site's settings as `site` (page templates also get its `build_date`)."""
    return {"title": config.title, "description": config.description, "author": config.author,
            "language": config.language, "base_url": config.base_url, "params": config.extra}


def site_context(posts: list[Post], views: list[PostView], config: Config) -> dict[str, Any]:
    # None with no post published: a footer read "© 1970" (templates leave the year out then).
    newest = max((post.meta.lastmod or post.meta.date for post in posts), default=None)
    return {
        "site": Record("site", {**site_settings(config), "build_date": newest}),
        "posts": views,
        "tags": tag_index(views),
    }


def tag_index(views: list[PostView]) -> list[dict[str, Any]]:
    tags: dict[str, dict[str, Any]] = {}
    for view in views:
        for tag in view.tags:
            entry = tags.setdefault(tag["url"], {"name": tag["name"], "url": tag["url"], "posts": []})
            entry["posts"].append(view)
    return [Record("tag", {**entry, "count": len(entry["posts"])}) for entry in sorted(tags.values(), key=lambda t: t["name"].lower())]


class ListPageKeys:
    """The cache key of a list page (home, /posts/, a tag's), where its template allows one: like a
    post's page (post_page_keys), one that never names the site-wide `posts` or `tags` shows only
    its own posts' views (and their neighbours'), `site` and its paginator, so their digests key
    it. A prose edit then templates the one list page that shows the post, not all 226 of a
    1,000-post blog's home and /posts/ pages."""

    def __init__(self, site_key: str, context: dict, posts: list[Post], digests: list[str], cache: RenderCache):
        self.site_key, self.cache = site_key, cache
        self.site = key("site-context", context["site"])
        position = {post.url: index for index, post in enumerate(posts)}
        around = lambda index: (digests[index], digests[index + 1] if index + 1 < len(digests) else None,
                                digests[index - 1] if index > 0 else None)
        self.of_post = {url: around(index) for url, index in position.items()}

    def key(self, env: jinja2.Environment, name: str, page: dict, paginator: dict, tag: dict | None) -> str | None:
        if not reads_only_its_post(env, name, self.site_key):
            return None
        scalars = {field: value for field, value in paginator.items() if field != "posts"}
        shown_tag, every = self._tag(env, name, tag)
        views = self._views(env, name)
        parts = ("list-page", self.site_key, self.site, name, page, scalars, shown_tag,
                 [views(view) for view in paginator["posts"]], [views(view) for view in every or paginator["posts"]])
        return self.cache.same("list-page-key", page["url"], parts, lambda: key(*parts))   # as post_page_keys

    def _tag(self, env: jinja2.Environment, name: str, tag: dict | None) -> tuple[dict, list[PostView]]:
        """What a page shows of its tag: its fields but its posts, and all its posts ([] unless the
        template reads `tag.posts`: then a tag page sees them all, not only its page's)."""
        fields = {field: value for field, value in (tag or {}).items() if field != "posts"}
        reads = tag and not reads_only_its_post(env, name, self.site_key, site_wide=frozenset({TAG_POSTS}))
        return fields, tag["posts"] if reads else []

    def _views(self, env: jinja2.Environment, name: str) -> Callable[[PostView], Any]:
        """What keys a listed post: its view's digest, with its neighbours' if the template may read them."""
        if reads_only_its_post(env, name, self.site_key, site_wide=frozenset({NEIGHBOURS})):
            return lambda view: self.of_post[view.url][0]
        return lambda view: self.of_post[view.url]

    def feed_key(self, env: jinja2.Environment, page: dict, posts: list[PostView], tag: dict | None) -> str | None:
        """A feed's key, where feed.xml never names the site-wide `tags`: its `posts` are the feed's
        own (the newest of the site's or of a tag's), so their views, `site`, the page and the tag's
        posts (a template may read `tag.posts`) are all it shows."""
        if not reads_only_its_post(env, "feed.xml", self.site_key, site_wide=frozenset({"tags"})):
            return None
        shown_tag, every = self._tag(env, "feed.xml", tag)
        views = self._views(env, "feed.xml")
        parts = ("feed", self.site_key, self.site, page, shown_tag, [views(view) for view in posts],
                 [views(view) for view in every])
        return self.cache.same("list-page-key", page["url"], parts, lambda: key(*parts))


def view_digests(posts: list[Post], site_key: str, cache: RenderCache) -> list[str]:
    """A digest of each post's view (what a page that shows the post sees of it), in order."""
    return [cache.same("view-digest", str(post.path), (post, site_key),
                       lambda: key("view-digest", view_inputs(post, site_key), post.results.overrides))
            for post in posts]


def list_pages(env: jinja2.Environment, context: dict, views: list[PostView], config: Config,
               keys: ListPageKeys | None = None, page_keys: dict[str, str] | None = None,
               remembered: dict[str, dict] | None = None, paginated: list[dict] | None = None,
               deferred: dict[str, Callable[[], str]] | None = None) -> dict[str, str]:
    """Home, /posts/, tags, 404, feed, sitemap, robots.txt. A list page found in the cache by its
    key goes into `remembered` (finished, not templated); one templated gets its key in `page_keys`;
    each list that is paginated goes into `paginated` (first_page_aliases). With `deferred`, a
    list page with a key is not templated here but goes there, as the call that templates it."""
    # A template whose use cannot be told is paginated: its pages then link only to pages that exist.
    size = {name: config.paginate if names_any(env, name, {"paginator"}) is not False else 0
            for name in ("home.html", "posts.html", "tag.html")}

    def listed(name: str, list_context: dict, posts: list[PostView], page: dict, **extra: Any) -> dict[str, str]:
        if size[name] and paginated is not None:
            paginated.append(page)
        return paged(env, name, list_context, posts, page, size[name], keys, page_keys, remembered,
                     deferred=deferred, **extra)

    def feed(page: dict, posts: list[PostView], **extra: Any) -> dict[str, str]:
        # The newest feed_limit posts: a 1,000-post blog's feed with every post in full would be 4 MB.
        # Remembered by its key: a blog's tag feeds hold a post's full text once for each of its tags.
        newest = posts[:config.feed_limit or None]
        # A tag's feed was last updated when the newest of its posts was (the site's feed: the site's date).
        page = {**page, "updated": max((view.lastmod or view.date for view in posts), default=None)}
        render = lambda: _render(env, "feed.xml", {**context, "posts": newest}, page=page, **extra)
        wanted = keys.feed_key(env, page, newest, extra.get("tag")) if keys is not None else None
        path = output_path(page["url"])
        return {path: keys.cache.memo(path, "feed", None, render, wanted=wanted) if wanted is not None else render()}

    pages = {
        **listed("home.html", context, context["posts"], _page("home", config.title, "/", config.description)),
        # Hugo's section page: where a link to /posts/ leads.
        **listed("posts.html", context, context["posts"], _page("section", "All posts", "/posts/")),
        "tags/index.html": _render(env, "tags.html", context, page=_page("tags", "Tags", "/tags/")),
        "404.html": _render(env, "404.html", context, page=_page("404", "Page not found", "/404.html", noindex=True)),
        **feed(_page("feed", config.title, "/index.xml", of="/"), context["posts"]),
        # Hugo's section feed, where many Hugo themes link: the same posts, as the section page lists them.
        **feed(_page("feed", f"All posts · {config.title}", "/posts/index.xml", of="/posts/"), context["posts"]),
        "sitemap.xml": _render(env, "sitemap.xml", context, page=_page("sitemap", "", "/sitemap.xml")),
        "robots.txt": _render(env, "robots.txt", context, page=_page("robots", "", "/robots.txt")),
    }
    for tag in context["tags"]:
        page = _page("tag", f"Posts tagged “{tag['name']}”", tag["url"])
        pages.update(listed("tag.html", {**context, "posts": tag["posts"]}, tag["posts"], page, tag=tag))
        # Hugo's feed of a tag (/tags/go/index.xml), where planets and readers subscribe to one topic.
        pages.update(feed(_page("feed", f"{page['title']} · {config.title}", tag["url"] + "index.xml", of=tag["url"]),
                          tag["posts"], tag=tag))
    return pages


def paged(env: jinja2.Environment, name: str, context: dict, posts: list[PostView], page: dict, size: int,
          keys: ListPageKeys | None = None, page_keys: dict[str, str] | None = None,
          remembered: dict[str, dict] | None = None, deferred: dict[str, Callable[[], str]] | None = None,
          **extra: Any) -> dict[str, str]:
    """A list page, as Hugo paginates one: `paginator.posts` holds `size` posts (0: all) at the page's
    URL, then at <url>page/2/, <url>page/3/, ... (size 0 for a template that never names `paginator`)."""
    count = max(1, -(-len(posts) // size)) if size else 1
    url_of = lambda number: page["url"] if number == 1 else f"{page['url']}page/{number}/"
    step = size if count > 1 else len(posts)
    pages = {}
    for number in range(1, count + 1):
        paginator = Record("paginator", {
            "posts": posts[(number - 1) * step:number * step], "number": number, "total": count,
            "total_posts": len(posts), "first": url_of(1), "last": url_of(count),
            "prev": url_of(number - 1) if number > 1 else None, "next": url_of(number + 1) if number < count else None,
        })
        shown = page if number == 1 else {**page, "url": url_of(number), "number": number}
        path = output_path(url_of(number))
        wanted = keys.key(env, name, shown, paginator, extra.get("tag")) if keys is not None else None
        if wanted is not None and remembered is not None and page_keys is not None:
            page_keys[path] = wanted
            if (done := keys.cache.lookup(path, "post-page", wanted)) is not None:
                remembered[path] = done
                continue
            if deferred is not None:
                deferred[path] = functools.partial(_render, env, name, context, page=shown, paginator=paginator, **extra)
                continue
        pages[path] = _render(env, name, context, page=shown, paginator=paginator, **extra)
    return pages


def alias_pages(env: jinja2.Environment, context: dict, posts: list[Post], views: list[PostView],
                taken: set[str], redirects: dict[str, str]) -> dict[str, str]:
    """A redirect page at each of a post's `aliases` (and `url`), as Hugo writes one: its old
    addresses keep working. An alias where a page or a file already is (`taken`), or where one
    needs a folder, or two posts', is an error. Each goes into `redirects` (its file -> the post's)."""
    made: dict[str, str] = {}
    owners: dict[str, Post] = {}           # an alias's output file -> its post
    folders: dict[str, Post] = {}          # a folder an alias's file needs -> that post
    errors = ErrorCollector()
    for post, view in zip(posts, views):
        for field, alias in old_addresses(post):
            where = post.meta.location_of(post.path, field)
            path = alias_output(alias, post.url)
            named = f"alias '{alias}'" if field == "aliases" else f"url '{post.meta.url}'"    # as the author wrote it
            # A page or file where it goes or where it needs a folder (`/index.xml/` would turn the
            # feed into a folder), or another alias's file, or a folder another alias needs.
            clash = next((place for place in [path, *folders_of(path)] if place in taken or place in owners
                          or place == MARKER), path if path in folders else None) if path else None
            if path is None:
                errors.add(BuildError(where, f"{named} leads above the site's root"))
            elif repository_path(path):
                errors.add(BuildError(where, f"{named} would publish /{path}: {REPOSITORY_REFUSAL}"))
            elif clash:
                other = (f"the alias of {Location(owners[clash].path)}" if clash in owners
                         else f"a folder the alias of {Location(folders[clash].path)} needs" if clash in folders
                         else "runpost's marker file" if clash == MARKER else "a page or file of the site")
                errors.add(BuildError(where, f"{named} would replace {other} (/{clash})"))
            else:
                owners[path] = post
                folders.update({place: post for place in folders_of(path)})
                page = _page("alias", view.title, "/" + path.removesuffix("index.html"), noindex=True)
                made[path] = _render(env, "alias.html", context, page=page, post=view,
                                     redirect=relative_url(post.url, path))
                redirects[path] = output_path(post.url)
    errors.raise_if_any()
    return made


def first_page_aliases(env: jinja2.Environment, context: dict, lists: list[dict], taken: set[str],
                       redirects: dict[str, str]) -> dict[str, str]:
    """Hugo's `<list>/page/1/` for each paginated list: its first page is at the list's own URL,
    and page/1/ sends the reader there, so a link written to it (as themes and posts do) works.
    A page, file or post's alias already there, or a file where it needs a folder, keeps its place."""
    made: dict[str, str] = {}
    for page in lists:
        path = output_path(page["url"] + "page/1/")
        if path in taken or path in redirects or any(folder in taken for folder in folders_of(path)):
            continue
        shown = _page("alias", page["title"], "/" + path.removesuffix("index.html"), noindex=True)
        made[path] = _render(env, "alias.html", context, page=shown, post={"title": page["title"], "url": page["url"]},
                             redirect=relative_url(page["url"], path))
        redirects[path] = output_path(page["url"])
    return made


def old_addresses(post: Post) -> list[tuple[str, str]]:
    """(field, address) of each of a post's old addresses: its aliases (relative ones from the post's
    folder, as Hugo reads them), then its `url`, which Hugo reads from the site's root with or
    without a leading slash (`url: blog/old/` is /blog/old/)."""
    url = post.meta.url
    return [*(("aliases", alias) for alias in post.meta.aliases),
            *([("url", url if url.startswith("/") or "://" in url else "/" + url)] if url else [])]


def alias_output(alias: str, post_url: str) -> str | None:
    """The output file of an alias, as Hugo places it ("old" beside the post's folder, "/a/b/"
    at the root, "/a.html" as that file); None if its `..` lead above the site's root."""
    joined = alias if alias.startswith("/") else posixpath.dirname(post_url.rstrip("/")) + "/" + alias
    parts: list[str] = []
    for part in joined.split("/"):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    path = "/".join(parts)
    return path if path.endswith(".html") else posixpath.join(path, "index.html")


def _page(kind: str, title: str, url: str, description: str = "", images=(), noindex: bool = False,
          of: str = "") -> dict:
    """What a template knows of the page it makes; `of`: the page a feed is the feed of."""
    return {"kind": kind, "title": title, "url": url, "description": description,
            "images": list(images), "noindex": noindex, "number": 1, **({"of": of} if of else {})}


def _page_of_post(view: PostView) -> dict:
    return _page("post", view.title, view.url, view.description, view.images, noindex=view.draft or bool(view.overrides))


def _render(env: jinja2.Environment, name: str, context: dict, **extra: Any) -> str:
    try:
        return bounded(lambda: env.get_template(name).render(**context, **extra))
    except RecursionError as error:
        raise BuildError(template_location(error, name), "template error: it never ends (it includes itself, "
                                                         "or a macro never stops calling itself)") from None
    except jinja2.TemplateSyntaxError as error:
        raise syntax_error(error, name) from None
    except Exception as error:  # undefined attributes, a filter that raised, 1/0 in a template...
        raise BuildError(template_location(error, name), f"template error: {template_problem(error)}") from error




def post_page_keys(env: jinja2.Environment, posts: list[Post], views: list[PostView], context: dict,
                   site_key: str, digests: list[str], cache: RenderCache | None = None) -> dict[str, str]:
    """Output path -> cache key of each post's finished page, if post.html allows one (else {}).

    A post's page shows its own view, its neighbours' (prev/next) and `site`, unless the
    templates read the site-wide lists (`posts`, `tags`): then every page is templated again.
    `digests`: view_digests of the posts, in order."""
    if not reads_only_its_post(env, "post.html", site_key):
        return {}
    cache = cache or RenderCache(None)
    site = key("site-context", context["site"])

    def page_key(index: int) -> str:
        # Serve keeps each key while its parts are the very same strings: hashing 1,000 keys was
        # a tenth of a rebuild after a prose edit.
        parts = ("post-page", site_key, site, digests[index], digests[index + 1] if index + 1 < len(posts) else None,
                 digests[index - 1] if index > 0 else None)
        return cache.same("post-page-key", posts[index].url, parts, lambda: key(*parts))

    return {output_path(post.url): page_key(index) for index, post in enumerate(posts)}


_SITE_WIDE = frozenset({"posts", "tags"})


_READS_ONLY_ITS_POST: dict[tuple[str, str, frozenset[str]], bool] = {}


def reads_only_its_post(env: jinja2.Environment, name: str, site_key: str = "",
                        site_wide: frozenset[str] = _SITE_WIDE) -> bool:
    """True if the template and those it extends, includes or imports never name `posts` or `tags`
    (or the `site_wide` names given: a feed's `posts` are its own).

    Remembered by `site_key` (it covers every template's text): serve asks on every rebuild."""
    if site_key and (site_key, name, site_wide) in _READS_ONLY_ITS_POST:
        return _READS_ONLY_ITS_POST[site_key, name, site_wide]
    answer = names_any(env, name, set(site_wide)) is False
    if site_key:
        _READS_ONLY_ITS_POST[site_key, name, site_wide] = answer
    return answer


def names_any(env: jinja2.Environment, name: str, variables: set[str]) -> bool | None:
    """Whether the template or one it extends, includes or imports names one of `variables` as
    a variable of its own (not a macro's parameter); None if that cannot be told (a name computed
    at render time, a template that does not parse: its render reports that)."""
    seen, pending = set(), [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            analysed = _analysed(env, env.loader.get_source(env, current)[0])  # type: ignore[union-attr]
        except jinja2.TemplateError:
            return None
        if analysed is None:
            return None
        named, referenced = analysed
        if variables & named:
            return True
        if None in referenced:
            return None
        pending.extend(referenced)
    return False


# A name that stands for `tag.posts` among a template's names: a tag page that reads only the tag's
# name, URL and count (and its paginator) shows only its own page's posts, so only theirs key it.
TAG_POSTS = "tag.posts"
_TAG_FIELDS = frozenset({"name", "url", "count"})


def _reads_tag_posts(tree: jinja2.nodes.Template) -> bool:
    """Whether `tag` appears other than as tag.name, tag.url, tag.count (or ["name"]...) or `tag is ...`."""
    nodes = jinja2.nodes
    safe = {id(found.node) for found in tree.find_all(nodes.Getattr) if found.attr in _TAG_FIELDS}
    safe |= {id(found.node) for found in tree.find_all(nodes.Getitem)
             if isinstance(found.arg, nodes.Const) and found.arg.value in _TAG_FIELDS}
    safe |= {id(found.node) for found in tree.find_all(nodes.Test)}
    return any(name.name == "tag" and name.ctx == "load" and id(name) not in safe for name in tree.find_all(nodes.Name))


# A name that stands for a listed post's neighbours (`post.prev`, `post.next`) among a template's names:
# a list page or feed that never reads them is keyed by its posts' own views only, and an edit does
# not template again every tag page that lists one of the edited post's neighbours.
NEIGHBOURS = "post.prev"
_NEIGHBOUR_FIELDS = frozenset({"prev", "next"})


def _reads_neighbours(tree: jinja2.nodes.Template) -> bool:
    """Whether the template may read a post's prev or next: `x.prev` or `x["next"]` on anything but
    `paginator` (whose prev and next are page URLs), a subscript it cannot read, or the attr filter."""
    nodes = jinja2.nodes
    paginator = lambda node: isinstance(node, nodes.Name) and node.name == "paginator"
    if any(found.attr in _NEIGHBOUR_FIELDS and not paginator(found.node) for found in tree.find_all(nodes.Getattr)):
        return True
    if any(not isinstance(found.arg, nodes.Const) or (found.arg.value in _NEIGHBOUR_FIELDS and not paginator(found.node))
           for found in tree.find_all(nodes.Getitem)):
        return True
    return any(found.name in ("attr", "map", "sort", "groupby", "selectattr", "rejectattr", "sum", "unique", "min", "max")
               for found in tree.find_all(nodes.Filter))


# A template's source -> the names it uses and the templates it references (None: it does not
# compile). Parsing and compiling a template to find them cost about as much as rendering a
# small page, and every build asks for each page template: answered once per source and process.
_ANALYSED: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[frozenset[str], tuple[str | None, ...]] | None] = {}


def _analysed(env: jinja2.Environment, source: str) -> tuple[frozenset[str], tuple[str | None, ...]] | None:
    # Whether it compiles depends on the environment's filters and tests (every runpost
    # environment has the same ones; they are in the key all the same).
    found = (source, tuple(sorted(env.filters)), tuple(sorted(env.tests)))
    if found not in _ANALYSED:
        if len(_ANALYSED) > 1024:      # serve on a long day of template edits
            _ANALYSED.clear()
        try:
            tree = env.parse(source)
            named = frozenset(jinja2.meta.find_undeclared_variables(tree))  # compiles: an unknown filter raises here
            if "tag" in named and _reads_tag_posts(tree):
                named |= {TAG_POSTS}
            if _reads_neighbours(tree):
                named |= {NEIGHBOURS}
            _ANALYSED[found] = named, tuple(jinja2.meta.find_referenced_templates(tree))
        except jinja2.TemplateError:
            _ANALYSED[found] = None
    return _ANALYSED[found]

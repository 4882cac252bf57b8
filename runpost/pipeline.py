"""build(config): the stages in order, nothing more.

Each stage takes and returns `Post`s (see post.py). Errors a stage finds in
any post are all reported before the build stops; nothing is written to the
output folder unless every stage succeeded.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import stat
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from .config import CONFIG_NAME, Config
from .content.confine import allowed_roots, is_inside, symlink_errors, symlinks_under
from .content.load import load_posts, parse_post, site_languages, stray_markdown, unreadable_links
from .content.scan import scan_post
from .deep import call_deep
from .errors import BuildError, BuildErrors, ErrorCollector, Location
from .execution.explain import explain_posts
from .execution.runner import RunWatch, execute_posts
from .execution.store import MANIFEST
from .markup.cells import hidden_exec_blocks
from .markup.markdown import prepare_workers, render_markdown
from .markup.placeholders import call_tokens, inline_tokens
from .markup.shortcodes import available_shortcodes, parse_shortcodes, shortcodes_needing_inner, shortcodes_showing_blocks
from .parallel import precompute
from .post import Post, Site
from .render_cache import MISSING, RenderCache, key, open_cache
from . import uptodate
from .report import Reporter
from .site.links import check_links
from .site.pages import render_site
from .site.write import forced_folder, write_site


def build(config: Config, reporter: Reporter, cache: RenderCache | None = None,
          write: Callable[[Site, Path], object] = write_site, save_cache: bool = True,
          watch: RunWatch | None = None, inputs: Callable[[list[Path]], object] | None = None) -> None:
    # Content and site stages run on a deep stack (deep.py); execution stays on
    # the main thread, where Ctrl-C is handled.
    # The render cache (render_cache.py) skips rendering whose inputs did not change.
    started = time.time_ns()
    whole = write is write_site      # the command line's build (serve previews elsewhere and keeps no manifest)
    if whole:
        uptodate.forget(config)      # from here on the last build's manifest may no longer hold
        # The folder the command line let this build replace though runpost did not write it (--force).
        write = functools.partial(write_site, checked=forced_folder(config.output_dir))
    cache = cache or open_cache(config.build_dir, reporter.warning)
    cache.start_build()
    held_back: list[dt.datetime] = []
    left_out: list[tuple[str, str, str]] = []
    with _stopped_at_once(whole):
        posts = call_deep(lambda: read_content(config, cache, held_back, left_out))
    declared = [(post.bundle or post.path.parent) / name for post in posts for name in post.meta.inputs]
    if inputs is not None:
        inputs(declared)        # serve watches them (a data file outside content/)
    if left_out:
        reporter.info(left_out_line([reason for _, reason, _ in left_out]))
    warn_about_setup(config, reporter, {post.name for post in posts} | {name for name, _, _ in left_out},
                     {post.name for post in posts if post.cells})
    if config.mode == "explain":
        explain_posts(posts, config, reporter)
        return
    posts = execute_posts(posts, config, reporter, watch)     # serve's `watch` may stop a run whose code changed
    unpublished = {url: reason for _, reason, url in left_out}      # a link to one is told why it is missing
    names = {name: reason for name, reason, _ in left_out}           # and a ref to one
    with _stopped_at_once(whole):
        site = call_deep(lambda: render_and_check(posts, config, cache, unpublished, names))
    folder = write(site, config.output_dir)   # serve passes its PreviewWriter
    reporter.info(f"wrote {len(site.pages)} pages and {len(site.files)} files to {config.output_dir}")
    if save_cache:     # serve saves its cache itself, once the open page has been told to reload
        cache.save()
    if whole:
        uptodate.record(config, started, declared, min(held_back, default=None), reporter.warnings, folder)


class _stopped_at_once:
    """Ctrl-C, SIGTERM and SIGHUP end the process at once while the content and site stages run.

    Those stages write nothing a later build needs (the site is written after them, in one swap),
    so there is nothing to tidy. And Python runs a signal handler only between bytecodes of the main
    thread, which waits for the deep thread: one long regular-expression call on a huge post kept a
    `timeout`'s SIGTERM waiting half a minute. The default action needs no Python. Only the command
    line's build, on the main thread (serve builds on its own threads and handles its signals);
    a signal the caller ignores (nohup) stays ignored."""

    def __init__(self, whole: bool) -> None:
        self.active = whole and threading.current_thread() is threading.main_thread()
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if not self.active:
            return
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None and signal.getsignal(number) not in (signal.SIG_IGN, None):
                self.previous[number] = signal.signal(number, signal.SIG_DFL)

    def __exit__(self, *_: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


def left_out_line(reasons: list[str]) -> str:
    """"left out: 2 drafts (--drafts), 1 post dated in the future (--future)"."""
    kinds = {"unrendered": ("post with render: never", "posts with render: never", "its build options"),
             "headless": ("headless post", "headless posts", "headless: true"), "draft": ("draft", "drafts", "--drafts"), "future": ("post dated in the future", "posts dated in the future", "--future"),
             "expired": ("expired post", "expired posts", "--expired")}
    parts = [f"{reasons.count(reason)} {one if reasons.count(reason) == 1 else many} ({flag})"
             for reason, (one, many, flag) in kinds.items() if reason in reasons]
    return "left out: " + ", ".join(parts)


def read_content(config: Config, cache: RenderCache | None = None,
                 held_back: list[dt.datetime] | None = None,
                 left_out: list[tuple[str, str, str]] | None = None) -> list[Post]:
    # The content stages report every problem of every post together, before
    # any code runs: a typo in one post should not cost a training run first.
    cache = cache or RenderCache(None)
    check_templates(config)
    content_errors = ErrorCollector()
    # Parsing is pure: serve keeps each post's parse while its text is the same (render_cache.same).
    posts = load_posts(config, content_errors, parse=lambda path, text, bundle, languages: cache.same(
        "post", str(path), (text, bundle, languages), lambda: parse_post(path, text, bundle, languages)), held_back=held_back,
        left_out=left_out, read=cache.file_bytes)
    known, needing_inner = available_shortcodes(config), shortcodes_needing_inner(config)
    shortcodes = (known, needing_inner)
    parse = lambda post: cache.same("shortcodes", str(post.path), (post, shortcodes),
                                    lambda: parse_shortcodes(scan_post(post), known, needing_inner))
    posts = each(posts, parse, content_errors)
    posts = render_all_markdown(posts, config, cache, content_errors)
    # Only posts with blocks; serve keeps each post's answer while the post is the same (render_cache.same).
    showing = shortcodes_showing_blocks(config)
    content_errors.extend(error for post in posts if post.cells for error in cache.same(
        "hidden-blocks", str(post.path), (post, showing, config.raw_html),
        lambda: hidden_exec_blocks(post, showing, config.raw_html)))
    content_errors.raise_if_any()
    return posts


def check_templates(config: Config) -> None:
    """The site's own templates are read as they are: none may lead outside the project or be a
    link that cannot be read (confine.py). Checked before any template is read."""
    roots = allowed_roots(config.root, config.content_dir)
    errors = ErrorCollector()
    for folder in config.templates_dirs:
        if folder.parent == config.root:
            errors.extend(symlink_errors(folder, roots, "template"))
            # Every template is read for the render cache's key: a pipe would hang the build (and serve).
            errors.extend(BuildError(Location(path), "not a regular file (a pipe or a device?); remove it")
                          for path in _special_files(folder))
    errors.raise_if_any()


def _special_files(folder: Path) -> list[Path]:
    """Pipes, sockets and devices under `folder`, following linked folders as Jinja's loader does,
    each once (uptodate.files_of, the one walker: `_default -> .` links back to where it is)."""
    return sorted(Path(path) for path, entry in uptodate.files_of([folder]).items()
                  if isinstance(entry, list) and not _regular(path))


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:           # gone since it was listed: the loader reports what it cannot read
        return True


def render_all_markdown(posts: list[Post], config: Config, cache: RenderCache, errors: ErrorCollector) -> list[Post]:
    # Markdown is a pure function of the body and raw_html: a post serve rendered before
    # keeps its result (cache.same); a body seen in an earlier build comes from the render
    # cache; the rest are converted on all cores, then stored in order.
    kept = {post.path: found for post in posts
            if (found := cache.recall("markdown", str(post.path), (post, config.raw_html))) is not MISSING}
    # The body holds only each call's token: which of them stand for text (inline_tokens: a `$x$`
    # alone on its line keeps its <p>, a `$$x$$` or a block shortcode does not), and which token-like
    # text is a call's at all (a typed `RPSC0001X` is the writer's), are keyed too.
    keys = {post.path: key("markdown", [post.body, config.raw_html, sorted(inline_tokens(post.shortcodes)),
                                        sorted(call_tokens(post.shortcodes, post.cells))])
            for post in posts if post.path not in kept}
    convert = lambda post: render_markdown(post, config).html
    missing = [post for post in posts if post.path in keys and not cache.has(post.url, "markdown", keys[post.path])]
    ready = {missing[index].path: html for index, html in
             precompute(convert, missing, prepare=lambda: prepare_workers(missing, config.raw_html)).items()}
    # Two posts claiming one URL (an error load_posts reported; this build stops after this stage)
    # would overwrite each other's entry, which is stored by URL: neither stores one.
    claimed = Counter(post.url for post in posts)

    def render(post: Post) -> Post:
        if post.path in kept:
            return kept[post.path]
        if claimed[post.url] > 1:
            return replace(post, html=ready[post.path] if post.path in ready else convert(post))
        html = cache.memo(post.url, "markdown", None, lambda: ready[post.path] if post.path in ready else convert(post),
                          wanted=keys[post.path])
        done = replace(post, html=html)
        cache.keep("markdown", str(post.path), (post, config.raw_html), done)
        return done

    return each(posts, render, errors)


def render_and_check(posts: list[Post], config: Config, cache: RenderCache | None = None,
                     unpublished: dict[str, str] | None = None, unpublished_names: dict[str, str] | None = None) -> Site:
    # A post whose content fails (a ref to no post) is reported with every broken link of the
    # others, not alone and then the links on the next build. Its own links and the anchors of
    # its empty page are not checked: what it links to is not known until it renders.
    failed: dict[str, list[BuildError]] = {}
    try:
        site = render_site(posts, config, cache, unpublished_names, failed)
    except (BuildError, BuildErrors) as later:       # (an alias clash): the failed posts' errors too
        raise BuildErrors([error for url in failed for error in failed[url]]
                          + (later.errors if isinstance(later, BuildErrors) else [later])) from None
    errors = ErrorCollector()
    try:
        check_links(site, posts, config, cache, unpublished, unchecked=set(failed))
    except BuildErrors as broken:
        errors.extend(broken)
    found = [error for url in failed for error in failed[url]] + errors.errors
    if found:
        raise BuildErrors(found)
    return site


def warn_about_setup(config: Config, reporter: Reporter, post_names: set[str], with_code: set[str] = frozenset()) -> None:
    """Warnings about the project around the posts; `post_names`: every post that loaded, published or
    not; `with_code`: the published ones that run code."""
    if not config.base_url.startswith(("http://", "https://")):
        reporter.warning(f"base_url is '{config.base_url}': set it in {CONFIG_NAME} or with --base-url so that "
                         "the feed, sitemap, canonical and Open Graph URLs are absolute")
    for path, why in stray_markdown(config.content_dir, site_languages(config)):
        reporter.warning(why, Location(path))
    own_static = [folder for folder in config.static_dirs if folder.parent == config.root]
    roots = allowed_roots(config.root, config.content_dir)     # a link leading outside is an error (finish.py)
    dangling = [path for folder in own_static for path in symlinks_under(folder)
                if not os.path.exists(path) and is_inside(path, roots)]
    for path in [*unreadable_links(config.content_dir), *dangling]:
        reporter.warning(f"a symlink to {os.readlink(path)}, which cannot be read (missing, a loop, through "
                         "a file, or no permission), so not published", Location(path))
    orphans = orphaned_results(config, post_names)
    # A post renamed since: one that has no results folder of its own yet.
    fresh = sorted(name for name in with_code if not (config.build_dir / name).exists())
    for folder in orphans:
        renamed = f"; renamed to {fresh[0]}? `mv {Location(folder)} {Location(folder.parent / fresh[0])}` keeps " \
                  "its results (memo calls included)" if len(orphans) == 1 and len(fresh) == 1 else \
                  " (renamed? move the folder to the post's new name to keep its results)"
        reporter.warning(f"stored results of no post in {config.content_dir.name}/posts/: delete the folder, or "
                         f"they stay in build/ and in every commit of it{renamed}", Location(folder))


def orphaned_results(config: Config, names: set[str]) -> list[Path]:
    """Folders of build/ holding a post's stored results (a manifest, or only the memo calls of a
    post whose code never finished) where no post of `names` is (drafts and future posts
    included): a deleted or renamed post's results."""
    try:
        entries = sorted(os.scandir(config.build_dir), key=lambda entry: entry.name)
    except OSError:
        return []
    return [Path(entry.path) for entry in entries if not entry.name.startswith(".") and entry.name not in names
            and entry.is_dir(follow_symlinks=False) and (os.path.isfile(os.path.join(entry.path, MANIFEST))
                                                         or os.path.isdir(os.path.join(entry.path, "memo")))]


def each(posts: list[Post], stage: Callable[[Post], Post], errors: ErrorCollector) -> list[Post]:
    """Apply a per-post stage to every post; a post that fails is dropped, its errors collected."""
    done = []
    for post in posts:
        try:
            done.append(stage(post))
        except BuildError as error:
            errors.add(error)
        except BuildErrors as many:
            errors.extend(many)
    return done

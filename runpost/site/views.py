"""What templates see of a post (PostView): its summary, reading time, contents list, neighbours.

Part of the site stage (pages.py builds the views, then templates every page with them).
A view's text parts are a pure function of the rendered content, so they are remembered in
the render cache; nothing here reads or writes files.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field, replace
from html import unescape
from typing import Any, ClassVar

from markupsafe import Markup

from ..config import Config
from ..content.slugs import tag_slug
from ..markup.markdown import SUMMARY_DIVIDER, markdown_to_html
from ..parallel import precompute
from ..post import Post
from ..render_cache import MISSING, RenderCache, key
from .environment import Record
from .html_tags import attributes, start_tags, text_and_tags, unescape_attribute
from .notebook import download_links
from .urls import absolute_url, page_links_absolute, rewrite_urls

WORDS_PER_MINUTE = 213  # Hugo's reading-time rate
SUMMARY_WORDS = 70      # Hugo's default summary length
# ...and at most this many characters: 70 words of prose are about 450, but a "word" may be a
# megabyte of a block's output, which would go into every list page, the feed and each <meta>.
SUMMARY_CHARACTERS = 1000


@dataclass(frozen=True)
class PostView:
    """What templates see of a post (as `post`: a field it lacks is a template error, environment.Record)."""

    _template_name: ClassVar[str] = "post"

    title: str
    url: str
    date: dt.datetime
    lastmod: dt.datetime | None
    description: str
    summary: str
    content: Markup
    tags: list[dict[str, str]]
    images: list[str]
    reading_minutes: int
    overrides: dict[str, Any]
    draft: bool
    # Hugo's .Params: the front matter's own keys (`cover:`, `subtitle:`) and its `params:` map, the
    # values a --param preview ran with included; as the `param` shortcode reads them.
    params: dict[str, Any] = field(default_factory=dict)
    downloads: dict[str, str] = field(default_factory=dict)   # "notebook", "script" -> site path (posts with blocks)
    toc: list[dict[str, Any]] = field(default_factory=list)   # h2/h3 headings: level, id, text (empty: no contents list)
    prev: "PostView | None" = None
    next: "PostView | None" = None
    base_url: str = "/"
    # Made once, when first asked, and shared by every copy of the view (replace() linking the
    # neighbours, serve's next rebuild keeping the view): field(compare=False) keeps it out of ==.
    _made: dict[str, Markup] = field(default_factory=dict, compare=False, repr=False)

    @property
    def content_absolute(self) -> Markup:
        """The content with every internal URL absolute, in-page links too (for the feed): made when a template asks,
        as the feed shows the newest few posts and a URL rewrite is a tenth of a cold build's views."""
        if "content_absolute" not in self._made:
            absolute = rewrite_urls(str(self.content), lambda url: absolute_url(url, self.base_url, self.url))
            # An in-page link (`#setup`, a footnote's `#fn:1`) too: a feed reader reads it against
            # the feed's address, where no such element is. Links only: an SVG's <use href="#dot">
            # names an element of the entry itself.
            self._made["content_absolute"] = Markup(page_links_absolute(absolute, absolute_url(self.url, self.base_url)))
        return self._made["content_absolute"]


def post_views(posts: list[Post], config: Config, cache: RenderCache | None = None,
               site_key: str = "") -> list[PostView]:
    cache = cache or RenderCache(None)
    # Serve: a post equal to last time's, on the same site, keeps its view (render_cache.same).
    kept = {post.path: found for post in posts
            if (found := cache.recall("view", str(post.path), (post, site_key))) is not MISSING}
    keys = {post.path: key("view", view_inputs(post, site_key)) for post in posts if post.path not in kept}
    missing = [post for post in posts if post.path in keys and not cache.has(post.url, "view", keys[post.path])]
    ready = {missing[index].path: text for index, text in
             precompute(lambda post: view_text(post, config), missing).items()}
    views = []
    for post in posts:
        if post.path in kept:
            views.append(kept[post.path])
        else:
            views.append(_view(post, config, cache, keys[post.path], ready))
            cache.keep("view", str(post.path), (post, site_key), views[-1])
    # posts are newest first: "prev" is the older neighbour, "next" the newer one.
    # Serve: a view with the very same neighbours as last time (the same objects: 1 == 1.0 == True,
    # but a template prints them differently) keeps its linked copy.
    linked = []
    for index, view in enumerate(views):
        older = views[index + 1] if index + 1 < len(views) else None
        newer = views[index - 1] if index > 0 else None
        linked.append(cache.same("linked-view", str(posts[index].path), _Exactly((view, older, newer)),
                                 lambda: replace(view, prev=older, next=newer)))
    return linked


class _Exactly(tuple):
    """Equal only to a tuple of the very same objects."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, tuple) and len(other) == len(self) and all(a is b for a, b in zip(self, other))

    __hash__ = tuple.__hash__


def view_inputs(post: Post, site_key: str) -> list:
    return [site_key, post.source, post.url, post.content]


def _view(post: Post, config: Config, cache: RenderCache, wanted: str, ready: dict) -> PostView:
    text = cache.memo(post.url, "view", None,
                      lambda: ready[post.path] if post.path in ready else view_text(post, config), wanted=wanted)
    return PostView(
        title=post.meta.title,
        url=post.url,
        date=post.meta.date,
        lastmod=post.meta.lastmod,
        description=post.meta.description or text["summary"],
        summary=text["summary"],
        content=Markup(text["content"]),
        tags=tag_links(post.meta.tags),
        images=[absolute_url(image, config.base_url, post.url) for image in post.meta.images],
        reading_minutes=text["reading_minutes"],
        overrides=dict(post.results.overrides),
        draft=post.meta.draft,
        params={**post.meta.extra, **post.meta.params, **post.results.overrides},
        downloads=download_links(post),
        toc=text["toc"],
        base_url=config.base_url,
    )


def view_text(post: Post, config: Config) -> dict[str, Any]:
    """The parts of a post's view derived from its rendered content (plain JSON, so cacheable)."""
    # Hugo's <!--more--> divider: what comes before it is the summary, and the page drops it.
    before, divider, after = post.content.partition(SUMMARY_DIVIDER)
    content = before + after
    lines = _lines_of_text(content)
    return {
        # Hugo 0.111's order: the divider, then a front matter `summary`, then the first 70 words.
        "summary": plain_text(before) if divider else front_matter_summary(post.meta.summary) if post.meta.summary
        else _summary(lines),
        "content": content,
        "reading_minutes": max(1, math.ceil(len(lines.split()) / WORDS_PER_MINUTE)),
        "toc": table_of_contents(content) if wants_toc(post, content, config) else [],
    }


# The heading extension gives every heading an id, so the contents list only reads them back.
_HEADING_END = {name: re.compile(rf"</{name}[\t\n\f\r ]*>", re.IGNORECASE) for name in ("h2", "h3")}


def _headings(content: str) -> list[tuple[int, str, str]]:
    """(level, id as written, inner HTML) of each h2 and h3 with an id, as a browser reads the tags."""
    found = []
    for tag in start_tags(content):
        if tag.name in _HEADING_END:
            anchor = next((content[a.start:a.end] for a in attributes(content, tag) if a.name == "id"), "")
            close = _HEADING_END[tag.name].search(content, tag.end) if anchor else None
            if close:
                found.append((int(tag.name[1]), anchor, content[tag.end:close.start()]))
    return found


def table_of_contents(content: str) -> list[dict[str, Any]]:
    """The h2 and h3 headings of rendered content, in order: {"level", "id", "text"}."""
    return [{"level": level, "id": unescape_attribute(anchor), "text": plain_text(inner, formulas_as_latex=False)}
            for level, anchor, inner in _headings(content)]


def wants_toc(post: Post, content: str, config: Config) -> bool:
    """Front matter `toc: true`/`false` decides; else the site's `toc_min_headings`, if set."""
    asked = post.meta.extra.get("toc")
    if isinstance(asked, bool):
        return asked
    return config.toc_min_headings > 0 and len(_headings(content)) >= config.toc_min_headings


def tag_links(tags: tuple[str, ...]) -> list[dict[str, str]]:
    """The post's tags, each with its page's URL; a tag whose page another of them already names
    (`Python` and `python`) once, as first written: the tag page lists the post once, as in Hugo."""
    links: dict[str, dict[str, str]] = {}
    for tag in tags:
        url = f"/tags/{tag_slug(tag)}/"
        links.setdefault(url, Record("tag", {"name": tag, "url": url}))
    return list(links.values())


def _summary(text: str) -> str:
    """Hugo's automatic summary (TruncateWordsToWholeSentence): the text up to its 70th word, then
    on to the end of that sentence (`.`, `?`, `!`, `"` or the end of a block); all of it if no
    sentence ends there. At most SUMMARY_CHARACTERS (a block's output may be one long "word")."""
    boundaries = [match.start() for match in re.finditer(r"\s", text)]
    if len(boundaries) >= SUMMARY_WORDS:
        end = re.compile(r'[.?!"\n]').search(text, boundaries[SUMMARY_WORDS - 1])
        text = text[:end.end()] if end else text
    summary = " ".join(text.split())
    if len(summary) > SUMMARY_CHARACTERS:
        return summary[:SUMMARY_CHARACTERS].rstrip() + "…"
    return summary


def _lines_of_text(html: str, formulas_as_latex: bool = True) -> str:
    """Visible text of rendered HTML with each block on its own line and other whitespace as one
    space: what the summary reads (a sentence also ends where its block does, as in Hugo, whose
    own reading of the page follows goldmark's line breaks; this one does not depend on them).
    A formula is its LaTeX (text_and_tags), as in Hugo's summaries, unless `formulas_as_latex` is false."""
    text = "".join(part if kind == "text" else "\n" if part in _BLOCKS else ""
                   for kind, part in text_and_tags(html, formulas_as_latex))
    lines = (" ".join(line.split()) for line in unescape(text).split("\n"))
    return "\n".join(line for line in lines if line)


def front_matter_summary(markdown: str) -> str:
    """A front matter `summary` as its text: Hugo renders it as Markdown (`*lazy*` is lazy)."""
    return plain_text(markdown_to_html(markdown, inline=True))


_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "br", "hr", "figure",
                     "figcaption", "table", "thead", "tbody", "tr", "td", "th", "pre", "blockquote", "dl", "dt",
                     "dd", "aside", "section", "script", "style"})


def plain_text(html: str, formulas_as_latex: bool = True) -> str:
    """Visible text of rendered HTML (for summaries and word counts), its tags read as a
    browser reads them (html_tags.py: a '>' in a quoted value stays inside its tag).

    Block tags separate words; inline tags do not ("<em>a</em>." is "a.").
    """
    return " ".join(_lines_of_text(html, formulas_as_latex).split())

"""runpost renders each tests/hugo/corpus/*.md as Hugo 0.111 does (expected/*.html).

expected/ comes from real Hugo (render_with_hugo.sh). Both sides are
normalised before comparing: whitespace and attribute order, entity
spelling, and the deliberate differences listed in docs/hugo.md
(token classes, click-to-load YouTube, absolute ref URLs, task-list classes).
Cases where we differ on purpose are strict xfails: if one starts matching
Hugo, the test says so and the docs need updating.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest

from runpost.config import DEFAULT_TEMPLATES
from runpost.markup.markdown import SUMMARY_DIVIDER, render_markdown
from runpost.post import FrontMatter, Post
from runpost.site.environment import make_environment
from runpost.site.fragments import render_content
from runpost.markup.shortcodes import BUILTINS, parse_shortcodes

HERE = Path(__file__).parent
ENGINE_TEMPLATES = DEFAULT_TEMPLATES
CASES = sorted(path.stem for path in (HERE / "corpus").glob("*.md"))

# case -> why runpost differs from Hugo on purpose (see docs/hugo.md)
DELIBERATE = {
    "sc-in-code": "shortcodes inside code blocks stay literal",
    "sc-markdown-form": "{{% %}} renders its inner Markdown; Hugo omits the template's HTML without unsafe",
    "blog-heading-shortcodes": "a shortcode in a heading adds its output's text to the id; Hugo adds its placeholder",
    "r6-more-summary": "<!--more--> inside a code span is code, not the summary divider (Hugo splits there)",
}
# case -> a difference that is NOT on purpose: Python-Markdown still parses these
# differently from goldmark (docs/hugo.md, "Known gaps"). Strict too:
# fixing one makes the test fail until the entry is removed.
KNOWN_GAPS: dict[str, str] = {
    "r5-deflist-paragraphs": "a tight definition with two paragraphs: goldmark leaves the first without <p>",
    "r5-task-no-space": "goldmark takes `[ ]text` (no space after the box) for a task; pymdownx.tasklist does not",
    "r6-code-in-lists": "a list item that is only a fence (- ```js) stays text; goldmark puts the code block in the item",
    "r6-code-spans-templates": "an unmatched `` run before a `code span` opens a span; goldmark leaves the run literal",
    "r6-footnotes-code": "a footnote ending in a fenced block gets its backlink in a <p>; goldmark puts it after the block",
    "r6-highlight-self-closing": "highlight of make code ending in a tab and spaces: Chroma keeps the last newline",
    "r6-smart-quotes-code": "a closing ' right after a code span is curled; goldmark leaves it straight",
}


def render_case(name: str) -> str:
    source = (HERE / "corpus" / f"{name}.md").read_text(encoding="utf-8")
    _, front, body = source.split("---\n", 2)
    date = dt.datetime(2020, 5, 2)
    post = Post(path=Path(f"content/posts/{name}.md"), source=source,
                meta=FrontMatter(title=name, date=date, publish_date=date), body=body,
                body_line=front.count("\n") + 3, url=f"/posts/{name}/")
    post = parse_shortcodes(post, known=BUILTINS | {"note", "mark", "badge", "params", "passthrough"})
    post = render_markdown(post, types.SimpleNamespace(raw_html=False))
    env = make_environment([HERE / "templates", ENGINE_TEMPLATES])
    # The page drops Hugo's <!--more--> divider, as templates.py does; Hugo's .Content has none.
    before, _, after = render_content(post, corpus_refs(), env).partition(SUMMARY_DIVIDER)
    return before + after


def corpus_refs() -> dict[str, str]:
    refs = {}
    for name in CASES:
        for key in (name, f"{name}.md", f"posts/{name}", f"posts/{name}.md", f"/posts/{name}", f"/posts/{name}/"):
            refs[key] = f"/posts/{name}/"
    return refs


@pytest.mark.parametrize("name", CASES)
def test_runpost_renders_corpus_case_like_hugo(name):
    if name in DELIBERATE:
        pytest.xfail(f"deliberate: {DELIBERATE[name]}") if normalise(render_case(name)) != normalise(
            expected(name)) else pytest.fail(f"{name} now matches Hugo: update DELIBERATE and the docs")
    if name in KNOWN_GAPS:
        pytest.xfail(f"known gap: {KNOWN_GAPS[name]}") if normalise(render_case(name)) != normalise(
            expected(name)) else pytest.fail(f"{name} now matches Hugo: remove it from KNOWN_GAPS and the docs")
    assert normalise(render_case(name)) == normalise(expected(name))


def expected(name: str) -> str:
    return (HERE / "expected" / f"{name}.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- normalising

BLOCK_TAGS = {"p", "div", "figure", "figcaption", "ul", "ol", "li", "table", "tr", "td", "th", "thead",
              "tbody", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr", "dl", "dt", "dd",
              "aside", "br", "section", "youtube", "img"}
# Chroma's structure classes; every other span class is a token class (Pygments' differ: documented).
STRUCTURE_CLASSES = {"line", "line hl", "cl", "ln", "lnt", "hl"}


def normalise(fragment: str) -> str:
    fragment = _canonical_youtube(fragment)
    fragment = fragment.replace("https://example.org/", "/")      # Hugo's ref is absolute
    parser = _Canonical()
    parser.feed(fragment)
    parser.close()
    return parser.result()


def _canonical_youtube(fragment: str) -> str:
    hugo = re.compile(r'<div[^>]*>\s*<iframe src="https://www\.youtube\.com/embed/([\w-]+)[^"]*"[^>]*'
                      r'title="([^"]*)"></iframe>\s*</div>', re.S)
    ours = re.compile(r'<div class="youtube-embed[^"]*" data-embed><a [^>]*data-youtube-id="([\w-]+)" '
                      r'data-title="([^"]*)".*?</a></div>', re.S)
    fragment = hugo.sub(lambda m: f'<youtube id="{m[1]}" title="{m[2].lower()}"></youtube>', fragment)
    return ours.sub(lambda m: f'<youtube id="{m[1]}" title="{m[2].lower()}"></youtube>', fragment)


class _Canonical(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre = 0
        self.dropped: list[bool] = []     # per open span: was it a token span we dropped?

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "span":
            token = bool(self.pre) and attributes.get("class") not in STRUCTURE_CLASSES
            self.dropped.append(token)
            if token:
                return
        if tag == "pre":
            self.pre += 1
        attributes.pop("tabindex", None)
        attributes.pop("loading", None)                            # figure: documented
        if "alt" in attributes:                                    # Hugo's figure alt: "&ndash;" as text
            attributes["alt"] = html.unescape(attributes["alt"] or "")
        if attributes.get("class") in ("task-list", "task-list-item"):
            attributes.pop("class")                                # pymdownx.tasklist: documented
        if "style" in attributes:
            attributes["style"] = re.sub(r"\s|;$", "", attributes["style"] or "")
        text = " ".join(f'{key}="{value or ""}"' for key, value in sorted(attributes.items()))
        self.parts.append(f"<{tag}{' ' + text if text else ''}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "span" and self.dropped and self.dropped.pop():
            return
        if tag == "pre":
            self.pre -= 1
        self.parts.append(f"</{tag}>")

    def handle_data(self, data):
        self.parts.append(data if self.pre else ("\0" + data))

    def handle_comment(self, data):
        self.parts.append(f"<!--{data}-->")

    def result(self) -> str:
        # Outside <pre>, whitespace runs are one space, and none at all next to block tags.
        text = "".join(self.parts)
        text = re.sub(r"\0([^<\0]*)", lambda m: re.sub(r"\s+", " ", m[1]), text)
        block = "|".join(sorted(BLOCK_TAGS))
        text = re.sub(rf"\s*(</?(?:{block})\b[^>]*>)\s*", r"\1", text)
        text = re.sub(r"\s*(<!--.*?-->)\s*", r"\1", text)
        # Go templates keep a template file's last newline; Jinja drops it.
        text = re.sub(r"\s+(</(?:mark|a|em|strong)>)", r"\1", text)
        return text.strip().replace("><", ">\n<")

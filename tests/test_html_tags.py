"""runpost/site/html_tags.py: the start tags and attributes a browser reads, no fewer.

The table was checked against Chromium's parser (which gives srcset whole); the last test asks
Chromium itself about a few thousand random pieces of hostile markup.
"""
from __future__ import annotations

import random

import pytest

from conftest import run_build
from runpost.site.html_tags import _AMBIGUOUS as AMBIGUOUS, _PLAIN_TAG, _tag, attributes, start_tags, unescape_attribute
from runpost.site.urls import is_site_path, relative_url, rewrite_urls, script_urls, urls_in

# (html, the URLs in href/src attributes of the tags a browser makes of it)
CASES = [
    ('<p>a &#q b</p><a href="/x/">x</a>', ["/x/"]),                 # html.parser stopped at a stray &#
    ('<p>&#; <img src="/i.png"></p>', ["/i.png"]),
    ('<![foo[ x ]]><a href="/x/">', ["/x/"]),                        # html.parser raised AssertionError
    ('<![ x <a href="/y/">', []),                                    # a bogus comment runs to the first '>'
    ('<!-- c --!> <a href="/x/">', ["/x/"]),                         # '--!>' ends a comment
    ('<!-- c -- > <a href="/y/"> -->', []),                          # '-- >' does not
    ('<!--><a href="/x/">', ["/x/"]),
    ('<!---><a href="/x/">', ["/x/"]),
    ('<a/href="/x/">', ["/x/"]),                                     # '/' separates attributes
    ('<a title="t"href="/x/">', ["/x/"]),                            # so does a closing quote
    ('<a href=/x/>', ["/x/"]),
    ('<A HREF="/x/">', ["/x/"]),
    ('<a href = "/x/" >', ["/x/"]),
    ("<img alt=' src=\"/no.png\"' src=\"/yes.png\">", ["/yes.png"]),   # a value is not an attribute
    ('<script>var s = \'<a href="/no/">\';</script><a href="/x/">', ["/x/"]),
    ('<script>x</scripts><a href="/no/"></script>', []),
    ('<script>x</script ><a href="/x/">', ["/x/"]),
    ('<textarea><a href="/no/"></textarea><a href="/x/">', ["/x/"]),
    ('<title><a href="/no/"></title>', []),
    ('<style>a{}</style><a href="/x/">', ["/x/"]),
    ('<svg><style><a href="/x/"></a></style></svg>', ["/x/"]),       # no raw text inside SVG
    ('<svg/><style><a href="/no/"></style>', []),
    ('<plaintext><a href="/no/">', []),
    ('<a href="/no/"', []),                                          # cut off: no tag
    ('<a href="/no/>', []),
    ('<p>1 < 2 and <3</p><a href="/x/">', ["/x/"]),
    ('<!DOCTYPE html "x>"><a href="/x/">', ["/x/"]),
    ('</x title="<a href=\'/no/\'>"><a href="/x/">', ["/x/"]),       # an end tag's quoted '>' is in it
    ('<?php echo 1 ?><a href="/x/">', ["/x/"]),
    ('<a\vhref="/no/">', []),                                        # \v is not a space in HTML
    ('<img srcset="/a.png 1x, /b.png 2x">', ["/a.png", "/b.png"]),
]


@pytest.mark.parametrize("html, expected", CASES, ids=[str(index) for index in range(len(CASES))])
def test_urls_are_read_as_a_browser_reads_the_tags(html, expected):
    assert urls_in(html) == expected


def test_script_urls_hidden_from_a_simple_scan_are_found():
    for html in ['<a/href="javascript:alert(1)">x</a>', '<a title="t"href="javascript:alert(1)">',
                 '<p>&#q</p><a href="javascript:alert(1)">', '<a href=javascript:alert(1)>']:
        assert script_urls(html) == ["javascript:alert(1)"], html


# Where the tokenizer's state depends on the tree builder (found by review): each reading a
# browser may take is followed, so no tag can hide from the checks behind a comment or raw
# text that only one reading opens.
EVERY_READING = [
    '<svg><![CDATA[><!--]]><a href="javascript:alert(1)">x</a>',                 # CDATA in SVG runs to ]]>
    '<svg><p><style><!--</style><a href="javascript:alert(1)">x</a>',            # <p> ends the SVG
    '<svg><b><textarea><!--</textarea><a href="javascript:alert(1)">x</a>',
    '<svg><foreignObject><title><!--</title><a href="javascript:alert(1)">x</a>',  # HTML inside foreignObject
    '<math><mi><style><!--</style><a href="javascript:alert(1)">x</a>',
    '<noscript><!--</noscript><a href="javascript:alert(1)">x</a>',              # a browser running scripts
    '<svg><desc><div></svg></div></desc><style><a href="javascript:alert(1)">x</a></style>',   # </svg> ignored
    '<svg><foreignObject><p></svg></p></foreignObject><textarea><a href="javascript:alert(1)">',
    '<script>x</\u017fcript><textarea></script><a href="javascript:alert(1)">x</a>',   # ASCII names only
    '<select><xmp></select><a href="javascript:alert(1)">',                       # an older <select> parser
    '<svg><p><style><!--</style> <svg><![CDATA[ ><!-- ]]> <a href="javascript:alert(1)">',
    # found by a second review: end tags a browser ignores, nesting deeper than a count, escaped scripts
    '<svg><desc><div></desc></svg></div></desc><style><a href="javascript:alert(1)">x</a></style>',
    '<svg><foreignObject><p></foreignObject></svg></p></foreignObject><style><a href="javascript:alert(1)">',
    '<math><mi><div></mi></math></div><mglyph><style><p><a href="javascript:alert(1)">x</a></style>',
    '<svg><svg><svg></svg></svg><style><a href="javascript:alert(1)">x</a></style>',
    '<script><!--<script></script><style>--></script><a href="javascript:alert(1)">x</a>',
    # and a third: where the tree builder ignores the start tag, the tokenizer does not switch
    '<template><col><textarea><template><a href="javascript:alert(1)">x</a>',
    '<h1>Blog</h1><template><col><script><template><a href="javascript:alert(1)">x</a>',
    '<frameset><script><frame src="javascript:alert(1)">',
]


@pytest.mark.parametrize("html", EVERY_READING, ids=[str(index) for index in range(len(EVERY_READING))])
def test_a_tag_one_reading_hides_is_still_checked(html):
    assert script_urls(html) == ["javascript:alert(1)"]
    found, scripts = [], []
    rewrite_urls(html, lambda url: url, found, scripts)
    assert scripts == ["javascript:alert(1)"] and found == urls_in(html)


def test_script_urls_in_a_srcdoc_page_an_svg_animation_or_a_frame_are_found():
    assert script_urls('<iframe srcdoc="<a href=&quot;javascript:alert(1)&quot;>x</a>"></iframe>') == [
        "javascript:alert(1)"]
    assert script_urls('<svg><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>') == [
        "javascript:alert(1)"]
    assert script_urls('<svg><a><animate attributeName="href" values="#a; javascript:alert(1)"/></a></svg>') == [
        "javascript:alert(1)"]
    # data:image/ is an image only where an image loads: an SVG in an iframe runs its scripts
    assert script_urls('<iframe src="data:image/svg+xml,<svg onload=alert(1)>"></iframe>') != []
    assert script_urls('<img src="data:image/png;base64,AAAA"><video poster="data:image/png;base64,AA">') == []


@pytest.mark.parametrize("value, text", [
    ("&ltscript&gt;", "&ltscript>"),          # a name without ';' before a letter is text in an attribute
    ("?a=1&ltb=2&amp;c", "?a=1&ltb=2&c"), ("&lt=", "&lt="), ("&notit;", "&notit;"),
    ("&lt;", "<"), ("&lt x", "< x"), ("&#106;", "j"), ("&#x6A;", "j"), ("&copy 2024", "\u00a9 2024")])
def test_attribute_values_are_decoded_as_a_browser_decodes_them(value, text):
    assert unescape_attribute(value) == text      # checked against Chromium on 5,000 random values


def test_a_srcdoc_page_is_read_with_attribute_decoding():
    # html.unescape would make '&ltscript' a <script> and hide the link after it (found by review)
    assert script_urls('<iframe srcdoc="&ltscript&gt;<a href=javascript:alert(1)>x</a>"></iframe>') == [
        "javascript:alert(1)"]


def test_an_svg_image_may_be_a_data_image_and_nothing_else():
    assert script_urls('<svg><image href="data:image/png;base64,AA"/>'
                       '<feImage xlink:href="data:image/png;base64,AA"/></svg>') == []
    assert script_urls('<svg><image href="data:text/html,x"/></svg>') == ["data:text/html,x"]
    assert script_urls('<svg><a href="data:image/svg+xml,x"><text>x</text></a></svg>') == ["data:image/svg+xml,x"]


def test_a_script_ends_where_its_escaped_parts_let_it():
    # After '<!--', a '<script' starts a part in which '</script>' does not end the script.
    html = '<script>/*<!--<script>*/ var s="</script><img src=/a.png>";/*-->*/</script><a href="/b/">'
    assert urls_in(html) == ["/b/"]
    assert rewrite_urls(html, lambda url: "REWRITTEN") == html.replace('"/b/"', '"REWRITTEN"')
    assert urls_in('<script><!--<script></script><a href="/inside/">--></script>') == []
    assert urls_in('<script><!-- x --></script><a href="/after/">') == ["/after/"]
    assert urls_in('<script><!--</script><a href="/after/">') == ["/after/"]    # escaped, not double: ends


def test_urls_are_rewritten_and_link_checked_in_the_likely_reading_and_script_checked_in_every_one():
    convert = lambda url: relative_url(url, "posts/a/index.html") if is_site_path(url) else url
    html = ('<noscript><img src="/x.png"></noscript>'
            '<svg><![CDATA[ x > <a href="/y/"> <a href="javascript:alert(1)"> ]]></svg>')
    found, scripts = [], []
    assert rewrite_urls(html, convert, found, scripts) == html.replace('"/x.png"', '"../../x.png"')
    assert found == urls_in(html) == ["/x.png"]           # in SVG a browser reads CDATA as text
    assert scripts == script_urls(html) == ["javascript:alert(1)"]   # one that left the SVG would not


def test_rewriting_touches_only_attribute_values_and_quotes_an_unquoted_one():
    convert = lambda url: relative_url(url, "posts/a/index.html") if is_site_path(url) else url
    html = ('<a href=/x/>x</a><img alt=\' src="/no.png"\' src="/yes.png"><a/href="/y/">'
            '<code>&lt;a href="/z/"&gt;</code><p style="background: url(/bg.png)">')
    assert rewrite_urls(html, convert) == (
        '<a href="../../x/">x</a><img alt=\' src="/no.png"\' src="../../yes.png"><a/href="../../y/">'
        '<code>&lt;a href="/z/"&gt;</code><p style="background: url(../../bg.png)">')


def test_every_attribute_the_checks_read_is_seen_by_the_quick_test_before_parsing():
    from runpost.site import urls

    names = urls._ANY_URL_ATTRIBUTES | urls._ANIMATION_VALUES | {"srcdoc", "style"}
    for name in names:
        for tag in (f'<a {name}="x">', f'<a/{name.upper()}=x>', f'<a b="c"{name} = "x">'):
            assert urls._may_hold_url(tag, next(start_tags(tag))), tag
    assert not urls._may_hold_url('<a data-href="x" class="y">', next(start_tags('<a data-href="x" class="y">')))


def test_attributes_give_names_in_lower_case_and_value_offsets():
    html = '<IMG SRC="/a.png" alt=\'A\' hidden data-x=1>'
    [tag] = list(start_tags(html))
    assert tag.name == "img" and (tag.start, tag.end) == (0, len(html))
    assert [(a.name, html[a.start:a.end], a.quote) for a in attributes(html, tag)] == [
        ("src", "/a.png", '"'), ("alt", "A", "'"), ("hidden", "", ""), ("data-x", "1", "")]


def test_the_fast_path_ends_a_tag_where_the_full_tokenizer_does():
    rng = random.Random(7)
    pieces = ["a", "B", "-", "1", " ", "\t", "\n", "=", '"', "'", "/", ">", "x:y", "é", "<", "\v", "=\"v>\"", ".", "_"]
    for _ in range(20000):
        html = "<" + rng.choice("aZ") + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        plain = _PLAIN_TAG.match(html)
        if plain:
            full = _tag(html, 0, len(html))
            assert full is not None and full[0] == plain.end() and (plain.group(2) == "/") == full[3], html


def test_a_stray_entity_in_raw_html_no_longer_hides_a_script_url_or_a_broken_link(site_dir):
    (site_dir / "runpost.toml").write_text(
        (site_dir / "runpost.toml").read_text(encoding="utf-8") + "\nraw_html = true\n", encoding="utf-8")
    post = site_dir / "content" / "posts" / "raw.md"
    post.write_text("---\ntitle: Raw\ndate: 2024-01-01\n---\n<div>\n<p>&#q <![x[</p>\n"
                    '<a href="javascript:alert(2)">y</a> <a href="/posts/nowhere/">z</a>\n</div>\n', encoding="utf-8")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1, result.stderr
    assert "content/posts/raw.md:7:10: error: 'javascript:alert(2)' is a javascript: URL" in result.stderr
    assert "'/posts/nowhere/' does not exist in the site" in result.stderr
    assert "internal error" not in result.stderr


def test_script_urls_the_source_scan_does_not_see_are_errors_where_the_file_has_them(site_dir):
    (site_dir / "runpost.toml").write_text(
        (site_dir / "runpost.toml").read_text(encoding="utf-8") + "\nraw_html = true\n", encoding="utf-8")
    # The front matter, prose and a code block name the URL first: the error is at the tag.
    (site_dir / "content" / "posts" / "raw.md").write_text(
        '---\ntitle: Raw\ndate: 2024-01-01\nsummary: "Never javascript:alert(2)"\n---\nHello.\n\n'
        "Prose may say javascript:alert(1) as text.\n\n```html\n<a href=\"javascript:alert(2)\">\n```\n\n"
        '<iframe srcdoc="<a href=&quot;javascript:alert(1)&quot;>x</a>"></iframe>\n\n'
        '<svg><a><set attributeName="href" to="javascript:alert(2)"/></a></svg>\n', encoding="utf-8")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/raw.md:14:31: error: 'javascript:alert(1)' is a javascript: URL" in result.stderr
    assert "content/posts/raw.md:16:39: error: 'javascript:alert(2)' is a javascript: URL" in result.stderr


# ---- Against Chromium's own parser ----------------------------------------------------

POOL = ['<a href="javascript:u{n}">', "<a href='javascript:u{n}'>", '<a href=javascript:u{n}>', '<img src="javascript:u{n}">',
        '<a/href="javascript:u{n}">', '<a x="1"href="javascript:u{n}">', '<a href="/u{n}/">', '<!--', '-->', '--!>', '-- >', '<script>', '</script>', '</script ', '<svg>', '</svg>',
        '<math>', '</math>', '<style>', '</style>', '<textarea>', '</textarea>', '<title>', '</title>', '<noscript>',
        '</noscript>', '<iframe>', '</iframe>', '<xmp>', '</xmp>', '<plaintext>', '"', "'", '&#', '&#q', '&amp;',
        '<![CDATA[', ']]>', '<!', '<?', '>', '/', ' ', 'x', '=', '<', '</', '</a>', '<p>', '</p>', '<!DOCTYPE html>',
        '<!-->', '<!--->', '<foreignObject>', '</foreignObject>', '<svg/>', '<table>', '<template>', '</template>',
        '<select>', '</select>', '<option>', '<desc>', '</desc>', '<mi>', '</mi>', '<mtext>', '<annotation-xml>', '<b>',
        '<br>', '</br>', '<font color=red>', '<div>', '</div>', '<colgroup>', '<frameset>', '</\u017fcript>',
        '</t\u0131tle>', '<noframes>', '</noframes>', '<noembed>', '</noembed>', '<mglyph>',
        '<malignmark>', '</mi>', '</desc>', '<script><!--<script>', '<!--<script>', '</script>-->', '<col>',
        '<colgroup>', '<frameset>', '<frame src="javascript:u{n}">', '<image src="javascript:u{n}">']
# Chromium's DOM both ways: DOMParser runs no scripts (noscript's text is markup), a fragment
# parsed in a live page does (noscript's text is text). <template> contents live in .content.
DOM_URLS = """cases => cases.map(html => {
    const elements = [];
    const walk = root => { for (const e of root.querySelectorAll('*')) { elements.push(e); if (e.content) walk(e.content); } };
    walk(new DOMParser().parseFromString(html, 'text/html'));
    walk(document.createRange().createContextualFragment(html));
    return elements.flatMap(e => ['href', 'src'].filter(name => e.hasAttribute(name)).map(name => e.getAttribute(name)));
})"""


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_no_script_url_chromium_finds_in_random_hostile_markup_is_missed(browser):
    rng = random.Random(2026)
    cases = []
    for _ in range(3000):
        parts = [rng.choice(POOL) for _ in range(rng.randint(1, 14))]
        cases.append("".join(part.replace("{n}", str(index)) for index, part in enumerate(parts)) + '<a href="/end/">')
    page = browser.new_page()
    try:
        page.set_content("<!DOCTYPE html><title>parse</title>")
        found_by_chromium = page.evaluate(DOM_URLS, cases)
    finally:
        page.close()
    missed = {}
    for html, urls in zip(cases, found_by_chromium):
        lost = {url for url in urls if url.startswith("javascript:")} - set(script_urls(html))
        if not AMBIGUOUS.search(html):   # nothing depends on the tree builder: the likely reading has them all
            lost |= set(urls) - set(urls_in(html)) - {url for url in urls if url.startswith("javascript:")}
        if lost:
            missed[html] = sorted(lost)
    assert not missed, list(missed.items())[:5]


def test_summary_text_is_what_a_reader_sees():
    # views.plain_text (summaries, descriptions, word counts, contents entries) reads the tags
    # with the tokenizer: a '>' in a quoted value, a comment or a script's string is not text.
    from runpost.site.views import plain_text

    assert plain_text('<p>Plot <img src="a.png" alt="accuracy > 90%"> here.</p>') == "Plot here."
    assert plain_text("<p>a <!-- x > y --> b</p>") == "a b"
    assert plain_text('<p>x</p><script>var a = "<p>no</p>";</script><p>y</p>') == "x y"
    assert plain_text("<p><em>a</em>.</p><p>1 &lt; 2 &amp; 3</p>") == "a. 1 < 2 & 3"


def test_the_automatic_summary_is_hugos_seventy_words_to_the_end_of_the_sentence_and_at_most_a_thousand_characters():
    from runpost.site.views import SUMMARY_CHARACTERS, _lines_of_text, _summary

    # As Hugo 0.111: past the 70th word, on to the sentence's end; no ellipsis (runpost cut mid-sentence with "…").
    words = " ".join(["word"] * 69)
    assert _summary(f"{words} seventy and on. Next sentence.") == f"{words} seventy and on."
    assert _summary(f"{words} seventy and on\nNext block.") == f"{words} seventy and on"
    assert _summary(f"{words} seventy and on and on") == f"{words} seventy and on and on"   # no sentence ends
    assert _summary("Short. Text.") == "Short. Text."
    # A block's output printed as one long line is one "word": it stops at the cap.
    assert _summary("Output: " + "x" * 1_000_000) == ("Output: " + "x" * 1_000_000)[:SUMMARY_CHARACTERS] + "…"
    assert _lines_of_text("<p>One <em>two</em>.</p><ul><li>three</li></ul>") == "One two.\nthree"


def test_a_front_matter_summary_is_markdown_read_as_text():
    # Hugo renders it as Markdown; runpost showed the raw *lazy*, [link](...) and backticks.
    from runpost.site.views import front_matter_summary

    assert front_matter_summary("Why *lazy* wins, with [benchmarks](https://example.com/b) and `code` & 1 < 2") == \
        "Why lazy wins, with benchmarks and code & 1 < 2"


def test_the_contents_list_has_the_headings_a_reader_sees():
    from runpost.site.views import table_of_contents

    content = ('<h2 id="one">One</h2><!-- <h2 id="no">commented out</h2> -->'
               '<script>var s = \'<h3 id="no2">in a string</h3>\';</script>'
               '<h3 title="a > b" id="two">Two <em>parts</em></h3>')
    assert table_of_contents(content) == [{"level": 2, "id": "one", "text": "One"},
                                          {"level": 3, "id": "two", "text": "Two parts"}]


def test_the_fast_reading_of_plain_pages_gives_the_tokenizers_tokens(monkeypatch):
    import random

    from runpost.site import html_tags

    atoms = ['<p>', '</p>', '<a href="x">', '<a href="<">', '<br/>', '<br />', 'text', '<', '>', '"', "'", '<!--',
             '-->', '<script>', '</script>', '<svg>', '</svg>', '<b class=x>', '< p>', '</ p>', '<x y="1" z>', '&amp;',
             '\n', '<title>', '</title>', '<P>', '</A>', '<a\thref="q">', '<em>', '</em>']
    rng = random.Random(11)
    pages = ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 14 if index % 2 else 60))) for index in range(4000)]
    runs = []
    real_run = html_tags._plain_run
    monkeypatch.setattr(html_tags, "_plain_run", lambda html, start, stop: runs.append(found := real_run(html, start, stop)) or found)
    fast = [(list(html_tags._likely(page)), list(html_tags._likely(page, everything=False))) for page in pages]
    # Whole pages and runs between a page's other constructs (a comment, a script) are read in C.
    assert sum(run is not None and len(run) > 1 for run in runs) > 2000
    monkeypatch.setattr(html_tags, "_plain_run", lambda html, start, stop: None)
    assert fast == [(list(html_tags._likely(page)), list(html_tags._likely(page, everything=False))) for page in pages]

"""Whole-site golden tests: build a site and diff every page against tests/golden/.

Regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/test_site.py` and
review the diff like code.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_build

GOLDEN = Path(__file__).parent / "golden"
TEXT_SUFFIXES = {".html", ".xml", ".txt", ".css", ".js", ".svg", ""}
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))


def text_files(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(folder.rglob("*")) if path.is_file() and path.suffix in TEXT_SUFFIXES}


def compare_with_golden(built: dict[str, str], golden: Path) -> None:
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        for name, text in built.items():
            (golden / name).parent.mkdir(parents=True, exist_ok=True)
            (golden / name).write_text(text, encoding="utf-8")
    expected = text_files(golden)
    assert sorted(built) == sorted(expected), "the set of generated files changed"
    for name, text in built.items():
        assert text == expected[name], f"{name} differs from {golden / name} (UPDATE_GOLDEN=1 to accept)"


def test_fixture_site_matches_golden(site_dir):
    result = run_build("--base-url", "https://example.org/blog/", cwd=site_dir)
    assert result.returncode == 0, result.stderr
    built = {name: text for name, text in text_files(site_dir / "site").items()
             if not name.startswith(("css/style.css", "js/"))}  # the theme's own files are not output of the build
    compare_with_golden(built, GOLDEN / "site")
    assert (site_dir / "site/posts/bundle-post/dot.png").read_bytes() == \
        (site_dir / "content/posts/bundle-post/dot.png").read_bytes()


def test_article_page_matches_golden(tmp_path):
    """The article rendered from the committed build/ (nothing executes: --frozen)."""
    if not (REPO / "build" / "rnn-vs-lstm" / "manifest.json").exists():
        pytest.skip("build/rnn-vs-lstm holds no results yet")
    result = run_build("--frozen", "--output", str(tmp_path / "out"), "--base-url", "https://example.org/blog/", cwd=REPO)
    if result.returncode and "post 'rnn-vs-lstm' is stale" in result.stderr:
        # The post's code changed after its full run: the page cannot be rendered without training
        # (the Pages workflow fails the same way). Run `python build.py`, commit build/, then UPDATE_GOLDEN=1.
        pytest.skip("build/rnn-vs-lstm is stale: rerun the article (python build.py), then regenerate this golden")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "out/posts/rnn-vs-lstm/index.html").read_text(encoding="utf-8")
    compare_with_golden({"index.html": page}, GOLDEN / "article")


def test_summary_divider_sets_the_summary_and_leaves_the_page(site_dir):
    (site_dir / "content/posts/more.md").write_text(
        "---\ntitle: More\ndate: 2024-05-01\n---\nThe teaser sentence.\n\n<!--more-->\n\nThe body goes on here.\n")
    assert run_build(cwd=site_dir).returncode == 0
    page = (site_dir / "site/posts/more/index.html").read_text()
    home = (site_dir / "site/index.html").read_text()
    assert "<!--more-->" not in page and "raw HTML omitted" not in page and "The body goes on here." in page
    assert "The teaser sentence." in home and "The body goes on here." not in home


def test_the_summary_divider_comes_before_a_front_matter_summary_as_in_hugo(site_dir):
    # From a review against Hugo 0.111: its .Summary is the text before <!--more--> even when the
    # front matter has a summary; without the divider, the front matter's.
    (site_dir / "content/posts/both.md").write_text(
        "---\ntitle: Both\ndate: 2024-05-01\nsummary: From the *front matter*.\n---\nThe teaser sentence.\n\n"
        "<!--more-->\n\nThe body goes on here.\n")
    (site_dir / "content/posts/only.md").write_text(
        "---\ntitle: Only\ndate: 2024-05-02\nsummary: Only the *front matter*.\n---\nThe first words.\n")
    assert run_build(cwd=site_dir).returncode == 0
    home = (site_dir / "site/index.html").read_text()
    assert "The teaser sentence." in home and "From the front matter." not in home
    assert "Only the front matter." in home and "The first words." not in home


def test_a_video_gist_or_post_link_adds_no_text_to_the_summary_as_an_embed_adds_none_in_hugo(site_dir):
    # From a review against Hugo 0.111: a post opening with a video had "Play the video on YouTube ..."
    # as its summary (home page, feed, meta description); Hugo's iframe adds no text.
    (site_dir / "content/posts/video.md").write_text(
        "---\ntitle: Video\ndate: 2024-05-01\n---\nA video:\n\n{{< youtube dQw4w9WgXcQ >}}\n"
        "{{< vimeo 146022717 >}}\n{{< gist spf13 7896402 >}}\n{{< tweet user=\"a\" id=\"1\" >}}\n"
        "{{< instagram BWNjjyYFxVx >}}\n\nText after.\n")
    assert run_build(cwd=site_dir).returncode == 0
    page = (site_dir / "site/posts/video/index.html").read_text()
    assert '<meta name="description" content="A video: Text after.">' in page
    assert "Play the video on YouTube" in page and "Gist 7896402 by spf13" in page    # still on the page
    from runpost.site.views import plain_text

    assert plain_text('<p>a</p><DIV Data-Embed class="x"><div>label</div><p>more</p></DIV><p>b</p>') == "a b"
    # A review: a template of the writer's that leaves out `</p>` (valid HTML) hid the rest of the post;
    # and a marked element whose end is never found hides nothing but is read.
    assert plain_text('<p class="vid" data-embed><a href="x">Watch</a>\n<p>First.</p><h2>Next</h2>') == "First. Next"
    assert plain_text('<div data-embed><div>label<p>rest</p>') == "label rest"


@pytest.mark.parametrize("raw_html", [False, True])
def test_an_executable_block_the_page_does_not_show_is_an_error_before_any_code_runs(site_dir, raw_html):
    # From a review: a block commented out (`<!-- ... -->`) or right under a `<div>` still ran and set
    # the value the prose published, while the page hid its code.
    if raw_html:
        with open(site_dir / "runpost.toml", "a") as settings:
            settings.write("raw_html = true\n")
    (site_dir / "content/posts/hidden.md").write_text(
        "---\ntitle: Hidden\ndate: 2024-05-01\n---\n```python {exec=true id=a}\nlr = 0.1\n```\n\n"
        "<!-- disabled\n```python {exec=true id=old}\nlr = 100.0\n```\n-->\n\n"
        "<div class=\"note\">\n```python {exec=true id=hid}\nlr = 5.0\n```\n</div>\n\n"
        "{{< note >}}\n```python {exec=true id=inner}\nx = 1\n```\n{{< /note >}}\n\n"
        "<!--\n{{< note >}}\n```python {exec=true id=in_comment}\nx = 2\n```\n{{< /note >}}\n-->\n\n"
        "{{< box >}}\n```python {exec=true id=in_box}\nx = 3\n```\n{{< /box >}}\n\n"
        "{{< mdbox >}}\n```python {exec=true id=in_mdbox}\nx = 4\n```\n{{< /mdbox >}}\n")
    # (a review: inside a shortcode that is itself in a comment, or whose template never shows what
    # it encloses, a block ran unseen too)
    (site_dir / "templates/shortcodes").mkdir(parents=True, exist_ok=True)
    (site_dir / "templates/shortcodes/box.html").write_text('<div class="box">static</div>\n')
    (site_dir / "templates/shortcodes/mdbox.html").write_text('<div class="box">{{ inner | markdownify }}</div>\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    hidden = "error: this executable block is not shown on the page (it sits in an HTML comment, a raw HTML block"
    assert f"content/posts/hidden.md:10:1: {hidden}" in result.stderr
    # With raw HTML kept, the block under the <div> is shown inside it: no error for it.
    assert (f"content/posts/hidden.md:16:1: {hidden}" in result.stderr) is not raw_html
    assert f"content/posts/hidden.md:29:1: {hidden}" in result.stderr and f"content/posts/hidden.md:36:1: {hidden}" in result.stderr
    # markdownify omits a block's HTML, unless the site keeps raw HTML.
    assert (f"content/posts/hidden.md:42:1: {hidden}" in result.stderr) is not raw_html
    assert result.stderr.count(hidden) == (3 if raw_html else 5)      # the first note's block is shown
    assert "running" not in result.stderr and "executed" not in result.stderr       # nothing ran


def test_a_block_in_a_shortcode_that_shows_it_is_no_error(site_dir):
    # A review of the check: a template writing inner through markdownify in one branch and plainly in
    # another, or a markdownify in a comment, was taken as hiding the block; and `x<y` in a {{% %}}'s
    # prose was read as a tag before its Markdown was rendered.
    templates = site_dir / "templates/shortcodes"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "branch.html").write_text("{% if params.md %}{{ inner | markdownify }}{% else %}<div>{{ inner }}</div>{% endif %}\n")
    (templates / "was.html").write_text("{# was: {{ inner | markdownify }} #}<div>{{ inner }}</div>\n")
    (templates / "box.html").write_text('<div class="box">{{ inner }}</div>\n')
    (site_dir / "content/posts/shown.md").write_text(
        "---\ntitle: Shown\ndate: 2024-05-01\n---\n{{< branch >}}\n```python {exec=true id=a}\nprint('MARK-A')\n```\n{{< /branch >}}\n\n"
        "{{< was >}}\n```python {exec=true id=b}\nprint('MARK-B')\n```\n{{< /was >}}\n\n"
        "{{% box %}}\nThe loop stops once x<y, as `<!--` starts a comment.\n\n```python {exec=true id=c}\nprint('MARK-C')\n```\n{{% /box %}}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = (site_dir / "site/posts/shown/index.html").read_text()
    assert all(mark in page for mark in ("MARK-A", "MARK-B", "MARK-C"))


# ---------------------------------------------------------------- contents list

def test_toc_lists_h2_and_h3_headings_with_their_ids():
    from runpost.site.views import table_of_contents

    content = '<h2 id="a">A <em>b</em></h2><p>x</p><h3 id="c">C &amp; D</h3><h4 id="e">E</h4>'
    assert table_of_contents(content) == [{"level": 2, "id": "a", "text": "A b"}, {"level": 3, "id": "c", "text": "C & D"}]


def test_toc_is_a_labelled_nav_of_links_on_a_post_with_toc_true(site_dir):
    assert run_build(cwd=site_dir).returncode == 0
    page = (site_dir / "site/posts/bundle-post/index.html").read_text()
    assert '<nav class="toc" id="TableOfContents" aria-label="Contents">' in page
    assert '<a href="#the-dot">The dot</a>' in page and '<a href="#its-size">Its size</a>' in page
    assert 'aria-label="Contents"' not in (site_dir / "site/posts/first-post/index.html").read_text()


def test_site_toc_min_headings_gives_long_posts_a_toc_unless_the_post_says_false(site_dir):
    config = site_dir / "runpost.toml"
    config.write_text(config.read_text() + "\ntoc_min_headings = 2\n")
    (site_dir / "content/posts/long.md").write_text(
        "---\ntitle: Long\ndate: 2024-05-01\n---\n## One\n\n## Two\n")
    (site_dir / "content/posts/short.md").write_text("---\ntitle: Short\ndate: 2024-05-01\n---\n## One\n")
    (site_dir / "content/posts/off.md").write_text(
        "---\ntitle: Off\ndate: 2024-05-01\ntoc: false\n---\n## One\n\n## Two\n")
    assert run_build(cwd=site_dir).returncode == 0
    has_toc = {name: 'aria-label="Contents"' in (site_dir / f"site/posts/{name}/index.html").read_text()
               for name in ("long", "short", "off")}
    assert has_toc == {"long": True, "short": False, "off": False}


def test_home_and_tag_pages_are_paginated_as_hugo_does_and_a_template_without_paginator_is_one_page(site_dir):
    config = site_dir / "runpost.toml"
    config.write_text(config.read_text() + "\npaginate = 2\n")
    for day in range(1, 4):
        (site_dir / f"content/posts/extra-{day}.md").write_text(
            f"---\ntitle: Extra {day}\ndate: 2024-06-0{day}\ntags: [python]\n---\nText {day}.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr          # every pager link leads to a page that exists
    site = site_dir / "site"
    titles = lambda page: re.findall(r'class="p-name u-url" href="[^"]*">([^<]*)<', page.read_text())
    home = [titles(site / "index.html"), titles(site / "page/2/index.html"), titles(site / "page/3/index.html")]
    assert home == [["Extra 3", "Extra 2"], ["Extra 1", "A bundle post"], ["First post: “quotes” &amp; &lt;tags&gt;"]]
    assert not (site / "page/4").exists()
    # As Hugo writes it: page/1/ of each paginated list sends the reader to the list's own URL.
    assert '<meta http-equiv="refresh" content="0; url=../../">' in (site / "page/1/index.html").read_text()
    assert '<meta http-equiv="refresh" content="0; url=../../">' in (site / "tags/python/page/1/index.html").read_text()
    assert titles(site / "posts/page/3/index.html") == ["First post: “quotes” &amp; &lt;tags&gt;"]   # Hugo's /posts/
    second = (site / "page/2/index.html").read_text()
    assert '<a class="pager__prev" rel="prev" href="../../">' in second and 'rel="next" href="../3/"' in second
    assert "Page 2 of 3" in second and "<title>Page 2 · Fixture Blog</title>" in second
    assert '<link rel="canonical" href="https://example.org/blog/page/2/">' in second
    tag = site / "tags/python"
    assert [len(titles(tag / "index.html")), len(titles(tag / "page/2/index.html"))] == [2, 2]
    assert "<title>Posts tagged “python” · Page 2 · Fixture Blog</title>" in (tag / "page/2/index.html").read_text()
    assert "/page/" not in (site / "sitemap.xml").read_text()      # as in Hugo: pager pages are not listed
    # A site's own home.html that lists `posts` (not `paginator.posts`) keeps one page with every post.
    (site_dir / "templates").mkdir()
    (site_dir / "templates/home.html").write_text("{% for post in posts %}<p>{{ post.title }}</p>{% endfor %}")
    assert run_build(cwd=site_dir).returncode == 0
    assert (site / "index.html").read_text().count("<p>") == 5 and not (site / "page").exists()


def test_a_link_to_a_lists_page_1_works_as_in_hugo_and_its_anchor_is_looked_for_on_the_list(site_dir):
    # Hugo writes <list>/page/1/ (a redirect to the list) for every paginated list; themes and
    # posts link to it. An anchor there is the list's.
    post = site_dir / "content/posts/first-post.md"
    post.write_text(post.read_text() + "\n[Home](/page/1/), [all](/posts/page/1/), [tag](/tags/python/page/1/).\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert "url=../../\"" in (site_dir / "site/posts/page/1/index.html").read_text()
    post.write_text(post.read_text() + "\n[Gone](/page/1/#nowhere), [no pager](/tags/page/1/).\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "'/page/1/#nowhere': /page/1/ (an old address of /) has no element with id 'nowhere'" in result.stderr
    assert "'/tags/page/1/' does not exist in the site" in result.stderr     # the tags index is one page
    # A post whose old address it is keeps it (runpost redirects from a post's `url`).
    (site_dir / "content/posts/pager.md").write_text("---\ntitle: Pager\ndate: 2024-01-01\nurl: /page/1/\n---\nMine.\n")
    post.write_text(post.read_text().replace(", [no pager](/tags/page/1/)", "").replace("#nowhere", ""))
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert 'url=../../posts/pager/"' in (site_dir / "site/page/1/index.html").read_text()


def test_a_headless_bundle_is_not_published_listed_or_linkable_as_in_hugo(site_dir):
    hidden = site_dir / "content/posts/hidden"
    hidden.mkdir()
    (hidden / "index.md").write_text("---\ntitle: Hidden\ndate: 2024-01-01\nheadless: true\ntags: [python]\n---\nSecret words.\n")
    (hidden / "note.txt").write_text("secret file")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert "left out: 1 headless post (headless: true)" in result.stderr
    site = site_dir / "site"
    assert not (site / "posts/hidden").exists()
    assert not [path for path in site.rglob("*") if path.is_file() and b"Secret words" in path.read_bytes()]
    post = site_dir / "content/posts/first-post.md"
    post.write_text(post.read_text() + "\n[hidden](/posts/hidden/)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "that post is headless (headless: true" in result.stderr, result.stderr


def test_the_sites_own_robots_404_nojekyll_and_cname_in_static_are_published_as_they_are(site_dir):
    # Hugo writes none of these unless asked (or from a layout): Hugo sites keep their own in static/.
    static = site_dir / "static"
    own = {"robots.txt": "User-agent: *\nDisallow: /drafts/\n", "404.html": "<h1>Lost</h1>\n", ".nojekyll": "",
           "CNAME": "blog.example.org\n"}
    for name, text in own.items():
        (static / name).write_text(text)
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert {name: (site_dir / "site" / name).read_text() for name in own} == own
    config = site_dir / "runpost.toml"
    config.write_text(config.read_text() + 'cname = "blog.example.org"\n')
    assert run_build(cwd=site_dir).returncode == 0          # the same domain twice: one file
    (static / "CNAME").write_text("other.example.org\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "static/CNAME: error: static/CNAME and the cname of runpost.toml both write /CNAME" \
        in result.stderr, result.stderr
    (static / "CNAME").unlink()
    (static / "sitemap.xml").write_text("<urlset/>")       # what runpost makes from every post stays its own
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "static/sitemap.xml and a generated page both write /sitemap.xml" in result.stderr


def test_files_under_content_outside_bundles_are_published_where_they_lie_as_in_hugo(site_dir):
    content = site_dir / "content"
    (content / "images").mkdir()
    (content / "images/chart.png").write_bytes(b"not really a png")
    (content / "posts/first-post").mkdir()
    (content / "posts/first-post/diagram.svg").write_text("<svg/>")      # beside a post that is a file
    (content / "posts/notes.txt").write_text("notes")
    (content / "posts/mylib/__pycache__").mkdir(parents=True)
    for hidden in ("images/.secret", "images/chart.png~", "images/#chart.png#", "posts/.env",
                   "posts/mylib/__pycache__/x.cpython-311.pyc"):
        (content / hidden).write_text("stays home")
    (content / "posts/bundle-post/extra.txt").write_text("the bundle's own")
    post = content / "posts/first-post.md"
    post.write_text(post.read_text() + "\n![c](/images/chart.png) ![d](diagram.svg) [n](../notes.txt)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr          # no false "does not exist" for files that are there
    site = site_dir / "site"
    assert (site / "images/chart.png").read_bytes() == b"not really a png"
    assert (site / "posts/first-post/diagram.svg").read_text() == "<svg/>"
    assert (site / "posts/notes.txt").read_text() == "notes"
    assert not [path for path in site.rglob("*") if path.is_file() and path.read_bytes() == b"stays home"]
    assert (site / "posts/bundle-post/extra.txt").read_text() == "the bundle's own"
    (site_dir / "static/notes.txt").write_text("twice")
    (content / "notes.txt").write_text("twice")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "content/notes.txt and static/notes.txt both write /notes.txt" in result.stderr


def test_a_heading_named_main_keeps_its_id_and_the_skip_link_still_lands_on_the_theme_main(site_dir):
    post = site_dir / "content/posts/first-post.md"
    post.write_text(post.read_text() + "\n## Main\n\nBack to [main](#main).\n")
    assert run_build(cwd=site_dir).returncode == 0
    page = (site_dir / "site/posts/first-post/index.html").read_text()
    ids = re.findall(r'\sid="([^"]*)"', page)
    assert ids.count("main") == 1 and '<h2 id="main">' in page and len(ids) == len(set(ids))
    skip = re.search(r'class="skip-link" href="#([^"]+)"', page).group(1)
    assert f'<main id="{skip}"' in page


def test_a_file_named_in_the_sites_language_is_the_post_of_that_name_as_in_hugo(site_dir):
    # Hugo reads hello.en.md and bundle/index.en.md in its default language (en) as hello and bundle;
    # a code that is not the site's language stays part of the name (bonjour.fr.md: /posts/bonjour.fr/).
    posts = site_dir / "content/posts"
    (posts / "hello.en.md").write_text("---\ntitle: Hello\ndate: 2024-01-01\n---\nTo [the bundle](../trip/), [fr](../bonjour.fr/).\n")
    (posts / "bonjour.fr.md").write_text("---\ntitle: Bonjour\ndate: 2024-01-01\n---\nBack to [hello](../hello/).\n")
    (posts / "trip").mkdir()
    (posts / "trip/index.en.md").write_text("---\ntitle: Trip\ndate: 2024-01-01\n---\n![a map](map.png)\n")
    shutil.copy(site_dir / "static/images/square.png", posts / "trip/map.png")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert "not published" not in result.stderr
    site = site_dir / "site/posts"
    assert {"hello", "bonjour.fr", "trip"} <= {path.name for path in site.iterdir()}
    assert (site / "trip/map.png").is_file() and not (site / "hello.en").exists()
    config = site_dir / "runpost.toml"
    config.write_text(config.read_text() + 'language = "de"\n')       # now .en is part of the name
    (posts / "bonjour.fr.md").write_text("---\ntitle: Bonjour\ndate: 2024-01-01\n---\nBack to [hello](../hello.en/).\n")
    (posts / "hello.en.md").write_text("---\ntitle: Hello\ndate: 2024-01-01\n---\nHi.\n")
    (posts / "trip/index.en.md").rename(posts / "trip/index.de.md")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert (site / "hello.en/index.html").is_file() and (site / "trip/index.html").is_file()


def test_a_ref_to_a_draft_or_future_post_says_why_it_is_not_there(site_dir):
    (site_dir / "content/posts/refs.md").write_text(
        "---\ntitle: Refs\ndate: 2024-01-01\n---\n{{< ref \"draft-post\" >}} {{< relref \"future-post.md\" >}} {{< ref \"nope\" >}}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "refs.md:5:1: error: ref target 'draft-post' is not published: that post is a draft (--drafts builds drafts)" \
        in result.stderr, result.stderr
    assert "relref target 'future-post.md' is not published: that post is dated in the future (--future builds it)" in result.stderr
    assert "ref target 'nope' is not a post or list page of the site" in result.stderr
    assert run_build("--drafts", "--future", cwd=site_dir).returncode == 1         # only 'nope' is left
    (site_dir / "content/posts/refs.md").write_text("---\ntitle: Refs\ndate: 2024-01-01\n---\n{{< ref \"draft-post\" >}}\n")
    assert run_build("--drafts", cwd=site_dir).returncode == 0


def test_a_post_file_and_a_bundle_of_one_name_are_an_error_not_one_results_folder(site_dir):
    # x.md and x/index.md with different slugs shared build/x/: each build ran both and each undid
    # the other's results, and --frozen always failed (found by review).
    posts = site_dir / "content/posts"
    (posts / "x.md").write_text("---\ntitle: One\ndate: 2024-01-01\nslug: one\n---\nOne.\n")
    (posts / "x").mkdir()
    (posts / "x/index.md").write_text("---\ntitle: Two\ndate: 2024-01-01\nslug: two\n---\nTwo.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/x.md:1:1: error: post 'x' is also content/posts/x/index.md: both would keep their " \
           "results in build/x/; rename one" in result.stderr, result.stderr


def test_nothing_is_published_at_a_git_path_which_would_stop_every_later_build(site_dir):
    # url: /.git/ published site/.git/: the next build took the site for a repository and refused
    # to replace it, even after the alias was removed (found by review).
    post = site_dir / "content/posts/g.md"
    post.write_text("---\ntitle: G\ndate: 2024-01-01\nurl: /.git/\naliases: [/.Git/x]\n---\nG.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "g.md:4:1: error: url '/.git/' would publish /.git/index.html: a site " \
        "never holds a '.git'" in result.stderr and "alias '/.Git/x' would publish" in result.stderr, result.stderr
    post.write_text("---\ntitle: G\ndate: 2024-01-01\n---\nG.\n\n```python {exec=true}\nimport runpost\n"
                    "open(runpost.site_file('.git/HEAD'), 'w').write('ref')\n```\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "would publish /.git/HEAD" in result.stderr, result.stderr
    assert not (site_dir / "site/.git").exists()
    post.unlink()
    assert run_build(cwd=site_dir).returncode == 0


def test_aliases_and_url_become_redirect_pages_to_the_post_as_in_hugo(site_dir):
    post = site_dir / "content/posts/moved.md"
    post.write_text("---\ntitle: Moved\ndate: 2024-01-01\naliases: [old-name, /2019/01/moved.html, /a/b/, /a/c/, /old.htm]\n"
                    "url: /2024/moved/\n---\nSee [the old address](/2024/moved/) and [all posts](/posts/).\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr           # a link to an old address is a link that works
    site = site_dir / "site"
    redirects = {path: (site / path).read_text() for path in
                 ("posts/old-name/index.html", "2019/01/moved.html", "a/b/index.html", "a/c/index.html",
                  "old.htm/index.html", "2024/moved/index.html")}      # only .html is a file name, as in Hugo
    assert '<meta http-equiv="refresh" content="0; url=../../posts/moved/">' in redirects["a/b/index.html"]
    assert '<meta http-equiv="refresh" content="0; url=../../posts/moved/">' in redirects["2019/01/moved.html"]
    assert 'content="0; url=../moved/"' in redirects["posts/old-name/index.html"]
    assert all('<link rel="canonical" href="https://example.org/blog/posts/moved/">' in page
               and '<meta name="robots" content="noindex">' in page for page in redirects.values())
    assert "/a/b/" not in (site / "sitemap.xml").read_text()
    # An alias where a page is would replace it: an error at its line, and the site is left as it was.
    # So would one whose path needs a folder where a file is (the feed, a static file, the marker).
    post.write_text("---\ntitle: Moved\ndate: 2024-01-01\n"
                    "aliases: [/posts/first-post/, /index.xml/, /css/style.css/, /.runpost-site/, /a.html/b/, /a.html]"
                    "\n---\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line.split(": error: ")[1] for line in result.stderr.splitlines() if ": error: " in line] == [
        f"alias '{alias}' would replace {what}" for alias, what in [
            ("/posts/first-post/", "a page or file of the site (/posts/first-post/index.html)"),
            ("/index.xml/", "a page or file of the site (/index.xml)"),
            ("/css/style.css/", "a page or file of the site (/css/style.css)"),
            ("/.runpost-site/", "runpost's marker file (/.runpost-site)"),
            ("/a.html", "a folder the alias of content/posts/moved.md needs (/a.html)")]]
    # A static file where the site needs a folder: the posts' pages would have replaced it, or it them.
    post.unlink()
    (site_dir / "static/posts").write_text("x")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "error: a generated page needs /posts/ to be a folder, but static/posts writes a file there" in result.stderr
    assert (site / "a/b/index.html").exists()


def test_the_themes_dark_scheme_changes_colours_only():
    # test_browser.py runs axe's colour rules alone in the dark scheme (all of its rules run in
    # the light one): that holds while the dark scheme's CSS sets colours and nothing else.
    css = (REPO / "runpost" / "theme" / "static" / "css" / "style.css").read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"@media \(prefers-color-scheme: dark\)\s*\{", css):
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            end += 1
        blocks.append(re.sub(r"/\*.*?\*/", "", css[match.end():end - 1], flags=re.S))
    assert blocks
    declarations = [body for block in blocks for body in re.findall(r"\{([^{}]*)\}", block)]
    properties = {part.split(":", 1)[0].strip() for body in declarations for part in body.split(";") if part.strip()}
    colour = lambda name: name.startswith("--") or name in ("color", "background-color", "border-color", "color-scheme")
    assert properties and all(map(colour, properties)), sorted(properties)


def test_tags_get_hugos_pages_each_post_once_and_urls_are_encoded_in_the_sitemap(site_dir):
    # C, C++ and C# were one page, /tags/c/, listing a post three times; Python and python twice.
    (site_dir / "content/posts/langs.md").write_text(
        "---\ntitle: Languages\ndate: 2024-06-01\ntags: [C, C++, C#, Python, python, node.js]\n---\nText.\n")
    (site_dir / "content/posts/Café Notes.md").write_text("---\ntitle: Café\ndate: 2024-06-02\n---\nText.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr          # every tag link leads to its page
    site = site_dir / "site"
    listed = lambda tag: re.findall(r'class="p-name u-url" href="([^"]*)"', (site / "tags" / tag / "index.html").read_text())
    assert [listed(tag) for tag in ("c", "c++", "csharp", "node.js")] == [["../../posts/langs/"]] * 4
    assert listed("python").count("../../posts/langs/") == 1
    assert 'href="../../tags/csharp/" rel="tag">C#<' in (site / "posts/langs/index.html").read_text()
    sitemap = (site / "sitemap.xml").read_text()
    assert "<loc>https://example.org/blog/posts/caf%C3%A9-notes/</loc>" in sitemap
    assert "<loc>https://example.org/blog/tags/c++/</loc>" in sitemap

def test_each_tag_has_hugos_feed_of_its_newest_posts_linked_from_its_page(site_dir):
    # Hugo writes /tags/<tag>/index.xml, where planets and feed readers subscribe to one topic;
    # a link to one was a missing-target error.
    from xml.etree import ElementTree
    atom = "{http://www.w3.org/2005/Atom}"
    posts = site_dir / "content" / "posts"
    for day in range(1, 5):
        (posts / f"go-{day}.md").write_text(f"---\ntitle: Go {day} <&>\ndate: 2024-06-0{day}\ntags: [Go Lang]\n---\n"
                                            f"Text {day}, see [the feed](/tags/go-lang/index.xml).\n")
    with (site_dir / "runpost.toml").open("a", encoding="utf-8") as settings:
        settings.write("feed_limit = 3\n")
    result = run_build("--base-url", "https://example.org/blog/", cwd=site_dir)
    assert result.returncode == 0, result.stderr          # the link to the feed leads somewhere
    site = site_dir / "site"
    feed = ElementTree.parse(site / "tags/go-lang/index.xml").getroot()
    assert feed.findtext(f"{atom}title").startswith("Posts tagged “Go Lang” · ")
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{atom}link")}
    assert links == {"self": "https://example.org/blog/tags/go-lang/index.xml", "alternate": "https://example.org/blog/tags/go-lang/"}
    # Newest first, feed_limit of them, in full.
    entries = feed.findall(f"{atom}entry")
    assert [entry.findtext(f"{atom}title") for entry in entries] == ["Go 4 <&>", "Go 3 <&>", "Go 2 <&>"]
    assert "Text 4" in entries[0].findtext(f"{atom}content")
    # Every tag gets one, holding only its own posts.
    for tag in (site / "tags").iterdir():
        if tag.is_dir():
            titles = [entry.findtext(f"{atom}title") for entry in ElementTree.parse(tag / "index.xml").getroot().iter(f"{atom}entry")]
            listed = (tag / "index.html").read_text(encoding="utf-8")
            assert titles and all(title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in listed for title in titles)
    page = (site / "tags/go-lang/index.html").read_text(encoding="utf-8")
    assert '<link rel="alternate" type="application/atom+xml" title="Posts tagged “Go Lang” · ' in page
    assert 'href="index.xml">Feed</a>' in page
    assert "tags/go-lang/index.xml" not in (site / "sitemap.xml").read_text(encoding="utf-8")


def test_a_feed_template_that_lists_every_tag_follows_a_tag_another_post_adds(site_dir):
    # A feed may show the site-wide `tags`: then no feed is remembered by its own posts alone.
    (site_dir / "templates").mkdir(exist_ok=True)
    (site_dir / "templates/feed.xml").write_text(
        "<feed>{% for tag in tags %}<t>{{ tag.name }}</t>{% endfor %}{% for post in posts %}<e>{{ post.title }}</e>{% endfor %}</feed>\n")
    assert run_build(cwd=site_dir).returncode == 0
    # An old post with a new tag: the python feed's own posts and the site's date stay the same.
    (site_dir / "content/posts/old.md").write_text("---\ntitle: Old\ndate: 2001-01-01\ntags: [zebra]\n---\nText.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert "<t>zebra</t>" in (site_dir / "site/tags/python/index.xml").read_text(encoding="utf-8")


def test_tags_of_symbols_only_each_get_their_own_page(site_dir):
    # `#` and `!!` were both /tags/tag/: one page, titled after one of them, listing the posts of both.
    posts = site_dir / "content" / "posts"
    (posts / "hash.md").write_text("---\ntitle: Hash\ndate: 2024-06-01\ntags: ['#', 'tag']\n---\nText.\n")
    (posts / "bang.md").write_text("---\ntitle: Bang\ndate: 2024-06-02\ntags: ['!!', '🚀']\n---\nText.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = lambda tag: (site_dir / "site" / "tags" / tag / "index.html").read_text()
    listed = lambda tag: re.findall(r'class="p-name u-url" href="([^"]*)"', page(tag))
    assert [listed(tag) for tag in ("number-sign", "tag", "exclamation-mark-exclamation-mark", "rocket")] == \
        [["../../posts/hash/"], ["../../posts/hash/"], ["../../posts/bang/"], ["../../posts/bang/"]]
    assert "Posts tagged “#”" in page("number-sign") and "Posts tagged “!!”" in page("exclamation-mark-exclamation-mark")
    assert 'href="../../tags/number-sign/" rel="tag">#<' in (site_dir / "site/posts/hash/index.html").read_text()



def test_a_views_absolute_content_is_made_only_when_a_template_reads_it(monkeypatch):
    import datetime as dt

    from markupsafe import Markup

    from runpost.site import views

    made = []
    original = views.rewrite_urls
    monkeypatch.setattr(views, "rewrite_urls", lambda html, change: made.append(html) or original(html, change))
    view = views.PostView(title="t", url="/posts/a/", date=dt.datetime(2020, 1, 1), lastmod=None, description="",
                          summary="", content=Markup('<p><a href="../b/">b</a> <img src="/i.png"></p>'), tags=[],
                          images=[], reading_minutes=1, overrides={}, draft=False, base_url="https://example.org/blog/")
    assert made == []            # the feed reads it for its newest posts only: no cost for the others
    assert view.content_absolute == Markup('<p><a href="https://example.org/blog/posts/b/">b</a> '
                                           '<img src="https://example.org/blog/i.png"></p>')
    assert view.content_absolute is view.content_absolute and len(made) == 1
    # The copies that link neighbours (and serve's next rebuild) share it: made once per content.
    import dataclasses
    assert dataclasses.replace(view, prev=None).content_absolute is view.content_absolute and len(made) == 1


def test_xml_pages_lose_exactly_the_characters_xml_forbids_however_the_quick_test_reads_them():
    # finish_text answers most feeds and sitemaps with C-speed tests (_xml_safe) instead of the
    # regex: both must agree on every character, alone and among others, ASCII or not.
    from runpost.site.finish import _NOT_XML, _xml_safe, finish_text

    edges = [*range(0x100), *range(0xD7F0, 0xE010), *range(0xFFF0, 0x10010), *range(0x10000, 0x110000, 0x3FF), 0x10FFFF]
    for code in edges:
        for text in (chr(code), "plain " + chr(code), "é " + chr(code)):
            assert _xml_safe(text) == (_NOT_XML.search(text) is None), hex(code)
    feed = "<feed>a\x00b\x1bc\ud800d\ufffee\uffff f\t\n\r é 😀</feed>"
    assert finish_text("index.xml", feed) == "<feed>abcde f\t\n\r é 😀</feed>"
    assert finish_text("sitemap.xml", "<urlset>é</urlset>") == "<urlset>é</urlset>"


def test_w3c_datetime_writes_each_moment_with_its_own_offset_though_equal_ones_are_remembered():
    import datetime as dt

    from runpost.site.environment import make_environment

    class Berlin(dt.tzinfo):      # October's last Sunday, 2-3 am: the hour repeated when clocks go back
        def utcoffset(self, when):
            return dt.timedelta(hours=1 if when.fold else 2)

        def dst(self, when):
            return dt.timedelta(hours=0 if when.fold else 1)

    w3c = make_environment([]).filters["w3c_datetime"]
    first = dt.datetime(2024, 10, 27, 2, 30, tzinfo=Berlin())
    second = first.replace(fold=1)
    assert first == second and (w3c(first), w3c(second)) == ("2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00")
    noon = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    same_moment = dt.datetime(2024, 1, 1, 11, tzinfo=dt.timezone.utc)
    assert (w3c(noon), w3c(same_moment)) == ("2024-01-01T12:00:00+01:00", "2024-01-01T11:00:00+00:00")
    assert w3c(dt.datetime(2024, 1, 1)) == "2024-01-01T00:00:00Z"
    # `date: ...T18:30:00.123Z` gave datetime="...00.123000+00:00": HTML allows at most three digits.
    assert w3c(dt.datetime(2024, 1, 1, 18, 30, 0, 123456, tzinfo=dt.timezone.utc)) == "2024-01-01T18:30:00.123+00:00"

    class Unhashable(dt.tzinfo):    # python-dateutil's zones cannot be hashed: written, not remembered
        __hash__ = None

        def utcoffset(self, when):
            return dt.timedelta(hours=1)

    assert w3c(dt.datetime(2024, 1, 1, tzinfo=Unhashable())) == "2024-01-01T00:00:00+01:00"


def test_hugos_other_page_formats_under_content_are_not_published_as_files(site_dir):
    # plans.html with front matter (a draft), notes.org, x.adoc were copied as they are: a draft's
    # source on the web, front matter and all (found by review). HTML without front matter is a file.
    posts = site_dir / "content/posts"
    (posts / "plans.html").write_text("---\ntitle: secret plans\ndraft: true\n---\n<p>unannounced</p>\n")
    (posts / "notes.org").write_text("#+draft: true\nsecret\n")
    (posts / "x.adoc").write_text("= X\nsecret\n")
    (posts / "plain.html").write_text("<p>plain</p>\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    site = site_dir / "site/posts"
    assert not (site / "plans.html").exists() and not (site / "notes.org").exists() and not (site / "x.adoc").exists()
    assert (site / "plain.html").read_text() == "<p>plain</p>\n"
    assert result.stderr.count("not published: a page Hugo renders from this format") == 3


def test_a_language_named_post_is_called_by_its_files_name_too_and_the_suffix_is_case_sensitive(site_dir):
    posts = site_dir / "content/posts"
    (posts / "hello.en.md").write_text("---\ntitle: Hello\ndate: 2024-01-01\n---\nHi.\n")
    (posts / "hi.EN.md").write_text("---\ntitle: Hi\ndate: 2024-01-01\n---\nHi.\n")
    (posts / "r.md").write_text('---\ntitle: R\ndate: 2024-01-01\n---\n{{< relref "hello.en.md" >}} '
                                '{{< ref "posts/hello.en.md" >}} {{< ref "hello.en" >}} {{< ref "hi.EN" >}}\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = (site_dir / "site/posts/r/index.html").read_text()
    assert '<meta name="description" content="/posts/hello/ /posts/hello/ /posts/hello/ /posts/hi.en/">' in page


def write_project(root: Path, files: dict[str, str]) -> None:
    """A small project: each file at its path under `root` (runpost.toml with a title unless given)."""
    for name, text in {"runpost.toml": 'title = "T"\n', **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")

def test_with_no_post_published_the_footer_has_no_year_1970(tmp_path):
    # The site's date is its newest post's; with none it fell back to the epoch: "© 1970 Your Name".
    from conftest import run_build
    write_project(tmp_path, {"runpost.toml": 'title = "T"\nauthor = "Ann"\nbase_url = "https://example.org/"\n',
                             "content/posts/idea.md": "---\ntitle: I\ndate: 2024-01-01\ndraft: true\n---\nText.\n"})
    assert run_build(cwd=tmp_path).returncode == 0
    page = (tmp_path / "site/index.html").read_text(encoding="utf-8")
    assert "© Ann ·" in page and "1970" not in page


def test_the_not_found_page_writes_site_paths_from_the_base_path(tmp_path):
    # GitHub Pages serves 404.html at any missing URL (/blog/posts/old-name/): its page-relative
    # `css/theme.css` and `posts/` led under that URL (found by a theme author's review).
    from conftest import run_build
    write_project(tmp_path, {
        "content/posts/p.md": "---\ntitle: P\ndate: 2024-01-01\n---\nText.\n",
        "templates/404.html": '<!doctype html><html lang="en"><title>Not found</title><link rel="stylesheet" '
                              'href="/css/style.css"><a href="/posts/">all posts</a> <a href="/">home</a></html>\n'})
    for base in ("https://example.com/blog/", "https://example.com/"):
        assert run_build("--base-url", base, cwd=tmp_path).returncode == 0
        page = (tmp_path / "site/404.html").read_text(encoding="utf-8")
        root = "/blog" if "blog" in base else ""
        assert f'href="{root}/css/style.css"' in page and f'href="{root}/posts/"' in page and f'href="{root}/"' in page


def test_a_page_template_reads_a_posts_own_front_matter_keys_as_post_params(tmp_path):
    # A theme could not show a per-post cover or subtitle: post.params did not exist (found by a
    # theme author's review; shortcodes had page.params).
    from conftest import run_build
    write_project(tmp_path, {
        "content/posts/p.md": "---\ntitle: P\ndate: 2024-01-01\nsubtitle: Sub\nparams:\n  mood: calm\n---\nText.\n",
        "templates/post.html": '{% extends "base.html" %}{% block content %}<p class="x">{{ post.params.subtitle }} / '
                               '{{ post.params.mood }}</p>{% endblock %}\n'})
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '<p class="x">Sub / calm</p>' in (tmp_path / "site/posts/p/index.html").read_text(encoding="utf-8")


def test_a_shortcode_templates_error_names_its_line_in_the_project(tmp_path):
    # It named the template by its absolute path, without the line (a page template's names both).
    from conftest import run_build
    write_project(tmp_path, {
        "templates/shortcodes/callout.html": "<aside>\n{{ inner }}\n{{ params.type.nope() }}\n</aside>\n",
        "content/posts/c.md": '---\ntitle: C\ndate: 2024-01-01\n---\n\n{{< callout type="info" >}}x{{< /callout >}}\n'})
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1
    assert "content/posts/c.md:6:1: error: shortcode 'callout' failed: UndefinedError: 'str object' has no " \
           "attribute 'nope' (at templates/shortcodes/callout.html:3:1)" in result.stderr, result.stderr


def test_a_shortcode_template_sees_the_sites_settings_as_site(tmp_path):
    # '{{ site.title }}' in a shortcode was "'site' is undefined" (Hugo's shortcodes reach .Site).
    from conftest import run_build
    write_project(tmp_path, {
        "runpost.toml": 'title = "My blog"\nauthor = "Ann"\n[params]\nmotto = "Hi"\n',
        "templates/shortcodes/sig.html": '<p class="sig">{{ site.title }} / {{ site.author }} / {{ site.params.motto }}</p>',
        "content/posts/c.md": "---\ntitle: C\ndate: 2024-01-01\n---\n\n{{< sig >}}\n"})
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '<p class="sig">My blog / Ann / Hi</p>' in (tmp_path / "site/posts/c/index.html").read_text(encoding="utf-8")


def test_a_template_error_names_what_templates_see_not_pythons_classes():
    # "'runpost.site.views.PostView object' has no attribute 'nothing'" named a class of runpost's.
    import jinja2
    from runpost.site.environment import template_problem

    env = jinja2.Environment()
    from runpost.site.views import PostView
    import dataclasses
    fields = {field.name: None for field in dataclasses.fields(PostView) if field.default is dataclasses.MISSING
              and field.default_factory is dataclasses.MISSING}
    view = PostView(**fields)
    try:
        env.from_string("{{ post.nothing.x }}").render(post=view)
    except jinja2.UndefinedError as error:
        assert template_problem(error) == "UndefinedError: 'post' has no attribute 'nothing'"
    else:
        raise AssertionError("no error")


def test_a_bundle_file_the_posts_code_also_writes_is_an_error_unless_they_are_the_same(site_dir):
    # The code's fig.png replaced the author's in the site, silently (static/'s was an error).
    bundle = site_dir / "content/posts/drawn"
    bundle.mkdir()
    (bundle / "fig.png").write_bytes(b"the author's")
    (bundle / "index.md").write_text("---\ntitle: Drawn\ndate: 2024-01-01\n---\n\n```python {exec=true}\n"
                                     "open('fig.png', 'wb').write(b\"the code's\")\n```\n", encoding="utf-8")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and ("content/posts/drawn/fig.png: error: the post's code also writes fig.png, "
                                       "which would replace this file at /posts/drawn/fig.png; rename one of them") \
        in result.stderr, result.stderr
    (bundle / "fig.png").write_bytes(b"the code's")            # the very bytes: one file, no clash
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert (site_dir / "site/posts/drawn/fig.png").read_bytes() == b"the code's"


@pytest.mark.parametrize("named", ["slug: index.xml", "file"])
def test_a_post_whose_page_needs_a_folder_where_a_feed_is_is_an_error_at_the_post(site_dir, named):
    # `slug: index.xml` (or a file index.xml.md) was an error at an output path, posts/index.xml/index.html.
    name = "index.xml.md" if named == "file" else "clash.md"
    front = "" if named == "file" else "slug: index.xml\n"
    (site_dir / "content/posts" / name).write_text(f"---\ntitle: C\ndate: 2024-01-01\n{front}---\nText.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert (f"content/posts/{name}:1:1: error: the page of content/posts/{name} needs /posts/index.xml/ to be "
            "a folder, but a generated page writes a file there") in result.stderr, result.stderr


def test_an_in_page_link_in_a_feed_entry_leads_to_the_posts_page(site_dir):
    # From a review: `[setup](#setup)` and a footnote's `#fn:1` in a feed entry led to index.xml#setup.
    from conftest import run_build
    from runpost.config import load_config

    (site_dir / "content/posts/fn.md").write_text(
        "---\ntitle: Fn\ndate: 2030-01-06\n---\n\nSee [setup](#setup) and a note[^1].\n\n## Setup\n\n[^1]: The note.\n")
    result = run_build("--future", cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = load_config(site_dir).base_url.rstrip("/") + "/posts/fn/"
    feed = (site_dir / "site/index.xml").read_text(encoding="utf-8")
    for anchor in ("#setup", "#fn:1", "#fnref:1"):
        assert f"href=&#34;{page}{anchor}&#34;" in feed, anchor
    assert "href=&#34;#" not in feed


@pytest.mark.parametrize("alias", ["/CNAME", "/css/syntax.css", "/.nojekyll"])
def test_an_alias_where_a_file_written_last_goes_is_an_error_at_the_alias(site_dir, alias):
    # From a review: `aliases: ["/CNAME"]` with a cname was reported at CNAME/index.html, not at the post.
    from conftest import run_build

    settings = site_dir / "runpost.toml"
    settings.write_text('cname = "blog.example.com"\n' + settings.read_text())
    (site_dir / "content/posts/al.md").write_text(f'---\ntitle: Al\ndate: 2024-01-02\naliases: ["{alias}"]\n---\n\nHi.\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        f"content/posts/al.md:4:1: error: alias '{alias}' would replace a page or file of the site ({alias})"]


def test_an_svgs_own_reference_in_a_feed_entry_stays_in_the_entry(site_dir):
    # From a review: the feed's `#x` -> page#x rewrite made an inline SVG's <use href="#dot"> point at
    # the HTML page, where the icon is not drawn; only links (<a>, <area>) lead to the page.
    from conftest import run_build

    settings = site_dir / "runpost.toml"
    settings.write_text(settings.read_text() + "\nraw_html = true\n")
    (site_dir / "content/posts/svg.md").write_text(
        '---\ntitle: Svg\ndate: 2030-01-07\n---\n\nAn icon: <svg width="20" height="20"><defs><symbol id="dot">'
        '<circle cx="5" cy="5" r="4"/></symbol></defs><use href="#dot"/></svg> and <a href=#dot>u</a>.\n')
    result = run_build("--future", cwd=site_dir)
    assert result.returncode == 0, result.stderr
    feed = (site_dir / "site/index.xml").read_text(encoding="utf-8")
    assert "&lt;use href=&#34;#dot&#34;/&gt;" in feed
    assert "&lt;a href=https://example.org/blog/posts/svg/#dot&gt;" in feed

from pathlib import Path

import pytest

from runpost.config import load_config
from runpost.errors import BuildErrors
from runpost.site.links import check_links, post_targets, to_site_path
from runpost.content.load import parse_post
from runpost.post import Site

TEXT = """---
title: Links
date: 2020-01-01
images:
  - /img/preview.png
---
See [a page](/posts/other/) and ![pic](/img/a.png "title").
A relative ![dot](dot.png) and [external](https://example.org/) and [top](#top).

```
![in code](/not/checked.png)
```

[ref]: /img/b.png
{{< figure src="/img/c.png" >}}
Use [the reference][ref].
"""


def post():
    return parse_post(Path("content/posts/p/index.md"), TEXT, Path("content/posts/p"))


def test_source_targets_have_lines_and_columns():
    found = [(target.line, target.column, target.target) for target in post_targets(post())]
    assert found == [
        (5, 5, "/img/preview.png"),
        (7, 14, "/posts/other/"),
        (7, 40, "/img/a.png"),
        (8, 19, "dot.png"),
        (8, 43, "https://example.org/"),
        (8, 75, "#top"),
        (14, 8, "/img/b.png"),
        (15, 17, "/img/c.png"),
    ]


def test_relative_targets_resolve_against_the_page():
    assert to_site_path("dot.png", "/posts/p/") == "/posts/p/dot.png"
    assert to_site_path("../q/", "/posts/p/") == "/posts/q/"
    assert to_site_path("https://example.org/", "/posts/p/") is None
    assert to_site_path("#top", "/posts/p/") is None


def test_missing_targets_are_errors_at_their_lines(tmp_path):
    present = tmp_path / "f"
    present.write_bytes(b"")
    # The finished page holds the figure's <img> (a shortcode's output is not in the post's Markdown).
    site = Site(pages={"posts/p/index.html": '<img src="/img/c.png">', "posts/other/index.html": ""},
                files={"img/a.png": present, "posts/p/dot.png": present})
    with pytest.raises(BuildErrors) as caught:
        check_links(site, [post()], load_config(tmp_path))
    assert [str(error) for error in caught.value.errors] == [
        "content/posts/p/index.md:5:5: error: '/img/preview.png' does not exist in the site",
        "content/posts/p/index.md:14:8: error: '/img/b.png' does not exist in the site",
        "content/posts/p/index.md:15:17: error: '/img/c.png' does not exist in the site",
    ]


def test_broken_links_made_by_templates_are_reported_per_page(tmp_path):
    site = Site(pages={"index.html": '<a href="posts/missing/">x</a><img src="logo.png">'})
    with pytest.raises(BuildErrors) as caught:
        check_links(site, [], load_config(tmp_path))
    assert [str(error) for error in caught.value.errors] == [
        "index.html: error: page /index.html links to /posts/missing/, which the site does not contain",
        "index.html: error: page /index.html links to /logo.png, which the site does not contain",
    ]


def test_seed_article_alone_gives_one_error_per_missing_image(tmp_path):
    # The seed article's three images are made by its code; rendered as a plain
    # post (nothing executed) each one is reported at its own line.
    import shutil
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "fixtures" / "seed" / "article.md", posts / "rnn.md")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/rnn.md:6:5: error: '/200502_RNN/rnn_layer_example.png' does not exist in the site",
        "content/posts/rnn.md:56:26: error: '/200502_RNN/fashion_mnist_clothing.png' does not exist in the site",
        "content/posts/rnn.md:62:12: error: '/200502_RNN/compare_acc_prog.png' does not exist in the site",
    ]
    assert not (tmp_path / "site").exists()


def test_relative_targets_name_the_resolved_path(tmp_path):
    present = tmp_path / "f"
    present.write_bytes(b"")
    text = "---\ntitle: t\ndate: 2020-01-01\n---\n![x](missing.png)\n"
    post = parse_post(Path("content/posts/p/index.md"), text, Path("content/posts/p"))
    with pytest.raises(BuildErrors) as caught:
        check_links(Site(pages={"posts/p/index.html": ""}), [post], load_config(tmp_path))
    assert str(caught.value.errors[0]) == ("content/posts/p/index.md:5:6: error: 'missing.png' "
                                           "(that is /posts/p/missing.png) does not exist in the site")


LOOKALIKES = """---
title: Not links
date: 2020-01-01
---
A footnote[^1], an escaped \\[bracket\\](nope.png), \\![not an image\\](x.png), code `![x](/in-code.png)` and
prose that says src="/prose.png" without a tag.

[^1]: See the appendix, which does not exist.

<img src="/real.png" alt="r"> and {{< figure src="/fig.png" >}}
[![thumb](/thumb.png)](/full.png)
"""


def test_footnotes_escaped_brackets_code_spans_and_prose_are_not_link_targets():
    post = parse_post(Path("content/posts/p/index.md"), LOOKALIKES, Path("content/posts/p"))
    assert [target.target for target in post_targets(post)] == ["/real.png", "/fig.png", "/thumb.png", "/full.png"]


def test_entity_encoded_mailto_links_are_not_internal(tmp_path):
    html = '<a href="&#109;&#97;&#105;&#108;&#116;&#111;&#58;me&#64;example.com">me</a>'
    check_links(Site(pages={"index.html": html}), [], load_config(tmp_path))


# ---------------------------------------------------------------- what the page really links to

def build_errors(root: Path, body: str, raw_html: bool = True) -> list[str]:
    """Errors of the link check on a one-post site, each as 'line:col: error: message'."""
    from runpost.content.load import load_posts
    from runpost.content.scan import scan_post
    from runpost.markup.markdown import render_markdown
    from runpost.markup.shortcodes import available_shortcodes, parse_shortcodes
    from runpost.site.pages import render_site

    (root / "runpost.toml").write_text(f"raw_html = {'true' if raw_html else 'false'}\n")
    bundle = root / "content" / "posts" / "p"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "index.md").write_text("---\ntitle: t\ndate: 2020-01-01\n---\n" + body)
    config = load_config(root)
    posts = [scan_post(post) for post in load_posts(config)]
    posts = [render_markdown(parse_shortcodes(post, available_shortcodes(config)), config) for post in posts]
    try:
        check_links(render_site(posts, config), posts, config)
    except BuildErrors as caught:
        return [str(error).split("index.md:", 1)[1] for error in caught.errors]
    return []


def test_link_inside_highlight_block_is_not_checked(tmp_path):
    body = '{{< highlight html >}}\n<a href="hl-missing.html">x</a>\n![y](hl-missing.png)\n{{< /highlight >}}\n'
    assert build_errors(tmp_path, body) == []


def test_template_text_in_code_samples_is_never_checked(tmp_path):
    body = ('```jinja\n<a href="{{ post.url }}">{% url \'home\' %}</a>\n```\n\n'
            '{{< highlight go-html-template >}}\n<a href="{{ .Permalink }}">x</a>\n{{< /highlight >}}\n\n'
            'Inline: `<a href="{{ .Permalink }}">`, and raw HTML in prose: <a href="{{ .Permalink }}">x</a>\n')
    assert build_errors(tmp_path, body) == []


def test_figure_src_with_a_space_is_one_error_at_its_column(tmp_path):
    assert build_errors(tmp_path, 'Text.\n\n{{< figure src="images/a b.png" >}}\n') == [
        "7:17: error: 'images/a b.png' (that is /posts/p/images/a b.png) does not exist in the site"]


def test_raw_string_parameter_is_not_a_link(tmp_path):
    (tmp_path / "content" / "posts" / "p").mkdir(parents=True)
    (tmp_path / "content" / "posts" / "p" / "a.png").write_bytes(b"")
    assert build_errors(tmp_path, '{{< figure src="a.png" alt=`Say "hello"` >}}\n') == []


def test_text_that_markdown_does_not_render_as_a_link_is_not_checked(tmp_path):
    body = "<!-- [old](gone.html) -->\n\nText.\n"
    assert build_errors(tmp_path, body) == []


def test_each_broken_link_is_one_error_at_its_line_and_column(tmp_path):
    body = "[a](missing.html) and ![b](/nope.png)\n\n[again](missing.html)\n"
    assert build_errors(tmp_path, body) == [
        "5:5: error: 'missing.html' (that is /posts/p/missing.html) does not exist in the site",
        "5:28: error: '/nope.png' does not exist in the site",
        "7:9: error: 'missing.html' (that is /posts/p/missing.html) does not exist in the site",
    ]


def test_raw_html_style_urls_svg_xlink_and_background_images_are_checked_at_their_place(tmp_path):
    # Rewritten for a sub-path like any src, but never checked (a style url()) or neither (xlink:href).
    (tmp_path / "content/posts/p").mkdir(parents=True)
    (tmp_path / "content/posts/p/here.png").write_bytes(b"")
    body = ('<div style="color: red; background-image: url(/posts/p/gone.png)">a</div>\n'
            "<div style='background: url(\"here.png\") no-repeat, url(/posts/p/here.png)'>b</div>\n"
            '<svg><symbol id="dot"></symbol><use xlink:href="#dot"></use><use xlink:href="/icons.svg#x"></use></svg>\n'
            '<table><tr><td background="/bg.png">c</td></tr></table>\n'
            '<div style="background: url(data:image/gif;base64,R0lGOD)">d</div>\n'
            '<div style="background: url(&quot;/quoted.png&quot;)">e</div>\n')
    assert build_errors(tmp_path, body) == [
        "5:47: error: '/posts/p/gone.png' does not exist in the site",
        "7:78: error: '/icons.svg#x' does not exist in the site",
        "8:28: error: '/bg.png' does not exist in the site",
        "10:35: error: '/quoted.png' does not exist in the site",
    ]


def test_an_svg_xlink_and_a_style_url_work_under_a_sub_path(tmp_path):
    from runpost.site.finish import finish_text
    page = ('<svg><use xlink:href="/icons.svg#x"></use></svg><div style="background: url(/a.png)"></div>'
            '<td background="/b.png"></td>')
    assert finish_text("posts/x/index.html", page) == (
        '<svg><use xlink:href="../../icons.svg#x"></use></svg><div style="background: url(../../a.png)"></div>'
        '<td background="../../b.png"></td>')
    # What the link check reads in a style, the rewrite reads too (quoted with a space or a parenthesis, URL()).
    styles = ("<i style='background: url(\"/a b.png\")'></i><i style=\"background: url('/a(1).png')\"></i>"
              '<i style="background: URL(/c.png)"></i>')
    assert finish_text("posts/x/index.html", styles) == (
        "<i style='background: url(\"../../a b.png\")'></i><i style=\"background: url('../../a(1).png')\"></i>"
        '<i style="background: url(../../c.png)"></i>')


def test_an_anchor_at_a_posts_old_address_is_looked_for_on_the_post(site_dir):
    # A link to a `url:` (or alias) address with #anchor was an error: the redirect page has no ids.
    from conftest import run_build
    posts = site_dir / "content/posts"
    (posts / "moved.md").write_text("---\ntitle: Moved\ndate: 2020-01-01\nurl: /2015/04/01/moved/\n"
                                    "aliases: [/old/]\n---\n## Why I moved\n\nText.\n")
    (posts / "links.md").write_text("---\ntitle: Links\ndate: 2020-01-02\n---\n"
                                    "[a](/2015/04/01/moved/#why-i-moved) [b](/old/#why-i-moved) [c](/old/#nope)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert result.stderr.count("error:") == 1 and \
        "links.md:5:64: error: '/old/#nope': /old/ (an old address of /posts/moved/) has no element with id 'nope'" in result.stderr
    (posts / "links.md").write_text((posts / "links.md").read_text().replace(" [c](/old/#nope)", ""))
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    # The old address's page keeps the anchor on its way (a refresh alone drops it).
    assert '<script>location.replace("../posts/moved/" + location.hash)</script>' in \
        (site_dir / "site/old/index.html").read_text(encoding="utf-8")


def test_a_url_without_a_leading_slash_is_from_the_sites_root_as_in_hugo(site_dir):
    # `url: blog/old-post/` put the redirect at /posts/blog/old-post/: the old address was a 404.
    from conftest import run_build
    (site_dir / "content/posts/moved.md").write_text("---\ntitle: Moved\ndate: 2020-01-01\nurl: blog/old-post/\n---\n"
                                                     "## Why\n\nSee [here](/blog/old-post/#why).\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert (site_dir / "site/blog/old-post/index.html").is_file()
    assert not (site_dir / "site/posts/blog").exists()
    # One that climbs above the root is named as written, and as a url.
    (site_dir / "content/posts/moved.md").write_text("---\ntitle: Moved\ndate: 2020-01-01\nurl: ../up/\n---\nText.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "error: url '../up/' leads above the site's root" in result.stderr, result.stderr


def test_broken_link_in_markdown_shortcode_inner_text_is_checked(tmp_path):
    (tmp_path / "templates" / "shortcodes").mkdir(parents=True)
    (tmp_path / "templates" / "shortcodes" / "note.html").write_text("<div>{{ inner }}</div>")
    assert build_errors(tmp_path, "{{% note %}}\nSee [x](gone/).\n{{% /note %}}\n") == [
        "6:9: error: 'gone/' (that is /posts/p/gone/) does not exist in the site"]


def test_reference_definitions_whose_destination_is_a_ref_shortcode_are_not_false_errors(site_dir):
    from conftest import run_build

    (site_dir / "content/posts/refs.md").write_text(
        '---\ntitle: Refs\ndate: 2020-01-01\n---\nSee [one][a] and [two][b].\n\n'
        '[a]: {{< ref "refs" >}}\n[b]: {{< relref "refs" >}} "A title"\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("raw_html", ["true", "false"])
def test_what_only_looks_like_a_link_target_is_not_checked(tmp_path, raw_html):
    # Each was a false error: a figure commented out while drafting, a definition inside an HTML
    # comment, block or <pre>, or under a paragraph line (text there), a definition's entity, and a
    # site's own shortcode using `src` as a key. Each renders no link to the path; Hugo builds it.
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    (posts / "a").mkdir(parents=True)
    (tmp_path / "static" / "images").mkdir(parents=True)
    (tmp_path / "static" / "images" / "café.png").write_bytes(b"")
    (tmp_path / "templates" / "shortcodes").mkdir(parents=True)
    (tmp_path / "templates" / "shortcodes" / "cdn.html").write_text('<img src="https://cdn.example.org/{{ params.src }}">')
    (tmp_path / "runpost.toml").write_text(f'base_url = "https://example.org/"\nraw_html = {raw_html}\n')
    (posts / "a" / "index.md").write_text("""---
title: A
date: 2024-01-01
---
<!-- {{< figure src="chart-v1.png" link="/nowhere/" >}} -->

<!--
{{< figure src="chart-v2.png" >}}
[old]: /drafts/old/
-->

<div>
[inside]: /no/such/page/
</div>

<details><pre>
[pre]: /no/such/file.txt
</pre></details>

A paragraph line
[under]: /not/a/definition/

![cafe][cafe] and {{< cdn src="logo/v2.png" >}}

[cafe]: /images/caf&eacute;.png
""")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site" / "posts" / "a" / "index.html").read_text()
    assert 'https://cdn.example.org/logo/v2.png' in page and "caf" in page
    # Still an error where the page links to nothing: a figure's image, a used definition.
    (posts / "a" / "index.md").write_text("---\ntitle: A\ndate: 2024-01-01\n---\n"
                                          "{{< figure src=\"missing.png\" >}}\n\n[x][gone]\n\n[gone]: /gone/\n")
    result = run_build(cwd=tmp_path)
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/a/index.md:5:17: error: 'missing.png' (that is /posts/a/missing.png) does not exist in the site",
        "content/posts/a/index.md:9:9: error: '/gone/' does not exist in the site"]


def test_a_link_to_an_anchor_no_element_has_is_an_error_at_its_line(tmp_path):
    # Fragments were never checked: a typo in #installation, a heading renamed in another post.
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (posts / "b.md").write_text("---\ntitle: B\ndate: 2024-01-01\n---\n## Usage\n\nText[^1].\n\n[^1]: A note.\n")
    (posts / "a.md").write_text("""---
title: A
date: 2024-01-02
---
- [typo](#instalation) [ok](#installation) [top](#top) [text](#:~:text=Usage)
- [other](../b/#no-such-heading) [ok](../b/#usage) [note](/posts/b/#fn:1)
- [ref]({{< relref "b#nope" >}}) [ok]({{< ref "b.md#usage" >}}) [feed](/index.xml#x)

## Installation
""")
    result = run_build(cwd=tmp_path)
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/a.md:5:10: error: '#instalation': this page has no element with id 'instalation' "
        "(did you mean 'installation'?)",
        "content/posts/a.md:6:11: error: '../b/#no-such-heading': /posts/b/ has no element with id 'no-such-heading'",
        "content/posts/a.md:7:9: error: relref 'b#nope': /posts/b/ has no element with id 'nope'"]


def test_an_anchor_in_an_absolute_link_into_this_site_is_checked_as_a_site_paths_is(tmp_path):
    # From a review: [a](https://example.org/blog/posts/b/#nope) built; written /posts/b/#nope it was an error.
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (tmp_path / "runpost.toml").write_text('base_url = "https://example.org/blog/"\n')
    (posts / "b.md").write_text("---\ntitle: B\ndate: 2024-01-01\n---\n## Setup\n\nB.\n")
    (posts / "a.md").write_text("---\ntitle: A\ndate: 2024-01-02\n---\n"
                                "[ok](https://example.org/blog/posts/b/#setup) [no](https://example.org/blog/posts/b/#nope) "
                                "[other site](https://example.com/blog/posts/b/#nope)\n")
    result = run_build(cwd=tmp_path)
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/a.md:5:52: error: 'https://example.org/blog/posts/b/#nope': /posts/b/ has no element with id 'nope'"]


def test_absolute_links_into_this_site_are_checked_and_dot_dots_may_not_climb_above_its_root(tmp_path):
    # A pasted https://example.org/blog/posts/bb/ (a typo) built; ../../../posts/b/ was read as /posts/b/
    # but left the site under its sub-path; /blog/posts/b/ got no hint that runpost adds /blog/ itself.
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (tmp_path / "runpost.toml").write_text('base_url = "https://example.org/blog/"\n')
    (posts / "b.md").write_text("---\ntitle: B\ndate: 2024-01-01\n---\nB.\n")
    (posts / "a.md").write_text("""---
title: A
date: 2024-01-02
---
[ok](https://example.org/blog/posts/b/) [ok](http://example.org/blog/) [other](https://example.org/elsewhere/)
[typo](https://example.org/blog/posts/bb/) [typo](//example.org/blog/posts/c/)
[ok](../b/) [climbs](../../../posts/b/)
[base](/blog/posts/b/)
""")
    result = run_build(cwd=tmp_path)
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/a.md:6:8: error: 'https://example.org/blog/posts/bb/' is this site's address, and /posts/bb/ "
        "does not exist in the site",
        "content/posts/a.md:6:51: error: '//example.org/blog/posts/c/' is this site's address, and /posts/c/ does not "
        "exist in the site",
        "content/posts/a.md:7:22: error: '../../../posts/b/' climbs above the site's root: write it from the root "
        "(/posts/b/) or with fewer '../'",
        "content/posts/a.md:8:8: error: '/blog/posts/b/' does not exist in the site (runpost adds the base path /blog/ "
        "itself: write /posts/b/)"]


def test_a_link_to_another_project_on_the_same_host_is_not_this_sites(tmp_path):
    # Under https://user.github.io/ (a user site) the same host serves the user's project sites.
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (tmp_path / "runpost.toml").write_text('base_url = "https://user.github.io/"\n')
    (posts / "a.md").write_text("---\ntitle: A\ndate: 2024-01-02\n---\n[other](https://user.github.io/other-project/) "
                                "[typo](https://user.github.io/posts/b/)\n")
    result = run_build(cwd=tmp_path)
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/a.md:5:55: error: 'https://user.github.io/posts/b/' is this site's address, and /posts/b/ does "
        "not exist in the site"]


def test_a_post_whose_content_fails_is_reported_with_the_other_posts_broken_links(site_dir):
    # A `ref` to no post stopped the build before the link check: the broken link of another
    # post came only on the next build. Both come at once now; the failed post's empty page
    # is not checked for anchors (#section would be a false error), nor are its own links.
    from conftest import run_build
    posts = site_dir / "content/posts"
    (posts / "failing.md").write_text("---\ntitle: Failing\ndate: 2020-01-01\n---\n"
                                      "See [x]({{< ref \"no-such-post\" >}}).\n\n## Section\n")
    (posts / "linking.md").write_text("---\ntitle: Linking\ndate: 2020-01-02\n---\n"
                                      "[a](/posts/failing/#section) and [b](/gone/).\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "failing.md:5:9: error: ref target 'no-such-post'" in result.stderr
    assert "linking.md:5:38: error: '/gone/' does not exist in the site" in result.stderr
    assert result.stderr.count("error:") == 2, result.stderr


def test_a_missing_link_names_the_address_meant(site_dir):
    # A wrong case (a Mac's disk did not mind), a misspelt slug, a post's .md source: the error
    # said only "does not exist" (found by a new-user review). A different file is not suggested.
    from conftest import run_build
    (site_dir / "content/posts/reading-list.md").write_text(
        "---\ntitle: Links\ndate: 2020-01-02\n---\n"
        "[a](/Posts/Reading-List/) [b](/posts/reading-lists/) [c](../reading-list.md) [d](/posts/nothing-like-it/)\n")
    result = run_build(cwd=site_dir)
    assert "'/Posts/Reading-List/' does not exist in the site (did you mean /posts/reading-list/?)" in result.stderr
    assert "'/posts/reading-lists/' does not exist in the site (did you mean /posts/reading-list/?)" in result.stderr
    assert "(a post's source file: link to its page, or write {{< ref \"reading-list\" >}})" in result.stderr
    assert "'/posts/nothing-like-it/' does not exist in the site\n" in result.stderr


def test_the_address_suggested_for_a_missing_link_is_one_the_site_has():
    from runpost.site.links import nearest_address
    outputs = {"notes/reindex.html", "notes/index.html", "files/README.md", "index.html"}
    assert nearest_address("/notes/Re/", outputs) is None          # not "/notes/re" of reindex.html
    assert nearest_address("/notes/Reindex.html", outputs) == "/notes/reindex.html"
    assert nearest_address("/files/README.MD", outputs) == "/files/README.md"


def test_a_failed_posts_error_is_kept_when_rendering_fails_later_too(site_dir):
    # A ref to no post in one post, an alias clash in another: only the clash was reported.
    from conftest import run_build
    posts = site_dir / "content/posts"
    (posts / "failing.md").write_text("---\ntitle: F\ndate: 2020-01-01\n---\nSee [x]({{< ref \"no-such-post\" >}}).\n")
    (posts / "clash.md").write_text("---\ntitle: C\ndate: 2020-01-02\naliases: [/posts/]\n---\nText.\n")
    result = run_build(cwd=site_dir)
    assert "failing.md:5:9: error: ref target 'no-such-post'" in result.stderr, result.stderr
    assert "alias '/posts/' would replace a page or file of the site" in result.stderr, result.stderr


def _build_with_base_template(site_dir: Path, old: str, new: str) -> tuple[str, list[str]]:
    """Build with the theme's base.html, `old` replaced by `new`, as the site's own; (its text before, error lines)."""
    from conftest import run_build
    import shutil
    (site_dir / "templates").mkdir(exist_ok=True)
    base = site_dir / "templates/base.html"
    if not base.exists():
        shutil.copy(Path(__file__).parent.parent / "runpost/theme/templates/base.html", base)
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    return text, result.stderr.splitlines()


def test_a_broken_link_in_a_template_is_one_error_at_the_template(site_dir):
    # A bad link in base.html was an error for every page, blamed on the posts, without a line.
    _, stderr = _build_with_base_template(site_dir, "<main", '<a href="/nope/">x</a><main')
    lines = [line for line in stderr if "/nope/" in line]
    assert len(lines) == 1 and lines[0].startswith("templates/base.html:") and \
        "error: a template links to /nope/, which the site does not contain (on " in lines[0], stderr


def test_a_missing_url_in_a_templates_style_element_is_one_error_at_the_template(site_dir):
    text, stderr = _build_with_base_template(
        site_dir, "</head>", "<style>\n.hero { background: url( /images/gone.png ) }\n</style>\n</head>")
    lines = [line for line in stderr if "/images/gone.png" in line]
    line = text[:text.index("</head>")].count("\n") + 2
    assert len(lines) == 1 and lines[0].startswith(f"templates/base.html:{line}:26: ") and \
        "error: a template links to /images/gone.png, which the site does not contain (on " in lines[0], stderr


def test_template_links_are_grouped_only_where_a_template_writes_the_address(site_dir):
    # From a review: a shortcode making /tags/<argument>/ from each post's argument had its errors
    # merged into one blaming "a template"; an external https://x.org/about/ in a template was
    # taken for /about/; two templates writing one missing address were reported one at a time.
    from conftest import run_build
    import shutil
    templates = site_dir / "templates"
    (templates / "shortcodes").mkdir(parents=True, exist_ok=True)
    (templates / "shortcodes/taglink.html").write_text('<a href="/tags/{{ positional[0] }}/">tag</a>')
    posts = site_dir / "content/posts"
    for name in ("second", "third"):
        (posts / f"{name}.md").write_text(f"---\ntitle: {name}\ndate: 2020-01-02\n---\nSee {{{{< taglink \"pythn\" >}}}}.\n")
    base = templates / "base.html"
    if not base.exists():
        shutil.copy(Path(__file__).parent.parent / "runpost/theme/templates/base.html", base)
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace("<main", '<a href="https://github.com/about/">gh</a><a href="/about/">a</a><main', 1),
                    encoding="utf-8")
    post_template = templates / "post.html"
    if not post_template.exists():
        shutil.copy(Path(__file__).parent.parent / "runpost/theme/templates/post.html", post_template)
    post_template.write_text(post_template.read_text(encoding="utf-8") + '\n{# about: "/about/" #}\n', encoding="utf-8")
    result = run_build(cwd=site_dir)
    lines = result.stderr.splitlines()
    assert any(line.startswith("content/posts/second.md") and "/tags/pythn/" in line for line in lines), result.stderr
    assert any(line.startswith("content/posts/third.md") and "/tags/pythn/" in line for line in lines), result.stderr
    about = [line for line in lines if "a template links to /about/" in line]
    assert sorted(line.split(":")[0] for line in about) == ["templates/base.html", "templates/post.html"], result.stderr
    assert all(":1:" not in line or "base.html" not in line for line in about)


def test_a_missing_relative_link_in_a_post_with_a_url_says_where_relative_links_resolve(site_dir):
    # Written for Hugo, where `url: /now/` moves the page: ../posts/x/ was a bare "does not exist".
    from conftest import run_build
    (site_dir / "content/posts/now.md").write_text("---\ntitle: Now\ndate: 2024-01-01\nurl: /now/\n---\n"
                                                 "Recent: [x](../posts/first-post/).\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert ("content/posts/now.md:6:13: error: '../posts/first-post/' (that is /posts/posts/first-post/) does not exist "
            "in the site; relative links resolve from the post's page, /posts/now/: its url, /now/, only redirects "
            "there (docs/hugo.md)") in result.stderr, result.stderr


def test_a_file_url_in_a_link_or_image_is_an_error_at_it(site_dir):
    # From a review: [a](file:///etc/passwd) was published as written (goldmark writes href="").
    from conftest import run_build

    (site_dir / "content/posts/f.md").write_text(
        "---\ntitle: F\ndate: 2024-01-02\n---\n\n[a](file:///etc/passwd) and ![i](FILE:///x.png)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert [line.split(": error: ")[0] for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/f.md:6:5", "content/posts/f.md:6:34"]
    assert "'file:///etc/passwd' is a file: URL, a file on the reader's own computer" in result.stderr


def test_serve_checks_absolute_links_into_the_published_site_as_a_build_does(tmp_path):
    # From a review: serve previews under http://127.0.0.1:1313/blog/, so a link written with the
    # published https://example.org/blog/ was not this site's there: `build` failed, serve did not.
    import dataclasses

    from runpost.config import load_config
    from runpost.errors import BuildErrors
    from runpost.pipeline import build
    from runpost.report import Reporter
    from runpost.serve.preview import Preview

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (tmp_path / "runpost.toml").write_text('base_url = "https://example.org/blog/"\n')
    (posts / "b.md").write_text("---\ntitle: B\ndate: 2024-01-01\n---\nB.\n")
    (posts / "a.md").write_text("---\ntitle: A\ndate: 2024-01-02\n---\n"
                                "[x](https://example.org/blog/posts/b/#nope) [y](https://example.org/blog/posts/c/)\n")
    preview = Preview(load_config(tmp_path), Reporter(quiet=True), "127.0.0.1", 1313)
    config = preview.config()
    assert config.base_url.startswith("http://127.0.0.1:1313/") and config.published_url == "https://example.org/blog/"
    # `serve --base-url X` checks against X, as `build --base-url X` does.
    overridden = Preview(load_config(tmp_path, base_url="https://me.example.org/"), Reporter(quiet=True), "127.0.0.1", 1313)
    assert overridden.config().published_url == "https://me.example.org/"
    with pytest.raises(BuildErrors) as caught:
        build(dataclasses.replace(config, output_dir=tmp_path / "out"), Reporter(quiet=True))
    messages = sorted(str(error).split("content/posts/", 1)[1] for error in caught.value.errors)
    assert messages == [
        "a.md:5:49: error: 'https://example.org/blog/posts/c/' is this site's address, and /posts/c/ does "
        "not exist in the site",
        "a.md:5:5: error: 'https://example.org/blog/posts/b/#nope': /posts/b/ has no element with id 'nope'"]

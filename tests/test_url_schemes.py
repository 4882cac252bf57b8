"""No URL from content that runs script reaches href/src/srcset/poster/action."""
from __future__ import annotations

import pytest

from conftest import run_build
from runpost.site.urls import script_scheme, script_urls


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:x",
                                 "java\tscript:x", "jav&#x61;script:x", "\x01javascript:x", "vbscript:msgbox(1)",
                                 "data:text/html,<script>", "DATA:text/html;base64,PHNjcmlwdD4="])
def test_script_urls_are_recognised_as_a_browser_reads_them(url):
    assert script_scheme(url)


@pytest.mark.parametrize("url", ["https://example.org/", "/posts/a/", "../x.png", "#top", "mailto:a@b.c",
                                 "javascript-guide.html", "posts/javascript:x"])
def test_ordinary_urls_are_not_script_urls(url):
    assert not script_scheme(url)


def test_data_images_are_allowed_only_where_an_image_is_loaded():
    assert not script_scheme("data:image/png;base64,iVBO", image=True)
    assert script_scheme("data:image/png;base64,iVBO", image=False)


def test_unquoted_and_srcset_attributes_are_read():
    html = '<a href=javascript:alert(1)>x</a><img srcset="a.png 1x, javascript:b 2x"><form action="vbscript:x">'
    assert script_urls(html) == ["javascript:alert(1)", "javascript:b", "vbscript:x"]



def test_a_meta_refresh_and_css_urls_in_a_style_are_read():
    html = ('<meta http-equiv="refresh" content="0;url=javascript:alert(document.domain)">'
            "<meta http-equiv=refresh content=\"5; URL='data:text/html,x'\">"
            '<meta name="description" content="JavaScript: the good parts">'       # no refresh: text
            '<p style="background: url(&quot;javascript:alert(1)&quot;), url(/ok.png), url(data:image/png;base64,AA)">')
    assert script_urls(html) == ["javascript:alert(document.domain)", "data:text/html,x", "javascript:alert(1)"]


CASES = [
    ("[x](javascript:alert(1))", 6, 5),
    ("[x](JaVaScRiPt:alert(1))", 6, 5),
    ("[x](jav&#x61;script:alert(1))", 6, 5),
    ("![x](data:text/html,boom)", 6, 6),
    ("[x](data:text/html,boom)", 6, 5),
    ("<javascript:alert(1)>", 6, 2),
    ('{{< figure src="javascript:alert(1)" >}}', 6, 17),
    ('{{< figure src="/a.png" link="vbscript:msgbox(1)" >}}', 6, 31),
    ("[r]\n\n[r]: javascript:alert(1)", 8, 6),
]


@pytest.mark.parametrize("body, line, column", CASES)
def test_script_url_in_content_is_an_error_at_its_line_and_column(site_dir, body, line, column):
    (site_dir / "content/posts/evil.md").write_text(f"---\ntitle: Evil\ndate: 2020-01-01\ndraft: false\n---\n{body}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1, result.stderr
    assert f"content/posts/evil.md:{line}:{column}: error:" in result.stderr
    assert "may not run script" in result.stderr and "Traceback" not in result.stderr


def test_script_url_in_front_matter_images_is_an_error(site_dir):
    (site_dir / "content/posts/evil.md").write_text(
        '---\ntitle: Evil\ndate: 2020-01-01\nimages: ["javascript:alert(1)"]\n---\ntext\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/evil.md:4:" in result.stderr and "javascript: URL" in result.stderr


def test_data_image_in_markdown_builds(site_dir):
    # A description that starts "JavaScript:" is text in the page's <meta name="description">.
    (site_dir / "content/posts/ok.md").write_text(
        "---\ntitle: Ok\ndate: 2020-01-01\ndescription: \"JavaScript: the good parts\"\n---\n"
        "![dot](data:image/png;base64,iVBORw0KGgo=)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr


def test_parenthesised_link_targets_are_read_whole(site_dir):
    (site_dir / "content/posts/paren.md").write_text(
        "---\ntitle: P\ndate: 2020-01-01\n---\n[w](https://en.wikipedia.org/wiki/Fold_(higher-order_function))\n")
    assert run_build(cwd=site_dir).returncode == 0


def test_script_url_in_a_formulas_href_is_an_error_at_its_line_and_column(site_dir):
    # \href in math makes a link: it was reported at the post with no line.
    (site_dir / "content/posts/evil.md").write_text(
        "---\ntitle: Evil\ndate: 2020-01-01\nmath: true\n---\nSee $\\href{javascript:alert(1)}{x}$.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/evil.md:6:12: error: 'javascript:alert(1)' is a javascript: URL" in result.stderr, result.stderr


def test_a_script_url_a_shortcode_template_writes_is_an_error_at_the_call(site_dir):
    # From a review: the error had no line, only the post: "page /posts/t/index.html has a javascript: URL".
    from conftest import run_build

    (site_dir / "templates/shortcodes").mkdir(parents=True)
    (site_dir / "templates/shortcodes/bad.html").write_text('<a href="java\tscript:x">x</a>\n')
    (site_dir / "content/posts/t.md").write_text("---\ntitle: T\ndate: 2024-01-02\n---\n\nText {{< bad >}} here.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/t.md:6:6: error: shortcode 'bad' writes a javascript: URL ('java\tscript:x', in "
        "templates/shortcodes/bad.html): links and images may not run script"]

"""markdown.render_markdown: Hugo-shaped HTML from Python-Markdown, placeholders intact.

Golden pairs live in tests/golden/markdown/ (`name.md` -> `name.html`; a
`.unsafe.md` input renders with raw_html=True). Regenerate with
`UPDATE_GOLDEN=1 pytest tests/test_markdown.py` and review the diff.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path

import pytest

from runpost.markup.markdown import heading_id, highlight_code, markdown_to_html, render_markdown
from runpost.post import FrontMatter, Post

GOLDEN = Path(__file__).parent / "golden" / "markdown"
CASES = sorted(GOLDEN.glob("*.md"))


@pytest.mark.parametrize("source", CASES, ids=[path.stem for path in CASES])
def test_markdown_matches_golden_html(source):
    rendered = markdown_to_html(source.read_text(encoding="utf-8"), raw_html=source.stem.endswith(".unsafe"))
    golden = source.with_suffix(".html")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


def make_post(body: str) -> Post:
    date = dt.datetime(2020, 5, 2)
    return Post(path=Path("content/posts/t.md"), source="", meta=FrontMatter(title="t", date=date, publish_date=date),
                body=body, body_line=5, url="/posts/t/")


def test_render_markdown_fills_only_html():
    post = make_post("*hi*")
    config = type("Config", (), {"raw_html": False})()
    assert render_markdown(post, config) == dataclasses.replace(post, html="<p><em>hi</em></p>")


def test_block_placeholder_alone_in_a_paragraph_loses_its_p():
    assert markdown_to_html("Text.\n\nRPSC0001X\n") == "<p>Text.</p>\nRPSC0001X"


def test_inline_placeholder_stays_in_its_paragraph():
    assert markdown_to_html("See RPSC0001X here.") == "<p>See RPSC0001X here.</p>"


def test_raw_html_is_omitted_by_default_and_kept_when_allowed():
    assert markdown_to_html("a <b>x</b>") == "<p>a <!-- raw HTML omitted -->x<!-- raw HTML omitted --></p>"
    assert markdown_to_html("a <b>x</b>", raw_html=True) == "<p>a <b>x</b></p>"


def test_html_in_code_is_code_not_raw_html():
    assert "&lt;div&gt;" in markdown_to_html("```\n<div>\n```")


@pytest.mark.parametrize("text, expected", [
    ("Café & Crème brûlée", "café--crème-brûlée"), ("What’s New? (v2.0)", "whats-new-v20"),
    ("Hyphens - and_underscores", "hyphens---and_underscores"), ("Über 100% — dash", "über-100--dash"),
])
def test_heading_ids_follow_hugos_github_style(text, expected):
    assert heading_id(text) == expected


def test_repeated_headings_get_hugos_numbered_suffixes():
    rendered = markdown_to_html("# A\n\n# A\n\n# A")
    assert [f'id="{anchor}"' in rendered for anchor in ("a", "a-1", "a-2")] == [True, True, True]


def test_inline_markdownify_drops_the_single_paragraph():
    assert markdown_to_html("A *caption*", inline=True) == "A <em>caption</em>"


def test_highlight_marks_lines_and_numbers_them_like_chroma():
    rendered = highlight_code("a\nb\nc", "python", {"linenos": "inline", "hl_lines": "2", "linenostart": "7"})
    assert '<span class="line hl"><span class="ln">8</span><span class="cl">' in rendered
    assert rendered.count('<span class="ln">') == 3


def test_highlight_keeps_the_code_text_exactly():
    code = 'if a < b and "c":\n\tpass  \n'
    rendered = highlight_code(code, "python")
    import html as html_module
    import re
    assert html_module.unescape(re.sub(r"<[^>]+>", "", rendered)) == code


# ---------------------------------------------------------------- goldmark parity (tests/hugo has the full cases)

def test_fenced_code_in_a_list_item_keeps_the_list_tight():
    rendered = markdown_to_html("1. Look:\n   ```bash\n   ls\n   ```\n2. Then this.\n")
    assert "<p>" not in rendered and re.search(r'<li>Look:\s*<div class="highlight">', rendered)


def test_one_blank_line_makes_every_item_of_the_list_loose():
    rendered = markdown_to_html("- one\n\n- two\n- three\n")
    assert rendered.count("<p>") == 3


def test_a_loose_nested_list_leaves_the_outer_list_tight():
    rendered = markdown_to_html("- a\n  - b\n\n    more about b\n  - c\n- d\n")
    assert re.search(r"<li>a\s*<ul>", rendered) and "<li>d</li>" in rendered
    assert "<p>b</p>" in rendered and "<p>c</p>" in rendered


def test_a_blank_line_before_a_nested_list_makes_the_outer_list_loose():
    rendered = markdown_to_html("- a\n\n  - b\n- c\n")
    assert "<p>a</p>" in rendered and "<p>c</p>" in rendered and "<li>b</li>" in rendered


def test_list_looseness_marks_never_reach_the_page():
    rendered = markdown_to_html("- a\n- [ ] task\n- **b**\n  - c\n\n    d\n")
    assert "runpost" not in rendered and "\x02" not in rendered and "data-" not in rendered


def test_image_alt_is_the_plain_text_of_its_markdown():
    rendered = markdown_to_html("![a *very* big `chart` & [more](/x)](/chart.png)\n")
    assert 'alt="a very big chart &amp; more"' in rendered


def test_link_title_may_be_in_parentheses():
    rendered = markdown_to_html("[Pelican](https://getpelican.com (Python))\n")
    assert '<a href="https://getpelican.com" title="Python">Pelican</a>' in rendered


def test_a_title_not_followed_by_a_parenthesis_is_not_a_link():
    rendered = markdown_to_html("[Zola](/zola 'It's fast')\n")
    assert "<a" not in rendered and rendered.startswith("<p>[Zola](/zola")


def test_a_new_bullet_character_starts_a_new_list():
    assert markdown_to_html("- a\n- b\n\n* c\n").count("<ul>") == 2


def test_heading_id_comes_from_the_source_text_as_in_goldmark():
    rendered = markdown_to_html("## See [docs](https://x.org) and __init__\n")
    assert 'id="see-docshttpsxorg-and-__init__"' in rendered


def test_heading_attributes_set_id_and_class_and_closing_hashes_need_a_space():
    rendered = markdown_to_html("## Custom {#mine .wide}\n\n## C# and F#\n")
    assert '<h2 class="wide" id="mine">Custom</h2>' in rendered
    assert '<h2 id="c-and-f">C# and F#</h2>' in rendered


def test_typographer_follows_goldmarks_quote_rules():
    rendered = markdown_to_html("rock 'n' roll, the '90s, 5'10\" tall, \"hi\"\n")
    assert rendered == "<p>rock &rsquo;n&rsquo; roll, the &rsquo;90s, 5'10\" tall, &ldquo;hi&rdquo;</p>"


def test_anchorlinenos_without_lineanchors_uses_hugos_default_prefixes():
    fenced = markdown_to_html("```go {linenos=table,anchorlinenos=true}\nx\n```\n")
    assert 'id="hl-0-1"' in fenced
    assert 'id="1"><a class="lnlinks" href="#1">1</a>' in highlight_code("x", "go", {"linenos": "inline",
                                                                                   "anchorlinenos": "true"})


def test_table_line_numbers_are_padded_to_the_widest():
    rendered = highlight_code("\n".join("x" * 10), "text", {"linenos": "table"})
    assert '<span class="lnt"> 9\n</span>' in rendered and '<span class="lnt">10\n</span>' in rendered


def test_tabs_in_fenced_code_are_kept():
    assert "\tx" in markdown_to_html("```\nfunc() {\n\tx\n}\n```\n")


def test_quotes_separated_by_a_blank_line_stay_two_quotes():
    assert markdown_to_html("> one\n\n> two").count("<blockquote>") == 2


def test_a_fence_inside_a_quote_is_code():
    assert '<div class="highlight">' in markdown_to_html("> text\n>\n> ```python\n> x = 1\n> ```")


def test_linkify_skips_hosts_without_a_dot_and_urls_in_brackets():
    html = markdown_to_html("See http://localhost:1313/ and [https://example.com/x] and https://example.com/y.")
    assert html.count("<a ") == 1 and 'href="https://example.com/y"' in html


def test_indented_code_keeps_tabs_past_its_indent():
    assert "<pre><code>x\n\ty\n</code></pre>" in markdown_to_html("para\n\n\tx\n\t\ty\n")


def test_markdown_after_a_details_block_and_a_blank_line_is_rendered():
    html = markdown_to_html("<details>\n<summary>More</summary>\n\n**bold**\n\n</details>")
    assert "<strong>bold</strong>" in html and html.count("raw HTML omitted") == 2


def test_summary_divider_survives_the_raw_html_policy_outside_code():
    body = "Intro.\n\n<!--more-->\n\nRest.\n\n```html\n<!--more-->\n```\n"
    post = make_post(body)
    html = render_markdown(post, type("Config", (), {"raw_html": False})()).html
    assert html.count("<!--more-->") == 1 and "raw HTML omitted" not in html
    assert html.startswith("<p>Intro.</p>\n<!--more-->\n<p>Rest.</p>")
    assert "&lt;!--more--&gt;" in html  # the one in code stays code


@pytest.mark.parametrize("body, expected", [
    # From a real post: the intro became an <h2> with the divider's token in it.
    ("My old blog.\n<!--more-->\n---\n\n### Just switch\n", "<p>My old blog.</p>\n<!--more-->\n<hr>"),
    ("Intro line one.\n<!--more-->\nRest of the post.\n", "<p>Intro line one.</p>\n<!--more-->\n<p>Rest of the post.</p>"),
    ("> A quote.\n<!--more-->\nAfter.\n", "<blockquote>\n<p>A quote.</p>\n</blockquote>\n<!--more-->\n<p>After.</p>"),
    ("Intro <!--more--> inline.\n", "<p>Intro <!--more--> inline.</p>"),
    # Indented, it stays in its list item: the list was split in two.
    ("1. Install it\n2. Configure it\n   <!--more-->\n3. Run it\n", "<ol>\n<li>Install it</li>\n<li>Configure it\n    <!--more--></li>\n<li>Run it</li>\n</ol>"),
])
def test_a_summary_divider_on_its_own_line_ends_the_paragraph_or_quote_above_as_in_goldmark(body, expected):
    html = render_markdown(make_post(body), type("Config", (), {"raw_html": False})()).html
    assert html.startswith(expected), html


def test_table_rows_lose_outer_pipes_even_when_the_header_has_none():
    html = markdown_to_html("a | b | c\n--- | ---: | :---:\n | 7 | x\nbob | |\n")
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert re.findall(r"<td[^>]*>[^<]*</td>", rows[1]) == [
        "<td>7</td>", '<td style="text-align: right;">x</td>', "<td></td>"]
    assert re.findall(r"<td[^>]*>[^<]*</td>", rows[2]) == [
        "<td>bob</td>", '<td style="text-align: right;"></td>', "<td></td>"]


def test_an_omitted_html_block_with_a_closing_line_leaves_two_comments():
    omitted = "<!-- raw HTML omitted -->"
    assert markdown_to_html("<!-- a\nb -->\n\ntext").count(omitted) == 2
    assert markdown_to_html("<!-- one line -->\n\ntext").count(omitted) == 1


def test_an_indented_paragraph_in_a_definition_is_not_code():
    html = markdown_to_html("Term\n:   First.\n\n    Second.\n")
    assert "<pre>" not in html and "<p>Second.</p>" in html


def test_a_lone_tag_line_is_an_html_block_without_a_paragraph_as_in_goldmark():
    # CommonMark's HTML block type 7 (checked against Hugo 0.111 with unsafe = true).
    html = markdown_to_html('Para.\n\n<img src="a.png" alt="x">\n\nline<br>\n\n<br>\n\n<img src="a.png"\n     alt="m">\n',
                            raw_html=True)
    assert html == ('<p>Para.</p>\n<img src="a.png" alt="x">\n<p>line<br></p>\n<br>\n'
                    '<p><img src="a.png"\n     alt="m"></p>')


def test_a_nul_character_is_written_as_the_replacement_character():
    # CommonMark's rule for insecure characters (goldmark applies it to text); a NUL in a page is
    # a parse error browsers each handle their own way.
    assert markdown_to_html("a\x00b `c\x00d`") == "<p>a\ufffdb <code>c\ufffdd</code></p>"
    # Every control character HTML forbids (C0 but tab, LF, FF, CR; DEL and C1) too.
    assert markdown_to_html("a\x1bb\x0bc\x7fd\x85e f") == "<p>a\ufffdb\ufffdc\ufffdd\ufffde f</p>"


def test_a_ten_digit_number_is_left_as_written_in_raw_html_and_in_code():
    html = markdown_to_html("<div>\n1234567890. in html\n</div>\n\n- item\n\n      1234567890. code in item\n",
                            raw_html=True)
    assert "1234567890. in html" in html and "<code>1234567890. code in item\n</code>" in html


def test_an_empty_item_of_a_loose_list_holds_no_paragraph():
    assert "<li>\n\n</li>" in markdown_to_html("- a\n\n-\n\n- c\n") and "<p>\n</p>" not in markdown_to_html("- a\n\n-\n\n- c\n")


def test_a_fence_with_options_and_no_language_has_no_language_as_in_hugo():
    # ``` {linenos=true} gave <code class="language-linenos=true" data-lang="linenos=true">.
    from runpost.markup.codeblocks import parse_fence_info

    assert parse_fence_info("{linenos=true}") == ("", {"linenos": "true"})
    assert parse_fence_info(" {linenos=table, hl_lines=[2]} ") == ("", {"linenos": "table", "hl_lines": "2"})
    assert parse_fence_info("{.python}") == ("python", {})          # pandoc's form names the language
    html = markdown_to_html("``` {linenos=true}\nplain text\n```\n")
    assert "plain text" in html and "language-" not in html and "data-lang" not in html


@pytest.mark.parametrize("info, expected", [
    # Each failed the build with "bad code block options: cannot read option at ''".
    ("{.python .numberLines}", ("python", {"class": "numberLines"})),      # pandoc: the first class names it
    ("js {#second .wide}", ("js", {"id": "second", "class": "wide"})),
    ("py {.a .b}", ("py", {"class": "a b"})),
    ("py { .a }", ("py", {"class": "a"})),
    ("{r, echo=FALSE, fig.width=6}", ("r", {"echo": "FALSE", "fig.width": "6"})),   # R Markdown, blogdown
    ("{#x}", ("", {"id": "x"})),
    # Read so before, and still (found by review):
    ("{python} {exec=true}", ("python", {"exec": "true"})),
    ("{.python} {exec=true}", ("python", {"exec": "true"})),
    ("{=html}", ("=html", {})),                                                # pandoc's raw block, shown as code
])
def test_pandoc_goldmark_and_r_markdown_fence_attributes_are_read(info, expected):
    from runpost.markup.codeblocks import parse_fence_info

    assert parse_fence_info(info) == expected
    html = markdown_to_html(f"```{info}\nx = 1\n```\n")
    assert "x" in html and "<pre" in html


def test_options_whose_brace_is_never_closed_are_an_error_not_plain_code():
    # ```python {exec=true: the block was shown as code and never run, without a word.
    from runpost.markup.codeblocks import parse_fence_info

    with pytest.raises(ValueError, match="never closed"):
        parse_fence_info("python {exec=true")
    assert parse_fence_info("js {") == ("js", {})      # a lone brace is no options


def test_an_empty_hl_lines_marks_no_line_as_in_hugo():
    from runpost.markup.codeblocks import display_option_problems

    assert display_option_problems({"hl_lines": "[]"}) == [] and display_option_problems({"hl_lines": ""}) == []
    html = markdown_to_html("```go {linenos=table,hl_lines=[]}\npackage main\n```\n")
    assert "package" in html and "hl" not in re.findall(r'class="([^"]*)"', html)


def test_a_paragraph_indented_less_than_the_items_text_after_a_blank_line_ends_the_list_as_in_goldmark():
    # Hugo 0.111's output for these sources (checked with hugo): the lists stay tight.
    html = markdown_to_html("1. First step\n\n  Not indented enough.\n\n2. Second step\n3. Third\n\n- a\n\n para\n\n- b\n- c\n")
    assert "\n".join(line for line in html.splitlines() if line) == ("<ol>\n<li>First step</li>\n</ol>\n<p>Not indented enough.</p>\n<ol start=\"2\">\n"
                    "<li>Second step</li>\n<li>Third</li>\n</ol>\n<ul>\n<li>a</li>\n</ul>\n<p>para</p>\n"
                    "<ul>\n<li>b</li>\n<li>c</li>\n</ul>")
    # Indented to the item's text, the paragraph is the item's (and the list loose).
    assert "<li>\n<p>a</p>\n<p>para in a</p>\n</li>" in markdown_to_html("- a\n\n  para in a\n\n- b\n")


def test_patterns_rewritten_to_read_in_linear_time_keep_their_answers():
    # Found quadratic by a hostile-input review (each took seconds to minutes on a post of
    # 20-800 KB); the rewritten patterns must say what the old ones said.
    from runpost.content.scan import _MARKDOWN_TARGET
    from runpost.markup.hugo_compat.inline import _TRAILING_SPACE
    import random

    old_trailing = re.compile(r"[ \t]+(</(?:p|li|dt|dd|td|th|h[1-6])>)")
    chooser = random.Random(7)
    for _ in range(3000):
        text = "".join(chooser.choice(["a", " ", "\t", "</p>", "</li>", "<p>", "  "]) for _ in range(chooser.randint(0, 16)))
        assert _TRAILING_SPACE.sub(r"\1", text) == old_trailing.sub(r"\1", text), text
    targets = lambda text: [match.group(2) or match.group(3) for match in _MARKDOWN_TARGET.finditer(text)]
    assert targets('[a](/x "t (p)") [b](/y \'q\') [c](/z (p)) [d](<s p> "t") ![i](/i.png)') == \
        ["/x", "/y", "/z", "s p", "/i.png"]
    assert targets('[a](/x ) [b](/y "never closed)') == ["/x"]     # CommonMark: the second is text
    assert targets('[a](#nowhere "say \\"hi\\"") [b](/z \'it\\\'s\')') == ["#nowhere", "/z"]   # escaped quotes
    assert markdown_to_html("[a](x(((y)))z)") == '<p><a href="x(((y)))z">a</a></p>'
    assert markdown_to_html("[a](" * 40 + "x") == "<p>" + "[a](" * 40 + "x</p>"     # deeper than 32: text
    assert markdown_to_html('[a](/x "t\n\nu")') == '<p>[a](/x &ldquo;t</p>\n<p>u")</p>'

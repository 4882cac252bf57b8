"""render.render_content: placeholders -> shortcode and cell HTML; errors at the call's file:line:col."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from runpost.config import DEFAULT_TEMPLATES
from runpost.errors import BuildErrors
from runpost.markup.markdown import markdown_to_html
from runpost.post import CellOutput, Figure, FrontMatter, Post, Results
from runpost.site.environment import make_environment
from runpost.site.fragments import render_content, syntax_css
from runpost.markup.shortcodes import BUILTINS, parse_shortcodes

ENGINE_TEMPLATES = DEFAULT_TEMPLATES
REFS = {key: "/posts/rnn-vs-lstm/" for key in
        ("rnn-vs-lstm", "posts/rnn-vs-lstm", "posts/rnn-vs-lstm.md", "posts/rnn-vs-lstm/index.md", "/posts/rnn-vs-lstm/")}


@pytest.fixture
def site_templates(tmp_path):
    (tmp_path / "shortcodes").mkdir()
    (tmp_path / "shortcodes" / "note.html").write_text('<aside class="note">{{ inner }}</aside>')
    (tmp_path / "shortcodes" / "echo.html").write_text(
        "{{ positional|join(',') }}|{{ params|dictsort }}|{{ page.url }}")
    (tmp_path / "shortcodes" / "broken.html").write_text("{{ 1 / 0 }}")
    return tmp_path


def render(body: str, site_templates: Path | None = None, values=None, outputs=None, raw_html=False) -> str:
    date = dt.datetime(2020, 5, 2)
    post = Post(path=Path("content/posts/t.md"), source="", meta=FrontMatter(title="t", date=date, publish_date=date),
                body=body, body_line=5, url="/posts/t/",
                results=Results(values=values or {}, outputs=outputs or {}))
    folders = ([site_templates] if site_templates else []) + [ENGINE_TEMPLATES]
    post = parse_shortcodes(post, known=BUILTINS | {"note", "echo", "broken"})
    post = dataclasses.replace(post, html=markdown_to_html(post.body, raw_html, final_ids=False))
    return render_content(post, REFS, make_environment(folders, raw_html=raw_html))


def errors_of(body: str, **kwargs) -> list[str]:
    with pytest.raises(BuildErrors) as raised:
        render(body, **kwargs)
    return [str(error) for error in raised.value.errors]


# ---------------------------------------------------------------- user templates

def test_user_shortcode_gets_params_positional_and_page(site_templates):
    assert render('{{< echo "a" "b" >}}', site_templates) == "a,b|[]|/posts/t/"


def test_a_shortcode_template_reads_the_pages_title_date_and_params_as_hugos_page_does(tmp_path):
    # `page.title` (Hugo's .Page.Title) was silently empty.
    (tmp_path / "shortcodes").mkdir()
    (tmp_path / "shortcodes" / "echo.html").write_text("{{ page.title }}|{{ page.date.year }}|{{ page.params | length }}")
    assert render("{{< echo >}}", site_templates=tmp_path).strip() == "t|2020|0"


def test_nested_shortcodes_render_inside_their_parent(site_templates):
    rendered = render('{{< note >}}see {{< ref "rnn-vs-lstm" >}}{{< /note >}}', site_templates)
    assert rendered == '<aside class="note">see /posts/rnn-vs-lstm/</aside>'


def test_percent_form_renders_its_inner_markdown(site_templates):
    rendered = render("{{% note %}}\nSome **bold** {{< ref rnn-vs-lstm >}}.\n{{% /note %}}", site_templates)
    assert rendered == '<aside class="note"><p>Some <strong>bold</strong> /posts/rnn-vs-lstm/.</p></aside>'


def test_template_failure_is_reported_at_the_call(site_templates):
    (message,) = errors_of("\n{{< broken >}}", site_templates=site_templates)
    assert message.startswith("content/posts/t.md:6:1: error: shortcode 'broken' failed: ZeroDivisionError")


# ---------------------------------------------------------------- built-ins

def test_highlight_renders_chroma_markup_with_pygments_classes():
    rendered = render("{{< highlight python >}}\nx = 1\n{{< /highlight >}}")
    assert rendered.startswith('<div class="highlight"><pre tabindex="0" class="chroma">'
                               '<code class="language-python" data-lang="python"><span class="line"><span class="cl">')
    assert '<span class="n">x</span>' in rendered and rendered.endswith("</code></pre></div>")


def test_highlight_table_line_numbers_mark_lines():
    rendered = render('{{< highlight python "linenos=table,hl_lines=2,linenostart=10" >}}\na\nb\n{{< /highlight >}}')
    assert '<span class="hl"><span class="lnt">11\n</span></span>' in rendered
    assert '<table class="lntable">' in rendered


def test_cell_shows_code_then_output():
    body = "```python {exec=true id=hello}\nprint('hi')\n```"
    rendered = render(body, outputs={"hello": CellOutput(stdout="hi <there>\n")})
    assert rendered.startswith('<div class="cell" id="hello"><div class="highlight">')
    assert rendered.endswith('<pre class="cell-output" tabindex="0"><code>hi &lt;there&gt;\n</code></pre></div>')


def test_cell_without_stored_output_shows_only_code():
    rendered = render("```python {exec=true}\nprint(1)\n```")
    assert "cell-output" not in rendered and 'id="cell-1"' in rendered


def test_cell_with_echo_and_output_off_shows_nothing_but_its_wrapper():
    rendered = render("```python {exec=true echo=false output=false}\nprint(1)\n```",
                      outputs={"cell-1": CellOutput(stdout="1\n")})
    assert rendered == '<div class="cell" id="cell-1"></div>'


def test_folded_cell_puts_its_code_in_details_and_keeps_its_output_in_view():
    rendered = render('```python {exec=true id=setup fold="Show the <setup> code"}\nprint(1)\n```',
                      outputs={"setup": CellOutput(stdout="1\n")})
    assert rendered.startswith('<div class="cell" id="setup"><details class="cell-fold">'
                               '<summary>Show the &lt;setup&gt; code</summary><div class="highlight">')
    assert rendered.endswith('</details><pre class="cell-output" tabindex="0"><code>1\n</code></pre></div>')


@pytest.mark.parametrize("option, summary", [("fold=true", "Show the code"), ("fold=false", None),
                                              ("", None), ("fold=true echo=false", None)])
def test_fold_true_uses_the_default_summary_and_false_or_no_echo_folds_nothing(option, summary):
    rendered = render(f"```python {{exec=true {option}}}\nx = 1\n```")
    if summary is None:
        assert "<details" not in rendered
    else:
        assert f'<details class="cell-fold"><summary>{summary}</summary><div class="highlight">' in rendered


def test_cell_shows_its_figures_after_its_output():
    figure = Figure("/posts/t/hello-1.png", 'Loss <"test">')
    rendered = render("```python {exec=true id=hello}\nplot()\n```",
                      outputs={"hello": CellOutput(stdout="hi\n", figures=(figure, figure))})
    shown = ('<figure class="cell-figure"><img src="/posts/t/hello-1.png" alt="Loss &lt;&quot;test&quot;&gt;"'
             ' loading="lazy"></figure>')
    assert rendered.endswith(f"<code>hi\n</code></pre>{shown}{shown}</div>")


def test_cell_with_output_off_shows_no_figures():
    rendered = render("```python {exec=true output=false}\nplot()\n```",
                      outputs={"cell-1": CellOutput(figures=(Figure("/posts/t/cell-1-1.png", "Loss"),))})
    assert "<img" not in rendered and "cell-figure" not in rendered


def test_youtube_is_a_click_to_load_link_without_third_party_requests():
    rendered = render('{{< youtube id="LHXXI4-IEns" title="A talk" start="42" autoplay="true" class="wide" >}}')
    # The template's last newline stays, as in Go templates (and as on the page: one environment).
    assert rendered.removesuffix("\n") == (
        '<div class="youtube-embed wide" data-embed><a class="youtube-embed__link" href="https://www.youtube.com/watch?v=LHXXI4-IEns"'
        ' data-youtube-id="LHXXI4-IEns" data-title="A talk" data-start="42" data-autoplay="1">'
        '<span class="youtube-embed__play" aria-hidden="true"></span>'
        '<span class="youtube-embed__label">Play video: A talk (YouTube)</span></a></div>')


def test_youtube_takes_its_class_as_the_second_positional_parameter_as_hugo_does():
    assert render("{{< youtube LHXXI4-IEns my-class >}}").startswith(
        '<div class="youtube-embed my-class" data-embed><a class="youtube-embed__link" '
        'href="https://www.youtube.com/watch?v=LHXXI4-IEns"')


def test_vimeo_is_a_click_to_load_link_as_youtube_is():
    assert render('{{< vimeo id="146022717" title="A talk" >}}').removesuffix("\n") == (
        '<div class="vimeo-embed" data-embed><a class="vimeo-embed__link" href="https://vimeo.com/146022717"'
        ' data-vimeo-id="146022717" data-title="A talk"><span class="vimeo-embed__play" aria-hidden="true"></span>'
        '<span class="vimeo-embed__label">Play video: A talk (Vimeo)</span></a></div>')
    assert errors_of('{{< vimeo "1 onclick=alert(1)" >}}') == [
        "content/posts/t.md:5:1: error: vimeo needs a video id like {{< vimeo 146022717 >}}, got '1 onclick=alert(1)'"]


def test_tweet_and_instagram_are_links_to_the_post_and_load_nothing():
    # Unknown shortcodes before: a Hugo post using either failed to build.
    assert render('{{< tweet user="SanDiegoZoo" id="1453110110599868418" >}}').removesuffix("\n") == (
        '<p class="tweet-link" data-embed><a href="https://x.com/SanDiegoZoo/status/1453110110599868418">'
        'Post by @SanDiegoZoo on X</a></p>')
    assert 'href="https://x.com/i/web/status/1453110110599868418"' in render("{{< tweet 1453110110599868418 >}}")
    assert errors_of('{{< tweet user="a b" id="1?" >}}') == [
        "content/posts/t.md:5:1: error: tweet needs a post id and its user like {{< tweet user=\"SanDiegoZoo\" "
        "id=\"1453110110599868418\" >}}, got user 'a b', id '1?'"]
    assert len(errors_of("{{< tweet a b 123 >}}")) == 1      # a third argument was dropped without a word
    assert errors_of("{{< instagram >}}") == [
        "content/posts/t.md:5:1: error: instagram needs a post id like {{< instagram BWNjjyYFxVx >}}, got ''"]
    assert render("{{< instagram BWNjjyYFxVx >}}").removesuffix("\n") == (
        '<p class="instagram-link" data-embed><a href="https://www.instagram.com/p/BWNjjyYFxVx/">A post on Instagram</a></p>')
    assert "script" not in render("{{< tweet user=a id=1 >}}") + render("{{< instagram x >}}")


def test_hugos_older_names_vimeo_simple_twitter_and_instagram_simple_render_as_their_built_ins():
    # Hugo 0.111 still ships them (its "Rich Content" sample post uses them): unknown shortcodes before.
    assert render("{{< vimeo_simple 48912912 >}}") == render("{{< vimeo 48912912 >}}")
    tweet = render('{{< tweet user="SanDiegoZoo" id="1453110110599868418" >}}')
    assert render('{{< twitter_simple user="SanDiegoZoo" id="1453110110599868418" >}}') == tweet
    assert render('{{< twitter user="SanDiegoZoo" id="1453110110599868418" >}}') == tweet
    assert render("{{< instagram_simple BWNjjyYFxVx >}}") == render("{{< instagram BWNjjyYFxVx >}}")
    assert errors_of("{{< vimeo_simple abc >}}") == [
        "content/posts/t.md:5:1: error: vimeo_simple needs a video id like {{< vimeo 146022717 >}}, got 'abc'"]
    assert len(errors_of('{{< twitter_simple user="x" id="nope" >}}')) == 1


def test_ref_trims_the_spaces_around_its_target_as_hugo_does():
    assert render('{{< ref "  rnn-vs-lstm  " >}}') == render('{{< ref "rnn-vs-lstm" >}}') == "/posts/rnn-vs-lstm/"


def test_a_sites_own_template_of_a_linking_built_in_takes_its_own_parameters(tmp_path):
    # A site's tweet.html taking a URL failed the built-in's id check once tweet became a built-in.
    (tmp_path / "shortcodes").mkdir()
    (tmp_path / "shortcodes" / "tweet.html").write_text('<a href="{{ positional[0] }}">post</a>')
    (tmp_path / "shortcodes" / "youtube.html").write_text('<a href="{{ params.url }}">video</a>')
    assert render('{{< tweet "https://x.com/jack/status/20" >}}', site_templates=tmp_path).strip() == \
        '<a href="https://x.com/jack/status/20">post</a>'
    assert 'href="https://example.com/v.mp4"' in render('{{< youtube url="https://example.com/v.mp4" >}}',
                                                        site_templates=tmp_path)


def test_gist_is_a_link_to_the_gist_and_loads_no_script():
    assert render('{{< gist spf13 7896402 "img.html" >}}').removesuffix("\n") == (
        '<p class="gist-link" data-embed><a href="https://gist.github.com/spf13/7896402#file-img-html">'
        'img.html in gist 7896402 by spf13 (GitHub)</a></p>')
    assert "script" not in render("{{< gist spf13 7896402 >}}")
    assert errors_of("{{< gist spf13 >}}") == [
        "content/posts/t.md:5:1: error: gist needs a GitHub user and a gist id like {{< gist spf13 7896402 >}}, got 'spf13 '"]


def test_param_in_a_preview_shows_the_value_the_code_ran_with():
    # `--param n=100` ran the code with 100; {{< param n >}} said the front matter's 10 beside it.
    date = dt.datetime(2020, 5, 2, tzinfo=dt.timezone.utc)
    meta = FrontMatter(title="t", date=date, publish_date=date, params={"n": 10, "m": 2}, lines={"params": 4})
    post = parse_shortcodes(Post(path=Path("content/posts/t.md"), source="", meta=meta, url="/posts/t/", body_line=5,
                                 body="{{< param n >}} {{< param m >}}", results=Results(overrides={"n": 100})),
                            known=BUILTINS)
    post = dataclasses.replace(post, html=markdown_to_html(post.body, False, final_ids=False))
    assert render_content(post, REFS, make_environment([ENGINE_TEMPLATES])) == "<p>100 2</p>"


def test_param_reads_the_front_matter_params_map_by_its_name_as_hugo_does():
    # `{{< param "params.mood" >}}` was "not in the post's front matter" beside a `params:` map.
    date = dt.datetime(2020, 5, 2, tzinfo=dt.timezone.utc)
    meta = FrontMatter(title="t", date=date, publish_date=date, params={"mood": "happy"}, extra={"extra": {"mood": "sad"}},
                       lines={"params": 4, "extra": 6})
    post = parse_shortcodes(Post(path=Path("content/posts/t.md"), source="", meta=meta, url="/posts/t/", body_line=5,
                                 body='A {{< param "params.mood" >}} B {{< param "extra.mood" >}} C {{< param mood >}}'),
                            known=BUILTINS)
    post = dataclasses.replace(post, html=markdown_to_html(post.body, False, final_ids=False))
    assert render_content(post, REFS, make_environment([ENGINE_TEMPLATES])) == "<p>A happy B sad C happy</p>"


def test_param_shows_a_front_matter_key_in_any_case_as_hugo_does():
    date = dt.datetime(2020, 5, 2)
    meta = FrontMatter(title="t", date=date.replace(tzinfo=dt.timezone.utc), publish_date=date, aliases=("old", "/a/"),
                       extra={"Author": "Ada <3", "social": {"Mastodon": "@a", "b": [1, "x"]}},
                       lines={"title": 2, "date": 3, "aliases": 4, "Author": 5, "social": 6})

    def rendered(body: str) -> str:
        post = parse_shortcodes(Post(path=Path("content/posts/t.md"), source="", meta=meta, url="/posts/t/",
                                     body_line=5, body=body), known=BUILTINS)
        post = dataclasses.replace(post, html=markdown_to_html(post.body, False, final_ids=False))
        return render_content(post, REFS, make_environment([ENGINE_TEMPLATES]))

    assert rendered("{{< param author >}} {{< param social.mastodon >}} {{< param title >}}") == "<p>Ada &lt;3 @a t</p>"
    # Printed as Hugo's templates print them (checked against Hugo 0.111).
    assert rendered("{{< param date >}} | {{< param aliases >}} | {{< param social >}}") == \
        "<p>2020-05-02 00:00:00 +0000 UTC | [old /a/] | map[b:[1 x] mastodon:@a]</p>"
    with pytest.raises(BuildErrors) as raised:
        rendered("See {{< param nope >}}")
    assert [str(error) for error in raised.value.errors] == [
        "content/posts/t.md:5:5: error: param 'nope' is not in the post's front matter"]


def test_self_closing_highlight_renders_an_empty_block_as_hugo_does():
    assert render("{{< highlight python />}}") == (
        '<div class="highlight"><pre tabindex="0" class="chroma">'
        '<code class="language-python" data-lang="python"></code></pre></div>')


def test_highlight_of_only_blank_lines_renders_no_lines_as_chroma_does():
    assert render("{{< highlight text >}}\n\n\n{{< /highlight >}}").endswith(
        '<code class="language-text" data-lang="text"></code></pre></div>')


def test_youtube_defaults_omit_start_autoplay_and_class():
    rendered = render("{{< youtube LHXXI4-IEns >}}")
    assert rendered.startswith('<div class="youtube-embed" data-embed><a ')
    assert 'data-title="YouTube video"' in rendered and "data-start" not in rendered and "data-autoplay" not in rendered
    assert "<iframe" not in rendered and "ytimg" not in rendered


def test_figure_caption_is_markdown_and_escaped_params_stay_escaped():
    rendered = render('{{< figure src="/a.png" caption="A *big* <b>" link="/x?a=1&b=2" >}}')
    assert "<em>big</em>" in rendered and 'href="/x?a=1&amp;b=2"' in rendered and "<b>" not in rendered


@pytest.mark.parametrize("target", ["rnn-vs-lstm", "posts/rnn-vs-lstm.md", "posts/rnn-vs-lstm/index.md"])
def test_ref_and_relref_give_the_site_path(target):
    assert render(f'{{{{< ref "{target}" >}}}} {{{{< relref "{target}#sec" >}}}}') == \
        "<p>/posts/rnn-vs-lstm/ /posts/rnn-vs-lstm/#sec</p>"


@pytest.mark.parametrize("target", ["./rnn-vs-lstm.md", "./rnn-vs-lstm", "../posts/rnn-vs-lstm", "./rnn-vs-lstm/index.md"])
def test_ref_and_relref_read_a_relative_path_from_the_pages_folder_as_hugo_does(target):
    # t.md is in content/posts/: "./x.md" is its sibling. Each was "is not a post".
    assert render(f'See {{{{< relref "{target}#sec" >}}}}.') == "<p>See /posts/rnn-vs-lstm/#sec.</p>"


def test_ref_from_a_bundle_reads_a_relative_path_from_the_bundles_folder(tmp_path):
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    (posts / "bundle").mkdir(parents=True)
    (posts / "a.md").write_text("---\ntitle: A\ndate: 2024-01-01\n---\n## Local\n")
    (posts / "bundle" / "index.md").write_text('---\ntitle: B\ndate: 2024-01-01\n---\n'
                                               '[a]({{< relref "../a.md#local" >}}) [b]({{< ref "../a" >}})\n')
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '<a href="../a/#local">a</a> <a href="../a/">b</a>' in (tmp_path / "site/posts/bundle/index.html").read_text()


def test_ref_names_list_pages_and_ignores_case_as_hugo_does(tmp_path):
    # Hugo links each of these; runpost said "is not a post" and failed the build.
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (posts / "Trip-Report.md").write_text("---\ntitle: Trip\ndate: 2024-01-01\ntags: [Go]\n---\nTrip.\n")
    (posts / "code-options.md").write_text(
        "---\ntitle: Code\ndate: 2024-01-02\n---\n"
        '[1]({{< ref "/" >}}) [2]({{< relref "/posts" >}}) [3]({{< relref "posts/" >}}) [4]({{< relref "/tags" >}}) '
        '[5]({{< relref "/tags/go" >}}) [6]({{< relref "/tags/Go/" >}}) [7]({{< relref "trip-report" >}}) '
        '[8]({{< relref "Code-Options" >}}) [9]({{< relref "code-options.MD" >}}) '
        '[10]({{< relref "/posts/code-options/index" >}}) [11]({{< relref "/posts/_index.md" >}})\n')
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site/posts/code-options/index.html").read_text()
    assert re.findall(r'<a href="([^"]*)">\d+</a>', page) == [
        "../../", "../", "../", "../../tags/", "../../tags/go/", "../../tags/go/", "../trip-report/", "./", "./", "./", "../"]


def test_heading_ids_and_tag_urls_lower_case_as_go_does(tmp_path):
    # Python's lower() makes `İ` an i with a combining dot and a final `Σ` a `ς`; Hugo (Go) makes
    # `i` and `σ`: a link to Hugo's #istanbul-notes was a false error, and /tags/izmir/ moved.
    from conftest import run_build

    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (posts / "t.md").write_text("---\ntitle: T\ndate: 2024-01-01\ntags: [İzmir, ΟΔΟΣ]\n---\n"
                                "## İstanbul ΟΔΟΣ Notes\n\nSee [the notes](#istanbul-οδοσ-notes).\n", encoding="utf-8")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site/posts/t/index.html").read_text(encoding="utf-8")
    assert '<h2 id="istanbul-οδοσ-notes">' in page
    assert (tmp_path / "site/tags/izmir/index.html").is_file() and (tmp_path / "site/tags/οδοσ/index.html").is_file()


def test_missing_ref_target_is_an_error_at_the_call():
    assert errors_of('See {{< ref "rnn-vs-lstn" >}}.') == [
        "content/posts/t.md:5:5: error: ref target 'rnn-vs-lstn' is not a post or list page of the site (did you mean 'rnn-vs-lstm'?)"]


def test_value_formats_published_values_with_dotted_paths():
    values = {"acc": 0.8912, "runs": [{"name": "<lstm>"}]}
    assert render('{{< value acc ".2%" >}} {{< value runs.0.name >}}', values=values) == "<p>89.12% &lt;lstm&gt;</p>"


def test_a_published_name_with_a_dot_is_found_as_it_is_and_an_ambiguous_one_is_an_error():
    # {"acc": {"test": 0.5}, "acc.test": 0.91}: the page showed 0.5, silently.
    assert render("Loss {{< value loss.val >}}.", values={"loss.val": 0.25}) == "<p>Loss 0.25.</p>"
    assert errors_of("Acc {{< value acc.test >}}", values={"acc": {"test": 0.5}, "acc.test": 0.91}) == [
        "content/posts/t.md:5:5: error: value 'acc.test' is ambiguous: the code published 'acc.test', and 'acc' "
        "holding the item 'test'; rename one"]
    # Published as it is, and a dict without that item: the name is the published one.
    assert render("Acc {{< value acc.test >}}", values={"acc": {"train": 0.5}, "acc.test": 0.91}) == "<p>Acc 0.91</p>"


def test_a_misspelt_parameter_of_value_or_table_is_an_error_naming_the_one_meant():
    # `fromat=` printed every digit and `captoin=` dropped the caption, and nothing said so.
    values = {"acc": 0.8912, "rows": [{"a": 1}]}
    assert errors_of('A {{< value acc fromat=".2f" >}} {{< table rows captoin="x" >}} {{< value acc bogus=1 >}}',
                     values=values) == [
        "content/posts/t.md:5:17: error: unknown value parameter 'fromat' (did you mean 'format'?)",
        "content/posts/t.md:5:49: error: unknown table parameter 'captoin' (did you mean 'caption'?)",
        "content/posts/t.md:5:79: error: unknown value parameter 'bogus' (it takes name, format)"]
    # One positional too many: `{{< table rows ".2f" >}}` printed every digit.
    assert errors_of('A {{< table rows ".2f" >}} {{< value acc ".2f" "x" >}}', values=values) == [
        "content/posts/t.md:5:18: error: table takes 1 positional parameter (name); give caption= or format= by name",
        "content/posts/t.md:5:48: error: value takes 2 positional parameters (name, format)"]


def test_a_lists_item_is_named_by_its_place_in_digits_and_a_tables_empty_cell_is_empty():
    values = {"rows": [{"a": 1, "b": None}, {"a": 2, "b": 3}]}
    assert render("{{< table rows >}}", values=values).count("<td></td>") == 1       # not "None"
    for name in ("rows.-1.a", "rows.0_0.a"):
        assert errors_of(f"A {{{{< value {name} >}}}}", values=values) == [
            f"content/posts/t.md:5:3: error: value '{name}': 'rows' has no item '{name.split('.')[1]}'"]


def test_a_tables_format_writes_its_numbers_and_only_its_numbers():
    values = {"t": [["model", "acc", "ok"], ["RNN", 0.853214, True], ["LSTM", 1, False]]}
    rendered = render('{{< table t format=".3f" >}}', values=values)
    assert ('<tr><td>RNN</td><td class="num">0.853</td><td>true</td></tr>'
            '<tr><td>LSTM</td><td class="num">1.000</td><td>false</td></tr>') in rendered, rendered
    huge = {"big": [{"n": 10 ** 400}, {"n": 0.5}]}          # an int too large for a float: "internal error: OverflowError"
    assert errors_of('{{< table big format=".2f" >}} and {{< value big.0.n "e" >}}', values=huge) == [
        "content/posts/t.md:5:1: error: cannot format the numbers of table 'big' with '.2f': int too large to convert to float",
        "content/posts/t.md:5:36: error: cannot format value 'big.0.n' with 'e': int too large to convert to float"]
    assert errors_of('{{< table t format=".3q" >}}', values=values) == [
        "content/posts/t.md:5:1: error: cannot format the numbers of table 't' with '.3q': "
        "Unknown format code 'q' for object of type 'float'"]


def test_a_tables_format_with_a_precision_leaves_a_column_of_whole_numbers_as_they_are():
    # From a review: format=".4f" wrote a column of layer sizes as 16.0000 and 128.0000.
    values = {"rows": [{"hidden": 16, "acc": 0.71484, "n": 1200}, {"hidden": 128, "acc": 1, "n": 34000}]}
    rendered = render('{{< table rows format=".4f" >}}', values=values)
    assert ('<tr><td class="num">16</td><td class="num">0.7148</td><td class="num">1200</td></tr>'
            '<tr><td class="num">128</td><td class="num">1.0000</td><td class="num">34000</td></tr>') in rendered, rendered
    assert '<td class="num">34,000</td>' in render('{{< table rows format="," >}}', values=values)
    grouped = render('{{< table rows format=",.2f" >}}', values={"rows": [{"params": 1250000, "acc": 0.71484}]})
    assert '<td class="num">1,250,000</td><td class="num">0.71</td>' in grouped, grouped     # (a review: 1250000)


def test_unpublished_value_is_an_error_at_its_location():
    assert errors_of("\nAccuracy: {{< value acc >}}") == [
        "content/posts/t.md:6:11: error: value 'acc' was not published by the post's code (runpost.publish)"]


def test_table_from_dicts_has_a_header_and_right_aligned_numbers():
    values = {"results": [{"model": "RNN", "accuracy": 0.85}, {"model": "LSTM", "accuracy": 0.89}]}
    rendered = render('{{< table results caption="Test *accuracy*" >}}', values=values)
    assert rendered == ('<figure class="table-figure"><figcaption id="table-results">Test <em>accuracy</em></figcaption>'
                        '<div class="table-wrapper" tabindex="0" role="region" aria-labelledby="table-results"><table>'
                        '<thead><tr><th>model</th><th class="num">accuracy</th></tr></thead><tbody>'
                        '<tr><td>RNN</td><td class="num">0.85</td></tr><tr><td>LSTM</td><td class="num">0.89</td></tr>'
                        "</tbody></table></div></figure>")


def test_table_from_dicts_shows_every_key_of_every_row():
    # The header was the first row's keys: a key only a later row had (0.88 here) was dropped unseen.
    values = {"t": [{"model": "RNN"}, {"model": "LSTM", "acc": 0.88}]}
    rendered = render("{{< table t >}}", values=values)
    assert '<th>model</th><th class="num">acc</th>' in rendered
    assert "<tr><td>RNN</td><td></td></tr>" in rendered and '<td class="num">0.88</td>' in rendered


def test_table_from_lists_uses_the_first_row_as_header():
    rendered = render("{{< table t >}}", values={"t": [["a", "b"], [1, "x"]]})
    assert '<th class="num">a</th><th>b</th>' in rendered and '<td class="num">1</td><td>x</td>' in rendered


def test_table_of_the_wrong_shape_is_an_error():
    assert errors_of("{{< table t >}}", values={"t": 3}) == [
        "content/posts/t.md:5:1: error: table 't' must be a list of dicts or a list of lists (header first), not an int"]


def test_every_render_error_in_a_post_is_reported():
    assert len(errors_of("{{< value a >}} {{< value b >}} {{< ref nowhere >}}")) == 3


def test_syntax_css_has_a_light_and_a_dark_style():
    css = syntax_css()
    assert ".chroma .k" in css and "@media (prefers-color-scheme: dark)" in css and ".chroma .hl" in css


def test_shortcode_in_a_heading_gives_its_output_text_to_the_id_not_its_token(site_templates):
    rendered = render('## Search {{< note >}}new{{< /note >}}\n\n## Search new', site_templates)
    assert '<h2 id="search-new">Search <aside class="note">new</aside></h2>' in rendered
    assert "RPSC" not in rendered


def test_heading_ids_are_unique_after_shortcodes_add_their_text(site_templates):
    rendered = render('## Search {{< note >}}new{{< /note >}}\n\n## Search new', site_templates)
    assert '<h2 id="search-new">Search <aside' in rendered
    assert '<h2 id="search-new-1">Search new</h2>' in rendered


def test_reference_map_names_a_bundle_by_its_folder_with_or_without_its_slash_as_hugo_does():
    from runpost.site.pages import reference_map

    date = dt.datetime(2020, 5, 2)
    meta = FrontMatter(title="t", date=date, publish_date=date, slug="photo-gallery")
    bundle = Post(path=Path("content/posts/gallery/index.md"), source="", meta=meta, body="", body_line=5,
                  url="/posts/photo-gallery/", bundle=Path("content/posts/gallery"))
    refs = reference_map([bundle])
    assert {refs[name] for name in ("gallery", "gallery/", "posts/gallery/", "/posts/gallery/", "gallery/index.md",
                                    "photo-gallery")} == {"/posts/photo-gallery/"}


def test_printed_output_shows_as_a_terminal_shows_it():
    # Raw ESC, BEL and NUL went into the page (colours as garbage), and each \r update of a
    # progress bar became a line of its own.
    from runpost.site.fragments import terminal_text

    assert terminal_text("\x1b[31mred\x1b[0m and \x1b[1;32mgreen\x1b[0m\n") == "red and green\n"
    assert terminal_text(" 10%|#   |\r 50%|##  |\r100%|####|\ndone\n") == "100%|####|\ndone\n"
    assert terminal_text("windows\r\nlines\r\n") == "windows\nlines\n"
    assert terminal_text("ab\x08c, bell\x07\n") == "ac, bell\ufffd\n"
    assert terminal_text("plain <text>\n") == "plain <text>\n"
    assert terminal_text("a" * 40000 + "\b" * 40000 + "z\n") == "z\n"      # linear: it took 14 s

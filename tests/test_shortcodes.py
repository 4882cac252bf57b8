"""shortcodes.parse_shortcodes: Hugo's grammar, placeholders, cells, and errors at file:line:col."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from runpost.errors import BuildErrors
from runpost.post import FrontMatter, Post
from runpost.content.scan import find_code_blocks
from runpost.markup.shortcodes import BUILTINS, available_shortcodes, parse_shortcodes

KNOWN = BUILTINS | {"note", "mark", "badge", "params"}
BODY_LINE = 5      # the body starts on file line 5 in every test post


def make_post(body: str) -> Post:
    date = dt.datetime(2020, 5, 2)
    return Post(path=Path("content/posts/t.md"), source="", meta=FrontMatter(title="t", date=date, publish_date=date),
                body=body, body_line=BODY_LINE, url="/posts/t/")


def parse(body: str) -> Post:
    return parse_shortcodes(make_post(body), known=KNOWN)


def errors_of(body: str) -> list[str]:
    with pytest.raises(BuildErrors) as raised:
        parse(body)
    return [str(error) for error in raised.value.errors]


# ---------------------------------------------------------------- grammar

def test_each_call_is_replaced_by_its_token():
    post = parse('Text {{< badge "new" >}} and {{< youtube LHXXI4-IEns >}}.')
    first, second = post.shortcodes
    assert post.body == f"Text {first.token} and {second.token}."
    assert (first.name, first.positional, first.named, first.inner) == ("badge", ("new",), {}, None)
    assert second.positional == ("LHXXI4-IEns",)


def test_tokens_are_deterministic_and_alphanumeric():
    body = '{{< badge "a" >}} {{< badge "b" >}}'
    assert parse(body).body == parse(body).body
    assert all(shortcode.token.isalnum() for shortcode in parse(body).shortcodes)


def test_named_parameters_in_every_quoting_style():
    (call,) = parse('{{< figure src="/a b.png" alt=bare caption=`raw "q"` title="say \\"hi\\"" >}}').shortcodes
    assert call.named == {"src": "/a b.png", "alt": "bare", "caption": 'raw "q"', "title": 'say "hi"'}


def test_raw_strings_may_span_lines():
    (call,) = parse("{{< params `line one\nline two` >}}").shortcodes
    assert call.positional == ("line one\nline two",)


def test_closing_tag_gives_inner_text_and_accepts_spaced_slash():
    first, second = parse("{{< note >}}one{{< /note >}}\n{{< note >}}two{{< / note >}}").shortcodes
    assert (first.inner, second.inner) == ("one", "two")


def test_self_closing_call_has_no_inner():
    (call,) = parse("{{< note />}} after").shortcodes
    assert call.inner is None


def test_unpaired_call_takes_no_closing_tag_when_none_follows():
    calls = parse("{{< badge x >}}\n\n{{< note >}}in{{< /note >}}").shortcodes
    assert [(call.name, call.inner) for call in calls] == [("badge", None), ("note", "in")]


def test_percent_form_is_marked_as_markdown():
    (call,) = parse("{{% note %}}\n*md*\n{{% /note %}}").shortcodes
    assert call.markdown and call.inner == "\n*md*\n"


def test_nested_calls_are_children_with_tokens_in_the_inner_text():
    (outer,) = parse('{{< note >}}A {{< badge "x" >}} and {{< mark >}}m {{< badge "y" >}}{{< /mark >}}{{< /note >}}').shortcodes
    badge, mark = outer.children
    assert outer.inner == f"A {badge.token} and {mark.token}"
    assert mark.inner == f"m {mark.children[0].token}"


def test_location_is_file_line_and_column_of_the_opening_braces():
    (call,) = parse("first line\n  see {{< badge x >}}").shortcodes
    assert (call.location.line, call.location.column) == (BODY_LINE + 1, 7)


def test_comment_form_prints_the_call_as_hugo_does():
    post = parse('Write {{%/* note "w" */%}} here.')
    assert post.body == 'Write {{% note "w" %}} here.' and post.shortcodes == ()


def test_comment_form_with_angle_brackets_is_markdown_text_as_in_hugo():
    # Hugo gives goldmark the call as text: literal in `code`, quotes typographed in prose.
    post = parse('`{{</* figure src="/a.png" */>}}`')
    assert post.body == '`{{< figure src="/a.png" >}}`' and post.shortcodes == ()


# ---------------------------------------------------------------- code blocks

@pytest.mark.parametrize("fence", ["```", "~~~", "````"])
def test_shortcodes_in_fenced_code_stay_literal(fence):
    body = f'{fence}\n{{{{< figure src="/a.png" >}}}}\n{fence}\n'
    post = parse(body)
    assert post.body == body and post.shortcodes == ()


def test_shortcodes_in_indented_code_stay_literal():
    body = "Para.\n\n    {{< youtube abc >}}\n\nAfter {{< badge x >}}."
    post = parse(body)
    assert "    {{< youtube abc >}}" in post.body
    assert [call.name for call in post.shortcodes] == ["badge"]


def test_indented_lines_in_a_list_are_not_code():
    post = parse("- item\n\n    {{< badge x >}}\n")
    assert [call.name for call in post.shortcodes] == ["badge"]


def test_comment_form_inside_code_prints_without_the_comment_markers():
    post = parse("```html\n{{</* youtube abc */>}}\n```\n")
    assert post.body == "```html\n{{< youtube abc >}}\n```\n"


def test_unclosed_fence_runs_to_the_end_like_commonmark():
    (block,) = find_code_blocks("```\n{{< x >}}\nmore")
    assert block.end == len("```\n{{< x >}}\nmore")


# ---------------------------------------------------------------- cells

def test_exec_highlight_becomes_a_cell_with_code_byte_for_byte():
    body = 'Intro\n\n{{< highlight python "exec=true" >}}\nx = 1\n\nprint(x)  \n{{< /highlight >}}\n'
    post = parse(body)
    (cell,) = post.cells
    assert cell.code == "x = 1\n\nprint(x)  "
    assert post.body == f"Intro\n\n{cell.token}\n" and post.shortcodes == ()
    assert (cell.id, cell.index, cell.language, cell.echo, cell.output) == ("cell-1", 0, "python", True, True)
    assert cell.location.line == BODY_LINE + 2 and cell.code_line == BODY_LINE + 3


def test_exec_highlight_options_split_into_cell_settings_and_display():
    body = '{{< highlight python "exec=true,echo=false,id=train,timeout=30,linenos=table,hl_lines=1 3" >}}\na\n{{< /highlight >}}'
    (cell,) = parse(body).cells
    assert (cell.id, cell.echo, cell.timeout) == ("train", False, 30.0)
    assert cell.display == {"linenos": "table", "hl_lines": "1 3"}


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "inf", "1e999", "soon"])
def test_a_block_timeout_is_a_finite_number_of_seconds_above_zero(seconds):
    # inf and nan reached the runner, which failed with an internal error; 0 and -1 timed out at once.
    assert errors_of(f"```python {{exec=true timeout={seconds}}}\na\n```\n") == [
        f"content/posts/t.md:5:1: error: cell timeout must be a number of seconds greater than 0, got '{seconds}'"]


def test_fold_is_a_cell_option_not_a_highlight_option():
    (fenced,) = parse('```python {exec=true fold="Show the training loop"}\na\n```\n').cells
    (hugo,) = parse('{{< highlight python "exec=true,fold=true" >}}\na\n{{< /highlight >}}').cells
    assert (fenced.fold, fenced.display) == ("Show the training loop", {})
    assert (hugo.fold, hugo.display) == ("Show the code", {})


def test_exec_highlight_accepts_named_options():
    (cell,) = parse("{{< highlight python exec=true output=false >}}\na\n{{< /highlight >}}").cells
    assert cell.output is False


def test_non_exec_highlight_stays_a_shortcode():
    post = parse("{{< highlight python >}}\na\n{{< /highlight >}}")
    assert post.cells == () and post.shortcodes[0].name == "highlight"


@pytest.mark.parametrize("info", ["python {exec=true echo=false id=train}", "python {exec=true, echo=false, id=train}",
                                  'python {exec="true" echo="false" id="train"}'])
def test_exec_fence_becomes_a_cell_in_every_attribute_style(info):
    post = parse(f"Text\n\n```{info}\nimport os\nprint(1)\n```\n\nAfter\n")
    (cell,) = post.cells
    assert (cell.id, cell.echo, cell.code) == ("train", False, "import os\nprint(1)")
    assert cell.code_line == BODY_LINE + 3 and cell.location.line == BODY_LINE + 2
    assert post.body == f"Text\n\n{cell.token}\n\nAfter\n"


def test_plain_fence_with_options_stays_code():
    body = "```python {linenos=table}\na\n```\n"
    assert parse(body).body == body and parse(body).cells == ()


def test_cells_are_numbered_in_document_order_across_both_forms():
    body = "```python {exec=true}\na\n```\n\n{{< highlight python exec=true >}}\nb\n{{< /highlight >}}\n"
    assert [(cell.id, cell.index, cell.code) for cell in parse(body).cells] == [("cell-1", 0, "a"), ("cell-2", 1, "b")]


def test_duplicate_cell_ids_are_an_error_at_the_second_cell():
    body = "```python {exec=true id=a}\n1\n```\n\n```python {exec=true id=a}\n2\n```\n"
    assert errors_of(body) == [f"content/posts/t.md:{BODY_LINE + 4}:1: error: duplicate cell id 'a' "
                               f"(first used at content/posts/t.md:{BODY_LINE}:1)"]


# ---------------------------------------------------------------- errors

def test_unknown_shortcode_reports_line_column_and_suggestion():
    assert errors_of("ok\n\n  {{< figur src=x >}}") == [
        f"content/posts/t.md:{BODY_LINE + 2}:3: error: unknown shortcode 'figur' (did you mean 'figure'?)"]


def test_unterminated_quote_points_at_the_quote():
    assert errors_of('{{< figure src="/a.png >}}') == [
        f"content/posts/t.md:{BODY_LINE}:16: error: unterminated quoted string in shortcode parameters"]


def test_mixing_positional_and_named_parameters_is_an_error():
    assert errors_of("{{< figure /a.png alt=x >}}") == [
        f"content/posts/t.md:{BODY_LINE}:19: error: shortcode 'figure' mixes positional and named parameters"]


def test_a_single_quote_in_an_unquoted_positional_parameter_is_an_error_as_in_hugo():
    # From a review: {{< badge 'new' >}} showed the quotes; Hugo 0.111 refuses a ' there.
    message = "error: a single quote does not quote a shortcode parameter: write \"...\" (or `...` for text holding double quotes)"
    assert errors_of("{{< badge 'new' >}}") == [f"content/posts/t.md:{BODY_LINE}:11: {message}"]
    assert errors_of("{{< figure /a.png it's >}}") == [f"content/posts/t.md:{BODY_LINE}:21: {message}"]
    quoted = parse('{{< badge "it\'s" >}} {{< badge `it\'s "x"` >}} {{< figure src="a.png" alt=it\'s >}}').shortcodes
    assert [call.positional for call in quoted[:2]] == [("it's",), ('it\'s "x"',)]
    assert quoted[2].named["alt"] == "it's"         # a named value keeps it, as Hugo's does


def test_a_highlight_inside_a_highlight_is_an_error_at_the_inner_one():
    # From a review: each level escaped the HTML of the one inside again: 100 levels made a 9.6 MB
    # page, and a 60 KB post of 3,000 ran the machine out of memory.
    message = "error: a 'highlight' inside another highlight's code would show its HTML as code: close the first before opening the next"
    assert errors_of("{{< highlight go >}}\na {{< highlight py >}}x{{< /highlight >}}\n{{< /highlight >}}") == [
        f"content/posts/t.md:{BODY_LINE + 1}:3: {message}"]
    deep = "{{< highlight py >}}" * 300 + "x" + "{{< /highlight >}}" * 300
    assert len(errors_of(deep)) == 299


def test_stray_closing_tag_is_an_error():
    assert errors_of("text {{< /note >}}") == [
        f"content/posts/t.md:{BODY_LINE}:6: error: closing tag '{{{{< /note >}}}}' has no matching opening tag"]


def test_mismatched_closing_tag_is_reported():
    messages = errors_of("{{< note >}}{{< mark >}}x{{< /note >}}{{< /mark >}}")
    assert messages == [f"content/posts/t.md:{BODY_LINE}:39: error: closing tag '{{{{< /mark >}}}}' "
                        "has no matching opening tag"]


def test_unclosed_tag_is_an_error():
    assert errors_of("{{< badge x\n\nmore") == [
        f"content/posts/t.md:{BODY_LINE}:1: error: unclosed shortcode tag 'badge' (missing '>}}}}')"]


def test_highlight_without_closing_tag_is_an_error():
    assert errors_of("{{< highlight python >}}\ncode") == [
        f"content/posts/t.md:{BODY_LINE}:1: error: 'highlight' needs a closing tag '{{{{< /highlight >}}}}'"]


def test_self_closing_highlight_needs_no_closing_tag():
    (call,) = parse("{{< highlight python />}}\n").shortcodes
    assert (call.name, call.positional, call.inner) == ("highlight", ("python",), None)


def test_every_error_in_a_post_is_reported():
    assert len(errors_of("{{< nope >}}\n{{< nada >}}\n{{< figure a=\"x >}}")) == 3


# ---------------------------------------------------------------- known names

def test_available_shortcodes_lists_builtins_and_templates(tmp_path):
    (tmp_path / "site" / "shortcodes" / "sub").mkdir(parents=True)
    (tmp_path / "site" / "shortcodes" / "note.html").write_text("x")
    (tmp_path / "site" / "shortcodes" / "sub" / "deep.html").write_text("x")
    config = SimpleNamespace(templates_dirs=(tmp_path / "site", tmp_path / "missing"))
    assert available_shortcodes(config) == BUILTINS | {"note", "sub/deep"}


def test_default_known_names_are_the_builtins():
    with pytest.raises(BuildErrors):
        parse_shortcodes(make_post("{{< note >}}"))
    assert parse_shortcodes(make_post("{{< youtube x >}}")).shortcodes[0].name == "youtube"


def test_exec_on_a_block_that_is_not_python_is_an_error_at_the_block():
    errors = errors_of("Text\n\n```bash {exec=true}\necho hi\n```\n")
    assert errors[0].startswith("content/posts/t.md:7:1: error: only Python blocks can run")


# ---------------------------------------------------------------- built-ins as Hugo 0.111 takes them

@pytest.mark.parametrize("call, column, message", [
    ('{{< highlight go "linenos=tabel" >}}\nx\n{{< /highlight >}}', 19,
     "linenos must be true, false, table or inline, got 'tabel'"),
    ('{{< highlight go "linenos=table,hl_lines=2-x" >}}\nx\n{{< /highlight >}}', 33,
     "hl_lines must be line numbers and ranges like \"2 4-6\", got '2-x'"),
    ('{{< highlight go linenos=inline hl_lines=two >}}\nx\n{{< /highlight >}}', 33,
     "hl_lines must be line numbers and ranges like \"2 4-6\", got 'two'"),
    ('```go {linenos=yes}\nx\n```', 8, "linenos must be true, false, table or inline, got 'yes'"),
    ('Text {{< figure alt="no image" >}}', 6, 'figure needs an image: {{< figure src="image.png" >}}'),
    ('{{< figure "a.png" >}}', 1, 'figure needs an image: {{< figure src="image.png" >}}'),
])
def test_options_hugo_would_not_understand_are_errors_at_their_column(call, column, message):
    assert errors_of(call) == [f"content/posts/t.md:{BODY_LINE}:{column}: error: {message}"]


def test_highlight_options_hugo_understands_are_accepted():
    post = parse('{{< highlight go "linenos=inline,hl_lines=1 3-4,linenostart=40" >}}\nx\n{{< /highlight >}}\n'
                 '```go {linenos=table,hl_lines=[2,"4-5"]}\nx\n```\n')
    assert post.shortcodes[0].options == {"linenos": "inline", "hl_lines": "1 3-4", "linenostart": "40"}


def test_two_cell_ids_that_name_the_same_figure_files_are_an_error():
    # "a b" and "a-b" both saved a-b-1.png: one block's figure showed under the other's alt text.
    body = "```python {exec=true id=\"a b\"}\nx\n```\n\n```python {exec=true id=a-b}\ny\n```\n"
    assert errors_of(body) == [f"content/posts/t.md:{BODY_LINE + 4}:1: error: cell id 'a-b' names the same figure "
                               f"files as 'a b' (content/posts/t.md:{BODY_LINE}:1): a-b-1.png; choose another id"]


def test_an_executable_block_inside_a_quote_is_an_error_not_a_silent_no_op():
    # It was shown as code with stray exec="true" attributes, never run.
    assert errors_of("> Quoted:\n>\n> ```python {exec=true id=q}\n> print(1)\n> ```\n") == [
        f"content/posts/t.md:{BODY_LINE + 2}:1: error: exec=true on a block inside a quote: it would be shown, "
        "not run; move it out of the quote"]
    # Shown as code (a post about runpost), it is text.
    assert not parse("````markdown\n> ```python {exec=true}\n````\n").cells


def test_a_misspelled_code_block_option_runpost_reads_is_an_error_at_the_option():
    # `{exce=true}` was shown and never run, `timout=5` ran under the default limit: no word of either.
    # (The column is the option's, not the fence's: from a review.)
    assert errors_of("```python {exce=true}\nprint(1)\n```\n") == [
        "content/posts/t.md:5:12: error: unknown code block option 'exce' (did you mean 'exec'?; as written, the block is shown and never run)"]
    assert errors_of("```python {exec=true timout=5}\nprint(1)\n```\n") == [
        "content/posts/t.md:5:22: error: unknown code block option 'timout' (did you mean 'timeout'?)"]
    assert errors_of('{{< highlight python "exec=true,ecko=false" >}}\nprint(1)\n{{< /highlight >}}\n') == [
        "content/posts/t.md:5:33: error: unknown code block option 'ecko' (did you mean 'echo'?)"]
    # Hugo's attributes for the block's <div>, and display options, are not misspellings.
    parse('```python {title="app.py" linenos=true data-x=1 .wide}\nprint(1)\n```\n')
    parse('```console {expect="0 errors" isExec=1 exe=1}\n$ ls\n```\n')      # one edit away only, 4 letters up
    parse('```python {exec=true bold=true hold=1 old=2}\nprint(1)\n```\n')
    parse('```python {exec=true echo=false output=false fold=true id=a timeout=5}\nprint(1)\n```\n')


def test_another_tools_word_for_exec_is_an_error_naming_exec():
    # Quarto's and R Markdown's `execute`/`eval`: the block was shown, never run, and `value` failed far from it.
    for word in ("execute", "eval", "run"):
        assert errors_of(f"```python {{{word}=true}}\nprint(1)\n```\n") == [
            f"content/posts/t.md:5:12: error: unknown code block option '{word}' (did you mean 'exec'?; "
            "as written, the block is shown and never run)"]
    parse("```python {eval=false run=no}\nprint(1)\n```\n")       # not asking to run: nothing to say
    parse("```r {eval=true}\nprint(1)\n```\n```js {run=true}\nf()\n```\n")    # R Markdown's, on code runpost never runs


def test_a_misspelled_figure_parameter_is_an_error_naming_the_one_meant():
    # `scr=` said only "figure needs an image"; `captoin=` left the caption out without a word.
    assert errors_of('{{< figure scr="a.png" >}}\n{{< figure src="a.png" captoin="x" >}}\n') == [
        "content/posts/t.md:5:1: error: unknown figure parameter 'scr' (did you mean 'src'?)",
        "content/posts/t.md:6:1: error: unknown figure parameter 'captoin' (did you mean 'caption'?)"]
    parse('{{< figure src="a.png" caption="c" alt="a" class="wide" loading="lazy" data-x="1" >}}\n')


def test_a_value_or_table_without_a_name_is_an_error_before_any_code_runs():
    # From a review: `{{< value >}}` was reported only once the post's code had run (a training run first).
    assert errors_of("A {{< value >}} and {{< table caption=\"x\" >}} and {{< value nmae=a >}}.") == [
        "content/posts/t.md:5:3: error: value needs the name of a published value: {{< value name >}}",
        "content/posts/t.md:5:21: error: table needs the name of a published value: {{< table name >}}",
        "content/posts/t.md:5:61: error: unknown value parameter 'nmae' (did you mean 'name'?)"]
    parse("{{< value name=acc >}} {{< value acc >}} {{< table rows >}}")       # no error

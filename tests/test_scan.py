"""content/scan.scan_source: one scan of a post knows where its shortcodes, code and links are."""
from __future__ import annotations

import pytest

from runpost.content import scan
from runpost.content.scan import scan_source


def targets(body: str) -> list[tuple[int, int, str, str]]:
    return [(target.line, target.column, target.kind, target.target) for target in scan_source(body).targets]


def test_quoted_parameter_with_spaces_is_one_target_at_its_column():
    assert targets('{{< figure src="images/a b.png" >}}\n') == [(1, 17, "shortcode", "images/a b.png")]


def test_raw_string_holding_quotes_is_one_parameter_and_no_code_span():
    found = scan_source('{{< figure src="/a.png" alt=`Say "hello"` >}} and `x`\n')
    (tag,) = found.tags
    assert tag.named == {"src": "/a.png", "alt": 'Say "hello"'}
    assert [(span.start, span.end) for span in found.spans] == [(50, 53)]
    assert [target.target for target in found.targets] == ["/a.png"]


def test_call_over_several_lines_keeps_each_parameter_position():
    found = scan_source('{{< figure\n    src="/a.png"\n    link="/b/"\n>}}\n')
    assert [(target.line, target.column, target.target) for target in found.targets] == [
        (2, 10, "/a.png"), (3, 11, "/b/")]


def test_highlight_inner_text_is_code_and_holds_no_targets():
    body = '{{< highlight html >}}\n<a href="x.html">[y](z.html)</a>\n{{< /highlight >}}\n[real](r.html)\n'
    found = scan_source(body)
    assert [(region.kind, body[region.start:region.end]) for region in found.highlights] == [
        ("highlight", '\n<a href="x.html">[y](z.html)</a>\n')]
    assert [target.target for target in found.targets] == ["r.html"]


def test_fenced_indented_and_span_code_hold_no_targets():
    body = ("```\n[a](a.html)\n```\n\n    [b](b.html)\n\nSee `[c](c.html)` and\n``[d](d.html)\n`` and "
            "[e](e.html).\n")
    assert [target for *_, target in targets(body)] == ["e.html"]


def test_a_backtick_that_is_never_closed_is_no_code_span():
    assert [target for *_, target in targets("A ` tick and [a](a.html).\n")] == ["a.html"]


def test_angle_bracket_target_may_hold_spaces():
    assert targets("![x](<images/a b.png>)\n") == [(1, 7, "image", "images/a b.png")]


def test_positions_are_file_lines_from_body_line():
    found = scan_source("one\n[a](a.html)\n", body_line=7)
    assert found.position(found.targets[0].offset) == (8, 5)


def test_tags_that_do_not_lex_are_problems_at_their_offset():
    found = scan_source('x {{< figure src="a.png >}}\n')
    assert found.problems == ((17, "unterminated quoted string in shortcode parameters"),)


def test_template_text_looks_like_a_template():
    for text in ("{{ .Permalink }}", "{{ post.url }}", "{% url 'x' %}", "%7B%7B%20.Permalink%20%7D%7D"):
        assert scan.looks_like_template(text)
    assert not scan.looks_like_template("/posts/x/")


@pytest.mark.parametrize("module", ["runpost.markup.hugo_compat.fences", "runpost.markup.markdown"])
def test_every_stage_finds_code_with_the_one_scanner(module):
    import importlib

    assert importlib.import_module(module).find_code_blocks is scan.find_code_blocks


def test_no_module_but_the_scan_looks_for_code_fences_itself():
    import re
    from pathlib import Path

    package = Path(scan.__file__).parent.parent
    fence_pattern = re.compile(r"re\.compile\(.*(`\{3|~\{3|```)")
    owners = {path.relative_to(package).as_posix() for path in package.rglob("*.py")
              if fence_pattern.search(path.read_text(encoding="utf-8"))
              or "def find_code_blocks" in path.read_text(encoding="utf-8")}
    # lists.py only asks whether a line could start a block (``` among #, >, |), never where code is.
    assert owners - {"markup/hugo_compat/lists.py"} == {"content/scan.py"}


def test_closing_tags_pair_as_looking_ahead_for_the_first_close_at_the_same_depth_does():
    # The one-pass pairing (a stack per name) against the rule it replaces, on random tag
    # sequences: same-name tags nest, self-closing ones and other names are passed over.
    import random

    def looking_ahead(tags, index):
        depth = 1
        for later in range(index + 1, len(tags)):
            tag = tags[later]
            if tag.name != tags[index].name:
                continue
            if tag.kind == "open" and not tag.self_closing:
                depth += 1
            elif tag.kind == "close":
                depth -= 1
                if depth == 0:
                    return later
        return None

    generator = random.Random(7)
    for _ in range(300):
        tags = [scan.Tag(generator.choice(["open", "open", "close", "comment"]), "<", generator.choice("ab"),
                         index, index + 1, self_closing=generator.random() < 0.2) for index in range(generator.randint(0, 14))]
        closes = scan.closing_tags(tags)
        expected = {index: looking_ahead(tags, index) for index, tag in enumerate(tags)
                    if tag.kind == "open" and not tag.self_closing}
        assert closes == {index: close for index, close in expected.items() if close is not None}, tags

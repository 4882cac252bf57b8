"""markup/inline_gate.py: Python-Markdown's inline stage tries a pattern only when its trigger is in the text."""
from __future__ import annotations

import random
from pathlib import Path

import markdown as python_markdown
import pytest
from markdown.inlinepatterns import SimpleTagInlineProcessor

from runpost.markup import markdown as runpost_markdown
from runpost.markup.inline_gate import TRIGGERS, GatedInlineExtension

TESTS = Path(__file__).parent
SOURCES = sorted([*(TESTS / "golden" / "markdown").glob("*.md"), *(TESTS / "hugo" / "corpus").rglob("*.md")])


def converter(raw_html: bool, gated: bool, extra: list | None = None) -> python_markdown.Markdown:
    extensions = [extension for extension in runpost_markdown._extensions(raw_html)
                  if gated or not isinstance(extension, GatedInlineExtension)]
    return python_markdown.Markdown(extensions=[*extensions, *(extra or [])], output_format="html",
                                    extension_configs={"pymdownx.tilde": {"subscript": False},
                                                       "pymdownx.magiclink": {"hide_protocol": False}})


def registered(md: python_markdown.Markdown) -> list[tuple[tuple[str, str], object]]:
    return [((entry.name, type(pattern).__name__), pattern)
            for entry, pattern in zip(md.inlinePatterns._priority, md.inlinePatterns)]


@pytest.mark.parametrize("raw_html", [False, True])
def test_every_inline_pattern_of_the_converter_has_its_trigger(raw_html):
    # A pattern missing from TRIGGERS is still tried (correct), but it turns off the
    # one-search test that skips most texts: a silent slowdown this test makes loud.
    names = [name for name, _ in registered(runpost_markdown._converter(raw_html))]
    assert [name for name in names if name not in TRIGGERS] == []


def test_no_pattern_matches_a_text_without_its_trigger():
    # Random texts over the characters the patterns look for: wherever a pattern's regex
    # matches, one of its triggers is in the text (else the gate would have skipped a match).
    patterns = registered(runpost_markdown._converter(False))
    alphabet = list("ab1 \n\t.:/@&;#*_~`[]()!<>\\\"'=-w^") + ["www.", "://", "http", "  \n", "&amp;", "<a>", "[^1]"]
    chooser = random.Random(20261201)
    for _ in range(4000):
        text = "".join(chooser.choice(alphabet) for _ in range(chooser.randint(1, 24)))
        for name, pattern in patterns:
            if pattern.compiled_re.search(text):
                assert any(trigger in text for trigger in TRIGGERS[name]), (name, text)


@pytest.mark.parametrize("raw_html", [False, True])
def test_the_gate_changes_no_output(raw_html):
    gated, plain = converter(raw_html, gated=True), converter(raw_html, gated=False)
    assert len(SOURCES) > 50
    for source in SOURCES:
        text = source.read_text(encoding="utf-8")
        assert gated.reset().convert(text) == plain.reset().convert(text), source


def test_a_pattern_it_does_not_know_is_always_tried():
    class Shout(python_markdown.extensions.Extension):
        def extendMarkdown(self, md):
            md.inlinePatterns.register(SimpleTagInlineProcessor(r"()(LOUD)()", "strong"), "shout", 95)

    md = converter(False, gated=True, extra=[Shout()])
    assert md.convert("a LOUD word") == "<p>a <strong>LOUD</strong> word</p>"
    assert md.reset().convert("*a* LOUD") == "<p><em>a</em> <strong>LOUD</strong></p>"


@pytest.mark.parametrize("raw_html", [False, True])
def test_escapes_and_entities_replaced_in_one_pass_give_what_python_markdown_gives(raw_html):
    # ONE_PASS: every backslash escape (or entity) of a text replaced in one pass, where
    # Python-Markdown rebuilt the text after each (300,000 escapes: minutes).
    gated, plain = converter(raw_html, gated=True), converter(raw_html, gated=False)
    pieces = ["\\*", "\\&", "\\\\", "\\a", "&amp;", "&copy;", "&#42;", "&#x2A;", "&nosuch;", "&", "`c\\*`", "*e*",
              "<b>", "[l](/x)", " ", "a", "\n", "  \n", "\\\n", "&amp", "<http://x.org>"]
    chooser = random.Random(11)
    for _ in range(600):
        text = "".join(chooser.choice(pieces) for _ in range(chooser.randint(1, 14)))
        assert gated.reset().convert(text) == plain.reset().convert(text), repr(text)

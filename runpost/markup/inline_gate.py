"""Python-Markdown's inline stage, skipping the patterns a text cannot match.

Python-Markdown tries every inline pattern (code spans, links, emphasis, autolinks... about
seventeen here) on every piece of text, each a regular-expression search run from Python:
most of a post's Markdown time, and 24 of 36 seconds for a 20,000-row table whose cells are
numbers. Every pattern registered here needs a character or string to be in the text before
it can match (a code span a backtick, emphasis `*`, `_` or `~`, an autolink `<`...), and
looking for that is a search in C. A pattern is tried only when its trigger is in the text;
when none is, the text is left as it is. That is what trying them all would have done, as
a pattern that cannot match changes nothing.

`TRIGGERS` names each pattern by its registered name and class. A pattern not listed (a new
extension, another version's class) has no trigger and is always tried: correct, only slower.
"""
from __future__ import annotations

import functools
import re
from typing import Any

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.treeprocessors import InlineProcessor
from markdown.util import AtomicString

# (name, class) -> strings one of which is in any text the pattern matches (read off its regex).
TRIGGERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("backtick", "CommonMarkBacktickProcessor"): ("`",),
    ("escape", "AmpersandEscapeProcessor"): ("\\",),
    ("footnote", "LinearFootnoteReference"): ("[^",),
    ("runpost_break", "SubstituteTagInlineProcessor"): ("\\\n",),
    ("reference", "LinearReferenceProcessor"): ("[",),
    ("link", "CommonMarkLinkProcessor"): ("[",),
    ("image_link", "PlainAltImageProcessor"): ("![",),
    ("image_reference", "PlainAltImageReferenceProcessor"): ("![",),
    ("short_reference", "LinearShortReferenceProcessor"): ("[",),
    ("short_image_ref", "PlainAltShortImageReferenceProcessor"): ("![",),
    ("autolink", "AutolinkProcessor"): ("<",),
    ("automail", "AutomailInlineProcessor"): ("<",),
    ("linebreak", "SubstituteTagInlineProcessor"): ("  \n",),
    ("html", "OmitHtmlInlineProcessor"): ("<",),
    ("html", "HtmlInlineProcessor"): ("<",),             # raw_html = true
    ("magic-link", "LinkifyProcessor"): ("://", "www."),
    ("magic-mail", "MagiclinkMailPattern"): ("@",),
    ("entity", "KnownEntityProcessor"): ("&",),
    ("delimiter", "DelimiterProcessor"): ("*", "_", "~"),
}

# Patterns whose every match is replaced in one pass: Python-Markdown rebuilds the text after each
# match, so 300,000 backslash escapes in a paragraph took minutes. Safe for these two: a match
# stands for a string (no element whose text needs inline processing), its regular expression looks
# neither behind nor ahead of itself, and handleMatch reads only the match. So a match found in the
# text as written is the one Python-Markdown finds after the placeholders of the matches before it.
ONE_PASS = frozenset({("escape", "AmpersandEscapeProcessor"), ("entity", "KnownEntityProcessor")})


class GatedInlineExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        md.treeprocessors.register(GatedInlineProcessor(md), "inline", 20)    # in place of Python-Markdown's


class GatedInlineProcessor(InlineProcessor):
    def run(self, tree: Any, ancestors: list[str] | None = None) -> Any:
        # The registry is complete once the converter is built; asked again per run, as it is cheap.
        named = [(entry.name, type(pattern).__name__) for entry, pattern in zip(self.inlinePatterns._priority, self.inlinePatterns)]
        self._triggers = [TRIGGERS.get(name) for name in named]
        self._one_pass = [name in ONE_PASS for name in named]
        # One search for all of them first: most texts of a table or a list hold none.
        self._any = None if None in self._triggers else _any_of(self._triggers)
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:   # noqa: N802, N803
        # Python-Markdown's loop, with the trigger test in front of each pattern.
        if isinstance(data, AtomicString):
            return data
        if self._any is not None and patternIndex == 0 and self._any.search(data) is None:
            return data
        triggers = self._triggers
        startIndex = 0                                       # noqa: N806
        count = len(self.inlinePatterns)
        while patternIndex < count:
            needed = triggers[patternIndex]
            if needed is not None and not any(trigger in data for trigger in needed):
                patternIndex += 1
                startIndex = 0                               # noqa: N806  (as a pattern that did not match)
                continue
            if self._one_pass[patternIndex]:
                data = self._replace_all(self.inlinePatterns[patternIndex], data, startIndex)
                patternIndex += 1
                startIndex = 0                               # noqa: N806
                continue
            data, matched, startIndex = self._InlineProcessor__applyPattern(   # noqa: N806
                self.inlinePatterns[patternIndex], data, patternIndex, startIndex)
            if not matched:
                patternIndex += 1
        return data

    def _replace_all(self, pattern: Any, data: str, start_index: int) -> str:
        """What applying a ONE_PASS pattern again and again gives, in one pass over the text."""
        if any(exclude.lower() in self.ancestors for exclude in pattern.ANCESTOR_EXCLUDES):
            return data
        pieces, last = [], 0
        for match in pattern.getCompiledRegExp().finditer(data, start_index):
            node, start, end = pattern.handleMatch(match, data)
            if start is None or end is None or node is None:
                continue
            pieces += [data[last:start], self._InlineProcessor__stashNode(node, pattern.type())]
            last = end
        return "".join(pieces) + data[last:] if pieces else data


def _any_of(triggers: list[tuple[str, ...]]) -> re.Pattern[str]:
    return _pattern_of(tuple(sorted({trigger for needed in triggers for trigger in needed})))


@functools.lru_cache(maxsize=8)
def _pattern_of(triggers: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, triggers)))

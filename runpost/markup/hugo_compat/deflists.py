"""Definition lists: a description's later blocks indented as goldmark reads them.

goldmark keeps a block in a description (`Term`, `: text`, blank, `  more`) when it is indented
to the description's text, two columns after a `: `; Python-Markdown's def_list wants four
spaces, so `  more` left the list as a paragraph of its own. DefinitionIndentPreprocessor
re-indents such lines to Python-Markdown's four. Fenced and indented code are already in the
stash (fences.py runs first), so only text lines are moved.
"""
from __future__ import annotations

import re

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

# A description's first line at the margin, and its text's column: `: text`, `:   text`.
_DESCRIPTION = re.compile(r":( +)(?=\S)")


class DefinitionListExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # After fences (31) and normalize_whitespace (30), before quotes (28) and lists (27).
        md.preprocessors.register(DefinitionIndentPreprocessor(md), "runpost_definitions", 29)


class DefinitionIndentPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        output: list[str] = []
        column = None              # the open description's text column, under 4 (else nothing to do)
        previous = ""
        for line in lines:
            found = _DESCRIPTION.match(line)
            if found and previous.strip():          # right under its term (or the last description)
                width = 1 + len(found.group(1))
                column = width if width < 4 else None
            elif column is not None and line.strip():
                indent = len(line) - len(line.lstrip(" "))
                if indent >= column:
                    line = " " * (indent - column + 4) + line[indent:]
                elif not previous.strip():
                    column = None                   # less indented after a blank line: the list ended
            output.append(line)
            previous = line
        return output

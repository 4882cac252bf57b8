"""Smart quotes, dashes, ellipses and guillemets as goldmark's typographer makes them.

Python-Markdown's smarty pairs quotes its own way; goldmark decides each quote
from its neighbours and an unclosed-quote count per block, with special cases
('90s, 'n', I'm). Posts are full of apostrophes, so runpost follows goldmark's
rules (extension/typographer.go) here, text node by text node, code excluded.
"""
from __future__ import annotations

import re
import string
import unicodedata
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, STX, AtomicString


_INLINE_TAGS = {"em", "strong", "a", "del", "ins", "s", "sup", "sub", "span", "mark", "abbr", "small", "u",
                "img", "input", "label"}
_LITERAL_TAGS = {"code", "pre", "kbd", "samp", "script", "style"}
# The only characters substitute() replaces or counts: a unit of any other text is copied as it is.
_LINE_SEEN = 6     # characters of the rest of a line that the quote rules can tell apart
_TRIGGERS = frozenset("-.<>'\"")
# What substitute() can replace within one text: a quote, "--", "...", "<<" or ">>".
_TRIGGER = re.compile("['\"]|--|[.][.][.]|<<|>>")
_ATOM = re.compile(STX + "[^" + ETX + "]*" + ETX + "|.", re.S)


class TypographerExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # Last of ours, after links and lists are final; before 'prettify' (10).
        md.treeprocessors.register(TypographerTreeprocessor(md), "runpost_typographer", 12)


class TypographerTreeprocessor(Treeprocessor):
    """Runs the typographer over each block element's text: its own and its inline children's."""

    def run(self, root: etree.Element) -> None:
        for element in list(root.iter()):
            if element.tag not in _INLINE_TAGS and element.tag not in _LITERAL_TAGS and \
                    isinstance(element.tag, str):
                _Typographer(element).apply(self.md.htmlStash.store)


class _Typographer:
    def __init__(self, block: etree.Element):
        self.slots: list[tuple[etree.Element, str]] = []   # (element, "text" or "tail")
        self.units: list[tuple[int, str]] = []              # (slot or -1 for a boundary, text or atom)
        self.any_trigger = False          # whether any text holds a character substitute() looks at
        self.read(block, "text")
        for child in block:
            self.boundary(child)
            if child.tag in _INLINE_TAGS:
                self.inline(child)
            self.read(child, "tail")
        self.single = self.double = 0

    def inline(self, element: etree.Element) -> None:
        self.read(element, "text")
        for child in element:
            self.boundary(child)
            if child.tag in _INLINE_TAGS:
                self.inline(child)
            self.boundary(child)
            self.read(child, "tail")
        self.boundary(element)

    def boundary(self, element: etree.Element) -> None:
        # Where an element starts or ends, goldmark saw a delimiter (`*`, `]`, `` ` ``) or a line break.
        self.units.append((-1, "\n" if element.tag == "br" else "*"))

    def read(self, element: etree.Element, attribute: str) -> None:
        text = getattr(element, attribute)
        if not text or isinstance(text, AtomicString) and attribute == "text":
            if text:
                self.units.append((-1, "*"))
            return
        self.slots.append((element, attribute))
        self.units.append((len(self.slots) - 1, text))      # split into atoms by apply(), if it works
        self.any_trigger = self.any_trigger or _TRIGGER.search(text) is not None

    def char(self, index: int) -> str:
        if index < 0 or index >= len(self.units):
            return "\n"
        text = self.units[index][1]
        return text if len(text) == 1 else "*"

    def apply(self, stash) -> None:
        """Substitute in place; entities go through `stash` so they come out as Hugo spells them."""
        if not self.any_trigger:
            return                    # nothing to substitute: every text stays as it is
        # One unit per character (a stash placeholder is one): substitute() reads the neighbours.
        self.units = [(slot, atom) for slot, text in self.units
                      for atom in ([text] if slot < 0 else _ATOM.findall(text))]
        output = [[] for _ in self.slots]
        index = 0
        while index < len(self.units):
            slot, text = self.units[index]
            if slot < 0:
                index += 1
                continue
            if text not in _TRIGGERS:     # substitute() would keep it: skip the call
                output[slot].append(text)
                index += 1
                continue
            replacement, consumed = self.substitute(index)
            output[slot].append(stash(replacement) if replacement is not None else text)
            index += consumed if replacement is not None else 1
        for (element, attribute), pieces in zip(self.slots, output):
            setattr(element, attribute, "".join(pieces))

    def same_slot(self, index: int, count: int) -> bool:
        return index + count <= len(self.units) and len({slot for slot, _ in self.units[index:index + count]}) == 1

    def substitute(self, index: int) -> tuple[str | None, int]:
        c, next1, next2 = self.char(index), self.char(index + 1), self.char(index + 2)
        if c == "-" and next1 == "-" and self.same_slot(index, 2):
            if next2 == "-" and self.same_slot(index, 3):
                return "&mdash;", 3
            return "&ndash;", 2
        if c == "." and next1 == "." and next2 == "." and self.same_slot(index, 3):
            return "&hellip;", 3
        if c in "<>" and next1 == c and self.same_slot(index, 2):
            return ("&laquo;" if c == "<" else "&raquo;"), 2
        if c in "'\"":
            return self.quote(index, c), 1
        return None, 1

    def line(self, index: int) -> str:
        # The rest of the source line from the quote, as goldmark's PeekLine sees it; its first six
        # characters at most: the rules look at five and compare lengths up to five (reading the
        # whole rest at every quote made a long line of quotes quadratic).
        chars = []
        for position in range(index, min(len(self.units), index + _LINE_SEEN)):
            chars.append(self.char(position))
            if chars[-1] == "\n":
                break
        else:
            if len(chars) < _LINE_SEEN:
                chars.append("\n")
        return "".join(chars)

    def quote(self, index: int, c: str) -> str | None:
        before = self.char(index - 1) if index else "\n"
        line = self.line(index)
        after = line[1] if len(line) > 1 else " "
        can_open = _left_flanking(before, after)
        can_close = _right_flanking(before, after)
        if not can_open and not can_close:
            return None
        if c == "'":
            return self.single_quote(line, before, can_open, can_close)
        if can_open and not can_close:
            self.double += 1
            return "&ldquo;"
        if self.double > 0 and (can_close and not can_open or self.maybe_close(line, can_open, can_close)):
            if len(line) > 1 and line[1] == '"' and before.isdigit():
                return None
            self.double -= 1
            return "&rdquo;"
        return None

    def single_quote(self, line: str, before: str, can_open: bool, can_close: bool) -> str | None:
        if can_open and not can_close and len(line) > 3 and line[1].isdigit() and line[2].isdigit() \
                and line[3] == "s":
            after = line[4] if len(line) > 4 else " "
            if _is_space(after) or _is_punct(after):
                return "&rsquo;"                      # '90s
        if len(line) > 1 and (_unicode_punct(before) or before.isspace()) and line[1] in "teln":
            return "&rsquo;"                          # 'twas, 'em, 'n', 'll
        if len(line) > 1 and (_is_digit(before) or before.isalpha()) and line[1].isalpha():
            return "&rsquo;"                          # don't
        if can_open and not can_close:
            closing = (len(line) > 1 and line[1] in "smtd" and (len(line) < 3 or _ascii_punct(line[2]) or
                                                                   _ascii_space(line[2]))) or \
                      (len(line) > 2 and line[1:3] in ("ve", "ll", "re") and
                       (len(line) < 4 or _ascii_punct(line[3]) or _ascii_space(line[3])))
            if closing:
                return "&rsquo;"
            self.single += 1
            return "&lsquo;"
        if len(line) > 2 and not _is_digit(line[1]):
            return "&rsquo;"                          # Smiths', doin'
        if self.single > 0 and (can_close and not can_open or self.maybe_close(line, can_open, can_close)):
            self.single -= 1
            return "&rsquo;"
        return None

    @staticmethod
    def maybe_close(line: str, can_open: bool, can_close: bool) -> bool:
        return can_close and can_open and len(line) > 1 and _unicode_punct(line[1]) and \
            (len(line) == 2 or _ascii_punct(line[2]) or _ascii_space(line[2]))


def _ascii_punct(char: str) -> bool:
    return char in string.punctuation


def _ascii_space(char: str) -> bool:
    return char in " \t\n\v\f\r"


def _unicode_punct(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _is_punct(char: str) -> bool:
    return _ascii_punct(char) or _unicode_punct(char)


def _is_space(char: str) -> bool:
    return _ascii_space(char) or char.isspace()


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"


def _left_flanking(before: str, after: str) -> bool:
    return not _is_space(after) and (not _is_punct(after) or _is_space(before) or _is_punct(before))


def _right_flanking(before: str, after: str) -> bool:
    return not _is_space(before) and (not _is_punct(before) or _is_space(after) or _is_punct(after))

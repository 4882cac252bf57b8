"""Footnotes numbered and marked up as goldmark writes them.

Python-Markdown's footnotes extension names notes by their labels (`#fn:note`),
titles its backlinks and calls the notes' <div> "footnote". goldmark numbers
notes in order of first reference (`#fn:1`), calls the <div> "footnotes", adds
ARIA roles, counts a note's repeat references from 1, and puts the backlink of
a note that ends in a list, quote or code inside the note's <li>. Themes style
that markup, and readers' links to `#fn:1` should survive a move to runpost.
"""
from __future__ import annotations

import re
from urllib.parse import unquote
import xml.etree.ElementTree as etree

import markdown as python_markdown
from markdown.extensions import Extension, footnotes
from markdown.treeprocessors import Treeprocessor


class LinearFootnotes(footnotes.FootnoteExtension):
    """Python-Markdown's footnotes, with repeat references numbered in constant time.

    Its unique_ref walks fnref2, fnref3, ... from the start for every repeat, so
    5,000 references to one note took over a minute; this one resumes where the
    note's last reference stopped. Same numbering, same backlink counts.
    """

    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        super().extendMarkdown(md)
        md.inlinePatterns.register(LinearFootnoteReference(md.inlinePatterns["footnote"].pattern, self),
                                   "footnote", 175)

    def reset(self) -> None:
        super().reset()
        self.last_refs: dict[str, str] = {}
        self.referred: set[str] = set()

    def addFootnoteRef(self, id: str) -> None:
        if id not in self.referred:        # the list's own `in` made 20,000 references take 33 s
            self.referred.add(id)
            self.footnote_order.append(id)

    def unique_ref(self, reference: str, found: bool = False) -> str:
        if not found:
            return reference
        original = reference
        reference = self.last_refs.get(original, reference)
        separator = self.get_separator()
        while reference in self.used_refs:
            ref, rest = reference.split(separator, 1)
            match = footnotes.RE_REF_ID.match(ref)
            number = int(match.group(2)) + 1 if match else 2
            reference = f"{match.group(1) if match else ref}{number}{separator}{rest}"
        self.used_refs.add(reference)
        self.last_refs[original] = reference
        self.found_refs[original] = self.found_refs.get(original, 0) + 1
        return reference


class LinearFootnoteReference(footnotes.FootnoteInlineProcessor):
    """A `[^label]` reference, in constant time: Python-Markdown's finds its number with
    list.index over every definition. The number it writes is only a placeholder here:
    FootnoteTreeprocessor numbers the notes in the order the text refers to them."""

    def handleMatch(self, m, data):
        if m.group(1) not in self.footnotes.footnotes:
            return None, None, None
        self.footnotes.addFootnoteRef(m.group(1))
        sup = etree.Element("sup")
        link = etree.SubElement(sup, "a")
        sup.set("id", self.footnotes.makeFootnoteRefId(m.group(1), found=True))
        link.set("href", "#" + self.footnotes.makeFootnoteId(m.group(1)))
        link.set("class", "footnote-ref")
        link.text = "0"
        return sup, m.start(0), m.end(0)


class FootnoteExtension(Extension):
    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        # After the footnotes extension's "footnote-duplicate" (15) has made repeat references.
        md.treeprocessors.register(FootnoteTreeprocessor(md), "runpost_footnotes", 14)


class FootnoteTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        if not self.md.treeprocessors["footnote"].footnotes.footnotes:
            # No note defined, so no reference, note or backlink in the tree (an undefined
            # note's `[^x]` stays text): nothing below can change (fix_footnote visits every element).
            self.unwrap_backlinks(root)
            return
        numbers = self.footnote_numbers(root)
        self.drop_unreferenced(root, numbers)
        self.space_backlinks(root)
        self.unwrap_backlinks(root)
        for element in root.iter():
            self.fix_footnote(element, numbers)

    def footnote_numbers(self, root: etree.Element) -> dict[str, str]:
        numbers: dict[str, str] = {}
        for element in root.iter("a"):
            href = element.get("href", "")
            if element.get("class") == "footnote-ref" and href.startswith("#fn:"):
                numbers.setdefault(_label(href[4:]), str(len(numbers) + 1))
        return numbers

    def fix_footnote(self, element: etree.Element, numbers: dict[str, str]) -> None:
        css = element.get("class", "")
        referred = _label(element.get("href", "")[4:])      # a reference's label, before it is numbered
        if element.tag == "div" and css == "footnote":
            element.set("class", "footnotes")
            element.set("role", "doc-endnotes")
        for attribute, prefix in (("id", "fnref:"), ("id", "fn:"), ("href", "#fn:"), ("href", "#fnref:")):
            value = element.get(attribute, "")
            if value.startswith(prefix) and _label(value[len(prefix):]) in numbers:
                element.set(attribute, prefix + numbers[_label(value[len(prefix):])])
        # A note's second reference: Python-Markdown's "fnref2:name" is goldmark's "fnref1:<number>".
        for attribute, prefix in (("id", ""), ("href", "#")):
            repeat = re.fullmatch(re.escape(prefix) + r"fnref(\d+):(.+)", element.get(attribute, ""))
            if repeat and _label(repeat.group(2)) in numbers:
                element.set(attribute, f"{prefix}fnref{int(repeat.group(1)) - 1}:{numbers[_label(repeat.group(2))]}")
        if css == "footnote-ref":
            element.set("role", "doc-noteref")
            # Python-Markdown counts notes in the order it reaches them (a quote's before a list's);
            # the number shown is the one of the first reference in the text, as the id's.
            if referred in numbers:
                element.text = numbers[referred]
        if css == "footnote-backref":
            element.attrib.pop("title", None)
            element.set("role", "doc-backlink")

    @staticmethod
    def drop_unreferenced(root: etree.Element, numbers: dict[str, str]) -> None:
        # goldmark lists only the notes the text refers to, in the order of their first reference
        # (a definition left from a draft is not shown: its backlink would lead nowhere); with
        # none, no footnotes <div> at all.
        for parent in list(root.iter()):
            for notes in [child for child in parent if child.tag == "div" and child.get("class") == "footnote"]:
                for items in notes.iter("ol"):
                    kept = sorted((int(numbers[li.get("id", "")[3:]]), index, li) for index, li in enumerate(items)
                                  if li.get("id", "")[3:] in numbers)
                    for li in list(items):
                        items.remove(li)
                    items.extend(li for _, _, li in kept)
                if not any(len(items) for items in notes.iter("ol")):
                    parent.remove(notes)

    @staticmethod
    def unwrap_backlinks(root: etree.Element) -> None:
        # A note ending in a list, quote or code: goldmark puts the backlink in the <li>, not in a new <p>.
        for item in root.iter("li"):
            last = item[-1] if len(item) else None
            if last is None or last.tag != "p" or (last.text or "").strip() or \
                    not all(child.get("class") == "footnote-backref" for child in last):
                continue
            item.remove(last)
            for child in last:
                item.append(child)

    @staticmethod
    def space_backlinks(root: etree.Element) -> None:
        # goldmark puts &#160; before every backlink of a note referenced twice, not only the first.
        for parent in root.iter():
            children = list(parent)
            for first, second in zip(children, children[1:]):
                if first.get("class") == second.get("class") == "footnote-backref" and not (first.tail or "").strip():
                    first.tail = "\u00a0"


def _label(written: str) -> str:
    """A note's label as its `<li id>` holds it: the links' hrefs are percent-encoded by then
    (`#fn:caf%C3%A9` is the note `café`), the ids are not."""
    return unquote(written) if "%" in written else written

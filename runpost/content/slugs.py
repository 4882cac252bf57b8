"""URL segments made from names: a post's from its slug or file name, a tag's from the tag.

Part of the load stage (front matter and views name URLs with these). Hugo makes both with
its path sanitiser (helpers.UnicodeSanitize, then lower case): letters, digits and marks stay,
as do `. _ + ~ - @`; a run of spaces inside becomes one dash, none beside a dash
(`Part 1 - Intro` is part-1-intro); anything else (`& ' : ! ( ) ,`)
goes. So `Trip Report Lisbon.md` is at /posts/trip-report-lisbon/ and `C++` at /tags/c++/,
as in Hugo. Where Hugo's paths break, these do not: a segment never holds `/` or `\\` (Hugo
makes `ci/cd` two folders), nor `#` (Hugo links `C#` as /tags/c#/, which a browser reads as
/tags/c plus a fragment) nor `%` (an escape in a URL, not a character of a folder), and never
starts with a dot (a hidden folder that Pages artifacts may leave out).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

from ..markup.hugo_compat.headings import go_lower

_KEPT_SYMBOLS = frozenset("._+~-@")


def path_segment(name: str) -> str:
    """Hugo's sanitised, lower-cased path of `name`, without `/`, `\\`, `#`, `%` (see above)."""
    kept: list[str] = []
    dash = False           # a space was passed over since the last character kept
    after_dash = False     # the last character kept is a dash: a space after it adds none
    for character in name:
        if character in _KEPT_SYMBOLS or character.isalpha() or unicodedata.category(character) in ("Nd", "Mn", "Mc", "Me"):
            if dash and character != "-":      # `Part 1 - Intro` is part-1-intro, as in Hugo
                kept.append("-")
            dash = False
            kept.append(character)
            after_dash = character == "-"
        elif kept and not after_dash and character.isspace():
            dash = True
    return go_lower("".join(kept))


def tag_slug(tag: str) -> str:
    """A tag's URL segment: Hugo's (above), with `/` and `\\` as dashes (one folder under tags/; `.`
    and `..` between them dropped), a `#` after a letter or digit as "sharp" (`C#` -> csharp,
    `F#` -> fsharp; a hashtag's `#` goes), no leading dots (`.NET` -> net), no variation
    selectors. A tag left without a letter or digit is named by its characters' Unicode names
    (`#` -> number-sign, `🚀` -> rocket): with one name for all of them, `#` and `!!` shared a page,
    titled after one, listing the posts of both."""
    text = re.sub(r"(?<=[^\W_])#", "sharp", _VARIATIONS.sub("", tag))
    parts = [part for part in re.split(r"[/\\]", text) if part.strip(" .")]     # `..` between slashes goes
    slug = path_segment("-".join(parts)).lstrip(".")
    # Left without a letter or digit (`-`, `++`, a keycap's mark): named, or `#/#` and `-` shared a page.
    return slug if any(character.isalnum() for character in slug) else _named(tag)


# Variation selectors (U+FE00-FE0F: ❤️ is ❤ and FE0F, "show as emoji"): invisible, no part of a name.
_VARIATIONS = re.compile("[\ufe00-\ufe0f]")


def _named(tag: str) -> str:
    """`tag`'s characters by their Unicode names ("!!" -> exclamation-mark-exclamation-mark); a long
    one cut, with a digest of the whole tag so that two long tags never share the name."""
    names = path_segment(" ".join(unicodedata.name(character, f"u{ord(character):04x}")
                                  for character in _VARIATIONS.sub("", tag) if not character.isspace()))
    if len(names) > _LONGEST_NAMED:
        digest = hashlib.sha256(tag.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        names = names[:_LONGEST_NAMED - 11].rstrip("-") + "-" + digest
    return names or "tag"


_LONGEST_NAMED = 100    # characters: well inside the file systems' 255 bytes a name


def post_segment(slug: str) -> str:
    """A post's URL segment under posts/ from its slug (or file or bundle name): Hugo's (above),
    without leading dots. Empty if nothing is left, which the front matter reports as an error."""
    return path_segment(slug).lstrip(".")

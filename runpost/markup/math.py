"""LaTeX -> MathML at build time (latex2mathml): no script, no request to another site.

The scan finds the formulas (`content/scan.py`, `find_math`); the shortcodes stage
swaps each for a placeholder whose Shortcode is named `MATH_SHORTCODE` and holds
the LaTeX, with any `{{< value >}}` inside as its own token; `site/fragments.py`
fills those with the published values and converts. The shortcodes stage also
converts once, values still as tokens (letters and digits), so a formula that
cannot render is reported before any code runs.
"""
from __future__ import annotations

import html
import re

# Not a valid shortcode name (the scan's names are [\w.-]), so no site template can take it.
MATH_SHORTCODE = "$math"


class MathError(ValueError):
    """A formula latex2mathml cannot render faithfully."""


def latex_to_mathml(latex: str, display: bool) -> str:
    """`<math>` for `latex`; raises MathError with a one-line reason."""
    latex = as_hugo_shows(latex)
    _check_braces(latex)
    from latex2mathml.converter import convert     # here, not above: 30 ms of every build without math
    try:
        mathml = convert(_as_latex2mathml_reads(latex).strip(), display="block" if display else "inline")
    except Exception as error:       # latex2mathml raises bare Exception subclasses with no message
        raise MathError(str(error) or _words(type(error).__name__)) from None
    mathml = _SIZED_DELIMITER.sub(_delimiter, mathml) if "size=" in mathml else mathml
    # latex2mathml keeps a command it does not know as text (<mi>\foo</mi>): the reader would see LaTeX.
    unknown = re.search(r">(\\[A-Za-z]+)<", mathml)
    if unknown:
        raise MathError(f"unknown LaTeX command '{unknown.group(1)}'")
    if "<mi>&</mi>" in mathml:
        raise MathError("'&' outside an environment latex2mathml aligns (align, matrix, cases...)")
    # The formula's LaTeX as its text (MathML's alttext): what a summary, a feed's text or a
    # screen reader without MathML shows of it (html_tags.text_and_tags reads it back).
    text = " ".join(_NOT_SHOWN.sub("", latex).split())
    return mathml.replace(">", f' alttext="{html.escape(text)}">', 1)


# What KaTeX and MathJax posts write that latex2mathml spells otherwise or does not need:
# `aligned` is align* inside a formula, `dcases` are cases, and a \label, \nonumber or \notag
# shows nothing (runpost numbers no equations).
_SPELLINGS = [
    (re.compile(r"\\(begin|end)\{aligned\}"), r"\\\1{align*}"),
    (re.compile(r"\\(begin|end)\{dcases\}"), r"\\\1{cases}"),
    (_NOT_SHOWN := re.compile(r"\\label\s*\{[^{}]*\}|\\(?:nonumber|notag)(?![A-Za-z])"), ""),
    # The one operator name of LaTeX's that latex2mathml lacks (\arg\max in every ML post).
    (re.compile(r"\\arg(?![A-Za-z])"), r"\\operatorname{arg}"),
    # latex2mathml reads \sim as a tilde (<mi>~</mi>); KaTeX's is the relation U+223C, \thicksim's.
    (re.compile(r"\\sim(?![A-Za-z])"), r"\\thicksim"),
    # A space inside an operator's name (\operatorname*{arg\,min}) made latex2mathml spell it letter by
    # letter, after an empty operator and a `*`: the name keeps the space as a character.
    (re.compile(r"\\operatorname(\*?)\{([^{}]*\\[,:;! ][^{}]*)\}"),
     lambda found: f"\\operatorname{found.group(1)}{{{_NAME_SPACES.sub(lambda space: _SPACES[space.group()], found.group(2))}}}"),
]
# Thin, medium and thick spaces, a negative one, a normal one: as characters of an operator's name.
_SPACES = {"\\,": "\u2009", "\\:": "\u205f", "\\;": "\u2005", "\\!": "", "\\ ": " "}
_NAME_SPACES = re.compile(r"\\[,:;! ]")
# A delimiter sized with \big, \Bigl... (`\big\langle`): latex2mathml sizes the <mo> but keeps a
# delimiter written as a command as its LaTeX, which it then is for the reader.
_SIZED_DELIMITER = re.compile(r"(<mo [^>]*size=[^>]*>)(\\(?:[A-Za-z]+|[{}|]))(</mo>)")


def _delimiter(found: re.Match) -> str:
    from latex2mathml.symbols_parser import convert_symbol

    code = convert_symbol(found.group(2))
    return found.group() if code is None else f"{found.group(1)}&#x{code};{found.group(3)}"


# Math written for Hugo 0.111 and KaTeX: goldmark reads the formula as Markdown first, so its authors
# escape what Markdown would take (`x\_i`, `\\{1, 2\\}`, `\\\\` between rows, `\\,dx`) and KaTeX is
# handed the unescaped text. A formula with a doubled backslash before a brace, another backslash,
# or a space or norm command's mark (`\\,` `\\;` `\\!` `\\|`) was written so (LaTeX has no use for
# `\\{`, and a row does not start with a comma); it is unescaped as goldmark does. Elsewhere `\_`
# outside text is a subscript too: LaTeX's literal underscore has no place in math.
_WRITTEN_FOR_GOLDMARK = re.compile(r"\\\\(?:\\\\|[{}]|[,:;!|])")
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_TEXT_COMMANDS = re.compile(r"\\(?:text\w*|mathrm|mbox|operatorname|verb)(?![A-Za-z])")


def as_hugo_shows(latex: str) -> str:
    """The formula as Hugo's KaTeX reads it (see above); LaTeX written for LaTeX stays as it is."""
    if "\\" not in latex:
        return latex
    if _WRITTEN_FOR_GOLDMARK.search(latex):
        return _MARKDOWN_ESCAPE.sub(r"\1", latex)
    if "\\_" in latex and not _TEXT_COMMANDS.search(latex):
        return latex.replace("\\_", "_")
    return latex


# KaTeX's texvc macros (its src/macros.js; MediaWiki's names), which KaTeX posts use as LaTeX:
# `x \in \R^n`. Each is spelled as KaTeX expands it.
_KATEX_MACROS = {
    "darr": r"\downarrow", "dArr": r"\Downarrow", "Darr": r"\Downarrow", "lang": r"\langle", "rang": r"\rangle",
    "uarr": r"\uparrow", "uArr": r"\Uparrow", "Uarr": r"\Uparrow", "N": r"\mathbb{N}", "R": r"\mathbb{R}",
    "Z": r"\mathbb{Z}", "alef": r"\aleph", "alefsym": r"\aleph", "Alpha": r"\mathrm{A}", "Beta": r"\mathrm{B}",
    "bull": r"\bullet", "Chi": r"\mathrm{X}", "clubs": r"\clubsuit", "cnums": r"\mathbb{C}", "Complex": r"\mathbb{C}",
    "Dagger": r"\ddagger", "diamonds": r"\diamondsuit", "empty": r"\emptyset", "Epsilon": r"\mathrm{E}",
    "Eta": r"\mathrm{H}", "exist": r"\exists", "harr": r"\leftrightarrow", "hArr": r"\Leftrightarrow",
    "Harr": r"\Leftrightarrow", "hearts": r"\heartsuit", "image": r"\Im", "infin": r"\infty", "Iota": r"\mathrm{I}",
    "isin": r"\in", "Kappa": r"\mathrm{K}", "larr": r"\leftarrow", "lArr": r"\Leftarrow", "Larr": r"\Leftarrow",
    "lrarr": r"\leftrightarrow", "lrArr": r"\Leftrightarrow", "Lrarr": r"\Leftrightarrow", "Mu": r"\mathrm{M}",
    "natnums": r"\mathbb{N}", "Nu": r"\mathrm{N}", "Omicron": r"\mathrm{O}", "plusmn": r"\pm", "rarr": r"\rightarrow",
    "rArr": r"\Rightarrow", "Rarr": r"\Rightarrow", "real": r"\Re", "reals": r"\mathbb{R}", "Reals": r"\mathbb{R}",
    "Rho": r"\mathrm{R}", "sdot": r"\cdot", "sect": r"\S", "spades": r"\spadesuit", "sub": r"\subset",
    "sube": r"\subseteq", "supe": r"\supseteq", "Tau": r"\mathrm{T}", "thetasym": r"\vartheta", "weierp": r"\wp",
    "Zeta": r"\mathrm{Z}",
}
_KATEX_MACRO = re.compile(r"\\(" + "|".join(sorted(_KATEX_MACROS, key=len, reverse=True)) + r")(?![A-Za-z])")


def _as_latex2mathml_reads(latex: str) -> str:
    for pattern, replacement in _SPELLINGS:
        latex = pattern.sub(replacement, latex)
    if "\\" in latex:
        latex = _KATEX_MACRO.sub(lambda found: _KATEX_MACROS[found.group(1)], latex)
    return latex


def _check_braces(latex: str) -> None:
    depth = 0
    for match in re.finditer(r"\\.|[{}]", latex):
        if match.group() == "{":
            depth += 1
        elif match.group() == "}":
            depth -= 1
            if depth < 0:
                raise MathError("'}' without a matching '{'")
    if depth:
        raise MathError("'{' without a matching '}'")


def _words(name: str) -> str:
    """ExtraLeftOrMissingRightError -> "extra left or missing right"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Error")).lower()

"""LaTeX -> MathML at build time (latex2mathml): no script, no request to another site.

The scan finds the formulas (`content/scan.py`, `find_math`); the shortcodes stage
swaps each for a placeholder whose Shortcode is named `MATH_SHORTCODE` and holds
the LaTeX, with any `{{< value >}}` inside as its own token; `site/fragments.py`
fills those with the published values and converts. The shortcodes stage also
converts once, values still as tokens (letters and digits), so a formula that
cannot render is reported before any code runs.
"""
from __future__ import annotations

import functools
import html
import re
import unicodedata

# Not a valid shortcode name (the scan's names are [\w.-]), so no site template can take it.
MATH_SHORTCODE = "$math"


class MathError(ValueError):
    """A formula latex2mathml cannot render faithfully."""


def latex_to_mathml(latex: str, display: bool) -> str:
    """`<math>` for `latex`; raises MathError with a one-line reason."""
    latex = as_hugo_shows(latex)
    _check_braces(latex)
    # An equation's tag goes to the right margin, as KaTeX puts it; latex2mathml glued "(1)" to the
    # formula, where it read as a product (E = mc²(1)).
    if _ROWS.search(latex) and re.search(r"\\tag(?![A-Za-z])", latex):
        # latex2mathml glues a row's tag to it, beside a number of its own: "a = b(1.1)(1)".
        raise MathError("\\tag inside align, gather... is not shown as KaTeX shows it: write the rows in "
                        "\\begin{aligned}...\\end{aligned} and one \\tag after it")
    tags = list(_TAG.finditer(latex))
    if tags and not display:
        raise MathError("\\tag numbers a displayed formula ($$...$$), as in KaTeX, not one in the text")
    if len(tags) > 1:
        raise MathError("a formula has at most one \\tag")
    if not tags and re.search(r"\\tag(?![A-Za-z])", latex):
        raise MathError("a \\tag is shown as it is written: give it plain text (\\tag{1}, \\tag{A.2}), not commands")
    if tags:
        shown = tags[0].group(2) if tags[0].group(1) else f"({tags[0].group(2)})"
        bare = latex_to_mathml(latex[:tags[0].start()] + latex[tags[0].end():], display)
        # The number is drawn by CSS (data-tag): read as text (a summary, a feed's text), the formula
        # is its whole LaTeX, \tag included, as Hugo's KaTeX pages read.
        whole = html.escape(" ".join(_NOT_SHOWN.sub("", latex).split()))
        bare = re.sub(r'alttext="[^"]*"', lambda _: f'alttext="{whole}"', bare, count=1)
        return (f'<span class="math-tagged">{bare}'
                f'<span class="math-tag" data-tag="{html.escape(shown)}"></span></span>')
    from latex2mathml.converter import convert     # here, not above: 30 ms of every build without math
    # A `<` or `>` in a \text{} came out raw: `\text{if x<y}` opened an HTML tag that swallowed the
    # rest of the page. Each crosses the conversion as letters and comes out as a reference.
    guarded = _guard_text_brackets(latex) if "<" in latex or ">" in latex else latex
    try:
        mathml = convert(_as_latex2mathml_reads(guarded).strip(), display="block" if display else "inline")
    except Exception as error:       # latex2mathml raises bare Exception subclasses with no message
        raise MathError(str(error) or _words(type(error).__name__)) from None
    if guarded is not latex:
        mathml = mathml.replace(_LESS, "&lt;").replace(_GREATER, "&gt;")
        if "RPMATH" in re.sub(r"<[^>]*>", "", mathml):        # (also a placeholder split into letters)
            raise MathError("a '<' or '>' where it cannot be shown: write \\lt or \\gt")
    mathml = _SIZED_DELIMITER.sub(_delimiter, mathml) if "size=" in mathml else mathml
    mathml = for_mathml_core(mathml, limits="\\nolimits" not in latex)
    if _LINE_BREAK in mathml:
        mathml = _line_breaks_as_rows(mathml, display)
    # latex2mathml keeps a command it does not know as text (<mi>\foo</mi>): the reader would see LaTeX.
    unknown = re.search(r">(\\[A-Za-z]+)<", mathml)
    if unknown:
        raise MathError(f"unknown LaTeX command '{unknown.group(1)}'")
    if re.search(r"<mi(?: [^>]*)?>&</mi>", mathml):        # (`\\mathrm{a&b}`'s has an attribute)
        raise MathError("'&' outside an environment latex2mathml aligns (align, matrix, cases...)")
    # A bare `&` (an \href's `?a=1&b=2`) is what a browser reads as one: written as a reference.
    mathml = _BARE_AMPERSAND.sub("&amp;", mathml) if "&" in mathml else mathml
    _check_markup(mathml)
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
    # A row's extra space (`\\[4pt]`, which latex2mathml printed as text); \newline, a row's end.
    (re.compile(r"\\\\\s*\[\s*-?[\d.]+\s*(?:pt|em|ex|mm|cm|in|mu|px|bp|pc|dd|sp)\s*\]"), r"\\\\ "),
    (re.compile(r"\\newline(?![A-Za-z])"), r"\\\\ "),
    # \operatorname* of more than letters (`\operatorname*{\mathbb{E}}_x`): an operator with limits.
    # (Bounded: an operator's name is short, and a long unclosed one is read in linear time.)
    (re.compile(r"\\operatorname\*\s*\{([^{}\\]{0,100}\\[A-Za-z][^{}]{0,200}(?:\{[^{}]{0,200}\}[^{}]{0,200}){0,8})\}"),
     r"\\mathop{\1}\\limits"),
    # \mathbbm and \mathds (the bbm and dsfont packages' double-struck letters) are \mathbb's.
    (re.compile(r"\\(?:mathbbm|mathds)(?![A-Za-z])"), r"\\mathbb"),
    # alignat (columns given) is align's layout; rcases, cases with the brace on the right.
    (re.compile(r"\\begin\{alignat\*?\}\s*\{\s*\d+\s*\}"), r"\\begin{align*}"),
    (re.compile(r"\\end\{alignat\*?\}"), r"\\end{align*}"),
    (re.compile(r"\\begin\{rcases\}"), r"\\left.\\begin{array}{ll}"),
    (re.compile(r"\\end\{rcases\}"), r"\\end{array}\\right\\}"),
    # The one operator name of LaTeX's that latex2mathml lacks (\arg\max in every ML post).
    (re.compile(r"\\arg(?![A-Za-z])"), r"\\operatorname{arg}"),
    # latex2mathml reads \sim as a tilde (<mi>~</mi>); KaTeX's is the relation U+223C, \thicksim's.
    (re.compile(r"\\sim(?![A-Za-z])"), r"\\thicksim"),
    # A space inside an operator's name (\operatorname*{arg\,min}) made latex2mathml spell it letter by
    # letter, after an empty operator and a `*`: the name keeps the space as a character.
    (re.compile(r"\\operatorname(\*?)\{([^{}\\]{0,200}\\[,:;! ][^{}]{0,200})\}"),
     lambda found: f"\\operatorname{found.group(1)}{{{_NAME_SPACES.sub(lambda space: _SPACES[space.group()], found.group(2))}}}"),
]
_TAG = re.compile(r"\\tag(\*?)\s*\{([^{}\\$]*)\}")
_ROWS = re.compile(r"\\begin\{(?:align|gather|alignat|multline|flalign|eqnarray)\*?\}")
# Thin, medium and thick spaces, a negative one, a normal one: as characters of an operator's name.
_SPACES = {"\\,": "\u2009", "\\:": "\u205f", "\\;": "\u2005", "\\!": "", "\\ ": " "}
_NAME_SPACES = re.compile(r"\\[,:;! ]")
# A delimiter sized with \big, \Bigl... (`\big\langle`): latex2mathml sizes the <mo> but keeps a
# delimiter written as a command as its LaTeX, which it then is for the reader.
_SIZED_DELIMITER = re.compile(r"(<mo [^>]*size=[^>]*>)(\\(?:[A-Za-z]+|[{}|]))(</mo>)")


# What a formula's MathML may hold: MathML's elements, and no attribute that runs anything.
_MATHML_ELEMENTS = frozenset({"math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "mfrac", "msqrt", "mroot",
                              "mstyle", "merror", "mpadded", "mphantom", "menclose", "msub", "msup", "msubsup",
                              "munder", "mover", "munderover", "mmultiscripts", "mprescripts", "none", "mtable",
                              "mtr", "mtd", "mlabeledtr", "semantics", "annotation", "annotation-xml", "mfenced"})


def _check_markup(mathml: str) -> None:
    """The MathML is well-formed XML of MathML's elements only: a `<` or `&` latex2mathml let through
    raw (`\\verb|<img onerror=...>|`, `\\hbox{<b>}`, `\\style{<b>}{x}`, `\\text{R&D}`) was markup on the
    page, whatever the site's raw_html said, and a feed that holds it is no XML."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(mathml)
    except ElementTree.ParseError:
        raise MathError("a '<', '>' or '&' in it would be read as markup: write \\lt, \\gt or \\&") from None
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1]
        # (\\href's link is checked with the page's other links, a script URL refused there.)
        if name not in _MATHML_ELEMENTS or any(attribute.lower().startswith("on") for attribute in element.attrib):
            raise MathError(f"it would put a <{name}> element or an event handler in the page, which a formula never holds")


def for_mathml_core(mathml: str, limits: bool = True) -> str:
    """latex2mathml's MathML as browsers render it (MathML Core, Chromium's): what Core leaves out,
    said in what it has. A font style (`\\mathbf{Wx}`, `\\boldsymbol{\\mu}`, `\\mathbb{1}`, `\\mathcal{GP}`)
    is written with the styled characters (Core shows mathvariant="bold" as plain); an operator's
    limits (`\\max_a`, `\\lim_{x\\to 0}`, `\\sum` inside `\\left[`) go under it where the formula is
    displayed (`<munder>` with movablelimits, which stays a subscript inline); a `\\text{}`'s escaped
    characters (`max\\_iter`, `50\\%`) are the characters; \\boxed and \\cancel are drawn with CSS.
    `limits`: false where the LaTeX says \\nolimits."""
    if "mathvariant=" in mathml:
        mathml = _STYLED_TOKEN.sub(_styled_token, mathml)
    if "<mo><mrow>" in mathml:
        # \mathop{...} (from \operatorname*{\mathbb{E}}): latex2mathml put the name inside an <mo>, which
        # holds only text. Tokens become one operator, whose limits may go under it (`\arg\max`:
        # "arg max"); anything else (`\mathbb{E}^2`) stays what it is, in an <mrow>.
        mathml = _OPERATOR_OF_TOKENS.sub(lambda found: '<mo movablelimits="true">' + "\u2006".join(
            html.escape(html.unescape(text), quote=False) for text in re.findall(r">([^<]+)<", found.group(1)))
            + "</mo>", mathml)
        mathml = _operators_with_structure(mathml)
    if limits:
        mathml = _with_limits(mathml)
    if "<mtext" in mathml and "\\" in mathml:
        mathml = _TEXT_TOKEN.sub(lambda found: found.group(1) + _TEXT_ESCAPE.sub(
            lambda escape: "&amp;" if escape.group(1) == "&" else escape.group(1), found.group(2)) + "</mtext>", mathml)
    if "<mi>&#x" in mathml:
        mathml = _ENTITY_LETTER.sub(_upright, mathml)
    if "<mo" in mathml:
        # A named operator before a bracket has no space after it (`\max(a, b)`, `\operatorname{Var}(X)`),
        # as \log has none: MathML's default for an unknown operator set one.
        mathml = _NAMED_BEFORE_BRACKET.sub(lambda found: f'<mo{found.group(1) or ""} rspace="0">{found.group(2)}</mo>', mathml)
    if "<menclose" in mathml:
        mathml = _ENCLOSED.sub(_enclosed, mathml).replace("</menclose>", "</mrow>")
    return mathml


_STYLED_TOKEN = re.compile(r'<(mi|mn|mo|mtext)((?: [a-z-]+="[^"]*")*?) mathvariant="([a-z-]+)"((?: [a-z-]+="[^"]*")*)>([^<]*)</\1>')
# mathvariant -> the words of its characters' Unicode names ("MATHEMATICAL BOLD ITALIC SMALL MU").
_VARIANTS = {"bold": "BOLD", "italic": "ITALIC", "bold-italic": "BOLD ITALIC", "double-struck": "DOUBLE-STRUCK",
             "script": "SCRIPT", "bold-script": "BOLD SCRIPT", "fraktur": "FRAKTUR", "bold-fraktur": "BOLD FRAKTUR",
             "sans-serif": "SANS-SERIF", "bold-sans-serif": "SANS-SERIF BOLD", "sans-serif-italic": "SANS-SERIF ITALIC",
             "sans-serif-bold-italic": "SANS-SERIF BOLD ITALIC", "monospace": "MONOSPACE"}
# The letters Unicode had before its mathematical alphabets, where those have a hole: ℬ, ℝ, ℭ, ℎ.
_OLDER_NAMES = {"SCRIPT": "SCRIPT", "FRAKTUR": "BLACK-LETTER", "DOUBLE-STRUCK": "DOUBLE-STRUCK"}


_LINE_BREAK = '<mspace linebreak="newline" />'
_TAG_TOKEN = re.compile(r"<(/?)([a-z]+)\b[^>]*?(/?)>")


def _line_breaks_as_rows(mathml: str, display: bool) -> str:
    """A line break (`\\\\` or \\newline outside an environment that lays out rows, gather's) as the rows
    of a table, each centred, as KaTeX shows a displayed formula's lines: latex2mathml writes an
    <mspace linebreak="newline"/>, which MathML Core ignores (`a = b \\\\ c = d` read "a = bc = d")."""
    if not display:
        raise MathError("a line break (\\\\ or \\newline) in a formula in the text, which browsers do not show: "
                        "write two formulas, or display it ($$...$$)")
    stack: list[tuple[str, int]] = []          # open elements: name, where their content starts
    breaks: dict[int, tuple[str, int, list[int]]] = {}     # the parent's start -> its name, content end, breaks
    for found in _TAG_TOKEN.finditer(mathml):
        closing, name, empty = found.group(1), found.group(2), found.group(3)
        if found.group() == _LINE_BREAK:
            parent, start = stack[-1] if stack else ("", 0)
            # Only between the formula's own lines: not inside a fraction, a script or \left...\right.
            # (An <mstyle> is a style around the lines: `\displaystyle a \\ b`, `\color{red} a \\ b`.)
            if parent not in ("mrow", "mstyle") or any(name not in ("math", "mrow", "mstyle") for name, _ in stack) \
                    or mathml.startswith("<mo stretchy=\"true\" fence=\"true\"", start):
                raise MathError("a line break (\\\\) where browsers cannot show it: write the lines in "
                                "\\begin{aligned}...\\end{aligned}")
            breaks.setdefault(start, (parent, -1, []))[2].append(found.start())
        elif closing:
            name_open, start = stack.pop()
            if start in breaks:
                breaks[start] = (name_open, found.start(), breaks[start][2])
        elif not empty:
            stack.append((name, found.end()))
    for start in sorted(breaks, reverse=True):          # from the end: earlier offsets stay valid
        _, end, marks = breaks[start]
        edges = [start, *marks, end]
        rows = [mathml[edges[index] + (len(_LINE_BREAK) if index else 0):edges[index + 1]] for index in range(len(edges) - 1)]
        table = '<mtable displaystyle="true" rowspacing="3pt">' + "".join(
            f"<mtr><mtd>{row}</mtd></mtr>" for row in rows) + "</mtable>"
        mathml = mathml[:start] + table + mathml[end:]
    return mathml


def _styled_token(found: re.Match) -> str:
    name, before, variant, after, text = found.groups()
    if variant not in _VARIANTS:
        return found.group()         # "normal" (Core has it) or one it has no characters for
    if name == "mtext":
        # Words (\textbf{bold}): in a font's weight and style, still words a reader can search for.
        return f'<mtext{before}{after} style="{_TEXT_STYLES.get(variant, "")}">{text}</mtext>'
    styled = "".join(_styled(character, _VARIANTS[variant]) for character in html.unescape(text))
    if name == "mo" and styled != html.unescape(text) and not (before + after).strip():
        name = "mi"                  # a bold ∇ is a symbol, not an operator Core spaces as unknown
    return f"<{name}{before}{after}>{html.escape(styled, quote=False)}</{name}>"


_TEXT_STYLES = {"bold": "font-weight: bold", "italic": "font-style: italic",
                "bold-italic": "font-weight: bold; font-style: italic", "monospace": "font-family: monospace",
                "sans-serif": "font-family: sans-serif", "bold-sans-serif": "font-family: sans-serif; font-weight: bold"}


@functools.lru_cache(maxsize=4096)
def _styled(character: str, variant: str) -> str:
    """`character` in the mathematical alphabet `variant` ("BOLD ITALIC"), if Unicode has it there."""
    try:
        words = unicodedata.name(character).replace("LATIN ", "").replace("GREEK ", "").replace(" LETTER", "")
        words = {"LUNATE EPSILON SYMBOL": "EPSILON SYMBOL", "LUNAR EPSILON SYMBOL": "EPSILON SYMBOL"}.get(words, words)
    except ValueError:
        return character
    for name in (f"MATHEMATICAL {variant} {words}", f"{_OLDER_NAMES.get(variant, '')} {words}".strip()):
        try:
            return unicodedata.lookup(name)
        except KeyError:
            continue
    return "\u210e" if (variant, words) == ("ITALIC", "SMALL H") else character       # ℎ, Planck's constant


# Operators whose limits go under them in a displayed formula, as in LaTeX and KaTeX (an integral's
# stay beside it). latex2mathml marks \det, \Pr, \liminf... movablelimits itself.
_LIMIT_NAMES = frozenset({"lim", "max", "min", "sup", "inf", "arg", "gcd", "det", "Pr", "argmax", "argmin",
                          "\u2211", "\u220f", "\u2210", "\u22c3", "\u22c2", "\u2a01", "\u2a02", "\u2a00",
                          "\u2a04", "\u2a06", "\u22c1", "\u22c0"})
_SCRIPTED = re.compile(r"<(msub|msup|msubsup)><(mo|mi)((?: [a-z-]+=\"[^\"]*\")*)>([^<]*)</\2>")
_UNDER = {"msub": "munder", "msup": "mover", "msubsup": "munderover"}


def _with_limits(mathml: str) -> str:
    position = 0
    while (found := _SCRIPTED.search(mathml, position)) is not None:
        kind, token, attributes, text = found.groups()
        position = found.end()
        if html.unescape(text) not in _LIMIT_NAMES and 'movablelimits="true"' not in attributes:
            continue
        close = _closing(mathml, kind, found.end())
        if close < 0:
            continue
        movable = attributes if "movablelimits" in attributes else f' movablelimits="true"{attributes}'
        mathml = (mathml[:found.start()] + f"<{_UNDER[kind]}><mo{movable}>{text}</mo>" + mathml[found.end():close]
                  + f"</{_UNDER[kind]}>" + mathml[close + len(f"</{kind}>"):])
    return mathml


def _closing(mathml: str, kind: str, start: int) -> int:
    """Where the `</kind>` that closes the element opened just before `start` is."""
    depth = 1
    for tag in re.finditer(rf"<(/?){kind}(?=[ >])", mathml[start:]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return start + tag.start()
    return -1


_OPERATOR_OF_TOKENS = re.compile(r"<mo>((?:<mrow>|</mrow>|<m[ino](?: [a-z-]+=\"[^\"]*\")*>[^<]*</m[ino]>)+)</mo>")


def _operators_with_structure(mathml: str) -> str:
    """`<mo><mrow>...</mrow></mo>` left after the tokens' case: the <mo> becomes an <mrow>."""
    while (start := mathml.find("<mo><mrow>")) >= 0:
        close = _closing(mathml, "mo", start + len("<mo>"))
        if close < 0:
            break
        mathml = mathml[:start] + "<mrow>" + mathml[start + len("<mo>"):close] + "</mrow>" + mathml[close + len("</mo>"):]
    return mathml
_TEXT_TOKEN = re.compile(r"(<mtext(?: [^>]*)?>)([^<]*)</mtext>")
# (`\ `, a control space, comes out as a backslash before its no-break space: the space alone.)
_TEXT_ESCAPE = re.compile(r"\\(&#x[0-9A-Fa-f]+;|[_%&$#{}])")
# A letter latex2mathml wrote as a character reference: \mathrm's (`\mathrm{d}x`), or a Greek capital,
# which TeX and KaTeX set upright; MathML Core sets a one-letter <mi> in italic unless told "normal".
_ENTITY_LETTER = re.compile(r"<mi>(&#x[0-9A-Fa-f]+;)</mi>")
_NAMED_BEFORE_BRACKET = re.compile(r'<mo((?: [a-z-]+="[^"]*")*)>([A-Za-z][A-Za-z&#x0-9;]*)</mo>'
                                   r"(?=<mo[^>]*>(?:&#x00028;|&#x0005B;|&#x0007B;|&#x0007C;|\(|\[|\{|\|))")


def _upright(found: re.Match) -> str:
    character = html.unescape(found.group(1))
    if (character.isascii() and character.isalpha()) or "\u0391" <= character <= "\u03a9":
        return f'<mi mathvariant="normal">{found.group(1)}</mi>'
    return found.group()
_ENCLOSED = re.compile(r'<menclose notation="([a-z ]+)">')
_THIN_LINE = "transparent calc(50% - 0.6px), currentColor calc(50% - 0.6px), currentColor calc(50% + 0.6px), " \
             "transparent calc(50% + 0.6px)"
_NOTATIONS = {"box": "border: 1px solid; padding: 0.1em 0.2em",
              "updiagonalstrike": f"linear-gradient(to top right, {_THIN_LINE})",
              "downdiagonalstrike": f"linear-gradient(to bottom right, {_THIN_LINE})",
              "horizontalstrike": f"linear-gradient(to bottom, {_THIN_LINE})"}


def _enclosed(found: re.Match) -> str:
    """\\boxed as a border, \\cancel, \\bcancel, \\xcancel and \\sout as lines drawn over it."""
    notations = found.group(1).split()
    lines = [_NOTATIONS[name] for name in notations if name in _NOTATIONS and name != "box"]
    style = [_NOTATIONS["box"]] if "box" in notations else []
    if lines:
        style.append("background: " + ", ".join(lines))
    return f'<mrow style="{"; ".join(style)}">' if style else "<mrow>"


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
    if "\\_" in latex:
        # A subscript, outside the arguments of \\text and the like (where it is a literal underscore).
        inside = _inside(latex, _text_arguments(latex))
        return re.sub(r"\\_", lambda found: found.group() if inside[found.start()] else "_", latex)
    return latex


_LESS, _GREATER = "RPMATHLESSX", "RPMATHGREATERX"     # letters latex2mathml keeps as they are


def _guard_text_brackets(latex: str) -> str:
    """`<` and `>` in the arguments of the commands whose argument is one piece of text (\\text, \\mbox)."""
    inside = _inside(latex, _text_arguments(latex, _TEXT_PIECES))
    return re.sub(r"[<>]", lambda found: ({"<": _LESS, ">": _GREATER}[found.group()] if inside[found.start()]
                                          else found.group()), latex)


# Commands whose argument latex2mathml writes as one <mtext> (not \textstyle, \textcolor or \mathrm,
# whose arguments are formulas).
_TEXT_PIECES = re.compile(r"\\(?:text|textbf|textit|textrm|texttt|textsf|textup|textmd|textnormal|mbox|hbox|fbox|emph)"
                          r"(?![A-Za-z])")
_BARE_AMPERSAND = re.compile(r"&(?!#[xX]?[0-9A-Fa-f]+;|[A-Za-z][A-Za-z0-9]*;)")


def _inside(latex: str, spans: list[tuple[int, int]]) -> bytearray:
    """For each offset of `latex`, 1 if it lies in one of `spans` (one pass, however many spans)."""
    mask = bytearray(len(latex) + 1)
    for start, end in spans:
        mask[start:end] = b"\x01" * (end - start)
    return mask


def _text_arguments(latex: str, commands: re.Pattern | None = None) -> list[tuple[int, int]]:
    """The spans of the braced arguments of \\text, \\mathrm, \\operatorname... (braces balanced)."""
    spans = []
    for command in (commands or _TEXT_COMMANDS).finditer(latex):
        start = latex.find("{", command.end())
        if start < 0 or latex[command.end():start].strip():
            continue
        depth, index = 0, start
        while index < len(latex):
            if latex[index] == "\\":
                index += 2
                continue
            depth += {"{": 1, "}": -1}.get(latex[index], 0)
            if depth == 0:
                break
            index += 1
        spans.append((start, index + 1))
    return spans


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

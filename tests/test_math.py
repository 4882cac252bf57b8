"""Math: `$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]` -> MathML at build time, opt-in per post (`math: true`)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from runpost.config import DEFAULT_TEMPLATES
from runpost.content.scan import scan_source
from runpost.errors import BuildErrors
from runpost.markup.markdown import markdown_to_html
from runpost.markup.math import MathError, latex_to_mathml
from runpost.markup.shortcodes import BUILTINS, parse_shortcodes
from runpost.post import FrontMatter, Post, Results
from runpost.site.environment import make_environment
from runpost.site.fragments import render_content


def render(body: str, values=None, math: bool = True) -> str:
    date = dt.datetime(2020, 5, 2)
    extra = {"math": True} if math else {}
    post = Post(path=Path("content/posts/t.md"), source="", body=body, body_line=5, url="/posts/t/",
                meta=FrontMatter(title="t", date=date, publish_date=date, extra=extra),
                results=Results(values=values or {}))
    post = parse_shortcodes(post, known=BUILTINS)
    post = dataclasses.replace(post, html=markdown_to_html(post.body))
    return render_content(post, {}, make_environment([DEFAULT_TEMPLATES]))


def formulas(body: str) -> list[str]:
    return [body[region.start:region.end] for region in scan_source(body, math=True).math]


def test_dollar_inline_and_display_become_mathml():
    html = render("Let $x_1$ be.\n\n$$\n\\frac{a}{b}\n$$\n")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline" alttext="x_1"><mrow><msub>' in html
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block" alttext="\\frac{a}{b}"><mrow><mfrac>' in html
    assert "$" not in html


def test_backslash_parenthesis_and_bracket_delimiters_become_mathml():
    html = render("Inline \\(y\\) and\n\n\\[z^2\\]\n")
    assert 'display="inline" alttext="y"><mrow><mi>y</mi>' in html
    assert 'display="block" alttext="z^2"><mrow><msup>' in html


def test_prices_in_prose_stay_text():
    assert formulas("It costs $5 and $10, or $ 3 $ at most; $20$30.") == []
    assert "costs $5 and $10" in render("It costs $5 and $10.")


def test_escaped_dollar_is_a_literal_dollar():
    assert formulas("A \\$x$ here") == []
    assert "<p>A $x$ here</p>" in render("A \\$x$ here")


def test_math_is_never_found_inside_code():
    body = ("`$a$` and\n\n```\n$b$\n```\n\n    $c$\n\n{{< highlight text >}}\n$d$\n{{< /highlight >}}\n")
    assert formulas(body) == []
    assert "<math" not in render(body)


def test_a_formula_does_not_cross_a_blank_line():
    assert formulas("an $x\n\ny$ b") == []


def test_math_is_off_unless_the_post_asks_for_it_as_hugo_leaves_dollars_as_text():
    assert "<p>the $x$ here</p>" in render("the $x$ here", math=False)


def test_published_value_inside_a_formula_is_rendered_as_a_number():
    html = render('$\\eta = {{< value lr >}}$ and $$n = {{< value runs "d" >}}$$', values={"lr": 0.001, "runs": 5})
    assert "<mo>&#x0003D;</mo><mn>0.001</mn>" in html
    assert "<mo>&#x0003D;</mo><mn>5</mn>" in html


def test_formula_that_cannot_render_is_reported_at_its_line_and_column():
    with pytest.raises(BuildErrors) as raised:
        render("Text\n\nA formula $\\left( x$ here and $\\foo$.")
    messages = [str(error) for error in raised.value.errors]
    assert messages == [
        "content/posts/t.md:7:11: error: cannot render math '\\left( x': extra left or missing right",
        "content/posts/t.md:7:31: error: cannot render math '\\foo': unknown LaTeX command '\\foo'",
    ]


def test_unbalanced_braces_are_an_error():
    with pytest.raises(BuildErrors) as raised:
        render("$\\frac{a}{b$")
    assert "'{' without a matching '}'" in str(raised.value.errors[0])


def test_what_katex_and_mathjax_posts_write_renders():
    # aligned (align* inside a formula), dcases, and \label/\nonumber/\notag, which show nothing.
    aligned = latex_to_mathml(r"\left\{ \begin{aligned} a &= b \\ c &= d \end{aligned} \right.", True)
    assert "<mtable" in aligned and "<mi>&amp;</mi>" not in aligned and "<mi>&</mi>" not in aligned
    assert "<mtable" in latex_to_mathml(r"\begin{dcases} a & b \\ c & d \end{dcases}", True)
    assert latex_to_mathml(r"x = 1 \label{eq:one} \nonumber", True) == latex_to_mathml("x = 1", True)
    assert latex_to_mathml(r"x \notag", False) == latex_to_mathml("x", False)


def test_arg_is_an_operator_name_as_in_latex_and_katex():
    # "unknown LaTeX command '\arg'" failed the build of every post with an argmax.
    from runpost.markup.math import latex_to_mathml
    assert '<mo>arg</mo><munder><mo movablelimits="true">max</mo>' in latex_to_mathml(r"\hat\theta = \arg\max_\theta p(x;\theta)", False)
    assert "argument" in latex_to_mathml(r"\text{argument}", False)


@pytest.mark.parametrize("written, as_latex", [
    # Written for Hugo 0.111 + KaTeX, where goldmark unescapes the formula before KaTeX reads it:
    # literal underscores, vanished braces and an empty row before.
    (r"x\_i + y\_{ij}", r"x_i + y_{ij}"),
    (r"\\{1, 2\\}", r"\{1, 2\}"),
    ("\\begin{aligned}\na &= b \\\\\\\\\nc &= d\n\\end{aligned}", "\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned}"),
    (r"\\{x\\} \\, y", r"\{x\} \, y"),
    # Spaces and norms escaped for goldmark: a line break and a stray comma, "|x|" for ‖x‖.
    (r"\int f(x)\\,dx", r"\int f(x)\,dx"),
    (r"\\|x\\|_2", r"\|x\|_2"),
    (r"a\\;b\\!c\\:d", r"a\;b\!c\:d"),
])
def test_math_escaped_for_hugos_markdown_reads_as_hugo_shows_it(written, as_latex):
    from runpost.markup.math import latex_to_mathml
    assert latex_to_mathml(written, True) == latex_to_mathml(as_latex, True)


@pytest.mark.parametrize("latex", [r"\{1,2\}", "a &= b \\\\\nc &= d", r"\text{max\_len} = x_i", r"\alpha\,\beta", r"\text{a\_b}"])
def test_latex_written_for_latex_is_read_as_it_is(latex):
    from runpost.markup.math import as_hugo_shows
    assert as_hugo_shows(latex) == latex


def test_math_written_for_hugo_and_katex_renders_as_katex_shows_it():
    # Hugo's goldmark turns \\( into \( for KaTeX; KaTeX defines MediaWiki's \R, \N, \infin...
    html = render("Inline \\\\( a_1 + b_2 \\\\) and\n\n\\\\[ x \\in \\R^n, \\N \\sub \\Z, \\infin \\\\]\n")
    assert 'display="inline" alttext="a_1 + b_2"><mrow><msub><mi>a</mi>' in html and "\\(" not in html
    assert 'display="block"' in html and "&#x0211D;" in html and "&#x02115;" in html and "&#x0221E;" in html
    assert ">\\R<" not in html and ">\\infin<" not in html       # no command left as text
    # A literal backslash before a parenthesis that no escaped closer follows stays text.
    assert "<math" not in render("Press \\\\(a\\) now.")
    assert latex_to_mathml(r"\Rightarrow \Re", False).count("<mo>") == 1        # longer names untouched


@pytest.mark.parametrize("front", [{"math": True}, {"mathjax": True}, {"katex": True}, {"math": "true"}])
def test_hugo_themes_names_for_math_turn_it_on(front):
    date = dt.datetime(2020, 5, 2)
    post = Post(path=Path("content/posts/t.md"), source="", body="Let $x_1$ be.", body_line=5, url="/posts/t/",
                meta=FrontMatter(title="t", date=date, publish_date=date, extra=front))
    assert formulas_of(post)


def formulas_of(post: Post) -> list:
    from runpost.content.scan import scan_of
    return scan_of(post).math


def test_a_summary_and_a_heading_id_read_a_formula_as_its_latex_as_hugo_does(tmp_path):
    # Hugo's summary shows the formula's source (KaTeX renders it); MathML's text would run
    # sub- and superscripts together ("(X⊤X)−1"). Hugo's heading id is from the source too.
    from conftest import run_build
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/m.md").write_text(
        "---\ntitle: M\ndate: 2024-01-01\nmath: true\n---\nWe fit $\\hat\\beta = (X^\\top X)^{-1} X^\\top y$ here.\n\n"
        "## Why $\\hat\\beta$ is unbiased\n\nSee [it](#why-hatbeta-is-unbiased).\n\n$$E = mc^2$$\n")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site/posts/m/index.html").read_text()
    assert '<meta name="description" content="We fit $\\hat\\beta = (X^\\top X)^{-1} X^\\top y$ here.' in page
    assert '<h2 id="why-hatbeta-is-unbiased">' in page
    assert "See it. $$E = mc^2$$" in page          # a displayed formula between two dollars, as written
    assert "We fit $\\hat\\beta = (X^\\top X)^{-1} X^\\top y$ here." in (tmp_path / "site/index.html").read_text()


def test_a_paragraph_that_is_only_a_formula_stays_a_paragraph():
    # Its <p> was dropped as a figure's is: three such lines showed as one, "a = 1 b = 2 c = 3".
    from types import SimpleNamespace
    from runpost.markup.markdown import render_markdown
    date = dt.datetime(2020, 5, 2)
    post = Post(path=Path("content/posts/t.md"), source="", body="Two facts:\n\n$a = 1$\n\n$b = 2$\n\n\\(c = 3\\)\n\n$$d$$\n",
                body_line=5, url="/posts/t/", meta=FrontMatter(title="t", date=date, publish_date=date, extra={"math": True}))
    post = render_markdown(parse_shortcodes(post, known=BUILTINS), SimpleNamespace(raw_html=False))
    html = render_content(post, {}, make_environment([DEFAULT_TEMPLATES]))
    assert html.count('<p><math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"') == 3, html
    assert '\n<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"' in html, html   # a block stays one


@pytest.mark.parametrize("latex, shown, hidden", [
    # Sized delimiters written as commands were "unknown LaTeX command '\langle'" (KaTeX shows them).
    (r"\big\langle x, y \big\rangle", ['size="1.2em">&#x027E8;</mo>', "&#x027E9;</mo>"], ["\\langle"]),
    (r"\Bigl\lvert x \Bigr\rvert + \bigg\lfloor y \bigg\rfloor", ["&#x0007C;</mo>", "&#x0230A;</mo>", "&#x0230B;</mo>"], ["\\lvert"]),
    (r"\big\{ x \big\} \Big\| y \Big\|", ["&#x0007B;</mo>", "&#x0007D;</mo>", "&#x02016;</mo>"], ["\\{", "\\|"]),
    # \sim is the relation U+223C, not a tilde.
    (r"x \sim \mathcal{N}(0, 1)", ["<mo>&#x0223C;</mo>"], ["&#x0007E;"]),
    # An operator name with a space in it is one name, not a `*` and letters.
    (r"\operatorname*{arg\,min}_\theta L", ['<mo movablelimits="true">arg\u2009min</mo>'], ["<mi>a</mi>", "<mo>*</mo>"]),
    (r"\operatorname{lim\;sup} + \operatorname{a\!b}", ["<mo>lim\u2005sup</mo>", "<mo>ab</mo>"], ["<mi>l</mi>"]),
])
def test_what_ml_posts_write_renders_as_katex_shows_it(latex, shown, hidden):
    mathml = latex_to_mathml(latex, False)
    assert all(part in mathml for part in shown), mathml
    assert not any(part in mathml.split(">", 1)[1] for part in hidden), mathml      # (the alttext holds the LaTeX)


def test_a_paragraph_that_is_only_a_value_or_a_formula_inside_a_markdown_shortcode_stays_a_paragraph(tmp_path):
    # Inside {{% note %}}...{{% /note %}}, two formula lines came out as one line; so did two
    # paragraphs that are each a published value.
    from conftest import FIXTURE_SITE, run_build
    import shutil
    project = tmp_path / "p"
    shutil.copytree(FIXTURE_SITE, project)
    (project / "templates/shortcodes").mkdir(parents=True, exist_ok=True)
    (project / "templates/shortcodes/note.html").write_text('<aside class="note">{{ inner }}</aside>\n')
    (project / "content/posts/m.md").write_text(
        "---\ntitle: M\ndate: 2024-01-01\nmath: true\n---\n```python {exec=true}\nimport runpost\n"
        "runpost.publish('a', 1)\nrunpost.publish('b', 2)\n```\n\n{{< value a >}}\n\n{{< value b >}}\n\n"
        "{{% note %}}\nFacts:\n\n$c = 3$\n\n$d = 4$\n{{% /note %}}\n")
    result = run_build(cwd=project)
    assert result.returncode == 0, result.stderr
    page = (project / "site/posts/m/index.html").read_text()
    assert "<p>1</p>" in page and "<p>2</p>" in page, page
    assert page.count('<p><math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"') == 2, page


@pytest.mark.parametrize("latex, display, shown, hidden", [
    # Font styles: MathML Core shows mathvariant="bold" and the like as plain letters.
    (r"\mathbf{Wx} + \boldsymbol{\mu} + \mathbb{1} + \mathcal{GP} + \mathcal{B}", True,
     ["<mi>𝐖</mi><mi>𝐱</mi>", "<mi>𝝁</mi>", "<mn>𝟙</mn>", "<mi>𝒢</mi><mi>𝒫</mi>", "<mi>&#x0212C;</mi>"], ["mathvariant="]),
    # Limits under the operator where the formula is displayed, beside it in the text (movablelimits).
    (r"\max_{a'} Q + \lim_{x\to 0} g", True, ['<munder><mo movablelimits="true">max</mo>',
                                               '<munder><mo movablelimits="true">lim</mo>'], ["<msub><mo>max"]),
    (r"\mathbb{E}\left[\sum_{t=0}^\infty r_t\right] + \bigcup_{i=1}^n A_i", True,
     ['<munderover><mo movablelimits="true">&#x02211;</mo>', '<munderover><mo movablelimits="true">&#x022C3;</mo>'],
     ["<msubsup><mo>&#x02211;"]),
    (r"\sum\nolimits_i x_i + \int_0^1 f", True, ["<msub><mo>&#x02211;</mo>", "<msubsup><mo>&#x0222B;</mo>"], ["<munder"]),
    # A \text's escaped characters are the characters.
    (r"\text{max\_iter} = \text{50\%}, \text{a \& b}", False, ["<mtext>max_iter</mtext>", "<mtext>50%</mtext>", "&amp;"],
     ["\\_", "\\%", "\\&"]),
    # \boxed and \cancel were dropped (menclose is no MathML Core): drawn with CSS.
    (r"\boxed{x = 1} + \cancel{y}", True, ['<mrow style="border: 1px solid', "background: linear-gradient(to top right"],
     ["menclose"]),
    # A row's extra space was printed as "[4pt]"; \newline, alignat and rcases were false errors.
    ("\\begin{aligned} a &= b \\\\[4pt] c &= d \\end{aligned}", True, ["<mi>c</mi>"], ["4pt"]),
    (r"a \newline b", True, ['<mtable displaystyle="true" rowspacing="3pt"><mtr><mtd><mi>a</mi></mtd></mtr><mtr><mtd><mi>b</mi>'],
     ["linebreak"]),
    (r"\begin{alignat}{2} a &= b & c &= d \end{alignat}", True, ["<mtable"], []),
    ("\\begin{rcases} a & x>0 \\\\ b & x<0 \\end{rcases}", True, ["&#x0007D;</mo>"], []),
])
def test_what_mathml_core_leaves_out_is_said_in_what_it_has(latex, display, shown, hidden):
    mathml = latex_to_mathml(latex, display)
    body = mathml.split(">", 1)[1]          # (the alttext holds the LaTeX)
    assert all(part in body for part in shown), mathml
    assert not any(part in body for part in hidden), mathml


def test_an_equations_tag_goes_to_the_right_margin_and_only_a_displayed_one_has_one():
    # "E = mc²(1)" read as a product: latex2mathml glued the tag to the formula.
    html = latex_to_mathml(r"E = mc^2 \tag{1}", True)
    assert html.startswith('<span class="math-tagged"><math ') and html.endswith('<span class="math-tag" data-tag="(1)"></span></span>')
    assert "<mtext>(1)" not in html
    assert latex_to_mathml(r"x \tag*{A}", True).endswith('<span class="math-tag" data-tag="A"></span></span>')
    with pytest.raises(MathError, match="tag numbers a displayed formula"):
        latex_to_mathml(r"x \tag{1}", False)


def test_an_escaped_underscore_outside_a_text_is_a_subscript_though_the_formula_has_a_text():
    # `x\_i + \text{bias}` kept x\_i as a literal underscore: any \text turned the rule off.
    from runpost.markup.math import as_hugo_shows
    assert as_hugo_shows(r"x\_i + \text{bias\_term} + y\_{j}") == r"x_i + \text{bias\_term} + y_{j}"


@pytest.mark.parametrize("latex, shown, hidden", [
    # A control space in a \text came out as "&#x000A0;" on the page; a `<` in one opened an HTML tag
    # that swallowed the rest of the page.
    (r"\text{e.g.\ this}", ["<mtext>e.g.&#x000A0;this</mtext>"], ["&amp;#x"]),
    (r"\text{if x<y} \text{a > b}", ["x&lt;y</mtext>", "&gt;"], ["x<y"]),
    # Words in bold stay words (a font weight), bold symbols are symbols, not unknown operators.
    (r"\textbf{bold} + \boldsymbol{\nabla} f + \boldsymbol{\epsilon}", ['<mtext style="font-weight: bold">bold</mtext>',
                                                                        "<mi>𝛁</mi>", "<mi>𝝐</mi>"], ["<mo>𝛁"]),
    # Upright where TeX sets them upright: \mathrm's letters and Greek capitals.
    (r"\mathrm{d}x + \Sigma", ['<mi mathvariant="normal">&#x00064;</mi>', '<mi mathvariant="normal">&#x003A3;</mi>'], []),
    # A named operator before a bracket has no gap after it, as \log has none.
    (r"\max(a, b) + \operatorname{Var}(X)", ['<mo rspace="0">max</mo>', '<mo rspace="0">Var</mo>'], []),
    # \operatorname*{\mathbb{E}}_x printed a "*" and kept its limits beside; \mathbbm{1} was a plain 1.
    (r"\operatorname*{\mathbb{E}}_{x} f + \mathbbm{1}", ['<munder><mo movablelimits="true">𝔼</mo>', "<mn>𝟙</mn>"], ["*"]),
])
def test_what_ml_posts_write_reads_as_katex_shows_it_in_mathml_core(latex, shown, hidden):
    body = latex_to_mathml(latex, True).split(">", 1)[1]
    assert all(part in body for part in shown), body
    assert not any(part in body for part in hidden), body


def test_a_tagged_equation_reads_as_its_whole_latex_and_a_tag_of_commands_is_an_error():
    # A summary showed "$$E=mc^2$$(1)": the tag's text came after a formula whose LaTeX had lost it.
    from runpost.site.views import plain_text
    html = latex_to_mathml(r"E=mc^2 \tag{1}", True)
    assert plain_text(html) == r"$$E=mc^2 \tag{1}$$" and 'data-tag="(1)"' in html
    for latex in (r"x \tag{\ref{a}}", r"x \tag{$\star$}"):
        with pytest.raises(MathError, match="give it plain text"):
            latex_to_mathml(latex, True)


def test_the_text_guard_leaves_formulas_in_formula_commands_and_markup_never_reaches_the_page():
    # \textstyle{\sum_{i<n}} and \mathrm{x<y} showed "RPMATHLESSX" (the guard's own letters);
    # \verb|<img onerror=...>| and \hbox{<b>} put raw markup in the page.
    for latex in (r"\textstyle{\sum_{i<n} x_i}", r"\mathrm{x<y}"):
        mathml = latex_to_mathml(latex, True)
        assert "RPMATH" not in mathml and "&#x0003C;" in mathml, mathml
    for latex in (r"\verb|<img src=x onerror=alert(1)>|", r"\style{<b>}{x}"):
        with pytest.raises(MathError, match="would be read as markup"):
            latex_to_mathml(latex, True)
    assert "a&lt;b" in latex_to_mathml(r"\hbox{a<b}", True)          # a text command's `<` is shown
    # An \href's `&` is written as a reference; \mathrel{<} is a relation, not markup.
    assert "a=1&amp;b=2" in latex_to_mathml(r"\href{https://example.org/?a=1&b=2}{x}", True)
    assert "&lt;" in latex_to_mathml(r"x \mathrel{<} y", True)
    with pytest.raises(MathError, match="'&' outside an environment"):       # (an attribute on its <mi>)
        latex_to_mathml(r"\mathrm{a&b}", True)


def test_a_tag_in_rows_is_an_error_that_says_how_and_an_operator_name_of_commands_is_one_operator_or_stays_what_it_is():
    # A \tag in a row of align: latex2mathml glued it to the row beside a number of its own. An error
    # that says how to number such a formula (aligned, then one \tag).
    with pytest.raises(MathError, match="tag inside align"):
        latex_to_mathml("\\begin{align} a&=b \\tag{1} \\\\ c&=d \\tag{2} \\end{align}", True)
    assert "data-tag" in latex_to_mathml("\\begin{aligned} a&=b \\\\ c&=d \\end{aligned} \\tag{1}", True)
    # \operatorname*{\arg\max}: "argmax"; \operatorname*{\mathbb{E}^2}: an <msup> inside an <mo> (lost).
    assert '<munder><mo movablelimits="true">arg\u2006max</mo>' in latex_to_mathml(r"\operatorname*{\arg\max}_x f", True)
    mathml = latex_to_mathml(r"\operatorname*{\mathbb{E}^2}_x f", True)
    assert "<msup>" in mathml and "<mo><mrow>" not in mathml


@pytest.mark.parametrize("latex", [r"a = b \\ c = d", r"\begin{gather*} a = b \\ c = d \end{gather*}",
                                   r"\begin{gathered} a = b \\ c = d \end{gathered}",
                                   r"\displaystyle a = b \\ c = d", r"\color{red} a = b \\ c = d"])
def test_a_displayed_formulas_lines_are_rows_as_katex_shows_them(latex):
    # From a review: `a = b \\ c = d` was written with an <mspace linebreak>, which browsers ignore:
    # the page read "a = bc = d".
    body = latex_to_mathml(latex, True).split(">", 1)[1]
    assert "linebreak" not in body
    assert ('<mtable displaystyle="true" rowspacing="3pt"><mtr><mtd><mi>a</mi><mo>&#x0003D;</mo><mi>b</mi></mtd></mtr>'
            '<mtr><mtd><mi>c</mi><mo>&#x0003D;</mo><mi>d</mi></mtd></mtr></mtable>') in body


@pytest.mark.parametrize("latex, display, message", [
    (r"a = b \\ c = d", False, "a line break (\\\\ or \\newline) in a formula in the text, which browsers do not show"),
    (r"\frac{a \\ b}{c}", True, "a line break (\\\\) where browsers cannot show it"),
    (r"\left( a \\ b \right)", True, "a line break (\\\\) where browsers cannot show it"),
])
def test_a_line_break_that_cannot_be_a_row_is_an_error(latex, display, message):
    with pytest.raises(MathError) as raised:
        latex_to_mathml(latex, display)
    assert str(raised.value).startswith(message), str(raised.value)

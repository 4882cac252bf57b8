"""Hostile inputs through the command line ("Trust", point 5).

No input may end in "internal error" or a traceback. Every case below is a
small project (one valid post, one hostile file) built with `python build.py`
as a subprocess, so the test does not depend on how runpost is organised
inside. Each case states what must happen:

  error(L)     exit 1, and stderr has a line `content/posts/<file>:L[:col]: error: ...`
               (L may be a tuple of acceptable lines where a parser may
               reasonably point at either end of the problem)
  BUILDS       exit 0, and nothing escaped: no script or javascript:/vbscript:/
               data: URL from content in any href/src/srcset/poster/action,
               feed and sitemap well-formed, no file written outside site/
  either(L)    policy not decided yet: error(L) or BUILDS, but nothing else
  contained(P) a file reaching outside the project: exit 1 with an error
               naming P, or exit 0 with a warning naming P; in both cases the
               outside file's content is nowhere in site/ nor in the output
  inside_ok(P) a symlink that stays inside the project: builds, or an error
               naming P

In every case: no "internal error", no "Traceback", no file created, changed
or removed outside site/ and build/, and the build uses at most SLOW seconds
of CPU. Each test builds its own case; pytest-xdist spreads them over the cores.
"""
from __future__ import annotations

import html.parser
import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import launcher

REPO = Path(__file__).resolve().parent.parent
PNG = (REPO / "tests/fixtures/site/static/images/square.png").read_bytes()
SLOW = 5.0         # CPU seconds: a case slower than this fails as "slow" (a trivial build takes ~0.4)
CPU_LIMIT = 10     # CPU seconds: the build is killed after this and the case fails
WALL_LIMIT = 60.0  # seconds: the build is killed after this even if idle (blocked on a pipe, say)
SECRET = "S3CR3T-OUTSIDE-THE-PROJECT"
PASSWD_LINE = "root:x:0:0"


# --- expectations -------------------------------------------------------------------------

BUILDS = ("builds",)
FENCE = "`" * 3


def error(*lines: int) -> tuple:
    return ("error", lines)


def either(*lines: int) -> tuple:
    return ("either", lines)


def contained(path: str) -> tuple:
    return ("contained", path)


def inside_ok(path: str) -> tuple:
    return ("inside_ok", path)


@dataclass(frozen=True)
class Symlink:
    """A symlink to create; `{outside}` and `{project}` in the target are filled in."""
    target: str


@dataclass(frozen=True)
class Fifo:
    pass


@dataclass
class Case:
    id: str
    files: dict[str, object]          # project-relative path -> str | bytes | Symlink | Fifo
    expect: tuple
    where: str | tuple[str, ...] = "content/posts/h.md"  # the file an error must name (one of)
    page: str | None = None           # for BUILDS: site/posts/<page>/index.html must exist
    config: str = ""                  # extra runpost.toml lines
    check: Callable[[Path, subprocess.CompletedProcess], None] | None = None


FRONT = "---\ntitle: H\ndate: 2020-01-01\n"


def body(text: str) -> str:
    """A valid post whose body starts at line 5."""
    return FRONT + "---\n" + text + "\n"


def field_line(line: str) -> str:
    """A valid post with one more front matter line, at line 4."""
    return FRONT + line + "\n---\nBody.\n"


def front(lines: str) -> str:
    """A post whose front matter is exactly `lines`, from line 2."""
    return "---\n" + lines + "\n---\nBody.\n"


def toml(lines: str) -> str:
    return "+++\n" + lines + "\n+++\nBody.\n"


def post(text: str | bytes, expect: tuple, id: str, page: str | None = "h", **kwargs) -> Case:
    if expect[0] != "builds":
        page = None
    return Case(id=id, files={"content/posts/h.md": text}, expect=expect, page=page, **kwargs)


# --- the family ---------------------------------------------------------------------------

def date_cases() -> list[Case]:
    bad = {
        "month-13": "2020-13-45",
        "feb-30": "2020-02-30",
        "zero-date": "0000-00-00",
        "yes": "yes",
        "list": "[1, 2]",
        "map": "{a: 1}",
        "null": "null",
        "word": "tomorrow",
        "tz-plus-25h": "2020-01-01T10:00:00+25:00",
        "tz-quoted-garbage": '"2020-01-01T10:00:00+99:99"',
        "tz-name": "2020-01-01T10:00:00 Mars/Olympus",
        "year-99999": "99999-01-01",
        "year-99999-quoted": '"99999-01-01"',
        "hour-25": "2020-01-01T25:00:00",
        "huge-number": "1" + "0" * 400,
        "negative-year": "-2020-01-01",
    }
    cases = [post(front(f"title: H\ndate: {value}"), error(3), f"date-{name}") for name, value in bad.items()]
    cases += [
        post(field_line("lastmod: 2020-02-30"), error(4), "lastmod-feb-30"),
        post(field_line("publishDate: [1]"), error(4), "publishDate-list"),
        post(toml('title = "H"\ndate = 2020-13-45'), error(3), "toml-date-month-13"),
        post(toml('title = "H"\ndate = 2020-01-01T00:00:00+25:00'), error(3), "toml-date-tz-plus-25h"),
        # Valid but extreme dates: representable, so they should simply build (far future: not published).
        post(front("title: H\ndate: 9999-12-31T23:59:59-23:59"), BUILDS, "date-end-of-time", page=None),
        post(front("title: H\ndate: 0001-01-01T00:00:00+01:00"), either(3), "date-before-year-1-in-utc"),
    ]
    return cases


def front_matter_type_cases() -> list[Case]:
    cases = [
        post(front("title: [a, b]\ndate: 2020-01-01"), error(2), "title-list"),
        post(front("title: {a: 1}\ndate: 2020-01-01"), error(2), "title-map"),
        post(front("title: 42\ndate: 2020-01-01"), BUILDS, "title-number"),
        post(front("title: null\ndate: 2020-01-01"), error(2), "title-null"),
        post(front("title:\ndate: 2020-01-01"), error(2), "title-empty"),
        post(front('title: "   "\ndate: 2020-01-01'), error(2), "title-blank"),
        post(front("title: !!binary aGVsbG8=\ndate: 2020-01-01"), either(2), "title-binary"),
        post(front('title: "\\ud800"\ndate: 2020-01-01'), either(2), "title-lone-surrogate-escape"),
        post(front('title: "a\\x1bb\\x00c"\ndate: 2020-01-01'), either(2), "title-control-char-escapes"),
        post(front("title: <script>alert(1)</script>\ndate: 2020-01-01"), BUILDS, "title-script"),
        post(field_line("tags: python"), BUILDS, "tags-string"),
        post(field_line("tags: 42"), BUILDS, "tags-number"),
        post(field_line("tags: {a: 1}"), error(4), "tags-map"),
        post(field_line("tags: [[a, b]]"), error(4), "tags-nested-list"),
        post(field_line("tags: [null]"), error(4), "tags-null-item"),
        post(field_line('tags: ["", "  ", "...", "/", "\\\\", "a/../../b"]'), either(4), "tags-degenerate"),
        post(field_line('tags: ["<script>alert(1)</script>"]'), BUILDS, "tags-script"),
        post(field_line("draft: maybe"), error(4), "draft-maybe"),
        post(field_line('draft: "true"'), BUILDS, "draft-string-true-is-true", page=None),   # as Hugo reads it
        post(field_line("draft: 1"), error(4), "draft-one"),
        post(field_line("draft: yes"), BUILDS, "draft-yes-is-true", page=None),
        post(field_line("slug: [a]"), error(4), "slug-list"),
        post(field_line("slug: {a: 1}"), error(4), "slug-map"),
        post(field_line("slug: ../x"), error(4), "slug-dotdot"),
        post(field_line("slug: ../../../tmp/x"), error(4), "slug-traversal"),
        post(field_line("slug: a/b"), error(4), "slug-slash"),
        post(field_line("slug: /"), error(4), "slug-root"),
        post(field_line('slug: "a\\\\b"'), error(4), "slug-backslash"),
        post(field_line('slug: "."'), error(4), "slug-dot"),
        post(field_line('slug: ""'), either(4), "slug-empty"),
        post(field_line('slug: "   "'), either(4), "slug-blank"),
        post(field_line('slug: "a?b#c"'), either(4), "slug-query-fragment"),
        post(field_line('slug: "%2e%2e"'), either(4), "slug-percent-dotdot"),
        post(field_line("slug: 123"), BUILDS, "slug-number", page="123"),
        post(field_line("params: [1, 2]"), error(4), "params-list"),
        post(field_line("params: text"), error(4), "params-string"),
        post(field_line("images: 5"), error(4), "images-number"),
        post(field_line("images: {a: 1}"), error(4), "images-map"),
        post(field_line("images: [[x.png]]"), error(4), "images-nested"),
        post(field_line("description: [a]"), error(4), "description-list"),
        post(field_line("summary: {a: 1}"), error(4), "summary-map"),
        post(field_line("inputs: {a: 1}"), error(4), "inputs-map"),
        post(field_line("inputs: [../../../outside/secret.txt]"), error(4), "inputs-outside-project"),
        post(field_line("inputs: [/etc/passwd]"), error(4), "inputs-absolute"),
        post(field_line("aliases: [/old/, ../../../../tmp/alias]"), error(4), "aliases-above-the-root"),
        post(field_line("aliases: [/old/, ../../tmp/alias, ./a/../b]"), BUILDS, "aliases-with-dots-inside"),
        post(field_line("aliases: [https://evil.example/]"), error(4), "aliases-another-site"),
        post(field_line("tags: &t [*t]"), error(4), "yaml-recursive-alias"),
        post(field_line("params: &p {a: *p}"), error(4), "yaml-recursive-alias-in-a-map"),
        post(field_line("unknown_key: whatever"), BUILDS, "unknown-key"),
        post(field_line("? [a, b]\n: c"), error(4, 5), "complex-key"),
        post(front("- a\n- b"), error(2), "front-matter-list"),
        post(front("just text"), error(2), "front-matter-scalar"),
        post(field_line("x: &a [l, l, l, l, l, l, l, l, l]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nw: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                        "v: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nu: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                        "t: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\ns: [*g, *g, *g, *g, *g, *g, *g, *g, *g]"),
             either(9), "yaml-billion-laughs"),  # refused at the first key past 100,000 values
        post(toml('title = ["H"]\ndate = 2020-01-01'), error(2), "toml-title-list"),
        post(toml('title = "H"\ndate = 2020-01-01\ndraft = "maybe"'), error(4), "toml-draft-string"),
        post(toml('title = "H"\ndate = 2020-01-01\nslug = "../x"'), error(4), "toml-slug-dotdot"),
        post(toml('title = "H"\ndate = 2020-01-01\n[params]\nx = 1'), BUILDS, "toml-params-table"),
    ]
    return cases


def syntax_and_encoding_cases() -> list[Case]:
    return [
        post('---\ntitle: "abc\ndate: 2020-01-01\n---\nBody.\n', error(2, 3), "yaml-unclosed-quote"),
        post("---\ntitle: H\n  date: 2020-01-01\n---\nBody.\n", error(3), "yaml-bad-indentation"),
        post("---\ntitle: H\n\tdate: 2020-01-01\n---\nBody.\n", error(3), "yaml-tab-indentation"),
        post("---\ntitle: H\ntitle: G\ndate: 2020-01-01\n---\nBody.\n", error(3), "yaml-duplicate-key"),
        post("---\ntitle: H\ndate: 2020-01-01\nBody.\n", error(1), "yaml-never-closed"),
        post("---\ntitle: [H\ndate: 2020-01-01\n---\nBody.\n", error(2, 3), "yaml-unclosed-bracket"),
        post("---\ntitle: H\ndate: 2020-01-01\n!!python/object:os.system x: 1\n---\nBody.\n", error(4), "yaml-python-tag"),
        post("---\ntitle: *nope\ndate: 2020-01-01\n---\nBody.\n", error(2), "yaml-undefined-alias"),
        post('+++\ntitle = "H\ndate = 2020-01-01\n+++\nBody.\n', error(2), "toml-unclosed-quote"),
        post('+++\ntitle = "H"\ntitle = "G"\ndate = 2020-01-01\n+++\nBody.\n', error(3), "toml-duplicate-key"),
        post('+++\ntitle = "H"\ndate = 2020-01-01\nBody.\n', error(1), "toml-never-closed"),
        post('+++\ntitle: H\n+++\nBody.\n', error(2), "toml-with-yaml-syntax"),
        post(b"", error(1), "empty-file"),
        post(b"\n\n\n", error(1), "blank-lines-only"),
        post(b"\xef\xbb\xbf", error(1), "bom-only"),
        post("---\n---\n", error(1, 2), "empty-front-matter"),
        post("---\ntitle: H\ndate: 2020-01-01\n---", BUILDS, "front-matter-only-no-newline"),
        post("---\ntitle: H\ndate: 2020-01-01\n---\n", BUILDS, "front-matter-only"),
        post(b"\xef\xbb\xbf---\ntitle: H\ndate: 2020-01-01\n---\nBody.\n", BUILDS, "utf8-bom"),
        post(b"---\r\ntitle: H\r\ndate: 2020-01-01\r\n---\r\nBody *x*.\r\n", BUILDS, "crlf"),
        post(b"---\rtitle: H\rdate: 2020-01-01\r---\rBody.\r", either(1), "cr-only"),
        post(b"---\ntitle: H\ndate: 2020-01-01\n---\r\nBody.\r\n", BUILDS, "mixed-line-endings"),
        post(body("Body with a NUL \x00 and &#0; and &#xD800; entities").encode(), BUILDS, "nul-in-body"),
        post(b"---\ntitle: a\x00b\ndate: 2020-01-01\n---\nBody.\n", error(2), "nul-in-front-matter"),
        post(b"---\ntitle: a\x1bb\ndate: 2020-01-01\n---\nBody.\n", error(2), "escape-char-in-front-matter"),
        post(body("caf\xe9").encode("latin-1"), error(5), "latin-1-body"),
        post(b"---\ntitle: Caf\xe9\ndate: 2020-01-01\n---\nBody.\n", error(2), "latin-1-front-matter"),
        post(b"---\ntitle: H\ndate: 2020-01-01\n---\nok\n\xff\xfe bad\n", error(6), "invalid-utf8-body"),
        post(b"---\ntitle: H\ndate: 2020-01-01\n---\n\xed\xa0\x80 surrogate\n", error(5), "utf8-encoded-surrogate"),
        post(b"---\ntitle: H\ndate: 2020-01-01\n---\n\xc0\xaf overlong\n", error(5), "utf8-overlong"),
        post(b"\xff\xfe" + "---\ntitle: H\ndate: 2020-01-01\n---\nBody.\n".encode("utf-16-le"), either(1), "utf16-le-bom"),
        post(b"\xfe\xff" + "---\ntitle: H\ndate: 2020-01-01\n---\nBody.\n".encode("utf-16-be"), either(1), "utf16-be-bom"),
        post(body("\u202e\u200b\ufeff\U0001f600 bidi and emoji \ufffe\uffff"), BUILDS, "odd-unicode"),
        post(body("\x0b\x0c\x1b[31m terminal escapes \x7f\x85"), BUILDS, "control-chars-in-body"),
    ]


def nesting_cases() -> list[Case]:
    nested_map = "{a: " * 2000 + "1" + "}" * 2000
    nested_list = "[" * 2000 + "1" + "]" * 2000
    return [
        post(body("> " * 5000 + "deep"), BUILDS, "blockquote-5000"),
        post(body(">" * 5000 + "deep"), BUILDS, "blockquote-5000-no-space"),
        post(body("- " * 5000 + "deep"), BUILDS, "list-5000-one-line"),
        post(body("a'b " * 20000), BUILDS, "quotes-20000-one-line"),      # the typographer read each quote's whole line
        post(body("1. " * 5000 + "deep"), BUILDS, "ordered-list-5000"),
        post(body("\n".join("  " * i + "- x" for i in range(1000))), BUILDS, "list-1000-indented-lines"),
        post(body("[" * 10000), BUILDS, "open-brackets-10000"),
        post(body("[" * 10000 + "x" + "]" * 10000 + "(/)"), BUILDS, "brackets-10000-link"),
        post(body("[a](https://example.com/" + "(" * 10000 + ")" * 10000 + ")"), BUILDS, "parens-10000-destination"),
        post(body("*" * 10000 + "x" + "*" * 10000), BUILDS, "emphasis-10000"),
        post(body("*a " * 10000), BUILDS, "emphasis-openers-10000"),
        post(body("_" * 10000 + "x"), BUILDS, "underscores-10000"),
        post(body("`" * 10000 + "x"), BUILDS, "backticks-10000"),
        post(body("<div>" * 5000 + "x"), BUILDS, "html-div-5000"),
        post(body("{{" * 10000), BUILDS, "double-braces-10000"),
        post(body("{{< " * 10000), error(5), "shortcode-openers-10000"),
        post(body("{{< note >}}" * 2000 + "x" + "{{< /note >}}" * 2000), either(5), "shortcode-note-2000-nested"),
        post(body("|a" * 5000 + "|\n" + "|-" * 5000 + "|\n" + "|x" * 5000 + "|"), BUILDS, "table-5000-columns"),
        post(body("#" * 10000 + " x"), BUILDS, "hashes-10000"),
        post(body("[^1]" * 5000 + "\n\n[^1]: note"), BUILDS, "footnote-refs-5000"),
        post(body("&amp;" * 20000), BUILDS, "entities-20000"),
        post(field_line(f"x: {nested_map}"), either(4), "yaml-map-2000-deep"),
        post(field_line(f"x: {nested_list}"), either(4), "yaml-list-2000-deep"),
        post(field_line("x:\n" + "\n".join("  " * i + "- " for i in range(1, 300)) + "1"), either(4, 5), "yaml-block-300-deep"),
        post(toml(f'title = "H"\ndate = 2020-01-01\nx = {nested_list}'), either(4), "toml-array-2000-deep"),
        post(toml('title = "H"\ndate = 2020-01-01\nx = ' + "{a = " * 2000 + "1" + "}" * 2000), either(4), "toml-table-2000-deep"),
        # Past even the deep stack: "internal error: RecursionError".
        post('{"title": "H", "date": "2020-01-01", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\nBody.\n", error(1),
             "json-list-100000-deep"),
        post(toml('title = "H"\ndate = 2020-01-01\nx = ' + "{a = " * 100_000 + "1" + "}" * 100_000), error(1),
             "toml-table-100000-deep"),
    ]


def huge_cases() -> list[Case]:
    return [
        post(body("lorem ipsum " * 420_000), BUILDS, "line-5MB-words"),
        post(body("x" * 5_000_000), BUILDS, "line-5MB-one-word"),
        post(body("x\n" * 100_000), BUILDS, "lines-100k"),
        post(body("- x\n" * 20_000), BUILDS, "list-items-20k"),
        post(field_line("description: " + "d" * 1_000_000), BUILDS, "description-1MB"),
        post(field_line("tags: [" + ", ".join(f"t{i}" for i in range(2000)) + "]"), BUILDS, "tags-2000"),
        # Each link made Python-Markdown's text new, and its brackets were matched again: 15 s.
        post(body(" ".join("[x][r]" for _ in range(5000)) + "\n\n[r]: /posts/h/"), BUILDS, "reference-links-5000"),
        # A range as wide as memory on a one-line block; a bound int() refuses (4,300 digits).
        post(body(FENCE + 'python {hl_lines="1-99999999999"}\nx = 1\n' + FENCE), BUILDS, "hl-lines-huge-range"),
        post(body(FENCE + 'python {hl_lines="1-' + "9" * 5000 + '"}\nx = 1\n' + FENCE), BUILDS, "hl-lines-5000-digits"),
    ]


def shortcode_cases() -> list[Case]:
    return [
        post(body("{{< nope >}}"), error(5), "shortcode-unknown"),
        post(body('{{< figure src="/ok.png"'), error(5), "shortcode-unclosed-tag"),
        post(body("{{< note >}}\ntext\n"), error(5), "shortcode-never-closed"),
        post(body("{{< note >}}x{{< /figure >}}"), error(5), "shortcode-mismatched-close"),
        post(body("text\n\n{{< /note >}}"), error(7), "shortcode-close-without-open"),
        post(body('{{< figure src="/ok.png >}}'), error(5), "shortcode-unterminated-quote"),
        post(body("{{< figure src='/ok.png >}}"), error(5), "shortcode-unterminated-single-quote"),
        post(body("{{< highlight >}}\nprint(1)\n{{< /highlight >}}"), either(5), "highlight-without-language"),
        post(body("{{< highlight python >}}\nprint(1)\n"), error(5), "highlight-unclosed"),
        post(body('{{< figure alt="x" >}}'), error(5), "figure-without-src"),
        post(body('{{< figure src="" >}}'), error(5), "figure-empty-src"),
        post(body('{{< figure src="/ok\x00.png" >}}'), error(5), "shortcode-param-nul"),
        post(body('{{< figure src="/ok.png" alt="a\nb" >}}'), either(5, 6), "shortcode-param-newline"),
        post(body('{{< figure src="/ok.png\nx" >}}'), error(5, 6), "shortcode-src-newline"),
        post(body("{{< youtube id=\"x'><script>alert(1)</script>\" >}}"), either(5), "youtube-id-injection"),
        post(body('{{< figure src="/ok.png" caption="<script>alert(1)</script>" >}}'), BUILDS, "figure-caption-script"),
        post(body('{{< figure src="/ok.png" class="x\\" onerror=\\"alert(1)" >}}'), either(5), "figure-class-injection"),
        post(body("{{< ../../../etc/passwd >}}"), error(5), "shortcode-name-traversal"),
        post(body("{{< ../../runpost.toml >}}"), error(5), "shortcode-name-project-file"),
        post(body("{{< value >}}"), error(5), "value-without-params"),
        post(body('{{< relref "nope" >}}'), error(5), "relref-missing"),
        post(body('{{< relref "../../../outside/secret.md" >}}'), error(5), "relref-outside"),
        post(body("{{</* comment never closed"), error(5), "shortcode-comment-unclosed"),
        post(body("{{< figure src=/ok.png =x >}}"), error(5), "shortcode-bare-equals"),
    ]


def url_cases() -> list[Case]:
    js = "javascript:alert(1)"
    raw = 'raw_html = true'
    cases = [
        post(body(f"[x]({js})"), error(5), "link-javascript"),
        post(body("[x](JaVaScRiPt:alert(1))"), error(5), "link-javascript-mixed-case"),
        # urlsplit refuses an unclosed IPv6 host: was an internal error in the link check.
        post(body("[a](http://[x/) [b](//[y/) <a href=\"https://x]/\">c</a> ![d](http://[::1/i.png)"), BUILDS,
             "link-unclosed-ipv6-host"),
        post(body(f"[x](  {js})"), error(5), "link-javascript-leading-spaces"),
        post(body("[x](jav&#x61;script:alert(1))"), error(5), "link-javascript-hex-entity"),
        post(body("[x](&#106;avascript:alert(1))"), error(5), "link-javascript-decimal-entity"),
        post(body("[x](javascript&colon;alert(1))"), error(5), "link-javascript-named-colon"),
        post(body("[x](<java\tscript:alert(1)>)"), error(5), "link-javascript-tab-in-scheme"),
        post(body("[x](java&#9;script:alert(1))"), error(5), "link-javascript-tab-entity"),
        post(body("[x](java&#10;script:alert(1))"), error(5), "link-javascript-newline-entity"),
        post(body("[x](<\x01javascript:alert(1)>)"), either(5), "link-javascript-control-prefix"),
        post(body("[x](vbscript:msgbox(1))"), error(5), "link-vbscript"),
        post(body("[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"), error(5), "link-data-html"),
        post(body("[x](data:image/png;base64,iVBORw0KGgo=)"), error(5), "link-data-image-in-href"),
        post(body("![x](data:image/png;base64,iVBORw0KGgo=)"), BUILDS, "image-data-png-allowed",
             check=lambda site, _: _assert_in(site / "posts/h/index.html", 'src="data:image/png;base64,')),
        post(body(f"![x]({js})"), error(5), "image-javascript"),
        post(body("![x](data:text/html,alert(1))"), error(5), "image-data-html"),
        post(body(f"[![a](/ok.png)]({js})"), error(5), "image-link-javascript"),
        post(body(f"<{js}>"), error(5), "autolink-javascript"),
        post(body("<JAVASCRIPT:alert(1)>"), error(5), "autolink-javascript-upper"),
        post(body(f"text [x][r]\n\n[r]: {js}"), error(5, 7), "reference-link-javascript"),
        post(body('[x](/ok.png "a\\" onmouseover=\\"alert(1)")'), BUILDS, "link-title-quote-injection"),
        post(body(f'<a href="{js}">x</a>'), BUILDS, "raw-html-javascript-omitted"),
        post(body('<img src=x onerror="alert(1)">'), BUILDS, "raw-html-onerror-omitted"),
        post(body("<script>alert(1)</script>"), BUILDS, "raw-html-script-omitted"),
        post(body(f'<a href="{js}">x</a>'), error(5), "raw-html-on-javascript-href", config=raw),
        post(body('<a href="jav&#x61;script:alert(1)">x</a>'), error(5), "raw-html-on-entity-href", config=raw),
        post(body(f'<img srcset="{js} 1x">'), error(5), "raw-html-on-srcset", config=raw),
        post(body(f'<video poster="{js}"></video>'), error(5), "raw-html-on-poster", config=raw),
        post(body(f'<form action="{js}"><button>x</button></form>'), error(5), "raw-html-on-action", config=raw),
        post(body('<iframe src="data:text/html,alert(1)"></iframe>'), error(5), "raw-html-on-iframe-data", config=raw),
        post(body(f'{{{{< figure src="{js}" >}}}}'), error(5), "figure-src-javascript"),
        post(body(f'{{{{< figure src="/ok.png" link="{js}" >}}}}'), error(5), "figure-link-javascript"),
        post(body(f'{{{{< figure src="/ok.png" link=" JavaScript:alert(1)" >}}}}'), error(5), "figure-link-javascript-spaced"),
        post(body(f'{{{{< figure src="/ok.png" attr="a" attrlink="{js}" >}}}}'), error(5), "figure-attrlink-javascript"),
        post(body('{{< figure src="data:text/html,alert(1)" >}}'), error(5), "figure-src-data-html"),
        post(body('{{< figure src="data:image/png;base64,iVBORw0KGgo=" >}}'), BUILDS, "figure-src-data-image"),
        post(field_line(f'images: ["{js}"]'), error(4), "front-matter-image-javascript"),
        post(field_line('images: ["data:text/html,alert(1)"]'), error(4), "front-matter-image-data-html"),
        post(body(f"{js} and www.example.com"), BUILDS, "bare-javascript-not-linked"),
        post(body("![x](../../../outside/secret.txt)"), error(5), "image-outside-project"),
        post(body("![x](/../../../outside/secret.txt)"), error(5), "image-rooted-outside-project"),
        post(body('{{< figure src="/../../outside/secret.txt" >}}'), error(5), "figure-outside-project"),
    ]
    return cases


def _outside_post() -> str:
    return f"---\ntitle: Outside\ndate: 2020-01-01\n---\n{SECRET}\n"


def symlink_and_path_cases() -> list[Case]:
    bundle = {"content/posts/b/index.md": body("A bundle.")}
    return [
        Case("symlink-post-to-etc-passwd", {"content/posts/passwd.md": Symlink("/etc/passwd")},
             contained("content/posts/passwd.md")),
        Case("symlink-post-outside", {"content/posts/leak.md": Symlink("{outside}/secret.md")},
             contained("content/posts/leak.md")),
        Case("symlink-bundle-folder-outside", {"content/posts/ext": Symlink("{outside}/bundle")},
             contained("content/posts/ext")),
        Case("symlink-bundle-file-outside", {**bundle, "content/posts/b/data.csv": Symlink("{outside}/secret.txt")},
             contained("content/posts/b/data.csv")),
        Case("symlink-bundle-subfolder-outside", {**bundle, "content/posts/b/data": Symlink("{outside}")},
             contained("content/posts/b/data")),
        Case("symlink-static-file-outside", {"static/leak.txt": Symlink("{outside}/secret.txt")},
             contained("static/leak.txt")),
        Case("symlink-static-folder-outside", {"static/ext": Symlink("{outside}")}, contained("static/ext")),
        Case("symlink-posts-folder-outside", {"content/posts/ok.md": None, "content/posts": Symlink("{outside}/posts")},
             contained("content/posts")),
        Case("symlink-bundle-file-dangling", {**bundle, "content/posts/b/gone.png": Symlink("/nonexistent/gone.png")},
             contained("content/posts/b/gone.png")),
        Case("fifo-in-bundle", {**bundle, "content/posts/b/pipe": Fifo()}, contained("content/posts/b/pipe")),
        Case("symlink-post-inside-project", {"notes/inside.md": body("Inside."),
                                             "content/posts/inside.md": Symlink("{project}/notes/inside.md")},
             inside_ok("content/posts/inside.md")),
        Case("symlink-bundle-loop", {**bundle, "content/posts/b/up": Symlink("{project}/content/posts")},
             inside_ok("content/posts/b/up")),
        Case("symlink-self-loop", {"content/posts/self.md": Symlink("{project}/content/posts/self.md")},
             inside_ok("content/posts/self.md")),
        Case("symlink-through-a-file", {"content/posts/a.md": body("A."),
                                        "content/posts/bad.md": Symlink("{project}/content/posts/a.md/x")},
             inside_ok("content/posts/bad.md")),
        Case("tag-traversal", {"content/posts/h.md": field_line('tags: ["../../etc", "../../../../tmp/x"]')},
             BUILDS, page="h"),
        Case("file-name-spaces-unicode", {"content/posts/my post ü 🎉.md": body("Spaces.")}, BUILDS),
        Case("file-name-hash-query", {"content/posts/a#b?c.md": body("Odd.")}, either(1),
             where="content/posts/a#b?c.md"),
        Case("file-name-dot", {"content/posts/..md": body("Dot.")}, either(1), where="content/posts/..md"),
        Case("file-name-dotdot", {"content/posts/...md": body("Dots.")}, either(1), where="content/posts/...md"),
        Case("bundle-resource-dotdot-names", {**bundle, "content/posts/b/..x.png": PNG,
                                              "content/posts/b/a..b.png": PNG,
                                              "content/posts/b/..\\..\\x.png": PNG}, BUILDS, page="b"),
        Case("bundle-resource-named-index-html", {**bundle, "content/posts/b/index.html": f"<p>{SECRET}</p>"},
             either(1), where=("content/posts/b/index.html", "content/posts/b/index.md"),
             check=lambda site, _: _assert_not_in(site / "posts/b/index.html", SECRET)),
        Case("bundle-resource-named-like-page", {**bundle, "content/posts/b/index.xml": "<x/>"}, BUILDS, page="b"),
    ]


def all_cases() -> list[Case]:
    return (date_cases() + front_matter_type_cases() + syntax_and_encoding_cases() + nesting_cases()
            + huge_cases() + shortcode_cases() + url_cases() + symlink_and_path_cases())


CASES = all_cases()
assert len({case.id for case in CASES}) == len(CASES), "duplicate case ids"


# --- running a case ---------------------------------------------------------------------

def make_project(root: Path, case: Case) -> Path:
    outside = root / "outside"
    (outside / "bundle").mkdir(parents=True)
    (outside / "posts").mkdir()
    (outside / "secret.md").write_text(_outside_post())
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "bundle/index.md").write_text(_outside_post())
    (outside / "bundle/secret.txt").write_text(SECRET + "\n")
    (outside / "posts/out.md").write_text(_outside_post())
    project = root / "project"
    (project / "content/posts").mkdir(parents=True)
    (project / "static").mkdir()
    (project / "runpost.toml").write_text(f'title = "t"\nbase_url = "https://example.org/"\n{case.config}\n')
    (project / "content/posts/ok.md").write_text("---\ntitle: OK\ndate: 2020-01-01\n---\nFine.\n")
    (project / "static/ok.png").write_bytes(PNG)
    for relative, content in case.files.items():
        path = project / relative
        if content is None:
            path.unlink()
            continue
        if isinstance(content, Symlink):
            if path.is_dir() and not path.is_symlink():
                for child in sorted(path.rglob("*"), reverse=True):
                    child.unlink() if child.is_file() else child.rmdir()
                path.rmdir()
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(content.target.format(outside=outside, project=project), path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8", "surrogatepass"))
    return project


def snapshot(root: Path, ignore: tuple[Path, ...]) -> dict[str, object]:
    """Every entry under root (not following symlinks) -> what it is, except under `ignore`."""
    entries: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [name for name in dirnames if here / name not in ignore]
        for name in dirnames + filenames:
            path = here / name
            if path in ignore:
                continue
            stat = path.lstat()
            if path.is_symlink():
                entries[str(path)] = ("link", os.readlink(path))
            elif path.is_file():
                entries[str(path)] = ("file", stat.st_size, stat.st_mtime_ns)
            else:
                entries[str(path)] = ("other", stat.st_mode)
    return entries


def run_cli(project: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """`python build.py ARGS` in `project` -> (result, CPU seconds it used).

    CPU time, not wall time, so that a busy machine does not make a case "slow".
    A build that exceeds CPU_LIMIT is killed by the kernel (SIGXCPU); one that
    sits idle (blocked reading a pipe, say) is killed after WALL_LIMIT. The process
    is forked from the tests' zygote (launcher.py), so start-up is not counted.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env.pop("GITHUB_ACTIONS", None)
    return launcher.launch(list(args), cwd=project, env=env, timeout=WALL_LIMIT, cpu_limit=CPU_LIMIT)


@dataclass
class Outcome:
    project: Path
    result: subprocess.CompletedProcess
    seconds: float
    outside_unchanged: bool


def run_case(root: Path, case: Case) -> Outcome:
    folder = root / re.sub(r"[^\w.-]", "_", case.id)
    folder.mkdir()
    project = make_project(folder, case)
    ignore = (project / "site", project / "build")
    before = snapshot(folder, ignore)
    result, seconds = run_cli(project)
    return Outcome(project, result, seconds, snapshot(folder, ignore) == before)


def first_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[0][:300] if lines else "(no stderr)"


def describe(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}: {first_line(result)}"


# The default run builds every fourth case (every family represented) and every symlink and
# path case (small builds, and what keeps files outside the project from being published);
# the whole family runs with `pytest -m slow` (about 230 builds, a few minutes on two cores).
QUICK_EVERY = 4
ALWAYS = {case.id for case in symlink_and_path_cases()} | {"link-unclosed-ipv6-host", "quotes-20000-one-line"}
# Still over the CPU budget (not fixed yet): only with -m slow, where they fail visibly.
KNOWN_SLOW = {"tags-2000", "line-5MB-one-word", "line-5MB-words", "list-1000-indented-lines"}


def _quick(index: int, case: Case) -> bool:
    return (index % QUICK_EVERY == 0 or case.id in ALWAYS) and case.id not in KNOWN_SLOW


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id, marks=() if _quick(index, case) else pytest.mark.slow)
                                  for index, case in enumerate(CASES)])
def test_hostile_input(case: Case, tmp_path: Path):
    outcome = run_case(tmp_path, case)
    project, result, seconds = outcome.project, outcome.result, outcome.seconds
    if result.returncode < 0:
        pytest.fail(f"killed after {seconds:.1f} s of CPU (limit {CPU_LIMIT} s CPU, {WALL_LIMIT:.0f} s wall)")
    output = result.stdout + result.stderr
    assert "internal error" not in output and "Traceback" not in output, describe(result)
    assert result.returncode in (0, 1), describe(result)
    if (project / "site").exists():
        assert_no_secret(project / "site")

    kind = case.expect[0]
    if kind == "either":
        kind = "builds" if result.returncode == 0 else "error"
    if kind == "builds":
        assert result.returncode == 0, describe(result)
        assert_nothing_escaped(project / "site")
        if case.page:
            assert (project / "site/posts" / case.page / "index.html").is_file(), f"page {case.page} missing"
    elif kind == "error":
        assert result.returncode == 1, describe(result)
        assert_error_at(result.stderr, case.where, case.expect[1], result)
    elif kind in ("contained", "inside_ok"):
        path = case.expect[1]
        assert SECRET not in output and PASSWD_LINE not in output, "outside content in the output"
        if result.returncode == 1:
            assert_error_at(result.stderr, path, None, result)
        elif kind == "contained":
            assert any(path in line and "warning" in line for line in result.stderr.splitlines()), \
                f"exit 0 without a warning naming {path}: {first_line(result)}"
        if result.returncode == 0:
            assert_nothing_escaped(project / "site")
    if case.check and result.returncode == 0:
        case.check(project / "site", result)
    assert outcome.outside_unchanged, "files outside site/ and build/ were created, changed or removed"
    assert seconds <= SLOW, f"slow: {seconds:.1f} s of CPU ({describe(result)})"


def assert_error_at(stderr: str, where: str | tuple[str, ...], lines: tuple[int, ...] | None, result) -> None:
    """A line `where:LINE[:COL]: error: ...` (any line, or none, if `lines` is None)."""
    paths = (where,) if isinstance(where, str) else where
    path_part = "|".join(re.escape(path) for path in paths)
    line_part = r"(:\d+(:\d+)?)?" if lines is None else rf":({'|'.join(map(str, lines))})(:\d+)?"
    pattern = re.compile(rf"^({path_part}){line_part}: error: ", re.M)
    shown = "|".join(paths) + ":" + ("|".join(map(str, lines)) if lines else "LINE")
    assert pattern.search(stderr), f"no '{shown}: error:' line; got {describe(result)}"


# --- what "nothing escaped" means -------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "srcset", "poster", "action", "formaction", "data", "xlink:href",
                  "background", "cite", "longdesc", "ping", "manifest", "codebase", "srcdoc"}
DANGEROUS = re.compile(r"^(javascript|vbscript|data):", re.I)
INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


class _Auditor(html.parser.HTMLParser):
    def __init__(self, name: str):
        super().__init__(convert_charrefs=True)
        self.name, self.problems, self.in_script = name, [], False

    def handle_starttag(self, tag, attrs):
        for attribute, value in attrs:
            value = value or ""
            if attribute.startswith("on") and "alert" in value:
                self.problems.append(f"{self.name}: <{tag} {attribute}={value!r}>")
            if attribute == "srcdoc":
                self.problems.append(f"{self.name}: <{tag} srcdoc>")
            if attribute in URL_ATTRIBUTES or (tag == "meta" and attribute == "content" and
                                               dict(attrs).get("property", "").endswith(":image")):
                for url in (value.split(",") if attribute == "srcset" else [value]):
                    cleaned = INVISIBLE.sub("", url)
                    if DANGEROUS.match(cleaned) and not (
                            tag in ("img", "source") and attribute in ("src", "srcset")
                            and cleaned.lower().startswith("data:image/")):
                        self.problems.append(f"{self.name}: <{tag} {attribute}={value[:60]!r}>")
        if tag == "script":
            self.in_script = True
            if "alert" in (dict(attrs).get("src") or ""):
                self.problems.append(f"{self.name}: <script src> from content")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and "alert(" in data:
            self.problems.append(f"{self.name}: <script> from content")


def assert_nothing_escaped(site: Path) -> None:
    assert site.is_dir(), "no site/ after a successful build"
    problems = []
    for path in sorted(site.rglob("*")):
        if path.is_symlink():
            problems.append(f"{path.relative_to(site)}: a symlink in the output")
            continue
        if path.suffix not in (".html", ".xml"):
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{path.relative_to(site)}: not UTF-8")
            continue
        if path.suffix == ".html":
            auditor = _Auditor(str(path.relative_to(site)))
            auditor.feed(text)
            problems += auditor.problems
        elif path.name in ("index.xml", "sitemap.xml") and path.parent == site:
            try:
                ElementTree.fromstring(raw)
            except ElementTree.ParseError as problem:
                problems.append(f"{path.relative_to(site)}: not well-formed XML ({problem})")
    assert not problems, "; ".join(problems[:5])


def assert_no_secret(site: Path) -> None:
    for path in site.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and PASSWD_LINE.encode() not in data, \
                f"content from outside the project published in {path.relative_to(site)}"


def _assert_in(path: Path, text: str) -> None:
    assert text in path.read_text(), f"{text!r} not in {path.name}"


def _assert_not_in(path: Path, text: str) -> None:
    assert not path.exists() or text not in path.read_text(), f"{text!r} replaced the page {path}"


def test_the_family_is_large_enough():
    assert len(CASES) >= 60


def test_after_a_deep_stage_deep_nesting_on_an_ordinary_stack_is_a_recursion_error_not_a_crash():
    # serve builds many times in one process: the recursion limit the content stages raise
    # must not stay raised, or the next runpost.toml with 100,000 nested arrays, parsed on an
    # ordinary thread, overflows the C stack (SIGSEGV) instead of raising RecursionError.
    script = ("import sys, tomllib; from runpost.deep import call_deep\n"
              "before = sys.getrecursionlimit(); call_deep(lambda: None)\n"
              "assert sys.getrecursionlimit() == before, sys.getrecursionlimit()\n"
              "try:\n    tomllib.loads('a = ' + '[' * 100_000 + ']' * 100_000)\n"
              "except RecursionError:\n    print('recursion error')\n")
    result = subprocess.run([os.sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "recursion error", (result.returncode, result.stderr[-2000:])


def test_when_the_deep_thread_cannot_start_the_recursion_limit_is_restored(monkeypatch):
    # Under a memory limit (ulimit -v) a thread with a 512 MB stack may not start.
    import sys
    import threading

    from runpost.deep import call_deep

    def refuse(self):
        raise RuntimeError("can't start new thread")

    before = sys.getrecursionlimit()
    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(RuntimeError):
        call_deep(lambda: None)
    assert sys.getrecursionlimit() == before

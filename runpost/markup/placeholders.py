"""The placeholder protocol: how a shortcode call or cell stands in the text until its HTML exists.

The shortcodes stage swaps each top-level call and executable block for a token
(`make_token`); Markdown carries the tokens through untouched; `site/fragments.py`
fills each one with its HTML (`fill`). Every stage that meets a token imports it
from here.

Tokens are letters and digits only, so Markdown (emphasis, typographer, linkify,
heading ids) leaves them alone, and the fixed "RPSC...X" frame means no token is
a substring of another.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable

TOKEN_FORMAT = "RPSC{:04d}X"
TOKEN_PATTERN = re.compile(r"RPSC\d{4,}X")
# Hugo's summary divider, `<!--more-->`, while the Markdown is converted (markdown.py); with more
# X's where the writer's own text holds this one (divider_token).
SUMMARY_DIVIDER_TOKEN = "RPSUMMARYDIVIDERX"
SUMMARY_DIVIDER_PATTERN = SUMMARY_DIVIDER_TOKEN + "+"


def divider_token(text: str) -> str:
    """The summary divider's token for a body: one that it does not already hold, in any case
    (one X more than the longest the writer typed)."""
    typed = [len(found) for found in _TYPED_DIVIDER.findall(text)]
    return SUMMARY_DIVIDER_TOKEN + "X" * (max(typed) + 1 - len(SUMMARY_DIVIDER_TOKEN)) if typed else SUMMARY_DIVIDER_TOKEN


_TYPED_DIVIDER = re.compile(SUMMARY_DIVIDER_PATTERN, re.IGNORECASE)


# A token alone in a paragraph stands for a block (a figure, a video): Hugo drops that <p>.
_BLOCK_TOKEN = re.compile(r"<p>\s*(" + TOKEN_PATTERN.pattern + r")\s*</p>")


def make_token(number: int) -> str:
    """The post's `number`-th placeholder (1-based)."""
    return TOKEN_FORMAT.format(number)


def inline_tokens(shortcodes: Iterable[Any]) -> frozenset[str]:
    """The tokens of calls that stand for text, not a block: a formula in the text (`$a = 1$`) and a
    published value. Alone in a paragraph they keep it (unwrap_block_tokens): two such lines are two
    paragraphs, not one line."""
    from .math import MATH_SHORTCODE

    return frozenset(shortcode.token for shortcode in shortcodes
                     if shortcode.name == "value" or (shortcode.name == MATH_SHORTCODE
                                                      and shortcode.named.get("display") == "false"))


def unwrap_block_tokens(html: str, inline: frozenset[str] = frozenset(), tokens: frozenset[str] | None = None) -> str:
    """Drop the <p> around a token that is alone in its paragraph, but one of the `inline` tokens (a
    formula in the text, `$a = 1$`: Hugo hands KaTeX a paragraph, and three such lines stay three).
    `tokens`: the calls' own tokens, where known; text that only looks like one keeps its <p>."""
    if not inline and tokens is None:
        return _BLOCK_TOKEN.sub(r"\1", html)
    return _BLOCK_TOKEN.sub(lambda match: match.group() if match.group(1) in inline
                            or (tokens is not None and match.group(1) not in tokens) else match.group(1), html)


def call_tokens(shortcodes: Iterable[Any], cells: Iterable[Any] = ()) -> frozenset[str]:
    """The tokens of these calls and cells: what in a body is a placeholder, not the writer's text."""
    return frozenset(item.token for item in (*shortcodes, *cells))


def fill(text: str, render: Callable[[str], str]) -> str:
    """Replace each token in `text` with `render(token)`."""
    return TOKEN_PATTERN.sub(lambda match: render(match.group()), text)


def split_tokens(text: str) -> tuple[list[str], list[str]]:
    """(the text between tokens, the tokens): `pieces[0] + tokens[0] + pieces[1] + ...` is `text`."""
    return TOKEN_PATTERN.split(text), TOKEN_PATTERN.findall(text)

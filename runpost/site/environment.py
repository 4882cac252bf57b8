"""The one Jinja environment: page templates and shortcode templates alike.

Production and tests build it here, so a shortcode renders the same in a
test as on the page. Whitespace: `trim_blocks`/`lstrip_blocks` keep block
tags from leaving blank lines; `keep_trailing_newline` keeps a template's
last newline, as Go templates do (Hugo's `<span>…</span>\\n.` shows a space).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import jinja2
from markupsafe import Markup

from ..markup.markdown import markdown_to_html
from .urls import absolute_url, normalize_url


def make_environment(templates_dirs: Iterable[Path], base_url: str = "/", raw_html: bool = False) -> jinja2.Environment:
    """Templates searched in order (the site's own first, then the theme's)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(path) for path in templates_dirs]),
        autoescape=jinja2.select_autoescape(["html", "xml", "htm"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["absolute_url"] = lambda url: absolute_url(str(url), base_url)
    env.filters["url"] = normalize_url
    env.filters["iso8601"] = lambda moment: moment.isoformat() if moment else ""
    # Hugo's `markdownify` (inline Markdown -> HTML) for shortcode templates; figure captions use it.
    env.filters["markdownify"] = lambda text: Markup(markdown_to_html(str(text or ""), raw_html, inline=True))
    env.globals["raw_html"] = raw_html
    return env

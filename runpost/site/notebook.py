"""A post with executable blocks as a Jupyter notebook and a plain script, beside its page.

    download_files(posts, render, base_url) -> {"posts/<slug>/<slug>.ipynb": text, ".../<slug>.py": text}
    download_links(post) -> {"notebook": site path, "script": site path}, or {} without blocks

The notebook holds the prose between blocks as Markdown cells (each shortcode turned
into its Markdown meaning: a published value's text, a figure's image, a video's
link; any other call as its rendered HTML), every executable block as a code cell
with the outputs of the stored run (what it printed, the figures it left open), and
a first cell saying which files of the post's bundle must sit beside it.

The JSON is written here by hand (nbformat 4.5), so rendering needs no Jupyter
package; the tests validate it with `nbformat` and run it with `nbclient`.
Everything here is made from the post and its stored results: the site stage
never runs code.
"""
from __future__ import annotations

import base64
import html
import json
import pprint
from typing import Any, Callable, Iterable

from ..markup.math import MATH_SHORTCODE
from ..markup.placeholders import fill, split_tokens
from ..post import Cell, Post, Shortcode, every_call
from .urls import absolute_url, is_internal, rewrite_urls

NBFORMAT, NBFORMAT_MINOR = 4, 5


def download_links(post: Post) -> dict[str, str]:
    """Site paths of the post's notebook and script; none for a post without executable blocks."""
    if not post.cells:
        return {}
    stem = post.url + _slug(post)
    return {"notebook": stem + ".ipynb", "script": stem + ".py"}


def download_files(posts: Iterable[Post], render: Callable[[Post], Callable[[str], str]],
                   base_url: str) -> dict[str, str]:
    """Output path -> text of every post's notebook and script.

    `render(post)` gives the post's token -> HTML function (fragments.py), used for
    the calls that have no plainer Markdown form.
    """
    files = {}
    for post in posts:
        links = download_links(post)
        if links:
            prose = _ProseWriter(post, render(post), base_url)
            files[links["notebook"].lstrip("/")] = notebook_text(post, prose, base_url)
            files[links["script"].lstrip("/")] = script_text(post, prose, base_url)
    return files


# -- the notebook

def notebook_text(post: Post, prose: "_ProseWriter", base_url: str) -> str:
    cells = [_markdown_cell(introduction(post, base_url))]
    setup = setup_code(post)
    if setup:
        cells.append(_code_cell(setup, []))
    for kind, item in document_parts(post, prose):
        cells.append(_markdown_cell(item) if kind == "prose" else _code_cell(item.code, cell_outputs(post, item)))
    counted = 0
    for number, cell in enumerate(cells, 1):
        cell["id"] = f"{cell['cell_type']}-{number}"
        if cell["cell_type"] == "code":
            counted += 1
            cell["execution_count"] = counted
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "title": post.meta.title,
        },
        "nbformat": NBFORMAT,
        "nbformat_minor": NBFORMAT_MINOR,
    }
    # Jupyter's own layout (one-space indent, sorted keys), so saving it in Jupyter changes little.
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def introduction(post: Post, base_url: str) -> str:
    page = absolute_url(post.url, base_url)
    needed = bundle_files_needed(post)
    lines = [f"# {post.meta.title}", "",
             f"This notebook is the post [{post.meta.title}]({page}), generated from its source: the prose, "
             f"and the code with the outputs of the run that the page shows."]
    if needed:
        links = ", ".join(f"[`{name}`]({absolute_url(post.url + name, base_url)})" for name in needed)
        lines += ["", f"To run it, put these files of the post's folder beside the notebook: {links}."]
    lines += ["", "`import runpost` needs the `runpost` package (the blog's builder; outside a build, "
                  "`runpost.publish` keeps values in memory), and the packages the code imports."]
    return "\n".join(lines)


def bundle_files_needed(post: Post) -> list[str]:
    """Bundle files the code may import or read: helper modules and the declared inputs."""
    modules = [path[len(post.url):] for path in post.assets if path.endswith(".py")]
    return sorted(set(modules) | set(post.meta.inputs))


def setup_code(post: Post) -> str:
    """Set runpost.params as the build did: front matter `params:` with the --param overrides."""
    params = {**post.meta.params, **post.results.overrides}
    if not params:
        return ""
    return ("# The post's parameters, as the build sets them (front matter `params:`).\n"
            "import runpost\n\n"
            f"runpost.params.update({pprint.pformat(params, sort_dicts=False)})\n")


def cell_outputs(post: Post, cell: Cell) -> list[dict[str, Any]]:
    output = post.results.outputs.get(cell.id)
    if output is None:
        return []
    outputs: list[dict[str, Any]] = []
    if output.stdout:
        outputs.append({"name": "stdout", "output_type": "stream", "text": _lines(output.stdout)})
    for figure in output.figures:
        source = post.results.files.get(figure.path)
        if source is None or not source.is_file():
            continue
        outputs.append({"data": {"image/png": base64.b64encode(source.read_bytes()).decode("ascii"),
                                 "text/plain": [figure.alt]},
                        "metadata": {}, "output_type": "display_data"})
    return outputs


def _markdown_cell(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text)}


def _code_cell(code: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": outputs,
            "source": _lines(code.rstrip("\n"))}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


# -- the script

def script_text(post: Post, prose: "_ProseWriter", base_url: str) -> str:
    """The blocks as one Python file, prose as comments, cells marked `# %%` (VS Code, Jupytext)."""
    parts = [_comment(introduction(post, base_url))]
    setup = setup_code(post)
    if setup:
        parts.append("# %%\n" + setup.rstrip("\n"))
    for kind, item in document_parts(post, prose):
        if kind == "prose":
            parts.append("# %% [markdown]\n" + _comment(item))
        else:
            parts.append(f"# %% {item.id}\n" + item.code.rstrip("\n"))
    return "\n\n".join(parts) + "\n"


def _comment(text: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in text.splitlines())


# -- prose and blocks in document order

def document_parts(post: Post, prose: "_ProseWriter") -> list[tuple[str, Any]]:
    """[("prose", markdown) | ("code", Cell)] in the order of the post; empty prose dropped."""
    cells = {cell.token: cell for cell in post.cells}
    pieces, tokens = split_tokens(post.body)
    parts: list[tuple[str, Any]] = []
    text = pieces[0]
    for token, piece in zip(tokens, pieces[1:]):
        if token in cells:
            parts.append(("prose", text))
            parts.append(("code", cells[token]))
            text = piece
        else:
            text += token + piece
    parts.append(("prose", text))
    return [(kind, prose.markdown(item) if kind == "prose" else item) for kind, item in parts
            if kind == "code" or item.strip()]


class _ProseWriter:
    """Markdown of the post's prose: each shortcode's token swapped for its Markdown meaning."""

    def __init__(self, post: Post, render: Callable[[str], str], base_url: str):
        self.post, self.render, self.base_url = post, render, base_url
        self.calls = {shortcode.token: shortcode for shortcode in every_call(post.shortcodes)}
        # Calls with a plainer Markdown form than their HTML.
        self.writers: dict[str, Callable[[Shortcode], str]] = {
            "value": self.write_value, "figure": self.write_figure, "youtube": self.write_youtube,
            "highlight": self.write_highlight, "ref": self.write_ref, "relref": self.write_ref,
            MATH_SHORTCODE: self.write_math,
        }

    def markdown(self, text: str) -> str:
        return fill(text, self.call).strip("\n")

    def absolute(self, url: str) -> str:
        return absolute_url(url, self.base_url, self.post.url) if is_internal(url) else url

    def call(self, token: str) -> str:
        shortcode = self.calls.get(token)
        if shortcode is None:
            return token
        if shortcode.name in self.writers:
            return self.writers[shortcode.name](shortcode)
        # Anything else (a table, a note, a site's own shortcode): its HTML, which Markdown cells show.
        return rewrite_urls(self.render(token), self.absolute)

    def write_value(self, shortcode: Shortcode) -> str:
        return self.render(shortcode.token)

    def write_figure(self, shortcode: Shortcode) -> str:
        named = shortcode.named
        alt = named.get("alt") or named.get("caption") or ""
        image = f"![{_bracket_safe(alt)}]({self.absolute(named.get('src', ''))})"
        caption = named.get("caption", "")
        return f"{image}\n\n*{caption}*" if caption else image

    def write_youtube(self, shortcode: Shortcode) -> str:
        video = shortcode.named.get("id") or (shortcode.positional[0] if shortcode.positional else "")
        title = shortcode.named.get("title") or "the video on YouTube"
        return f"[Watch {_bracket_safe(title)}](https://www.youtube.com/watch?v={video})"

    def write_highlight(self, shortcode: Shortcode) -> str:
        language = shortcode.positional[0] if shortcode.positional else shortcode.named.get("lang", "")
        code = fill(shortcode.inner or "", self.render)      # calls inside rendered, as on the page
        return f"```{language}\n{code.strip(chr(10))}\n```"

    def write_ref(self, shortcode: Shortcode) -> str:
        return self.absolute(html.unescape(self.render(shortcode.token)))

    def write_math(self, shortcode: Shortcode) -> str:
        # Jupyter renders $...$ with MathJax; a value inside a formula is LaTeX text, not HTML.
        latex = fill(shortcode.inner or "", lambda token: html.unescape(self.render(token))).strip()
        return f"$${latex}$$" if shortcode.named.get("display") == "true" else f"${latex}$"


def _bracket_safe(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def _slug(post: Post) -> str:
    return post.url.rstrip("/").rsplit("/", 1)[-1] or post.name

"""site/notebook.py: a post with executable blocks is also a notebook and a script beside its page.

One build of tests/fixtures/notebook (two tiny blocks: one prints through a helper
module and the post's params, one draws a 2x2 figure and publishes a value) serves
every test; nbclient runs the notebook as Jupyter would.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_build

FIXTURE = Path(__file__).parent / "fixtures" / "notebook"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("notebook") / "project"
    shutil.copytree(FIXTURE, project)
    result = run_build(cwd=project)
    assert result.returncode == 0, result.stderr
    return project


def page_folder(built: Path) -> Path:
    return built / "site" / "posts" / "tiny"


def notebook(built: Path) -> dict:
    return json.loads((page_folder(built) / "tiny.ipynb").read_text(encoding="utf-8"))


def test_post_with_blocks_gets_a_valid_notebook_and_a_script_beside_its_page(built):
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.reads((page_folder(built) / "tiny.ipynb").read_text(encoding="utf-8"), as_version=4))
    assert (page_folder(built) / "tiny.py").is_file()


def test_page_links_to_the_notebook_and_the_script(built):
    page = (page_folder(built) / "index.html").read_text(encoding="utf-8")
    assert ('<p class="post-downloads">Download: <a href="tiny.ipynb" download>notebook</a> · '
            '<a href="tiny.py" download>script</a></p>') in page


def test_post_without_blocks_has_no_download_line_and_no_notebook(site_dir):
    assert run_build(cwd=site_dir).returncode == 0
    assert "post-downloads" not in (site_dir / "site/posts/first-post/index.html").read_text(encoding="utf-8")
    assert not list((site_dir / "site").rglob("*.ipynb"))


def test_first_cell_names_the_bundle_files_and_links_the_page(built):
    first = "".join(notebook(built)["cells"][0]["source"])
    assert "[A tiny executable post](https://example.org/blog/posts/tiny/)" in first
    assert "[`data.csv`](https://example.org/blog/posts/tiny/data.csv)" in first
    assert "[`helper.py`](https://example.org/blog/posts/tiny/helper.py)" in first


def test_first_code_cell_sets_the_posts_params(built):
    setup = "".join(notebook(built)["cells"][1]["source"])
    assert "runpost.params.update({'scale': 3})" in setup


def test_prose_shortcodes_become_their_markdown_meaning(built):
    prose = ["".join(cell["source"]) for cell in notebook(built)["cells"] if cell["cell_type"] == "markdown"]
    assert prose[1] == ("Prose before the first block. The total is 3; see "
                        "[Watch the video on YouTube](https://www.youtube.com/watch?v=LHXXI4-IEns).")
    assert prose[2] == "Between blocks, with math $x^2$."
    assert prose[3] == ("![Not really](https://example.org/blog/posts/tiny/plot-1.png)\n\n*Not really*\n\n"
                        # no plainer form: the shortcode's HTML, which Markdown cells show
                        '<aside class="note">A <em>note</em> with the total, 3.</aside>')


def test_code_cells_carry_the_stored_stdout_and_figures(built):
    code = [cell for cell in notebook(built)["cells"] if cell["cell_type"] == "code"][1:]
    assert "".join(code[0]["source"]).startswith("import runpost\nfrom helper import double")
    assert code[0]["outputs"] == [{"name": "stdout", "output_type": "stream", "text": ["6\n"]}]
    [figure] = code[1]["outputs"]
    assert figure["output_type"] == "display_data"
    assert figure["data"]["text/plain"] == ["A line"]
    assert base64.b64decode(figure["data"]["image/png"]) == (page_folder(built) / "plot-1.png").read_bytes()


def test_a_rebuild_writes_byte_identical_files_notebook_and_image_copies_included(built, tmp_path):
    shutil.rmtree(built / "build" / ".cache", ignore_errors=True)     # image copies made again, not reused
    again = tmp_path / "again"
    assert run_build("--frozen", "--output", str(again), cwd=built).returncode == 0
    first = {path.relative_to(built / "site"): path.read_bytes() for path in (built / "site").rglob("*") if path.is_file()}
    second = {path.relative_to(again): path.read_bytes() for path in again.rglob("*") if path.is_file()}
    assert Path("posts/tiny/tiny.ipynb") in first and Path("posts/tiny/plot-1.webp") in first
    assert first == second


def test_notebook_runs_top_to_bottom_in_jupyter_beside_the_bundle_files(built, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # What a reader downloads: the notebook and the files its first cell names, nothing else.
    reader = tmp_path / "reader"
    reader.mkdir()
    for name in ("tiny.ipynb", "helper.py", "data.csv"):
        shutil.copy(page_folder(built) / name, reader / name)
    document = nbformat.read(reader / "tiny.ipynb", as_version=4)
    nbclient.NotebookClient(document, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(reader)}}).execute()
    code = [cell for cell in document.cells if cell.cell_type == "code"]
    assert code[1].outputs[0]["text"] == "6\n"
    assert any("image/png" in output.get("data", {}) for output in code[2].outputs)


def test_script_runs_with_plain_python_beside_the_bundle_files(built, tmp_path):
    for name in ("tiny.py", "helper.py", "data.csv"):
        shutil.copy(page_folder(built) / name, tmp_path / name)
    result = subprocess.run([sys.executable, "tiny.py"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "6\n"


def test_a_call_inside_a_highlight_is_rendered_into_its_code_on_the_page_and_in_the_downloads(site_dir):
    # From a review: `name := "{{< param author >}}"` inside a highlight showed `name := "RPSC0002X"` on the
    # page, the home page and the feeds; Hugo renders the inner call first: `name := "Jane"`.
    (site_dir / "content/posts/hl.md").write_text(
        "---\ntitle: HL\ndate: 2024-01-02\nauthor: Jane\n---\n\n"
        '{{< highlight go >}}\nname := "{{< param author >}}"\n{{< /highlight >}}\n\n'
        "```python {exec=true}\nprint(1)\n```\n", encoding="utf-8")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = (site_dir / "site/posts/hl/index.html").read_text(encoding="utf-8")
    assert "&#34;Jane&#34;" in page
    for path in (site_dir / "site").rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".py", ".ipynb"):
            assert "RPSC" not in path.read_text(encoding="utf-8"), path
    assert 'name := "Jane"' in (site_dir / "site/posts/hl/hl.py").read_text(encoding="utf-8")


"""What a wheel carries: the theme and `runpost new`'s skeleton are package data; a site overrides the theme."""
from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from runpost.config import DEFAULT_STATIC, DEFAULT_TEMPLATES, load_config
from runpost.new import SKELETON
from runpost.site.finish import static_files

PACKAGE = Path(__file__).resolve().parent.parent / "runpost"
PYPROJECT = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder", [DEFAULT_TEMPLATES, DEFAULT_STATIC, SKELETON], ids=lambda path: path.name)
def test_theme_and_skeleton_files_are_package_data(folder):
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["runpost"]
    files = [path.relative_to(PACKAGE).as_posix() for path in folder.rglob("*") if path.is_file()]
    assert files and folder.is_relative_to(PACKAGE)
    # setuptools expands `**` as glob(recursive=True) does: zero or more folders.
    patterns = [pattern for glob in globs for pattern in (glob, glob.replace("**/", ""))]
    assert [file for file in files if not any(fnmatch.fnmatch(file, pattern) for pattern in patterns)] == []
    # setuptools' package-data globs skip dotfiles, so a wheel would silently lack them.
    assert not [file for file in files if any(part.startswith(".") for part in file.split("/"))]


def test_the_theme_is_searched_after_the_sites_own_folders(tmp_path):
    config = load_config(tmp_path)
    assert config.templates_dirs == (tmp_path / "templates", DEFAULT_TEMPLATES)
    assert config.static_dirs == (tmp_path / "static", DEFAULT_STATIC)


def test_a_sites_static_file_replaces_the_themes_file_of_the_same_path(tmp_path):
    (tmp_path / "static/css").mkdir(parents=True)
    (tmp_path / "static/css/style.css").write_text("body { color: red }")
    files = static_files(SimpleNamespace(static_dirs=(tmp_path / "static", DEFAULT_STATIC)))
    assert files["css/style.css"] == tmp_path / "static/css/style.css"
    assert files["js/embeds.js"] == DEFAULT_STATIC / "js/embeds.js", "the rest of the theme stays"


def test_every_library_the_renderer_imports_is_a_core_dependency():
    # A deploy installs the core alone (`pip install runpost`, the Pages workflow): a library
    # the renderer imports only where it is installed would make the deployed site differ from
    # the local one (Pillow: image sizes and WebP copies). Execution (the kernel, memo) may use extras.
    import ast
    import re
    import sys

    provides = {"pyyaml": "yaml", "pillow": "PIL", "pymdown-extensions": "pymdownx", "latex2mathml": "latex2mathml"}
    core = {provides.get(name, name) for name in
            (re.match(r"[A-Za-z0-9_.-]+", requirement)[0].lower() for requirement in PYPROJECT["project"]["dependencies"])}
    core |= {"markupsafe"}          # Jinja2's own dependency, which Jinja2 installs
    rendering = [path for folder in ("site", "markup", "content") for path in (PACKAGE / folder).rglob("*.py")]
    rendering += [PACKAGE / name for name in ("pipeline.py", "render_cache.py", "config.py", "post.py", "uptodate.py")]
    imported = set()
    for path in rendering:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            imported |= {name.split(".")[0] for name in names}
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "runpost"}
    assert third_party and third_party <= core, sorted(third_party - core)

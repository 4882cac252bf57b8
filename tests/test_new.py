"""`runpost new`: a blog that builds as it is, from files that ship in the package."""
from __future__ import annotations

import tomllib

import pytest

from conftest import needs, run_build
from runpost.cli import main
from runpost.new import new_blog


def test_new_blog_has_settings_a_post_ignores_readme_and_pages_workflow(tmp_path):
    assert new_blog(tmp_path / "myblog") == 0
    files = {path.relative_to(tmp_path / "myblog").as_posix() for path in (tmp_path / "myblog").rglob("*")
             if path.is_file()}
    assert files == {"runpost.toml", "README.md", ".gitignore", "requirements.txt",
                     ".github/workflows/pages.yml", "content/posts/hello-runpost/index.md"}


def test_new_blog_settings_are_valid_and_commented(tmp_path):
    new_blog(tmp_path / "myblog")
    text = (tmp_path / "myblog/runpost.toml").read_text()
    settings = tomllib.loads(text)
    assert settings["title"] == "myblog"
    assert settings["base_url"].startswith("https://") and settings["base_url"].endswith("/myblog/")
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[number - 1].startswith("#") or lines[number - 2].startswith("#"), line


def test_new_blog_readme_names_the_commands(tmp_path):
    new_blog(tmp_path / "myblog")
    readme = (tmp_path / "myblog/README.md").read_text()
    assert "runpost serve" in readme and "runpost build" in readme and "git add build/" in readme


@pytest.mark.parametrize("existing", ["file", "folder with a file", "link to nothing"])
def test_new_refuses_a_non_empty_folder_with_exit_2(tmp_path, existing, capsys):
    target = tmp_path / "blog"
    if existing == "file":
        target.write_text("mine")
    elif existing == "link to nothing":
        target.symlink_to(tmp_path / "gone")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    assert main(["new", str(target)]) == 2
    assert ("does not exist" if existing == "link to nothing" else "not empty") in capsys.readouterr().err
    assert not (target / "runpost.toml").exists() and not (tmp_path / "gone").exists()


def test_new_prints_a_cd_line_a_shell_can_run(tmp_path, capsys):
    assert new_blog(tmp_path / "my blog") == 0
    assert f"  cd '{tmp_path}/my blog'\n" in capsys.readouterr().out


def test_new_accepts_an_empty_folder(tmp_path):
    (tmp_path / "blog").mkdir()
    assert new_blog(tmp_path / "blog") == 0


def test_new_blog_builds_with_its_post_figure_and_value(tmp_path):
    needs("matplotlib", "numpy")
    assert run_build("new", "myblog", cwd=tmp_path).returncode == 0
    blog = tmp_path / "myblog"
    result = run_build(cwd=blog)
    assert result.returncode == 0, result.stderr
    page = (blog / "site/posts/hello-runpost/index.html").read_text()
    assert '<img src="waves.png"' in page
    assert (blog / "site/posts/hello-runpost/waves.png").read_bytes().startswith(b"\x89PNG")
    assert "peaks at 1.414," in page
    assert (blog / "build/hello-runpost/manifest.json").is_file()
    frozen = run_build("--frozen", cwd=blog)
    assert frozen.returncode == 0, frozen.stderr

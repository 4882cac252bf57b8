"""The output folder is runpost's only: site/output.py and the CLI around it."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conftest import run_build
from runpost.errors import UsageError
from runpost.site.output import MARKER, check_output_folder


def sources(root: Path) -> list[Path]:
    return [root / "content", root / "build", root / "templates", root / "static", root / ".git"]


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "blog"
    for name in ("content/posts", "build", ".git", "docs"):
        (root / name).mkdir(parents=True)
    (root / "docs/notes.md").write_text("mine")
    return root


@pytest.mark.parametrize("name", [".", "..", "content", "content/posts", "build", "build/x", ".git", "static"])
def test_project_and_source_folders_are_refused_even_when_forced(project, name):
    with pytest.raises(UsageError):
        check_output_folder(project / name, project, sources(project), force=True)


def test_root_and_home_are_refused(project, monkeypatch):
    monkeypatch.setenv("HOME", str(project.parent))
    for folder in (Path("/"), project.parent):
        with pytest.raises(UsageError):
            check_output_folder(folder, project, sources(project), force=True)


def test_a_folder_holding_another_project_is_refused_even_when_forced(project, tmp_path):
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    with pytest.raises(UsageError, match="looks like a project"):
        check_output_folder(other, project, sources(project), force=True)


def test_a_folder_of_unrelated_files_needs_force(project):
    with pytest.raises(UsageError, match="--force"):
        check_output_folder(project / "docs", project, sources(project))
    check_output_folder(project / "docs", project, sources(project), force=True)


def test_missing_empty_and_marked_folders_are_accepted(project):
    check_output_folder(project / "site", project, sources(project))
    (project / "site").mkdir()
    check_output_folder(project / "site", project, sources(project))
    (project / "site/index.html").write_text("old")
    (project / "site" / MARKER).write_text("")
    check_output_folder(project / "site", project, sources(project))


def test_refused_output_leaves_every_file_and_exits_2(site_dir):
    (site_dir / "docs").mkdir()
    (site_dir / "docs/keep.txt").write_text("keep")
    before = sorted(str(path.relative_to(site_dir)) for path in site_dir.rglob("*"))
    for output in (".", "content", "docs", ".."):
        result = run_build("--output", output, cwd=site_dir)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: refusing") or "not made by runpost" in result.stderr
        assert "Traceback" not in result.stderr
    assert sorted(str(path.relative_to(site_dir)) for path in site_dir.rglob("*")) == before


def test_site_files_are_readable_by_other_users(site_dir):
    old = os.umask(0o022)
    try:
        assert run_build(cwd=site_dir).returncode == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((site_dir / "site").stat().st_mode) == 0o755
    assert stat.S_IMODE((site_dir / "site/index.html").stat().st_mode) == 0o644
    assert (site_dir / "site" / MARKER).is_file()


def test_missing_content_folder_is_a_usage_error_and_keeps_the_site(site_dir):
    assert run_build(cwd=site_dir).returncode == 0
    before = (site_dir / "site/index.html").read_bytes()
    result = run_build("--content", "nope", cwd=site_dir)
    assert result.returncode == 2
    assert "content folder 'nope' does not exist" in result.stderr
    assert (site_dir / "site/index.html").read_bytes() == before
    # A file there is not "missing": it is not a folder (from a review: `--content runpost.toml`).
    result = run_build("--content", "runpost.toml", cwd=site_dir)
    assert result.returncode == 2
    assert "content folder 'runpost.toml' is not a folder" in result.stderr


def test_a_folder_that_is_no_project_is_a_usage_error(tmp_path):
    result = run_build(cwd=tmp_path)
    assert result.returncode == 2
    assert "no runpost.toml and no content/ folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_param_preview_never_writes_the_deploy_folder(site_dir):
    (site_dir / "content/posts/param.md").write_text(
        "---\ntitle: P\ndate: 2020-01-01\nparams:\n  n: 1\n---\n"
        "```python {exec=true}\nimport runpost\nprint(runpost.params['n'] * 2)\n```\n")
    result = run_build("--param", "n=21", cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert not (site_dir / "site").exists()
    preview = site_dir / "build/.preview/site"
    assert "42" in (preview / "posts/param/index.html").read_text()
    assert f"writing the site to {preview}" in result.stderr


@pytest.mark.parametrize("folder", ["/etc", "/usr", "/var", "/boot", "/opt", "/usr/local/bin", "/srv", "/mnt", "/home",
                                    "/etc/nginx", "/var/lib", "/var/log", "/home/bob", "/usr/share", "/usr/lib/python3",
                                    "/usr/local/lib/python3.11", "/var/lib/dpkg", "/private/etc", "/opt/homebrew"])
def test_a_system_folder_is_told_apart(folder):
    from runpost.site.output import _system_folder

    assert _system_folder(Path(folder)) == "it is a system folder (or a user's home), which a build never replaces, even with --force"


@pytest.mark.parametrize("folder", ["/etc", "/usr", "/var/log", "/usr/lib"])
def test_force_never_replaces_a_system_folder(project, folder):
    # From a review: `--output /etc --force` (a typo for ./etc) passed the check; as root the build
    # would have replaced /etc with the site. (Folders of this machine's, holding its files.)
    with pytest.raises(UsageError, match="it is a system folder .or a user's home., which a build never replaces"):
        check_output_folder(Path(folder), project, sources(project), force=True)


def test_a_project_under_a_system_tree_builds_into_its_own_site_folder(tmp_path):
    # A review of the first version: a project at /usr/src/app (Docker) or /opt/build/repo (Netlify)
    # could not build at all, its own site/ taken for a system folder.
    for place in ("/usr/src/app", "/opt/build/repo", "/var/lib/jenkins/workspace/blog"):
        root = Path(place)
        check_output_folder(root / "site", root, [root / "content", root / "build"], force=False)
    # And with --force into a folder of its own holding other files (a review: refused under /opt).
    root = Path("/usr/lib")          # a folder of files of this machine's, taken as a project's root
    check_output_folder(root / "python3", root, [root / "content", root / "build"], force=True)


@pytest.mark.parametrize("folder", ["/usr/share/nginx/html", "/var/www/html", "/srv/www/blog", "/mnt/data/site",
                                    "/home/bob/site", "/opt/homebrew/var/www"])
def test_a_web_root_is_not_taken_for_a_system_folder(project, folder):
    # A review of the first version: it refused nginx's web root even without --force.
    from runpost.site.output import _system_folder

    assert _system_folder(Path(folder)) == ""
    check_output_folder(Path(folder), project, sources(project), force=True)

"""`runpost new`: a blog that builds as it is, from files that ship in the package."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conftest import needs, run_build
from runpost.cli import main
from runpost.new import new_blog, wheel_name


def test_new_blog_has_settings_a_post_ignores_readme_and_pages_workflow(tmp_path):
    assert new_blog(tmp_path / "myblog") == 0
    files = {path.relative_to(tmp_path / "myblog").as_posix() for path in (tmp_path / "myblog").rglob("*")
             if path.is_file()}
    # Plus a copy of runpost where it came from a file (requirements.txt then names it).
    vendored = (tmp_path / "myblog/requirements.txt").read_text().splitlines()[-1].startswith("./vendor/")
    assert files == {"runpost.toml", "README.md", ".gitignore", "requirements.txt",
                     ".github/workflows/pages.yml", "content/posts/hello-runpost/index.md",
                     *([f"vendor/{wheel_name()}"] if vendored else [])}


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


@pytest.mark.parametrize("existing", ["file", "empty file", "folder with a file", "link to nothing", "git and a file"])
def test_new_refuses_a_non_empty_folder_with_exit_2(tmp_path, existing, capsys):
    target = tmp_path / "blog"
    if existing in ("file", "empty file"):
        target.write_text("mine" if existing == "file" else "")
    elif existing == "link to nothing":
        target.symlink_to(tmp_path / "gone")
    else:
        (target / ".git").mkdir(parents=True)
        (target / "notes.txt").write_text("mine")
    assert main(["new", str(target)]) == 2
    said = {"link to nothing": "does not exist", "file": "is a file", "empty file": "is a file"}
    assert said.get(existing, "not empty") in capsys.readouterr().err
    assert not (target / "runpost.toml").exists() and not (tmp_path / "gone").exists()


def test_new_prints_a_cd_line_a_shell_can_run(tmp_path, capsys):
    assert new_blog(tmp_path / "my blog") == 0
    assert f"  cd '{tmp_path}/my blog'\n" in capsys.readouterr().out


@pytest.mark.parametrize("holding", ["nothing", "only .git"])
def test_new_accepts_an_empty_folder_or_an_empty_git_repository(tmp_path, holding):
    (tmp_path / "blog").mkdir()
    if holding == "only .git":
        (tmp_path / "blog/.git").mkdir()
        (tmp_path / "blog/.git/HEAD").write_text("ref: refs/heads/main\n")
    assert new_blog(tmp_path / "blog") == 0
    assert (tmp_path / "blog/runpost.toml").is_file()
    assert holding == "nothing" or (tmp_path / "blog/.git/HEAD").read_text() == "ref: refs/heads/main\n"


def test_new_needs_a_folder_name(capsys):
    with pytest.raises(SystemExit) as exited:       # a usage error, as argparse reports one
        main(["new", ""])
    assert exited.value.code == 2 and "needs the name of a new folder" in capsys.readouterr().err


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


def test_a_blog_made_from_a_git_checkout_installs_runpost_from_its_remote(tmp_path):
    # An editable install from a clone: the Pages workflow gets the clone's remote (a GitHub ssh
    # address as https, which a runner can fetch), pinned to the commit once a remote branch has it.
    import shutil
    import subprocess

    from runpost.new import _checkout_remote

    if not shutil.which("git"):
        pytest.skip("git is not installed")
    git = lambda *args: subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True)
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "x")
    assert _checkout_remote(tmp_path) == ""                                  # no remote: the version it is
    git("remote", "add", "origin", "git@github.com:someone/runpost.git")
    assert _checkout_remote(tmp_path) == "https://github.com/someone/runpost.git"     # not pushed: no pin
    git("update-ref", "refs/remotes/origin/main", "HEAD")
    commit = git("rev-parse", "HEAD").stdout.strip()
    assert _checkout_remote(tmp_path) == f"https://github.com/someone/runpost.git@{commit}"
    git("remote", "set-url", "origin", "https://alice:ghp_SECRET@github.com/alice/runpost.git")
    assert _checkout_remote(tmp_path) == f"https://github.com/alice/runpost.git@{commit}"   # never a token
    (tmp_path / "vendor/runpost").mkdir(parents=True)
    assert _checkout_remote(tmp_path / "vendor/runpost") == ""               # inside another repository
    git("remote", "set-url", "origin", "/srv/git/runpost.git")
    assert _checkout_remote(tmp_path) == ""                                  # a path no runner can reach


class _Installed:
    """What importlib.metadata says of a runpost installed one way or another."""

    def __init__(self, real, files: dict[str, str]):
        self.real, self.files, self.version = real, files, real.version

    def read_text(self, name: str):
        return self.files[name] if name in self.files else self.real.read_text(name)


@pytest.mark.parametrize("how, expected", [
    ("a wheel file", "./vendor/"), ("a folder that is no clone", "./vendor/"),
    ("an archive on the web", "runpost @ https://example.org/runpost-0.1.0-py3-none-any.whl"),
    ("a package index", "runpost>="),
])
def test_the_workflow_installs_runpost_from_where_it_came_from_or_from_a_copy_in_the_blog(
        tmp_path, monkeypatch, how, expected):
    # Installed from a wheel file, requirements.txt said `runpost>=0.1.0`: no such package on PyPI,
    # so every deploy failed, and whoever registered the name would have run code in the workflow.
    import json
    import subprocess
    import sys
    from importlib import metadata

    real = metadata.distribution("runpost")
    direct = {"a wheel file": {"url": f"file://{tmp_path}/runpost-0.1.0-py3-none-any.whl", "archive_info": {}},
              "a folder that is no clone": {"url": f"file://{tmp_path}", "dir_info": {}},
              "an archive on the web": {"url": "https://example.org/runpost-0.1.0-py3-none-any.whl", "archive_info": {}},
              "a package index": None}[how]
    files = {"direct_url.json": json.dumps(direct) if direct else None, "INSTALLER": "pip\n",
             "METADATA": real.read_text("METADATA") or real.read_text("PKG-INFO")}
    monkeypatch.setattr(metadata, "distribution", lambda name: _Installed(real, files))
    assert new_blog(tmp_path / "blog") == 0
    line = (tmp_path / "blog/requirements.txt").read_text().splitlines()[-1]
    assert line.startswith(expected), line
    wheel = tmp_path / "blog" / line
    assert wheel.is_file() == (expected == "./vendor/")
    if wheel.is_file():
        target = tmp_path / "installed"
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                        str(target), str(wheel)], check=True, capture_output=True)
        installed = metadata.Distribution.at(next(target.glob("runpost-*.dist-info")))
        assert any(requirement.startswith("jinja2") for requirement in installed.requires)   # it brings its dependencies
        assert (target / "runpost/theme/templates/post.html").is_file() and (target / "bin/runpost").is_file()
        # The same bytes each time: committing it again changes nothing.
        assert new_blog(tmp_path / "again") == 0 and (tmp_path / "again" / line).read_bytes() == wheel.read_bytes()


def test_a_checkout_run_as_it_is_writes_a_blog_whose_requirements_say_what_to_write(tmp_path, monkeypatch, capsys):
    # Not installed and no remote: runpost new failed ("metadata cannot be read") and left nothing.
    from importlib import metadata
    import runpost.new as new

    def missing(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "distribution", missing)
    monkeypatch.setattr(new, "_checkout_remote", lambda folder: "")
    assert new.new_blog(tmp_path / "blog") == 0
    assert (tmp_path / "blog/requirements.txt").read_text().splitlines()[-1].startswith("# runpost @ git+")
    assert not (tmp_path / "blog/vendor").exists()
    assert "requirements.txt names no runpost" in capsys.readouterr().err


def test_the_blogs_copy_of_runpost_holds_its_modules_and_package_data_and_nothing_else_lying_there(tmp_path):
    # From an editable install, every file under the package folder went into the wheel the blogger
    # commits: runpost/.env, an editor's .cli.py.swp, notes/todo.txt.
    from runpost.new import _package_files

    package = tmp_path / "runpost"
    for name in ("__init__.py", "site/pages.py", "theme/templates/post.html", "skeleton/dot-gitignore",
                 "serve/client.js", ".env", ".cli.py.swp", "cli.py~", "notes/todo.txt", "theme/.DS_Store",
                 "__pycache__/cli.cpython-311.pyc", "serve/other.js"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("x")
    assert _package_files(package) == ["__init__.py", "serve/client.js", "site/pages.py",
                                       "skeleton/dot-gitignore", "theme/templates/post.html"]


def test_a_folder_name_with_quotes_and_spaces_gives_valid_settings_and_a_url_without_spaces(tmp_path):
    assert new_blog(tmp_path / 'my "blog" \\ 2') == 0
    settings = tomllib.loads((tmp_path / 'my "blog" \\ 2' / "runpost.toml").read_text(encoding="utf-8"))
    assert settings["title"] == 'my "blog" \\ 2'
    assert settings["base_url"] == "https://your-user-name.github.io/my-blog-2/"
    # A DEL in the name was written raw: TOML forbids it, so the blog's first build failed.
    assert new_blog(tmp_path / "del\x7fname") == 0
    assert tomllib.loads((tmp_path / "del\x7fname" / "runpost.toml").read_text(encoding="utf-8"))["title"] == "del\x7fname"


def test_the_readmes_example_post_builds_with_one_figure_and_its_value(tmp_path):
    # The post a newcomer copies from README's "Writing a post", built as written.
    import re

    needs("matplotlib", "numpy")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = re.search(r"````markdown\n(.*?)````", readme, re.S).group(1)
    (tmp_path / "content/posts/hello").mkdir(parents=True)
    (tmp_path / "content/posts/hello/index.md").write_text(example, encoding="utf-8")
    result = run_build("--base-url", "https://example.org/", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site/posts/hello/index.html").read_text(encoding="utf-8")
    assert len(re.findall(r"<img\b", page)) == 1 and 'src="waves.png"' in page
    assert "The wave peaks at 1.414." in page, re.findall(r"peaks at .{0,80}", page)


def test_a_stored_result_whose_name_holds_tmp_is_committed_by_the_new_blogs_gitignore(tmp_path):
    # "/build/**/*.tmp*" ignored table.tmpl.html: never committed, a fresh clone's --frozen failed.
    import subprocess

    blog = tmp_path / "blog"
    assert new_blog(blog) == 0
    subprocess.run(["git", "init", "-q", str(blog)], check=True)
    # ... and "/build/**/*.tmp" ignored a post's own table.tmp, and a whole post named notes.tmp (found by review).
    for name in ("build/p/files/table.tmpl.html", "build/p/files/scores.tmp.csv", "build/p.tmp-123-0123abcd/x",
                 "build/p/memo/k.json.tmp-9", "build/.cache/render/shard-00.json.abc.tmp", "build/p/files/table.tmp",
                 "build/notes.tmp/manifest.json", "build/q.tmp-old-77-0123abcd/x"):
        (blog / name).parent.mkdir(parents=True, exist_ok=True)
        (blog / name).write_text("x")
    ignored = subprocess.run(["git", "-C", str(blog), "status", "--short", "--ignored", "--untracked-files=all", "build"],
                             capture_output=True, text=True, check=True).stdout
    assert "?? build/p/files/table.tmpl.html" in ignored and "?? build/p/files/scores.tmp.csv" in ignored
    assert "?? build/p/files/table.tmp" in ignored and "?? build/notes.tmp/manifest.json" in ignored
    assert "!! build/p.tmp-123-0123abcd/" in ignored and "!! build/p/memo/k.json.tmp-9" in ignored
    assert "!! build/q.tmp-old-77-0123abcd/" in ignored


def test_the_new_blogs_gitignore_ignores_the_spare_site_of_any_output_and_a_linked_site(tmp_path):
    # `--output docs` left .docs.spare/ (a whole copy of the site) for `git add -A`; a site/ that
    # is a link matched no `/site/`.
    import subprocess

    blog = tmp_path / "blog"
    assert new_blog(blog) == 0
    subprocess.run(["git", "init", "-q", str(blog)], check=True)
    for name in (".docs.spare/index.html", ".docs.spare-123/index.html", ".public.tmp-9-0a1b2c3d/x", ".site.old-5/x"):
        (blog / name).parent.mkdir(parents=True, exist_ok=True)
        (blog / name).write_text("x")
    (tmp_path / "elsewhere").mkdir()
    (blog / "site").symlink_to(tmp_path / "elsewhere")
    status = subprocess.run(["git", "-C", str(blog), "status", "--short", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert not any(name in status for name in ("spare", ".public.tmp", ".site.old", "site\n")), status


def test_new_refuses_a_folder_name_that_is_not_utf8_with_exit_2_and_makes_nothing(tmp_path, capsys):
    # A traceback (UnicodeEncodeError) that left a folder holding only README.md.
    import os
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/bl\xffog"))
    assert new_blog(folder) == 2
    assert "is not a UTF-8 name" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_new_at_a_name_too_long_or_through_a_link_loop_is_an_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "loopy").symlink_to("loopy")
    assert main(["new", str(tmp_path / ("n" * 300))]) == 2
    assert main(["new", str(tmp_path / "loopy/x")]) == 2
    err = capsys.readouterr().err
    assert "File name too long" in err and "a symbolic link on the way leads back to itself" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("holding", ["nothing", "only .git"])
def test_a_blog_that_could_not_be_written_whole_leaves_nothing_so_a_second_try_works(tmp_path, monkeypatch, holding, capsys):
    # A full disk left half a blog, and the next `runpost new` refused the folder as not empty.
    import errno
    import runpost.new as new

    target = tmp_path / "blog"
    if holding == "only .git":
        (target / ".git").mkdir(parents=True)
    real = Path.write_text
    def full_disk(self, *args, **kwargs):
        if self.name == "runpost.toml":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Path, "write_text", full_disk)
    assert new.new_blog(target) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert (not target.exists()) if holding == "nothing" else [path.name for path in target.iterdir()] == [".git"]
    monkeypatch.setattr(Path, "write_text", real)
    assert new.new_blog(target) == 0


def test_a_command_started_in_a_deleted_folder_is_a_usage_error_not_a_traceback(tmp_path):
    import subprocess
    import sys
    gone = tmp_path / "gone"
    gone.mkdir()
    script = (f"import os, sys; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); sys.argv = ['build.py'];"
              f"sys.path.insert(0, {str(Path(__file__).parent.parent)!r}); import runpost.cli; sys.exit(runpost.cli.main([]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: the current folder cannot be read" in result.stderr

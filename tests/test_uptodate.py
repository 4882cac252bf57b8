"""uptodate.py: a build whose inputs and output are unchanged says so and stops; any change builds in full.

Each test builds a copy of the fixture site whose files were last modified an hour ago
(a fresh copy would be "racily clean": modified just before the build read it), then
builds again after one kind of change.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import FIXTURE_SITE, run_build
from runpost.uptodate import MANIFEST

UP_TO_DATE = "nothing changed since the last build"
POST = "---\ntitle: Runs\ndate: 2020-01-01\n---\n\n```python {exec=true}\nimport runpost\nrunpost.publish('n', 41 + 1)\n```\n\nn is {{< value n >}}.\n"


def age(root: Path, seconds: float = 3600) -> None:
    """Every file and folder under root as if last modified `seconds` ago."""
    when = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (when, when), follow_symlinks=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The fixture site plus a post that runs code, built once: build/ holds the post's results."""
    root = tmp_path_factory.mktemp("template") / "blog"
    shutil.copytree(FIXTURE_SITE, root)
    (root / "content/posts/runs.md").write_text(POST, encoding="utf-8")
    assert run_build(cwd=root).returncode == 0
    shutil.rmtree(root / "build" / ".cache")
    return root


@pytest.fixture
def project(template, tmp_path) -> Path:
    root = tmp_path / "blog"
    shutil.copytree(template, root, symlinks=True)
    age(root)
    # Setting the times changed every file's status change time: past the racy window first, or
    # the manifest would not trust a file "changed" just before its build.
    time.sleep(0.15)
    first = run_build(cwd=root)                          # the build whose manifest is judged
    assert first.returncode == 0 and UP_TO_DATE not in first.stderr, first.stderr
    return root


def again(root: Path, *args: str):
    result = run_build(*args, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return result


def test_nothing_changed_stops_before_any_stage_and_leaves_the_site_as_it_was(project):
    before = {path: path.read_bytes() for path in (project / "site").rglob("*") if path.is_file()}
    result = again(project)
    assert result.returncode == 0 and UP_TO_DATE in result.stderr and "wrote" not in result.stderr
    assert {path: path.read_bytes() for path in (project / "site").rglob("*") if path.is_file()} == before


def test_the_last_builds_warnings_are_shown_again(project):
    (project / "runpost.toml").write_text('title = "t"\n', encoding="utf-8")   # no base_url: a warning
    age(project)
    time.sleep(0.15)           # past the racy window of the times just set (see `project`)
    full = again(project)
    assert "warning: base_url" in full.stderr and UP_TO_DATE not in full.stderr
    result = again(project)
    assert UP_TO_DATE in result.stderr and "warning: base_url" in result.stderr


def edit_post(root: Path) -> None:
    path = root / "content/posts/first-post.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("a", "b", 1), encoding="utf-8")      # same size


def add_post(root: Path) -> None:
    (root / "content/posts/new.md").write_text("---\ntitle: New\ndate: 2020-02-02\n---\nNew.\n", encoding="utf-8")


def remove_post(root: Path) -> None:
    (root / "content/posts/runs.md").unlink()


def edit_static(root: Path) -> None:
    path = next(path for path in (root / "static").rglob("*") if path.is_file())
    path.write_bytes(path.read_bytes() + b"\n")


def add_template(root: Path) -> None:
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates/404.html").write_text("<!DOCTYPE html><title>x</title><p>gone</p>\n", encoding="utf-8")


def edit_settings(root: Path) -> None:
    path = root / "runpost.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("Ada Example", "Ada Exampel"), encoding="utf-8")


def delete_output_page(root: Path) -> None:
    (root / "site/index.html").unlink()


def edit_output_page(root: Path) -> None:
    (root / "site/index.html").write_text("defaced", encoding="utf-8")


def touch_stored_result(root: Path) -> None:
    manifest = next((root / "build").rglob("manifest.json"))
    os.utime(manifest)


def alias_folder(root: Path) -> None:
    # A symlink to a folder already listed: a new post, though no file is new.
    (root / "content/posts/alias").symlink_to("bundle-post")


def edit_param_run_result(root: Path) -> None:
    # A --param run's stored results (build/.preview/<post>-<hash>/) are inputs like build/'s own.
    folder = root / "build/.preview/runs-0123456789ab"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text("{}", encoding="utf-8")


def replace_output_folder(root: Path) -> None:
    # Another build (or a person) put a folder with the same files, sizes and times in its place.
    (root / "site").rename(root / "site-old")
    shutil.copytree(root / "site-old", root / "site", symlinks=True)
    shutil.rmtree(root / "site-old")


def empty_folder_in_output(root: Path) -> None:
    (root / "site/posts/ghost").mkdir()


CHANGES = [edit_post, add_post, remove_post, edit_static, add_template, edit_settings, delete_output_page,
           edit_output_page, touch_stored_result, alias_folder, edit_param_run_result, replace_output_folder,
           empty_folder_in_output]


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__ for change in CHANGES])
def test_any_change_to_an_input_or_the_output_builds_in_full(project, change):
    change(project)
    result = again(project)
    assert UP_TO_DATE not in result.stderr and "wrote" in result.stderr, result.stderr
    assert (project / "site/index.html").read_text(encoding="utf-8") != "defaced"
    if change is alias_folder:
        assert (project / "site/posts/alias/index.html").is_file()


@pytest.mark.parametrize("flags", [["--base-url", "https://example.org/other/"], ["--drafts"], ["--future"],
                                   ["--param", "x=1"], ["--frozen"]])
def test_other_flags_build_in_full(project, flags):
    result = again(project, *flags)
    assert UP_TO_DATE not in result.stderr


def test_rerun_always_runs_the_code(project):
    result = again(project, "--rerun")
    assert UP_TO_DATE not in result.stderr and "wrote" in result.stderr


def test_a_stored_result_tampered_with_its_old_size_and_time_is_found_by_the_next_build(project):
    # A frozen build verifies every stored file. A change that keeps the file's size and
    # modification time still moves its status change time: the next build is a full one, and
    # finds it.
    assert again(project, "--frozen").returncode == 0
    stored = next((project / "build").rglob("manifest.json"))
    status = stored.stat()
    stored.write_text(stored.read_text(encoding="utf-8").replace('"n": 42', '"n": 43'), encoding="utf-8")
    os.utime(stored, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert stored.stat().st_size == status.st_size
    result = again(project, "--frozen")
    assert result.returncode == 1 and "changed since the run" in result.stderr, result.stderr
    assert "n is 42" in (project / "site/posts/runs/index.html").read_text(encoding="utf-8")


def test_a_post_rewritten_with_its_old_size_and_modification_time_is_built_again(project):
    post = project / "content/posts/first-post.md"
    status = post.stat()
    text = post.read_text(encoding="utf-8")
    assert "Some *emphasis*" in text
    post.write_text(text.replace("Some *emphasis*", "Some *emphasys*"), encoding="utf-8")   # same size
    os.utime(post, ns=(status.st_atime_ns, status.st_mtime_ns))
    result = again(project)
    assert UP_TO_DATE not in result.stderr and "wrote" in result.stderr, result.stderr
    assert "emphasys" in (project / "site/posts/first-post/index.html").read_text(encoding="utf-8")


def test_a_bundle_swapped_for_one_whose_files_have_the_same_size_and_times_is_built_again(tmp_path):
    # From a review: `mv content/posts/b stash/old && mv stash/b content/posts/b`, two index.md of one
    # size given one `touch -d`, left the old page up: "nothing changed" (no inode was compared).
    root = tmp_path / "blog"
    shutil.copytree(FIXTURE_SITE, root)
    bundle, spare = root / "content/posts/swap", tmp_path / "stash/swap"
    for folder, word in ((bundle, "AAAA"), (spare, "BBBB")):
        folder.mkdir(parents=True)
        (folder / "index.md").write_text(f"---\ntitle: Swap\ndate: 2024-01-01\n---\n\nVersion {word}.\n")
    age(root)
    for _ in range(50):       # the same status change time too: both set within one clock tick
        when = time.time() - 3600
        for folder in (bundle, spare):
            os.utime(folder / "index.md", (when, when))
        one, other = ((folder / "index.md").stat() for folder in (bundle, spare))
        if (one.st_size, one.st_mtime_ns, one.st_ctime_ns) == (other.st_size, other.st_mtime_ns, other.st_ctime_ns):
            break
    else:
        pytest.skip("could not give two files one status change time here")
    time.sleep(0.15)
    assert run_build(cwd=root).returncode == 0
    bundle.rename(tmp_path / "stash/old")
    spare.rename(bundle)
    result = again(root)
    assert UP_TO_DATE not in result.stderr, result.stderr
    assert "Version BBBB." in (root / "site/posts/swap/index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("when", ["same instant", "whole second", "old modification time kept"])
def test_a_file_changed_just_before_the_last_build_is_not_trusted(tmp_path, when):
    root = tmp_path / "blog"
    shutil.copytree(FIXTURE_SITE, root)
    age(root)
    time.sleep(0.15)
    post = root / "content/posts/first-post.md"
    # As if saved at the moment the build read it; or in the same whole second on a file system that keeps
    # only whole seconds (FAT, HFS+): the same second may hide a second change; or just now, by a copy that
    # kept the file's old modification time (cp -p, rsync -t): its status change time is now.
    if when == "old modification time kept":
        old = post.stat()
        post.write_text(post.read_text(encoding="utf-8").replace("Some *emphasis*", "Some *emphasys*"), encoding="utf-8")
        os.utime(post, ns=(old.st_atime_ns, old.st_mtime_ns))
    else:
        moment = time.time() + 0.5 if when == "same instant" else int(time.time())
        os.utime(post, (moment, moment))
    assert run_build(cwd=root).returncode == 0
    result = again(root)
    assert UP_TO_DATE not in result.stderr and "wrote" in result.stderr


def test_a_post_held_back_until_its_date_is_published_once_that_date_has_passed(project):
    manifest_path = project / "build" / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["next_release"] is not None        # the fixture's future post
    manifest["next_release"] = time.time() - 1          # as if its date had just passed
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    result = again(project)
    assert UP_TO_DATE not in result.stderr and "wrote" in result.stderr


def test_a_manifest_that_is_not_ours_means_a_full_build(project):
    (project / "build" / MANIFEST).write_text('{"format": "runpost-last-build-2", "settings": 3}', encoding="utf-8")
    assert UP_TO_DATE not in again(project).stderr
    (project / "build" / MANIFEST).write_text("not json", encoding="utf-8")
    assert UP_TO_DATE not in again(project).stderr
    (project / "build" / MANIFEST).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = again(project)
    assert result.returncode == 0 and UP_TO_DATE not in result.stderr, result.stderr


def test_a_folder_named_like_a_cache_file_does_not_fail_the_build(project):
    (project / "build/.cache/render/junk.json").mkdir(parents=True)
    edit_post(project)
    result = again(project)
    assert result.returncode == 0 and "wrote" in result.stderr, result.stderr
    assert not (project / "build/.cache/render/junk.json").exists()

"""keys.py, plan.py, store.py: chain keys, fingerprints, staleness reasons, atomic writes of build/."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from runpost.execution import keys, plan
from runpost.execution import store as cache
from runpost.errors import BuildError, Location
from runpost.post import Cell, FrontMatter, Post


def make_cell(code: str, index: int = 0, **options) -> Cell:
    return Cell(id=options.pop("id", f"cell-{index + 1}"), index=index, language="python", code=code,
                echo=options.pop("echo", True), output=options.pop("output", True),
                timeout=options.pop("timeout", None), location=Location(Path("p.md"), 3 + index), code_line=4 + index,
                token=f"@@{index}@@", **options)


def make_post(bundle: Path, inputs: tuple[str, ...] = ()) -> Post:
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "index.md").write_text("---\ntitle: t\n---\n")
    date = dt.datetime(2024, 1, 1)
    meta = FrontMatter(title="t", date=date, publish_date=date, inputs=inputs, lines={"inputs": 4})
    return Post(path=bundle / "index.md", source="", meta=meta, body="", body_line=4, url="/posts/p/", bundle=bundle)


def keys_for(*codes: str) -> list[str]:
    return keys.chain_keys("base", [make_cell(code, index) for index, code in enumerate(codes)])


def test_a_blocks_key_depends_on_every_earlier_block():
    original = keys_for("a = 1", "b = 2", "c = 3")
    edited = keys_for("a = 1", "b = 22", "c = 3")
    assert original[0] == edited[0] and original[1] != edited[1] and original[2] != edited[2]


def test_display_options_and_timeout_are_not_part_of_the_key():
    plain = keys.chain_keys("base", [make_cell("x = 1")])
    decorated = keys.chain_keys("base", [make_cell("x = 1", id="named", echo=False, output=False, timeout=5.0,
                                                    display={"linenos": "table"})])
    assert plain == decorated


def test_base_key_changes_with_helpers_inputs_params(tmp_path):
    base = keys.Fingerprints(helpers={"h.py": "1"}, inputs={"d.csv": "2"}, params={"n": 1})
    variants = [keys.Fingerprints({"h.py": "9"}, {"d.csv": "2"}, {"n": 1}),
                keys.Fingerprints({"h.py": "1"}, {"d.csv": "9"}, {"n": 1}),
                keys.Fingerprints({"h.py": "1"}, {"d.csv": "2"}, {"n": 2}),
                keys.Fingerprints({"h.py": "1"}, {"d.csv": "2"}, {"n": "1"})]
    assert len({keys.base_key(base)} | {keys.base_key(variant) for variant in variants}) == 5


def test_fingerprints_hash_bundle_files_but_not_index_md_or_pycache(tmp_path):
    post = make_post(tmp_path / "p", inputs=("data/",))
    (tmp_path / "p" / "helper.py").write_text("x = 1\n")
    (tmp_path / "p" / "__pycache__").mkdir()
    (tmp_path / "p" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"junk")
    (tmp_path / "p" / "data").mkdir()
    (tmp_path / "p" / "data" / "a.txt").write_text("a")
    fingerprints = keys.fingerprint_post(post, {"n": 1})
    assert sorted(fingerprints.helpers) == ["data/a.txt", "helper.py"]
    assert list(fingerprints.inputs) == ["data/"]


def test_missing_input_is_an_error_at_the_front_matter_line(tmp_path):
    post = make_post(tmp_path / "p", inputs=("missing.csv",))
    with pytest.raises(BuildError) as caught:
        keys.fingerprint_post(post, {})
    assert caught.value.location.line == 4 and "input 'missing.csv' not found" in caught.value.message


def test_write_json_is_sorted_indented_with_trailing_newline_and_leaves_no_temp(tmp_path):
    cache.write_json(tmp_path / "m.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "m.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["m.json"]


def test_swap_in_replaces_the_folder_and_removes_the_old_one(tmp_path):
    final = tmp_path / "build" / "p"
    final.mkdir(parents=True)
    (final / "manifest.json").write_text("old")
    temp = cache.new_temp_folder(final)
    (temp / "new.txt").write_text("new")
    cache.swap_in(temp, final)
    assert [path.name for path in (tmp_path / "build").iterdir()] == ["p"]
    assert [path.name for path in final.iterdir()] == ["new.txt"]


def _dead_pid() -> int:
    import subprocess
    import sys
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_clean_leftovers_removes_only_temp_folders(tmp_path):
    build, dead = tmp_path / "build", _dead_pid()
    for name in ("p", f"p.tmp-{dead}-0123abcd", f"q.tmp-old-{dead}-89abcdef", ".preview/x",
                 f".preview/x-1.tmp-{dead}-00000000"):
        (build / name).mkdir(parents=True)
    (build / "p" / f"manifest.json.tmp-{dead}-0123abcd").write_text("{")
    cache.clean_leftovers(build)
    # q's old results were aside with none in place (a kill between two renames): put back.
    assert sorted(str(path.relative_to(build)) for path in build.rglob("*")) == [".preview", ".preview/x", "p", "q"]


def test_results_swapped_in_are_never_missing_after_a_kill_between_two_renames(tmp_path, monkeypatch):
    # From a review: SIGKILL between swap_in's renames left build/<post>/ missing, and the next build
    # deleted both the old and the new results (hours of memo calls). Where the system can, the two
    # folders trade places in one step; elsewhere the next build puts the old ones back.
    build = tmp_path / "build"
    final = build / "post"
    final.mkdir(parents=True)
    (final / "manifest.json").write_text("old")
    temp = cache.new_temp_folder(final)
    (temp / "manifest.json").write_text("new")
    cache.swap_in(temp, final)
    assert (final / "manifest.json").read_text() == "new" and sorted(p.name for p in build.iterdir()) == ["post"]

    temp = cache.new_temp_folder(final)
    (temp / "manifest.json").write_text("newer")
    monkeypatch.setattr(cache, "exchange", lambda first, second: False)
    real_rename = os.rename

    def killed(source, target):                     # the process dies right after the first rename
        real_rename(source, target)
        raise SystemExit("killed")

    monkeypatch.setattr(cache.os, "rename", killed)
    with pytest.raises(SystemExit):
        cache.swap_in(temp, final)
    monkeypatch.setattr(cache.os, "rename", real_rename)
    assert not final.exists()
    monkeypatch.setattr(cache, "_is_leftover", lambda name, pattern=None: ".tmp-" in name)   # its pid is ours: dead
    cache.clean_leftovers(build)
    assert (final / "manifest.json").read_text() == "new" and sorted(p.name for p in build.iterdir()) == ["post"]


def test_clean_leftovers_never_removes_a_users_files_or_a_running_builds_temporaries(tmp_path):
    # --build-dir ../docs removed the user's `thesis.tmp-final.docx` and `photos.tmp-2024/`; a second
    # build (or serve) removed the temporary folder a running post was writing its results in.
    import subprocess
    import sys
    build = tmp_path / "docs"
    (build / "photos.tmp-2024").mkdir(parents=True)
    (build / "photos.tmp-2024" / "img.jpg").write_text("p")
    (build / "thesis.tmp-final.docx").write_text("a")
    (build / "notes.tmp-12").mkdir()
    (build / "notes.tmp-20241201").write_text("a date")          # reads as the older versions' random part
    (build / "photos.tmp-cafebabe").mkdir()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (build / f"post.tmp-{live.pid}-0123abcd").mkdir()
        (build / "p" / "memo").mkdir(parents=True)
        (build / "p" / "memo" / f"entry.pkl.tmp-{live.pid}").write_text("half")
        cache.clean_leftovers(build)
    finally:
        live.kill()
        live.wait()
    assert sorted(path.name for path in build.iterdir()) == \
        ["notes.tmp-12", "notes.tmp-20241201", "p", "photos.tmp-2024", "photos.tmp-cafebabe",
         f"post.tmp-{live.pid}-0123abcd", "thesis.tmp-final.docx"]
    assert (build / "p" / "memo" / f"entry.pkl.tmp-{live.pid}").exists()


def sealed_manifest(folder: Path) -> dict:
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "x.png").write_bytes(b"png")
    return cache.write_manifest(folder, {"format": cache.FORMAT_VERSION, "key": "k", "values": {"n": 1},
                                         "files": [{"path": "files/x.png", "sha256": keys.hash_file(folder / "files" / "x.png")}]})


def test_stored_results_as_the_run_left_them_verify(tmp_path):
    folder = tmp_path / "p"
    assert cache.verify_stored(folder, sealed_manifest(folder)) == []


def test_a_changed_or_missing_stored_file_is_named(tmp_path):
    folder = tmp_path / "p"
    manifest = sealed_manifest(folder)
    (folder / "files" / "x.png").write_bytes(b"edited")
    assert cache.verify_stored(folder, manifest) == [(folder / "files" / "x.png", "a stored file changed since "
                                                      "the run that wrote it (its sha256 differs from p/manifest.json)")]
    (folder / "files" / "x.png").unlink()
    assert cache.verify_stored(folder, manifest) == [(folder / "files" / "x.png", "a stored file is missing")]


def test_an_edited_manifest_value_breaks_its_seal(tmp_path):
    folder = tmp_path / "p"
    manifest = {**sealed_manifest(folder), "values": {"n": 2}}
    [(path, problem)] = cache.verify_stored(folder, manifest)
    assert path == folder / "manifest.json" and "manifest changed since the run that wrote it" in problem


def test_a_manifest_listing_a_file_outside_its_folder_is_refused(tmp_path):
    folder = tmp_path / "p"
    manifest = sealed_manifest(folder)
    manifest = cache.write_manifest(folder, {**manifest, "files": [{"path": "../../etc/passwd", "sha256": "0"}]})
    assert "outside p/" in cache.verify_stored(folder, manifest)[0][1]


def test_unreadable_manifest_counts_as_no_results(tmp_path):
    (tmp_path / "manifest.json").write_text("{truncated")
    assert cache.read_manifest(tmp_path) is None


def test_staleness_names_what_changed():
    fingerprints = keys.Fingerprints({"h.py": "2", "new.py": "3"}, {"d.csv": "x"}, {"n": 2, "m": 1})
    stored = {"format": cache.FORMAT_VERSION, "fingerprints": {
        "helpers": {"h.py": "1", "gone.py": "1"}, "inputs": {"d.csv": "y"}, "params": {"n": 1, "m": 1}}}
    cells = (make_cell("x"),)
    reasons = plan.staleness(stored, fingerprints, cells, ["k"], Path("."))
    assert reasons == ["helper file gone.py removed", "helper file h.py changed", "helper file new.py added",
                       "input d.csv changed", "parameter n changed (1 -> 2)"]


def test_staleness_names_the_first_changed_block():
    fingerprints = keys.Fingerprints({}, {}, {})
    cells = (make_cell("a", 0), make_cell("b", 1))
    stored = {"format": cache.FORMAT_VERSION, "fingerprints": fingerprints.as_json(), "key": "k1",
              "cells": [{"id": "cell-1", "key": "k0"}, {"id": "cell-2", "key": "old"}]}
    assert plan.staleness(stored, fingerprints, cells, ["k0", "k1"], Path(".")) == \
        [f"block 'cell-2' (line {cells[1].location.line}) code changed"]     # its opening line, as errors say
    assert plan.staleness(None, fingerprints, cells, ["k0", "k1"], Path(".")) == ["no stored results"]


def test_preview_folder_depends_on_overrides(tmp_path):
    assert cache.result_folder(tmp_path, "p", {}) == tmp_path / "p"
    one = cache.result_folder(tmp_path, "p", {"epochs": 1})
    assert one.parent == tmp_path / ".preview" and one.name.startswith("p-")
    assert one != cache.result_folder(tmp_path, "p", {"epochs": 2})


def test_a_results_folder_a_file_browser_left_files_in_is_replaced(tmp_path):
    # Finder's .DS_Store blocked the post: "it holds '.DS_Store', which runpost does not write there".
    final = tmp_path / "build" / "p"
    final.mkdir(parents=True)
    for name in ("manifest.json", ".DS_Store", "Thumbs.db"):
        (final / name).write_text("x")
    temp = cache.new_temp_folder(final)
    (temp / "new.txt").write_text("new")
    cache.swap_in(temp, final)
    assert [path.name for path in final.iterdir()] == ["new.txt"]


def test_a_manifest_that_is_a_link_out_of_the_results_folder_never_verifies(tmp_path):
    # Every other stored file that is a link is refused; the manifest itself was read through one.
    folder = tmp_path / "p"
    manifest = sealed_manifest(folder)
    outside = tmp_path / "elsewhere.json"
    (folder / "manifest.json").rename(outside)
    (folder / "manifest.json").symlink_to(outside)
    assert cache.verify_stored(folder, cache.read_manifest(folder) or manifest) == [
        (folder / "manifest.json", "the manifest is a symbolic link: results are files runpost wrote, never links")]

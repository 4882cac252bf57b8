import pytest

from runpost.errors import BuildError
from runpost.post import Site
from runpost.site.write import write_site


def test_site_is_written_and_replaces_the_previous_one(tmp_path):
    out = tmp_path / "site"
    write_site(Site(pages={"index.html": "one", "old.html": "x"}), out)
    write_site(Site(pages={"index.html": "two", "posts/a/index.html": "a"}), out)
    assert (out / "index.html").read_text() == "two"
    assert (out / "posts/a/index.html").read_text() == "a"
    assert not (out / "old.html").exists()
    # The replaced site is kept, hidden, as the next build's staging folder (write.py).
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.spare", "site"]


def test_files_are_copied(tmp_path):
    source = tmp_path / "dot.png"
    source.write_bytes(b"\x89PNG")
    write_site(Site(files={"posts/b/dot.png": source}), tmp_path / "site")
    assert (tmp_path / "site/posts/b/dot.png").read_bytes() == b"\x89PNG"


@pytest.mark.parametrize("path", ["../escape.html", "/etc/passwd", "a/../../b"])
def test_nothing_is_written_outside_the_output_folder(tmp_path, path):
    out = tmp_path / "site"
    write_site(Site(pages={"index.html": "keep"}), out)
    with pytest.raises(BuildError):
        write_site(Site(pages={path: "evil", "index.html": "new"}), out)
    assert (out / "index.html").read_text() == "keep"
    assert not (tmp_path / "escape.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def written(folder):
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_recycled_staging_folder_ends_up_holding_exactly_the_new_site(tmp_path):
    out = tmp_path / "site"
    versions = [
        {"index.html": "one", "x/index.html": "x", "keep.html": "same"},
        {"index.html": "two", "x": "now a file", "y/z/index.html": "deep", "keep.html": "same"},
        {"index.html": "three", "x/index.html": "a folder again", "keep.html": "same"},
        {"index.html": "four", "keep.html": "same"},
    ]
    for pages in versions:
        write_site(Site(pages=pages), out)
        assert {name: text for name, text in written(out).items() if name != ".runpost-site"} == pages
    assert not (out / "y").exists()


def test_a_file_the_live_site_shares_with_staging_is_never_written_in_place(tmp_path):
    out = tmp_path / "site"
    write_site(Site(pages={"a.html": "v1", "b.html": "b"}), out)
    write_site(Site(pages={"a.html": "v1", "b.html": "b2"}), out)   # a.html hard-linked from the first site
    write_site(Site(pages={"a.html": "v3", "b.html": "b2"}), out)   # staging is the first site, sharing a.html
    assert (out / "a.html").read_text() == "v3"
    # The replaced (second) site, now the spare, still holds what it held.
    assert (tmp_path / ".site.spare" / "a.html").read_text() == "v1"
    assert (tmp_path / ".site.spare" / "b.html").read_text() == "b2"


def test_a_fifo_or_link_left_in_the_recycled_folder_is_replaced_not_written_through(tmp_path):
    import os
    import threading

    out = tmp_path / "site"
    write_site(Site(pages={"a.html": "v1", "b.html": "b"}), out)
    write_site(Site(pages={"a.html": "v2", "b.html": "b"}), out)
    spare = tmp_path / ".site.spare"
    (spare / "a.html").unlink()
    os.mkfifo(spare / "a.html")                 # writing into it would wait for a reader forever
    (spare / "b.html").unlink()
    outside = tmp_path / "outside.txt"
    outside.write_text("mine")
    (spare / "b.html").symlink_to(outside)
    done = threading.Event()
    threading.Thread(target=lambda: (write_site(Site(pages={"a.html": "v3", "b.html": "b3"}), out), done.set()),
                     daemon=True).start()
    assert done.wait(10), "the build blocked on a FIFO in its staging folder"
    assert (out / "a.html").read_text() == "v3" and (out / "b.html").read_text() == "b3"
    assert not (out / "b.html").is_symlink() and outside.read_text() == "mine"


def test_a_folder_without_the_marker_is_not_kept_as_spare(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "mine.txt").write_text("unrelated")
    write_site(Site(pages={"index.html": "one"}), out, checked=_identity(out))    # replaced with --force
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def _identity(folder):
    status = folder.stat()
    return status.st_dev, status.st_ino


def test_a_folder_made_a_repository_or_filled_by_someone_else_while_the_build_ran_is_not_replaced(tmp_path):
    # From a review: `git init` in site/ while a post's code ran (a manual deploy), or a folder of
    # the user's made where site/ was missing at the start, was deleted by the swap without --force.
    out = tmp_path / "site"
    out.mkdir()
    (out / "notes.txt").write_text("precious")          # made after the build began (it checked no folder)
    with pytest.raises(BuildError, match="files that runpost did not write were put there while the build ran"):
        write_site(Site(pages={"index.html": "one"}), out, checked=None)
    assert (out / "notes.txt").read_text() == "precious"
    (out / "notes.txt").unlink()
    write_site(Site(pages={"index.html": "one"}), out, checked=None)     # empty: the build's to fill
    first = _identity(out)
    (out / ".git").mkdir()
    (out / "DEPLOY.md").write_text("deploy notes")
    with pytest.raises(BuildError, match="not replaced: the folder became a repository while the build ran"):
        write_site(Site(pages={"index.html": "two"}), out, checked=first)
    assert (out / ".git").is_dir() and (out / "DEPLOY.md").read_text() == "deploy notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]     # no staging left behind


def test_files_put_into_an_empty_output_folder_while_the_build_ran_are_not_replaced(tmp_path):
    # From a review: an empty site/ passed the start's check, and its identity let the swap replace
    # the notes put in it while a post's code ran.
    from runpost.site.write import forced_folder

    out = tmp_path / "site"
    out.mkdir()
    checked = forced_folder(out)                        # what the pipeline notes as the build begins
    assert checked is None
    (out / "NOTES.txt").write_text("notes")
    with pytest.raises(BuildError, match="files that runpost did not write were put there while the build ran"):
        write_site(Site(pages={"index.html": "one"}), out, checked=checked)
    assert (out / "NOTES.txt").read_text() == "notes"
    assert forced_folder(out) == _identity(out)         # now only --force lets a build replace it


def test_a_spare_folder_made_a_repository_is_never_recycled(tmp_path):
    out = tmp_path / "site"
    write_site(Site(pages={"index.html": "one"}), out, checked=None)
    write_site(Site(pages={"index.html": "two"}), out, checked=_identity(out))
    spare = tmp_path / ".site.spare"
    (spare / ".git").mkdir()
    (spare / "DEPLOY.md").write_text("deploy notes")
    write_site(Site(pages={"index.html": "three"}), out, checked=_identity(out))
    assert (out / "index.html").read_text() == "three"
    assert (spare / ".git").is_dir() and (spare / "DEPLOY.md").read_text() == "deploy notes"


def test_serves_writer_recovers_from_a_failed_write_and_from_another_builds_folder(tmp_path):
    from runpost.site.write import PreviewWriter

    out = tmp_path / "preview"
    site = lambda pages, files=None: Site(pages=pages, files=files or {}, links={}, scripts={})
    writer = PreviewWriter()
    writer(site({"index.html": "v0", "a/index.html": "a"}), out)
    with pytest.raises(OSError):        # a file removed between rendering and writing
        writer(site({"index.html": "v1"}, {"gone.png": tmp_path / "gone.png"}), out)
    writer(site({"index.html": "v0", "a/index.html": "a"}), out)
    assert (out / "index.html").read_text() == "v0"
    assert not [path for path in out.rglob(".runpost-*") if path.name != ".runpost-site"]
    write_site(site({"index.html": "theirs", "b.html": "b"}), out)   # a --param build swaps its folder in
    writer(site({"index.html": "v0", "a/index.html": "a"}), out)
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()) == [
        ".runpost-site", "a/index.html", "index.html"]
    assert (out / "index.html").read_text() == "v0"


def test_a_name_longer_than_file_systems_allow_is_an_error_before_anything_is_written(tmp_path):
    out = tmp_path / "site"
    with pytest.raises(BuildError, match="longer than 255 bytes"):
        write_site(Site(pages={f"posts/{'x' * 300}/index.html": "x"}, files={}, links={}, scripts={}), out)
    assert not out.exists()


def _site(text: str) -> Site:
    return Site(pages={"index.html": text}, files={}, links={}, scripts={})


# Run in a process of its own: signals are held on the main thread (where the command line
# writes the site), which a test worker's thread may not be.
_INTERRUPTED_SWAP = """
import os, signal, sys
from pathlib import Path
# Python leaves SIGINT ignored if it started so (a test run launched in the background by a
# shell without job control, `cmd &`): Ctrl-C must be Python's here, whoever started the tests.
signal.signal(signal.SIGINT, signal.default_int_handler)
import runpost.site.write as write
from runpost.post import Site
site = lambda text: Site(pages={"index.html": text}, files={}, links={}, scripts={})
out = Path(sys.argv[1])
write.write_site(site("one"), out)
write.write_site(site("two"), out)                   # a spare folder exists now
if sys.argv[2] == "two-renames":
    write.exchange = lambda first, second: False
renames, real_rename = [], os.rename
def interrupted(source, target):                     # Ctrl-C right after the swap's first rename
    real_rename(source, target)
    renames.append(target)
    if len(renames) == 2:                            # (the first claimed the spare folder)
        os.kill(os.getpid(), signal.SIGINT)
write.os.rename = interrupted
try:
    write.write_site(site("three"), out)
except KeyboardInterrupt:
    print("interrupted")
"""


@pytest.mark.parametrize("exchange", ["atomic-exchange", "two-renames"])
def test_a_build_interrupted_in_the_swap_leaves_a_whole_site(tmp_path, exchange):
    import subprocess
    import sys

    out = tmp_path / "site"
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_SWAP, str(out), exchange],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "interrupted", done.stderr
    # The site is whole: Ctrl-C waited for the second rename (or there was one atomic exchange).
    assert (out / "index.html").read_text() == "three"
    assert not list(tmp_path.glob(".site.old-*"))


def test_a_build_killed_between_two_renames_has_its_old_site_put_back_by_the_next(tmp_path):
    out = tmp_path / "site"
    write_site(_site("one"), out)
    dead = 2 ** 22 + 12345                              # no such process (pid_max is at most 2**22)
    (tmp_path / "site").rename(tmp_path / f".site.old-{dead}")   # where a SIGKILL between the renames left it
    (tmp_path / f".site.tmp-{dead}-x1").mkdir()
    (tmp_path / f".site.spare-{dead}").mkdir()
    (tmp_path / ".site.tmp-1-other").mkdir()            # pid 1 runs: another build's, left alone
    from runpost.site.write import _clean_leftovers

    _clean_leftovers(out)
    assert (out / "index.html").read_text() == "one"
    assert sorted(path.name for path in tmp_path.iterdir()) == [".site.tmp-1-other", "site"]
    write_site(_site("two"), out)
    assert (out / "index.html").read_text() == "two"


def test_serves_writer_copies_a_file_changed_with_its_size_and_modification_time_kept(tmp_path):
    # cp -p, rsync -a, tar x, touch -r: the bytes change, the size and mtime do not.
    import os

    from runpost.site.write import PreviewWriter

    source = tmp_path / "img.txt"
    source.write_text("img v1\n")
    times = (source.stat().st_atime_ns, source.stat().st_mtime_ns)
    out = tmp_path / "preview"
    writer = PreviewWriter()
    writer(Site(pages={}, files={"img.txt": source}, links={}, scripts={}), out)
    source.write_text("img XX\n")
    os.utime(source, ns=times)
    writer(Site(pages={}, files={"img.txt": source}, links={}, scripts={}), out)
    assert (out / "img.txt").read_text() == "img XX\n"


def test_an_output_folder_that_is_a_mount_point_is_an_error_that_says_so(tmp_path, monkeypatch):
    # A bind mount or a Docker volume at site/: every build said only "site: error: Device or resource busy".
    import errno
    import os

    from runpost.site import write

    write_site(Site(pages={"index.html": "old"}, files={}), tmp_path / "site")

    def busy(staging, output_dir):
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(output_dir))
    monkeypatch.setattr(write, "_swap", busy)
    monkeypatch.setattr(write.os.path, "ismount", lambda path: str(path) == str(tmp_path / "site"))
    with pytest.raises(BuildError, match="cannot replace this folder: it is a mount point"):
        write_site(Site(pages={"index.html": "new"}, files={}), tmp_path / "site")
    assert (tmp_path / "site/index.html").read_text() == "old"

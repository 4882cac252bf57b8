"""Parallel rendering (parallel.py): forked workers give the same site as one process."""
from __future__ import annotations

import os
import sys
from pathlib import Path
import pytest

from runpost import parallel
from runpost.deep import call_deep
from test_incremental import files, make_project, run
from runpost.render_cache import RenderCache


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 4)
    # Under pytest-xdist the worker has threads of its own; the build's own check must not see them.
    monkeypatch.setattr(parallel, "_THREADS_OF_A_BUILD", 10_000)



def test_work_runs_in_worker_processes_in_order(two_cores):
    done = call_deep(lambda: parallel.precompute(lambda n: (n * n, os.getpid()), list(range(50))))
    assert [done[index][0] for index in range(50)] == [n * n for n in range(50)]
    assert os.getpid() not in {pid for _, pid in done.values()}


def test_an_item_that_raises_is_left_for_the_caller(two_cores):
    done = call_deep(lambda: parallel.precompute(lambda n: 1 // (n - 3), list(range(10))))
    assert 3 not in done and sorted(done) == [0, 1, 2, 4, 5, 6, 7, 8, 9]


def test_few_items_stay_in_this_process():
    assert parallel.precompute(lambda n: n, [1, 2, 3]) == {}


def test_a_parallel_build_writes_the_same_bytes_as_a_serial_one(tmp_path, monkeypatch):
    root = make_project(tmp_path / "project")
    posts = root / "content/posts"
    template = (posts / "first-post.md").read_text(encoding="utf-8")
    for number in range(30):
        text = template.replace("title: \"First post", f"title: \"Copy {number}").replace("# A heading", f"# Heading {number}")
        (posts / f"copy-{number}.md").write_text(text, encoding="utf-8")
    run(root, tmp_path / "serial", RenderCache(None))
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel, "_THREADS_OF_A_BUILD", 10_000)  # pytest-xdist's own threads
    monkeypatch.setattr(parallel, "MIN_ITEMS", 4)
    pools = []
    original = parallel.ProcessPoolExecutor
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", lambda **options: pools.append(1) or original(**options))
    run(root, tmp_path / "parallel", RenderCache(None))
    # Markdown, contents, views, post pages and list pages (each templated and finished in one go), the other pages.
    assert len(pools) == 6
    assert files(tmp_path / "parallel") == files(tmp_path / "serial")


def test_webp_copies_made_on_both_cores_are_the_bytes_a_serial_build_makes(two_cores, tmp_path):
    from runpost.site import variants
    from test_variants import plot, tag

    files = {"/p/a.png": plot(tmp_path / "a.png"), "/p/b.png": plot(tmp_path / "b.png", width=1100, height=900)}
    content = tag("/p/a.png") + tag("/p/b.png")
    maker = variants.VariantMaker(tmp_path / "parallel")
    missing = sorted(set(maker.missing(content, files)))
    made = call_deep(lambda: parallel.precompute(lambda job: (maker.make(*job), os.getpid()), missing, min_items=2))
    assert len(missing) >= 6 and sorted(made) == list(range(len(missing)))
    assert os.getpid() not in {pid for _, pid in made.values()}
    maker.forget_listing()            # as light_images does once the workers made their copies
    assert all(maker._cached(source.read_bytes(), width).is_file() for source, width in missing)
    parallel_html = variants.lighten(content, files, maker)
    serial = variants.VariantMaker(tmp_path / "serial")
    assert variants.lighten(content, files, serial) == parallel_html
    assert {path: file.read_bytes() for path, file in maker.made.items()} == \
        {path: file.read_bytes() for path, file in serial.made.items()}


def test_what_every_worker_needs_is_prepared_once_before_the_fork(two_cores):
    parent, prepared = os.getpid(), []

    def uses_preparation(n):
        return os.getpid() != parent and prepared == [parent]

    done = call_deep(lambda: parallel.precompute(uses_preparation, list(range(20)),
                                                 prepare=lambda: prepared.append(os.getpid())))
    assert prepared == [parent] and set(done.values()) == {True}
    # No pool, nothing to prepare: a serial caller pays nothing for it.
    assert parallel.precompute(uses_preparation, [1, 2], prepare=lambda: prepared.append("again")) == {}
    assert prepared == [parent]


def test_the_lexers_a_post_needs_are_made_before_its_workers_are_forked(tmp_path):
    from runpost.content.load import parse_post
    from runpost.content.scan import scan_post
    from runpost.markup import markdown
    from runpost.markup.hugo_compat import highlighting
    from runpost.markup.shortcodes import parse_shortcodes

    text = ("---\ntitle: t\ndate: 2020-01-01\n---\n```go {linenos=true}\nx\n```\n\n- item\n\n  ~~~ rust\n  y\n  ~~~\n\n"
            "{{< highlight zsh \"hl_lines=1\" >}}\nz\n{{< /highlight >}}\n\n```text\nin text\n```\n")
    post = parse_shortcodes(scan_post(parse_post(tmp_path / "p.md", text, None)), {"highlight"}, set())
    highlighting._lexer.cache_clear()
    markdown.prepare_workers([post], raw_html=False)
    made = highlighting._lexer.cache_info().misses
    for language in ("go", "rust", "zsh", "text"):
        highlighting._lexer(language)
    assert highlighting._lexer.cache_info().misses == made        # each one was made already


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_their_builder_and_stop_on_sigterm():
    # Killed outright (SIGKILL, the OOM killer), a builder left its two workers blocked on a pipe
    # forever, and SIGTERM did not stop them: they had the builder's handler (found by review).
    # In a fresh process: a test worker may hold threads, and precompute forks only without them.
    import subprocess

    script = """
import ctypes, signal
from runpost import parallel
parallel._cores = lambda: 2
def state(_item):
    wanted = ctypes.c_int(0)
    ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(wanted))      # PR_GET_PDEATHSIG
    return wanted.value, signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
signal.signal(signal.SIGTERM, lambda *args: None)          # as the builder's own handler
print(sorted(set(parallel.precompute(state, list(range(8)), min_items=2).values())))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(parallel.__file__).parent.parent)
    assert done.stdout.strip() == "[(9, True)]", done.stdout + done.stderr


def test_a_killed_worker_leaves_its_items_to_the_caller(two_cores):
    # The OOM killer (or a signal sent to one worker) ended a cold build with "internal error:
    # BrokenProcessPool"; the items no worker sent back are now the caller's to compute.
    import signal

    def square_or_die(n: int) -> int:
        if n == 7:
            os.kill(os.getpid(), signal.SIGKILL)
        return n * n

    done = call_deep(lambda: parallel.precompute(square_or_die, list(range(40))))
    assert 7 not in done and len(done) < 40
    assert all(done[index] == index * index for index in done)


def test_a_build_survives_a_killed_worker(tmp_path, monkeypatch):
    root = make_project(tmp_path / "project")
    posts = root / "content/posts"
    template = (posts / "first-post.md").read_text(encoding="utf-8")
    for number in range(12):
        (posts / f"copy-{number}.md").write_text(template.replace("title: \"First post", f"title: \"Copy {number}"),
                                                 encoding="utf-8")
    run(root, tmp_path / "serial", RenderCache(None))
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel, "_THREADS_OF_A_BUILD", 10_000)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 4)
    monkeypatch.setattr(parallel, "_run_chunk", _first_chunk_killed)
    run(root, tmp_path / "parallel", RenderCache(None))
    assert files(tmp_path / "parallel") == files(tmp_path / "serial")


_run_chunk = parallel._run_chunk


def _first_chunk_killed(bounds):
    """parallel._run_chunk, except that the worker given each pool's first chunk is killed."""
    if bounds[0] == 0:
        os.kill(os.getpid(), 9)
    return _run_chunk(bounds)


def test_an_alias_onto_a_page_made_in_a_worker_is_an_error_as_in_one_process(two_cores, tmp_path):
    # List and post pages templated and finished in the pool were not among the pages an alias may
    # not replace: with 2 cores an alias to /tags/t1/ replaced nothing and was silently dropped.
    from runpost.errors import BuildErrors

    posts = tmp_path / "project/content/posts"
    posts.mkdir(parents=True)
    for number in range(1, 27):
        (posts / f"p{number}.md").write_text(f"---\ntitle: P{number}\ndate: 2024-01-01\ntags: [t{number}]\n---\nText.\n")
    (posts / "moved.md").write_text("---\ntitle: M\ndate: 2024-01-02\naliases: [/tags/t1/, /posts/p2/]\n---\nText.\n")
    with pytest.raises(BuildErrors) as raised:
        call_deep(lambda: run(tmp_path / "project", tmp_path / "site", RenderCache(None)))
    messages = [str(error) for error in raised.value.errors]
    assert any("alias '/tags/t1/' would replace a page or file of the site" in message for message in messages), messages
    assert any("alias '/posts/p2/' would replace a page or file of the site" in message for message in messages), messages

"""The execute stage: running posts' blocks in a kernel, reusing build/, errors.

Posts are built here directly (a tiny fence reader below), so these tests do
not depend on the shortcode parser. Blocks are tiny: no training, no torch.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from runpost.execution import store as cache
from runpost.config import Config
from runpost.errors import BuildError, BuildErrors, Location
from runpost.execution.runner import execute_posts
from runpost.execution.explain import explain_posts
from runpost.post import Cell, Figure, FrontMatter, Post
from runpost.report import Reporter

FIXTURES = Path(__file__).parent / "fixtures" / "exec"
ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python \{(?P<options>[^}]*)\}\s*$")


# --- helpers ----------------------------------------------------------------

def read_post(index: Path) -> Post:
    """A Post with cells from ```python {exec=true ...} fences (what shortcodes.py produces)."""
    source = index.read_text(encoding="utf-8")
    lines = source.splitlines()
    end = lines.index("---", 1)
    front = yaml.safe_load("\n".join(lines[1:end])) or {}
    date = dt.datetime.combine(front.get("date", dt.date(2024, 1, 1)), dt.time())
    meta = FrontMatter(title=front.get("title", "t"), date=date, publish_date=date,
                       params=front.get("params", {}), inputs=tuple(front.get("inputs", ())),
                       lines={key: number for number, line in enumerate(lines, 1)
                              for key in front if line.startswith(f"{key}:")})
    cells, number = [], end + 1
    while number < len(lines):
        match = FENCE.match(lines[number])
        number += 1
        if not match:
            continue
        options = dict(item.split("=", 1) for item in match["options"].split())
        start = number
        while lines[number] != "```":
            number += 1
        index_ = len(cells)
        cells.append(Cell(
            id=options.get("id", f"cell-{index_ + 1}"), index=index_, language="python",
            code="\n".join(lines[start:number]) + "\n",
            echo=options.get("echo", "true") == "true", output=options.get("output", "true") == "true",
            timeout=float(options["timeout"]) if "timeout" in options else None,
            location=Location(index, start, 1), code_line=start + 1, token=f"@@cell{index_}@@"))
        number += 1
    bundle = index.parent if index.name == "index.md" else None
    name = bundle.name if bundle else index.stem
    return Post(path=index, source=source, meta=meta, body="", body_line=end + 2,
                url=f"/posts/{name}/", bundle=bundle, cells=tuple(cells))


def write_post(folder: Path, *blocks: str, params: dict | None = None, inputs: tuple = (),
               prose: str = "Some prose.", files: dict[str, str] | None = None) -> Post:
    """Write folder/index.md with one exec fence per block (options after '#!' on its first line)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    front = {"title": "Test post", "date": dt.date(2024, 1, 2)}
    if params:
        front["params"] = params
    if inputs:
        front["inputs"] = list(inputs)
    parts = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "", prose, ""]
    for block in blocks:
        block = textwrap.dedent(block).strip("\n")
        options = "exec=true"
        if block.startswith("#!"):
            first, _, block = block.partition("\n")
            options += " " + first[2:].strip()
            block = block.strip("\n")
        parts += [f"```python {{{options}}}", block, "```", ""]
    (folder / "index.md").write_text("\n".join(parts))
    return read_post(folder / "index.md")


def make_config(root: Path, **settings) -> Config:
    return Config(root=root, content_dir=root / "content", output_dir=root / "site", build_dir=root / "build",
                  templates_dirs=(), static_dirs=(root / "static",), **settings)


def build(post: Post | list[Post], root: Path, **settings) -> Post | list[Post]:
    posts = post if isinstance(post, list) else [post]
    done = execute_posts(posts, make_config(root, **settings), Reporter(io.StringIO()))
    return done if isinstance(post, list) else done[0]


def build_error(post: Post, root: Path, **settings) -> BuildError:
    with pytest.raises(BuildErrors) as caught:
        build(post, root, **settings)
    assert len(caught.value.errors) == 1
    return caught.value.errors[0]


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().split() if log.exists() else []


# A block that records each time it runs, through a file outside build/.
COUNTED = """
import os
with open(os.environ["RUNPOST_TEST_LOG"], "a") as log:
    log.write("{name}\\n")
"""

MEMO_BLOCK = """
import os
import runpost

@runpost.memo
def square(n):
    with open(os.environ["RUNPOST_TEST_LOG"], "a") as log:
        log.write(f"square{n}\\n")
    print("computing", n)
    return n * n
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNPOST_TEST_LOG", str(tmp_path / "calls.log"))
    monkeypatch.chdir(tmp_path)  # error locations print relative to the working folder
    return tmp_path


@pytest.fixture
def hello(site):
    shutil.copytree(FIXTURES / "hello", site / "content" / "posts" / "hello")
    return read_post(site / "content" / "posts" / "hello" / "index.md")


# --- running ----------------------------------------------------------------

def test_post_without_cells_gets_empty_results_without_a_kernel(site):
    post = write_post(site / "posts" / "plain")
    done = build(post, site)
    assert done.results.executed is False and done.results.outputs == {}
    assert not (site / "build").exists()


def test_blocks_share_one_namespace_and_stdout_is_captured_per_block(site):
    post = write_post(site / "p", "x = 1 + 1\nprint(x)", "print(x * 10)\nprint(__name__)")
    results = build(post, site).results
    assert [results.outputs[cell].stdout for cell in ("cell-1", "cell-2")] == ["2\n", "20\n__main__\n"]
    assert results.executed and results.cells_run == 2 and results.cells_reused == 0


def test_hello_fixture_runs_helper_input_params_values_and_files(hello, site):
    results = build(hello, site).results
    assert results.outputs["setup"].stdout == "42\n"
    assert results.outputs["values"].stdout == "numbers [1, 2, 3]\n"
    assert results.values == {"total": 18, "label": "demo"}
    assert sorted(results.files) == ["/posts/hello/note.txt", "/shared/data.txt"]
    assert results.files["/posts/hello/note.txt"].read_text() == "beside the page\n"
    assert results.files["/shared/data.txt"] == site / "build" / "hello" / "site" / "shared" / "data.txt"


def test_stored_manifest_is_deterministic_json_without_absolute_paths(hello, site):
    build(hello, site)
    text = (site / "build" / "hello" / "manifest.json").read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    assert list(manifest) == sorted(manifest)
    assert str(site) not in text
    assert manifest["fingerprints"]["helpers"].keys() == {"data.csv", "helper.py"}
    assert manifest["fingerprints"]["params"] == {"scale": 3, "label": "demo"}
    assert [cell["id"] for cell in manifest["cells"]] == ["setup", "values", "files"]
    assert {entry["site_path"] for entry in manifest["files"]} == {"/posts/hello/note.txt", "/shared/data.txt"}
    environment = manifest["environment"]
    assert environment["python"] and environment["device"] == "cpu" and "torch" not in environment
    assert dt.datetime.fromisoformat(environment["date"]).tzinfo is not None


def test_published_values_keep_their_key_order_when_stored_and_reused(tmp_path):
    post = write_post(tmp_path / "content" / "posts" / "order",
                      'import runpost\nrunpost.publish("rows", [{"model": "b", "accuracy": 1, "epoch": 2}])')
    assert list(build(post, tmp_path).results.values["rows"][0]) == ["model", "accuracy", "epoch"]
    reused = build(post, tmp_path).results
    assert not reused.executed
    assert list(reused.values["rows"][0]) == ["model", "accuracy", "epoch"]


def test_two_fresh_runs_give_the_same_results_except_timings(hello, site):
    first = build(hello, site, mode="rerun").results
    second = build(hello, site, mode="rerun").results

    def without_timings(results):
        return ({cell: output.stdout for cell, output in results.outputs.items()}, results.values,
                {path: file.read_bytes() for path, file in results.files.items()})
    assert without_timings(first) == without_timings(second)


def test_stderr_passes_through_live_and_stdout_stays_clean(site, capfd):
    post = write_post(site / "p", "import sys\nprint('to the page')\nprint('progress 50%', file=sys.stderr)")
    results = build(post, site).results
    captured = capfd.readouterr()
    assert "progress 50%" in captured.err
    assert "to the page" not in captured.out and "to the page" not in captured.err
    assert results.outputs["cell-1"].stdout == "to the page\n"


def test_progress_lines_name_the_post_and_block(site):
    post = write_post(site / "p", "#! id=first\nprint(1)")
    stream = io.StringIO()
    execute_posts([post], make_config(site), Reporter(stream))
    text = stream.getvalue()
    assert "p: block 'first' (1/1, line" in text and "p: block 'first' finished in" in text
    assert "p: executed 1 block in" in text
    # The line errors name the block by (its opening fence), not its first line of code.
    assert f"(1/1, line {post.cells[0].location.line}) running" in text


# --- what re-runs -------------------------------------------------------------

def test_unchanged_post_reuses_build_without_running(site):
    post = write_post(site / "p", COUNTED.format(name="run") + "print(3)")
    build(post, site)
    again = build(read_post(post.path), site).results
    assert calls(site) == ["run"]
    assert not again.executed and again.cells_reused == 1 and again.outputs["cell-1"].stdout == "3\n"


@pytest.mark.parametrize("options", ["echo=false", "output=false", "id=renamed", "timeout=99", "fold=true"])
def test_display_and_run_options_do_not_rerun(site, options):
    block = COUNTED.format(name="run") + "print(3)"
    build(write_post(site / "p", block), site)
    changed = write_post(site / "p", f"#! {options}\n" + block)
    results = build(changed, site).results
    assert calls(site) == ["run"] and not results.executed
    assert list(results.outputs.values())[0].stdout == "3\n"


def test_prose_edits_rerun_nothing(site):
    block = COUNTED.format(name="run")
    build(write_post(site / "p", block), site)
    moved = write_post(site / "p", block, prose="Much longer prose.\n\nWith paragraphs.\n\nAnd more.")
    assert not build(moved, site).results.executed and calls(site) == ["run"]


def test_editing_a_later_block_reruns_the_post_but_reuses_earlier_memo(site):
    build(write_post(site / "p", MEMO_BLOCK, "print(square(3))"), site)
    results = build(write_post(site / "p", MEMO_BLOCK, "print(square(3) + 1)"), site).results
    assert results.executed
    assert calls(site) == ["square3"]
    # The memoized call replays what it printed, so the output is the same as a fresh run's.
    assert results.outputs["cell-2"].stdout == "computing 3\n10\n"


def test_editing_the_defining_block_or_an_earlier_one_recomputes_memo(site):
    build(write_post(site / "p", MEMO_BLOCK, "print(square(3))"), site)
    build(write_post(site / "p", MEMO_BLOCK + "# edited\n", "print(square(3))"), site)
    build(write_post(site / "p", "offset = 0", MEMO_BLOCK + "# edited\n", "print(square(3))"), site)
    assert calls(site) == ["square3", "square3", "square3"]


def test_memo_keys_hold_closures_and_a_function_defined_again_in_one_run(site):
    # Each published [10, 10] / 1.0 twice on the first build: one name, one block, one key.
    post = build(write_post(site / "p", """
        import runpost

        def make(k):
            @runpost.memo
            def score(x):
                return x * k
            return score

        closures = [make(2)(5), make(3)(5)]
        looped = []
        for k in (2, 3):
            @runpost.memo
            def times(x):
                return x * k
            looped.append(times(5))
        swept = {}
        for lr in (0.1, 0.5):
            LR = lr

            @runpost.memo
            def train(seed):
                return LR * 10
            swept[lr] = train(0)
        runpost.publish("all", [closures, looped, swept[0.1], swept[0.5]])
        """), site)
    assert post.results.values["all"] == [[10, 15], [10, 15], 1.0, 5.0]


def test_memo_keys_hold_globals_set_after_the_function_and_functions_by_their_code(site):
    # A global a later block sets, and a function a later block defines and passes in, were not in
    # the key: an edit there kept the stale result (and --frozen passed it).
    first = """
        import os
        import runpost

        @runpost.memo
        def simulate(steps, step=None):
            with open(os.environ["RUNPOST_TEST_LOG"], "a") as log:
                log.write("simulate\\n")
            return SCALE * (step or (lambda n: n))(steps)
        """
    later = lambda scale, body: f"SCALE = {scale}\ndef square(n):\n    return {body}\nrunpost.publish('r', simulate(3, square))"
    assert build(write_post(site / "p", first, later(10, "n * n")), site).results.values["r"] == 90
    assert build(write_post(site / "p", first, later(1000, "n * n")), site).results.values["r"] == 9000
    assert build(write_post(site / "p", first, later(1000, "n + n")), site).results.values["r"] == 6000
    # Unchanged, it is reused: nothing new in the key since the run before.
    again = build(write_post(site / "p", first, later(1000, "n + n") + "\nprint()"), site)
    assert again.results.values["r"] == 6000 and calls(site) == ["simulate"] * 3


def test_unused_memo_entries_are_pruned_after_a_run(site):
    build(write_post(site / "p", MEMO_BLOCK, "square(2)\nsquare(3)"), site)
    build(write_post(site / "p", MEMO_BLOCK, "square(3)"), site)
    manifest = cache.read_manifest(site / "build" / "p")
    assert len(list((site / "build" / "p" / "memo").glob("*.json"))) == 1
    assert [entry["call"] for entry in manifest["memo"]] == ["square(3)"]


def test_helper_module_change_reruns_the_post(hello, site):
    build(hello, site)
    (hello.bundle / "helper.py").write_text("def double(number):\n    return 3 * number\n")
    results = build(read_post(hello.path), site).results
    assert results.executed and results.outputs["setup"].stdout == "63\n"


def test_input_file_change_reruns_the_post_and_reports_changed_values(hello, site):
    build(hello, site)
    (hello.bundle / "data.csv").write_text("n\n10\n")
    results = build(read_post(hello.path), site).results
    assert results.executed
    assert [(change.name, change.old, change.new) for change in results.changes] == [("total", 18, 30)]


def test_parameter_change_in_front_matter_reruns_the_post(site):
    build(write_post(site / "p", "import runpost\nprint(runpost.params['n'])", params={"n": 1}), site)
    results = build(write_post(site / "p", "import runpost\nprint(runpost.params['n'])", params={"n": 2}), site).results
    assert results.executed and results.outputs["cell-1"].stdout == "2\n"


def test_rerun_executes_everything_and_ignores_memo(site):
    post = write_post(site / "p", MEMO_BLOCK, "print(square(4))")
    build(post, site)
    results = build(post, site, mode="rerun").results
    assert results.executed and calls(site) == ["square4", "square4"]


def test_missing_stored_file_makes_the_post_stale(hello, site):
    build(hello, site)
    (site / "build" / "hello" / "files" / "note.txt").unlink()
    assert build(hello, site).results.executed


# --- frozen -------------------------------------------------------------------

def test_frozen_with_fresh_results_renders_from_build(hello, site):
    build(hello, site)
    results = build(hello, site, mode="frozen").results
    assert not results.executed and results.values["total"] == 18


def test_frozen_with_stale_results_names_the_post_and_the_change(hello, site):
    build(hello, site)
    (hello.bundle / "helper.py").write_text("def double(number):\n    return number\n")
    error = build_error(read_post(hello.path), site, mode="frozen")
    assert "post 'hello' is stale" in error.message and "helper file helper.py changed" in error.message


def test_frozen_names_the_changed_block_at_its_line(site):
    build(write_post(site / "p", "print(1)", "print(2)"), site)
    post = write_post(site / "p", "print(1)", "print(22)")
    error = build_error(post, site, mode="frozen")
    assert error.location == post.cells[1].location
    assert "block 'cell-2'" in error.message and "code changed" in error.message


def test_frozen_without_stored_results_is_an_error_and_runs_nothing(site):
    error = build_error(write_post(site / "p", COUNTED.format(name="run")), site, mode="frozen")
    assert "no stored results" in error.message and calls(site) == []


def test_fresh_build_does_not_import_torch_or_start_python(hello, site):
    build(hello, site)
    script = textwrap.dedent(f"""
        import io, subprocess, sys
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        started = []
        real_popen = subprocess.Popen
        subprocess.Popen = lambda *args, **kwargs: started.append(args) or real_popen(*args, **kwargs)
        from test_execute import build, read_post
        from pathlib import Path
        results = build(read_post(Path({str(hello.path)!r})), Path({str(site)!r})).results
        assert not results.executed and results.values["total"] == 18
        assert "torch" not in sys.modules, "torch imported"
        assert "runpost.execution.kernel" not in sys.modules and started == [], "kernel started"
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=site)
    assert run.stdout.strip() == "ok", run.stderr


# --- errors -------------------------------------------------------------------

def test_exception_reports_markdown_line_of_the_failing_statement(site):
    post = write_post(site / "p", "x = 1", "y = 2\nz = x / 0\nprint(z)")
    error = build_error(post, site)
    assert str(error).startswith(f"p/index.md:{post.cells[1].code_line + 1}:1: error: ZeroDivisionError: division by zero")
    assert f'index.md", line {post.cells[1].code_line + 1}' in error.detail
    assert "z = x / 0" in error.detail and "kernel.py" not in error.detail


def test_exception_in_a_helper_module_reports_the_calling_line(hello, site):
    code = hello.path.read_text().replace("print(double(21))", "import helper\n\nhelper.fail()")
    hello.path.write_text(code)
    post = read_post(hello.path)
    error = build_error(post, site)
    assert error.location.line == post.cells[0].code_line + 4  # the helper.fail() line
    assert error.message.startswith("ValueError: raised inside the helper")
    assert "helper.py" in error.detail


def test_syntax_error_reports_line_and_column(site):
    post = write_post(site / "p", "print(1)\nx = = 2")
    error = build_error(post, site)
    assert error.location.line == post.cells[0].code_line + 1 and error.location.column > 0
    assert error.message.startswith("SyntaxError")


def test_timeout_kills_the_kernel_and_its_children(site):
    post = write_post(site / "p", """\
        #! timeout=1
        import multiprocessing, os, time
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
        child.start()
        with open(os.environ["RUNPOST_TEST_LOG"], "w") as log:
            log.write(str(child.pid))
        while True:
            pass""")
    error = build_error(post, site, timeout=60)
    assert error.location == post.cells[0].location and "timed out after 1 seconds" in error.message
    assert not (site / "build" / "p").exists()
    assert not process_alive(int(calls(site)[0]))


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process `pid` still runs after 5 s; `started` (process_start(pid) when it was seen
    running): and is still that process, not another that got its number (pid_max is 32768 here,
    and a full test run starts thousands of processes)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return False
        if fields[0] in ("Z", "X") or (started is not None and fields[19] != started):  # killed, or another
            return False
        time.sleep(0.05)
    return True


def process_start(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, /proc/<pid>/stat's 22nd field), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, IndexError):
        return None


def test_default_timeout_comes_from_the_config(site):
    error = build_error(write_post(site / "p", "import time\ntime.sleep(30)"), site, timeout=0.5)
    assert "timed out after 0.5 seconds (allow it longer with {timeout=SECONDS} on the block" in error.message


@pytest.mark.parametrize("code, expected", [
    ("import sys\nsys.exit(3)", "SystemExit: the block called sys.exit(3)"),
    ("import os\nos._exit(4)", "exited with status 4"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "was killed by SIGSEGV"),
    # The OOM killer's signal: "exited with status 1 (os._exit?)" once the reaper could not pass it on.
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "was killed by SIGKILL"),
])
def test_exits_and_crashes_in_a_block_are_errors_not_builder_crashes(site, code, expected):
    post = write_post(site / "p", "print(1)", code)
    error = build_error(post, site)
    assert expected in error.message
    assert error.location.path == post.path


def test_failed_run_leaves_previous_results_intact(site):
    build(write_post(site / "p", "print('v1')", "open('out.txt', 'w').write('v1')"), site)
    before = {path: path.read_bytes() for path in (site / "build").rglob("*") if path.is_file()}
    build_error(write_post(site / "p", "print('v2')", "raise RuntimeError('boom')"), site)
    after = {path: path.read_bytes() for path in (site / "build").rglob("*") if path.is_file()}
    assert after == before


def test_a_posts_planning_error_does_not_keep_the_other_posts_from_running(site):
    # One post's missing input stopped every other post's run (and the results it would have kept).
    broken = write_post(site / "k", "print(1)", inputs=("missing.csv",))
    with pytest.raises(BuildErrors) as caught:
        build([broken, write_post(site / "m", "print(2)")], site)
    assert [error.location.path.parent.name for error in caught.value.errors] == ["k"]
    assert (site / "build" / "m" / "manifest.json").exists()


def test_a_posts_inputs_are_hashed_when_its_turn_comes_not_before_the_posts_before_it_run(site):
    # All posts were planned before any code ran: a helper edited while an earlier post ran was run
    # with its new text under the key of its old one, and an undo then published the stale value.
    class EditWhileTheFirstRuns(Reporter):
        def info(self, message: str) -> None:
            if message.startswith("a: block") and "running" in message:
                (site / "b" / "helper.py").write_text("VALUE = 5\n")
            super().info(message)

    first = write_post(site / "a", "print('first')")
    second = write_post(site / "b", "import helper\nprint(helper.VALUE)", files={"helper.py": "VALUE = 4\n"})
    done = execute_posts([first, second], make_config(site), EditWhileTheFirstRuns(io.StringIO()))
    assert done[1].results.outputs["cell-1"].stdout == "5\n"
    (site / "b" / "helper.py").write_text("VALUE = 4\n")              # an editor's undo
    again = build([read_post(site / "a" / "index.md"), read_post(site / "b" / "index.md")], site)
    assert again[1].results.outputs["cell-1"].stdout == "4\n"


def test_a_note_beside_fresh_results_is_no_reason_to_refuse_a_build_that_reuses_them(site):
    # The up-front check of results folders refused a post whose results were fresh (not to be
    # replaced) because its folder held the user's notes.txt.
    build(write_post(site / "p", "print(1)"), site)
    (site / "build" / "p" / "notes.txt").write_text("mine")
    assert build(read_post(site / "p" / "index.md"), site).results.outputs["cell-1"].stdout == "1\n"
    assert (site / "build" / "p" / "notes.txt").read_text() == "mine"


def test_a_results_folder_with_a_manifest_over_16_mb_is_still_runposts_to_replace(site):
    # A published value of 17 MB: the manifest, read only up to 16 MiB, did not parse, and the next
    # run refused the post's own folder ("is --build-dir the right folder?").
    build(write_post(site / "p", "import runpost\nrunpost.publish('big', 'y' * (17 << 20))"), site)
    assert (site / "build/p/manifest.json").stat().st_size > 17 << 20
    results = build(write_post(site / "p", "import runpost\nrunpost.publish('big', 'small')"), site).results
    assert results.values == {"big": "small"}


def test_errors_of_all_posts_are_reported_together(site):
    broken = [write_post(site / name, "raise KeyError('x')") for name in ("a", "b")]
    with pytest.raises(BuildErrors) as caught:
        build(broken + [write_post(site / "c", "print(1)")], site)
    assert [error.location.path.parent.name for error in caught.value.errors] == ["a", "b"]
    assert (site / "build" / "c" / "manifest.json").exists()


def test_memo_results_of_a_failed_run_are_reused_after_the_fix(site):
    build_error(write_post(site / "p", MEMO_BLOCK, "square(5)", "raise ValueError('late bug')"), site)
    results = build(write_post(site / "p", MEMO_BLOCK, "square(5)", "print('fixed')"), site).results
    assert results.executed and calls(site) == ["square5"]


def test_interrupted_swap_keeps_build_unchanged_and_next_build_is_clean(site, monkeypatch):
    post = write_post(site / "p", "print(1)")
    build(post, site)
    changed = write_post(site / "p", "print(2)")

    def interrupted(temp, final):
        raise KeyboardInterrupt  # the temp folder was complete, the swap never happened
    monkeypatch.setattr(cache, "swap_in", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(changed, site)
    monkeypatch.undo()
    assert cache.read_manifest(site / "build" / "p")["cells"][0]["stdout"] == "1\n"
    assert [path.name for path in (site / "build").iterdir()] == ["p"]
    assert build(changed, site).results.outputs["cell-1"].stdout == "2\n"


def test_killed_run_leftovers_are_ignored_and_cleaned(site):
    post = write_post(site / "p", COUNTED.format(name="run") + "print(1)")
    build(post, site)
    # A builder killed mid-swap: the complete new folder still has its temp name, the old one is gone.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    os.rename(site / "build" / "p", site / "build" / f"p{cache.TEMP_MARKER}{dead.pid}-12345678")
    results = build(post, site).results
    assert results.executed and calls(site) == ["run", "run"]
    assert sorted(path.name for path in (site / "build").iterdir()) == ["p"]


# --- API ----------------------------------------------------------------------

def test_memo_map_computes_in_two_processes_and_returns_results_in_order(site):
    code = "print(square.map([(n,) for n in (1, 2, 3, 2)], processes=2))"
    results = build(write_post(site / "p", MEMO_BLOCK, code), site).results
    assert results.outputs["cell-2"].stdout == "computing 1\ncomputing 2\ncomputing 3\ncomputing 2\n[1, 4, 9, 4]\n"
    assert sorted(calls(site)) == ["square1", "square2", "square3"]
    again = build(write_post(site / "p", MEMO_BLOCK, code + "\n# later edit"), site).results
    assert again.executed and sorted(calls(site)) == ["square1", "square2", "square3"]
    assert again.outputs["cell-2"].stdout == results.outputs["cell-2"].stdout


def test_memo_map_runs_children_concurrently(site):
    # Each child announces itself and waits for the other: only children that
    # run at the same time meet (no timing is measured; 10 s is a hang guard).
    code = """
        import os, time, runpost
        @runpost.memo
        def meet(n):
            open(f"here-{n}", "w").close()
            for _ in range(200):
                if os.path.exists(f"here-{3 - n}"):
                    return True
                time.sleep(0.05)
            return False
        print(meet.map([1, 2], processes=2))"""
    assert build(write_post(site / "p", code), site).results.outputs["cell-1"].stdout == "[True, True]\n"


def test_memo_map_child_exception_is_reraised_with_its_traceback(site):
    code = """
        import runpost
        @runpost.memo
        def check(n):
            if n == 2:
                raise ValueError(f"bad {n}")
            return n
        check.map([1, 2], processes=2)"""
    post = write_post(site / "p", code)
    error = build_error(post, site)
    assert error.message == "ValueError: bad 2"
    assert error.location.line == post.cells[0].code_line + 6
    assert "raised in the process computing check(2)" in error.detail and 'raise ValueError(f"bad {n}")' in error.detail


def test_site_file_is_published_at_the_site_root(site):
    code = """
        import runpost, matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(0.5, 0.5))
        ax.plot([0, 1], [1, 0])
        fig.savefig(runpost.site_file("200502_RNN/plot.png"))
        fig.savefig("beside.png")
        plt.close(fig)"""
    results = build(write_post(site / "p", code), site).results
    assert sorted(results.files) == ["/200502_RNN/plot.png", "/posts/p/beside.png"]
    assert results.files["/200502_RNN/plot.png"].read_bytes().startswith(b"\x89PNG")


# --- figures --------------------------------------------------------------------

def plot(title: str = "", suptitle: str = "") -> str:
    """A 2x2 inch line plot, left open."""
    return (f"figure, axis = plt.subplots(figsize=(2, 2))\naxis.plot([0, 1], [1, 0])\n"
            f"axis.set_title({title!r})\nfigure.suptitle({suptitle!r})\n")


PYPLOT = "import matplotlib.pyplot as plt\n"


def test_a_figure_left_open_is_captured_beside_the_page_with_its_title_as_alt(site):
    post = write_post(site / "p", "#! id=curve\n" + PYPLOT + plot(title="Loss") + "plt.show()\nprint('done')")
    results = build(post, site).results
    assert results.outputs["curve"].figures == (Figure("/posts/p/curve-1.png", "Loss"),)
    assert results.outputs["curve"].stdout == "done\n"
    assert results.files["/posts/p/curve-1.png"] == site / "build" / "p" / "files" / "curve-1.png"
    assert results.files["/posts/p/curve-1.png"].read_bytes().startswith(b"\x89PNG")
    manifest = json.loads((site / "build" / "p" / "manifest.json").read_text())
    assert manifest["cells"][0]["figures"] == [{"alt": "Loss", "path": "files/curve-1.png"}]
    reused = build(read_post(post.path), site).results
    assert not reused.executed and reused.outputs["curve"].figures == results.outputs["curve"].figures


def test_figures_are_captured_in_order_with_suptitle_title_or_generic_alt(site):
    post = write_post(site / "p", PYPLOT + plot(title="first") + plot(title="axes", suptitle="second") + plot())
    figures = build(post, site).results.outputs["cell-1"].figures
    assert figures == (Figure("/posts/p/cell-1-1.png", "first"), Figure("/posts/p/cell-1-2.png", "second"),
                       Figure("/posts/p/cell-1-3.png", "Figure 3 of block cell-1"))


def test_a_figure_the_code_saved_and_closed_is_not_captured_again(site):
    post = write_post(site / "p", PYPLOT + plot(title="mine") + "figure.savefig('mine.png')\nplt.close(figure)")
    results = build(post, site).results
    assert results.outputs["cell-1"].figures == () and sorted(results.files) == ["/posts/p/mine.png"]


def test_output_false_still_captures_and_closes_the_figure_so_results_never_depend_on_display(site):
    # output=false hides the figure on the page (render.py); the stored run is the same either way.
    post = write_post(site / "p", "#! output=false\n" + PYPLOT + plot(title="shared"), "print(plt.get_fignums())")
    results = build(post, site).results
    assert results.outputs["cell-1"].figures == (Figure("/posts/p/cell-1-1.png", "shared"),)
    assert results.outputs["cell-2"].stdout == "[]\n" and results.outputs["cell-2"].figures == ()


def test_captured_png_bytes_are_identical_across_reruns(site):
    post = write_post(site / "p", PYPLOT + plot(title="Loss"))
    first = build(post, site, mode="rerun").results.files["/posts/p/cell-1-1.png"].read_bytes()
    second = build(post, site, mode="rerun").results.files["/posts/p/cell-1-1.png"].read_bytes()
    assert first == second


def test_the_kernel_never_imports_matplotlib_itself(site):
    post = write_post(site / "p", "print(1)", "import sys\nprint('matplotlib' in sys.modules)")
    assert build(post, site).results.outputs["cell-2"].stdout == "False\n"


def test_a_manifest_stored_before_figures_were_captured_still_loads(site):
    post = write_post(site / "p", PYPLOT + plot(title="Loss") + "print(2)")
    build(post, site)
    path = site / "build" / "p" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["cells"][0]["figures"], manifest["sha256"]
    cache.write_manifest(path.parent, manifest)  # as runpost wrote it before it captured figures
    results = build(read_post(post.path), site).results
    assert not results.executed
    assert results.outputs["cell-1"].figures == () and results.outputs["cell-1"].stdout == "2\n"


def test_publish_converts_scalars_with_item(site):
    code = "import numpy, runpost\nrunpost.publish('acc', numpy.float32(0.5))\nrunpost.publish('rows', [(1, 'a')])"
    assert build(write_post(site / "p", code), site).results.values == {"acc": 0.5, "rows": [[1, "a"]]}


def test_publish_of_a_non_serialisable_value_is_an_error_at_the_calling_line(site):
    post = write_post(site / "p", "import runpost\n\nrunpost.publish('bad', object())")
    error = build_error(post, site)
    assert error.location.line == post.cells[0].code_line + 2
    assert error.message.startswith("TypeError: cannot publish 'bad': object is not JSON-serialisable")


def test_publishing_arrays_keeps_their_shape_and_checks_the_keys_of_what_they_hold():
    # np.array([0.5]) was published as 0.5 (so value d.0 failed); an object array's dicts and a
    # NaN key beside "NaN" lost an entry, silently.
    import numpy
    from runpost import to_json

    assert to_json("a", numpy.array([0.5])) == [0.5] and to_json("b", numpy.array([[7]])) == [[7]]
    assert to_json("c", numpy.float32(0.25)) == 0.25
    for value in ({float("nan"): 1, "NaN": 2}, {float("inf"): 1, "Infinity": 2},
                  numpy.array([{1: "a", "1": "b"}], dtype=object)):
        with pytest.raises(TypeError, match="would both be the key"):
            to_json("d", value)


def test_publishing_a_data_frame_says_to_publish_its_records():
    from runpost import to_json

    class DataFrame:          # pandas' shape, without pandas
        def to_dict(self, orient="dict"):
            return []
    with pytest.raises(TypeError, match=r"DataFrame is not JSON-serialisable \(use numbers, strings, bools, None, "
                                        r'lists and dicts; for a table, publish its .to_dict\("records"\)\)'):
        to_json("t", DataFrame())


def test_publishing_two_keys_json_would_make_one_is_an_error_not_a_lost_value(site):
    # {1: "int key", "1": "str key"} was stored as {"1": "str key"}: one entry gone, no error.
    post = write_post(site / "p", "import runpost\nrunpost.publish('d', {'x': [{1: 'int key', '1': 'str key'}]})")
    assert build_error(post, site).message.startswith(
        "TypeError: cannot publish 'd': the keys 1 and '1' would both be the key \"1\" (JSON's keys are strings)")
    # Keys of other types alone are written as JSON writes them.
    post = write_post(site / "q", "import runpost\nrunpost.publish('d', {1: 0.5, 2.5: 0.7, None: 1})")
    assert build(post, site).results.values == {"d": {"1": 0.5, "2.5": 0.7, "null": 1}}


def test_api_works_in_memory_outside_a_kernel():
    script = textwrap.dedent("""
        import runpost
        calls = []
        @runpost.memo
        def f(n):
            calls.append(n)
            return n + 1
        assert f(1) == f(1) == 2 and f.map([(1,), (2,)], processes=2) == [2, 3] and calls == [1, 2]
        runpost.publish("x", 1)
        assert runpost.params == {} and runpost.site_file("a/b.txt").parent.is_dir()
        import sys
        assert not any(m.split(".")[0] in ("torch", "jinja2", "markdown", "yaml") for m in sys.modules)
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout.strip() == "ok", run.stderr


# --- parameters -----------------------------------------------------------------

def test_param_override_is_parsed_as_yaml_and_stored_apart(site):
    code = "import runpost\nprint(repr(runpost.params['epochs']))\nrunpost.publish('epochs', runpost.params['epochs'])"
    post = write_post(site / "p", code, params={"epochs": 10, "name": "x"})
    build(post, site)
    preview = build(post, site, params={"epochs": "2"}).results
    assert preview.executed and preview.outputs["cell-1"].stdout == "2\n"
    assert preview.overrides == {"epochs": 2}
    assert [(change.old, change.new) for change in preview.changes] == [(10, 2)]
    assert cache.read_manifest(site / "build" / "p")["values"] == {"epochs": 10}
    previews = list((site / "build" / ".preview").glob("p-*"))
    assert len(previews) == 1 and cache.read_manifest(previews[0])["values"] == {"epochs": 2}
    # The committed full run is still fresh.
    assert not build(post, site, mode="frozen").results.overrides


def test_override_equal_to_front_matter_is_no_override(site):
    post = write_post(site / "p", "print(1)", params={"epochs": 10})
    assert build(post, site, params={"epochs": "10"}).results.overrides == {}


def test_unknown_param_name_is_an_error(site):
    post = write_post(site / "p", "print(1)", params={"epochs": 10})
    with pytest.raises(BuildErrors) as caught:
        build(post, site, params={"epoch": "2"})
    assert "--param epoch: no post has a parameter 'epoch' (parameters: epochs)" in str(caught.value.errors[0])


@pytest.mark.parametrize("value, problem", [
    ("&a [*a]", "is not a value runpost can store (Circular reference detected)"),
    ("[" * 100_000, "is not a value runpost can store (nested too deep)"),
    ("1" + "0" * 5000, "is not a value runpost can store (Exceeds the limit"),
    ("[1, 2", "cannot parse '[1, 2' (while parsing a flow sequence"),
])
def test_a_param_value_runpost_cannot_store_is_an_error_not_an_internal_one(site, value, problem):
    post = write_post(site / "p", "print(1)", params={"epochs": 10})
    with pytest.raises(BuildErrors) as caught:
        build(post, site, params={"epochs": value})
    message = str(caught.value.errors[0])
    assert "--param epochs: " in message and problem in message and "\n" not in message, message


@pytest.mark.parametrize("code", [
    'os.write(EVENTS, b"not json\\n")',
    'os.write(EVENTS, b\'{"event": "done"}\\n\')',
    'os.write(EVENTS, b\'{"event": "start", "index": 99}\\n\')',
    'os.write(EVENTS, b"[1]\\n")',
    'import sys; sys.set_int_max_str_digits(0); runpost.publish("v", 10 ** 5000)',
    # Fields of the wrong type (found by review):
    'os.write(EVENTS, b\'{"event": "done", "values": {}, "memo": [], "environment": 5, "memo_reused": 5}\\n\')',
    'os.write(EVENTS, b\'{"event": "done", "values": {}, "memo": [5], "environment": {}, "memo_reused": 0}\\n\')',
    'os.write(EVENTS, b\'{"event": "end", "stdout": 5, "seconds": 1}\\n\')',
    'os.write(EVENTS, b\'{"event": "end", "stdout": "x", "seconds": 1, "figures": 5}\\n\')',
    'os.write(EVENTS, b\'{"event": "done", "values": {}, "memo": [{"key": "../../x"}], "environment": {}, "memo_reused": 0}\\n\')',
], ids=["not-json", "done-without-values", "start-of-no-block", "not-an-object", "int-of-5001-digits",
        "environment-a-number", "memo-entry-a-number", "stdout-a-number", "figures-a-number", "memo-key-a-path"])
def test_what_a_posts_code_sends_down_runposts_pipe_is_an_error_at_the_block_not_an_internal_one(site, code):
    # The event pipe is an inherited descriptor of the kernel: code may write to it, by mistake or not.
    events = ("import os, stat\nEVENTS = next(fd for fd in range(3, 64) if os.path.exists(f'/proc/self/fd/{fd}') "
              "and stat.S_ISFIFO(os.fstat(fd).st_mode) and os.fstat(fd).st_mode & 0o200 and fd != 1)\n")
    post = write_post(site / "p", "import runpost\n" + events + code)
    with pytest.raises(BuildErrors) as caught:
        build(post, site)
    message = str(caught.value.errors[0])
    assert "runpost's events from the Python process cannot be read" in message and "internal error" not in message


# --- explain ------------------------------------------------------------------

def explain(posts: list[Post], root: Path, capsys, **settings) -> str:
    capsys.readouterr()
    explain_posts(posts, make_config(root, mode="explain", **settings), Reporter(io.StringIO()))
    return capsys.readouterr().out


def test_explain_without_stored_results_runs_nothing(site, capsys):
    post = write_post(site / "p", COUNTED.format(name="run"))
    text = explain([post], site, capsys)
    assert "p (p/index.md): stale: runs all blocks, because no stored results" in text
    assert "block 'cell-1' line" in text and "never run" in text
    assert calls(site) == [] and not (site / "build").exists()


def test_explain_names_the_changed_block_and_keeps_memo_fresh(site, capsys):
    build(write_post(site / "p", MEMO_BLOCK, "square(2)", "print(3)"), site)
    text = explain([write_post(site / "p", MEMO_BLOCK, "square(2)", "print(4)")], site, capsys)
    assert "because block 'cell-3'" in text and "code changed" in text
    assert re.search(r"block 'cell-1' line \d+: fresh, \d+\.\ds last run", text)
    assert "block 'cell-3' line" in text and "stale (its code changed)" in text
    assert "memo square(2): fresh (reused)" in text


def test_explain_names_helper_input_and_parameter_changes(hello, site, capsys):
    build(hello, site)
    (hello.bundle / "helper.py").write_text("# changed\n")
    (hello.bundle / "data.csv").write_text("n\n5\n")
    hello.path.write_text(hello.path.read_text().replace("scale: 3", "scale: 4"))
    text = explain([read_post(hello.path)], site, capsys)
    assert "helper file helper.py changed" in text and "input data.csv changed" in text
    assert "parameter scale changed (3 -> 4)" in text


def test_explain_fresh_post_and_override(hello, site, capsys):
    build(hello, site)
    assert "hello (content/posts/hello/index.md): fresh" in explain([hello], site, capsys)
    text = explain([hello], site, capsys, params={"scale": "5"})
    assert "parameters overridden: {'scale': 5}" in text and "no stored results" in text


def test_ctrl_c_kills_the_kernel_at_once_and_leaves_build_clean(site):
    class InterruptingReporter(Reporter):
        def info(self, message: str) -> None:
            if "running" in message:
                raise KeyboardInterrupt

    post = write_post(site / "p", MEMO_BLOCK, "import time\ntime.sleep(30)")
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        execute_posts([post], make_config(site), InterruptingReporter(io.StringIO()))
    assert time.monotonic() - start < 10  # did not wait for the 30 s sleep (a hang guard, not a speed check)
    assert not (site / "build" / "p").exists() and not list((site / "build").glob(f"*{cache.TEMP_MARKER}*"))


def test_summary_lists_the_changed_leaves_of_a_published_table():
    from runpost.execution.results import leaf_changes

    old = [{"Model": "RNN-2", "Test accuracy": "53.01%"}, {"Model": "LSTM-1", "Test accuracy": "88.05%"}]
    new = [{"Model": "RNN-2", "Test accuracy": "85.25%"}, {"Model": "LSTM-1", "Test accuracy": "88.05%"}]
    assert leaf_changes("results", old, new) == [("results.0.Test accuracy", "53.01%", "85.25%")]
    assert leaf_changes("winner", "LSTM-1", "RNN-2") == [("winner", "LSTM-1", "RNN-2")]


def test_progress_says_which_block_failed(tmp_path):
    post = write_post(tmp_path / "content" / "posts" / "boom", "#!id=fine\nx = 1", "#!id=broken\n1 / 0")
    stream = io.StringIO()
    with pytest.raises(BuildErrors):
        execute_posts([post], make_config(tmp_path), Reporter(stream))
    progress = stream.getvalue()
    assert "block 'fine' finished in" in progress
    assert "block 'broken' failed after" in progress and "block 'broken' finished" not in progress


def test_a_failed_rerun_keeps_finished_memo_results_for_the_next_rerun(site):
    # A --rerun that dies (a later block's error, a timeout) must not cost its finished calls.
    flag = site / "fail-once"
    post = write_post(site / "p", MEMO_BLOCK, "print(square(4))",
                      f"import os\nif os.path.exists({str(flag)!r}):\n    os.remove({str(flag)!r})\n    raise RuntimeError('boom')")
    build(post, site)
    assert calls(site) == ["square4"]
    flag.write_text("")
    with pytest.raises(BuildErrors):
        build(post, site, mode="rerun")
    assert calls(site) == ["square4", "square4"]
    results = build(post, site, mode="rerun").results
    assert results.executed and calls(site) == ["square4", "square4"], "the failed --rerun's result is reused"
    assert not (site / "build/.preview/rerun-p").exists() or not any((site / "build/.preview/rerun-p").rglob("*.json"))


def test_output_that_no_page_can_hold_is_kept_readable_and_bounded(site):
    # A lone surrogate (a byte the block could not decode) ended the build in an internal error;
    # 100 MB of output went whole into the page, the feed, the notebook and build/.
    from runpost.execution.kernel import OUTPUT_LIMIT

    post = write_post(site / "p", 'import runpost\nprint("a\\udcffb")\nrunpost.publish("bad", "\\udcff")',
                      f'print("x" * {OUTPUT_LIMIT + 5})')
    results = build(post, site).results
    assert results.outputs["cell-1"].stdout == "a\ufffdb\n" and results.values["bad"] == "\ufffd"
    kept = results.outputs["cell-2"].stdout
    assert kept.startswith("x" * OUTPUT_LIMIT + "\n[runpost kept the first 1,000,000 characters of this output; 6 more")
    assert len(kept) < OUTPUT_LIMIT + 200
    json.loads((site / "build" / "p" / "manifest.json").read_text(encoding="utf-8"))   # written, and valid


def test_code_indented_under_a_list_item_runs_as_written_without_the_items_indentation(tmp_path):
    # A fence (CommonMark strips its indentation from each line) and a highlight tag (Hugo's
    # InnerDeindent) under list items: run as the reader sees them, not as an IndentationError.
    from conftest import run_build

    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n')
    (tmp_path / "content/posts/steps.md").write_text(textwrap.dedent("""\
        ---
        title: Steps
        date: 2024-01-02
        ---
        1. Set it up:

           ```python {exec=true}
           answer = 6
           if answer:
               answer *= 7
           ```

        2. Show it:

           {{< highlight python "exec=true" >}}
           print(f"answer: {answer}")
           {{< /highlight >}}
        """))
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site/posts/steps/index.html").read_text(encoding="utf-8")
    assert "answer: 42" in page
    assert '<span class="w">   </span>' not in page      # shown without the item's indentation


@pytest.mark.parametrize("info", ["python exec=true", "python exec=true id=x", "py  exec = true", "exec=true", " exec=true"])
def test_run_options_outside_braces_are_an_error_not_code_that_silently_never_runs(tmp_path, info):
    from conftest import run_build

    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/p.md").write_text(f"---\ntitle: P\ndate: 2024-01-02\n---\n\n```{info}\nprint(1)\n```\n")
    result = run_build("--base-url", "https://example.org/", cwd=tmp_path)
    assert result.returncode == 1 and "content/posts/p.md:6:1: error: options after the language go in braces: ```" \
        in result.stderr, result.stderr


def test_a_symbolic_link_the_code_leaves_is_an_error_not_a_published_file(site):
    # os.symlink("/etc/passwd", "passwd.txt") published the machine's passwd file beside the page.
    secret = site / "outside.txt"
    secret.write_text("not for the site")
    error = build_error(write_post(site / "p", f"""
        import os
        os.symlink({str(secret)!r}, "passwd.txt")
        os.makedirs("sub")
        os.symlink({str(site)!r}, "sub/tree")
        open("plain.txt", "w").write("fine")
        """), site)
    assert error.message.startswith("the code left symbolic links among the files it wrote: passwd.txt, sub/tree;")
    assert not (site / "build" / "p").exists()


def test_a_figure_left_open_never_replaces_a_file_the_code_saved_under_its_name(site):
    error = build_error(write_post(site / "p", """
        #! id=plot
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.figure(); plt.plot([1, 2]); plt.savefig("plot-1.png")
        plt.figure(); plt.plot([2, 1])
        """), site)
    assert "figure 1 that block 'plot' left open would be saved as plot-1.png, which the code wrote itself" in error.message


def test_a_later_block_never_writes_over_a_figure_an_earlier_block_left_open(site):
    # The page showed the accuracy plot under the loss block (its alt text said "training loss").
    error = build_error(write_post(site / "p", """
        #! id=loss
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.figure(); plt.plot([3, 2, 1])
        """, """
        #! id=acc
        plt.figure(); plt.plot([1, 2, 3]); plt.savefig("loss-1.png"); plt.close()
        """), site)
    assert error.message.startswith("FileExistsError: block 'acc' wrote over loss-1.png, the figure block 'loss' left open")


def test_reading_a_project_file_no_key_covers_is_a_warning(site):
    # A single-file post read numbers.txt beside it: an edit to it left the published mean stale.
    posts = site / "content" / "posts"
    posts.mkdir(parents=True)
    (posts / "numbers.txt").write_text("1 2 3")
    (site / "content" / "data").mkdir()
    (site / "content" / "data" / "data.csv").write_text("x")
    (posts / "p.md").write_text("""---
title: P
date: 2024-01-02
inputs: [declared.txt]
---
```python {exec=true id=load}
import runpost
text = (runpost.post_dir / "numbers.txt").read_text() + (runpost.post_dir / "declared.txt").read_text()
open(runpost.post_dir / ".." / "data" / "data.csv").read()
open("written.txt", "w").write("mine")          # the code's own output: not a source
open("written.txt").read()
```
""")
    (posts / "declared.txt").write_text("4")
    stream = io.StringIO()
    execute_posts([read_post(posts / "p.md")], make_config(site), Reporter(stream))
    warnings = [line for line in stream.getvalue().splitlines() if "warning" in line]
    message = "but not among the post's inputs: an edit to it will not run the code again"
    assert len(warnings) == 2 and all(message in line for line in warnings)
    assert warnings[0].startswith("content/data/data.csv: warning: post 'p': read by block 'load' ")
    assert warnings[1].startswith("content/posts/numbers.txt: warning: post 'p': read by block 'load' ")


def test_a_project_folder_the_code_lists_is_a_warning_unless_declared_or_the_bundle(site):
    # len(os.listdir("../data/samples")) went stale silently when files were added: no key, no warning.
    folder = site / "content" / "posts" / "p"
    folder.mkdir(parents=True)
    for name in ("samples", "declared", "nested/deeper"):
        (site / "content" / "data" / name).mkdir(parents=True)
    (folder / "local.txt").write_text("1")
    code = ("import os, glob, runpost\nfrom pathlib import Path\n"
            "data = runpost.post_dir / '..' / '..' / 'data'\n"
            "n = len(os.listdir(data / 'samples')) + len(list((data / 'declared').iterdir()))\n"
            "n += len(glob.glob(str(data / 'nested' / '*'))) + len(os.listdir(runpost.post_dir)) + len(os.listdir())\n"
            "runpost.publish('n', n)")
    stream = io.StringIO()
    # A helper module beside the post that lists a folder as it is imported lists it too.
    (folder / "helper.py").write_text("import os, runpost\nN = len(os.listdir(runpost.post_dir / '..' / '..' / 'data' / 'helped'))\n")
    (site / "content" / "data" / "helped").mkdir()
    code += "\nimport helper"
    execute_posts([write_post(folder, code, inputs=("../../data/declared",))], make_config(site), Reporter(stream))
    warnings = sorted(line for line in stream.getvalue().splitlines() if "warning" in line)
    assert warnings == [
        f"content/data/{name}: warning: post 'p': listed by block 'cell-1' but not among the post's inputs: a file "
        "added to it or removed will not run the code again (list the folder under inputs: in the front matter, "
        "as a path from the post's folder)" for name in ("helped", "nested", "samples")], warnings


def test_a_dot_file_of_the_bundle_read_by_the_code_is_a_warning_unless_declared(site):
    # The bundle's key skips dot-files, yet reading one counted as covered: no key, no warning.
    folder = site / "content" / "posts" / "p"
    folder.mkdir(parents=True)
    (folder / ".weights").write_text("7")
    (folder / ".declared").write_text("1")
    code = "import runpost\nrunpost.publish('w', int((runpost.post_dir / '.weights').read_text()) + " \
           "int((runpost.post_dir / '.declared').read_text()))"
    stream = io.StringIO()
    execute_posts([write_post(folder, code, inputs=(".declared",))], make_config(site), Reporter(stream))
    warnings = [line for line in stream.getvalue().splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith("content/posts/p/.weights: warning: post 'p': read by block")


def test_a_file_no_key_covers_read_inside_a_map_child_is_a_warning_too(site):
    # A .map child noted the read in its own copy of the kernel's list, which was thrown away.
    posts = site / "content" / "posts"
    posts.mkdir(parents=True)
    (site / "content" / "data").mkdir()
    (site / "content" / "data" / "scale.txt").write_text("3")
    (posts / "p.md").write_text("""---
title: P
date: 2024-01-02
---
```python {exec=true id=train}
import runpost

@runpost.memo
def train(n):
    return n * int(open(runpost.post_dir / ".." / "data" / "scale.txt").read())

runpost.publish("runs", train.map([(1,), (2,)], processes=2))
```
""")
    stream = io.StringIO()
    post = execute_posts([read_post(posts / "p.md")], make_config(site), Reporter(stream))[0]
    assert post.results.values == {"runs": [3, 6]}
    assert "content/data/scale.txt: warning: post 'p': read by block 'train' but not among the post's inputs" \
        in stream.getvalue()


def test_reading_the_posts_own_markdown_or_a_project_folder_beside_content_is_a_warning(site):
    # A word count of the post's own index.md (its prose is in no key) and a data/ folder beside
    # content/ were read without a word: an edit to either left the published numbers stale.
    folder = site / "content" / "posts" / "p"
    folder.mkdir(parents=True)
    (site / "data").mkdir()
    (site / "data" / "prices.csv").write_text("1,2,3")
    (site / "data" / "declared.csv").write_text("4")
    (folder / "index.md").write_text("""---
title: P
date: 2024-01-02
inputs: [../../../data/declared.csv]
---
Some prose to count.

```python {exec=true id=count}
import inspect, runpost, traceback, warnings
words = len((runpost.post_dir / "index.md").read_text().split())
prices = open(runpost.post_dir / ".." / ".." / ".." / "data" / "prices.csv").read()
declared = (runpost.post_dir / "../../../data/declared.csv").read_text()
import sqlite3, sys
sys.path.insert(0, str(runpost.post_dir.parents[2] / "lib"))
import helpers                         # from its __pycache__: a read of helpers.py all the same
rows = sqlite3.connect(runpost.post_dir.parents[2] / "data" / "db.sqlite").execute("select 1").fetchall()
```

```python {exec=true id=quiet}
def shown():
    return 1
try:
    1 / 0
except ZeroDivisionError:
    print(traceback.format_exc().splitlines()[-3].strip())
warnings.warn("a warning shows its source line")
print(inspect.getsource(shown).splitlines()[0])
import importlib.metadata, sys     # package metadata in a folder on sys.path (an editable install's)
sys.path.append(str(runpost.post_dir.parents[2]))
assert importlib.metadata.version("fake") == "1.0"
root = runpost.post_dir.parents[2]
(root / "data" / "cache.txt").write_text("made here")     # the run's own file, read back
assert (root / "data" / "cache.txt").read_text() == "made here"
assert (root / ".cache" / "fonts.json").read_text() == "{}"   # a tool's state in a dot-folder
```
""")
    (site / ".cache").mkdir()
    (site / ".cache" / "fonts.json").write_text("{}")
    (site / "lib").mkdir()
    (site / "lib" / "helpers.py").write_text("X = 1\n")
    import py_compile
    py_compile.compile(str(site / "lib" / "helpers.py"), doraise=True)
    import sqlite3
    sqlite3.connect(site / "data" / "db.sqlite").close()
    (site / "fake-1.0.dist-info").mkdir()
    (site / "fake-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fake\nVersion: 1.0\n")
    stream = io.StringIO()
    post = execute_posts([read_post(folder / "index.md")], make_config(site), Reporter(stream))[0]
    assert post.results.outputs["quiet"].stdout == "1 / 0\ndef shown():\n"
    warnings = sorted(line for line in stream.getvalue().splitlines() if ": warning: " in line)
    assert [line.split(": warning: ")[0] for line in warnings] == [
        "content/posts/p/index.md", "data/db.sqlite", "data/prices.csv", "lib/helpers.py"]
    assert all("read by block 'count' but not among the post's inputs" in line for line in warnings)


@pytest.mark.parametrize("declared", ["index.md", "."])
def test_a_post_that_declares_its_own_markdown_may_read_it(site, declared):
    folder = site / "content" / "posts" / "p"
    code = "import runpost\nrunpost.publish('words', len((runpost.post_dir / 'index.md').read_text().split()))"
    stream = io.StringIO()
    execute_posts([write_post(folder, code, inputs=(declared,))], make_config(site), Reporter(stream))
    assert "warning" not in stream.getvalue()


def test_an_exception_whose_str_fails_and_a_closed_stdout_are_the_posts_not_the_kernels(site):
    # Each ended in the kernel's own traceback (and "exited with status 1 (os._exit?)").
    error = build_error(write_post(site / "p", """
        class Broken(Exception):
            def __str__(self):
                raise RuntimeError("no text")
        raise Broken()
        """), site)
    assert (error.message, error.location.line) == ("Broken: <exception str() failed>", 12)
    post = build(write_post(site / "q", "import sys\nprint('before')\nsys.stdout.close()"), site)
    assert post.results.outputs["cell-1"].stdout == "before\n"


def test_code_that_changes_its_own_posts_files_is_warned_about(site):
    # A "download once" file written into the bundle made the next build run (and train) again,
    # and a log with a timestamp meant the post was never fresh; nothing said why.
    post = write_post(site / "p", """
        import runpost
        (runpost.post_dir / "dataset.txt").write_text("1 2 3")
        """)
    stream = io.StringIO()
    execute_posts([post], make_config(site), Reporter(stream))
    assert [line.split(": warning: ")[0] for line in stream.getvalue().splitlines() if ": warning: " in line] == [
        "p/dataset.txt"]
    assert "this file of the post's own sources changed while its code ran" in stream.getvalue()


def test_a_timeout_too_long_for_select_still_runs_the_block(site):
    # timeout = 1e308 was an OverflowError in the wait for the kernel's next event.
    post = build(write_post(site / "p", "#! timeout=1e308\nimport runpost\nrunpost.publish('x', 1)"), site)
    assert post.results.values == {"x": 1}


def test_values_a_memo_call_published_are_published_again_when_it_is_reused(site):
    # Reused, the call did not run, so its publish() never happened: "value 'inner' was not published".
    first = """
        import os
        import runpost

        @runpost.memo
        def train(n):
            with open(os.environ["RUNPOST_TEST_LOG"], "a") as log:
                log.write(f"train{n}\\n")
            runpost.publish(f"epochs_{n}", n * 2)
            return n

        train(1)
        train.map([(2,), (3,)], processes=2)
        """
    build(write_post(site / "p", first, "print(1)"), site)
    post = build(write_post(site / "p", first, "print(2)"), site)
    assert sorted(calls(site)) == ["train1", "train2", "train3"]          # each computed once
    assert post.results.values == {"epochs_1": 2, "epochs_2": 4, "epochs_3": 6}


def test_bytes_written_to_stdout_buffer_are_the_blocks_output(site):
    # sys.stdout.buffer raised AttributeError: a block's stdout is no terminal.
    post = build(write_post(site / "p", "import sys\nsys.stdout.buffer.write('caf\\u00e9\\n'.encode())\nsys.stdout.buffer.flush()"), site)
    assert post.results.outputs["cell-1"].stdout == "café\n"


def test_memo_keys_follow_helpers_and_classes_yet_stay_put_for_what_the_function_changes_itself(site):
    # A global read through a helper was not in the key (stale f, fresh g); a class using super()
    # as an argument looped for ever; a function appending to a global recomputed on every build;
    # two lambdas of one block shared a key (cube(3) was 9).
    first = """
        import os
        import runpost

        def log(name):
            with open(os.environ["RUNPOST_TEST_LOG"], "a") as file:
                file.write(name + "\\n")

        def helper(x):
            return x * SCALE

        class Base:
            def __init__(self):
                self.size = 1

        class Net(Base):
            def __init__(self):
                super().__init__()

        seen = []

        @runpost.memo
        def f(x):
            log("f")
            return helper(x)

        @runpost.memo
        def fit(model):
            log("fit")
            return model.size if not isinstance(model, type) else model.__name__

        @runpost.memo
        def step(x):
            log("step")
            seen.append(x)
            return x * 2

        square = runpost.memo(lambda x: x * x)
        cube = runpost.memo(lambda x: x * x * x)
        """
    later = lambda scale: (f"SCALE = {scale}\nrunpost.publish('r', [f(2), fit(Net()), fit(Net), [step(i) for i in range(3)], "
                           "square(3), cube(3)])")
    assert build(write_post(site / "p", first, later(10)), site).results.values["r"] == [20, 1, "Net", [0, 2, 4], 9, 27]
    assert build(write_post(site / "p", first, later(100)), site).results.values["r"] == [200, 1, "Net", [0, 2, 4], 9, 27]
    build(write_post(site / "p", first, later(100) + "\nprint()"), site)
    assert sorted(calls(site)) == sorted(["f", "fit", "fit", "step", "step", "step", "f"])


def test_memo_functions_of_one_name_from_two_modules_or_defined_twice_keep_their_own_results(site):
    # rnn.train and lstm.train, memoized in one block, shared one key: lstm.train(5) returned rnn's result.
    helpers = {"rnn.py": "import runpost\n\n@runpost.memo\ndef train(epochs):\n    return 0.75\n",
               "lstm.py": "import runpost\n\n@runpost.memo\ndef train(epochs):\n    return 0.85\n"}
    code = """
        import rnn, lstm, runpost
        runpost.publish("rnn", rnn.train(5))
        runpost.publish("lstm", lstm.train(5))

        @runpost.memo
        def total(n):
            return sum(range(n))

        runpost.publish("first", total(100))

        @runpost.memo
        def total(n):
            return sum(i * i for i in range(n))

        runpost.publish("second", total(100))
        """
    post = build(write_post(site / "p", code, files=helpers), site)
    assert post.results.values == {"rnn": 0.75, "lstm": 0.85, "first": 4950, "second": 328350}


def test_a_reused_memo_result_keeps_its_dict_order_and_replays_every_publish(site):
    # Records were written with sorted keys: a dict made best-first came back alphabetical. And a
    # publish of the very object the name held (False, None, a small int) was not recorded, so its
    # reuse left the value an earlier call had published.
    code = """
        import runpost

        @runpost.memo
        def board():
            return {"zebra": 3, "mid": 2, "alpha": 1}

        @runpost.memo
        def train(lr):
            runpost.publish("diverged", lr > 1)
            return lr

        runpost.publish("best", next(iter(board())))
        """
    build(write_post(site / "p", code, "for lr in [0.1, 0.01]: train(lr)"), site)
    post = build(write_post(site / "p", code, "for lr in [5.0, 0.01]: train(lr)"), site)
    assert post.results.values == {"best": "zebra", "diverged": False}


def test_a_helpers_stale_bytecode_is_never_run(site):
    # Python trusts a __pycache__ .pyc while the source has the same size and modification second:
    # an edit saved within that second ran the old helper under the new helper's key.
    import os
    import py_compile

    folder = site / "p"
    write_post(folder, "import physics, runpost\nrunpost.publish('g', physics.G)", files={"physics.py": "G = 9.81\n"})
    py_compile.compile(str(folder / "physics.py"))     # the author's own import left bytecode in __pycache__
    status = os.stat(folder / "physics.py")
    (folder / "physics.py").write_text("G = 1.62\n")             # the same size
    os.utime(folder / "physics.py", ns=(status.st_atime_ns, status.st_mtime_ns))
    post = build(read_post(folder / "index.md"), site)
    assert post.results.values == {"g": 1.62}


def test_data_in_a_folder_linked_into_the_bundle_or_a_declared_folder_is_in_the_key(site):
    # rglob does not enter linked folders: data shared by several posts and linked into a bundle
    # (or into a declared inputs folder) was in no key, and its edit left the page stale.
    shared = site / "shared"
    shared.mkdir()
    (shared / "numbers.csv").write_text("1\n2\n3\n")
    folder = site / "content" / "posts" / "p"
    code = ("import runpost\nhere = runpost.post_dir\nrunpost.publish('total', sum(int(x) for x in open(here / "
            "'data/numbers.csv')) + sum(int(x) for x in open(here / 'declared/more/numbers.csv')))")
    (site / "declared").mkdir()
    (site / "declared" / "more").symlink_to(shared)
    folder.mkdir(parents=True)
    (folder / "data").symlink_to(shared)
    (folder / "declared").symlink_to(site / "declared")
    assert build(write_post(folder, code, inputs=("declared",)), site).results.values == {"total": 12}
    (shared / "numbers.csv").write_text("10\n20\n30\n")
    assert build(read_post(folder / "index.md"), site).results.values == {"total": 120}


def test_memo_keys_follow_functions_passed_in_held_in_a_dict_or_a_closure_and_an_instances_class(site):
    # Each read a global bound in a later block that the key missed: its edit reused stale results.
    library = """
        import os
        import runpost

        def log(name):
            with open(os.environ["RUNPOST_TEST_LOG"], "a") as file:
                file.write(name + "\\n")

        @runpost.memo
        def total(fn, n):
            log("total")
            return sum(fn(i) for i in range(n))

        @runpost.memo
        def run_named(name, n):
            log("named")
            return [MODELS[name](i) for i in range(n)]

        @runpost.memo
        def run_smooth(n):
            log("smooth")
            return [smooth(i) for i in range(n)]

        @runpost.memo
        def evaluate(model, n):
            log("evaluate")
            return [model.predict(i) for i in range(n)]
        """
    models = """
        RATE, FACTOR, OFFSET, SLOPE = {}

        def growth(i):
            return i * RATE

        def quad(i):
            return i * i * FACTOR

        MODELS = {{"quad": quad}}

        def timed(fn):
            def wrapper(*args):
                return fn(*args)
            return wrapper

        @timed
        def smooth(i):
            return i + OFFSET

        class Linear:
            def predict(self, x):
                return x * SLOPE

        runpost.publish("values", [total(growth, 4), run_named("quad", 3), run_smooth(2), evaluate(Linear(), 3)])
        """
    first = build(write_post(site / "p", library, models.format("2, 1, 10, 2")), site)
    assert first.results.values == {"values": [12, [0, 1, 4], [10, 11], [0, 2, 4]]}
    second = build(write_post(site / "p", library, models.format("3, 5, 20, 3")), site)
    assert second.results.values == {"values": [18, [0, 5, 20], [20, 21], [0, 3, 6]]}
    assert len(calls(site)) == 8                               # each computed again once
    build(write_post(site / "p", library, models.format("3, 5, 20, 3"), "print('a later block')"), site)
    assert len(calls(site)) == 8                               # and reused while nothing it reads changed


def _fake_library(folder: Path, version: str, factor: int) -> None:
    """An installed distribution `simlib` (with its metadata) whose run(x) is x * factor."""
    import shutil as shell

    for old in folder.glob("simlib*"):
        shell.rmtree(old)
    (folder / "simlib").mkdir(parents=True)
    (folder / "simlib" / "__init__.py").write_text(f"__version__ = {version!r}\ndef run(x):\n    return x * {factor}\n")
    info = folder / f"simlib-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: simlib\nVersion: {version}\n")
    (info / "top_level.txt").write_text("simlib\n")


def test_results_made_with_another_library_version_are_said_to_be_and_rerun_leftovers_dropped(site, monkeypatch):
    # Versions were recorded for torch and numpy only, and never compared: after an upgrade the
    # stored numbers were used without a word, and an interrupted --rerun's finished calls,
    # made with the old version, were mixed into the next --rerun's.
    libraries = site / "libraries"
    _fake_library(libraries, "1.0", 10)
    monkeypatch.setenv("PYTHONPATH", str(libraries))
    monkeypatch.syspath_prepend(str(libraries))
    code = "import runpost, simlib\n\n@runpost.memo\ndef simulate(x):\n    return simlib.run(x)\n\n" \
           "runpost.publish('runs', [simulate(x) for x in range(3)])"
    post = write_post(site / "p", code)
    build(post, site)
    _fake_library(libraries, "2.0", 100)
    import importlib
    importlib.invalidate_caches()
    log = io.StringIO()
    done = execute_posts([post], make_config(site), Reporter(log))[0]
    assert done.results.values == {"runs": [0, 10, 20]}             # as stored, and said so:
    assert "computed with another version (simlib 1.0 -> 2.0)" in log.getvalue()
    # A --rerun interrupted under 1.0 left a finished call; a --rerun under 2.0 computes it again.
    leftover = site / "build" / ".preview" / "rerun-p"
    (leftover / "memo").mkdir(parents=True)
    (leftover / "environment.json").write_text('{"python": "3.11.7", "installed": ["simlib==1.0"]}')
    (leftover / "memo" / "stale.json").write_text("{}")
    assert build(post, site, mode="rerun").results.values == {"runs": [0, 100, 200]}
    assert not (leftover / "memo" / "stale.json").exists()


def test_a_package_beside_a_single_file_post_is_in_its_key_as_a_module_is(tmp_path):
    # `import mylib` (content/posts/mylib/__init__.py): an edit to it left --frozen publishing the
    # old value, with no warning after the first build (found by review).
    from conftest import run_build

    posts = tmp_path / "content/posts"
    (posts / "mylib").mkdir(parents=True)
    (posts / "mylib/__init__.py").write_text("VALUE = 1\n")
    (posts / "e.md").write_text("---\ntitle: E\ndate: 2024-01-01\n---\n```python {exec=true}\nimport runpost, mylib\n"
                                "runpost.publish('v', mylib.VALUE)\n```\nV {{< value v >}}.\n")
    first = run_build(cwd=tmp_path)
    assert first.returncode == 0 and "not among the post's inputs" not in first.stderr, first.stderr
    (posts / "mylib/__init__.py").write_text("VALUE = 2\n")
    result = run_build("--frozen", cwd=tmp_path)
    assert result.returncode == 1 and "post 'e' is stale (helper file mylib/__init__.py changed)" in result.stderr
    assert run_build(cwd=tmp_path).returncode == 0
    assert "V 2." in (tmp_path / "site/posts/e/index.html").read_text()


def test_a_scheduled_posts_missing_results_say_how_to_run_its_code_before_its_date(tmp_path):
    # Left out until its date, code and all: the first --frozen deploy after it found nothing stored,
    # and nothing said that `--future` runs the code beforehand (found by review).
    from conftest import run_build

    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/soon.md").write_text("---\ntitle: Soon\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(1)\n```\n")
    result = run_build("--frozen", cwd=tmp_path)
    assert result.returncode == 1 and "(no stored results)" in result.stderr and "`build --future` runs its code" in result.stderr


def test_a_block_cannot_take_the_themes_main_id(tmp_path):
    # `id=site.main` duplicated the theme's <main id>, and the skip link led to the block (found by review).
    from conftest import run_build

    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/m.md").write_text("---\ntitle: M\ndate: 2024-01-01\n---\n```python {exec=true id=site.main}\nprint(1)\n```\n")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1 and "m.md:5:1: error: cell id 'site.main' is the theme's (its <main>)" in result.stderr, result.stderr


def test_a_memo_key_follows_a_cached_helper_and_a_class_of_the_post_edited_in_a_later_block(site):
    # From a review: a helper wrapped in functools.cache, or a class (passed, passed as an instance, or
    # read as a global), edited in a later block kept the old memo result: 21 under code saying x * 3.
    first = """
        import functools
        import runpost

        @runpost.memo
        def evaluate(x):
            return helper(x) + 1

        @runpost.memo
        def score(model_cls, x):
            return model_cls().score(x)

        @runpost.memo
        def score_of(model, x):
            return model.score(x)

        @runpost.memo
        def score_global(x):
            return Model().score(x)
        """
    later = lambda factor: (f"@functools.cache\ndef helper(x):\n    return x * {factor}\n\n"
                            f"class Model:\n    def score(self, x):\n        return x * {factor}\n\n"
                            "runpost.publish('r', [evaluate(10), score(Model, 10), score_of(Model(), 10), score_global(10)])")
    assert build(write_post(site / "p", first, later(2)), site).results.values["r"] == [21, 20, 20, 20]
    assert build(write_post(site / "p", first, later(3)), site).results.values["r"] == [31, 30, 30, 30]
    assert build(write_post(site / "p", first, later(3) + "\nprint()"), site).results.values["r"] == [31, 30, 30, 30]


@pytest.mark.parametrize("wrapped, kind", [("functools.cache(lambda x: x)", "a functools._lru_cache_wrapper"),
                                           ("math.sqrt", "a builtin_function_or_method"),
                                           ("functools.partial(pow, 2)", "a functools.partial")])
def test_memo_of_what_is_not_a_plain_function_says_what_it_takes(site, wrapped, kind):
    # From a review: "AttributeError: 'functools._lru_cache_wrapper' object has no attribute '__globals__'".
    error = build_error(write_post(site / "p", f"import functools, math, runpost\nf = runpost.memo({wrapped})"), site)
    assert f"memo takes a function written with def or lambda, not {kind}: put @runpost.memo on a def" in str(error)


def test_a_published_value_nested_too_deep_is_an_error_at_its_publish_line(site):
    # From a review: a list 560 levels deep was accepted by publish, then the build failed reading
    # the kernel's events ("runpost's events from the Python process cannot be read (RecursionError").
    code = "import runpost\nv = x = []\nfor _ in range(600):\n    y = []\n    x.append(y)\n    x = y\nrunpost.publish('deep', v)"
    error = build_error(write_post(site / "p", code), site)
    assert "cannot publish 'deep': it is nested more than 400 levels deep" in str(error)
    assert ":15:1: error: TypeError: cannot publish" in str(error)      # the publish line


def test_swapping_two_blocks_ids_runs_them_again_so_their_figures_keep_their_names(site):
    # From a review: ids never entered the key; with `loss` and `acc` swapped, the stored results were
    # reused and the block now called acc showed loss-1.png (its figures are named by its id).
    plot = "#!id={id}\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.plot([{n}])\n"
    first = build(write_post(site / "p", plot.format(id="loss", n=1), plot.format(id="acc", n=2)), site)
    assert [figure.path.rsplit("/", 1)[1] for figure in first.results.outputs["loss"].figures] == ["loss-1.png"]
    again = build(write_post(site / "p", plot.format(id="acc", n=1), plot.format(id="loss", n=2)), site)
    assert again.results.executed
    assert [figure.path.rsplit("/", 1)[1] for figure in again.results.outputs["acc"].figures] == ["acc-1.png"]
    assert [figure.path.rsplit("/", 1)[1] for figure in again.results.outputs["loss"].figures] == ["loss-1.png"]
    assert not build(write_post(site / "p", plot.format(id="acc", n=1), plot.format(id="loss", n=2)), site).results.executed


def test_memo_of_a_bound_method_still_works(site):
    code = "import runpost\nclass A:\n    def f(self, x):\n        return x + 1\nrunpost.publish('v', runpost.memo(A().f)(2))"
    assert build(write_post(site / "p", code), site).results.values == {"v": 3}


def test_memo_keys_of_classes_and_wrappers_follow_edits_and_stay_put_across_builds(site):
    # From a review of the class keys: a wrapper object of the post's (with __wrapped__ and more state)
    # was keyed by its function alone; a method's lock (in a decorator's closure) failed the key; a
    # tensor default recomputed every build; a base class and an Enum's values were not in it.
    first = """
        import functools, threading, enum
        import runpost

        @runpost.memo
        def by_wrapper(f, x):
            return f(x)

        @runpost.memo
        def counted(c, x):
            return c.add(x)

        @runpost.memo
        def scored(m, x):
            return m.score(x)

        @runpost.memo
        def colored(x):
            return Color.BLUE.value * x

        @runpost.memo
        def valued(holder):
            return holder.get()
        """
    later = lambda k: f"""
import torch

class Scaled:
    def __init__(self, f, k):
        functools.update_wrapper(self, f)
        self.f, self.k = f, k
    def __call__(self, x):
        return self.f(x) * self.k

def ident(x):
    return x

def synchronized(method):
    lock = threading.Lock()
    @functools.wraps(method)
    def wrapper(*args):
        with lock:
            return method(*args)
    return wrapper

class Counter:
    @synchronized
    def add(self, x, scale=torch.tensor(2.0)):
        return x + {k}

class Base:
    def score(self, x):
        return x * {k}

class Model(Base):
    pass

class Color(enum.Enum):
    RED = 1
    BLUE = {k}

class Cached:
    @functools.cached_property
    def v(self):
        return {k} * 10

class Proxy:
    def __getattribute__(self, name):
        raise RuntimeError("proxy " + name)

class WithProxy:
    proxy = Proxy()
    def get(self):
        return Cached().v

runpost.publish("r", [by_wrapper(Scaled(ident, {k}), 10), counted(Counter(), 10), scored(Model(), 10), colored(10),
                      valued(WithProxy())])
"""
    assert build(write_post(site / "p", first, later(2)), site).results.values["r"] == [20, 12, 20, 20, 20]
    said = io.StringIO()
    (again,) = execute_posts([write_post(site / "p", first, later(2) + "# edited\n")], make_config(site), Reporter(said))
    assert again.results.values["r"] == [20, 12, 20, 20, 20] and "memo results: 5 reused, 0 computed" in said.getvalue()
    assert build(write_post(site / "p", first, later(3)), site).results.values["r"] == [30, 13, 30, 30, 30]

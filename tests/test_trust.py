"""Never publish results that no run produced; never lose a finished memo result.

Tampered or missing stored files, memo entries that would run code when
loaded, and a real Ctrl-C of `python build.py` sent to its process group.
"""
from __future__ import annotations

import io
import json
import shutil
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, needs
from test_execute import (MEMO_BLOCK, build, build_error, calls, make_config, process_alive, process_start, read_post,
                          write_post)
from runpost.errors import BuildErrors
from runpost.execution.runner import execute_posts
from runpost.report import Reporter

FIGURE = "open(runpost.site_file('fig/x.png'), 'wb').write(b'png bytes')\nrunpost.publish('accuracy', 0.9)"


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNPOST_TEST_LOG", str(tmp_path / "calls.log"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def built(site: Path, *blocks: str):
    post = write_post(site / "content" / "posts" / "p", "import runpost", *blocks)
    build(post, site)
    return post, site / "build" / "p"


def frozen_errors(post, site) -> list[str]:
    with pytest.raises(BuildErrors) as caught:
        build(post, site, mode="frozen")
    return [str(error) for error in caught.value.errors]


def test_frozen_fails_naming_the_post_and_a_tampered_png(site):
    post, stored = built(site, FIGURE)
    (stored / "site" / "fig" / "x.png").write_bytes(b"not what the run wrote")
    [error] = frozen_errors(post, site)
    assert error.startswith("build/p/site/fig/x.png: error: post 'p': a stored file changed since the run")


def test_frozen_fails_naming_the_post_and_a_tampered_published_value(site):
    post, stored = built(site, FIGURE)
    manifest = json.loads((stored / "manifest.json").read_text())
    manifest["values"]["accuracy"] = 0.99
    (stored / "manifest.json").write_text(json.dumps(manifest))
    [error] = frozen_errors(post, site)
    assert error.startswith("build/p/manifest.json: error: post 'p': the manifest changed since the run")


def test_frozen_fails_naming_a_missing_stored_file(site):
    post, stored = built(site, FIGURE)
    (stored / "site" / "fig" / "x.png").unlink()
    assert frozen_errors(post, site) == [
        "build/p/site/fig/x.png: error: post 'p': a stored file is missing; --frozen never runs code: "
        "build without it and commit build/p"]


def test_frozen_refuses_a_stored_file_that_is_a_link_even_with_its_sha256_in_the_manifest(site):
    # A link to a file of the machine whose contents are known (/etc/debian_version) was followed,
    # matched the sha256 the committer wrote, and was published.
    post, stored = built(site, FIGURE)
    outside = site / "outside.png"
    shutil.move(stored / "site" / "fig" / "x.png", outside)
    (stored / "site" / "fig" / "x.png").symlink_to(outside)
    [error] = frozen_errors(post, site)
    assert error.startswith("build/p/site/fig/x.png: error: post 'p': a stored file is a symbolic link or inside "
                            "one: results are files runpost wrote, never links")
    # A folder of the results that is a link: the file under it is the one that was stored.
    (stored / "site" / "fig" / "x.png").unlink()
    shutil.move(stored / "site" / "fig", site / "fig-outside")
    shutil.move(outside, site / "fig-outside" / "x.png")
    (stored / "site" / "fig").symlink_to(site / "fig-outside")
    [error] = frozen_errors(post, site)
    assert "a stored file is a symbolic link or inside one" in error


def test_a_default_build_warns_and_reruns_instead_of_publishing_a_tampered_file(site):
    post, stored = built(site, FIGURE)
    (stored / "site" / "fig" / "x.png").write_bytes(b"tampered")
    stream = io.StringIO()
    results = execute_posts([post], make_config(site), Reporter(stream))[0].results
    assert results.executed and (stored / "site" / "fig" / "x.png").read_bytes() == b"png bytes"
    assert "build/p/site/fig/x.png: warning: post 'p': a stored file changed" in stream.getvalue()
    assert "the post runs again" in stream.getvalue()


def test_memo_results_are_stored_as_json_when_they_are_json_data(site):
    built(site, MEMO_BLOCK, "square(3)")
    [record] = (site / "build" / "p" / "memo").iterdir()
    assert record.suffix == ".json" and json.loads(record.read_text())["result"] == 9


def test_tensors_are_stored_for_weights_only_loading_and_objects_as_a_last_resort_pickle(site):
    needs("torch")
    code = """
        import torch, runpost
        class Box: pass
        @runpost.memo
        def make(kind):
            return {"w": torch.ones(2)} if kind == "tensor" else (Box() if kind == "object" else (1, 2))
        print(make("tensor")["w"].tolist(), type(make("object")).__name__, make("tuple"))"""
    post = write_post(site / "p", code)
    assert build(post, site).results.outputs["cell-1"].stdout == "[1.0, 1.0] Box (1, 2)\n"
    suffixes = sorted(path.suffix for path in (site / "build" / "p" / "memo").iterdir())
    assert suffixes == [".json", ".json", ".json", ".pkl", ".pt", ".pt"]  # a tuple is not JSON: torch keeps it
    again = build(write_post(site / "p", code + "\n        # later"), site).results
    assert again.outputs["cell-1"].stdout == "[1.0, 1.0] Box (1, 2)\n"


PICKLED = MEMO_BLOCK.replace("return n * n", "return {n * n}")  # a set: not JSON, so pickled


class Marker:
    """Unpickling this creates a file: proof that a tampered pickle was loaded."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_tampered_memo_pickle_is_never_loaded_and_is_reported(site):
    post, stored = built(site, PICKLED, "print(square(3))")
    [data] = (stored / "memo").glob("*.pkl")
    marker = site / "marker"
    data.write_bytes(pickle.dumps(Marker(str(marker))))
    stream = io.StringIO()
    edited = write_post(site / "content" / "posts" / "p", "import runpost", PICKLED, "print(square(3))\n# later")
    results = execute_posts([edited], make_config(site), Reporter(stream))[0].results
    assert not marker.exists()
    assert f"build/p/memo/{data.name}: warning: post 'p': memo result not used: changed since the run" in stream.getvalue()
    assert results.outputs["cell-3"].stdout == "computing 3\n{9}\n" and calls(site) == ["square3", "square3"]


def test_a_memo_pickle_tampered_together_with_its_record_is_caught_by_the_manifest(site):
    post, stored = built(site, PICKLED, "print(square(3))")
    [data] = (stored / "memo").glob("*.pkl")
    [record] = (stored / "memo").glob("*.json")
    marker = site / "marker"
    data.write_bytes(pickle.dumps(Marker(str(marker))))
    fields = json.loads(record.read_text())
    import hashlib
    record.write_text(json.dumps({**fields, "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}))
    stream = io.StringIO()
    edited = write_post(site / "content" / "posts" / "p", "import runpost", PICKLED, "print(square(3))\n# later")
    execute_posts([edited], make_config(site), Reporter(stream))
    assert not marker.exists()
    assert f"build/p/memo/{record.name}: warning: post 'p': memo result not used: changed since the run that " \
           "stored it (sha256 differs from manifest.json)" in stream.getvalue()


def test_an_unloadable_memo_entry_is_a_warning_then_recomputed(site):
    post, stored = built(site, MEMO_BLOCK, "print(square(3))")
    [record] = (stored / "memo").glob("*.json")
    stored_manifest = stored / "manifest.json"
    stored_manifest.unlink()  # an entry of an interrupted run: only its record vouches for it
    for made in ("files", "site"):       # (an interrupted first run leaves its memo calls alone)
        shutil.rmtree(stored / made, ignore_errors=True)
    record.write_text("{truncated")
    stream = io.StringIO()
    results = execute_posts([post], make_config(site), Reporter(stream))[0].results
    assert f"build/p/memo/{record.name}: warning: post 'p': memo result not used: is not a memo record" \
           in stream.getvalue()
    assert results.outputs["cell-3"].stdout == "computing 3\n9\n" and calls(site) == ["square3", "square3"]


def test_memo_results_of_a_failed_run_are_in_build_and_reported_as_reused(site):
    build_error(write_post(site / "p", MEMO_BLOCK, "square(5)", "raise ValueError('late bug')"), site)
    assert len(list((site / "build" / "p" / "memo").glob("*.json"))) == 1
    stream = io.StringIO()
    execute_posts([write_post(site / "p", MEMO_BLOCK, "square(5)", "print('fixed')")], make_config(site),
                  Reporter(stream))
    assert "p: memo results: 1 reused, 0 computed" in stream.getvalue() and calls(site) == ["square5"]


SLOW_POST = """---
title: Slow
date: 2024-01-01
---
Text.

```python {exec=true id=work}
import os, time, runpost

@runpost.memo
def step(n):
    open(f"{os.environ['RUNPOST_TEST_LOG']}-{n}", "w").write(str(os.getpid()))
    time.sleep(n)
    return n

print(step(0.2))
print(step.map([0.3, 60], processes=2))
```
"""


def _as_a_terminals_job() -> None:
    """A terminal's foreground job takes SIGINT and SIGHUP as they come, even where the tests run
    with them ignored (in the background, or under nohup: SIGHUP was ignored, the build went on)."""
    for number in (signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def start_builder(tmp_path: Path, post: str, **popen) -> tuple[subprocess.Popen, Path, Path]:
    """`build.py` in a project holding one post (content/posts/slow/index.md), its own process group
    as a terminal's foreground job: (the process, the project, the RUNPOST_TEST_LOG path)."""
    project = tmp_path / "project"
    (project / "content" / "posts" / "slow").mkdir(parents=True)
    (project / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n')
    (project / "content" / "posts" / "slow" / "index.md").write_text(post)
    log = tmp_path / "log"
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "RUNPOST_TEST_LOG": str(log),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    builder = subprocess.Popen([sys.executable, str(REPO / "build.py")], cwd=project, env=environment,
                               start_new_session=True, **popen)
    return builder, project, log


@pytest.mark.parametrize("stop, status", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_ctrl_c_keeps_finished_memo_results_exits_130_and_leaves_no_process(tmp_path, stop, status):
    # SIGTERM (a cancelled CI job, `timeout`, `docker stop`) and SIGHUP (a closed terminal), sent to
    # the builder alone, left the post's code training on as an orphan, and a traceback after.
    builder, project, log = start_builder(tmp_path, SLOW_POST, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True, preexec_fn=_as_a_terminals_job)
    memo = project / "build" / "slow" / "memo"
    deadline = time.monotonic() + 60
    while len(list(memo.glob("*.json"))) < 2 or not Path(f"{log}-60").exists():  # two done, one sleeping
        assert time.monotonic() < deadline and builder.poll() is None, builder.communicate()
        time.sleep(0.05)
    if stop == "SIGINT":
        os.killpg(builder.pid, signal.SIGINT)     # Ctrl-C: the terminal signals the whole job
    else:
        os.kill(builder.pid, getattr(signal, stop))
    start = time.monotonic()
    _, stderr = builder.communicate(timeout=30)
    assert time.monotonic() - start < 5
    assert builder.returncode == status
    assert stderr.splitlines()[-1] == ("interrupted: kept 2 finished memo results in build/slow/memo; "
                                       "build/slow results and site/ unchanged")
    assert not process_alive(int(Path(f"{log}-60").read_text()))  # the forked child still sleeping
    assert not (project / "site").exists() and not (project / "build" / "slow" / "manifest.json").exists()
    assert not process_alive(int(Path(f"{log}-0.2").read_text()))  # the kernel


# A block that says nothing for a minute: no event it sends fails to tell it the builder is gone.
SILENT_POST = ("---\ntitle: S\ndate: 2024-01-01\n---\n```python {exec=true}\nimport os, time\n"
               "open(os.environ['RUNPOST_TEST_LOG'] + '-kernel', 'w').write(str(os.getpid()))\ntime.sleep(60)\n```\n")
# A block that starts a program of its own (a server, a tool): it outlived a builder killed outright.
SPAWNING_POST = ("---\ntitle: S\ndate: 2024-01-01\n---\n```python {exec=true}\nimport os, subprocess, time\n"
                 "child = subprocess.Popen(['sleep', '77'])\n"
                 "open(os.environ['RUNPOST_TEST_LOG'] + '-started', 'w').write(str(child.pid))\ntime.sleep(60)\n```\n")


# ... and one that left the process group (start_new_session, setsid): it outlived every build.
ESCAPING_POST = ("---\ntitle: S\ndate: 2024-01-01\n---\n```python {exec=true}\nimport os, subprocess, time\n"
                 "child = subprocess.Popen(['sleep', '78'], start_new_session=True)\n"
                 "open(os.environ['RUNPOST_TEST_LOG'] + '-escaped', 'w').write(str(child.pid))\ntime.sleep(60)\n```\n")


@pytest.mark.parametrize("post, process", [(SILENT_POST, "kernel"), (SLOW_POST, "60"), (SPAWNING_POST, "started"),
                                           (ESCAPING_POST, "escaped")])
def test_the_kernel_and_its_map_children_end_when_the_builder_is_killed_outright(tmp_path, post, process):
    # SIGKILL cannot be handled: the kernel (and a .map child sleeping a minute) trained on as orphans.
    builder, _, log = start_builder(tmp_path, post, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid_file = Path(f"{log}-{process}")
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and builder.poll() is None
        time.sleep(0.05)
    orphan = int(pid_file.read_text())
    started = process_start(orphan)      # its number may be another process's by the time it is checked
    builder.kill()
    builder.wait()
    deadline = time.monotonic() + 10
    while process_alive(orphan, started):
        assert time.monotonic() < deadline, f"the {process} process outlived its builder"
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper is Linux's (PR_SET_CHILD_SUBREAPER)")
def _running(command_line: str) -> bool:
    """Whether a process of this machine has this command line (its arguments joined by NUL)."""
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and Path(f"/proc/{name}/cmdline").read_bytes().decode(errors="replace").startswith(command_line):
                return True
        except OSError:
            continue
    return False


def test_nothing_the_code_started_outlives_a_successful_run_even_out_of_its_process_group(site):
    # A program started in a session of its own wrote into build/ after the manifest was sealed.
    code = ("import os, subprocess\nchild = subprocess.Popen(['sleep', '79'], start_new_session=True)\n"
            "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '79'])\n"
            "    os._exit(0)\nprint(child.pid)")
    post = execute_posts([write_post(site / "p", code)], make_config(site), Reporter(io.StringIO()))[0]
    escaped = int(post.results.outputs["cell-1"].stdout)
    deadline = time.monotonic() + 10
    while process_alive(escaped) or _running("sleep\0" + "79"):
        assert time.monotonic() < deadline, "a process the code started outlived the run"
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper is Linux's (PR_SET_CHILD_SUBREAPER)")
def test_a_long_chain_of_processes_out_of_the_group_ends_with_the_run(site):
    # Processes forked one from another after setsid: the reaper gave up after 200 rounds and 244 of
    # a 400-deep chain outlived the build, holding its stderr (a pipe to `tail` hung).
    pids = site / "chain-pids"
    code = (f"import os, time\nlog = {str(pids)!r}\nif os.fork() == 0:\n    os.setsid()\n    for _ in range(260):\n"
            "        open(log, 'a').write(f'{os.getpid()}\\n')\n"
            "        if os.fork():\n            os.execvp('sleep', ['sleep', '3006'])\n    time.sleep(3006)\n"
            "    os._exit(0)\nwhile len(open(log).read().split()) < 260 if os.path.exists(log) else True:\n"
            "    time.sleep(0.05)\nprint('done')")
    post = execute_posts([write_post(site / "p", code)], make_config(site), Reporter(io.StringIO()))[0]
    assert post.results.outputs["cell-1"].stdout == "done\n"
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 260    # (more levels than the 200 rounds the reaper once gave up after)
    deadline = time.monotonic() + 20
    while any(process_alive(pid) for pid in started):
        assert time.monotonic() < deadline, "processes of the chain outlived the run"
        time.sleep(0.1)


def test_code_that_sends_its_process_group_sigterm_is_not_stopped_by_runpost(site):
    # The reaper, in the group, took the code's own os.killpg(0, SIGTERM) for the builder's stop and
    # killed the kernel: "exited with status 1 (os._exit?)".
    code = ("import os, signal, subprocess\nprocs = [subprocess.Popen(['sleep', '303']) for _ in range(2)]\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nos.killpg(0, signal.SIGTERM)\n"
            "for process in procs:\n    process.wait()\nprint('cleaned up')")
    stream = io.StringIO()
    post = execute_posts([write_post(site / "p", code)], make_config(site), Reporter(stream))[0]
    assert post.results.outputs["cell-1"].stdout == "cleaned up\n", stream.getvalue()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper is Linux's")
def test_a_timeout_stops_code_that_floods_its_group_with_sigterm(site):
    # The builder's stop was a SIGTERM too: merged with the code's own pending ones and refused, the
    # run ended only by the group's SIGKILL 3 s later, and a child in a session of its own survived.
    code = ("import os, signal, subprocess, time\nchild = subprocess.Popen(['sleep', '3171'], start_new_session=True)\n"
            "open(os.environ['RUNPOST_TEST_LOG'] + '-flood', 'w').write(str(child.pid))\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    os.killpg(0, signal.SIGTERM)\n")
    log = site / "log"
    os.environ["RUNPOST_TEST_LOG"] = str(log)
    try:
        error = build_error(write_post(site / "p", code), site, timeout=1)
    finally:
        del os.environ["RUNPOST_TEST_LOG"]
    assert "timed out after 1 second" in error.message
    child = int(Path(f"{log}-flood").read_text())
    deadline = time.monotonic() + 10
    while process_alive(child):
        assert time.monotonic() < deadline, "the child in a session of its own outlived the run"
        time.sleep(0.05)


def test_a_builder_that_is_pid_1_runs_code(site):
    # In a container without an init the builder is PID 1: the reaper took a parent of PID 1 for a
    # dead builder, and every block "exited with status 1 (os._exit?)".
    import shutil
    if not shutil.which("unshare") or subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                                                     capture_output=True).returncode != 0:
        pytest.skip("no PID namespace to be PID 1 in (unshare)")
    write_post(site / "content" / "posts" / "p", "print('ran')")
    script = ("import io, sys\nfrom pathlib import Path\nsys.path.insert(0, sys.argv[2])\n"
              "from test_execute import make_config, read_post\nfrom runpost.execution.runner import execute_posts\n"
              "from runpost.report import Reporter\nroot = Path(sys.argv[1])\n"
              "post = execute_posts([read_post(root / 'content/posts/p/index.md')], make_config(root), Reporter(io.StringIO()))[0]\n"
              "print(post.results.outputs['cell-1'].stdout, end='')")
    result = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", script, str(site),
                             str(Path(__file__).parent)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert result.stdout == "ran\n", result.stderr


@pytest.mark.parametrize("name", ["SIGUSR1", "SIGHUP", "STOP"])
def test_a_signal_the_code_sends_its_group_is_neither_the_reapers_death_nor_its_stop(site, name):
    # SIGUSR1 to the group killed the reaper and the kernel with it; the code's own SIGRTMIN+2 was
    # taken for the builder's stop.
    from runpost.parallel import STOP_SIGNAL
    number = STOP_SIGNAL if name == "STOP" else getattr(signal, name)
    code = (f"import os, signal, time\nsignal.signal({number}, lambda *a: None)\nos.killpg(0, {number})\n"
            "time.sleep(0.3)\nprint('done')")
    stream = io.StringIO()
    post = execute_posts([write_post(site / "p", code)], make_config(site), Reporter(stream))[0]
    assert post.results.outputs["cell-1"].stdout == "done\n", stream.getvalue()


def test_code_that_waits_for_all_its_children_is_not_kept_waiting_by_runpost(site):
    # The reaper that kills what the code started was the code's own child: `os.wait()` until no
    # child is left waited for it until the block timed out.
    code = ("import os, subprocess\nsubprocess.Popen(['true'])\nwhile True:\n    try:\n        os.wait()\n"
            "    except ChildProcessError:\n        break\nprint('all done')")
    stream = io.StringIO()
    post = execute_posts([write_post(site / "p", code)], make_config(site), Reporter(stream))[0]
    assert post.results.outputs["cell-1"].stdout == "all done\n", stream.getvalue()


def test_the_next_run_reuses_what_an_interrupted_run_kept(site):
    class InterruptAfterFirstCall(Reporter):
        def info(self, message: str) -> None:
            if "running" in message:
                deadline = time.monotonic() + 30
                while not list((site / "build" / "p" / "memo").glob("*.json")):
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                raise KeyboardInterrupt

    post = write_post(site / "p", MEMO_BLOCK, "square(2)\nimport time\ntime.sleep(30)")
    with pytest.raises(KeyboardInterrupt) as caught:
        execute_posts([post], make_config(site), InterruptAfterFirstCall(io.StringIO()))
    assert str(caught.value).startswith("interrupted: kept 1 finished memo result in build/p/memo;")
    stream = io.StringIO()
    execute_posts([write_post(site / "p", MEMO_BLOCK, "square(2)")], make_config(site), Reporter(stream))
    assert "p: memo results: 1 reused, 0 computed" in stream.getvalue() and calls(site) == ["square2"]


@pytest.mark.parametrize("field, value", [("cells", None), ("files", [1]), ("files", [{}]), ("environment", []),
                                          ("memo", [{"stored": 3}]), ("values", [1])])
def test_a_sealed_manifest_of_the_wrong_shape_is_refused_not_an_internal_error(site, field, value):
    # Edited by hand or another tool, then sealed again: 106 of 350 such edits were internal errors.
    from runpost.execution.store import seal

    post, stored = built(site, FIGURE)
    manifest = json.loads((stored / "manifest.json").read_text())
    manifest[field] = value
    manifest.pop("sha256")
    manifest["sha256"] = seal(manifest)
    (stored / "manifest.json").write_text(json.dumps(manifest))
    [error] = frozen_errors(post, site)
    assert error == ("content/posts/p/index.md:1:1: error: post 'p' is stale (its stored manifest.json cannot be read as "
                     "runpost wrote it (not JSON, or a field of the wrong type)); --frozen never runs code: build without it "
                     "and commit build/p")


def test_a_memo_record_no_manifest_lists_is_checked_by_its_own_seal(site):
    # A record kept by a failed run (or any, when manifest.json cannot be read) was used unchecked,
    # then sealed into the next manifest: an edit to it reached the page and passed --frozen.
    import json

    flag = site / "fail-once"
    code = "import runpost\n\n@runpost.memo\ndef accuracy():\n    return 0.8123\n\nrunpost.publish('acc', accuracy())"
    failing = f"import os\nif os.path.exists({str(flag)!r}):\n    raise RuntimeError('boom')"
    flag.write_text("")
    with pytest.raises(BuildErrors):
        build(write_post(site / "p", code, failing), site)
    [record_path] = (site / "build" / "p" / "memo").glob("*.json")
    record = json.loads(record_path.read_text())
    record["result"] = 0.9999
    record_path.write_text(json.dumps(record))
    flag.unlink()
    log = io.StringIO()
    post = execute_posts([read_post(site / "p" / "index.md")], make_config(site), Reporter(log))[0]
    assert post.results.values == {"acc": 0.8123}
    assert "no longer matches its own seal" in log.getvalue()


# The Markdown stage stuck in one long regular-expression call (C code that keeps the GIL, as a
# huge pathological post once did): the handler of a Python-level SIGTERM could not run.
_STUCK_IN_C = """
import os, re, runpy, sys
from runpost.markup import markdown
def stuck(*args, **kwargs):
    open(os.environ["RUNPOST_TEST_LOG"] + "-stuck", "w").write("")
    re.match(r"(a|aa)*c", "a" * 60)             # about forever, in one C call
markdown.markdown_to_html = stuck
sys.argv = ["build.py"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_build_stuck_in_one_long_c_call_at_once(tmp_path, stop):
    project = tmp_path / "project"
    (project / "content/posts").mkdir(parents=True)
    (project / "content/posts/p.md").write_text("---\ntitle: P\ndate: 2024-01-01\n---\nText.\n")
    log = tmp_path / "log"
    environment = {**os.environ, "RUNPOST_TEST_LOG": str(log),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    shutil.copy(REPO / "build.py", project / "build.py")
    builder = subprocess.Popen([sys.executable, "-c", _STUCK_IN_C], cwd=project, env=environment,
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"{log}-stuck").exists():
            assert time.monotonic() < deadline and builder.poll() is None
            time.sleep(0.02)
        time.sleep(0.2)
        os.kill(builder.pid, getattr(signal, stop))
        builder.wait(timeout=5)       # it waited until the call returned: here, about forever
        assert builder.returncode == -getattr(signal, stop)
        assert not (project / "site").exists()
    finally:
        if builder.poll() is None:
            builder.kill()
            builder.wait()

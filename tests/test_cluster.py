"""Memoized calls on a Dask cluster: a real LocalCluster (2 workers, 1 thread each) on 127.0.0.1.

Each test builds a tiny post with `python build.py --executor dask://...`, as a
writer would; nothing trains. Without dask.distributed installed, only the
tests of the error message run.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, run_build

POST = '''\
---
title: P
date: 2024-01-02
inputs:
  - data.csv
---
Some prose.

```python {exec=true id=setup}
import runpost
import helper

@runpost.memo
def square(n):
    numbers = [int(x) for x in (runpost.post_dir / "data.csv").read_text().split(",")]
    print(f"squaring {n}")
    return {"n": n, "square": helper.double(n) * n / 2, "sum": sum(numbers)}

@runpost.memo
def pair(n):
    return (n, [n] * 3)

results = square.map([1, 2, 3], processes=2)
runpost.publish("results", results)
print(pair(4))
```
'''


# One LocalCluster (the module fixture below) for all of them: its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("cluster")


@pytest.fixture(scope="module")
def scheduler() -> str:
    """dask://127.0.0.1:PORT of a LocalCluster started for these tests."""
    distributed = pytest.importorskip("distributed")
    import dask

    # Worker processes forked from a server that imported distributed once (dask's own test
    # suite does this), instead of each importing it again: 2 s of CPU per worker started.
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None, worker_dashboard_address=None)
        yield "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        cluster.close()


def make_project(folder: Path, post: str = POST, toml: str = 'title = "t"\nbase_url = "https://example.org/"\n') -> Path:
    bundle = folder / "content" / "posts" / "p"
    bundle.mkdir(parents=True)
    (folder / "runpost.toml").write_text(toml)
    (bundle / "index.md").write_text(post)
    (bundle / "helper.py").write_text("def double(x):\n    return 2 * x\n")
    (bundle / "data.csv").write_text("1,2,3\n")
    return folder


def without_run_fields(value):
    """A manifest or memo record minus what differs between any two runs: times, dates, host (and hashes of them)."""
    if isinstance(value, dict):
        return {key: without_run_fields(item) for key, item in value.items()
                if key not in ("seconds", "date", "host", "sha256", "seal")}
    if isinstance(value, list):
        return [without_run_fields(item) for item in value]
    return value


def build_tree(build: Path) -> dict[str, bytes]:
    # build/.cache (render cache, image copies) is a rebuildable cache, not results.
    return {path.relative_to(build).as_posix(): path.read_bytes() for path in sorted(build.rglob("*"))
            if path.is_file() and ".cache" not in path.relative_to(build).parts}


def test_cluster_run_stores_what_a_local_run_stores(tmp_path, scheduler):
    local = make_project(tmp_path / "local")
    remote = make_project(tmp_path / "remote")
    assert run_build(cwd=local).returncode == 0
    result = run_build("--executor", scheduler, cwd=remote)
    assert result.returncode == 0, result.stderr

    local_files, remote_files = build_tree(local / "build"), build_tree(remote / "build")
    assert sorted(local_files) == sorted(remote_files)  # same keys, same files
    for name, data in local_files.items():
        if name.endswith(".json"):  # manifest and memo records: equal apart from times and hosts
            assert without_run_fields(json.loads(data)) == without_run_fields(json.loads(remote_files[name])), name
        else:
            assert data == remote_files[name], name  # results (.pkl), files/: byte-identical
    manifest = json.loads(remote_files["p/manifest.json"])
    assert all(entry["host"] and entry["device"][0] == "cpu" for entry in manifest["memo"])
    assert manifest["values"]["results"][2] == {"n": 3, "square": 9.0, "sum": 6}


PUBLISHING = POST.replace("    return (n, [n] * 3)", "    runpost.publish(\"last_pair\", n)\n    return (n, [n] * 3)") \
    .replace("Some prose.", "Last pair: {{< value last_pair >}} done.")


def test_values_a_call_publishes_on_a_worker_reach_the_page_and_are_replayed(tmp_path, scheduler):
    # The worker's runpost.publish went to its own in-memory session: "value 'last_pair' was not published".
    project = make_project(tmp_path, PUBLISHING)
    result = run_build("--executor", scheduler, cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Last pair: 4 done." in (project / "site/posts/p/index.html").read_text()
    post = project / "content/posts/p/index.md"
    post.write_text(post.read_text() + "\n```python {exec=true}\nprint('a later block')\n```\n")
    result = run_build("--executor", scheduler, cwd=project)          # pair(4) reused, its publish replayed
    assert result.returncode == 0, result.stderr
    assert "Last pair: 4 done." in (project / "site/posts/p/index.html").read_text()


def test_cluster_run_reports_each_call_started_and_finished(tmp_path, scheduler):
    result = run_build("--executor", scheduler, cwd=make_project(tmp_path))
    assert result.returncode == 0, result.stderr
    for call in ("square(1)", "square(2)", "square(3)", "pair(4)"):
        assert f"p: memo {call} running on tcp://127.0.0.1:" in result.stderr
        assert f"p: memo {call} finished in " in result.stderr


def test_frozen_build_renders_a_cluster_run(tmp_path, scheduler):
    project = make_project(tmp_path)
    assert run_build("--executor", scheduler, cwd=project).returncode == 0
    frozen = run_build("--frozen", cwd=project)
    assert frozen.returncode == 0, frozen.stderr
    assert "squaring 3" in (project / "site/posts/p/index.html").read_text()


def test_worker_killed_mid_call_is_retried_by_dask(tmp_path, scheduler):
    marker = tmp_path / "killed-once"
    post = POST.replace('    print(f"squaring {n}")\n', textwrap.indent(textwrap.dedent(f'''\
        import os, pathlib
        if n == 2 and not pathlib.Path({str(marker)!r}).exists():
            pathlib.Path({str(marker)!r}).touch()
            os._exit(1)  # the worker process dies mid-call
        print(f"squaring {{n}}")
        '''), "    "))
    project = make_project(tmp_path / "project", post)
    result = run_build("--executor", scheduler, cwd=project)
    assert marker.exists(), result.stderr
    assert result.returncode == 0, result.stderr
    manifest = json.loads((project / "build/p/manifest.json").read_text())
    assert manifest["values"]["results"][1]["square"] == 4.0


def test_exception_on_a_worker_is_reported_at_its_markdown_line(tmp_path, scheduler):
    post = POST.replace('    print(f"squaring {n}")\n', '    if n == 3:\n        raise ValueError("bad n")\n')
    project = make_project(tmp_path, post)
    result = run_build("--executor", scheduler, cwd=project)
    line = post.splitlines().index('        raise ValueError("bad n")') + 1
    assert result.returncode == 1
    assert f"content/posts/p/index.md:{line}:9: error: ValueError: bad n" in result.stderr     # where `raise` is
    assert "Traceback" not in result.stderr
    # The calls that finished are kept for the next run (one not started yet may have been cancelled).
    finished = result.stderr.count(" finished in ")
    assert finished >= 1 and len(list((project / "build/p/memo").glob("*.json"))) == finished


def test_resources_no_worker_offers_are_an_error_at_the_call(tmp_path, scheduler):
    post = POST.replace("@runpost.memo\ndef square", '@runpost.memo(resources={"GPU": 1})\ndef square')
    result = run_build("--executor", scheduler, cwd=make_project(tmp_path, post))
    line = post.splitlines().index("results = square.map([1, 2, 3], processes=2)") + 1
    assert result.returncode == 1
    assert (f"content/posts/p/index.md:{line}:1: error: RuntimeError: no worker of tcp://127.0.0.1:"
            in result.stderr) and "offers resources GPU=1" in result.stderr


def test_resources_are_ignored_by_the_local_executor(tmp_path):
    post = POST.replace("@runpost.memo\ndef square", '@runpost.memo(resources={"GPU": 1}, retries=2)\ndef square')
    result = run_build(cwd=make_project(tmp_path, post))
    assert result.returncode == 0, result.stderr
    assert "p: memo square(1) finished in " in result.stderr


def build_without_distributed(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """build.py with `import distributed` failing, as where the cluster extra is not installed."""
    code = ("import sys; sys.modules['distributed'] = None; sys.argv = ['build.py', *sys.argv[1:]]; "
            "from runpost.cli import main; sys.exit(main())")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_dask_executor_flag_without_distributed_is_a_usage_error(tmp_path):
    result = build_without_distributed("--executor", "dask://127.0.0.1:8786", cwd=make_project(tmp_path))
    assert result.returncode == 2
    assert ("error: --executor: executor 'dask://127.0.0.1:8786' needs Dask's distributed package: "
            "pip install 'runpost[cluster]'") in result.stderr
    assert "Traceback" not in result.stderr


def test_dask_executor_setting_without_distributed_is_an_error_at_its_line(tmp_path):
    toml = 'title = "t"\nexecutor = "dask://127.0.0.1:8786"\n'
    result = build_without_distributed(cwd=make_project(tmp_path, toml=toml))
    assert result.returncode == 1
    assert "runpost.toml:2:1: error: setting 'executor': executor 'dask://127.0.0.1:8786' needs" in result.stderr
    assert "Traceback" not in result.stderr


def test_frozen_build_never_needs_distributed(tmp_path):
    project = make_project(tmp_path)
    assert run_build(cwd=project).returncode == 0
    result = build_without_distributed("--frozen", "--executor", "dask://127.0.0.1:8786", cwd=project)
    assert result.returncode == 0, result.stderr


def test_unknown_executor_is_named(tmp_path):
    result = run_build("--executor", "ray://x:1", cwd=make_project(tmp_path))
    assert result.returncode == 2
    assert "error: --executor: unknown executor 'ray://x:1' (use local or dask://HOST:PORT)" in result.stderr


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_rerun_recomputes_map_calls_on_either_executor(tmp_path, request, executor):
    # --rerun reads no stored entry, but must read back what its own children or workers stored.
    flags = ["--executor", request.getfixturevalue("scheduler")] if executor == "dask" else []
    project = make_project(tmp_path)
    assert run_build(*flags, cwd=project).returncode == 0
    result = run_build("--rerun", *flags, cwd=project)
    assert result.returncode == 0, result.stderr
    assert "p: memo results: 0 reused, 4 computed" in result.stderr
    assert run_build("--frozen", cwd=project).returncode == 0

"""Shared fixtures: a copy of the tiny fixture site and a way to run build.py on it."""
from __future__ import annotations

import gc
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import launcher

REPO = Path(__file__).resolve().parent.parent
FIXTURE_SITE = REPO / "tests" / "fixtures" / "site"


def run_build(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python build.py ARGS` in `cwd` as a user would, in a process of its own, capturing its output.

    The process is forked from a zygote that has runpost imported already (launcher.py):
    the same process a user starts, without 0.3 s of start-up each time.
    """
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    environment.pop("GITHUB_ACTIONS", None)
    result, _ = launcher.launch(list(args), cwd=cwd, env=environment, timeout=timeout)
    if result.returncode == -9:
        raise subprocess.TimeoutExpired(result.args, timeout, result.stdout, result.stderr)
    return result


_modules_when_frozen = 0    # len(sys.modules) at the last gc.freeze()


def pytest_collection_finish(session):
    # What is imported and collected by now lives to the end of the session: moved out of the
    # garbage collector's sight, each full collection during the tests walks only what the
    # tests made (the workers' collections: 5.8 -> 3.8 s of CPU in a default run).
    global _modules_when_frozen
    gc.collect()
    gc.freeze()
    _modules_when_frozen = len(sys.modules)


def pytest_runtest_logfinish(nodeid, location):
    # Likewise a library a test imports in the worker (torch: 160,000 objects; distributed,
    # IPython): frozen once it is in, every later full collection in this worker costs what it
    # did before (measured: 0.013 s, with torch 0.089 s, with torchvision too 0.18 s).
    global _modules_when_frozen
    if len(sys.modules) > _modules_when_frozen + 100:
        gc.collect()
        gc.freeze()
        _modules_when_frozen = len(sys.modules)


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores this process may use.

    Many tests wait rather than compute: on a build or kernel process, on Chromium, or
    past the racy window of a file time just set. A third worker on two cores fills those
    waits (default run, same hour: 55.3-56.9 s with two workers, 52.4-55.2 s with three,
    56.4 s with four). PYTEST_XDIST_AUTO_NUM_WORKERS still chooses, as pytest-xdist documents.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


def pytest_sessionfinish(session, exitstatus):
    launcher.close()


# The longest tests, started first so that the workers finish together (pytest-xdist hands
# tests out in collection order): the quick article build, the browser group, the cluster group.
# Then the files whose tests mostly wait (past the racy window of file times they set, for serve's
# watcher): run last, they left the cores a third idle for 3 s while every worker waited in them.
FIRST = ("tests/test_article.py::test_quick_build", "tests/test_browser.py", "tests/test_html_valid.py",
         "tests/test_cluster.py", "tests/test_browser_reader.py", "tests/test_trust.py", "tests/test_uptodate.py",
         "tests/test_serve.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        return next((index for index, prefix in enumerate(FIRST) if item.nodeid.startswith(prefix)), len(FIRST))
    items.sort(key=rank)      # stable: the order within each file is kept


def needs(*modules: str) -> None:
    """Skip unless each module is installed, without importing it here.

    For tests whose builds import them in their own processes: pytest.importorskip
    would import torch or matplotlib into the test worker too (torchvision alone is
    2.6 s of CPU) and make every later garbage collection there slower.
    """
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/site."""
    target = tmp_path / "site-project"
    shutil.copytree(FIXTURE_SITE, target)
    return target


# --- Theme tests (test_browser.py, test_html_valid.py): one built site, served under /repo/ ---

@pytest.fixture(scope="session")
def served_site(tmp_path_factory):
    """The project (else the fixture site) built for and served at http://127.0.0.1:<port>/repo/."""
    from serving import ServedSite, SiteServer, build_site

    work = tmp_path_factory.mktemp("served-site")
    output = work / "site"
    output.mkdir()
    server = SiteServer(output)  # started first: the build needs the port for its base URL
    try:
        source, log = build_site(output, server.base_url, work)
        yield ServedSite(directory=output, base_url=server.base_url, source=source, build_log=log)
    finally:
        server.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test: Playwright's sync API allows one session per process."""
    from test_browser import CHROMIUM_ARGS, _chromium_path, sync_playwright

    if sync_playwright is None:
        pytest.skip("playwright is not installed (pip install playwright)")
    executable = _chromium_path()
    if executable is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium-headless-shell, or chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

"""Shared fixtures: a copy of the tiny fixture site and a way to run build.py on it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURE_SITE = REPO / "tests" / "fixtures" / "site"


def run_build(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python build.py ARGS` in `cwd` as a user would, capturing its output."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    environment.pop("GITHUB_ACTIONS", None)
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=environment)


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
        pytest.skip("no Chromium found at /usr/bin/chromium or on PATH (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

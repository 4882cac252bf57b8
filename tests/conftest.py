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

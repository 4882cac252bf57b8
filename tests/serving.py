"""Build a site for the browser and validity tests and serve it under a sub-path.

The site is served at http://127.0.0.1:<port>/repo/, the way GitHub Pages
serves a project site, so any URL that only works at the domain root fails.

Which site: the real project (`python build.py --frozen` in the repository)
when it builds, else the fixture site (tests/fixtures/site). Set
RUNPOST_TEST_SITE=project or =fixture to insist on one;
RUNPOST_THEME_HARNESS=<script> renders a sample site with a script that
takes (output folder, base URL), for working on the theme without a pipeline.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE_SITE = REPO / "tests" / "fixtures" / "site"
BASE_PATH = "/repo/"


@dataclass
class ServedSite:
    directory: Path        # the built site
    base_url: str          # http://127.0.0.1:<port>/repo/
    source: str            # "project", "fixture" or "harness": what was built
    build_log: str         # output of the build(s)

    def pages(self) -> list[str]:
        """Site-relative output paths of every HTML page ("posts/x/index.html")."""
        return sorted(path.relative_to(self.directory).as_posix() for path in self.directory.rglob("*.html"))

    def url_of(self, output_path: str) -> str:
        """URL a reader would use for an output file: folders end in /."""
        if output_path == "index.html":
            return self.base_url
        if output_path.endswith("/index.html"):
            return self.base_url + output_path[: -len("index.html")]
        return self.base_url + output_path


class SiteServer:
    """A threaded server for `directory` under BASE_PATH on a free local port."""

    def __init__(self, directory: Path):
        from runpost.serve.handler import make_server

        self.server = make_server(directory, BASE_PATH, "127.0.0.1", 0)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{BASE_PATH}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def build_site(output: Path, base_url: str, work: Path) -> tuple[str, str]:
    """Build into `output` for `base_url`; returns (which site, build log). Raises if nothing builds."""
    wanted = os.environ.get("RUNPOST_TEST_SITE", "")
    harness = os.environ.get("RUNPOST_THEME_HARNESS", "")
    attempts = []
    if harness:
        attempts.append(("harness", [sys.executable, harness, str(output), base_url], REPO))
    if wanted in ("", "project") and (REPO / "content" / "posts").is_dir():
        attempts.append(("project", [sys.executable, str(REPO / "build.py"), "--frozen", "--output", str(output),
                                     "--base-url", base_url], REPO))
    if wanted in ("", "fixture"):
        attempts.append(("fixture", [sys.executable, str(REPO / "build.py"), "--output", str(output),
                                     "--build-dir", str(work / "fixture-build"), "--base-url", base_url],
                         _fixture_copy(work)))
    log = []
    for name, command, cwd in attempts:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        environment.pop("GITHUB_ACTIONS", None)
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env=environment)
        log.append(f"$ {' '.join(command)}  (in {cwd})\n{result.stdout}{result.stderr}exit {result.returncode}\n")
        if result.returncode == 0 and (output / "index.html").is_file():
            return name, "\n".join(log)
        shutil.rmtree(output, ignore_errors=True)
    raise RuntimeError("no site could be built for the browser tests:\n" + "\n".join(log))


def _fixture_copy(work: Path) -> Path:
    # Build a copy: the build must not write anything into the repository.
    target = work / "fixture-site"
    if not target.exists():
        shutil.copytree(FIXTURE_SITE, target)
    return target

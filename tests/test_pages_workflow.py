"""The GitHub Pages workflow: renders from frozen results, without torch, and deploys."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "pages.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def _uses(steps: list[dict]) -> list[str]:
    return [step["uses"].split("@")[0] for step in steps if "uses" in step]


def test_workflow_runs_on_push_to_main_and_by_hand(workflow):
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers


def test_workflow_may_deploy_pages_and_runs_one_deploy_at_a_time(workflow):
    assert workflow["permissions"]["pages"] == "write"
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["concurrency"]["group"]


def test_build_job_renders_frozen_results_for_the_pages_url(workflow):
    steps = _steps(workflow, "build")
    assert _uses(steps)[:2] == ["actions/checkout", "actions/setup-python"]
    assert "actions/configure-pages" in _uses(steps)
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert str(python["with"]["python-version"]) == "3.11"
    commands = [step["run"] for step in steps if "run" in step]
    install = next(command for command in commands if "pip install" in command)
    assert "torch" not in install and "[" not in install, "deploys install the renderer only"
    build = next(command for command in commands if "build.py" in command)
    assert "--frozen" in build
    assert re.search(r"--base-url \"\$\{\{ steps\.pages\.outputs\.base_url \}\}/\"", build)
    # configure-pages must run before the build that reads its output.
    names = [step.get("id") or step.get("uses", step.get("run")) for step in steps]
    assert names.index("pages") < next(i for i, s in enumerate(steps) if "build.py" in s.get("run", ""))
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"].rstrip("/") == "site"


def test_build_job_starts_from_the_last_deploys_render_cache(workflow):
    steps = _steps(workflow, "build")
    cache = next(step for step in steps if step.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "build/.cache"
    # A new key each run (the cache is saved after the job) restored from the newest under the prefix.
    assert "github.sha" in cache["with"]["key"] and cache["with"]["key"].startswith(cache["with"]["restore-keys"])
    assert steps.index(cache) < next(i for i, s in enumerate(steps) if "build.py" in s.get("run", ""))


def test_deploy_job_deploys_the_uploaded_artifact(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert "actions/deploy-pages" in _uses(deploy["steps"])


def test_core_dependencies_have_no_torch():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [dep for dep in project["dependencies"] if dep.lower().startswith(("torch", "torchvision"))]

"""Plan a post: its effective parameters, chain keys, result folder, and whether
what build/ holds is fresh; if not, why (for --frozen and --explain).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import store
from .keys import FORMAT_VERSION, Fingerprints, base_key, canonical_json, chain_keys, fingerprint_post
from ..config import Config
from ..errors import BuildError, BuildErrors, ErrorCollector, Location
from ..post import Cell, Post
from ..report import Reporter


@dataclass(frozen=True)
class Plan:
    """What a post's results depend on now, and where they are stored."""

    post: Post
    params: dict[str, Any]           # effective parameters
    overrides: dict[str, Any]        # --param values that differ from front matter
    fingerprints: Fingerprints
    keys: list[str]                  # chain key per block
    folder: Path                     # build/<name> or build/.preview/<name>-<hash>
    manifest: dict[str, Any] | None  # what the folder holds now
    problems: list[tuple[Path, str]] = field(default_factory=list)  # stored files not as their run left them

    @property
    def final_key(self) -> str:
        return self.keys[-1]

    @property
    def matches(self) -> bool:
        """build/ holds results for the post as it is now (verified or not)."""
        return (self.manifest is not None and self.manifest.get("format") == FORMAT_VERSION
                and self.manifest.get("key") == self.final_key
                and first_stale_cell(self.manifest.get("cells", []), self.keys, self.post.cells) == len(self.keys))

    @property
    def fresh(self) -> bool:
        return self.matches and not self.problems


def parse_overrides(posts: list[Post], config: Config) -> dict[str, Any]:
    """--param NAME=VALUE, values parsed as YAML scalars (`epochs=2` is the int 2)."""
    if not config.params:
        return {}
    import yaml  # only needed with --param

    known = sorted({name for post in posts for name in post.meta.params})
    errors = ErrorCollector()
    parsed = {}
    for name, text in config.params.items():
        if name not in known:
            hint = f" (parameters: {', '.join(known)})" if known else " (no post declares params:)"
            errors.add(BuildError(None, f"--param {name}: no post has a parameter '{name}'{hint}"))
            continue
        shown = text if len(text) <= 60 else text[:57] + "..."
        try:
            parsed[name] = yaml.safe_load(text) if text.strip() else text
            canonical_json(parsed[name])        # what its key and the manifest hold of it
        except yaml.YAMLError as error:
            problem = " ".join(str(error).split())      # one line, as every error is
            errors.add(BuildError(None, f"--param {name}: cannot parse '{shown}' ({problem})"))
        except (ValueError, TypeError, RecursionError, OverflowError) as error:
            # `&a [*a]` (a list holding itself), `[[[...` nested 100,000 deep, an int of 5,000 digits
            why = "nested too deep" if isinstance(error, RecursionError) else str(error).split(";")[0]
            errors.add(BuildError(None, f"--param {name}: '{shown}' is not a value runpost can store ({why})"))
    errors.raise_if_any()
    return parsed


def effective_params(post: Post, overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(front matter params with overrides applied, the overrides that change something)."""
    applied = {name: value for name, value in overrides.items()
               if name in post.meta.params and canonical_json(value) != canonical_json(post.meta.params[name])}
    return {**post.meta.params, **applied}, applied


def plan_post(post: Post, config: Config, overrides: dict[str, Any]) -> Plan:
    params, applied = effective_params(post, overrides)
    fingerprints = fingerprint_post(post, params)
    chain = chain_keys(base_key(fingerprints), post.cells)
    folder = store.result_folder(config.build_dir, post.name, applied)
    plan = Plan(post, params, applied, fingerprints, chain, folder, store.read_manifest(folder))
    # Only results that would be used are hashed: stale ones run again anyway.
    return replace(plan, problems=store.verify_stored(folder, plan.manifest)) if plan.matches else plan


def check_frozen(plan: Plan) -> None:
    """Raise unless build/ holds verified results for the post as it is now."""
    if plan.fresh:
        return
    if plan.matches:
        raise BuildErrors([BuildError(Location(path), f"post '{plan.post.name}': {problem}; --frozen never "
                                                      f"runs code: build without it and commit {stored_at(plan)}")
                           for path, problem in plan.problems])
    check_stale(plan)


def warn_unverified(plan: Plan, reporter: Reporter) -> None:
    """A stored result changed by hand is never published: say which, then the post runs again."""
    for path, problem in plan.problems:
        reporter.warning(f"post '{plan.post.name}': {problem}; not used: the post runs again", Location(path))


def stored_at(plan: Plan) -> str:
    return f"build/{plan.folder.relative_to(plan.folder.parent.parent) if plan.overrides else plan.folder.name}"


def check_stale(plan: Plan) -> None:
    reasons = staleness(plan.manifest, plan.fingerprints, plan.post.cells, plan.keys, plan.folder)
    stored = plan.manifest.get("cells", []) if plan.manifest else []
    first = first_stale_cell(stored, plan.keys, plan.post.cells)
    # Point at the changed block when that is the cause; else at the post.
    changed_block = reasons[0].startswith("block") and first < len(plan.post.cells)
    location = plan.post.cells[first].location if changed_block else Location(plan.post.path, 1)
    # A scheduled post's code runs only once the post is published: its first deploy after its date
    # finds nothing stored unless a build with --future ran it beforehand.
    scheduled = " (a post dated in the future is left out, code and all, until its date: `build --future` " \
                "runs its code beforehand)" if reasons == ["no stored results"] else ""
    if plan.overrides:     # a --param preview: stored under build/.preview, never committed
        raise BuildError(location, f"post '{plan.post.name}' has no preview for these parameters "
                                   f"({'; '.join(reasons)}); --frozen never runs code: build without --frozen to run it")
    raise BuildError(location, f"post '{plan.post.name}' is stale ({'; '.join(reasons)}); "
                               f"--frozen never runs code: build without it and commit {stored_at(plan)}{scheduled}")


def staleness(manifest: dict[str, Any] | None, fingerprints: Fingerprints,
              cells: tuple[Cell, ...], keys: list[str], folder: Path) -> list[str]:
    """Why the stored results do not match the post now; [] if they do."""
    if manifest is None:
        if (folder / store.MANIFEST).exists():
            return [f"its stored {store.MANIFEST} cannot be read as runpost wrote it (not JSON, or a field "
                    "of the wrong type)"]
        return ["no stored results"]
    if manifest.get("format") != FORMAT_VERSION:
        return [f"results stored by another runpost format ({manifest.get('format')} -> {FORMAT_VERSION})"]
    stored = manifest.get("fingerprints", {})
    reasons = _changed_files("helper file", stored.get("helpers", {}), fingerprints.helpers)
    reasons += _changed_files("input", stored.get("inputs", {}), fingerprints.inputs)
    reasons += _changed_params(stored.get("params", {}), fingerprints.params)
    if not reasons:
        reasons = _changed_cells(manifest.get("cells", []), cells, keys)
    if not reasons and manifest.get("key") != (keys[-1] if keys else None):
        reasons = ["the results' key does not match (build/ was edited by hand?)"]
    if not reasons:
        reasons = [f"{problem}: {Location(path)}" for path, problem in store.verify_stored(folder, manifest)]
    return reasons


def _changed_files(kind: str, old: dict[str, str], new: dict[str, str]) -> list[str]:
    reasons = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            reasons.append(f"{kind} {name} added")
        elif name not in new:
            reasons.append(f"{kind} {name} removed")
        elif old[name] != new[name]:
            reasons.append(f"{kind} {name} changed")
    return reasons


def _changed_params(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    reasons = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            reasons.append(f"parameter {name} added ({new[name]!r})")
        elif name not in new:
            reasons.append(f"parameter {name} removed (was {old[name]!r})")
        elif canonical_json(old[name]) != canonical_json(new[name]):
            reasons.append(f"parameter {name} changed ({old[name]!r} -> {new[name]!r})")
    return reasons


def _changed_cells(stored: list[dict[str, Any]], cells: tuple[Cell, ...], keys: list[str]) -> list[str]:
    for position, cell in enumerate(cells):
        if position >= len(stored):
            return [f"block '{cell.id}' (line {cell.location.line}) is new"]
        if stored[position].get("key") != keys[position]:
            return [f"block '{cell.id}' (line {cell.location.line}) code changed"]
        if renamed_with_figures(stored[position], cell):
            return [f"block '{cell.id}' (line {cell.location.line}) was '{stored[position]['id']}' "
                    "(its figures are named by its id)"]
    if len(stored) > len(cells):
        return [f"block '{stored[len(cells)].get('id')}' was removed"]
    return []


def first_stale_cell(stored: list[dict[str, Any]], keys: list[str], cells: tuple[Cell, ...] = ()) -> int:
    """Index of the first block whose key differs from the stored run, or (`cells` given) that drew
    figures under another id, else len(keys)."""
    for position, key in enumerate(keys):
        if position >= len(stored) or stored[position].get("key") != key:
            return position
        if position < len(cells) and renamed_with_figures(stored[position], cells[position]):
            return position
    return len(keys)


def renamed_with_figures(stored: dict[str, Any], cell: Cell) -> bool:
    """A block given another id since its run, which drew figures: they are named by the id
    (`loss-1.png`), so with two ids swapped each block would show the other's. A renamed block that
    drew none keeps its results (its id names nothing stored)."""
    return isinstance(stored.get("id"), str) and stored["id"] != cell.id and bool(stored.get("figures"))

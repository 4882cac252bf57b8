"""--explain (--plan): what a build would run and why, without running anything.

Reads the same plans as a build (plan.py) (chain keys against build/'s manifests)
and prints, per post, each block and memoized call with `fresh` or `stale`
and the reason, and the time each took in the last run.
"""
from __future__ import annotations

from typing import Any

from . import store
from ..config import Config
from ..errors import BuildError, ErrorCollector, Location
from .plan import Plan, first_stale_cell, parse_overrides, plan_post, renamed_with_figures, staleness
from ..post import Cell, Post
from ..report import Reporter


def explain_posts(posts: list[Post], config: Config, reporter: Reporter) -> None:
    """Print, running nothing, what a build would run and why."""
    overrides = parse_overrides(posts, config)
    errors = ErrorCollector()
    for post in posts:
        try:
            print("\n".join(explain_post(post, config, overrides)))
        except BuildError as error:  # a missing input file: the other posts are still explained
            errors.add(error)
    errors.raise_if_any()


def explain_post(post: Post, config: Config, overrides: dict[str, Any]) -> list[str]:
    where = Location(post.path)
    if not post.cells:
        return [f"{post.name} ({where}): no executable blocks"]
    plan = plan_post(post, config, overrides)
    reasons = [] if plan.fresh else staleness(plan.manifest, plan.fingerprints, post.cells, plan.keys, plan.folder)
    if config.mode == "rerun":
        reasons = ["--rerun"]
    status = "fresh: results in build/ are used, nothing runs" if not reasons else \
        "stale: runs all blocks, because " + "; ".join(reasons)
    lines = [f"{post.name} ({where}): {status}"]
    if plan.overrides:
        lines.append(f"  parameters overridden: {plan.overrides} (results go to {Location(plan.folder)})")
    stored = plan.manifest.get("cells", []) if plan.manifest else []
    first = first_stale_cell(stored, plan.keys, post.cells) if reasons else len(post.cells)
    states = cell_states(post.cells, first, stored, reasons, plan.keys)
    for position, (cell, state) in enumerate(zip(post.cells, states)):
        last = f"{stored[position]['seconds']:.1f}s last run" if position < len(stored) else "never run"
        lines.append(f"  block '{cell.id}' line {cell.location.line}: {state}, {last}")
    lines += explain_memo(plan, first)
    return lines


def cell_states(cells: tuple[Cell, ...], first: int, stored: list[dict[str, Any]], reasons: list[str],
                keys: list[str] = ()) -> list[str]:
    """Per block: fresh, or stale and why (its own change, or the change it follows)."""
    if not reasons:
        return ["fresh"] * len(cells)
    if first == 0 and not reasons[0].startswith("block"):
        return [f"stale ({'; '.join(reasons)})"] * len(cells)
    states = []
    for position, cell in enumerate(cells):
        if position < first:
            states.append("fresh")
        elif position == first and position < len(stored) and stored[position].get("key") == keys[position] \
                and renamed_with_figures(stored[position], cell):
            states.append(f"stale (was '{stored[position]['id']}': its figures are named by its id)")
        elif position == first:
            states.append("stale (its code changed)" if position < len(stored) else "stale (new block)")
        else:
            states.append(f"stale (follows changed block '{cells[first].id}')")
    return states


def explain_memo(plan: Plan, first: int) -> list[str]:
    """Memoized calls of the last run: fresh ones are reused even when the post re-runs."""
    lines = []
    for entry in (plan.manifest or {}).get("memo", []):
        present = store.memo_record(plan.folder, entry["key"]).is_file()
        if entry.get("cell", 0) < first and present:
            state = "fresh (reused)"
        elif not present:
            state = "stale (memo file missing)"
        else:
            state = "stale (its block or an earlier one changed)"
        lines.append(f"  memo {' '.join(str(entry['call']).split())}: {state}, {entry['seconds']:.1f}s last run")
    return lines

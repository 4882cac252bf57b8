"""Figures a block leaves open: saved beside the page and closed, as a notebook shows them."""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any


def capture_figures(cell_id: str, work_dir: Path) -> list[dict[str, str]]:
    """Save, then close, every matplotlib figure the block left open, as a notebook shows them.

    Only if the post imported pyplot: importing matplotlib here would slow every
    post down. Saved and closed figures are gone from pyplot, so a figure the
    code saved itself is never captured twice. No Software metadata: reruns
    give identical PNG bytes.
    """
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    stem = figure_stem(cell_id)
    figures = []
    for number, figure in enumerate([pyplot.figure(n) for n in pyplot.get_fignums()], 1):
        name = f"{stem}-{number}.png"
        if (work_dir / name).exists():    # the code saved a file of that name itself: never replace it
            raise FileExistsError(f"figure {number} that block '{cell_id}' left open would be saved as {name}, "
                                  "which the code wrote itself: close the figure (plt.close) or save the file "
                                  "under another name")
        try:
            figure.savefig(work_dir / name, dpi=150, bbox_inches="tight", metadata={"Software": None})
        except Exception as error:   # drawing happens here, not in the block: say so in the traceback
            error.add_note(f"raised while saving figure {number} that block '{cell_id}' left open")
            raise
        pyplot.close(figure)
        figures.append({"path": name, "alt": figure_alt(figure, number, cell_id)})
    return figures


def figure_stem(cell_id: str) -> str:
    """The start of the file names of a block's captured figures (`<stem>-1.png`): the id as a
    file name and a URL can hold it."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", cell_id)


def figure_alt(figure: Any, number: int, cell_id: str) -> str:
    """The figure's suptitle, else its first axes' title, else a generic label."""
    titles = [figure.get_suptitle()] if hasattr(figure, "get_suptitle") else []   # matplotlib >= 3.8
    if figure.axes:
        titles += [figure.axes[0].get_title(loc=where) for where in ("center", "left", "right")]
    return next((title.strip() for title in titles if title and title.strip()), f"Figure {number} of block {cell_id}")


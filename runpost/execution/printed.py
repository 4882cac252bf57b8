"""What a block (or a memo call) printed, as runpost keeps it: at most OUTPUT_LIMIT characters.

The page, its notebook, its feed entry and build/'s results all carry a block's output (a block
printing 100 MB made a 700 MB site); a memo record in build/ keeps its call's the same way, with
the count of what it left out, so that a block reusing the call ends its output as a fresh run's
does. Used by the kernel (kernel.py) and the memo store (memo_store.py).
"""
from __future__ import annotations

OUTPUT_LIMIT = 1_000_000


def kept_output(text: str, left_out: int = 0) -> str:
    """`text` (plus `left_out` characters that reused memo calls printed and their records did not
    keep), cut to OUTPUT_LIMIT with a note of how many more were printed."""
    if len(text) <= OUTPUT_LIMIT and not left_out:
        return text
    return text[:OUTPUT_LIMIT] + f"\n[runpost kept the first {OUTPUT_LIMIT:,} characters of this output; " \
                                 f"{len(text) + left_out - OUTPUT_LIMIT:,} more were printed]\n"

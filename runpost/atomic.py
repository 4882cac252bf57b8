"""Files replaced whole: a reader (another build, serve's browser tab) never sees half of one.

Used by the caches in build/.cache (render cache shards, the last build's manifest, WebP
copies) and by serve's writer. The stored results in build/ keep their own temporary names
(execution/store.py), which the next build recognises and cleans up.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    The temporary is named `<name>.<random>.tmp`; if anything fails (a full disk, Ctrl-C) it
    is removed and the old file, if any, stays as it was. `mode`: the new file's permission
    bits (else 0600, as mkstemp makes it).
    """
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def running(pid: int) -> bool:
    """Whether a process with this id runs (another build may still be writing its temporaries)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True              # another user's process, or a number we cannot ask about: leave it
    return True

"""Files replaced whole: a reader (another build, serve's browser tab) never sees half of one.

Used by the caches in build/.cache (render cache shards, the last build's manifest, WebP
copies) and by serve's writer. The stored results in build/ keep their own temporary names
(execution/store.py), which the next build recognises and cleans up; a folder swapped in whole
(the site, a post's results) trades places with the old one in one step where the system can (`exchange`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
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


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically (Linux renameat2 RENAME_EXCHANGE): at every moment each
    name holds one of the two. False where the system cannot (the caller then renames twice)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = _libc().renameat2
    except (AttributeError, OSError):
        return False             # a C library without it (glibc before 2.28, musl)
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    done = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    return done == 0             # EINVAL (a file system without it), ENOSYS...: the two renames


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)

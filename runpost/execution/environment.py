"""Where a run ran: versions and device, read from what the post imported."""
from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any


def environment(seconds: float, memo_devices: list[tuple[str, str]], not_the_post: set[str] = frozenset()) -> dict[str, Any]:
    """Versions and device, read from what the post imported (never importing torch here).

    `not_the_post`: modules runpost itself imported (the Dask client imports numpy), so a
    cluster run records the same versions as a local one.
    """
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "seconds": round(seconds, 3)}
    for name in ("torch", "torchvision", "numpy"):
        module = sys.modules.get(name)
        if module is not None and name not in not_the_post and hasattr(module, "__version__"):
            info[name] = str(module.__version__)
    # CUDA counts if the kernel or any memoized call (often a forked child) used it.
    used = [device()] + memo_devices
    info["device"], info["device_name"] = next((found for found in used if found[0] == "cuda"), used[0])
    return info


def device() -> tuple[str, str]:
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            return "cuda", torch.cuda.get_device_name(0)
    except Exception:  # a broken CUDA setup must not fail a finished run
        pass
    return "cpu", cpu_name()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


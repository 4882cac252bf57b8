"""Where a run ran: versions and device, read from what the post imported."""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

# The libraries environment() records (what the post imported of them).
RECORDED = ("torch", "torchvision", "numpy")


def environment(seconds: float, memo_devices: list[tuple[str, str]], not_the_post: set[str] = frozenset()) -> dict[str, Any]:
    """Versions and device, read from what the post imported (never importing torch here).

    `not_the_post`: modules runpost itself imported (the Dask client imports numpy), so a
    cluster run records the same versions as a local one.
    """
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "seconds": round(seconds, 3)}
    for name in RECORDED:
        module = sys.modules.get(name)
        if module is not None and name not in not_the_post and hasattr(module, "__version__"):
            info[name] = str(module.__version__)
    info["libraries"] = imported_distributions(not_the_post)
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


# Import names whose distribution is named otherwise (the rest are looked up by their own name).
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "PIL": "pillow", "yaml": "PyYAML", "cv2": "opencv-python",
                  "skimage": "scikit-image", "bs4": "beautifulsoup4", "attr": "attrs", "dateutil": "python-dateutil",
                  "google": "protobuf", "jwt": "PyJWT", "Crypto": "pycryptodome", "serial": "pyserial"}


def imported_distributions(not_the_post: set[str] = frozenset()) -> dict[str, str]:
    """The installed distributions whose modules the post imported (its own or through another
    library), by version: a new release of any of them may change the post's numbers. Found by
    the import name (numpy, torch, simlib; sklearn as scikit-learn, ...), not by scanning every
    installed package (0.25 s a run)."""
    from importlib import metadata

    found = {}
    names = {module.split(".")[0] for module in list(sys.modules)} - set(not_the_post) - set(sys.stdlib_module_names)
    for name in sorted(names - {"runpost", "__main__"}):
        if name.startswith("_"):
            continue
        distribution = _DISTRIBUTIONS.get(name, name)
        try:
            found[distribution] = metadata.version(distribution)
        except (metadata.PackageNotFoundError, ValueError):
            pass
    return found


def installed_versions(libraries: Any = ()) -> dict[str, str]:
    """Python's version and those of the recorded libraries and `libraries` (distribution names)
    as installed here (read from their metadata: nothing is imported)."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in (*RECORDED, *libraries):
        try:
            versions[name] = metadata.version(name)
        except (metadata.PackageNotFoundError, ValueError):
            pass
    return versions


def version_changes(recorded: dict[str, Any], here: dict[str, str]) -> list[str]:
    """"numpy 2.3.0 -> 2.4.6" for each library (and Python's minor version) that the run recorded and
    this machine has in another version; a local build tag (2.14.1+cu130 beside 2.14.1+cpu) is
    the same release."""
    public = lambda version: str(version).split("+")[0]
    libraries = recorded.get("libraries") if isinstance(recorded.get("libraries"), dict) else {}
    changes = []
    for name in dict.fromkeys(("python", *RECORDED, *sorted(libraries))):
        before, now = recorded.get(name) or libraries.get(name), here.get(name)
        if name == "python" and before and now:
            before, now = ".".join(str(before).split(".")[:2]), ".".join(now.split(".")[:2])
        if before and now and public(before) != public(now):
            changes.append(f"{'Python' if name == 'python' else name} {public(before)} -> {public(now)}")
    return changes


def stamp_text() -> str:
    """What a folder of memo results computed here notes about where: Python and every installed
    distribution's version (any install or upgrade since makes them another machine's)."""
    from importlib import metadata

    installed = sorted({f"{distribution.metadata['Name']}=={distribution.version}"
                        for distribution in metadata.distributions()})
    return json.dumps({"python": platform.python_version(), "installed": installed})

"""Fashion-MNIST from local files: find, verify, read.

    load_fashion_mnist(data_dir) -> FashionMNIST(train_images, train_labels, test_images, test_labels, ...)

Looks in this order, never inventing data:

  1. `data_dir` (the post's `data_dir` parameter), else $FASHION_MNIST_DIR
  2. /usr/share/datasets/fashion-mnist/   (Debian/Ubuntu: apt-get install dataset-fashion-mnist)
  3. torchvision's FashionMNIST(download=True) into ~/.cache/runpost/ (needs the web)

A folder may hold the four .gz files itself or in torchvision's
FashionMNIST/raw/ layout. Images come back as uint8 tensors (N, 28, 28),
labels as int64 tensors (N,), straight from the IDX files.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# The published MD5 sums of the four files (zalandoresearch/fashion-mnist
# README; identical to torchvision's FashionMNIST.resources).
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

# MD5 of the same files decompressed. Debian's package rewrites each gzip
# header (dh_strip_nondeterminism drops the file name and resets the time),
# so its .gz sums differ from the published ones although the data is the
# same. These sums were taken from the Debian files after checking that
# putting the original headers back (name, mtime 2017-08-31 10:50:06/27 UTC)
# reproduces the published sums; tests/test_article.py re-checks that.
CONTENT_MD5 = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
HOW_TO_GET = ("install it with `apt-get install dataset-fashion-mnist`, or download the four .gz "
              "files from https://github.com/zalandoresearch/fashion-mnist and set "
              "FASHION_MNIST_DIR (or the post's data_dir parameter) to their folder")


class DataError(RuntimeError):
    """Fashion-MNIST is missing or does not match its published checksums."""


@dataclass(frozen=True)
class FashionMNIST:
    train_images: "torch.Tensor"   # (60000, 28, 28) uint8, 0..255
    train_labels: "torch.Tensor"   # (60000,) int64, 0..9
    test_images: "torch.Tensor"    # (10000, 28, 28) uint8
    test_labels: "torch.Tensor"    # (10000,) int64
    folder: str                    # where the files were found
    check: str                     # how they were verified, for the provenance note


def load_fashion_mnist(data_dir: str | os.PathLike | None = None) -> FashionMNIST:
    import torch

    folder, looked = find_data(data_dir)
    if folder is None:
        folder = download_with_torchvision(looked)
    raw, check = read_verified(folder)
    # torch.from_numpy shares memory and runs no kernels: safe before forking workers.
    tensor = lambda name, dtype: torch.from_numpy(raw[name].astype(dtype, copy=False))
    return FashionMNIST(
        train_images=tensor("train-images-idx3-ubyte.gz", np.uint8),
        train_labels=tensor("train-labels-idx1-ubyte.gz", np.int64),
        test_images=tensor("t10k-images-idx3-ubyte.gz", np.uint8),
        test_labels=tensor("t10k-labels-idx1-ubyte.gz", np.int64),
        folder=str(folder),
        check=check,
    )


def find_data(data_dir: str | os.PathLike | None) -> tuple[Path | None, list[Path]]:
    """The first candidate folder holding all four files, and every folder tried."""
    chosen = data_dir or os.environ.get("FASHION_MNIST_DIR")
    candidates = [Path(chosen).expanduser()] if chosen else []
    candidates += [SYSTEM_DIR, cache_dir()]
    looked = []
    for base in candidates:
        for folder in (base, base / "FashionMNIST" / "raw"):
            looked.append(folder)
            if all((folder / name).is_file() for name in PUBLISHED_MD5):
                return folder, looked
        if chosen and base == candidates[0]:
            # An explicit folder that lacks the files is a mistake, not a reason to look elsewhere.
            raise DataError(f"Fashion-MNIST: {base} (from {'data_dir' if data_dir else 'FASHION_MNIST_DIR'}) "
                            f"does not hold {', '.join(PUBLISHED_MD5)}; {HOW_TO_GET}")
    return None, looked


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "runpost" / "fashion-mnist"


def download_with_torchvision(looked: list[Path]) -> Path:
    """Let torchvision fetch the files (it checks the same MD5 sums) into the cache folder."""
    tried = ", ".join(str(path) for path in looked)
    try:
        from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

        TorchvisionFashionMNIST(root=str(cache_dir()), train=True, download=True)
        TorchvisionFashionMNIST(root=str(cache_dir()), train=False, download=True)
    except Exception as error:  # no torchvision, no network, a mirror down...
        raise DataError(f"Fashion-MNIST not found (looked in {tried}) and the download failed "
                        f"({type(error).__name__}: {error}); {HOW_TO_GET}") from None
    return cache_dir() / "FashionMNIST" / "raw"


def read_verified(folder: Path) -> tuple[dict[str, np.ndarray], str]:
    """Decompress, checksum and parse the four files; DataError on any mismatch."""
    arrays, checks = {}, set()
    for name, published in PUBLISHED_MD5.items():
        packed = (folder / name).read_bytes()
        try:
            data = gzip.decompress(packed)
        except (OSError, EOFError) as error:
            raise DataError(f"Fashion-MNIST: {folder / name} is not a valid gzip file ({error}); {HOW_TO_GET}") from None
        if hashlib.md5(packed).hexdigest() == published:
            checks.add("files match the published MD5 sums")
        elif hashlib.md5(data).hexdigest() == CONTENT_MD5[name]:
            checks.add("contents match the published files (gzip headers rewritten by the packager)")
        else:
            raise DataError(f"Fashion-MNIST: {folder / name} has MD5 {hashlib.md5(packed).hexdigest()}, "
                            f"expected {published} (corrupt or a different data set); {HOW_TO_GET}")
        arrays[name] = parse_idx(data)
    return arrays, "; ".join(sorted(checks))


def parse_idx(data: bytes) -> np.ndarray:
    """An IDX file (big-endian header: 0, 0, dtype 0x08 = uint8, ndim; then the sizes) as an array."""
    if data[:3] != b"\x00\x00\x08":
        raise DataError("Fashion-MNIST: not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()

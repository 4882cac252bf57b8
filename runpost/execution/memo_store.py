"""@runpost.memo entries on disk: stored the moment a call returns, loaded only once verified.

An entry is a JSON record, `<key>.json`, written last and atomically, so an
entry exists exactly when its record does:

    {"key", "format", "stdout", "seconds", "device", "host", "result"}        format "json": the result inline
    {"key", "format", "stdout", "seconds", "device", "host", "data", "sha256"}  format "torch" or "pickle":
                                                                                the result in <key>.pt / <key>.pkl

"host" (where the call ran: the kernel's machine or a Dask worker) is absent
from records written before executors existed.

The result is stored in the first format that can hold it exactly:

    json    JSON data (exact types: dict with str keys, list, str, int, float, bool, None)
    torch   torch.save, kept only if torch.load(weights_only=True) reads it back: tensors,
            dicts/lists/tuples of them, state_dicts. Loading it runs no code.
    pickle  anything else (a last resort): unpickled only after its sha256 matched.

The builder passes the sha256 of every file of the entries its manifest lists
(`trusted`), so an entry edited after its run is never deserialised: it is
reported as a warning naming the file, and the call is computed again. An
entry written by a run that never finished (Ctrl-C, a crash) is covered by its
record's sha256 of the data file.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any, Callable

SUFFIXES = {"torch": ".pt", "pickle": ".pkl"}


class MemoProblem(Exception):
    """Why a stored entry is not used; its `path` is the file to name."""

    def __init__(self, path: Path, message: str):
        super().__init__(message)
        self.path = path


class MemoStore:
    """One post's memo entries in a folder (build/<post>/memo)."""

    def __init__(self, folder: Path, trusted: dict[str, dict[str, str]], read: bool,
                 warn: Callable[[Path, str], None]):
        self.folder = folder
        self.trusted = trusted       # key -> {file name: sha256}, from the stored manifest
        self.read = read             # False with --rerun: every call is computed again
        self.warn = warn
        self.computed: set[str] = set()

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored entry {"result", "stdout", "seconds", "device", "host"}, or None (a warning if unusable)."""
        if not self.read:
            return None
        try:
            return self._load(key)
        except FileNotFoundError:
            return None
        except MemoProblem as problem:
            self.warn(problem.path, f"memo result not used: {problem}; computing it again")
            return None

    def load_written(self, key: str) -> dict[str, Any] | None:
        """An entry this run has just written (a forked child's, a Dask worker's), or None.

        Read even with --rerun, and checked against its own record only: the stored
        manifest's hash, if any, is of the entry this one replaced.
        """
        self.trusted.pop(key, None)
        try:
            return self._load(key)
        except FileNotFoundError:
            return None
        except MemoProblem as problem:
            self.warn(problem.path, f"memo result not used: {problem}")
            return None

    def store(self, key: str, entry: dict[str, Any]) -> None:
        """Write the entry atomically, data first and record last: it survives a Ctrl-C right after."""
        self.folder.mkdir(parents=True, exist_ok=True)
        form, data = encode(entry["result"])
        record = {"key": key, "format": form, "stdout": entry["stdout"], "seconds": entry["seconds"],
                  "device": list(entry["device"]), "host": entry.get("host", "")}
        if entry.get("published"):          # values the call published (runpost.publish), replayed on reuse
            record["published"] = entry["published"]
        if data is None:
            record["result"] = entry["result"]
        else:
            name = f"{key}{SUFFIXES[form]}"
            write_atomically(self.folder / name, data)
            record.update(data=name, sha256=sha256(data))
        # Sealed with its own hash: a record no manifest lists (a failed run's, or any when the
        # manifest cannot be read) is still checked. Not sort_keys: a dict result (or published
        # value) reads back in the order the code made it.
        record["seal"] = sha256(json.dumps(record).encode("utf-8"))
        write_atomically(self.folder / f"{key}.json", json.dumps(record).encode("utf-8"))
        self.computed.add(key)

    def _load(self, key: str) -> dict[str, Any]:
        path = self.folder / f"{key}.json"
        record = parse_record(path, self._verified_bytes(key, path, None), key)
        if record["format"] == "json":
            result = record["result"]
        else:
            data_path = self.folder / f"{key}{SUFFIXES[record['format']]}"
            if record.get("data") != data_path.name:
                raise MemoProblem(path, f"its data file must be {data_path.name}")
            result = decode(data_path, record["format"], self._verified_bytes(key, data_path, record["sha256"]))
        published = record.get("published", {})
        if not isinstance(published, dict):
            raise MemoProblem(path, "is not a memo record of this format")
        return {"result": result, "stdout": record["stdout"], "seconds": record["seconds"],
                "device": record["device"], "host": record.get("host", ""), "published": published}

    def _verified_bytes(self, key: str, path: Path, recorded: str | None) -> bytes:
        """The file's bytes, if they hash to what the manifest and the record say (MemoProblem if not)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if recorded is None:
                raise
            raise MemoProblem(path, "its data file is missing") from None
        except OSError as error:
            raise MemoProblem(path, f"cannot be read ({error.strerror})") from None
        digest = sha256(data)
        expected = self.trusted.get(key, {}).get(path.name)
        if expected is not None and digest != expected:
            raise MemoProblem(path, "changed since the run that stored it (sha256 differs from manifest.json)")
        if recorded is not None and digest != recorded:
            raise MemoProblem(path, f"changed since the run that stored it (sha256 differs from {key}.json)")
        return data


def parse_record(path: Path, data: bytes, key: str) -> dict[str, Any]:
    try:
        record = json.loads(data)
    except ValueError as error:
        raise MemoProblem(path, f"is not a memo record ({error})") from None
    if not isinstance(record, dict) or record.get("key") != key or record.get("format") not in ("json", *SUFFIXES):
        raise MemoProblem(path, "is not a memo record of this format")
    required = ("stdout", "seconds", "device") + (("result",) if record["format"] == "json" else ("sha256",))
    if any(name not in record for name in required):
        raise MemoProblem(path, "is not a memo record of this format")
    if "seal" in record:          # records written before seals existed have none
        unsealed = {name: value for name, value in record.items() if name != "seal"}
        if sha256(json.dumps(unsealed).encode("utf-8")) != record["seal"]:
            raise MemoProblem(path, "changed since the run that stored it (it no longer matches its own seal)")
    return record


def encode(result: Any) -> tuple[str, bytes | None]:
    """(format, data file bytes or None for an inline JSON result): the safest format that fits."""
    if is_json_data(result):
        return "json", None
    # Never import torch here: a result holding tensors means the post imported it.
    torch = sys.modules.get("torch")
    data = torch_bytes(torch, result) if torch is not None else None
    if data is not None:
        return "torch", data
    try:
        return "pickle", pickle.dumps(result, protocol=4)
    except Exception as error:
        raise TypeError(f"memo: cannot store the result ({type(error).__name__}: {error}); "
                        "return JSON data, tensors or picklable objects") from None


def is_json_data(value: Any) -> bool:
    """JSON that reads back as the same types (a tuple would come back a list, a str subclass a str)."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(is_json_data(item) for item in value)
    if type(value) is dict:
        return all(type(name) is str and is_json_data(item) for name, item in value.items())
    return False


def torch_bytes(torch: Any, result: Any) -> bytes | None:
    """torch.save bytes, if torch.load(weights_only=True) reads them back; else None."""
    buffer = io.BytesIO()
    try:
        torch.save(result, buffer)
        data = buffer.getvalue()
        torch.load(io.BytesIO(data), weights_only=True)
    except Exception:  # objects the safe loader refuses (classes, modules): pickle them instead
        return None
    return data


def decode(path: Path, form: str, data: bytes) -> Any:
    try:
        if form == "torch":
            import torch

            return torch.load(io.BytesIO(data), weights_only=True)
        return pickle.loads(data)
    except Exception as error:  # a class renamed since, a missing module: recompute, saying why
        raise MemoProblem(path, f"cannot be loaded ({type(error).__name__}: {error})") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    # The temp name carries store.TEMP_MARKER, so a write cut short is cleaned by the next build.
    temp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(temp, "wb") as file:
        file.write(data)
    os.replace(temp, path)

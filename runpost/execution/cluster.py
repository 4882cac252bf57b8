"""Memoized calls on a Dask distributed cluster: `executor = "dask://host:port"`.

The Dask client lives in the kernel, where memo calls happen; the builder only
passes the executor in the job. The kernel stores what comes back exactly as it
stores a local result (memo_store.py), so build/ does not depend on where a
call ran, except for the host and device each manifest entry records.

What reaches the workers:
- the function and its arguments, pickled by Dask (cloudpickle: functions and
  classes the post's blocks define travel by value, with what they reference);
- the bundle's helper modules, with `client.upload_file` (pickles name them by
  module, so workers must import them);
- declared `inputs:` are read from the same absolute path (a shared file
  system): a worker that sees one with other contents than the builder hashed
  fails the call rather than compute from different data.

Workers need the same Python packages as the kernel, runpost included (Dask
itself requires matching environments).
"""
from __future__ import annotations

import io
import socket
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kernel import KernelSession
    from .memo import Memoized

SCHEME = "dask://"
TOPIC = "runpost-call"       # workers log "call started" events here; the kernel subscribes
CONNECT_SECONDS = 20


def executor_problem(spec: str, check_installed: bool) -> str | None:
    """Why `spec` cannot be used (None if it can): the compiler-style message, no traceback."""
    if spec == "local":
        return None
    if not spec.startswith(SCHEME):
        return f"unknown executor '{spec}' (use local or dask://HOST:PORT)"
    host, _, port = spec[len(SCHEME):].rpartition(":")
    if not host or not port.isdigit():
        return f"executor '{spec}' needs a scheduler address, as in dask://127.0.0.1:8786"
    if check_installed and not _installed("distributed"):
        return f"executor '{spec}' needs Dask's distributed package: pip install 'runpost[cluster]'"
    return None


def _installed(name: str) -> bool:
    """Whether `import name` can find the package, without importing it (distributed takes 0.4 s)."""
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class DaskExecutor:
    """One post's connection to the scheduler, opened on the first call that needs it."""

    def __init__(self, spec: str, job: dict[str, Any], session: "KernelSession"):
        self.address = "tcp://" + spec[len(SCHEME):]
        self.job = job
        self.session = session
        self._client = None
        self.imported: set[str] = set()     # modules the client imported, not the post (environment.py)
        self.waiting: dict[str, str] = {}   # Dask key -> call text, for "started" lines

    @property
    def client(self) -> Any:
        if self._client is None:
            before = set(sys.modules)
            self._client = connect(self.address)
            self.imported = set(sys.modules) - before
            upload_helpers(self._client, Path(self.job["code_folder"]))
            self._client.subscribe_topic(TOPIC, self._started)
        return self._client

    def compute(self, memoized: "Memoized", work: list[tuple[str, tuple, dict]]) -> dict[str, dict[str, Any]]:
        """Run the calls on the cluster; store each entry the moment it comes back.

        After a failure, calls not yet started are cancelled and running ones
        finish (their results are kept); then the first failure is raised.
        """
        client = self.client  # first: the modules its import pulls in are told apart from the post's
        from distributed import as_completed

        check_resources(client, memoized.resources, self.address)
        futures = {}
        for key, args, kwargs in work:
            call = describe(memoized, args, kwargs)
            dask_key = f"{memoized.__qualname__}-{key[:16]}"
            self.waiting[dask_key] = call
            context = {"key": dask_key, "call": call, "post_dir": self.job["code_folder"],
                       "params": self.job["params"], "inputs": self.job["inputs"]}
            future = client.submit(compute_on_worker, memoized.function, args, kwargs, context, key=dask_key,
                                   pure=False, resources=memoized.resources or None, retries=memoized.retries)
            futures[future] = (key, call)
        entries, failure = {}, None
        for future in as_completed(list(futures), loop=client.loop):
            key, call = futures[future]
            if future.status == "cancelled":
                continue
            try:
                entry = future.result()
            except BaseException as error:
                self.session.events.send("call", state="failed", call=call, where=self.address)
                failure = failure or explain_failure(error, call)
                client.cancel([other for other in futures if other.key in self.waiting])
                continue
            if self.waiting.pop(future.key, None) is not None:  # its "started" event is still on the way
                self.session.events.send("call", state="started", call=call, where=entry["host"])
            self.session.memo.store(key, entry)
            entries[key] = entry
            self.session.events.send("call", state="finished", call=call, where=entry["host"],
                                     device=entry["device"], seconds=round(entry["seconds"], 3))
        if failure is not None:
            raise failure
        return entries

    def _started(self, event: Any) -> None:
        # Runs on the client's event-loop thread; EventPipe.send is locked.
        _, message = event
        call = self.waiting.pop(message.get("key"), None)
        if call is not None:
            self.session.events.send("call", state="started", call=call, where=message.get("worker", ""))


def connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except OSError as error:
        raise RuntimeError(f"cannot reach the Dask scheduler at {address} ({error})") from None


def upload_helpers(client: Any, folder: Path) -> None:
    """Ship the bundle's modules: .py files as they are, packages (folders with __init__.py) zipped."""
    for path in sorted(folder.glob("*.py")):
        client.upload_file(str(path))
    packages = [path for path in sorted(folder.iterdir()) if (path / "__init__.py").is_file()]
    if packages:
        with tempfile.TemporaryDirectory(prefix="runpost-upload-") as temp:
            archive = Path(temp) / f"runpost-helpers-{folder.name}.zip"
            with zipfile.ZipFile(archive, "w") as zipped:
                for package in packages:
                    for path in sorted(package.rglob("*.py")):
                        zipped.write(path, path.relative_to(folder).as_posix())
            client.upload_file(str(archive))


def check_resources(client: Any, resources: dict[str, float] | None, address: str) -> None:
    # A task asking for a resource no worker has would wait forever (until the block's timeout).
    if not resources:
        return
    workers = client.scheduler_info().get("workers", {}).values()
    if not any(all(worker.get("resources", {}).get(name, 0) >= amount for name, amount in resources.items())
               for worker in workers):
        wanted = ",".join(f"{name}={amount:g}" for name, amount in resources.items())
        raise RuntimeError(f"no worker of {address} offers resources {wanted} "
                           f"(start workers with `dask worker ... --resources {wanted}`)")


def explain_failure(error: BaseException, call: str) -> BaseException:
    """The remote exception as it is (its traceback holds the post's lines), or why Dask gave up."""
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return RuntimeError(f"the workers computing {call} died each time it ran; Dask gave up after "
                            "distributed.scheduler.allowed-failures retries")
    error.add_note(f"raised on a Dask worker computing {call}")
    return error


def describe(memoized: "Memoized", args: tuple, kwargs: dict) -> str:
    import runpost

    return runpost.describe_call(memoized.function, args, kwargs)


# --- on the worker ------------------------------------------------------------

def compute_on_worker(function: Any, args: tuple, kwargs: dict, context: dict[str, Any]) -> dict[str, Any]:
    """What a local call records: result, what it printed, seconds, device; plus the host."""
    from distributed import get_worker

    from .environment import device

    worker = get_worker()
    worker.log_event(TOPIC, {"key": context["key"], "worker": worker.address})
    prepare_worker(context)
    buffer = io.StringIO()
    published: dict[str, Any] = {}
    with ThreadStdout.capture(buffer), WorkerPublishes.capture(published):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        seconds = time.perf_counter() - start
    return {"result": result, "stdout": buffer.getvalue(), "seconds": seconds, "device": device(),
            "host": socket.gethostname(), "published": published}


_verified: set[tuple[str, str]] = set()


def prepare_worker(context: dict[str, Any]) -> None:
    """runpost.post_dir and params as in the kernel; declared inputs checked against the builder's hashes."""
    import runpost

    from .keys import _hash_folder, hash_file

    folder = Path(context["post_dir"])
    runpost.post_dir = folder
    runpost.params.clear()
    runpost.params.update(context["params"])
    for declared, expected in context["inputs"].items():
        path = folder / declared
        if (str(path), expected) in _verified or not path.exists():
            continue  # absent: the call fails itself if it reads it, naming the path
        digest = hash_file(path) if path.is_file() else _hash_folder(path)
        if digest != expected:
            raise RuntimeError(f"input '{declared}' at {path} on {socket.gethostname()} differs from the "
                               "builder's copy: workers read declared inputs from a shared path")
        _verified.add((str(path), expected))


class ThreadStdout:
    """sys.stdout that sends a thread's writes to its own buffer: a worker may run calls in several threads."""

    local = threading.local()
    lock = threading.Lock()

    def __init__(self, outer: Any):
        self.outer = outer

    def write(self, text: str) -> int:
        buffer = getattr(self.local, "buffer", None)
        return (buffer or self.outer).write(text)

    def flush(self) -> None:
        self.outer.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.outer, name)

    @classmethod
    def capture(cls, buffer: io.StringIO) -> "_Capture":
        with cls.lock:
            if not isinstance(sys.stdout, cls):
                sys.stdout = cls(sys.stdout)
        return _Capture(cls.local, buffer)


class WorkerPublishes:
    """runpost's session on a worker, noting what each call publishes (runpost.publish) in its
    thread's log: the kernel replays it as it does a local call's (memo.published_by). A worker
    has no kernel session; its own (in memory) would keep the values where no page reads them."""

    local = threading.local()
    lock = threading.Lock()

    def __init__(self, inner: Any):
        self.inner = inner

    def publish(self, name: str, value: Any) -> None:
        log = getattr(self.local, "log", None)
        if log is not None:
            log[name] = value
        self.inner.publish(name, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @classmethod
    def capture(cls, log: dict[str, Any]) -> "_Capture":
        import runpost

        with cls.lock:
            if not isinstance(runpost._session, cls):
                runpost._session = cls(runpost._session)
        return _Capture(cls.local, log, "log")


class _Capture:
    """Sets `local.<name>` (a thread's buffer or log) for the length of a call."""

    def __init__(self, local: threading.local, target: Any, name: str = "buffer"):
        self.local, self.target, self.name = local, target, name

    def __enter__(self) -> None:
        setattr(self.local, self.name, self.target)

    def __exit__(self, *_exc: Any) -> None:
        setattr(self.local, self.name, None)

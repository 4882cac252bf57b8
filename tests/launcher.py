"""`python build.py ARGS` as a fresh process, without paying Python's start-up and imports each time.

    result, cpu_seconds = launch(["--frozen"], cwd=project, env=environment)

Most tests run the command line as a user would: a new process, its exit status, its
stdout and stderr. Started with `subprocess`, each of those processes spends about 0.3 s
of CPU starting Python and importing runpost, Jinja, Python-Markdown, Pygments and YAML,
a third of the default test run's CPU. Here a zygote process (one per pytest worker)
imports all of that once; each launch forks it (Android's and Chromium's zygote, the
forkserver of `multiprocessing`). The child is a process of its own like any other: it
takes the working folder, environment, umask and CPU limit it is given, its stdin is
/dev/null, its stdout and stderr go to files, it runs build.py as `__main__` and exits with
build.py's status; nothing it does reaches the zygote or the test. Its CPU time
(`os.wait4`) counts the build, not the start-up.

The zygote builds the fixture site once before it forks anything (`_warm_up`), so what a
build loads on first use is loaded once. The zygote is single-threaded, so forking it is
safe. A launch falls back to a plain subprocess when the environment changes how Python
starts (PYTHONPATH and the like), and always with RUNPOST_TEST_SUBPROCESS=1 (the whole
suite then runs as before, slower).
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD_PY = REPO / "build.py"
# Environment variables that only matter when Python starts: a launch that sets them differently
# from the zygote's needs a real interpreter.
_STARTUP = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONHASHSEED",
            "PYTHONSTARTUP", "PYTHONWARNINGS", "PYTHONDEVMODE", "PYTHONUTF8", "PYTHONIOENCODING",
            "PYTHONPLATLIBDIR", "PYTHONUSERBASE", "PYTHONINSPECT", "PYTHONOPTIMIZE", "PYTHONEXECUTABLE")


def launch(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300, umask: int | None = None,
           cpu_limit: int | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Run build.py with `args` in `cwd`; (result with text stdout/stderr, CPU seconds it used).

    A launch still running after `timeout` seconds is killed with its process group (the
    result then has a negative return code, as subprocess reports a signal).
    """
    command = [sys.executable, str(BUILD_PY), *args]
    if os.environ.get("RUNPOST_TEST_SUBPROCESS") or _changes_startup(env):
        return _subprocess(command, cwd, env, timeout, umask, cpu_limit)
    with tempfile.TemporaryDirectory(prefix="launch-") as folder:
        out, err = Path(folder) / "out", Path(folder) / "err"
        status, cpu = _zygote().run({"args": [str(BUILD_PY), *args], "cwd": str(cwd), "env": env,
                                     "out": str(out), "err": str(err), "umask": umask, "cpu_limit": cpu_limit},
                                    timeout)
        read = lambda path: path.read_bytes().decode("utf-8", "replace") if path.exists() else ""
        return subprocess.CompletedProcess(command, status, read(out), read(err)), cpu


def _changes_startup(env: dict[str, str]) -> bool:
    if any(env.get(name) != os.environ.get(name) for name in _STARTUP if name != "PYTHONPATH"):
        return True
    # The zygote's path is this repository, then this process's PYTHONPATH: a launch may name any of those.
    return not set(_entries(env.get("PYTHONPATH"))) <= {str(REPO), *_entries(os.environ.get("PYTHONPATH"))}


def _entries(path: str | None) -> list[str]:
    return [entry for entry in (path or "").split(os.pathsep) if entry]


def _subprocess(command, cwd, env, timeout, umask, cpu_limit) -> tuple[subprocess.CompletedProcess, float]:
    def prepare() -> None:
        if umask is not None:
            os.umask(umask)
        if cpu_limit is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   preexec_fn=prepare, start_new_session=True)
        timer = threading.Timer(timeout, lambda: _kill_group(process.pid))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(command, os.waitstatus_to_exitcode(status),
                                             out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))
    return result, usage.ru_utime + usage.ru_stime


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- the zygote ----------------------------------------------------------------------------

class _Zygote:
    def __init__(self):
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        cwd=REPO, env=environment, text=True, bufsize=1)
        self.lock = threading.Lock()
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the test launcher's zygote did not start")

    def run(self, request: dict, timeout: float) -> tuple[int, float]:
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            pid = int(self.process.stdout.readline())
            timer = threading.Timer(timeout, lambda: _kill_group(pid))
            timer.start()
            try:
                reply = json.loads(self.process.stdout.readline())
            finally:
                timer.cancel()
            return reply["status"], reply["cpu"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


_ZYGOTE: _Zygote | None = None


def _zygote() -> _Zygote:
    global _ZYGOTE
    if _ZYGOTE is None or _ZYGOTE.process.poll() is not None:
        _ZYGOTE = _Zygote()
    return _ZYGOTE


def close() -> None:
    """Stop this process's zygote (pytest's session end)."""
    global _ZYGOTE
    if _ZYGOTE is not None:
        _ZYGOTE.close()
        _ZYGOTE = None


def _serve() -> None:
    """The zygote's loop: import once, then fork one child per request line on stdin."""
    import runpy

    import runpost.cli  # noqa: F401  (what every build imports, once)
    import runpost.pipeline  # noqa: F401
    try:
        import PIL.Image  # noqa: F401  (the image copies)
    except ImportError:
        pass
    _warm_up()
    requests, replies = os.fdopen(os.dup(0), "r"), os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1):
        os.dup2(null, descriptor)
    replies.write("ready\n")
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            _child(request, runpy)
        replies.write(f"{pid}\n")
        _, status, usage = os.wait4(pid, 0)
        replies.write(json.dumps({"status": os.waitstatus_to_exitcode(status),
                                  "cpu": usage.ru_utime + usage.ru_stime}) + "\n")


def _warm_up() -> None:
    """Build the fixture site once in the zygote: what a build imports or compiles on first use.

    Python-Markdown's extensions, Pygments' lexers, Jinja's compiled templates, Pillow's
    codecs: loaded lazily by the first build of a process, 0.2 s of CPU. Forked after this,
    a launch builds in about 0.06 s. Only imports and pure caches stay behind; the build's
    folders are removed and no thread outlives it (forking stays safe).
    """
    import contextlib
    import io
    import shutil
    import threading

    import runpost.cli

    fixture = REPO / "tests" / "fixtures" / "site"
    with tempfile.TemporaryDirectory(prefix="zygote-warm-up-") as folder:
        project = Path(folder) / "site"
        shutil.copytree(fixture, project)
        here = os.getcwd()
        os.chdir(project)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                runpost.cli.main(["--output", str(project / "public")])
        except SystemExit:
            pass
        finally:
            os.chdir(here)
    if threading.active_count() != 1:
        raise RuntimeError("the zygote's warm-up build left a thread running: forking would be unsafe")


def _child(request: dict, runpy) -> None:
    status = 1
    try:
        os.setpgid(0, 0)                  # its own group: a timeout kills it with its kernels
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL if number != signal.SIGINT else signal.default_int_handler)
        if request["cpu_limit"] is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (request["cpu_limit"], request["cpu_limit"]))
        if request["umask"] is not None:
            os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        for descriptor, path in ((1, request["out"]), (2, request["err"])):
            file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(file, descriptor)
            os.close(file)
        unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1 if unbuffered else -1)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
        sys.argv = list(request["args"])
        sys.path[0] = str(REPO)
        try:
            runpy.run_path(request["args"][0], run_name="__main__")
            status = 0
        except SystemExit as exit:
            code = exit.code
            status = code if isinstance(code, int) else (0 if code is None else 1)
            if code is not None and not isinstance(code, int):
                print(code, file=sys.stderr)
        except KeyboardInterrupt:
            status = 128 + signal.SIGINT
        except BaseException:
            import traceback
            traceback.print_exc()
            status = 1
    finally:
        try:
            # What the interpreter does on its way out: wait for non-daemon threads, run atexit handlers.
            import atexit
            import threading as threads
            threads._shutdown()
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


if __name__ == "__main__":
    _serve()

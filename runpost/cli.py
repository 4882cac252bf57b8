"""Command line: parse flags, run the build, print errors, set the exit code.

Exit status: 0 success, 1 content or build error, 2 usage error (argparse).
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import signal
import sys
import traceback
from pathlib import Path

from .config import Config, load_config, require_project, source_folders
from .errors import BuildError, BuildErrors, Location, StartError, UsageError, did_you_mean, shown_name
from .report import Reporter


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`runpost build --explain | head -1`): stop quietly, as shell tools do,
        # and leave nothing for Python to flush into the closed pipe at exit.
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
            except (OSError, ValueError):
                pass
        return 128 + getattr(signal, "SIGPIPE", 13)


def _main(argv: list[str] | None) -> int:
    args = parse_arguments(argv)
    try:
        Path.cwd()
    except OSError as error:     # the shell's folder was deleted (or cannot be read) since it was entered
        print(f"error: the current folder cannot be read ({error.strerror}): cd into the blog's folder again",
              file=sys.stderr)
        return 2
    if args.command == "new":
        from .new import new_blog       # here: only this command needs it
        try:
            return new_blog(args.folder)
        except BrokenPipeError:
            raise                                    # main(): the reader of our output is gone
        except (OSError, RuntimeError) as error:     # a name too long, a link loop on the way there
            reason = error.strerror if isinstance(error, OSError) and error.strerror else \
                "a symbolic link on the way leads back to itself" if _SYMLINK_LOOP.fullmatch(str(error)) else str(error)
            print(f"error: cannot make a blog at {shown_name(str(args.folder))}: {reason}", file=sys.stderr)
            return 2
    reporter = Reporter()
    stopping = _stop_on_signals()
    try:
        config = load_config(
            Path.cwd(),
            content_dir=args.content,
            output_dir=args.output,
            build_dir=args.build_dir,
            base_url=args.base_url,
            drafts=args.drafts,
            future=args.future,
            expired=args.expired,
            mode=_mode(args),
            params=_params(args.param),
            debug=args.debug,
            executor=args.executor,
        )
        _check_link_loops(config)
        require_project(config)
        if args.content is None:
            _check_content_link(config)
        from .site.output import check_build_folder, check_output_folder

        if getattr(args, "output", None) is not None and args.command != "serve":
            # `--output .`: the output's own refusal, not the results folder's (which is inside it).
            check_output_folder(config.output_dir, config.root, source_folders(config), force=args.force)
        check_build_folder(config.build_dir, config.root, [*source_folders(config, results=False), config.output_dir])
        if args.command == "serve":
            from .serve import serve

            return serve(config, reporter, host=args.host, port=args.port)
        config = _choose_output(config, explicit=args.output is not None, force=args.force, reporter=reporter)
        from .uptodate import current

        if (last := current(config)) is not None:   # nothing it read or wrote has changed (uptodate.py)
            for warning in last["warnings"]:
                print(warning, file=sys.stderr)
            reporter.info(f"nothing changed since the last build: {config.output_dir} is up to date")
            return 0
        from .pipeline import build

        build(config, reporter)
        return 0
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BuildErrors as errors:
        for error in sorted_errors(errors.errors):
            _print_error(error, args.debug)
        count = len(errors.errors)
        print(f"build failed: {count} error{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    except BuildError as error:
        _print_error(error, args.debug)
        if not isinstance(error, StartError):
            print("build failed: 1 error", file=sys.stderr)      # as every failed build ends
        return 1
    except KeyboardInterrupt as interrupt:
        # The execution stage says what an interrupted run kept, in one line.
        print(str(interrupt) or "interrupted", file=sys.stderr)
        return 128 + (stopping[0] if stopping else signal.SIGINT)
    except BrokenPipeError:
        raise                     # main(): the reader of our output is gone
    except OSError as error:
        # A file of the project that cannot be read (chmod 000, a disk error) or a folder that
        # cannot be written: its path, as a compiler names a file it cannot open.
        if args.debug:
            raise
        if error.filename is None and error.errno in _MACHINE_ERRORS:     # a full disk, not a bug
            print(f"error: {error.strerror or error}", file=sys.stderr)
            return 1
        if error.filename is None:
            print(f"error: internal error: {type(error).__name__}: {error} (use --debug for the traceback)",
                  file=sys.stderr)
            return 1
        print(f"{Location(Path(os.fsdecode(error.filename)))}: error: {error.strerror or error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug in runpost itself, not in the user's content
        if args.debug:
            raise
        looping = _SYMLINK_LOOP.fullmatch(str(error)) if isinstance(error, RuntimeError) else None
        if looping:           # pathlib's resolve() met a link that leads back to itself (`ln -s site site`)
            print(f"{Location(Path(looping.group(1)))}: error: {_LOOP_MESSAGE}", file=sys.stderr)
            return 1
        print(f"error: internal error: {type(error).__name__}: {error} (use --debug for the traceback)",
              file=sys.stderr)
        return 1
    finally:
        _let_go_of_preview()


# What pathlib says of a symbolic link loop (Path.resolve, Python 3.11-3.12).
_SYMLINK_LOOP = re.compile(r"Symlink loop from '(.*)'", re.DOTALL)


# The machine's trouble, not runpost's: said as the system says it, without "internal error".
_MACHINE_ERRORS = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EROFS", "EIO", "ENOMEM", "EMFILE")
                            if hasattr(errno, name))


def _stop_on_signals() -> list[int]:
    """SIGTERM and SIGHUP (a CI job cancelled, `timeout`, `docker stop`, a terminal closed) stop a
    build as Ctrl-C does: the post's code is killed, finished memo results kept, site/ and build/
    left whole. Returns the list that names the signal received (exit status 128 + it). A signal
    the caller ignores (nohup) stays ignored."""
    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) not in (signal.SIG_IGN, None):
            signal.signal(number, stop)
    return received


_PREVIEW_HELD = None     # a --param build's hold on build/.preview (output.hold_preview), until it ends


def _let_go_of_preview() -> None:
    global _PREVIEW_HELD
    if _PREVIEW_HELD is not None:
        _PREVIEW_HELD.close()
        _PREVIEW_HELD = None


def _choose_output(config: Config, explicit: bool, force: bool, reporter: Reporter) -> Config:
    """The folder this build may replace; a --param preview never goes to the deploy folder."""
    import dataclasses

    from .site.output import check_output_folder, check_preview_folder, hold_preview

    if config.params and not explicit:
        preview = config.build_dir / ".preview" / "site"
        check_preview_folder(preview, config.build_dir)
        global _PREVIEW_HELD
        _PREVIEW_HELD = hold_preview(config.build_dir)      # held until the build ends (_main)
        reporter.info(f"--param preview: writing the site to {preview}, not {config.output_dir}")
        return dataclasses.replace(config, output_dir=preview)
    check_output_folder(config.output_dir, config.root, source_folders(config), force=force)
    return config


def _check_link_loops(config: Config) -> None:
    """A folder the build reads or writes that is a link leading back to itself (`ln -s site site`)
    is an error at it. Asked of the file system (ELOOP), not of pathlib: Python 3.13's resolve()
    no longer raises for a loop, and the build went on to fail at a temporary folder's name."""
    import errno

    from .errors import BuildError

    folders = [config.output_dir, config.build_dir, config.content_dir, *config.templates_dirs,
               *config.static_dirs, config.root / ".git"]      # (content/posts: require_project says it)
    for folder in folders:
        try:
            os.stat(folder)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise BuildError(Location(folder), _LOOP_MESSAGE) from None


_LOOP_MESSAGE = "a symbolic link that leads back to itself (a loop); remove it, or point it at a folder"


def _check_content_link(config: Config) -> None:
    """content/ as a link leading out of the project is refused as content/posts as one is;
    `--content FOLDER` reads a folder elsewhere on purpose."""
    from .content.confine import outside_error
    from .errors import BuildError

    error = outside_error(config.content_dir, (config.root.resolve(),), "folder")
    if error is not None:
        raise BuildError(error.location, f"{error.message} (--content {os.path.realpath(config.content_dir)} "
                                         "reads it on purpose)")


def _folder(text: str) -> Path:
    """`runpost new`'s folder: an empty name is not the current folder (Path("") would be ".")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("runpost new needs the name of a new folder")
    return Path(text)


def _port(text: str) -> int:
    """A TCP port for --port: a usage error (exit 2) otherwise, not a failure to listen."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: '{text}' (a number from 0 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port: {port} (a number from 0 to 65535)")
    return port


def sorted_errors(errors: list[BuildError]) -> list[BuildError]:
    """By file, line and column, as compilers list them (stable for one place)."""
    def key(error: BuildError) -> tuple:
        location = error.location
        return (str(location.path), location.line, location.column) if location else ("", 0, 0)
    return sorted(errors, key=key)


def _print_error(error: BuildError, debug: bool) -> None:
    has_traceback = bool(error.detail) or error.__cause__ is not None
    hint = " (use --debug for the traceback)" if has_traceback and not debug else ""
    print(f"{error}{hint}", file=sys.stderr)
    if debug:
        if error.detail:
            print(error.detail.rstrip(), file=sys.stderr)
        if error.__cause__ is not None:
            traceback.print_exception(error.__cause__, file=sys.stderr)


def _mode(args: argparse.Namespace) -> str:
    chosen = [name for name in ("explain", "rerun", "frozen") if getattr(args, name)]
    if len(chosen) > 1:
        _command_parser(args.command or "build").error(f"--{chosen[0]} and --{chosen[1]} cannot be combined")
    return chosen[0] if chosen else "default"


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            _parser().error(f"--param expects NAME=VALUE, got '{pair}'")
        params[name] = value
    return params


COMMANDS = {
    "build": "build the site once (the default when no command is given)",
    "serve": "build, serve with live reload, rebuild on every change",
    "new": "create a new blog in an empty folder",
}


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Flags -> Namespace; no command means build, an unknown flag is named with a 'did you mean'."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "build")
    elif argv[0] not in COMMANDS and not argv[0].startswith("-"):
        parser.error(f"unknown command '{argv[0]}'{did_you_mean(argv[0], COMMANDS)}")
    args, extra = parser.parse_known_args(argv)
    if extra:
        _reject_unknown(args.command, extra)
    return args


def _reject_unknown(command: str, extra: list[str]) -> None:
    """argparse says 'unrecognized arguments: --outptu x'; name the flag and the closest real one."""
    import difflib

    subparser = _subcommand_parser(_parser(), command)
    unknown = extra[0]
    if not unknown.startswith("-"):
        subparser.error(f"unexpected argument '{unknown}'")
    name = unknown.split("=", 1)[0]
    if command == "build" and name in ("--port", "--host"):
        subparser.error(f"{name} is a flag of serve: {_program_name()} serve {name} ...")
    if command == "serve" and name in _BUILD_ONLY:
        subparser.error(f"{name} is a flag of build: serve writes only build/.preview/site/ "
                        "(never site/) and runs the code that changed")
    flags = [flag for action in subparser._actions for flag in action.option_strings]
    close = difflib.get_close_matches(name, flags, n=1)
    subparser.error(f"unrecognized argument {name}" + (f" (did you mean {close[0]}?)" if close else ""))


def _subcommand_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return subparsers.choices[command]


def _command_parser(command: str) -> argparse.ArgumentParser:
    """A command's own parser, whose usage line an error about its flags shows."""
    parser = _parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return commands.choices.get(command, parser)


def _parser() -> argparse.ArgumentParser:
    program = _program_name()
    parser = argparse.ArgumentParser(
        prog=program,
        description="A static blog generator whose posts run their own code. "
                    f"With no command, '{program}' builds the site.",
        epilog=f"'{program} COMMAND --help' lists a command's flags.",
    )
    parser.add_argument("--version", action="version", version=f"runpost {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    site_flags = _site_flags()
    commands.add_parser("build", parents=[site_flags, _build_flags()], help=COMMANDS["build"],
                        description="Render content/ to site/, running the posts' code when it changed.")
    _serve_parser(commands, site_flags)
    _new_parser(commands)
    return parser


def _site_flags() -> argparse.ArgumentParser:
    """Flags shared by build and serve."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--content", metavar="DIR", type=Path, help="content folder (default: ./content)")
    flags.add_argument("--build-dir", metavar="DIR", type=Path,
                       help="frozen execution results (default: ./build)")
    flags.add_argument("--base-url", metavar="URL", help="absolute URL of the site root (default: from runpost.toml)")
    flags.add_argument("--drafts", action="store_true", help="include posts with draft: true")
    flags.add_argument("--future", action="store_true", help="include posts whose publishDate is in the future")
    flags.add_argument("--expired", action="store_true", help="include posts whose expiryDate has passed")
    flags.add_argument("--rerun", action="store_true", help="execute every post's code, ignoring build/")
    flags.add_argument("--frozen", action="store_true",
                       help="never execute; fail if any post's results in build/ are stale")
    flags.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="override a post parameter (front matter params:); repeatable")
    flags.add_argument("--executor", metavar="SPEC",
                       help="where @runpost.memo calls compute: local (default) or dask://HOST:PORT")
    flags.add_argument("--debug", action="store_true", help="show Python tracebacks")
    return flags


# Flags of build alone: serve writes only build/.preview/site/ and runs what changed.
_BUILD_ONLY = ("--output", "--force", "--explain", "--plan")


def _build_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--output", metavar="DIR", type=Path, help="output folder (default: ./site)")
    flags.add_argument("--force", action="store_true", help="replace an output folder that runpost did "
                       "not make (never a file, the project, its sources or hidden folders)")
    flags.add_argument("--explain", "--plan", action="store_true",
                       help="print what would run and why, run nothing")
    return flags


def _serve_parser(commands, site_flags: argparse.ArgumentParser) -> argparse.ArgumentParser:
    serve = commands.add_parser(
        "serve", parents=[site_flags], help=COMMANDS["serve"],
        description="Build into build/.preview/site/ (never site/), serve it, rebuild when content/, "
                    "templates/, static/ or runpost.toml change, and reload the open page.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=1313, help="port, 0 to 65535; 0 picks a free one (default 1313)")
    serve.set_defaults(output=None, force=False, explain=False)
    return serve


def _new_parser(commands) -> argparse.ArgumentParser:
    new = commands.add_parser(
        "new", help=COMMANDS["new"],
        description="Create a blog: runpost.toml, an example post whose code runs, .gitignore, "
                    "README.md and a GitHub Pages workflow. The folder must be new or empty.")
    new.add_argument("folder", type=_folder, help="where to create the blog")
    return new


def _program_name() -> str:
    name = Path(sys.argv[0]).name
    return name if name in ("build.py", "runpost") else "runpost"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("runpost")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"

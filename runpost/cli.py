"""Command line: parse flags, run the build, print errors, set the exit code.

Exit status: 0 success, 1 content or build error, 2 usage error (argparse).
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from .config import load_config
from .errors import BuildError, BuildErrors
from .report import Reporter


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    reporter = Reporter()
    try:
        config = load_config(
            Path.cwd(),
            content_dir=args.content,
            output_dir=args.output,
            build_dir=args.build_dir,
            base_url=args.base_url,
            drafts=args.drafts,
            future=args.future,
            mode=_mode(args),
            params=_params(args.param),
            debug=args.debug,
        )
        if args.command == "serve":
            from .serve.server import serve

            return serve(config, reporter, host=args.host, port=args.port)
        from .pipeline import build

        build(config, reporter)
        return 0
    except BuildErrors as errors:
        for error in sorted_errors(errors.errors):
            _print_error(error, args.debug)
        count = len(errors.errors)
        print(f"build failed: {count} error{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    except BuildError as error:
        _print_error(error, args.debug)
        return 1
    except KeyboardInterrupt as interrupt:
        # The execution stage says what an interrupted run kept, in one line.
        print(str(interrupt) or "interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug in runpost itself, not in the user's content
        if args.debug:
            raise
        print(f"error: internal error: {type(error).__name__}: {error} (use --debug for the traceback)",
              file=sys.stderr)
        return 1


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
        _parser().error(f"--{chosen[0]} and --{chosen[1]} cannot be combined")
    return chosen[0] if chosen else "default"


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            _parser().error(f"--param expects NAME=VALUE, got '{pair}'")
        params[name] = value
    return params


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Build a runpost site: render content/ to site/, running the posts' code when it changed.",
    )
    parser.add_argument("command", nargs="?", default="build", choices=["build", "serve"],
                        help="build the site once (default), or serve it with live reload")
    parser.add_argument("--content", metavar="DIR", type=Path, help="content folder (default: ./content)")
    parser.add_argument("--output", metavar="DIR", type=Path, help="output folder (default: ./site)")
    parser.add_argument("--build-dir", metavar="DIR", type=Path,
                        help="frozen execution results (default: ./build)")
    parser.add_argument("--base-url", metavar="URL", help="absolute URL of the site root (default: from runpost.toml)")
    parser.add_argument("--drafts", action="store_true", help="include posts with draft: true")
    parser.add_argument("--future", action="store_true", help="include posts whose publishDate is in the future")
    parser.add_argument("--explain", "--plan", action="store_true",
                        help="print what would run and why, run nothing")
    parser.add_argument("--rerun", action="store_true", help="execute every post's code, ignoring build/")
    parser.add_argument("--frozen", action="store_true",
                        help="never execute; fail if any post's results in build/ are stale")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override a post parameter (front matter params:); repeatable")
    parser.add_argument("--host", default="127.0.0.1", help="serve: address to listen on")
    parser.add_argument("--port", type=int, default=1313, help="serve: port (default 1313)")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    return parser

"""Command line: parse flags, run the build, print errors, set the exit code.

Exit status: 0 success, 1 content or build error, 2 usage error (argparse).
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from .config import Config, load_config, require_project, source_folders
from .errors import BuildError, BuildErrors, UsageError
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
        require_project(config)
        if args.command == "serve":
            from .serve import serve

            return serve(config, reporter, host=args.host, port=args.port)
        from .pipeline import build

        config = _choose_output(config, explicit=args.output is not None, force=args.force, reporter=reporter)
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
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug in runpost itself, not in the user's content
        if args.debug:
            raise
        print(f"error: internal error: {type(error).__name__}: {error} (use --debug for the traceback)",
              file=sys.stderr)
        return 1


def _choose_output(config: Config, explicit: bool, force: bool, reporter: Reporter) -> Config:
    """The folder this build may replace; a --param preview never goes to the deploy folder."""
    import dataclasses

    from .site.output import check_output_folder

    if config.params and not explicit:
        preview = config.build_dir / ".preview" / "site"
        reporter.info(f"--param preview: writing the site to {preview}, not {config.output_dir}")
        return dataclasses.replace(config, output_dir=preview)
    check_output_folder(config.output_dir, config.root, source_folders(config), force=force)
    return config


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
    parser.add_argument("--force", action="store_true",
                        help="replace an output folder that runpost did not make (never the project or its sources)")
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

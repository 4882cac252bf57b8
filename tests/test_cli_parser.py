"""The command line's shape: subcommands with their own help, named unknown flags, --version."""
from __future__ import annotations

import pytest

from conftest import run_build
from runpost.cli import parse_arguments


def test_no_command_means_build():
    assert parse_arguments([]).command == "build"
    args = parse_arguments(["--frozen", "--output", "out"])
    assert args.command == "build" and args.frozen and str(args.output) == "out"


def test_serve_takes_the_build_flags_and_its_own():
    args = parse_arguments(["serve", "--port", "8000", "--drafts"])
    assert (args.command, args.port, args.drafts) == ("serve", 8000, True)


def help_of(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit:
        parse_arguments(argv)
    assert exit.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--output=elsewhere", "--force", "--explain"])
def test_serve_refuses_the_flags_it_would_ignore(capsys, flag):
    # serve writes only build/.preview/site/ and runs what changed: --output was silently
    # ignored, and --explain printed the plan and then served anyway.
    with pytest.raises(SystemExit) as exited:
        parse_arguments(["serve", flag])
    assert exited.value.code == 2
    assert f"{flag.split('=')[0]} is a flag of build" in capsys.readouterr().err


def test_serve_help_shows_serve_flags_not_build_help(capsys):
    text = help_of(["serve", "--help"], capsys)
    assert "--port" in text and "--host" in text and "--frozen" in text
    assert text.startswith("usage: ") and " serve " in text.splitlines()[0]


def test_build_help_has_no_serve_flags(capsys):
    text = help_of(["build", "--help"], capsys)
    assert "--frozen" in text and "--port" not in text


def test_top_level_help_lists_the_commands(capsys):
    text = help_of(["--help"], capsys)
    assert all(command in text for command in ("build", "serve", "new"))


def test_unknown_flag_is_named_with_the_closest_real_one(tmp_path):
    # Through build.py, as a user types it: the message and the exit status.
    result = run_build("--outptu", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: unrecognized argument --outptu (did you mean --output?)" in result.stderr
    assert "invalid choice" not in result.stderr


def test_unknown_flag_of_serve_is_checked_against_serve_flags(capsys):
    with pytest.raises(SystemExit) as exit:
        parse_arguments(["serve", "--prot", "8000"])
    assert exit.value.code == 2
    assert "unrecognized argument --prot (did you mean --port?)" in capsys.readouterr().err


def test_unknown_command_gets_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit:
        parse_arguments(["buidl"])
    assert exit.value.code == 2
    assert "unknown command 'buidl' (did you mean 'build'?)" in capsys.readouterr().err


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exit:
        parse_arguments(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith("runpost ")

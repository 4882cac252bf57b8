import os

import pytest

from runpost.config import load_config
from runpost.errors import BuildError, BuildErrors


def test_defaults_without_a_config_file(tmp_path):
    config = load_config(tmp_path)
    assert config.base_url == "/"
    assert config.content_dir == tmp_path / "content"
    assert config.output_dir == tmp_path / "site"


def test_base_url_gets_a_trailing_slash_and_a_base_path(tmp_path):
    (tmp_path / "runpost.toml").write_text('base_url = "https://u.github.io/repo"\n')
    config = load_config(tmp_path)
    assert config.base_url == "https://u.github.io/repo/"
    assert config.base_path == "/repo/"


def test_command_line_base_url_wins(tmp_path):
    (tmp_path / "runpost.toml").write_text('base_url = "https://a.example/"\n')
    assert load_config(tmp_path, base_url="https://b.example/x/").base_url == "https://b.example/x/"


def test_github_actions_project_site_url_is_derived(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "Octo/blog")
    assert load_config(tmp_path).base_url == "https://octo.github.io/blog/"
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/octo.github.io")
    assert load_config(tmp_path).base_url == "https://octo.github.io/"


def test_unknown_and_mistyped_settings_are_reported_at_their_lines(tmp_path):
    (tmp_path / "runpost.toml").write_text('title = "x"\ntitel = "y"\nraw_html = "yes"\n')
    with pytest.raises(BuildErrors) as caught:
        load_config(tmp_path)
    assert [str(error) for error in caught.value.errors] == [
        f"{tmp_path}/runpost.toml:2:1: error: unknown setting 'titel' (did you mean 'title'?)",
        f"{tmp_path}/runpost.toml:3:1: error: setting 'raw_html' must be true or false, not a string (in quotes)",
    ]


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "inf", "1e999", "1" + "0" * 400])
def test_timeout_setting_is_a_finite_number_of_seconds_above_zero(tmp_path, seconds):
    # inf and nan reached the runner, which failed with an internal error; 0 and -1 timed out at once;
    # an int of 400 digits ended in "internal error: OverflowError".
    (tmp_path / "runpost.toml").write_text(f'title = "x"\ntimeout = {seconds}\n')
    with pytest.raises(BuildErrors) as caught:
        load_config(tmp_path)
    shown = "a number that long" if len(seconds) > 20 else f"{float(seconds):g}"
    assert [str(error) for error in caught.value.errors] == [
        f"{tmp_path}/runpost.toml:2:1: error: setting 'timeout' must be a number of seconds greater than 0 "
        f"and at most 1e9, not {shown}"]
    (tmp_path / "runpost.toml").write_text('timeout = 0.5\n')
    assert load_config(tmp_path).timeout == 0.5


@pytest.mark.parametrize("cname, hint", [("https://blog.example.com/", " (did you mean 'blog.example.com'?)"),
                                         ("blog.example.com/blog", " (did you mean 'blog.example.com'?)"),
                                         ("../../etc", ""), ("my blog", ""), ("localhost", "")])
def test_cname_is_one_domain_name(tmp_path, cname, hint):
    # GitHub Pages reads site/CNAME as one domain; a URL there (a common slip) broke the deploy silently.
    (tmp_path / "runpost.toml").write_text(f'title = "x"\ncname = "{cname}"\n')
    with pytest.raises(BuildErrors) as caught:
        load_config(tmp_path)
    assert [str(error) for error in caught.value.errors] == [
        f"{tmp_path}/runpost.toml:2:1: error: setting 'cname': '{cname}' is not a domain name such as "
        f"blog.example.com{hint}; the site's URL goes in base_url"]
    for good in ("blog.example.com", "bücher.example", ""):
        (tmp_path / "runpost.toml").write_text(f'cname = "{good}"\n')
        assert load_config(tmp_path).cname == good


def test_invalid_toml_is_an_error_with_a_line(tmp_path):
    (tmp_path / "runpost.toml").write_text('title = "x"\nbase_url = \n')
    with pytest.raises(BuildError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}/runpost.toml:2:")
    assert "quotes" not in str(caught.value)          # nothing written there: no hint about text


def test_unquoted_text_in_runpost_toml_says_it_goes_in_quotes(tmp_path):
    (tmp_path / "runpost.toml").write_text("title = My Blog\n")
    with pytest.raises(BuildError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == f'{tmp_path}/runpost.toml:1:9: error: invalid TOML: Invalid value (text goes in quotes: title = "My blog")'


def test_feed_limit_keeps_the_newest_posts_and_zero_keeps_all(tmp_path):
    from conftest import FIXTURE_SITE, run_build
    import shutil

    root = tmp_path / "blog"
    shutil.copytree(FIXTURE_SITE, root)
    for number in range(3):
        (root / f"content/posts/extra-{number}.md").write_text(
            f"---\ntitle: Extra {number}\ndate: 2026-01-0{number + 1}\n---\nText {number}.\n", encoding="utf-8")
    with (root / "runpost.toml").open("a", encoding="utf-8") as settings:
        settings.write("feed_limit = 2\n")
    assert run_build(cwd=root).returncode == 0
    feed = (root / "site/index.xml").read_text(encoding="utf-8")
    assert feed.count("<entry>") == 2 and "Extra 2" in feed and "Extra 1" in feed and "Extra 0" not in feed
    text = (root / "runpost.toml").read_text(encoding="utf-8").replace("feed_limit = 2", "feed_limit = 0")
    (root / "runpost.toml").write_text(text, encoding="utf-8")
    assert run_build(cwd=root).returncode == 0
    assert (root / "site/index.xml").read_text(encoding="utf-8").count("<entry>") >= 5
    (root / "runpost.toml").write_text(text.replace("feed_limit = 0", "feed_limit = -1"), encoding="utf-8")
    result = run_build(cwd=root)
    assert result.returncode == 1 and "runpost.toml:5:1: error: setting 'feed_limit' must be 0 or more" in result.stderr


def test_a_malformed_url_or_a_deeply_nested_table_is_a_located_error(tmp_path):
    # Each was an internal error (ValueError: Invalid IPv6 URL; RecursionError).
    (tmp_path / "runpost.toml").write_text('base_url = "https://[::1/"\n')
    with pytest.raises(BuildError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == (f"{tmp_path}/runpost.toml:1:1: error: setting 'base_url': 'https://[::1/' is not a URL "
                                 "(such as https://example.org/blog/; '/' if its address is not known yet)")
    (tmp_path / "runpost.toml").write_text("params = " + "{a=" * 2000 + "1" + "}" * 2000 + "\n")
    with pytest.raises(BuildError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == f"{tmp_path}/runpost.toml:1:1: error: invalid TOML: nested deeper than runpost reads"


@pytest.mark.parametrize("make, message", [
    (lambda path: os.mkfifo(path), "not a regular file"),                        # hung the build for ever
    (lambda path: path.symlink_to("nowhere.toml"), "a link to nothing"),        # was read as no settings at all
    (lambda path: path.symlink_to(path.name), "a link to nothing"),
], ids=["pipe", "dangling-link", "loop"])
def test_settings_that_cannot_be_read_are_an_error_not_a_hang_or_the_defaults(tmp_path, make, message):
    from conftest import run_build
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/a.md").write_text("---\ntitle: A\ndate: 2020-01-01\n---\nText.\n")
    make(tmp_path / "runpost.toml")
    result = run_build(cwd=tmp_path, timeout=60)
    assert result.returncode == 1 and f"runpost.toml: error: {message}" in result.stderr, result.stderr


def test_settings_saved_with_a_byte_order_mark_are_read(tmp_path):
    # Notepad's "UTF-8" starts the file with U+FEFF: "1:1: error: invalid TOML".
    (tmp_path / "runpost.toml").write_bytes('\ufefftitle = "Mine"\n'.encode("utf-8"))
    assert load_config(tmp_path).title == "Mine"


def test_a_pipe_among_the_templates_is_an_error_not_a_hang(site_dir):
    from conftest import run_build
    (site_dir / "templates").mkdir(exist_ok=True)
    os.mkfifo(site_dir / "templates/unused.html")
    result = run_build(cwd=site_dir, timeout=60)
    assert result.returncode == 1 and "templates/unused.html: error: not a regular file" in result.stderr, result.stderr


def test_folders_linked_back_into_templates_are_walked_once(site_dir):
    # `_default -> .` and `partials -> .` (as Hugo themes link them): the check for pipes walked for ever.
    from conftest import run_build
    (site_dir / "templates").mkdir(exist_ok=True)
    (site_dir / "templates/a").symlink_to(".")
    (site_dir / "templates/b").symlink_to(".")
    result = run_build(cwd=site_dir, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_content_folder_that_cannot_be_read_says_so_not_that_it_is_empty(tmp_path, monkeypatch):
    # rglob passed over the unreadable folder: "has no files" sent the writer looking for posts (found by review).
    import os

    from runpost.config import require_project
    from runpost.errors import UsageError

    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/a.md").write_text("A")
    real = os.scandir

    def scandir(path=".", *args):
        if os.fspath(path) == os.fspath(tmp_path / "content"):
            raise PermissionError(13, "Permission denied")
        return real(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(UsageError, match="cannot read the content folder .*: Permission denied"):
        require_project(load_config(tmp_path))

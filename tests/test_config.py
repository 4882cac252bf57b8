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
        f"{tmp_path}/runpost.toml:2:1: error: unknown setting 'titel'",
        f"{tmp_path}/runpost.toml:3:1: error: setting 'raw_html' has the wrong type",
    ]


def test_invalid_toml_is_an_error_with_a_line(tmp_path):
    (tmp_path / "runpost.toml").write_text('title = "x"\nbase_url = \n')
    with pytest.raises(BuildError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}/runpost.toml:2:")

"""The command-line contract: exit codes, compiler-style errors, no traceback, untouched output."""
import hashlib
import os
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_build


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_build_succeeds_with_exit_0(site_dir):
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert (site_dir / "site/index.html").is_file()
    assert (site_dir / "site/posts/first-post/index.html").is_file()


def test_usage_error_exits_2(site_dir):
    result = run_build("--no-such-flag", cwd=site_dir)
    assert result.returncode == 2
    assert "usage:" in result.stderr


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_that_cannot_be_is_a_usage_error_before_anything_runs(site_dir, port):
    result = run_build("serve", "--port", port, cwd=site_dir, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "argument --port: invalid port" in result.stderr and "internal error" not in result.stderr
    assert not (site_dir / "site").exists()


def test_serve_on_a_port_in_use_is_one_error_and_no_failed_build(site_dir):
    # From a review: it ended "build failed: 1 error", though no build had run.
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_build("serve", "--port", port, cwd=site_dir, timeout=30)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (f"error: port {port} on 127.0.0.1 is already in use: pass --port "
                                                      "with another number (--port 0 picks a free one)")
    assert "build failed" not in result.stderr and not (site_dir / "site").exists()


@pytest.mark.parametrize("url", ["example.com/blog", "/blog/", "ftp://example.org/", "https://", "//example.org/blog/",
                                 "https://exa mple.org/", "https://example.org:abc/", "https://example.org/?"])
def test_a_base_url_that_is_not_an_absolute_web_address_is_one_error_before_anything_runs(site_dir, url):
    # Not one error per link ("page /tags/ links to /tags/example.com/blog/tags/ ...").
    result = run_build("--base-url", url, cwd=site_dir)
    assert result.returncode == 2 and result.stderr.count("error:") == 1, result.stderr
    assert f"--base-url: '{url}' is not the absolute URL of the site" in result.stderr
    (site_dir / "runpost.toml").write_text('title = "T"\nbase_url = "%s"\n' % url)
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and result.stderr.count("error:") == 1, result.stderr
    assert "runpost.toml:2:1: error: setting 'base_url'" in result.stderr
    assert not (site_dir / "site").exists()


def test_errors_are_compiler_style_without_traceback(site_dir):
    (site_dir / "content/posts/broken.md").write_text("---\ntitle: Broken\ndate: someday\n---\n{{< figur src=\"x\" >}}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/broken.md:3:1: error: invalid date 'someday'" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_error_in_the_run_is_reported(site_dir):
    (site_dir / "content/posts/a.md").write_text("---\ntitle: A\ndate: nope\n---\n")
    (site_dir / "content/posts/b.md").write_text("---\ndate: 2020-01-01\n---\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "a.md:3:1: error:" in result.stderr and "b.md:1:1: error: missing 'title'" in result.stderr


def test_unknown_shortcode_points_at_line_and_column(site_dir):
    (site_dir / "content/posts/c.md").write_text("---\ntitle: C\ndate: 2020-01-01\n---\nText\n\nand {{< figur src=\"x\" >}}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/c.md:7:5: error: unknown shortcode 'figur'" in result.stderr


def test_template_errors_name_the_template_without_traceback(site_dir):
    (site_dir / "templates").mkdir()
    (site_dir / "templates/home.html").write_text("{{ posts | no_such_filter }}")
    plain = run_build(cwd=site_dir)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "home.html" in plain.stderr and "internal error" not in plain.stderr
    (site_dir / "templates/home.html").unlink()
    (site_dir / "templates/post.html").write_text("{{ post.title | no_such_filter }}")
    plain = run_build(cwd=site_dir)
    assert plain.returncode == 1 and "post.html" in plain.stderr and "internal error" not in plain.stderr


def test_a_failed_build_leaves_the_previous_site_untouched(site_dir):
    assert run_build(cwd=site_dir).returncode == 0
    before = tree_digest(site_dir / "site")
    (site_dir / "content/posts/bad.md").write_text("---\ntitle: Bad\ndate: 2020-01-01\n---\n![gone](/missing.png)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/bad.md:5:9: error: '/missing.png' does not exist in the site" in result.stderr
    assert tree_digest(site_dir / "site") == before


def test_two_builds_are_byte_identical(site_dir):
    assert run_build(cwd=site_dir).returncode == 0
    first = tree_digest(site_dir / "site")
    assert run_build(cwd=site_dir).returncode == 0
    assert tree_digest(site_dir / "site") == first


def test_output_and_content_flags(site_dir, tmp_path):
    result = run_build("--content", str(site_dir / "content"), "--output", str(tmp_path / "out"), cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/posts/bundle-post/dot.png").is_file()


def test_drafts_flag_publishes_drafts(site_dir):
    assert run_build("--drafts", cwd=site_dir).returncode == 0
    assert (site_dir / "site/posts/draft-post/index.html").is_file()
    assert run_build(cwd=site_dir).returncode == 0
    assert not (site_dir / "site/posts/draft-post").exists()


def test_hostile_titles_and_tags_are_escaped_and_contained(site_dir):
    (site_dir / "content/posts/evil.md").write_text(
        '---\ntitle: "<script>alert(1)</script>"\ndate: 2020-01-01\ntags: ["../../escape", "<b>x</b>"]\n'
        'description: "\\" onload=\\"alert(1)"\n---\nBody\n')
    assert run_build(cwd=site_dir).returncode == 0
    page = (site_dir / "site/posts/evil/index.html").read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert '" onload="' not in page
    assert (site_dir / "site/tags/escape/index.html").is_file()
    assert not (site_dir / "escape").exists() and not (site_dir.parent / "escape").exists()


def test_a_template_that_fails_while_rendering_is_an_error_at_its_line(site_dir):
    (site_dir / "templates").mkdir()
    (site_dir / "templates/home.html").write_text("<p>fine</p>\n{{ 1 // 0 }}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "templates/home.html:2:1: error: template error: ZeroDivisionError" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("expression, message", [
    ("{{ post.titel }}", "'post' has no field 'titel' (did you mean 'title'?)"),
    ("{% if post.summry %}x{% endif %}", "'post' has no field 'summry' (did you mean 'summary'?)"),
    ("{{ post.prev.titel if post.prev }}", "'post' has no field 'titel' (did you mean 'title'?)"),
    ("{% for t in post.tgas %}{% endfor %}", "'post' has no field 'tgas' (did you mean 'tags'?)"),
    ("{{ site.autor }}", "'site' has no field 'autor' (did you mean 'author'?)"),
    ("{{ site['titel'] }}", "'site' has no field 'titel' (did you mean 'title'?)"),
    ("{% for t in post.tags %}{{ t.nmae }}{% endfor %}", "'tag' has no field 'nmae' (did you mean 'name'?)"),
    ("{% for t in tags %}{{ t.cout }}{% endfor %}", "'tag' has no field 'cout' (did you mean 'count'?)"),
    ("{{ post | attr('titel') }}", "'post' has no field 'titel' (did you mean 'title'?)"),
])
def test_a_field_a_post_or_the_site_lacks_is_an_error_at_the_templates_line(site_dir, expression, message):
    # {{ post.titel }} made an empty <h1> on every page, exit 0; Hugo says "can't evaluate field Titel".
    (site_dir / "content/posts/second.md").write_text("---\ntitle: Second\ndate: 2024-02-01\n---\nBody\n")
    (site_dir / "templates").mkdir()
    (site_dir / "templates/post.html").write_text("<!doctype html>\n<title>{{ post.title }}</title>\n" + expression + "\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1, result.stderr
    assert f"templates/post.html:3:1: error: template error: UndefinedError: {message}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("template, message", [
    ("<b>{{ page.titel }}</b>", "'page' has no field 'titel' (did you mean 'title'?)"),
    ("<b>{{ site.autor }}</b>", "'site' has no field 'autor' (did you mean 'author'?)"),
])
def test_a_field_a_shortcode_templates_page_or_site_lacks_is_an_error(site_dir, template, message):
    (site_dir / "templates/shortcodes").mkdir(parents=True)
    (site_dir / "templates/shortcodes/sig.html").write_text(template + "\n")
    (site_dir / "content/posts/s.md").write_text("---\ntitle: S\ndate: 2024-01-01\n---\n\nHi {{< sig >}}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1, result.stderr
    assert (f"content/posts/s.md:6:4: error: shortcode 'sig' failed: UndefinedError: {message} "
            "(at templates/shortcodes/sig.html:1:1)") in result.stderr


def test_a_field_the_paginator_lacks_is_an_error_at_the_list_templates_line(site_dir):
    (site_dir / "templates").mkdir()
    (site_dir / "templates/home.html").write_text("<!doctype html>\n<title>{{ site.title }}</title>\n"
                                                  "{{ paginator.number }} of {{ paginator.totl }}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert ("templates/home.html:3:1: error: template error: UndefinedError: 'paginator' has no field 'totl' "
            "(did you mean 'total'?)") in result.stderr


def test_a_macro_imported_without_context_may_still_ask_for_the_build_date(site_dir):
    # From a review: `{% if site.build_date %}` in a macro imported without context (it sees the
    # environment's `site`) had become "'site' has no field 'build_date'"; it built before.
    (site_dir / "templates").mkdir()
    (site_dir / "templates/m.html").write_text(
        "{% macro foot() %}[{% if site.build_date %}{{ site.build_date.year }}{% endif %} {{ site.title }}]{% endmacro %}\n")
    (site_dir / "templates/post.html").write_text(
        '{% import "m.html" as m %}<!doctype html>\n<title>{{ post.title }}</title>\n<p id=f>{{ m.foot() }}</p>\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = next((site_dir / "site/posts").glob("*/index.html")).read_text()
    assert "<p id=f>[ " in page


def test_what_a_post_or_the_site_may_lack_is_still_asked_as_jinja_asks(site_dir):
    # `is defined` and `default` are how a template asks; the writer's own params stay open, as Hugo's .Params.
    (site_dir / "templates").mkdir()
    (site_dir / "templates/post.html").write_text(
        "<!doctype html>\n<title>{{ post.title }}</title>\n<p id=t>{{ post.subtitle | default('none') }}|"
        "{{ 'yes' if site.logo is defined else 'no' }}|{{ post.params.cover }}|{{ site.params.motto }}|"
        "{{ post.reading_minutes }}|{% for t in post.tags %}{{ t.name }}{% endfor %}</p>\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = next((site_dir / "site/posts").glob("*/index.html")).read_text()
    assert "<p id=t>none|no|||1|" in page


def test_errors_of_different_posts_and_stages_come_together_sorted(site_dir):
    posts = site_dir / "content/posts"
    (posts / "b-front.md").write_text("---\ntitle: B\ndate: nope\n---\n")
    (posts / "a-shortcode.md").write_text("---\ntitle: A\ndate: 2020-01-01\n---\n{{< figur >}}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(":")[0] for line in errors] == ["content/posts/a-shortcode.md", "content/posts/b-front.md"]


def test_code_errors_point_at_the_markdown_line_and_offer_the_traceback(site_dir):
    (site_dir / "content/posts/code.md").write_text(
        "---\ntitle: Code\ndate: 2020-01-01\n---\nProse.\n\n```python {exec=true}\nx = 1\ny = {}['missing']\n```\n")
    plain = run_build(cwd=site_dir)
    assert plain.returncode == 1
    assert "content/posts/code.md:9:1: error: KeyError: 'missing' (use --debug for the traceback)" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = run_build("--debug", cwd=site_dir)
    assert "Traceback" in debug.stderr and "content/posts/code.md" in debug.stderr


def test_a_syntax_error_in_a_block_indented_in_a_list_points_at_its_column_in_the_file(site_dir):
    # The column was the dedented code's: 4 left of the unclosed '(' in the file.
    text = "---\ntitle: Code\ndate: 2020-01-01\n---\n1. A step:\n\n    ```python {exec=true}\n    print(1)\n" \
           "    x = (1,\n    ```\n"
    (site_dir / "content/posts/code.md").write_text(text)
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/code.md:9:9: error: SyntaxError: '(' was never closed" in result.stderr
    assert text.splitlines()[8][9 - 1] == "("


def test_markdown_outside_posts_is_a_warning_not_silence(site_dir):
    (site_dir / "content/about.md").write_text("---\ntitle: About\ndate: 2020-01-01\n---\nHi\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0
    assert "content/about.md: warning: not under content/posts/, so not published" in result.stderr


def test_markdown_under_posts_that_is_no_post_is_a_warning_not_silence(site_dir):
    # Hugo publishes posts/2023/x.md and x.markdown; runpost left them out without a word.
    posts = site_dir / "content/posts"
    front = "---\ntitle: T\ndate: 2020-01-01\n---\nHi\n"
    for name in ("2023/nested.md", "2023/bundle/index.md", "old.markdown", "other/index.mdown", "bundle-post/notes.md"):
        (posts / name).parent.mkdir(parents=True, exist_ok=True)
        (posts / name).write_text(front)
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    nested = "warning: not published: a post is content/posts/<name>.md or content/posts/<name>/index.md, with no folder in between"
    assert [line for line in result.stderr.splitlines() if "not published" in line] == [
        f"content/posts/2023/bundle/index.md: {nested}", f"content/posts/2023/nested.md: {nested}",
        "content/posts/old.markdown: warning: not published: runpost reads posts from .md files (rename it old.md)",
        "content/posts/other/index.mdown: warning: not published: runpost reads posts from .md files (rename it index.md)"]


def test_a_site_without_base_url_builds_with_a_warning(tmp_path):
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/x.md").write_text("---\ntitle: X\ndate: 2020-01-01\n---\nHi\n")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: base_url is '/'" in result.stderr
    assert (tmp_path / "site/posts/x/index.html").is_file()


def test_a_file_that_cannot_be_read_is_named_not_an_internal_error(site_dir, monkeypatch, capsys):
    # chmod 000 on a static file, a template, runpost.toml (as root the tests cannot make one
    # unreadable: the copy is made to fail as the system would fail it).
    import errno
    import shutil

    import runpost.site.write as write
    from runpost.cli import main

    def refuse(source, target, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(source))
    monkeypatch.setattr(write.shutil, "copyfile", refuse)
    monkeypatch.chdir(site_dir)
    assert main(["--output", str(site_dir / "out")]) == 1
    err = capsys.readouterr().err
    assert "internal error" not in err and err.endswith("favicon.svg: error: Permission denied\n"), err
    monkeypatch.setattr(write.shutil, "copyfile", shutil.copyfile)


def test_a_static_folder_that_cannot_be_read_is_an_error_not_a_missing_file(site_dir, monkeypatch):
    import errno
    import os

    import runpost.site.finish as finish
    from runpost.config import load_config
    from runpost.errors import BuildErrors

    (site_dir / "static/css").mkdir(parents=True)
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):
        for entry in real_walk(top, onerror=onerror, **kwargs):
            if entry[0] == str(site_dir / "static/css"):
                onerror(PermissionError(errno.EACCES, "Permission denied", entry[0]))
                continue
            yield entry
    monkeypatch.setattr(finish.os, "walk", walk)
    with pytest.raises(BuildErrors) as raised:
        finish.static_files(load_config(site_dir))
    assert [error.message for error in raised.value.errors] == ["cannot read this folder: Permission denied"]


def test_the_build_says_which_posts_it_left_out_and_the_flag_that_includes_them(tmp_path):
    site_dir, posts = tmp_path, tmp_path / "content/posts"
    posts.mkdir(parents=True)
    (posts / "now.md").write_text("---\ntitle: Now\ndate: 2024-01-01\n---\nHere.\n")
    (posts / "idea.md").write_text("---\ntitle: Idea\ndate: 2024-01-01\ndraft: true\n---\nSoon.\n")
    (posts / "later.md").write_text("---\ntitle: Later\ndate: 2999-01-01\n---\nSoon.\n")
    (posts / "later2.md").write_text("---\ntitle: Later 2\ndate: 2999-01-02\n---\nSoon.\n")
    (posts / "private.md").write_text("---\ntitle: Private\ndate: 2024-01-01\n_build: {render: never}\n---\nNo.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert ("left out: 1 post with render: never (its build options), 1 draft (--drafts), "
            "2 posts dated in the future (--future)\n") in result.stdout + result.stderr
    result = run_build("--drafts", "--future", cwd=site_dir)
    assert "left out: 1 post with render: never (its build options)\n" in result.stdout + result.stderr
    assert not (site_dir / "site/posts/private").exists() and "Private" not in (site_dir / "site/index.xml").read_text()


def test_a_link_to_a_left_out_post_says_why_it_is_missing_and_the_flag_that_builds_it(tmp_path):
    posts = tmp_path / "content/posts"
    (posts / "idea").mkdir(parents=True)
    (posts / "now.md").write_text("---\ntitle: Now\ndate: 2024-01-01\n---\n"
                                  "[a](/posts/idea/) ![b](../idea/plot.png) [c](/posts/later/) [d](/posts/none/)\n")
    (posts / "idea" / "index.md").write_text("---\ntitle: Idea\ndate: 2024-01-01\ndraft: true\n---\nSoon.\n")
    (posts / "idea" / "plot.png").write_bytes(b"not drawn yet")
    (posts / "later.md").write_text("---\ntitle: Later\ndate: 2999-01-01\n---\nSoon.\n")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/posts/now.md:5:5: error: '/posts/idea/' does not exist in the site: that post is a draft (--drafts builds drafts)",
        "content/posts/now.md:5:24: error: '../idea/plot.png' (that is /posts/idea/plot.png) does not exist in the site: "
        "that post is a draft (--drafts builds drafts)",
        "content/posts/now.md:5:46: error: '/posts/later/' does not exist in the site: that post is dated in the future "
        "(--future builds it)",
        "content/posts/now.md:5:65: error: '/posts/none/' does not exist in the site"]
    assert run_build("--drafts", "--future", cwd=tmp_path).returncode == 1     # /posts/none/ is still missing


@pytest.mark.parametrize("files, args, expected", [
    ({"runpost.toml": 'titel = "x"\n'}, (), "runpost.toml:1:1: error: unknown setting 'titel' (did you mean 'title'?)"),
    ({"runpost.toml": "base_url = 5\n"}, (), "error: setting 'base_url' must be a string (in quotes), not a whole number"),
    ({"content/posts/y.md": "---\ntitle: Growth: a study\ndate: 2024-01-01\n---\n"}, (),
     "y.md:2:14: error: invalid YAML front matter: mapping values are not allowed here (a value holding ': ' needs quotes"),
    ({"content/posts/y.md": '---\ntitle: "A "study"\ndate: 2024-01-01\n---\n'}, (),
     "(a quoted value ends at its closing quote"),
    ({}, ("--port", "8000"), "error: --port is a flag of serve"),
    ({"content/posts/y.md": "---\ntitle: Y\ndate: 2024-01-01\n---\n\n```python {exec=true}\n"
                            "import sys\nsys.modules['numpy'] = None\nimport numpy\n```\n"}, (),
     'y.md:9:1: error: ModuleNotFoundError: import of numpy halted; None in sys.modules (pip install "runpost[exec]"'),
], ids=["setting-typo", "setting-type", "yaml-colon", "yaml-quotes", "build-port", "no-numpy"])
def test_an_error_says_what_to_do(site_dir, files, args, expected):
    for name, text in files.items():
        (site_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (site_dir / name).write_text(text)
    result = run_build(*args, cwd=site_dir)
    assert result.returncode in (1, 2) and expected in result.stderr, result.stderr


LONG = "1" + "0" * 4300      # int() refuses it (CVE-2020-10735): PyYAML, tomllib and json raised ValueError


@pytest.mark.parametrize("files, args, expected", [
    ({"content/posts/y.md": f"---\ntitle: Y\ndate: 2024-01-01\nn: {LONG}\n---\n"}, (), "y.md:4:4: error: a number of"),
    ({"content/posts/y.md": f"+++\ntitle = 'Y'\ndate = 2024-01-01\nn = {LONG}\n+++\n"}, (), "y.md:4:5: error: a number of"),
    ({"content/posts/y.md": f'{{"title": "Y", "date": "2024-01-01", "n": {LONG}}}\n'}, (), "y.md:1:43: error: a number of"),
    ({"runpost.toml": f"title = 'x'\nn = {LONG}\n"}, (), "runpost.toml:2:5: error: a number of more than 4,300 digits"),
    ({}, ("--build-dir", "runpost.toml"), "error: cannot use '"),
    ({}, ("--build-dir", "runpost.toml/sub"), "runpost.toml' is a file, not a folder"),
    ({}, ("--output", "runpost.toml/sub"), "error: cannot use 'runpost.toml/sub' as the output folder: 'runpost.toml' is a file"),
    ({}, ("serve", "--build-dir", "runpost.toml"), "as the results folder: it is a file, not a folder"),
], ids=["yaml", "toml", "json", "settings", "build-dir-file", "build-dir-under-file", "output-under-file", "serve"])
def test_hostile_values_are_errors_at_their_place_not_internal_errors(site_dir, files, args, expected):
    (site_dir / "runpost.toml").touch()
    for name, text in files.items():
        (site_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (site_dir / name).write_text(text)
    result = run_build(*args, cwd=site_dir, timeout=30)
    assert result.returncode in (1, 2) and expected in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.returncode == (2 if args else 1)


@pytest.mark.parametrize("files, expected", [
    ({"templates/shortcodes/note2.html": b"{% if %}\n", "content/posts/x.md": b"{{< note2 >}}\n"},
     "templates/shortcodes/note2.html:1:1: error: template error: Expected an expression"),
    ({"templates/shortcodes/figure.html": b"{% endif %}\n", "content/posts/x.md": b'{{< figure src="/a.png" >}}\n'},
     "templates/shortcodes/figure.html:1:1: error: template error: Encountered unknown tag 'endif'"),
    ({"templates/post.html": b"<p>caf\xe9</p>\n", "content/posts/x.md": b"Hi\n"},
     "templates/post.html:1:1: error: template error: not UTF-8 (byte 0xe9): save it as UTF-8"),
    ({"templates/shortcodes/b.html": b"\n<b>caf\xe9</b>\n", "content/posts/x.md": b"{{< b >}}\n"},
     "templates/shortcodes/b.html:2:1: error: template error: not UTF-8 (byte 0xe9)"),
    ({"content/posts/x/index.md": b"Hi\n", "content/posts/x/caf\xe9.png": b"x"},
     "content/posts/x/caf\\udce9.png: error: the file name is not UTF-8: rename it"),
    ({"content/posts/x/index.md": b"```python {exec=true}\nopen(b'caf\\xe9.txt', 'wb').write(b'x')\n```\n"},
     "x/index.md: error: the code wrote files whose names are not UTF-8: 'caf\\udce9.txt'"),
    ({"templates/shortcodes/inc.html": b"{% include 'shortcodes/inc.html' %}\n", "content/posts/x.md": b"{{< inc >}}\n"},
     "x.md:5:1: error: shortcode 'inc' never ends: its template includes itself"),
    ({"templates/shortcodes/m.html": b"{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}\n", "content/posts/x.md": b"{{< m >}}\n"},
     "x.md:5:1: error: shortcode 'm' never ends"),
    ({"templates/post.html": b"{% include 'post.html' %}\n", "content/posts/x.md": b"Hi\n"},
     "templates/post.html:1:1: error: template error: it never ends (it includes itself"),
], ids=["shortcode-syntax", "builtin-override-syntax", "page-template-latin1", "shortcode-latin1",
        "bundle-file-name", "written-file-name", "shortcode-includes-itself", "shortcode-macro-recursion",
        "page-includes-itself"])
def test_broken_templates_and_file_names_are_errors_at_the_file_not_internal_errors(tmp_path, files, expected):
    for name, data in files.items():
        path = tmp_path / os.fsdecode(name.encode("latin-1")) if "\xe9" in name else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        front = b"---\ntitle: a\ndate: 2024-01-01\n---\n" if name.endswith(".md") else b""
        path.write_bytes(front + data)
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1 and expected in result.stderr and "internal error" not in result.stderr, result.stderr


def test_results_of_a_deleted_post_are_named_in_a_warning_and_kept(tmp_path):
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/kept.md").write_text(
        "---\ntitle: K\ndate: 2024-01-01\n---\n\n```python {exec=true}\nprint(1)\n```\n")
    (tmp_path / "content/posts/gone.md").write_text((tmp_path / "content/posts/kept.md").read_text())
    (tmp_path / "content/posts/idea.md").write_text(
        "---\ntitle: I\ndate: 2024-01-01\ndraft: true\n---\n\n```python {exec=true}\nprint(2)\n```\n")
    assert run_build("--drafts", cwd=tmp_path).returncode == 0
    (tmp_path / "content/posts/gone.md").unlink()
    result = run_build(cwd=tmp_path)          # the draft is left out, not gone: its results are its own
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning: stored results of no post") == 1, result.stderr
    assert "build/gone: warning: stored results of no post in content/posts/" in result.stderr
    assert (tmp_path / "build/gone/manifest.json").is_file()
    # A post whose code never finished has only the memo calls that did: deleted, it is named too.
    (tmp_path / "build/unfinished/memo").mkdir(parents=True)
    (tmp_path / "build/unfinished/memo/0123.json").write_text("{}")
    result = run_build(cwd=tmp_path)
    assert "build/unfinished: warning: stored results of no post" in result.stderr, result.stderr


def test_results_of_a_renamed_post_are_named_with_the_move_that_keeps_them(tmp_path):
    # Renaming a post recomputed every memo call; the warning did not say `mv` keeps them.
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/old.md").write_text(
        "---\ntitle: K\ndate: 2024-01-01\n---\n\n```python {exec=true}\nprint(1)\n```\n")
    (tmp_path / "content/posts/plain.md").write_text("---\ntitle: P\ndate: 2024-01-01\n---\nNo code.\n")
    assert run_build(cwd=tmp_path).returncode == 0
    (tmp_path / "content/posts/old.md").rename(tmp_path / "content/posts/new.md")
    result = run_build("--explain", cwd=tmp_path)
    assert ("build/old: warning: stored results of no post in content/posts/: delete the folder, or they stay in "
            "build/ and in every commit of it; renamed to new? `mv build/old build/new` keeps its results") in result.stderr


def test_a_base_url_with_a_control_character_is_refused_and_shown_escaped(site_dir):
    # A NUL from a TOML escape was written into every page.
    (site_dir / "runpost.toml").write_text('title = "T"\nbase_url = "https://ex\\u0000ample.com/"\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "\0" not in result.stderr
    assert "runpost.toml:2:1: error: setting 'base_url': 'https://ex\\x00ample.com/' is not the absolute URL" in result.stderr


@pytest.mark.parametrize("code, status, expected", [
    ("class Oops(Exception):\n    def __str__(self):\n        raise KeyboardInterrupt\nraise Oops()\n", 1,
     "x.md:10:1: error: Oops: <exception str() failed>"),
    ("import json\njson.dumps = lambda *a, **k: 1 / 0\nprint('done')\n", 0, "wrote"),
    ("class M(type):\n    @property\n    def __name__(cls):\n        1 / 0\n"
     "class Oops(Exception, metaclass=M):\n    pass\nraise Oops('x')\n", 1, "the post's code broke the process running it"),
    ("import os\nos.write = None\nprint(1)\n", 1, "the post's code broke the process running it (TypeError)"),
], ids=["str-raises-keyboardinterrupt", "post-patches-json", "unnamed-exception", "os-write-gone"])
def test_what_post_code_does_to_itself_never_breaks_the_kernel(tmp_path, code, status, expected):
    # Both printed the kernel's own traceback and blamed SIGINT or os._exit.
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/x.md").write_text(f"---\ntitle: a\ndate: 2024-01-01\n---\n\n```python {{exec=true}}\n{code}```\n")
    result = run_build(cwd=tmp_path)
    assert result.returncode == status and expected in result.stdout + result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_content_folder_linked_from_outside_the_project_is_refused_unless_named(tmp_path):
    # content/posts as such a link was refused; content/ as one published the outside posts.
    outside, project = tmp_path / "outside", tmp_path / "project"
    (outside / "posts").mkdir(parents=True)
    (outside / "posts/leak.md").write_text("---\ntitle: Leak\ndate: 2024-01-01\n---\nOUTSIDE\n")
    project.mkdir()
    (project / "runpost.toml").write_text('title = "T"\n')
    (project / "content").symlink_to(outside)
    result = run_build(cwd=project)
    assert result.returncode == 1 and not (project / "site").exists()
    assert f"content: error: folder leads outside the project (to {outside})" in result.stderr
    assert run_build("--content", str(outside), cwd=project).returncode == 0      # on purpose
    assert "OUTSIDE" in (project / "site/posts/leak/index.html").read_text()


def test_an_exception_message_of_several_lines_never_reads_as_another_error(tmp_path):
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/x.md").write_text("---\ntitle: a\ndate: 2024-01-01\n---\n\n```python {exec=true}\n"
                                                 "raise ValueError('a\\nfoo.md:1:1: error: fake\\n')\n```\n")
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1
    assert "content/posts/x.md:7:1: error: ValueError: a\n    foo.md:1:1: error: fake (use --debug" in result.stderr, result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("foo.md")]


def test_a_file_name_with_control_characters_cannot_forge_error_lines_or_drive_the_terminal(site_dir):
    # A post named with ESC sequences cleared the screen through its error line; one with a newline
    # printed a forged `file:1:1: error:` line that problem matchers in CI would pick up.
    name = "a\x1b[2J\x1b]0;pwned\x07b\nfake.md:1:1: error: FORGED.md"
    (site_dir / "content/posts" / name).write_text("---\ntitle: [unclosed\n---\nText.\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert not any(line.startswith("fake.md") for line in result.stderr.splitlines()), result.stderr
    assert "a\\x1b[2J\\x1b]0;pwned\\x07b\\nfake.md:1:1: error: FORGED.md: error: the name holds control characters" \
        in result.stderr
    # A bundle so named never runs its code (its progress lines quote its name) nor gets a page;
    # a file that is not a post says its name escaped in the warning's text too.
    bundle = site_dir / "content/posts" / "b\x1b[31mred\nforged.md:1:1: error: x"
    bundle.mkdir()
    (bundle / "index.md").write_text("---\ntitle: B\ndate: 2020-01-01\nslug: ok\n---\n```python {exec=true}\nprint(1)\n```\n")
    (site_dir / "content/posts" / "c\nforged.md:1:1: error: spoof.markdown").write_text("x")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "\x1b" not in result.stderr
    assert not any(line.startswith("forged.md") for line in result.stderr.splitlines()), result.stderr


def test_escape_sequences_a_post_writes_never_reach_the_terminal_raw(tmp_path):
    # `{{< value "\x1b[2J..." >}}` printed ESC bytes: a post could clear a terminal or rewrite a CI log.
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/e.md").write_text('---\ntitle: E\ndate: 2024-01-01\n---\nA {{< value "\x1b[2J\x1b[31mOK" >}}.\n')
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1 and "\x1b" not in result.stderr
    assert "value '\\x1b[2J\\x1b[31mOK' was not published" in result.stderr, result.stderr


@pytest.mark.parametrize("args", [["--explain"], ["new", "blog"]])
def test_a_reader_that_went_away_stops_the_command_quietly(tmp_path, args):
    # `build.py --explain | head -1` said "internal error: BrokenPipeError", `new` printed a traceback.
    import subprocess

    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/a.md").write_text("---\ntitle: A\ndate: 2024-01-01\n---\nA.\n")
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, str(REPO / "build.py"), *args], cwd=tmp_path, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert done.returncode == 141 and "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_missing_link_only_the_finished_page_shows_is_reported_where_the_post_writes_it(tmp_path):
    # "content/posts/c.md: error: page /posts/c/index.html links to ..." named no line (found by review).
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/posts/c.md").write_text(
        '---\ntitle: C\ndate: 2024-01-01\n---\nA\n\nSee [a](((((x))))) and {{< figure src="/favicon.svg" link=" /nowhere/" >}}.\n')
    result = run_build(cwd=tmp_path)
    assert result.returncode == 1
    assert "content/posts/c.md:7:9: error: page /posts/c/index.html links to /posts/c/((((x))))" in result.stderr, result.stderr
    assert "content/posts/c.md:7:" in result.stderr.split("/nowhere/")[0].rsplit("\n", 1)[-1]


def test_run_inside_a_project_the_error_names_the_project_folder(site_dir):
    # From content/posts/ the hint was "give the posts' folder with --content", which --content
    # then refused ("posts go in posts"): it takes the folder that holds posts/.
    result = run_build(cwd=site_dir / "content/posts")
    assert result.returncode == 2
    assert f"run runpost in a project folder ({site_dir.resolve()} is one: cd there)" in result.stderr
    result = run_build("--content", ".", cwd=site_dir / "content/posts")
    assert result.returncode == 2
    assert f"--content names the folder that holds posts/ (here posts) (did you mean --content " \
           f"{(site_dir / 'content').resolve()}?)" in result.stderr

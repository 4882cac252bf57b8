"""Nothing from outside the project reaches the site (content/confine.py and its callers)."""
from __future__ import annotations

import shutil

import pytest

from conftest import run_build

SECRET = "TOP-SECRET-CONTENT"


def outside_file(tmp_path, name="secret.txt"):
    path = tmp_path / "outside" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(SECRET)
    return path


def published(site_dir) -> str:
    site = site_dir / "site"
    return "".join(path.read_text(errors="replace") for path in site.rglob("*") if path.is_file()) \
        if site.exists() else ""


def assert_refused(result, site_dir, shown: str):
    assert result.returncode == 1, result.stderr
    assert f"{shown}: error:" in result.stderr and "outside the project" in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in published(site_dir)


def test_post_symlinked_outside_is_an_error_at_its_path(site_dir, tmp_path):
    secret = outside_file(tmp_path, "post.md")
    secret.write_text(f"---\ntitle: x\ndate: 2020-01-01\n---\n{SECRET}\n")
    (site_dir / "content/posts/leak.md").symlink_to(secret)
    assert_refused(run_build(cwd=site_dir), site_dir, "content/posts/leak.md")


def test_bundle_folder_symlinked_outside_is_an_error(site_dir, tmp_path):
    folder = tmp_path / "outside-bundle"
    folder.mkdir()
    (folder / "index.md").write_text(f"---\ntitle: x\ndate: 2020-01-01\n---\n{SECRET}\n")
    (site_dir / "content/posts/leak").symlink_to(folder)
    assert_refused(run_build(cwd=site_dir), site_dir, "content/posts/leak")


def test_bundle_file_symlinked_outside_is_an_error(site_dir, tmp_path):
    (site_dir / "content/posts/bundle-post/data.csv").symlink_to(outside_file(tmp_path))
    assert_refused(run_build(cwd=site_dir), site_dir, "content/posts/bundle-post/data.csv")


def test_static_file_symlinked_outside_is_an_error(site_dir, tmp_path):
    (site_dir / "static").mkdir(exist_ok=True)
    (site_dir / "static/leak.txt").symlink_to(outside_file(tmp_path))
    assert_refused(run_build(cwd=site_dir), site_dir, "static/leak.txt")


def test_a_repository_keys_and_credentials_in_static_are_never_published(site_dir):
    # static/.git/config with a token in its remote URL, a vendored clone, .env: all were copied.
    static = site_dir / "static"
    for name in (".git/config", "vendor/lib/.git/HEAD", ".ssh/id_rsa", ".env", ".env.production", ".htpasswd",
                 "deep/.netrc", ".well-known/security.txt", "vendor/lib/lib.js", ".nojekyll-like",
                 ".ENV", ".envrc", ".env.d/app", ".pgpass", ".docker/config.json", "keys/id_rsa", "id_ed25519.pub"):
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text(f"{SECRET}\n" if "well-known" not in name and "lib.js" not in name else "ok\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    published = sorted(path.relative_to(site_dir / "site").as_posix() for path in (site_dir / "site").rglob("*")
                       if path.is_file() and SECRET in path.read_text(errors="replace"))
    assert published == [".nojekyll-like"]       # a dot-file of no known kind is the author's
    assert (site_dir / "site/.well-known/security.txt").is_file() and (site_dir / "site/vendor/lib/lib.js").is_file()


def test_keys_and_credentials_in_a_bundle_are_never_published(site_dir):
    # From a review: content/posts/b/id_rsa, keys/id_ed25519 and _netrc were copied beside the page.
    bundle = site_dir / "content/posts/bundle-post"
    for name in ("id_rsa", "keys/id_ed25519", "_netrc", "notes/id_ecdsa.pub"):
        (bundle / name).parent.mkdir(parents=True, exist_ok=True)
        (bundle / name).write_text(f"{SECRET}\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert not [path for path in (site_dir / "site").rglob("*") if path.is_file() and SECRET in path.read_text(errors="replace")]
    assert (site_dir / "site/posts/bundle-post/dot.png").is_file()


def test_a_settings_file_linked_from_outside_the_project_is_an_error(site_dir, tmp_path):
    # From a review: runpost.toml -> /elsewhere/r.toml was read, and its title published on every page.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "r.toml").write_text(f'title = "{SECRET}"\n')
    (site_dir / "runpost.toml").unlink()
    (site_dir / "runpost.toml").symlink_to(outside / "r.toml")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "runpost.toml: error: the settings file leads outside the project" in result.stderr
    assert not (site_dir / "site").exists() or SECRET not in (site_dir / "site/index.html").read_text()


def test_symlinks_inside_the_project_work(site_dir):
    (site_dir / "shared.csv").write_text("a,b\n")
    (site_dir / "content/posts/bundle-post/data.csv").symlink_to(site_dir / "shared.csv")
    # A static file that is a link to nothing is named (Hugo skips it without a word).
    (site_dir / "static").mkdir(exist_ok=True)
    (site_dir / "static/gone.css").symlink_to("../missing.css")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert "static/gone.css: warning: a symlink to ../missing.css, which cannot be read" in result.stderr
    assert (site_dir / "site/posts/bundle-post/data.csv").read_text() == "a,b\n"


def test_declared_input_outside_the_project_is_an_error(site_dir, tmp_path):
    secret = outside_file(tmp_path)
    (site_dir / "content/posts/inputs.md").write_text(
        f"---\ntitle: x\ndate: 2020-01-01\ninputs: ['{secret}']\n---\ntext\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/inputs.md:4:" in result.stderr and "outside the project" in result.stderr
    assert "copy it into the project (the post's folder, or a data/ folder) and read it there" in result.stderr


def test_a_post_link_that_leads_nowhere_is_named_in_a_warning_and_the_rest_builds(site_dir):
    # Hugo skips such links silently; a writer who moved a file should hear about it.
    posts = site_dir / "content/posts"
    (posts / "gone.md").symlink_to("/nonexistent/gone.md")
    (posts / "self.md").symlink_to("self.md")                       # a loop: cannot even be resolved
    (posts / "through.md").symlink_to("first-post.md/x")            # through a file
    (posts / "bundle-gone").symlink_to("/nonexistent/bundle")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    for name, target in [("gone.md", "/nonexistent/gone.md"), ("self.md", "self.md"),
                         ("through.md", "first-post.md/x"), ("bundle-gone", "/nonexistent/bundle")]:
        assert f"content/posts/{name}: warning: a symlink to {target}, which cannot be read" in result.stderr
    assert "internal error" not in result.stderr
    assert (site_dir / "site/posts/first-post/index.html").is_file()


def test_template_symlinked_outside_is_an_error_at_its_path(site_dir, tmp_path):
    # Found by review: templates were read through any symlink.
    (site_dir / "templates/shortcodes").mkdir(parents=True)
    (site_dir / "templates/shortcodes/leak.html").symlink_to(outside_file(tmp_path, "leak.html"))
    post = site_dir / "content/posts/first-post.md"
    post.write_text(post.read_text() + "\n{{< leak >}}\n")
    assert_refused(run_build(cwd=site_dir), site_dir, "templates/shortcodes/leak.html")


def test_a_template_link_that_cannot_be_read_is_an_error_and_an_editors_lock_file_is_ignored(site_dir):
    shortcodes = site_dir / "templates/shortcodes"
    shortcodes.mkdir(parents=True)
    (shortcodes / ".#note.html").symlink_to("ada@laptop.4242:1700000000")   # Emacs: note.html is open
    (site_dir / "content/posts/.#first-post.md").symlink_to("ada@laptop.4242:1700000000")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0 and "warning: a symlink" not in result.stderr, result.stderr
    (shortcodes / "loop.html").symlink_to("loop.html")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert "templates/shortcodes/loop.html: error: template is a symlink to loop.html, which cannot be read" in result.stderr


def test_a_static_or_templates_folder_that_is_itself_a_link_outside_is_an_error(site_dir, tmp_path):
    outside = outside_file(tmp_path).parent
    (outside / "robots.txt").write_text("{{ '" + SECRET + "' }}")
    (site_dir / "templates").symlink_to(outside)
    assert_refused(run_build(cwd=site_dir), site_dir, "templates")
    (site_dir / "templates").unlink()
    shutil.rmtree(site_dir / "static")
    (site_dir / "static").symlink_to(outside)
    assert_refused(run_build(cwd=site_dir), site_dir, "static")


def test_a_link_into_the_projects_git_folder_is_an_error_not_a_published_file(site_dir):
    # static/config.txt -> ../.git/config published the token actions/checkout keeps there.
    (site_dir / ".git").mkdir()
    (site_dir / ".git" / "config").write_text(SECRET)
    (site_dir / "static").mkdir(exist_ok=True)
    (site_dir / "static" / "config.txt").symlink_to("../.git/config")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "static/config.txt: error: static file leads into a hidden file or folder of the project" in result.stderr
    assert SECRET not in published(site_dir)
    # A hidden folder inside static/ (.well-known) is the site's own, and published.
    (site_dir / "static" / "config.txt").unlink()
    (site_dir / "static" / ".well-known").mkdir()
    (site_dir / "static" / ".well-known" / "security.txt").write_text("Contact: me")
    assert run_build(cwd=site_dir).returncode == 0
    assert (site_dir / "site" / ".well-known" / "security.txt").is_file()


def test_a_folder_linked_inside_the_project_is_published_from_a_bundle_and_from_static(site_dir):
    # `bundle/shared -> ../../../shared` and `static/shared -> ../shared`: their files were left out
    # silently and links to them were false errors; Hugo publishes the bundle's (found by review).
    (site_dir / "shared").mkdir()
    (site_dir / "shared/h.txt").write_text("shared")
    (site_dir / "content/posts/bundle-post/shared").symlink_to("../../../shared")
    (site_dir / "static/shared").symlink_to("../shared")
    post = site_dir / "content/posts/bundle-post/index.md"
    post.write_text(post.read_text() + "\n[a](shared/h.txt) [b](/shared/h.txt)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert (site_dir / "site/posts/bundle-post/shared/h.txt").read_text() == "shared"
    assert (site_dir / "site/shared/h.txt").read_text() == "shared"
    (site_dir / "content/posts/bundle-post/up").symlink_to("/etc")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and "bundle-post/up: error: bundle file leads outside the project" in result.stderr


@pytest.mark.parametrize("where, target", [("static/all", ".."), ("static/out", "../site"), ("static/b", "../build"),
                                           ("static/c", "../content"), ("content/posts/bundle-post/root", "../../..")])
def test_a_linked_folder_that_holds_or_is_inside_what_the_build_reads_or_writes_is_refused(site_dir, where, target):
    # `static/all -> ..` published the project (.github, drafts' sources, the last site) and the site
    # grew at every build (found by review).
    (site_dir / ".github").mkdir()
    (site_dir / ".github/secret.yml").write_text("secret: x")
    assert run_build(cwd=site_dir).returncode == 0        # site/ and build/ exist
    (site_dir / where).symlink_to(target)
    result = run_build(cwd=site_dir)
    assert result.returncode == 1 and f"{where}: error:" in result.stderr and "a folder that holds or is inside" \
        in result.stderr, result.stderr
    assert not [path for path in (site_dir / "site").rglob("*") if path.name == "secret.yml"]


def test_two_links_to_one_folder_chained_are_followed_once_each_not_doubled(site_dir):
    static = site_dir / "static"
    for level in range(1, 13):
        (static / f"L{level}").mkdir()
        if level < 12:
            for name in "ab":
                (static / f"L{level}" / name).symlink_to(f"../L{level + 1}")
    (static / "L12/f.txt").write_text("x")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    assert len([path for path in (site_dir / "site").rglob("f.txt")]) <= 2     # was 2**11


def test_a_folder_linked_under_content_is_published_and_content_files_replace_the_themes(site_dir):
    (site_dir / "imgsrc").mkdir()
    (site_dir / "imgsrc/p.png").write_bytes(b"png")
    (site_dir / "content/img").symlink_to("../imgsrc")
    (site_dir / "content/favicon.svg").write_text("<svg>mine</svg>")       # the theme has one
    (site_dir / "content/robots.txt").write_text("User-agent: *\n")
    post = site_dir / "content/posts/first-post.md"
    post.write_text(post.read_text() + "\n![p](/img/p.png)\n")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    site = site_dir / "site"
    assert (site / "img/p.png").read_bytes() == b"png" and (site / "favicon.svg").read_text() == "<svg>mine</svg>"
    assert (site / "robots.txt").read_text() == "User-agent: *\n"

"""Edge cases an outside review found in bundle images, symlinks and serve's settings.

Each test failed before its fix: a bundle image's name with a space, two images with one
stem, a symlink loop anywhere in the project, a post swapped for a symlink after the folder
was listed, and a runpost.toml saved half-written while serve runs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_build

Image = pytest.importorskip("PIL.Image")
FRONT = "---\ntitle: {t}\ndate: 2024-01-01\n---\n"


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "content/posts").mkdir(parents=True)
    (root / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n')
    return root


def build(root: Path):
    return run_build(cwd=root)


# 1a: a bundle image whose name has a space (or a comma) now fails the build
def test_bundle_image_with_a_space_in_its_name_builds(tmp_path):
    root = project(tmp_path)
    bundle = root / "content/posts/b"
    bundle.mkdir()
    Image.new("RGB", (300, 200), "blue").save(bundle / "my plot.png")
    (bundle / "index.md").write_text(FRONT.format(t="B") + "![p](my%20plot.png)\n")
    result = build(root)
    assert result.returncode == 0, result.stderr   # was: links to /posts/b/my, which the site does not contain
    page = (root / "site/posts/b/index.html").read_text()
    assert 'srcset="my%20plot.webp 300w"' in page and (root / "site/posts/b/my plot.webp").is_file()


# 1b: dot.png and dot.jpg in one bundle share the copy dot.webp: the PNG shows the JPEG's pixels
def test_two_images_with_one_stem_do_not_share_a_webp_copy(tmp_path):
    root = project(tmp_path)
    bundle = root / "content/posts/b"
    bundle.mkdir()
    Image.new("RGB", (300, 200), "blue").save(bundle / "dot.png")
    Image.new("RGB", (300, 200), "red").save(bundle / "dot.jpg")
    (bundle / "index.md").write_text(FRONT.format(t="B") + "![blue](dot.png)\n\n![red](dot.jpg)\n")
    result = build(root)
    assert result.returncode == 0, result.stderr
    page = (root / "site/posts/b/index.html").read_text()
    blue = page.split('alt="blue"')[0].rsplit("<picture>", 1)[-1]
    webp = blue.split('srcset="')[1].split(" ")[0] if "srcset" in blue else None
    if webp:                                    # what a WebP browser fetches for the blue image
        with Image.open(root / "site/posts/b" / webp) as image:
            assert image.convert("RGB").getpixel((5, 5))[2] > 200, "the blue PNG is shown red"


# 2: a looping symlink still ends in an internal error (bundle file, static file, content/posts)
@pytest.mark.parametrize("where", ["content/posts/b/loop.png", "static/loop.css", "content/posts"])
def test_a_looping_symlink_is_a_located_message_not_an_internal_error(tmp_path, where):
    root = project(tmp_path)
    if where == "content/posts":
        (root / "content/posts").rmdir()
        (root / "content/about.md").write_text(FRONT.format(t="A"))
    else:
        (root / "content/posts/b").mkdir()
        (root / "content/posts/b/index.md").write_text(FRONT.format(t="B") + "x\n")
        (root / where).parent.mkdir(parents=True, exist_ok=True)
    (root / where).symlink_to((root / where).name)
    result = build(root)
    assert "internal error" not in result.stderr, result.stderr
    if where.startswith("static/"):
        assert result.returncode == 0, result.stderr   # skipped, as a dangling static link is
    else:
        assert f"{where}: " in result.stderr


# 3a: a post that becomes a symlink outside the project after the folder listing is read
def test_post_swapped_for_an_outside_symlink_after_the_listing_is_refused(tmp_path):
    from runpost.config import load_config
    from runpost.content.load import load_posts, parse_post
    from runpost.errors import BuildErrors

    root = project(tmp_path)
    posts = root / "content/posts"
    for name in ("a", "b"):
        (posts / f"{name}.md").write_text(FRONT.format(t=name) + "Prose.\n")
    secret = tmp_path / "outside.md"
    secret.write_text(FRONT.format(t="s") + "TOP-SECRET\n")

    def parse(path, text, bundle, languages=()):
        if path.name == "a.md":          # b.md changes after the listing, before it is read
            (posts / "b.md").unlink()
            (posts / "b.md").symlink_to(secret)
        return parse_post(path, text, bundle, languages)

    try:
        loaded = load_posts(load_config(root), parse=parse)
    except BuildErrors as errors:
        assert "outside the project" in str(errors.errors[0])
        return
    assert not any("TOP-SECRET" in post.body for post in loaded), "outside file read as a post"


# 3b: serve: an invalid runpost.toml saved while serving escapes rebuild()
def test_serve_rebuild_reports_an_invalid_config_instead_of_raising(tmp_path, monkeypatch):
    from runpost.config import load_config
    from runpost.report import Reporter
    from runpost.serve.preview import Preview

    root = project(tmp_path)
    (root / "content/posts/a.md").write_text(FRONT.format(t="a") + "Prose.\n")
    monkeypatch.chdir(root)
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    (root / "runpost.toml").write_text('title = "T\n')
    assert preview.rebuild() is False          # was: BuildError raised out of rebuild (a Timer thread died)
    assert "invalid TOML" in preview.error


def test_a_post_that_cannot_be_read_is_an_error_at_its_path(tmp_path, monkeypatch):
    # Found by review (a post symlinked to a file without read permission); as root every file
    # reads, so the refusal is simulated.
    from runpost.config import load_config
    from runpost.content.load import load_posts
    from runpost.errors import BuildErrors

    root = project(tmp_path)
    (root / "content/posts/locked.md").write_text(FRONT.format(t="L") + "Prose.\n")
    real = Path.read_bytes

    def refuse(path):
        if path.name == "locked.md":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(BuildErrors) as raised:
        load_posts(load_config(root))
    assert str(raised.value.errors[0]).endswith("locked.md: error: cannot read the post: Permission denied")


def test_text_the_writer_typed_that_looks_like_a_placeholder_stays_as_written(site_dir):
    # From a review: `RPSC0001X` typed in prose became the output of the post's first call, and a
    # typed `RPSUMMARYDIVIDERX` became the summary divider, its word lost.
    (site_dir / "content/posts/tok.md").write_text(
        "---\ntitle: Tok\ndate: 2024-01-03\nauthor: Jane\n---\n\n"
        "Token RPSC0000X and RPSC0001X here, by {{< param author >}}.\n\n"
        "Second RPSUMMARYDIVIDERX in text, `RPSC0002X` and rpsc0003x.\n\n## Head RPSC0001X\n\nMore.\n", encoding="utf-8")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = (site_dir / "site/posts/tok/index.html").read_text(encoding="utf-8")
    assert "<p>Token RPSC0000X and RPSC0001X here, by Jane.</p>" in page
    assert "<p>Second RPSUMMARYDIVIDERX in text, <code>RPSC0002X</code> and rpsc0003x.</p>" in page
    assert '<h2 id="head-rpsc0001x">Head RPSC0001X</h2>' in page
    home = (site_dir / "site/index.html").read_text(encoding="utf-8")
    assert "Token RPSC0000X and RPSC0001X here, by Jane. Second RPSUMMARYDIVIDERX in text" in home


def test_token_like_text_in_any_case_keeps_its_paragraph_and_its_heading_id(site_dir):
    # From a review: `## Part Rpsc0001x` took the id of the post's first call ("part-mix"), and a
    # paragraph of only `RPSC0002X` lost its <p> (in a quote too), as if it were a block's placeholder.
    (site_dir / "content/posts/mix.md").write_text(
        "---\ntitle: Mix\ndate: 2024-04-05\n---\n\n## Part Rpsc0001x\n\nBy {{< param title >}}.\n\n"
        "RPSC0002X\n\n> RPSC0003X\n\n{{< highlight go >}}\nx\n{{< /highlight >}}\n", encoding="utf-8")
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    page = (site_dir / "site/posts/mix/index.html").read_text(encoding="utf-8")
    assert '<h2 id="part-rpsc0001x">Part Rpsc0001x</h2>\n<p>By Mix.</p>\n<p>RPSC0002X</p>' in page
    assert "<blockquote>\n<p>RPSC0003X</p>\n</blockquote>" in page

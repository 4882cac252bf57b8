"""site/variants.py: WebP copies at a few widths (srcset), made once and identically; lazy loading."""
from __future__ import annotations

import functools
import io
import sys
from pathlib import Path

import pytest

from runpost.site.variants import VariantMaker, lazy, lighten

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")


def plot(path: Path, width: int = 1300, height: int = 1000) -> Path:
    """A PNG like a matplotlib figure: thin lines and text-like marks on white (drawn once per size)."""
    path.write_bytes(_plot_png(width, height))
    return path


@functools.lru_cache(maxsize=None)
def _plot_png(width: int, height: int) -> bytes:
    image = Image.new("RGBA", (width * 2, height * 2), "white")
    draw = ImageDraw.Draw(image)
    for step in range(0, width * 2, 30):
        draw.line([(step, height * 2), (width * 2 - step, step * height // width)], fill=(31, 119, 180, 255), width=5)
        draw.text((step, 10 + step % 300), f"{step}", fill="black")
    # Drawn at twice the size and shrunk: antialiased edges, as matplotlib draws them.
    out = io.BytesIO()
    image.resize((width, height), Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One cache folder for the tests that look at the copies and the markup, not at when they were
    encoded: the plot's copies are encoded once (0.4 s of CPU each time), as a second build finds them."""
    return tmp_path_factory.mktemp("webp-cache")


def tag(path: str = "/p/loss.png", extra: str = "") -> str:
    return f'<img src="{path}" alt="Loss" width="624" height="480"{extra}>'


def test_figure_gets_a_webp_source_at_a_few_widths_and_keeps_its_png(tmp_path, shared_cache):
    files = {"/p/loss.png": plot(tmp_path / "loss.png")}
    maker = VariantMaker(shared_cache)
    html = lighten(tag(), files, maker)
    assert html.startswith('<picture><source type="image/webp" srcset="/p/loss-480w.webp 480w, '
                           '/p/loss-800w.webp 800w')
    assert html.endswith(' sizes="(max-width: 624px) 100vw, 624px">' + tag() + "</picture>")
    assert "1300w" in html                      # the full width stays available for wide, dense screens
    assert set(maker.made) >= {"/p/loss-480w.webp", "/p/loss-800w.webp"}
    assert all(Image.open(file).format == "WEBP" for file in maker.made.values())
    assert Image.open(maker.made["/p/loss-800w.webp"]).size == (800, 615)


def test_each_listed_copy_is_lighter_than_every_wider_one(tmp_path, shared_cache):
    files = {"/p/loss.png": plot(tmp_path / "loss.png")}
    maker = VariantMaker(shared_cache)
    variants = maker.variants("/p/loss.png", files["/p/loss.png"], files)
    sizes = [(maker.made.get(path) or files[path]).stat().st_size for path, _ in variants]
    assert [width for _, width in variants] == sorted(width for _, width in variants)
    assert sizes == sorted(sizes) and sizes[-1] <= files["/p/loss.png"].stat().st_size


def test_copies_are_byte_identical_across_builds_and_made_once(tmp_path, monkeypatch):
    files = {"/p/loss.png": plot(tmp_path / "loss.png")}
    first, second = VariantMaker(tmp_path / "one"), VariantMaker(tmp_path / "two")
    assert lighten(tag(), files, first) == lighten(tag(), files, second)
    assert {path: file.read_bytes() for path, file in first.made.items()} == \
        {path: file.read_bytes() for path, file in second.made.items()}
    saves = []
    monkeypatch.setattr(Image.Image, "save", lambda self, *args, **kwargs: saves.append(args))
    lighten(tag(), files, VariantMaker(tmp_path / "one"))      # same cache: nothing is encoded again
    assert saves == []


@pytest.mark.parametrize("damage", ["cut short", "replaced", "a folder"])
def test_a_damaged_copy_in_the_cache_is_made_again_not_published(tmp_path, damage):
    # A copy cut short (or replaced by another image) was copied into the site as it was: the
    # readers' browsers, which pick the WebP, showed a broken or wrong figure.
    files = {"/p/loss.png": plot(tmp_path / "loss.png", width=600, height=400)}       # (two copies: quick)
    clean = VariantMaker(tmp_path / "clean")
    lighten(tag(), files, clean)
    expected = {path: file.read_bytes() for path, file in clean.made.items()}
    lighten(tag(), files, VariantMaker(tmp_path / "cache"))
    kept = sorted((tmp_path / "cache").glob("*.webp"))
    assert len(kept) == len(expected)
    for path in kept:
        if damage == "a folder":
            path.unlink()
            path.mkdir()
        else:
            path.write_bytes(path.read_bytes()[:30] if damage == "cut short" else kept[0].read_bytes()[::-1])
    (tmp_path / "cache" / ("a" * 64 + ".webp")).mkdir()       # a folder named as copies once were
    again = VariantMaker(tmp_path / "cache")
    lighten(tag(), files, again)
    assert {path: file.read_bytes() for path, file in again.made.items()} == expected
    assert len(list((tmp_path / "cache").glob("*.webp"))) == len(expected)      # the damaged ones are gone


def test_without_pillow_images_are_left_alone_but_still_lazy(tmp_path, monkeypatch):
    files = {"/p/loss.png": plot(tmp_path / "loss.png")}
    monkeypatch.setitem(sys.modules, "PIL", None)
    html = lighten("<p>a</p>" + tag() + tag("/p/loss.png"), files, VariantMaker(tmp_path / "cache"))
    assert html == "<p>a</p>" + tag() + tag("/p/loss.png", ' loading="lazy"')


def test_every_image_but_the_first_loads_lazily():
    assert lazy('<img src="a.png" loading="lazy">', first=True) == '<img src="a.png">'
    assert lazy('<img src="a.png" />', first=False) == '<img src="a.png" loading="lazy" />'
    assert lazy('<img src="a.png" loading="eager">', first=False) == '<img src="a.png" loading="eager">'


def test_images_the_build_does_not_know_get_no_copies(tmp_path):
    html = '<img src="https://example.org/x.png" alt="x">'
    assert lighten(html, {}, VariantMaker(tmp_path / "cache")) == html


def test_dark_variant_gets_its_own_webp_source_first(tmp_path, shared_cache):
    files = {"/p/loss.png": plot(tmp_path / "loss.png"), "/p/loss.dark.png": plot(tmp_path / "dark.png")}
    dark = '<picture><source srcset="/p/loss.dark.png" media="(prefers-color-scheme: dark)">' + tag() + "</picture>"
    html = lighten(dark, files, VariantMaker(shared_cache))
    sources = html.split("<source ")[1:]
    assert sources[0].startswith('type="image/webp" srcset="/p/loss.dark-480w.webp 480w')
    assert sources[0].endswith(' media="(prefers-color-scheme: dark)">')
    assert sources[1] == 'srcset="/p/loss.dark.png" media="(prefers-color-scheme: dark)">'
    assert sources[2].startswith('type="image/webp" srcset="/p/loss-480w.webp 480w')
    assert html.count("<picture>") == 1 and html.endswith(tag() + "</picture>")


def photo(path: Path, width: int = 1000, height: int = 600) -> Path:
    """A PNG with a photograph's colours: smooth gradients and noise, far more than 4,096 colours."""
    import random
    noise = random.Random(7).randbytes(width * height)
    across = Image.linear_gradient("L").rotate(90).resize((width, height))     # dark to light, left to right
    down = Image.linear_gradient("L").resize((width, height))                  # and top to bottom
    Image.merge("RGB", (across, down, Image.frombytes("L", (width, height), noise))).save(path)
    return path


def test_a_graphics_narrower_copies_keep_at_most_256_colours_and_a_photographs_are_lossy(tmp_path):
    files = {"/p/loss.png": plot(tmp_path / "loss.png"), "/p/photo.png": photo(tmp_path / "photo.png")}
    maker = VariantMaker(tmp_path / "cache")
    maker.variants("/p/loss.png", files["/p/loss.png"], files)
    maker.variants("/p/photo.png", files["/p/photo.png"], files)
    with Image.open(maker.made["/p/loss-800w.webp"]) as graphic:
        assert graphic.convert("RGBA").getcolors(256) is not None       # a palette of at most 256
    with Image.open(files["/p/loss.png"]) as original, Image.open(maker.made["/p/loss.webp"]) as full:
        assert full.convert("RGBA").tobytes() == original.convert("RGBA").tobytes()   # full width: exact
    narrower = [path for path in maker.made if path.startswith("/p/photo-")]
    assert narrower
    for path in narrower:
        with Image.open(maker.made[path]) as copy:
            assert copy.convert("RGB").getcolors(4096) is None           # not reduced to a palette


def test_a_phone_photo_stored_sideways_gets_upright_copies_sized_as_shown_with_its_colour_profile(tmp_path):
    # EXIF orientation 6: stored 300x200, shown 200x300. The copies carry no orientation, so they
    # were shown sideways (and the <img> got the stored size).
    import numpy
    from PIL import ImageCms
    from runpost.site.images import size_images
    pixels = numpy.asarray(Image.open(photo(tmp_path / "scene.png", 1000, 600))).copy()
    pixels[:, :500] = (255, 0, 0)           # the stored left half is red: shown upright, the top half
    stored = Image.fromarray(pixels)
    exif = stored.getexif()
    exif[0x0112] = 6
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    stored.save(tmp_path / "phone.jpg", exif=exif, icc_profile=profile, quality=95)
    files = {"/p/phone.jpg": tmp_path / "phone.jpg"}
    sized = size_images('<img src="/p/phone.jpg" alt="Phone">', files)
    assert 'width="600" height="1000"' in sized
    maker = VariantMaker(tmp_path / "cache")
    html = lighten(sized, files, maker)
    assert "/p/phone-480w.webp 480w" in html
    copy = Image.open(maker.made["/p/phone-480w.webp"])
    assert copy.size == (480, 800) and copy.info.get("icc_profile") == profile
    red = lambda xy: (lambda r, g, b: r > 200 and g < 60 and b < 60)(*copy.convert("RGB").getpixel(xy))
    assert red((240, 40)) and not red((240, 760))


def test_a_16_bit_grey_image_keeps_its_tones_in_its_copies(tmp_path):
    # WebP's encoder clipped 16-bit values: a depth map's copy came out 99% white.
    import numpy
    ramp = numpy.linspace(0, 40950, 1000 * 600).reshape(600, 1000).astype(numpy.uint16)
    Image.fromarray(ramp).save(tmp_path / "depth.png")
    maker = VariantMaker(tmp_path / "cache")
    lighten('<img src="/p/depth.png" alt="Depth" width="1000" height="600">', {"/p/depth.png": tmp_path / "depth.png"}, maker)
    shown = numpy.asarray(Image.open(maker.made["/p/depth-480w.webp"]).convert("L"))
    assert (shown == 255).mean() < 0.01 and abs(int(shown.max()) - 40950 // 257) <= 12   # (a graphic: 256 colours)


def test_a_percentage_width_is_not_read_as_pixels_for_sizes(tmp_path, shared_cache):
    files = {"/p/loss.png": plot(tmp_path / "loss.png")}
    html = lighten('<img src="/p/loss.png" alt="Loss" width="50%">', files, VariantMaker(shared_cache))
    assert 'sizes="100vw"' in html and "50px" not in html


def test_a_bundles_own_figure_named_relative_to_its_page_gets_webp_copies(tmp_path, shared_cache):
    # `{{< figure src="loss.png" >}}` in the bundle of /p/: the copies are the bundle's files too.
    files = {"/p/loss.png": plot(tmp_path / "loss.png")}
    maker = VariantMaker(shared_cache)
    html = lighten(tag("loss.png"), files, maker, "/p/")
    assert html.startswith('<picture><source type="image/webp" srcset="/p/loss-480w.webp 480w, ')
    assert html.endswith(tag("loss.png") + "</picture>")
    assert set(maker.made) >= {"/p/loss-480w.webp", "/p/loss-800w.webp"}
    assert maker.missing(tag("loss.png"), files, "/p/") == []       # made above, so none is missing
    assert lighten(tag("loss.png"), files, maker, "/q/") == tag("loss.png")   # another page's loss.png


def test_an_img_in_a_script_or_comment_is_text_and_stays_as_written(tmp_path, shared_cache):
    files = {"/p/loss.png": plot(tmp_path / "loss.png")}
    maker = VariantMaker(shared_cache)
    for text in ('<script>var s = "<img src=/p/loss.png>";</script>', '<!-- <img src="/p/loss.png"> -->'):
        assert lighten(text, files, maker, "/p/") == text
        assert maker.missing(text, files, "/p/") == []
    assert lighten('<img src="/p/loss.png" alt="a > b">', files, maker, "/p/").startswith(
        '<picture><source type="image/webp" srcset="/p/loss-480w.webp 480w, ')


def test_the_webp_copies_are_of_the_src_a_browser_loads(tmp_path, shared_cache):
    # src, width and loading are read as attributes (found by review: a regular expression read
    # src from inside alt, so WebP browsers were sent another picture).
    files = {"/p/loss.png": plot(tmp_path / "loss.png"), "/p/other.png": plot(tmp_path / "other.png", 800, 600)}
    maker = VariantMaker(shared_cache)
    html = lighten('<img alt="see src=\'/p/other.png\' width=7" src="/p/loss.png">', files, maker, "/p/")
    assert "/p/loss-480w.webp" in html and "other" not in html.split("<img")[0]
    assert 'sizes="100vw"' in html
    assert lazy('<img src=q/>', first=False) == '<img src=q/ loading="lazy">'      # src stays "q/"
    assert lazy('<img src="q" loading="lazy" alt="a">', first=True) == '<img src="q" alt="a">'


def test_a_dark_picture_is_only_the_one_images_py_wrote(tmp_path):
    from runpost.site.html_tags import image_tags

    written = '<picture><source srcset="d.png" media="(prefers-color-scheme: dark)"><img src="z.png"></picture>'
    assert [image.dark for image in image_tags(written)] == ["d.png"]
    inside_a_value = '<a title=<picture><source srcset="d.png" media="(prefers-color-scheme: dark)"><img src="z.png"></picture>'
    assert [image.dark for image in image_tags(inside_a_value)] == [None]


def test_an_img_whose_sources_the_author_chose_gets_no_picture_of_ours(tmp_path, shared_cache):
    # A <picture> inside the author's <picture> is not valid HTML, and a WebP <source> without media
    # would win over the srcset the author wrote (a 2x screen would get our copy, not their 2x file).
    files = {"/p/loss.png": plot(tmp_path / "loss.png"), "/p/loss@2x.png": plot(tmp_path / "loss2.png")}
    theirs = f'<picture>\n  <source srcset="/p/loss.png" type="image/png">\n  {tag()}\n</picture>'
    with_srcset = tag(extra=' srcset="/p/loss.png 1x, /p/loss@2x.png 2x"')
    maker = VariantMaker(shared_cache)
    assert lighten(theirs, files, maker) == theirs
    assert lighten(with_srcset, files, maker) == with_srcset     # the first image: not lazy either
    assert maker.missing(theirs + with_srcset, files) == [] and maker.made == {}
    # After the author's </picture>, images are ours to wrap again.
    assert lighten(theirs + tag(), files, maker).startswith(theirs + '<picture><source type="image/webp"')


def test_a_param_preview_shows_the_pngs_and_a_later_real_build_still_gets_the_copies(tmp_path):
    # A --param preview is for the author's eyes: no copies are made for it (2 of the article's
    # 9 s quick preview), and no page it rendered is reused by a real build from the same cache.
    from runpost.config import load_config
    from runpost.pipeline import build
    from runpost.render_cache import RenderCache
    from runpost.report import Reporter

    bundle = tmp_path / "content" / "posts" / "p"
    bundle.mkdir(parents=True)
    plot(bundle / "loss.png")
    (bundle / "index.md").write_text("---\ntitle: P\ndate: 2024-01-01\nparams:\n  n: 1\n---\n\n![Loss](loss.png)\n",
                                     encoding="utf-8")
    cache = RenderCache(tmp_path / "build" / ".cache" / "render")
    for params, output in (({"n": "2"}, "preview"), ({}, "site"), ({"n": "2"}, "preview-again")):
        config = load_config(tmp_path, output_dir=tmp_path / output, params=params)
        build(config, Reporter(quiet=True), cache)
    for output, copies in (("preview", False), ("site", True), ("preview-again", False)):
        page = (tmp_path / output / "posts" / "p" / "index.html").read_text(encoding="utf-8")
        assert ('type="image/webp"' in page) is copies, output
        assert bool(list((tmp_path / output / "posts" / "p").glob("*.webp"))) is copies, output
        assert 'alt="Loss"' in page


def test_an_image_whose_copies_names_would_be_too_long_keeps_its_name_and_gets_no_copies(tmp_path, shared_cache):
    # A valid 246-character photo name: its `-1200w.webp` copy's name was past the file system's
    # 255 bytes, and the build failed without a file to blame (found by review).
    name = "p" * 246 + ".png"
    files = {f"/p/{name}": plot(tmp_path / name)}
    maker = VariantMaker(shared_cache)
    html = lighten(tag(f"/p/{name}"), files, maker)
    assert "<picture>" not in html and ".webp" not in html and not maker.made


def test_an_alias_where_an_images_webp_copy_is_is_an_error_at_the_alias(site_dir):
    # From a review: `aliases: ["/posts/b/photo.webp"]` made the copy's path a folder holding the
    # redirect, exit 0; post b's <picture> then offered a WebP that was a folder.
    from conftest import run_build

    pytest.importorskip("PIL")
    (site_dir / "content/posts/b").mkdir()
    plot(site_dir / "content/posts/b/photo.png", 300, 200)
    (site_dir / "content/posts/b/index.md").write_text("---\ntitle: B\ndate: 2024-01-01\n---\n\n![p](photo.png)\n")
    (site_dir / "content/posts/al.md").write_text(
        '---\ntitle: Al\ndate: 2024-01-02\naliases: ["/posts/b/photo.webp"]\n---\n\nHi.\n')
    result = run_build(cwd=site_dir)
    assert result.returncode == 1, result.stderr
    assert ("content/posts/al.md:4:1: error: alias '/posts/b/photo.webp' would replace a page or file of the site "
            "(/posts/b/photo.webp)") in result.stderr

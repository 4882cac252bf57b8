"""site.images.size_images: width/height from the file, and a dark variant through <picture>."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

from runpost.site.images import image_size, size_images


def png(path: Path, width: int, height: int, dpi: float | None = None) -> Path:
    """A valid grey PNG; with a pHYs chunk when dpi is given (as matplotlib writes one)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    physical = chunk(b"pHYs", struct.pack(">IIB", round(dpi / 0.0254), round(dpi / 0.0254), 1)) if dpi else b""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + physical + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def test_image_the_code_wrote_gets_its_size(tmp_path):
    files = {"/fig/loss.png": png(tmp_path / "loss.png", 30, 20)}
    assert size_images('<p><img alt="Loss" src="/fig/loss.png"></p>', files) == \
        '<p><img alt="Loss" src="/fig/loss.png" width="30" height="20"></p>'


def test_high_dpi_png_is_sized_in_css_pixels_as_drawn(tmp_path):
    # matplotlib at savefig.dpi=200: 400 px are 2 inches, 192 CSS pixels.
    assert image_size(png(tmp_path / "a.png", 400, 300, dpi=200)) == (192, 144)
    assert image_size(png(tmp_path / "b.png", 40, 30, dpi=72)) == (40, 30)   # never enlarged


def test_dark_variant_beside_the_image_is_served_to_dark_mode(tmp_path):
    files = {"/fig/loss.png": png(tmp_path / "loss.png", 30, 20), "/fig/loss.dark.png": png(tmp_path / "d.png", 30, 20)}
    assert size_images('<img src="/fig/loss.png" alt="Loss" />', files) == (
        '<picture><source srcset="/fig/loss.dark.png" media="(prefers-color-scheme: dark)">'
        '<img src="/fig/loss.png" alt="Loss" width="30" height="20" /></picture>')


def test_unknown_images_and_given_sizes_are_left_alone(tmp_path):
    files = {"/fig/loss.png": png(tmp_path / "loss.png", 30, 20)}
    for tag in ('<img src="https://example.org/x.png">', '<img src="/fig/other.png">',
                '<img src="/fig/loss.png" width="10">', '<img src="/fig/loss.png" alt="F" height="20">',
                '<img src="/fig/loss.png" HEIGHT="40">'):
        # (A height alone was given a width and a second height: invalid HTML, 400 px wide icons.)
        assert size_images(tag, files) == tag


def test_a_bundles_own_image_named_relative_to_its_page_gets_its_size(tmp_path):
    # In the bundle of /posts/x/, `dot.png` (Markdown, figure shortcode) is /posts/x/dot.png.
    files = {"/posts/x/dot.png": png(tmp_path / "dot.png", 30, 20)}
    for src in ("dot.png", "./dot.png", "/posts/x/dot.png", "../x/dot.png"):
        assert size_images(f'<img src="{src}" alt="A dot">', files, "/posts/x/") == \
            f'<img src="{src}" alt="A dot" width="30" height="20">'
    # Another page's file of the same name, or a root-relative name, is not this one.
    assert size_images('<img src="dot.png">', files, "/posts/y/") == '<img src="dot.png">'
    assert size_images('<img src="dot.png">', files) == '<img src="dot.png">'


def test_only_the_img_tags_a_browser_reads_are_sized_and_whole(tmp_path):
    # The tags come from html_tags.py: a '>' in a quoted value is inside the tag (a regular
    # expression cut the tag there and wrote the size into the alt text), an <img> in a
    # script's string or a comment is text, and an attribute's value is not an attribute.
    files = {"/fig/loss.png": png(tmp_path / "loss.png", 30, 20)}
    assert size_images('<img src="/fig/loss.png" alt="accuracy > 90%">', files) == \
        '<img src="/fig/loss.png" alt="accuracy > 90%" width="30" height="20">'
    for text in ('<script>var s = "<img src=/fig/loss.png>";</script>', '<!-- <img src="/fig/loss.png"> -->',
                 '<img alt=\' src="/fig/loss.png"\' src="/fig/other.png">', '<img src=/fig/loss.png/>'):
        assert size_images(text, files) == text
    assert size_images('<img src=/fig/loss.png />', files) == '<img src=/fig/loss.png width="30" height="20" />'


def test_an_img_in_the_authors_picture_or_with_a_srcset_is_sized_but_not_wrapped(tmp_path):
    files = {"/fig/loss.png": png(tmp_path / "loss.png", 30, 20), "/fig/loss.dark.png": png(tmp_path / "d.png", 30, 20)}
    theirs = '<picture><source srcset="/fig/other.png" type="image/png"><img src="/fig/loss.png" alt="L"></picture>'
    assert size_images(theirs, files) == theirs.replace('alt="L">', 'alt="L" width="30" height="20">')
    with_srcset = '<img src="/fig/loss.png" srcset="/fig/loss.png 1x" alt="L">'
    assert size_images(with_srcset, files) == with_srcset.replace('alt="L">', 'alt="L" width="30" height="20">')
    # A dark <picture> already written as images.py writes one (by hand, or a second pass) is not wrapped twice.
    once = size_images('<img src="/fig/loss.png" alt="L">', files)
    assert once.startswith("<picture>") and size_images(once, files) == once


def test_pillows_decompression_bomb_warning_is_not_printed_among_the_builds_lines(tmp_path):
    # A 90-megapixel photo printed a raw Python warning, outside the `path:line: message` format.
    # In a process of its own, as a build runs (pytest installs its own warning filters).
    import subprocess
    import sys
    __import__("pytest").importorskip("PIL.Image")
    script = ("import runpost.site.images; from PIL import Image; Image.MAX_IMAGE_PIXELS = 100;"
              f"Image.new('L', (20, 10)).save({str(tmp_path / 'big.png')!r}); Image.open({str(tmp_path / 'big.png')!r}).load()")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).parent.parent)
    assert result.returncode == 0 and "exceeds limit" not in result.stderr, result.stderr


def test_a_png_with_an_exif_orientation_is_sized_as_shown(tmp_path):
    # Its WebP copies were turned upright and its <img> kept the stored size (found by review).
    Image = __import__("pytest").importorskip("PIL.Image")
    stored = Image.new("RGB", (160, 90))
    exif = stored.getexif()
    exif[0x0112] = 6
    stored.save(tmp_path / "shot.png", exif=exif)
    assert image_size(tmp_path / "shot.png") == (90, 160)


def test_an_image_of_the_sites_static_folder_gets_its_size_on_the_page(site_dir):
    # From a review: `![x](/images/wide.png)` of static/ had no width or height (the usual Hugo
    # habit), so the text below jumped when it arrived; a bundle's image had them.
    from conftest import run_build

    png(site_dir / "static/images/wide.png", 40, 30)
    (site_dir / "content/images").mkdir(parents=True, exist_ok=True)
    png(site_dir / "content/images/loose.png", 20, 10)
    (site_dir / "content/posts/st.md").write_text(
        '---\ntitle: St\ndate: 2024-01-05\n---\n\n![x](/images/wide.png)\n\n{{< figure src="/images/loose.png" alt="l" >}}\n')
    assert run_build(cwd=site_dir).returncode == 0
    page = (site_dir / "site/posts/st/index.html").read_text(encoding="utf-8")
    assert '<img alt="x" src="../../images/wide.png" width="40" height="30">' in page
    assert 'src="../../images/loose.png"' in page and 'width="20" height="10"' in page


def test_a_png_whose_header_gives_no_drawable_size_gets_none(tmp_path):
    # From a review: a damaged IHDR gave width="4294967295" height="1", and 0 x 0 gave width="0".
    huge, empty = png(tmp_path / "a.png", 40, 30), tmp_path / "b.png"
    data = bytearray(huge.read_bytes())
    data[16:20] = (0xFFFFFFFF).to_bytes(4, "big")
    huge.write_bytes(bytes(data))
    data[16:24] = bytes(8)
    empty.write_bytes(bytes(data))
    assert image_size(huge) is None and image_size(empty) is None
    assert size_images('<img src="/p/a.png">', {"/p/a.png": huge}) == '<img src="/p/a.png">'

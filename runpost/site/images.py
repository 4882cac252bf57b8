"""Images of files the build knows: their size on the tag, and a dark-mode variant.

    size_images(content, files) -> content

- Every `<img src>` whose file is among `files` (site path -> file: what the post's
  code wrote, its bundle's files, the site's own images of static/ and content/) gets `width` and `height`, so the browser reserves
  its box before the image arrives and the text below does not jump. The size is
  the one the image was drawn at: a PNG that records its resolution (matplotlib
  writes `savefig.dpi`) is given in CSS pixels (96 per inch), so a figure drawn at
  200 dpi is shown at its drawn size, sharp on high-density screens; CSS still
  shrinks it to narrow screens (`max-width: 100%; height: auto`).
- If the files also hold `<name>.dark.<ext>` beside `<name>.<ext>`, the image is
  wrapped in `<picture>` with a `<source>` for `prefers-color-scheme: dark`, so a
  figure drawn for dark pages replaces the light one there.

Tags that already say `width` keep their size. An `<img>` whose sources the author chose
(inside their own `<picture>`, or with a `srcset`) is sized and never wrapped: a `<picture>`
inside a `<picture>` is not valid HTML, and a `<source>` would override their choice. A `src` is looked up as the site path it
leads to from the page (`page_url`): `/posts/x/dot.png`, and in the bundle of /posts/x/
also `dot.png` or `./dot.png`, the way a bundle's page names its own files.
"""
from __future__ import annotations

import html
import re
import struct
import warnings
from pathlib import Path
from urllib.parse import quote

from .html_tags import Tag, attribute_values, image_tags, unescape_attribute, with_attributes
from .links import to_site_path

CSS_PIXELS_PER_INCH = 96
# Pillow's DecompressionBombWarning for a 90-megapixel photo: a raw Python warning in the middle of
# the build's lines. Such an image is read as any other (past twice the limit Pillow refuses it, and
# it is left as written: variants.py).
warnings.filterwarnings("ignore", message=r"Image size \(\d+ pixels\) exceeds limit", module=r"PIL\.")
ANY_IMAGE = re.compile(r"<img", re.IGNORECASE)     # a page without it has no <img> (a quick test)


def size_images(content: str, files: dict[str, Path], page_url: str = "/") -> str:
    """Each <img> a browser reads in `content` (html_tags.py), sized and wrapped as above."""
    if not ANY_IMAGE.search(content):
        return content          # most posts: not worth reading their tags
    pieces, last = [], 0
    for image in image_tags(content):
        # An <img> in the author's own <picture>, with their srcset or dark <source>, is only sized:
        # a second <picture> would not be valid HTML, and would override the sources they chose.
        wrap = not (image.chosen or image.dark)
        if (sized := _sized(content, image.tag, files, page_url, wrap)) is not None:
            pieces += [content[last:image.tag.start], sized]
            last = image.tag.end
    pieces.append(content[last:])
    return "".join(pieces)


def shown_images(content: str, page_url: str) -> list[str]:
    """The site path each <img src> a browser reads in `content` leads to (size_images' lookups)."""
    if not ANY_IMAGE.search(content):
        return []
    return [path for image in image_tags(content)
            if (path := file_of(attribute_values(content[image.tag.start:image.tag.end]).get("src", ""), page_url))]


def file_of(src: str, page_url: str) -> str:
    """The site path an `src`/`srcset` URL as written in HTML leads to from the page ("" if none)."""
    return to_site_path(unescape_attribute(src), page_url) or "" if src else ""


def url_of(site_path: str) -> str:
    """A site path as a URL in an HTML attribute: `my plot.png` -> `my%20plot.png` (a space or a
    comma would split a srcset entry)."""
    return html.escape(quote(site_path, safe="/"))


def _sized(content: str, tag: Tag, files: dict[str, Path], page_url: str, wrap: bool) -> str | None:
    """The tag with its size (and dark <picture>), or None to leave it as it is."""
    text = content[tag.start:tag.end]
    values = attribute_values(text)
    path = file_of(values.get("src", ""), page_url)
    if path not in files:
        return None
    # The author's own width or height is theirs (a height alone: the browser keeps the ratio).
    size = None if "width" in values or "height" in values else image_size(files[path])
    if size:
        text = with_attributes(text, f' width="{size[0]}" height="{size[1]}"')
    dark = dark_variant(path)
    if wrap and dark in files:
        text = f'<picture><source srcset="{url_of(dark)}" media="(prefers-color-scheme: dark)">{text}</picture>'
    return text


def dark_variant(path: str) -> str:
    """/a/loss.png -> /a/loss.dark.png"""
    stem, dot, extension = path.rpartition(".")
    return f"{stem}.dark.{extension}" if dot and "/" not in extension else ""


def image_size(file: Path) -> tuple[int, int] | None:
    """(width, height) in CSS pixels of a PNG (from its header), else via Pillow if installed; None if unknown."""
    try:
        with file.open("rb") as stream:
            head = stream.read(64 * 1024)
    except OSError:
        return None
    # A PNG with an EXIF block (eXIf, before its pixels) may be turned: Pillow reads its orientation.
    exif = b"eXIf" in head[:head.find(b"IDAT") if b"IDAT" in head else len(head)]
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" and not exif and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        if not (0 < width <= _LARGEST and 0 < height <= _LARGEST):
            return None        # a damaged header (PNG allows 1 to 2**31 - 1): no size is better than a wrong one
        dpi = _png_dpi(head)
        if dpi and dpi > CSS_PIXELS_PER_INCH:
            scale = CSS_PIXELS_PER_INCH / dpi
            return max(1, round(width * scale)), max(1, round(height * scale))
        return width, height
    try:
        from PIL import Image
        with Image.open(file) as image:
            size = shown_size(image)
    except Exception:   # no Pillow, or not an image it reads: leave the tag as it is
        return None
    return size if 0 < size[0] <= _LARGEST and 0 < size[1] <= _LARGEST else None


# Pixels a side past which a header is taken as damaged: no browser draws an image this large.
_LARGEST = 1 << 16


_SIDEWAYS = (5, 6, 7, 8)     # EXIF orientations that turn the stored image a quarter


def shown_size(image) -> tuple[int, int]:
    """(width, height) of a Pillow image as a browser shows it: a phone's photo stored sideways
    with an EXIF orientation is shown turned (CSS image-orientation: from-image)."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:    # an EXIF block Pillow cannot read: as stored
        orientation = 1
    return (image.height, image.width) if orientation in _SIDEWAYS else image.size


def _png_dpi(head: bytes) -> float | None:
    """Horizontal resolution from the pHYs chunk (pixels per metre), if it comes before the image data."""
    offset = 8
    while offset + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[offset:offset + 8])
        if kind == b"pHYs" and offset + 17 <= len(head):
            per_unit, _, unit = struct.unpack(">IIB", head[offset + 8:offset + 17])
            return per_unit * 0.0254 if unit == 1 else None
        if kind in (b"IDAT", b"IEND"):
            return None
        offset += 12 + length
    return None

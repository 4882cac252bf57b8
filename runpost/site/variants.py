"""Lighter images: WebP copies at a few widths of every PNG or JPEG a post shows, and lazy loading.

    light_images(posts, cache_dir) -> (posts with content rewritten, {site path: variant file})

- An `<img>` of a file the build knows (what the code wrote, the bundle's files) is wrapped
  in `<picture>` with a WebP `<source>` whose `srcset` lists the image at 480, 800 and
  1200 px and at its own width (lossless), with `sizes` from the tag's CSS width, so a
  phone (390 px, pixel ratio 2) loads the 800 px copy, as sharp as the original there,
  at a fraction of its bytes. The `<img>` keeps the original file for browsers without
  WebP. A copy is kept only if it is smaller than every wider one. An `<img>` whose sources
  the author chose (in their own `<picture>`, or with a `srcset`) gets no copies.
- How a narrower copy is encoded depends on the picture, chosen by measurement on the
  article's figures (bench/README.md): a graphic (a plot, a diagram: at most 4,096
  colours in the original) is resized, then reduced to 256 colours and stored
  losslessly: a third of the bytes of lossy quality 90 at 800 px, 40-43 dB PSNR against
  the resized original on white (quality 90: 40-49 dB), no difference visible at 3x zoom.
  Resizing turns a plot's 2,000 colours into 10,000 that neither encoder stores cheaply.
  A photograph is stored lossy at quality 90.
  A dark variant (`<source media="(prefers-color-scheme: dark)">`, images.py) gets its
  own WebP copies, listed before it.
- Copies are made once per input: `cache_dir/<sha256 of source, width, settings>-<sha256 of
  the copy>.webp` (build/.cache/images, gitignored). A copy whose bytes are not the ones its
  name records (a damaged disk, a file cut short or replaced by hand) is deleted and made
  again, never published. Pillow's encoders give the same bytes for the same pixels and
  settings, so two builds write identical files. Pillow is a core dependency (a
  deploy makes the copies a local build makes); were it missing, images are left as they are.
- Every image but the first of a post gets `loading="lazy"` (unless its tag says how to
  load); the first loads at once, since it is often in the first screen.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from ..atomic import replace_file
from ..parallel import precompute
from ..post import Post
from ..render_cache import MISSING, RenderCache
from .html_tags import Image, attribute_values, image_tags, tag_attributes, with_attributes
from .images import ANY_IMAGE, file_of, shown_size, url_of

WIDTHS = (480, 800, 1200)      # pixels; a phone at 2x needs ~800, a laptop column at 2x ~1300
WEBP_QUALITY = 90              # lossy copies; the full-width copy is lossless
WEBP_METHOD = 4                # method 6 is 17x slower on a 1,300 px figure for 1% fewer bytes
GRAPHIC_COLOURS = 4096         # at most this many colours in the original: a graphic, not a photograph
PALETTE = 256                  # colours of a graphic's narrower copies
# v3: copies upright (EXIF orientation applied), with the original's colour profile, 16-bit grey scaled.
SETTINGS = f"webp-q{WEBP_QUALITY}-m{WEBP_METHOD}-p{PALETTE}-v3"
RESIZABLE = (".png", ".jpg", ".jpeg")

# A width value's leading digits, as a browser reads them; `50%` is a percentage, not 50 px.
_WIDTH = re.compile(r"[\t\n\f\r ]*(\d+)(?![\d.]*%)")


def light_images(posts: list[Post], cache_dir: Path, cache: RenderCache | None = None) -> tuple[list[Post], dict[str, Path]]:
    cache = cache or RenderCache(None)
    maker = VariantMaker(cache_dir, lambda path: cache.file_digest(path))
    # A post with no image is passed on as it is (serve then finds it unchanged in later stages).
    # Serve: whether a content shows an image is asked again only when the content changed.
    shown = {post.path: {**post.assets, **post.results.files} for post in posts
             if cache.same("any-image", str(post.path), (post.content,), lambda: bool(ANY_IMAGE.search(post.content)))}
    # Serve: a post equal to last time's, whose files have the same bytes, keeps its lightened
    # content if the copies' names it chose are still free (`_Choice.replay`). Every file: a
    # dark <source> gets copies of whatever Pillow opens (a GIF too).
    inputs = {path: (post, *(cache.file_digest(file) for _, file in sorted(shown[path].items())))
              for post in posts if (path := post.path) in shown}
    kept = {path: found for path, parts in inputs.items()
            if (found := cache.recall("light-images", str(path), parts)) is not MISSING}
    # Copies not made yet are made first, on all cores (a cold build of the article: 40 copies).
    missing = sorted({job for post in posts if post.path in shown and post.path not in kept
                      for job in maker.missing(post.content, shown[post.path], post.url)})
    precompute(lambda job: maker.make(*job), missing, min_items=2)
    maker.forget_listing()         # the workers' copies are in the folder now
    done = []
    for post in posts:
        if post.path not in shown:
            done.append(post)
        elif post.path in kept and kept[post.path].replay(maker):
            cache.keep("light-images", str(post.path), inputs[post.path], kept[post.path])
            done.append(kept[post.path].post)
        else:
            maker.probed, maker.claimed = {}, {}
            lightened = replace(post, content=lighten(post.content, shown[post.path], maker, post.url))
            cache.keep("light-images", str(post.path), inputs[post.path], _Choice(lightened, maker.probed, maker.claimed))
            maker.probed = maker.claimed = None
            done.append(lightened)
    return done, maker.made


@dataclass(frozen=True, eq=False)
class _Choice:
    """A post's lightened content, the names of the copies it took (`claimed`), and what it found
    at every name it considered that an earlier post could have taken (`probed`: None, or the
    copy there). Another build whose earlier posts leave those names as they were, and whose
    copies are still in the cache, would choose the same: `replay` takes the names again."""
    post: Post
    probed: dict[str, Path | None]
    claimed: dict[str, Path]

    def replay(self, maker: "VariantMaker") -> bool:
        if any(maker.made.get(path) != found for path, found in self.probed.items()):
            return False
        if not all(file.is_file() for file in self.claimed.values()):
            return False        # build/.cache/images cleared: made again by lighten
        maker.made.update(self.claimed)
        return True


def lighten(content: str, files: dict[str, Path], maker: "VariantMaker", page_url: str = "/") -> str:
    if not ANY_IMAGE.search(content):
        return content          # most posts: a plain search is faster than reading their tags
    pieces, last = [], 0
    for count, image in enumerate(image_tags(content), 1):      # each <img> with its dark <picture>, if any
        img = content[image.tag.start:image.tag.end]
        tag = lazy(img, first=count == 1)
        pieces.append(content[last:image.start])
        pieces.append(responsive(tag, image.dark, files, maker, page_url) if _srcset_possible(image, tag, files, page_url)
                      else content[image.start:image.end].replace(img, tag))
        last = image.end
    pieces.append(content[last:])
    return "".join(pieces)


def lazy(tag: str, first: bool) -> str:
    loading = next((attribute for attribute in tag_attributes(tag) if attribute.name == "loading"), None)
    if first:
        # The cell template marks every figure lazy; the first one should not wait for layout.
        if loading and tag[loading.start:loading.end].lower() == "lazy":
            cut = loading.name_start - (1 if tag[loading.name_start - 1] in " \t\n\f\r" else 0)
            return tag[:cut] + tag[loading.end + len(loading.quote):]
        return tag
    if loading:
        return tag
    return with_attributes(tag, ' loading="lazy"')


def _srcset_possible(image: Image, tag: str, files: dict[str, Path], page_url: str) -> bool:
    """Whether the <img> `tag` gets WebP sources: its file is one runpost can resize, and the
    author did not choose its sources (a <source> without media would override their srcset)."""
    if image.chosen:
        return False
    path = _site_path(tag, page_url)
    return path.lower().endswith(RESIZABLE) and path in files


def responsive(tag: str, dark: str | None, files: dict[str, Path], maker: "VariantMaker", page_url: str = "/") -> str:
    width = _WIDTH.match(attribute_values(tag).get("width", ""))
    sizes = f"(max-width: {width.group(1)}px) 100vw, {width.group(1)}px" if width else "100vw"
    sources = []
    dark_path = file_of(dark, page_url) if dark else ""
    if dark_path in files:
        sources.append(_webp_source(maker.variants(dark_path, files[dark_path], files), sizes,
                                    ' media="(prefers-color-scheme: dark)"'))
    if dark:
        sources.append(f'<source srcset="{dark}" media="(prefers-color-scheme: dark)">')
    path = _site_path(tag, page_url)
    sources.append(_webp_source(maker.variants(path, files[path], files), sizes))
    if not any(sources) and not dark:
        return tag
    return "<picture>" + "".join(sources) + tag + "</picture>"


def _webp_source(variants: list[tuple[str, int]], sizes: str, media: str = "") -> str:
    if not variants:
        return ""
    srcset = ", ".join(f"{url_of(path)} {width}w" for path, width in variants)
    return f'<source type="image/webp" srcset="{srcset}" sizes="{sizes}"{media}>'


def _site_path(tag: str, page_url: str) -> str:
    src = attribute_values(tag).get("src")
    return file_of(src, page_url) if src else ""


class VariantMaker:
    """WebP copies of images, made once and kept in the cache folder; `made` collects what pages use."""

    def __init__(self, cache_dir: Path, digest: Callable[[Path], str | None] | None = None):
        self.cache_dir = cache_dir
        # sha256 of a copy's bytes: the render cache's (RenderCache.file_digest) hashes a file again
        # only when what stat says of it changed, so a rebuild does not read every copy.
        self.digest = digest or _sha256_of
        self._listing: dict[str, list[Path]] | None = None    # key -> its copies in the folder, listed once
        self.made: dict[str, Path] = {}
        # While light_images lightens one post: what its choices of names depended on (_Choice).
        self.probed: dict[str, Path | None] | None = None
        self.claimed: dict[str, Path] | None = None
        self._sources: dict[Path, tuple[Any, int]] = {}   # image file -> (sha256 of its bytes, pixel width)
        self._graphic: dict[Path, bool] = {}
        self._checked: dict[str, Path] = {}      # key -> its copy, whose bytes this build has checked

    def missing(self, content: str, files: dict[str, Path], page_url: str = "/") -> list[tuple[Path, int]]:
        """(image file, width) of each copy `content`'s images need that the cache does not hold yet."""
        if not ANY_IMAGE.search(content):
            return []
        sources = []
        for image in image_tags(content):
            img = content[image.tag.start:image.tag.end]
            if _srcset_possible(image, img, files, page_url):
                sources.append(files[_site_path(img, page_url)])
                dark = file_of(image.dark, page_url) if image.dark else ""
                if dark in files:
                    sources.append(files[dark])
        jobs = []
        for source in sources:
            try:
                digest, full_width = self._source(source)
            except Exception:      # no Pillow, or not an image it reads: variants() decides, serially
                continue
            jobs += [(source, width) for width in _widths(full_width)
                     if self._copy(self._key(digest, width)) is None]
        return jobs

    def variants(self, site_path: str, source: Path, taken: dict[str, Path]) -> list[tuple[str, int]]:
        """[(site path, width)] of the WebP copies to list, narrowest first; [] if none helps."""
        try:
            from PIL import Image
        except ImportError:
            return []
        try:
            _, full_width = self._source(source)
            copies = [(width, self.make(source, width)) for width in _widths(full_width)]
        except (OSError, ValueError, Image.DecompressionBombError):
            return []
        chosen = _lighter_than_wider(copies, source.stat().st_size)
        for stem in (site_path.rsplit(".", 1)[0], site_path):
            # dot.png's copies are dot-480w.webp...; dot.jpg beside it gets dot.jpg-480w.webp.
            named = [(f"{stem}-{width}w.webp" if width != full_width else f"{stem}.webp", width, file)
                     for width, file in chosen]
            if self.probed is not None:      # light_images records what this post's choice depended on
                self.probed.update({path: self.made.get(path) for path, _, _ in named if path not in self.claimed})
            if not any(path in self.made and self.made[path] != file for path, _, file in named):
                break
        else:
            return []            # both names are another image's copies
        if not named or any(path in taken for path, _, _ in named):
            return []            # nothing lighter, or a file of the post has that name: leave the image alone
        if any(len(path.rsplit("/", 1)[-1].encode("utf-8", "surrogateescape")) > 255 for path, _, _ in named):
            return []            # a name the file system cannot hold (a 250-character photo's -1200w.webp)
        self.made.update({path: file for path, _, file in named})
        if self.claimed is not None:
            self.claimed.update({path: file for path, _, file in named})
        listed = [(path, width) for path, width, _ in named]
        if listed[-1][1] != full_width:
            # The original stays the sharpest choice: a WebP source may list it (the type only gates the source).
            listed.append((site_path, full_width))
        return listed

    def make(self, source: Path, width: int) -> Path:
        """The WebP copy of `source` at `width`, made if the cache does not hold it (also a worker
        process's job): the full width lossless; narrower ones as the docstring says. A rebuild
        reads the file's bytes and hashes them once; only a copy not in the cache opens the pixels."""
        digest, _ = self._source(source)
        key = self._key(digest, width)
        target = self._copy(key)
        if target is None:
            from PIL import Image
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with Image.open(source) as opened:
                image = displayed(opened)
                if width == image.width:
                    encoded, options = image, {"lossless": True}
                else:
                    resized = image.resize((width, max(1, round(image.height * width / image.width))), _lanczos())
                    encoded, options = (_palette(resized), {"lossless": True}) if self._is_graphic(source, image) \
                        else (resized, {"quality": WEBP_QUALITY})
                # A phone's Display P3 photo keeps its colours (without its profile it is read as sRGB).
                if opened.info.get("icc_profile"):
                    options["icc_profile"] = opened.info["icc_profile"]
                data = io.BytesIO()
                encoded.save(data, format="WEBP", method=WEBP_METHOD, **options)
            encoded_bytes = data.getvalue()
            target = self.cache_dir / f"{key}-{hashlib.sha256(encoded_bytes).hexdigest()}.webp"
            replace_file(target, encoded_bytes)   # a concurrent build never reads half a file
            self._checked[key] = target
            if self._listing is not None:
                self._listing.setdefault(key, []).insert(0, target)
        return target

    def _source(self, source: Path) -> tuple[Any, int]:
        """(sha256 of the image file's bytes, its width in pixels), read once per build."""
        if source not in self._sources:
            from PIL import Image
            data = source.read_bytes()
            with Image.open(source) as image:
                self._sources[source] = (hashlib.sha256(data), shown_size(image)[0])
        return self._sources[source]

    def _is_graphic(self, source: Path, image) -> bool:
        if source not in self._graphic:
            self._graphic[source] = _is_graphic(image)
        return self._graphic[source]

    def _cached(self, data: bytes, width: int) -> Path | None:
        """The kept copy of an image with these bytes at `width`, if there is a sound one."""
        return self._copy(self._key(hashlib.sha256(data), width))

    def _key(self, digest: Any, width: int) -> str:
        key = digest.copy()
        key.update(f"|{width}|{SETTINGS}|{_pillow_version()}".encode())
        return key.hexdigest()

    def _copy(self, key: str) -> Path | None:
        """The cache's copy for `key` whose bytes are the ones its name records (checked once a build);
        one that is not is deleted: it is made again rather than published."""
        if key in self._checked:
            return self._checked[key]
        found = None
        for path in self._listed().get(key, []):
            if found is None and self.digest(path) == path.name[len(key) + 1:-len(".webp")]:
                found = path
            elif found is None:
                _remove(path)
        if found is not None:
            self._checked[key] = found
        return found

    def _listed(self) -> dict[str, list[Path]]:
        """The folder's copies by key, listed once (a glob per key read the whole folder each time).
        Copies named as before their bytes were in the name (`<key>.webp`) are deleted."""
        if self._listing is None:
            self._listing = {}
            try:
                entries = sorted(os.scandir(self.cache_dir), key=lambda entry: entry.name)
            except OSError:
                entries = []
            for entry in entries:
                named = _COPY_NAME.fullmatch(entry.name)
                if named:
                    self._listing.setdefault(named.group(1), []).append(Path(entry.path))
                elif _OLD_COPY_NAME.fullmatch(entry.name):
                    _remove(Path(entry.path))
        return self._listing

    def forget_listing(self) -> None:
        self._listing = None


def _remove(path: Path) -> None:
    """A file, or a folder of that name, out of the image cache (runpost's own folder)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


_COPY_NAME = re.compile(r"([0-9a-f]{64})-[0-9a-f]{64}\.webp")
_OLD_COPY_NAME = re.compile(r"[0-9a-f]{64}\.webp")


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def displayed(image):
    """The image as a browser shows it: turned upright by its EXIF orientation (a phone's photo is
    stored sideways; the WebP copy carries no orientation), 16-bit grey scaled to 8 bits (WebP's
    encoder clips it: a depth map came out white)."""
    from PIL import ImageOps
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    if image.mode == "I":
        image = image.point(lambda value: value * (1 / 257)).convert("L")
    return image


def _widths(full_width: int) -> list[int]:
    """The copies' widths: WIDTHS narrower than the image, then its own."""
    return [*(width for width in WIDTHS if width < full_width), full_width]


def _is_graphic(image) -> bool:
    """Few colours (a plot, a diagram, a screenshot), as opposed to a photograph."""
    return image.getcolors(GRAPHIC_COLOURS) is not None


def _palette(image):
    """`image` in PALETTE colours (alpha kept), back in its own mode for the encoder."""
    from PIL import Image
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    return image.convert(mode).quantize(PALETTE, method=Image.Quantize.FASTOCTREE).convert(mode)


def _lighter_than_wider(copies: list[tuple[int, Path]], source_bytes: int) -> list[tuple[int, Path]]:
    """Keep a copy only if it is smaller than every wider copy and than the original."""
    kept, limit = [], source_bytes
    for width, file in reversed(copies):
        size = file.stat().st_size
        if size < limit:
            kept.append((width, file))
            limit = size
    return kept[::-1]


def _pillow_version() -> str:
    import PIL
    return PIL.__version__


def _lanczos():
    from PIL import Image
    return Image.Resampling.LANCZOS

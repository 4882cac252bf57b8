"""Stage 1: content/posts -> Post objects with validated front matter.

`load_posts` does the I/O (find files, read bytes); `parse_post` is pure.
Posts are `content/posts/<name>.md` or page bundles
`content/posts/<name>/index.md`, whose sibling files are published beside
the page, as in Hugo.
"""
from __future__ import annotations

import datetime as dt
import os
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Callable

from ..config import Config
from ..errors import BuildError, BuildErrors, ErrorCollector, Location, shown_name
from ..execution.store import is_temporary_name
from .confine import allowed_roots, check_inside, is_inside, outside_error, paths_to_publish, private
from .frontmatter import parse_front_matter
from .slugs import post_segment
from ..post import Post

# Files in a bundle that are build machinery, not resources to publish.
_SKIPPED_ASSET_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def load_posts(config: Config, errors: ErrorCollector | None = None, now: dt.datetime | None = None,
               parse: Callable[[Path, str, Path | None, tuple[str, ...]], Post] | None = None,
               held_back: list[dt.datetime] | None = None,
               left_out: list[tuple[str, str, str]] | None = None,
               read: Callable[[Path, os.stat_result | None], bytes] | None = None) -> list[Post]:
    """All posts to publish, sorted newest first.

    `parse` stands in for parse_post (serve passes one that remembers its answers), `read` for
    Path.read_bytes (serve's remembers unchanged files: RenderCache.file_bytes).
    `held_back` gets the moments the answer changes by itself: the publish date of each post
    not published yet because it is in the future, the expiry date of each one that will expire.
    `left_out` gets (name, why, url) for each post that loaded and is not published: why is
    "unrendered", "headless", "draft", "future" or "expired".

    Every error in every file is reported: into `errors` if given (the
    pipeline goes on with the posts that loaded, to find their errors too),
    else raised together at the end.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    collected = errors if errors is not None else ErrorCollector()
    posts = []
    roots = allowed_roots(config.root, config.content_dir, (config.output_dir, config.build_dir))
    posts_dir = config.content_dir / "posts"
    if posts_dir.is_symlink() and (outside := outside_error(posts_dir, roots, "folder")):
        collected.add(outside)
        if errors is None:
            collected.raise_if_any()
        return []
    languages = site_languages(config)
    collected.extend(BuildError(Location(path), "not a regular file (a pipe or a device?): a post is a text file")
                     for path in _special_post_files(posts_dir, languages))
    for path, bundle in find_post_files(config.content_dir, languages):
        name = (bundle or path).name
        if shown_name(name) != name:
            # A newline or an escape sequence in the name would reach the terminal (progress lines,
            # messages quoting the name) and the page's URL: never a name a post means to have.
            collected.add(BuildError(Location(bundle or path), "the name holds control characters "
                                     "(a newline, an escape sequence): rename it"))
            continue
        try:
            posts.append(read_post(path, bundle, roots, parse or parse_post, read, languages))
        except BuildError as error:
            collected.add(error)
        except BuildErrors as many:
            collected.extend(many)
    named: dict[str, Post] = {}
    for post in posts:
        # `x.md` and the bundle `x/` (or `x.en.md`) would share build/x/: each run would undo the other's.
        # (By its letters as composed: macOS holds `café` and `café` as one name.)
        other = named.setdefault(unicodedata.normalize("NFC", post.name), post)
        if other is not post:
            collected.add(BuildError(Location(post.path, 1, 1), f"post '{post.name}' is also {Location(other.path)}: "
                                     f"both would keep their results in build/{post.name}/; rename one"
                                     if other.name == post.name else
                                     f"post '{post.name}' reads the same as '{other.name}', of {Location(other.path)} "
                                     "(its letters composed otherwise, as macOS writes file names), and macOS keeps "
                                     "one results folder for both: rename one"))
    posts = list(named.values())        # the first of each name, in order
    for post in [post for post in posts if is_temporary_name(post.name)]:
        # Before any code runs: the execution stage's tidying would delete build/<name>/ as a leftover.
        collected.add(BuildError(Location(post.bundle or post.path), f"the name '{post.name}' reads as one of "
                                 "runpost's temporary folders (<name>.tmp-<number>-<8 hex digits>), which a build "
                                 "deletes from build/: rename the post"))
    posts = [post for post in posts if not is_temporary_name(post.name)]
    if held_back is not None:
        held_back += [post.meta.publish_date for post in posts
                      if not is_published(post, config, now) and is_published(post, replace(config, future=True), now)]
        held_back += [post.meta.expiry_date for post in posts if post.meta.expiry_date and not config.expired
                      and post.meta.expiry_date > now and is_published(post, replace(config, future=True), now)]
    if left_out is not None:
        left_out += [(post.name, reason, post.url) for post in posts if (reason := unpublished_reason(post, config, now))]
    posts = [post for post in posts if is_published(post, config, now)]
    try:
        check_unique_urls(posts)
    except BuildErrors as many:
        collected.extend(many)
    if errors is None:
        collected.raise_if_any()
    return sorted(posts, key=page_order)


def page_order(post: Post) -> tuple:
    """Hugo's default order of pages: those with a weight first (lowest first), then newest first (to
    the second), then by title (case-blind), then by file."""
    weight = post.meta.weight
    return (weight == 0, weight, -int(post.meta.date.timestamp()), post.meta.title.casefold(), post.meta.title,
            str(post.path))


def site_languages(config: Config) -> tuple[str, ...]:
    """The language codes a content file's name may end in, as Hugo reads `hello.en.md` (its default
    language, `en` unless set) as `hello`: the site's `language` and its primary subtag (en-GB: en-gb, en)."""
    code = config.language.strip().lower()
    return tuple(dict.fromkeys(part for part in (code, code.split("-")[0]) if part))


def bundle_page_names(languages: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The names of a page bundle's page, in the order looked for: index.md, then index.<language>.md
    (Hugo's name in the site's language)."""
    return ("index.md", *(f"index.{code}.md" for code in languages))


def bundle_page(folder: Path, languages: tuple[str, ...] = ()) -> Path | None:
    """A page bundle's page (bundle_page_names), or None."""
    for name in bundle_page_names(languages):
        if (page := _child(folder, name)).is_file():
            return page
    return None


def language_of(name: str, languages: tuple[str, ...]) -> str:
    """The site language a post file's name ends in before .md (`hello.en.md`: en), else ""."""
    stem = name[:-3] if name.endswith(".md") else name
    # As Hugo matches it: case and all (`hi.EN.md` is the post `hi.EN`).
    return next((code for code in languages if stem.endswith("." + code) and len(stem) > len(code) + 1), "")


def find_post_files(content_dir: Path, languages: tuple[str, ...] = ()) -> list[tuple[Path, Path | None]]:
    """(markdown file, bundle folder or None), in a stable order."""
    posts_dir = content_dir / "posts"
    if not posts_dir.is_dir():
        return []
    found = []
    # scandir: the folder listing says which entries are folders; no stat per post (serve
    # lists the posts on every rebuild). A symlink is still followed, as Path.is_dir does.
    with os.scandir(posts_dir) as entries:
        # Not hidden names, as in Hugo: `.notes.md`, a `.wip/` bundle, macOS's `._x.md` (AppleDouble).
        listed = sorted((entry for entry in entries if not entry.name.startswith(".")), key=lambda entry: entry.name)
    for entry in listed:
        path = _child(posts_dir, entry.name)
        if _is(entry.is_dir) and (index := bundle_page(path, languages)) is not None:
            found.append((index, path))
        elif path.suffix == ".md" and entry.name != "_index.md" and _is(entry.is_file):
            found.append((path, None))
    return found


def _special_post_files(posts_dir: Path, languages: tuple[str, ...]) -> list[Path]:
    """Post files (`x.md`, a bundle's `index.md`) that are a pipe, a socket or a device, or lead to one:
    find_post_files passes over them, and a post would vanish without a word."""
    if not posts_dir.is_dir():
        return []
    found = []
    with os.scandir(posts_dir) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.name.endswith(".md") and entry.name != "_index.md":
                if _is(entry.is_file):        # the folder listing says so: no stat for the many posts
                    continue
                candidates = [Path(entry.path)]
            elif _is(entry.is_dir):
                candidates = [Path(entry.path, name) for name in bundle_page_names(languages)]
            else:
                continue
            found += [path for path in candidates if os.path.exists(path) and not path.is_file() and not path.is_dir()]
    return sorted(found)


# (folder, name) -> the Path of a post or bundle listed before. Serve lists the posts on every
# rebuild; making and formatting a Path for each of 1,000 posts again was 3% of a rebuild, and a
# path seen before also finds its stored values faster (the same object compares at once).
_CHILDREN: dict[tuple[str, str], Path] = {}


def _child(folder: Path, name: str) -> Path:
    found = _CHILDREN.get((str(folder), name))
    if found is None:
        if len(_CHILDREN) > 100_000:    # a long session of renames: start again
            _CHILDREN.clear()
        found = _CHILDREN[str(folder), name] = folder / name
    return found


def _is(test: Callable[[], bool]) -> bool:
    """A DirEntry test that is False, as Path's, for a link looping or through a file (ELOOP, ENOTDIR)."""
    try:
        return test()
    except OSError:
        return False


def unreadable_links(content_dir: Path) -> list[Path]:
    """Symlinks in content/posts/ (or that folder itself) that lead nowhere: dangling, looping,
    through a file, or not readable. Nothing is published from them."""
    posts_dir = content_dir / "posts"
    if not posts_dir.is_dir():
        return [posts_dir] if posts_dir.is_symlink() else []
    with os.scandir(posts_dir) as entries:
        # Not dot-names: Emacs marks a file being edited with a dangling link `.#name`.
        return sorted(posts_dir / entry.name for entry in entries
                      if not entry.name.startswith(".") and _is(entry.is_symlink) and not os.path.exists(entry.path))


# The names Hugo reads as Markdown pages; runpost's posts are .md.
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")
# Hugo's other content formats (Emacs Org, AsciiDoc, reStructuredText, Pandoc): pages to Hugo, never
# files to copy; runpost renders none of them (stray_markdown warns).
OTHER_PAGE_SUFFIXES = (".org", ".adoc", ".asciidoc", ".ad", ".rst", ".pandoc", ".pdc")


def is_page_source(path: Path) -> bool:
    """A file Hugo renders as a page rather than copying it: Markdown, its other content formats, and
    HTML that opens with front matter (`---`, `+++` or `{`): published as it is, a draft's would be
    on the web, front matter and all."""
    name = path.name.lower()
    if name.endswith(MARKDOWN_SUFFIXES + OTHER_PAGE_SUFFIXES):
        return True
    if name.endswith((".html", ".htm")):
        try:
            with open(path, "rb") as file:
                head = file.read(8).removeprefix(b"\xef\xbb\xbf").lstrip()
        except OSError:
            return False
        return head.startswith((b"---", b"+++", b"{"))
    return False


def stray_markdown(content_dir: Path, languages: tuple[str, ...] = ()) -> list[tuple[Path, str]]:
    """(file, why it is not published) for each Markdown file a Hugo user may expect to be a page
    that is not a post: outside posts/, in a folder under posts/ (Hugo publishes posts/2023/x.md
    at /posts/2023/x/), or named .markdown. A bundle's other files are its resources (as in Hugo)."""
    posts_dir = content_dir / "posts"
    top = str(posts_dir)
    found = []
    for folder, folders, names in os.walk(content_dir):
        here = Path(folder)
        folders.sort()
        if here.parent == posts_dir and bundle_page(here, languages) is not None:
            folders[:] = []                # a bundle: its files are the post's, published beside it
            continue
        for name in sorted(names):
            if name.lower().endswith(OTHER_PAGE_SUFFIXES) or (name.lower().endswith((".html", ".htm"))
                                                              and is_page_source(here / name)):
                found.append((here / name, "not published: a page Hugo renders from this format; runpost reads "
                                           "posts from Markdown (.md), and publishes no page source as a file"))
                continue
            if not name.lower().endswith(MARKDOWN_SUFFIXES) or name.lower().startswith("_index."):
                continue
            if name.endswith(".md") and folder == top:
                continue                       # a post (a string test: serve lists 1,000 on every rebuild)
            path, stem = here / name, name.rsplit(".", 1)[0]
            if not here.is_relative_to(posts_dir):
                found.append((path, f"not under {content_dir.name}/posts/, so not published"))
            elif here == posts_dir or (here.parent == posts_dir and stem == "index"):
                if not name.endswith(".md"):
                    found.append((path, f"not published: runpost reads posts from .md files (rename it {shown_name(stem)}.md)"))
            else:
                found.append((path, f"not published: a post is {content_dir.name}/posts/<name>.md or "
                                    f"{content_dir.name}/posts/<name>/index.md, with no folder in between"))
    return sorted(found)


def read_post(path: Path, bundle: Path | None, roots: tuple[Path, ...] | None = None,
              parse: Callable[[Path, str, Path | None, tuple[str, ...]], Post] | None = None,
              read: Callable[[Path, os.stat_result | None], bytes] | None = None,
              languages: tuple[str, ...] = ()) -> Post:
    if roots is not None:
        if bundle is not None:
            check_inside(bundle, roots, "post folder")
        check_inside(path, roots, "post")
    # What lstat said of it just now (check_inside), if it is not a symlink: serve's read
    # (RenderCache.file_bytes) tells an unchanged file by it without a stat of its own.
    status = getattr(roots, "stats", {}).pop(os.fspath(path), None)
    try:
        data = read(path, status) if read is not None else path.read_bytes()
    except OSError as error:      # no permission, a device that fails, a file gone since the listing
        raise BuildError(Location(path), f"cannot read the post: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise BuildError(Location(path, line, column), "file is not valid UTF-8") from None
    post = (parse or parse_post)(path, text.removeprefix("\ufeff"), bundle, languages)
    if roots is not None:
        check_inputs(post, roots)
    return post if bundle is None else _with_bundle_assets(post, bundle, roots)


def parse_post(path: Path, text: str, bundle: Path | None = None, languages: tuple[str, ...] = ()) -> Post:
    """Split and validate front matter; compute the post's URL. Pure. `languages`: site_languages."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")     # CommonMark's line endings: CRLF, LF, and a lone CR (classic Mac)
    language = "" if bundle else language_of(path.name, languages)
    default_slug = bundle.name if bundle else path.stem[:-len(language) - 1] if language else path.stem
    meta, body, body_line = parse_front_matter(path, text, default_slug)
    return Post(
        path=path,
        source=text,
        meta=meta,
        body=body,
        body_line=body_line,
        url=f"/posts/{post_segment(meta.slug)}/",
        bundle=bundle,
        language=language,
    )


def _with_bundle_assets(post: Post, bundle: Path, roots: tuple[Path, ...] | None = None) -> Post:
    assets = {}
    problems = ErrorCollector()
    outside: list[BuildError] = []
    # Linked folders too (`shared -> ../../shared`), as Hugo publishes them; one leading outside is an error.
    for file in paths_to_publish(bundle, roots, "bundle file", outside):
        relative = file.relative_to(bundle)
        if file == post.path or _is_skipped(relative):
            continue
        if relative.suffix.lower() in MARKDOWN_SUFFIXES:
            # The bundle's other Markdown (notes, a draft's next part): Hugo's page resources, never
            # published as they are. Copied, a draft's private notes would be on the web.
            continue
        if not is_utf8(relative.as_posix()):     # os.fsdecode's surrogates: no page can name it, no manifest hold it
            problems.add(BuildError(Location(file), "the file name is not UTF-8: rename it"))
            continue
        if file.is_dir():
            continue
        if not file.is_file():  # a broken symlink, a named pipe, a socket: nothing to publish
            problems.add(BuildError(Location(file), "not a regular file (a broken link, a pipe or a "
                                    "device?); remove it from the bundle"))
            continue
        assets[post.url + relative.as_posix()] = file
    problems.extend(error for error in outside if not _is_skipped(Path(error.location.path).relative_to(bundle)))
    problems.raise_if_any()
    return replace(post, assets=assets)


def check_inputs(post: Post, roots: tuple[Path, ...]) -> None:
    """Data a post declares (front matter `inputs:`) is read from inside the project only."""
    if not post.meta.inputs:
        return
    folder = post.bundle or post.path.parent
    for declared in post.meta.inputs:
        path = folder / declared
        if path.exists() and not is_inside(path, roots):
            raise BuildError(post.meta.location_of(post.path, "inputs"),
                             f"input '{declared}' is outside the project ({path.resolve()}): a clone of the "
                             "blog (and its Pages workflow) would not have it, so it cannot key the stored results; "
                             "copy it into the project (the post's folder, or a data/ folder) and read it there")


def _is_skipped(relative: Path) -> bool:
    # Dot-files, caches, and keys or credentials (`id_rsa`, `_netrc`: never published from static/ either).
    return any(part in _SKIPPED_ASSET_PARTS or part.startswith(".") for part in relative.parts) or private(relative)


def is_published(post: Post, config: Config, now: dt.datetime) -> bool:
    return not unpublished_reason(post, config, now)


def unpublished_reason(post: Post, config: Config, now: dt.datetime) -> str:
    """"unrendered" (build options), "headless", "draft", "expired" or "future" if the post is left out of the
    site, else ""."""
    if not post.meta.rendered:          # no flag brings it in, as in Hugo
        return "unrendered"
    if post.meta.headless:
        return "headless"
    if post.meta.draft and not config.drafts:
        return "draft"
    if post.meta.expiry_date is not None and post.meta.expiry_date <= now and not config.expired:
        return "expired"
    return "" if config.future or post.meta.publish_date <= now else "future"


def check_unique_urls(posts: list[Post]) -> None:
    claimed: dict[str, Post] = {}
    errors = ErrorCollector()
    for post in posts:
        # By its letters as composed (NFC): `café` typed on Linux and the `café` of a macOS file name
        # (e + a combining accent) are two URLs that read the same, and one file on macOS.
        other = claimed.setdefault(unicodedata.normalize("NFC", post.url), post)
        if other is not post:
            where = post.meta.location_of(post.path, "slug") if "slug" in post.meta.lines else Location(post.path, 1, 1)
            errors.add(BuildError(where, f"URL {post.url} is also claimed by {Location(other.path)}" if other.url == post.url
                                  else f"URL {post.url} reads the same as {other.url}, of {Location(other.path)} (its "
                                       "letters composed otherwise, as macOS writes file names): rename one"))
    errors.raise_if_any()


def is_utf8(name: str) -> bool:
    """False for a name the file system gave with bytes that are not UTF-8 (os.fsdecode's surrogates)."""
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False

"""The objects that flow through the build.

`pipeline.build` passes each `Post` through the stages in order; every stage
returns a new `Post` (`dataclasses.replace`) with its own fields filled in and
never edits another stage's fields:

    load        -> path, source, meta, body, body_line, bundle, url
    scan        -> scan (where shortcodes, code and links are in the body as loaded)
    shortcodes  -> body (placeholders), shortcodes, cells
    execute     -> results
    markdown    -> html (placeholders intact)
    templates   -> content (placeholders swapped), page
    write       -> reads page and assets, writes site/
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator

from .errors import Location

if TYPE_CHECKING:
    from .content.scan import SourceScan


@dataclass(frozen=True)
class FrontMatter:
    """The post's front matter, validated. Field names follow Hugo's."""

    title: str                       # required
    date: dt.datetime                # `date`, else `publishDate`; required
    publish_date: dt.datetime        # `publishDate`, else `date`; future ones hidden without --future
    lastmod: dt.datetime | None = None
    description: str = ""
    summary: str = ""                # explicit summary; else derived from the body
    tags: tuple[str, ...] = ()
    images: tuple[str, ...] = ()     # preview images (Open Graph), site paths or URLs
    draft: bool = False
    slug: str = ""                   # URL segment; defaults to the file or bundle name
    params: dict[str, Any] = field(default_factory=dict)   # code parameters, --param overrides
    inputs: tuple[str, ...] = ()     # files the code reads, relative to the bundle; hashed into keys
    expiry_date: dt.datetime | None = None   # `expiryDate`: not published from then on
    aliases: tuple[str, ...] = ()    # addresses that redirect to the post (site.pages.alias_pages)
    url: str = ""                    # Hugo's page address: runpost redirects from it, as from an alias
    weight: int = 0                  # Hugo's: posts with a weight come first, lowest first; 0 is none
    rendered: bool = True            # Hugo's build options: render: never leaves the post out
    headless: bool = False           # Hugo's headless bundle: neither rendered nor listed (its author hid it)
    extra: dict[str, Any] = field(default_factory=dict)    # any other keys, for templates
    lines: dict[str, int] = field(default_factory=dict)    # key -> file line, for error messages

    def location_of(self, path: Path, key: str) -> Location:
        return Location(path, self.lines.get(key, 1), 1)


@dataclass(frozen=True)
class Shortcode:
    """One `{{< name ... >}}` call, found by `shortcodes.parse_shortcodes`."""

    name: str
    positional: tuple[str, ...]      # unnamed parameters, in order
    named: dict[str, str]            # name="value" parameters
    inner: str | None                # text between open and close tags; None if self-closed/unpaired
    markdown: bool                   # True for the {{% %}} form: inner and output are Markdown
    location: Location               # file position of the opening `{{`
    token: str                       # placeholder standing in the body for this call
    children: tuple["Shortcode", ...] = ()  # shortcodes nested in `inner` (their tokens are in inner)
    options: dict[str, str] = field(default_factory=dict)  # highlight: its option string and named options, parsed once


def every_call(calls: Iterable[Any]) -> Iterator[Any]:
    """Each call and, after it, the calls nested in its inner text, at any depth, in order (Shortcodes,
    or the parser's own calls: anything with `children`)."""
    for call in calls:
        yield call
        yield from every_call(call.children)


@dataclass(frozen=True)
class Cell:
    """One executable code block, in document order."""

    id: str                          # `id` option, else "cell-<n>" (1-based)
    index: int                       # 0-based position among the post's cells
    language: str                    # "python"
    code: str                        # exactly the code shown and run
    echo: bool                       # show the code on the page
    output: bool                     # show what the code printed
    timeout: float | None            # seconds, None = the build's default
    location: Location               # file position of the opening fence or shortcode
    code_line: int                   # file line of the code's first line
    token: str                       # placeholder of the block in the body
    display: dict[str, str] = field(default_factory=dict)  # highlight options (linenos, hl_lines...)
    fold: str = ""                   # summary of the <details> the code is folded into; "" = not folded


@dataclass(frozen=True)
class Figure:
    """A matplotlib figure a cell left open, saved by the kernel as a PNG beside the page."""

    path: str                        # site path of the PNG, "/posts/<slug>/<cell id>-<n>.png"
    alt: str                         # suptitle, else first axes' title, else "Figure n of block id"


@dataclass(frozen=True)
class CellOutput:
    """What one cell produced, as data (never HTML)."""

    stdout: str = ""                 # printed text (stdout, in order)
    seconds: float = 0.0             # wall time of the cell's last execution
    figures: tuple[Figure, ...] = () # figures captured after the cell, in plt.get_fignums() order


@dataclass(frozen=True)
class ValueChange:
    """A published value that a re-run changed; listed in the build summary."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Results:
    """A post's execution results, fresh or read back from build/."""

    outputs: dict[str, CellOutput] = field(default_factory=dict)   # cell id -> output
    values: dict[str, Any] = field(default_factory=dict)           # runpost.publish() name -> JSON value
    files: dict[str, Path] = field(default_factory=dict)           # site path -> file the code wrote
    provenance: dict[str, Any] = field(default_factory=dict)       # manifest's environment and timings
    executed: bool = False           # True if Python ran in this build, False if reused from build/
    cells_run: int = 0               # cells executed in this build
    cells_reused: int = 0            # cells whose output came from build/
    changes: tuple[ValueChange, ...] = ()   # values that changed since the last stored run
    overrides: dict[str, Any] = field(default_factory=dict)        # --param values that differ from front matter


@dataclass(frozen=True)
class Post:
    # A shortcode template sees the post as `page`: a field it lacks is an error (site/environment.py).
    _template_name: ClassVar[str] = "page"
    path: Path                       # content/posts/rnn/index.md
    source: str                      # the whole file, for mapping positions to lines
    meta: FrontMatter                # validated front matter
    body: str                        # Markdown after the front matter (placeholders after shortcodes)
    body_line: int                   # file line where the body starts (1-based)
    url: str                         # site path of the page, "/posts/<slug>/"
    bundle: Path | None = None       # the bundle folder for index.md posts; siblings are assets
    language: str = ""               # the site's language code its file name ends in (hello.en.md), else ""
    assets: dict[str, Path] = field(default_factory=dict)  # site path -> file (bundle siblings)
    # Where shortcode tags, code and link targets are in the body as loaded (content/scan.py).
    # Later stages ask it instead of scanning again; its offsets are into that body, not the
    # placeholder body the shortcodes stage makes.
    scan: SourceScan | None = None
    shortcodes: tuple[Shortcode, ...] = ()   # top-level calls, document order
    cells: tuple[Cell, ...] = ()     # executable blocks, document order
    results: Results = field(default_factory=Results)
    html: str = ""                   # rendered Markdown, placeholders intact
    content: str = ""                # rendered article body, placeholders swapped

    @functools.cached_property     # asked for in several passes over every post of every build
    def name(self) -> str:
        """File or bundle name, the default slug and the key of the post in build/ (hello.en.md: hello)."""
        if self.bundle:
            return self.bundle.name
        return self.path.stem[:-len(self.language) - 1] if self.language else self.path.stem

    # What a shortcode template reads of its `page`, as Hugo's .Page.Title, .Page.Date, .Page.Params
    # (`page.title` was empty: the title is the front matter's).
    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def date(self):
        return self.meta.date

    @property
    def params(self) -> dict:
        return {**self.meta.extra, **self.meta.params, **self.results.overrides}

    def location(self, body_line: int, column: int = 0) -> Location:
        """Map a 1-based line of the body to a file location."""
        return Location(self.path, self.body_line + body_line - 1, column)


@dataclass(frozen=True)
class Site:
    """Everything the output folder will hold, built in memory before writing."""

    pages: dict[str, str] = field(default_factory=dict)     # output path ("posts/x/index.html") -> text
    files: dict[str, Path] = field(default_factory=dict)    # output path -> file to copy (assets, static)
    links: dict[str, list[str]] = field(default_factory=dict)  # HTML page -> its URLs as written, before rewriting
    scripts: dict[str, list[str]] = field(default_factory=dict)  # HTML page -> URLs in it that could run script
    refs: dict[str, str] = field(default_factory=dict)      # every name a ref/relref may use -> its page's URL
    redirects: dict[str, str] = field(default_factory=dict)  # redirect page (an alias, a list's page/1/) -> where it leads

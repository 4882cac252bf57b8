"""The one Jinja environment: page templates and shortcode templates alike.

Production and tests build it here, so a shortcode renders the same in a
test as on the page. Whitespace: `trim_blocks`/`lstrip_blocks` keep block
tags from leaving blank lines; `keep_trailing_newline` keeps a template's
last newline, as Go templates do (Hugo's `<span>…</span>\\n.` shows a space).
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import traceback
from pathlib import Path
from typing import Iterable

import jinja2
import jinja2.bccache
from markupsafe import Markup

from ..errors import BuildError, Location
from ..markup.markdown import markdown_to_html
from .urls import absolute_url, normalize_url


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per process, reused while their source is unchanged.

    serve makes a new environment for every rebuild (the settings may have changed);
    Jinja checks each stored template against its source's checksum before using it.
    One store per (base_url, raw_html): Jinja folds a filter called on a constant
    (`{{ '/' | absolute_url }}`) into the compiled code, so the code holds the settings.
    """

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.stored:
            bucket.bytecode_from_string(self.stored[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.stored[bucket.key] = bucket.bytecode_to_string()


_COMPILED: dict[tuple[str, bool], _CompiledTemplates] = {}


class _Loader(jinja2.FileSystemLoader):
    """Jinja's file loader, for which a template that is not UTF-8 (saved as Latin-1) is a syntax
    error at the file, reported like any other template error, not a UnicodeDecodeError."""

    def get_source(self, environment: jinja2.Environment, template: str):
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as error:
            found = next((Path(folder) / template for folder in self.searchpath if (Path(folder) / template).is_file()), None)
            line = 1 + error.object[:error.start].count(b"\n") if isinstance(error.object, bytes) else 1
            raise jinja2.TemplateSyntaxError(f"not UTF-8 (byte 0x{error.object[error.start]:02x}): save it as UTF-8",
                                             line, template, str(found) if found else None) from None


def syntax_error(error: jinja2.TemplateSyntaxError, name: str) -> BuildError:
    """A template that cannot be read (its syntax, or not UTF-8: _Loader), at its file and line."""
    return BuildError(Location(Path(error.filename or name), error.lineno or 0), f"template error: {error.message}")


# What templates see, by the names they use: Jinja's messages name Python's classes.
_SHOWN_TYPES = {"runpost.site.views.PostView object": "post", "runpost.post.Post object": "page"}


def template_problem(error: Exception) -> str:
    """`UndefinedError: 'post' has no attribute 'titel'`, not 'runpost.site.views.PostView object'."""
    text = f"{type(error).__name__}: {error}"
    for internal, shown in _SHOWN_TYPES.items():
        text = text.replace(f"'{internal}'", f"'{shown}'")
    return text


def template_location(error: Exception, name: str) -> Location:
    """The template line that raised: Jinja2 rewrites tracebacks to point into templates."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith((".html", ".xml", ".txt")):
            return Location(Path(frame.filename), frame.lineno or 0)
    return Location(Path(name))


def _w3c_filter(when) -> str:
    try:
        return _w3c_datetime(when, when.tzinfo, when.fold)
    except (AttributeError, TypeError):     # no `fold`, a zone that cannot be hashed: not remembered
        return _w3c_datetime.__wrapped__(when, when.tzinfo, None)


@functools.lru_cache(maxsize=1 << 14, typed=True)
def _w3c_datetime(when, zone, fold: int | None) -> str:
    """A moment as the sitemap and feeds write it (a naive one is UTC). Remembered: the sitemap
    writes every post's on every build, at 3 us each. Keyed by zone and fold too: two equal
    moments in one zone may still differ in their offset (the hour repeated when clocks go back).
    Fractions of a second to the millisecond: HTML's <time datetime> allows three digits, not six."""
    text = when.isoformat(timespec="milliseconds") if getattr(when, "microsecond", 0) else when.isoformat()
    return text if zone else text + "Z"


class Record(dict):
    """A dict whose keys are all that templates may read of it (`site`, `paginator`, a tag): a name
    it lacks is a template error, as Hugo's `can't evaluate field Titel` is, not an empty string on
    the page. `name` is what templates call it (in messages). Maps of the writer's own keys
    (`site.params`, `post.params`) stay plain dicts: a key missing there is empty, as in Hugo."""

    __slots__ = ("_record_name",)     # not `name`: Jinja reads an attribute before a key (`tag.name`)

    def __init__(self, name: str, fields: dict) -> None:
        super().__init__(fields)
        self._record_name = name

    def __reduce__(self):      # pickled to worker processes: the name with the keys
        return (Record, (self._record_name, dict(self)))


def _record_fields(obj: object) -> tuple[str, list[str]] | None:
    """(the name templates call it, its fields) of a record with a fixed set of fields; None for other values.
    A class says it is one with `_template_name` (views.PostView: `post`)."""
    if isinstance(obj, Record):
        return obj._record_name, list(obj)
    name = getattr(type(obj), "_template_name", None)
    if isinstance(name, str) and dataclasses.is_dataclass(obj):
        properties = [field for field, value in vars(type(obj)).items()
                      if isinstance(value, (property, functools.cached_property)) and not field.startswith("_")]
        return name, [field.name for field in dataclasses.fields(obj) if not field.name.startswith("_")] + properties
    return None


class _Environment(jinja2.Environment):
    """Jinja's environment, for which a field that a record (`post`, `site`) does not have is a
    strict undefined: printing it, testing it or looping over it is an error naming the field and
    the likely one meant; `is defined` and `default` still work."""

    def getattr(self, obj, attribute):
        return _checked(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj, argument):
        return _checked(obj, argument, super().getitem(obj, argument))


def _checked(obj: object, name: object, found: object) -> object:
    if not isinstance(found, jinja2.Undefined) or not isinstance(name, str):
        return found
    record = _record_fields(obj)
    if record is None:
        return found
    shown, fields = record
    close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    hint = f"'{shown}' has no field '{name}'" + (f" (did you mean '{close[0]}'?)" if close else
                                                 f"; it has: {', '.join(sorted(fields))}")
    return jinja2.StrictUndefined(hint=hint, obj=obj, name=name)


def make_environment(templates_dirs: Iterable[Path], base_url: str = "/", raw_html: bool = False,
                     site: dict | None = None) -> jinja2.Environment:
    """Templates searched in order (the site's own first, then the theme's). `site`: the settings a
    shortcode template sees as `site` (Hugo's .Site.Title...); a page template's context has its own."""
    env = _Environment(
        loader=_Loader([str(path) for path in templates_dirs]),
        bytecode_cache=_COMPILED.setdefault((base_url, raw_html), _CompiledTemplates()),
        autoescape=jinja2.select_autoescape(["html", "xml", "htm"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["absolute_url"] = lambda url: absolute_url(str(url), base_url)
    env.filters["url"] = normalize_url
    env.filters["iso8601"] = lambda moment: moment.isoformat() if moment else ""
    # macros.html's iso() and human_date(), as filters: the post list calls them for every entry.
    env.filters["w3c_datetime"] = _w3c_filter
    env.filters["human_date"] = lambda when: f"{when.day} {when.strftime('%B %Y')}"
    # Hugo's `markdownify` (inline Markdown -> HTML) for shortcode templates; figure captions use it.
    env.filters["markdownify"] = lambda text: Markup(markdown_to_html(str(text or ""), raw_html, inline=True))
    # Jinja's `attr` filter reads an attribute without the environment's getattr: a field a record
    # lacks is then as strict as `post.titel` is.
    env.filters["attr"] = lambda obj, name: env.getattr(obj, name)
    env.globals["raw_html"] = raw_html
    env.globals["site"] = site or {}
    return env

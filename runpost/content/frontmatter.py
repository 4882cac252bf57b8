"""Front matter: YAML (`---`) or TOML (`+++`) -> validated FrontMatter.

Part of the load stage. Every problem is reported at its file line; a
front matter that does not parse is an error, never silently dropped.
"""
from __future__ import annotations

import datetime as dt
import decimal
import email.utils
import json
import math
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import yaml

from ..config import toml_error_location, unquoted_text_hint
from ..errors import BuildError, BuildErrors, ErrorCollector, Location, is_long_number, long_number_error
from ..markup.markdown import without_controls
from ..post import FrontMatter
from .slugs import post_segment, tag_slug

_FENCES = {"---": "yaml", "+++": "toml"}
# A slug is one URL segment: it names a folder under posts/ and nothing else (slugs.post_segment
# drops what Hugo drops: `?`, `:`, ...; these it would keep, as a path or a fragment).
_BAD_SLUG = re.compile(r"[/\\#]|[\x00-\x1f]")
# An address a redirect page is written at: a path, without query, fragment or backslash.
_NOT_AN_ADDRESS = re.compile(r"[\\?#\x00-\x1f\x7f]")


def parse_front_matter(path: Path, text: str, default_slug: str) -> tuple[FrontMatter, str, int]:
    """Return (front matter, body, file line where the body starts).

    Blank lines before the front matter are passed over, as Hugo passes them; every line
    number (errors, each key's line, the body's) still counts them."""
    blank = _blank_lines_before_front_matter(text)
    if blank is None:
        return _parse_checked(path, text, default_slug)
    rest = text.split("\n", blank)[blank]
    indent = len(rest) - len(rest.lstrip(" \t"))        # of the opening line: its columns count it
    try:
        meta, body, body_line = _parse_checked(path, rest[indent:], default_slug)
    except BuildError as error:
        raise _moved(error, blank, indent) from None
    except BuildErrors as errors:
        raise BuildErrors([_moved(error, blank, indent) for error in errors.errors]) from None
    return replace(meta, lines={key: line + blank for key, line in meta.lines.items()}), body, body_line + blank


def _blank_lines_before_front_matter(text: str) -> int | None:
    """How many blank (or whitespace-only) lines come before the line opening the front matter, where
    that line is indented or follows blank lines (Hugo passes over both); None where neither is so."""
    count = 0
    for line in text.split("\n", 256):
        if line.strip(" \t\r"):          # as Hugo's reader: a no-break space or a form feed is text
            opening = line.lstrip(" \t")
            if not (opening.rstrip() in _FENCES or opening.startswith("{")) or (count == 0 and opening == line):
                return None
            return count
        count += 1
    return None


def _moved(error: BuildError, lines: int, indent: int = 0) -> BuildError:
    location = error.location
    if location is None or not location.line:
        return error
    # A line the message names too ("key 'title' is given twice (first on line 2)").
    message = _FIRST_ON_LINE.sub(lambda found: f"(first on line {int(found.group(1)) + lines})", error.message)
    column = location.column + indent if location.line == 1 and location.column else location.column
    return BuildError(Location(location.path, location.line + lines, column), message, error.detail)


_FIRST_ON_LINE = re.compile(r"\(first on line (\d+)\)")


def _parse_checked(path: Path, text: str, default_slug: str) -> tuple[FrontMatter, str, int]:
    try:
        return _parse_front_matter(path, text, default_slug)
    except ValueError as error:
        if not is_long_number(error):
            raise
        raise long_number_error(path, text) from None
    except RecursionError:   # lists or tables nested 100,000 deep, past even the deep stack (deep.py)
        raise BuildError(Location(path, 1, 1), "front matter nested deeper than runpost reads") from None


def _parse_front_matter(path: Path, text: str, default_slug: str) -> tuple[FrontMatter, str, int]:
    if text.startswith("{"):
        return _json_front_matter(path, text, default_slug)
    lines = text.split("\n")
    fence = lines[0].rstrip() if lines else ""
    if fence not in _FENCES:
        raise BuildError(Location(path, 1, 1), "missing front matter (start the file with '---', '+++' or '{')")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == fence)
    except StopIteration:
        raise BuildError(Location(path, 1, 1), f"front matter opened with '{fence}' is never closed") from None
    raw = "\n".join(lines[1:end])
    if _FENCES[fence] == "yaml":
        data, key_lines = _parse_yaml(path, raw)
    else:
        data, key_lines = _parse_toml(path, raw)
    meta = _validate(path, data, key_lines, default_slug)
    return meta, "\n".join(lines[end + 1:]), end + 2


def _json_front_matter(path: Path, text: str, default_slug: str) -> tuple[FrontMatter, str, int]:
    """Hugo's third form: a JSON object at the very start of the file, the body after it."""
    def pairs(items: list[tuple[str, Any]]) -> dict:
        found: dict = {}
        for key, value in items:
            if key in found:
                raise _DuplicateKey(key)
            found[key] = value
        return found

    try:
        data, end = json.JSONDecoder(object_pairs_hook=pairs).raw_decode(text)
    except json.JSONDecodeError as error:
        raise BuildError(Location(path, error.lineno, error.colno), f"invalid JSON front matter: {error.msg}") from None
    except _DuplicateKey as error:
        raise BuildError(Location(path, 1, 1), f"invalid JSON front matter: key '{error.args[0]}' is given twice") from None
    if not isinstance(data, dict):
        raise BuildError(Location(path, 1, 1), "front matter must be a mapping of keys to values")
    head = text[:end]
    # Each key's line: one pass over the head (a search per key was 27 s for 30,000 keys).
    key_lines: dict[str, int] = {}
    line, counted = 1, 0
    for match in _JSON_KEY.finditer(head):
        try:
            key = json.loads(match.group(1))
        except ValueError:
            continue
        if key in data and key not in key_lines:
            line += head.count("\n", counted, match.start())
            counted = match.start()
            key_lines[key] = line
    meta = _validate(path, data, key_lines, default_slug)
    rest = text[end:]
    newline = rest.find("\n")
    body = rest[newline + 1:] if newline >= 0 and not rest[:newline].strip() else rest
    return meta, body, head.count("\n") + 1 + (1 if body is not rest else 0)


_JSON_KEY = re.compile(r'("(?:[^"\\\n]|\\.)*")\s*:')


class _DuplicateKey(Exception):
    pass


class _FrontMatterYAML:
    """YAML as front matter needs it: dates stay text (parse_date checks them where they
    stand, so 2020-13-45 is an error at its line, not a crash inside PyYAML), and a key
    given twice is an error (Hugo 0.111 and PyYAML keep the last silently; docs/hugo.md)."""

    yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue           # `<<: *defaults` (Hugo reads merge keys): flatten_mapping merges it below
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice (first on line {seen[key] + 2})", key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)     # merged keys first, the mapping's own after them: its own win
        return super().construct_mapping(node, deep)


class _Loader(_FrontMatterYAML, yaml.SafeLoader):
    """PyYAML's own parser: the clearest error messages."""


# libyaml's parser (PyYAML's C extension, where it was built) reads front matter about 8 times
# faster: valid front matter is parsed with it; front matter it refuses is parsed again by
# _Loader, whose result or error message (naming the alias or character) is the one used.
_FastLoader = type("_FastLoader", (_FrontMatterYAML, yaml.CSafeLoader), {}) if yaml.__with_libyaml__ else None


def _parse_yaml(path: Path, raw: str) -> tuple[dict, dict[str, int]]:
    if _FastLoader is not None:
        try:
            return _load_yaml(path, raw, _FastLoader)
        except BuildError as error:
            # libyaml's own limit (PyYAML 6.0.4 and later: 1,000 levels). PyYAML's Python parser would
            # only recurse on, for seconds of CPU, into a RecursionError: libyaml's message is the answer.
            if _TOO_DEEP in error.message:
                raise
    return _load_yaml(path, raw, _Loader)


_TOO_DEEP = "exceeded maximum nesting depth"


def _load_yaml(path: Path, raw: str, loader_class: type) -> tuple[dict, dict[str, int]]:
    loader = None
    try:
        loader = loader_class(raw)
        node = loader.get_single_node()
        _check_size(path, node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(path, error) from None
    except yaml.YAMLError as error:  # the reader's: a character YAML does not allow (NUL, ESC)
        raise _reader_error(path, raw, error) from None
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise BuildError(Location(path, 2, 1), "front matter must be a mapping of keys to values")
    key_lines = {}
    if isinstance(node, yaml.MappingNode):
        key_lines = {str(key.value): key.start_mark.line + 2 for key, _ in node.value}
    return data, key_lines


# Constructs that open and must be closed: PyYAML notices the problem where it gives up (often
# the end of the front matter), but the cause is where the construct opened (`"`, `[`, `{`).
_OPENED = ("while scanning a quoted scalar", "while parsing a flow")


def _yaml_error(path: Path, error: yaml.MarkedYAMLError) -> BuildError:
    """The error at its cause: an unclosed construct's opening, else where parsing stopped."""
    context = error.context or ""
    if context.startswith(_OPENED) and error.context_mark:
        mark = error.context_mark
        construct = context.removeprefix("while scanning ").removeprefix("while parsing ")
        message = f"{construct} opened here is not closed ({error.problem})"
    else:
        mark = error.problem_mark or error.context_mark
        message = error.problem or context
    where = Location(path, mark.line + 2, mark.column + 1) if mark else Location(path, 1)
    hint = next((text for problem, text in _HINTS.items() if problem in message), "")
    return BuildError(where, f"invalid YAML front matter: {message}{hint}")


# PyYAML's words for the two mistakes titles make most, and what to do about them.
_HINTS = {
    "mapping values are not allowed here": " (a value holding ': ' needs quotes: title: \"Growth: a study\")",
    "but found '<scalar>'": " (a quoted value ends at its closing quote: put quotes inside the other kind, "
                            "title: 'A \"study\"', or double them inside single quotes)",
    "found character '\\t' that cannot start any token": " (YAML indents with spaces, never tabs)",
}


_MAX_NODES = 100_000


def _check_size(path: Path, node: yaml.Node | None) -> None:
    """Refuse front matter whose aliases expand past _MAX_NODES values, at the key that does."""
    sizes: dict[int, int] = {}
    pairs = node.value if isinstance(node, yaml.MappingNode) else [(node, node)] if node is not None else []
    for key, value in pairs:
        where = Location(path, key.start_mark.line + 2, key.start_mark.column + 1)
        try:
            size = _expanded_size(value, sizes, set())
        except _SelfReference:
            raise BuildError(where, "this value contains itself (a recursive alias, like `a: &x [*x]`)") from None
        if size > _MAX_NODES:
            raise BuildError(where, f"this value expands to more than {_MAX_NODES:,} values (aliases of aliases?); "
                             "front matter is for a post's settings")


class _SelfReference(Exception):
    """A node reached again inside itself: a value that contains itself, never a post's setting."""


def _expanded_size(node: yaml.Node, sizes: dict[int, int], inside: set[int]) -> int:
    """How many values the node stands for once aliases are expanded (the billion-laughs guard).

    Aliases reuse node objects, so sizes are remembered per node: linear in the source. A node
    met again while its own value is being counted (`inside`) is a recursive alias: PyYAML builds
    a list that holds itself, which every later stage would walk forever.
    """
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in inside:
        raise _SelfReference
    inside.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, sizes, inside) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(key, sizes, inside) + _expanded_size(value, sizes, inside)
                       for key, value in node.value)
    else:
        size = 1
    inside.discard(id(node))
    sizes[id(node)] = min(size, _MAX_NODES + 1)
    return sizes[id(node)]


def _reader_error(path: Path, raw: str, error: yaml.YAMLError) -> BuildError:
    position = getattr(error, "position", None)
    if position is None:
        return BuildError(Location(path, 1), f"invalid YAML front matter: {error}")
    line = raw.count("\n", 0, position) + 2
    column = position - (raw.rfind("\n", 0, position) + 1) + 1
    character = getattr(error, "character", None)
    shown = f"U+{character:04X}" if isinstance(character, int) else repr(character)
    return BuildError(Location(path, line, column), f"invalid YAML front matter: character {shown} is not allowed")


def _parse_toml(path: Path, raw: str) -> tuple[dict, dict[str, int]]:
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        message = str(error).split(" (at ")[0]
        where = toml_error_location(path, error, first_line=2)
        if "(at end of document)" in str(error):
            where = Location(path, 1 + len(raw.split("\n")), 1)  # the last line of the front matter
        raise BuildError(where, f"invalid TOML front matter: {message}{unquoted_text_hint(raw, error, 'My post')}") from None
    key_lines = {}
    for number, line in enumerate(raw.split("\n"), 2):
        key = line.split("=", 1)[0].strip().strip('"')
        if "=" in line and key in data and key not in key_lines:
            key_lines[key] = number
    return data, key_lines


def _validate(path: Path, data: dict, key_lines: dict[str, int], default_slug: str) -> FrontMatter:
    errors = ErrorCollector()
    data, key_lines = _known_names(path, _jekyll_published(_without_controls(data), key_lines), key_lines, errors)
    fields = _Fields(path, data, key_lines, errors)
    for key, value in data.items():
        if not _encodable(value):  # "\ud800" in YAML: a lone surrogate no page can be written with
            errors.add(BuildError(fields.where(str(key)), f"'{key}' holds a character that is not valid Unicode"))
    title = fields.text("title", required=True)
    date = fields.date("date")
    publish_date = fields.date("publishDate")
    lastmod = fields.date("lastmod")
    # Hugo's defaults: the date is `date`, else `publishDate`, else `lastmod`; the publish date
    # is `publishDate`, else `date`. A blank field is not given (Hugo's archetypes write `lastmod:`).
    if date is None and publish_date is None and lastmod is None and not fields.invalid & {"date", "publishDate", "lastmod"}:
        close = fields.misspelling("date", lambda value: parse_date(value) is not None)
        errors.add(BuildError(fields.where(close), f"missing 'date' (or 'publishDate') in front matter ('{close}' is "
                                                   "a misspelling of it?)") if close else
                   BuildError(Location(path, 1, 1), "missing 'date' (or 'publishDate') in front matter"))
    slug = fields.text("slug") or default_slug
    if _BAD_SLUG.search(slug) or not post_segment(slug):
        where = fields.where("slug") if "slug" in data else Location(path, 1, 1)
        given = "slug" if "slug" in data else "the file name (set 'slug' in front matter)"
        errors.add(BuildError(where, f"{given} '{slug}' must be a single URL segment "
                              "(no '/', '\\' or '#', and a letter or digit)"))
    elif _too_long(post_segment(slug)):
        where = fields.where("slug") if "slug" in data else Location(path, 1, 1)
        errors.add(BuildError(where, f"the slug is {_TOO_LONG}"))
    meta = FrontMatter(
        title=title,
        date=date or publish_date or lastmod or _EPOCH,
        publish_date=publish_date or date or _EPOCH,      # not lastmod: a post edited later was out before
        lastmod=lastmod,
        description=fields.text("description"),
        summary=fields.text("summary"),
        tags=fields.strings("tags"),
        images=fields.strings("images"),
        draft=fields.boolean("draft"),
        slug=slug,
        params=fields.mapping("params"),
        inputs=fields.strings("inputs"),
        expiry_date=fields.date("expiryDate"),
        # Hugo's `url` moves the page; runpost keeps every post at /posts/<slug>/ and redirects
        # from that address, as from each of `aliases`, so links to it keep working.
        aliases=fields.addresses("aliases"),
        url=fields.addresses("url")[0] if "url" in data and fields.addresses("url") else "",
        weight=fields.whole_number("weight"),
        rendered=fields.build_options(),
        headless=fields.boolean("headless"),
        extra={key: value for key, value in data.items() if key not in _KNOWN},
        lines=dict(key_lines),
    )
    # A folder of the site per tag and per alias segment: each a name the file system must hold.
    for tag in meta.tags:
        if _too_long(tag_slug(tag)):
            errors.add(BuildError(fields.where("tags"), f"the tag '{tag[:40]}...' is {_TOO_LONG}"))
    for key, addresses in (("aliases", meta.aliases), ("url", (meta.url,))):
        if any(_too_long(part) for address in addresses for part in address.split("/")):
            errors.add(BuildError(fields.where(key), f"a folder or file name in '{key}' is {_TOO_LONG}"))
    errors.raise_if_any()
    return meta


_TOO_LONG = "longer than 255 bytes, the most a file system allows in one name of the site's folders"


def _too_long(name: str) -> bool:
    return len(name.encode("utf-8", "surrogatepass")) > 255


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_KNOWN = {"title", "date", "publishDate", "lastmod", "description", "summary", "tags",
          "images", "draft", "slug", "params", "inputs", "expiryDate", "aliases", "url", "weight", "_build",
          "headless"}
_KNOWN_BY_LOWER = {name.lower(): name for name in _KNOWN}
# Hugo's other names for the dates (its default `frontmatter` settings), each read where the
# key itself is not given; of two, the earlier here wins, as in Hugo's lists.
_DATE_ALIASES = {"pubdate": "publishDate", "published": "publishDate", "modified": "lastmod",
                 "unpublishdate": "expiryDate"}


def _known_names(path: Path, data: dict, key_lines: dict[str, int],
                 errors: ErrorCollector) -> tuple[dict, dict[str, int]]:
    """Front matter with the keys runpost reads in their own spelling: Hugo reads keys in any
    case (`Title`, `publishdate`) and dates by other names (`pubDate`, `modified`). The same key
    given twice in two spellings is an error; a key beside its other name wins over it."""
    named: dict = {}
    rank: dict = {}           # name -> 0 if given by its own name, else its alias's place in _DATE_ALIASES
    lines = dict(key_lines)
    aliases = list(_DATE_ALIASES)
    for key, value in data.items():
        lower = key.lower() if isinstance(key, str) else None
        name = _KNOWN_BY_LOWER.get(lower, _DATE_ALIASES.get(lower, key)) if lower is not None else key
        order = 1 + aliases.index(lower) if lower in _DATE_ALIASES else 0
        if name in named and order == rank[name]:
            errors.add(BuildError(Location(path, key_lines.get(key, 1), 1),
                                  f"'{key}' is '{name}' again (Hugo reads front matter keys in any case)"))
            continue
        if name in named and order > rank[name]:
            named[key] = value        # the other name, kept as given for templates (extra)
            continue
        if name in named:             # this one wins: the one read before stays under its own key
            named[_given_as(data, name, rank[name])] = named[name]
        named[name], rank[name] = value, order
        if name != key and key in key_lines:
            lines[name] = key_lines[key]
    return named, lines


def _jekyll_published(data: dict, key_lines: dict[str, int]) -> dict:
    """`published: false` (Jekyll's, which Hugo reads too) is `draft: true`; a date there is a
    publish date (_DATE_ALIASES). A `draft` key beside it wins."""
    key = next((key for key in data if isinstance(key, str) and key.lower() == "published"), None)
    value = data.get(key) if key is not None else None
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        return data
    data = {name: item for name, item in data.items() if name != key}
    if not any(isinstance(name, str) and name.lower() == "draft" for name in data):
        data["draft"] = not value
        if key in key_lines:
            key_lines["draft"] = key_lines[key]
    return data


def _given_as(data: dict, name: str, order: int) -> str:
    """The key `name` was read from: its alias at `order` (1-based in _DATE_ALIASES)."""
    alias = list(_DATE_ALIASES)[order - 1]
    return next(key for key in data if isinstance(key, str) and key.lower() == alias)


class _Fields:
    """Typed access to front matter keys; type errors are collected at the key's line."""

    def __init__(self, path: Path, data: dict, key_lines: dict[str, int], errors: ErrorCollector):
        self.path, self.data, self.key_lines, self.errors = path, data, key_lines, errors
        self.invalid: set[str] = set()     # keys reported as errors

    def misspelling(self, key: str, holds: Callable[[Any], bool] = lambda value: True) -> str | None:
        """A key of the front matter one edit or so from `key` (`titel`, `dat`) whose value `holds` what
        `key` takes (`data: foo` is a parameter, not a misspelt date), if there is one."""
        import difflib

        given = [name for name in self.data if isinstance(name, str) and name.lower() != key.lower()
                 and abs(len(name) - len(key)) <= 1 and holds(self.data[name])]    # not `subtitle`, `update`
        close = difflib.get_close_matches(key.lower(), [name.lower() for name in given], n=1, cutoff=0.75)
        return next((name for name in given if close and name.lower() == close[0]), None)

    def where(self, key: str) -> Location:
        return Location(self.path, self.key_lines.get(key, 1), 1)

    def _fail(self, key: str, message: str) -> None:
        self.invalid.add(key)
        self.errors.add(BuildError(self.where(key), message))

    def text(self, key: str, required: bool = False) -> str:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip() and required):
            if required:
                close = self.misspelling(key, lambda value: isinstance(value, str) and bool(value.strip()))
                if close is not None:       # `titel:`: at that line, naming it
                    self.invalid.add(key)
                    self.errors.add(BuildError(self.where(close), f"missing '{key}' in front matter "
                                                                  f"('{close}' is a misspelling of it?)"))
                else:
                    self._fail(key, f"missing '{key}' in front matter")
            return ""
        if isinstance(value, (dict, list)):
            self._fail(key, f"'{key}' must be text, not a {type(value).__name__}")
            return ""
        return _as_text(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, (str, int, float)):
            return (_as_text(value),)
        if isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
            return tuple(_as_text(item) for item in value)
        self._fail(key, f"'{key}' must be a list of strings")
        return ()

    def addresses(self, key: str) -> tuple[str, ...]:
        """Paths in this site (`/old/path/`, `old-name`): not URLs of other sites, nor empty."""
        found = self.strings(key)
        for address in found:
            if not address.strip() or _NOT_AN_ADDRESS.search(address) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|//", address):
                self._fail(key, f"'{address}' in '{key}' is not a path in this site (like /old/path/ or old-name)")
                return ()
        return found

    def boolean(self, key: str) -> bool:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):    # `draft:` left blank
            return False
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):   # `draft: "true"`, read as Hugo does
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            self._fail(key, f"'{key}' must be true or false")
            return False
        return value

    def build_options(self) -> bool:
        """Hugo's build options (`_build`, or `build` in later versions): whether the page is rendered.

        `render: never` (or false, or `link`: rendered nowhere either, since every list here links
        each post's page) leaves the post out, as Hugo does. An unlisted page (`list: never` or
        `local`) is an error, not a listed one: runpost lists every post it publishes, and a page
        its author kept out of the lists must not appear in them unasked."""
        # `build` as a mapping is later Hugos' name for them; any other `build` is the post's own param.
        key = "_build" if "_build" in self.data else "build"
        if key == "build" and not isinstance(self.data.get(key), dict):
            return True
        options = self.mapping(key) if self.data.get(key) is not None else {}
        values = {}
        for name, allowed in (("render", ("always", "never", "link")), ("list", ("always", "never", "local"))):
            value = options.get(name, "always")
            value = {True: "always", False: "never"}.get(value, value) if isinstance(value, bool) else value
            if not isinstance(value, str) or value.strip().lower() not in allowed:
                self._fail(key, f"'{key}' {name} must be one of {', '.join(allowed)} (or true, false), not {value!r}")
                return True
            values[name] = value.strip().lower()
        for name, value in options.items():
            if name == "publishResources" and isinstance(value, bool):
                continue
            if name not in ("render", "list"):
                self._fail(key, f"'{key}' has no option '{name}' (Hugo's are render, list and publishResources)")
        if values["render"] == "always" and values["list"] != "always":
            self._fail(key, f"'{key}' list: {values['list']} (a page left out of every list) is not supported: "
                            "runpost lists each post it publishes; 'render: never' leaves the post out")
        return values["render"] == "always"

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self._fail(key, f"'{key}' must be a mapping")
            return {}
        return value

    def whole_number(self, key: str) -> int:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return 0
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):     # `weight: "2"`, as Hugo reads it
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(key, f"'{key}' must be a whole number")
            return 0
        return value

    def date(self, key: str) -> dt.datetime | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):    # `lastmod:` left blank: not given
            return None
        parsed = parse_date(self.data[key])
        if parsed is None:
            written = str(self.data[key]).strip()
            # Written as a date, but no such day (2026-11-31): say that, not which format to use.
            reason = _no_such_day(written)
            self._fail(key, f"invalid date '{self.data[key]}' for '{key}' ({reason})" if reason else
                       f"invalid date '{self.data[key]}' for '{key}' (use YYYY-MM-DD or an ISO 8601 date-time)")
        return parsed


def _no_such_day(written: str) -> str | None:
    """Why a YYYY-MM-DD that names no day is none ("day is out of range for month"), else None."""
    found = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)", written)
    if not found:
        return None
    try:
        dt.date(*(int(part) for part in found.groups()))
    except ValueError as error:
        return f"{error}: {found.group()} is no day of the calendar"
    return None


def _without_controls(value: Any) -> Any:
    """Every string in the front matter with its control characters (HTML allows none in a page:
    a title pasted with a vertical tab) as U+FFFD, as in the body (markdown.without_controls)."""
    if isinstance(value, str):
        return without_controls(value)
    if isinstance(value, list):
        return [_without_controls(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_controls(item) for key, item in value.items()}
    return value


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(key) and _encodable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


def parse_date(value: Any) -> dt.datetime | None:
    """YAML/TOML dates and ISO strings -> aware datetime (naive ones are UTC, as Hugo assumes)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, int) and not isinstance(value, bool):     # seconds since 1970, as Hugo reads a number
        try:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        # YAML's timestamp forms: "2020-05-02", "2020-05-02 10:00:00", "...T10:00:00Z", "... +02:00".
        # Go's own form, "2023-01-05 10:00:00 +0000 UTC": the zone's name after its offset says nothing more.
        text = re.sub(r"(?<=\d)(\s+[+-]\d\d:?\d\d)\s+[A-Z]{3,5}$", r"\1", value.strip())
        text = re.sub(r"\s+(?=[+-]\d\d(:?\d\d)?$|Z$)", "", text)
        try:
            moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
        except ValueError:
            moment = _other_date(value.strip())
            if moment is None:
                return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _other_date(text: str) -> dt.datetime | None:
    """The other forms Hugo reads (spf13/cast): RFC 1123 and 822, as feeds and e-mail write
    dates ("Thu, 05 Jan 2023 10:00:00 +0000"), and "05 Jan 2023"."""
    try:
        return dt.datetime.strptime(text, "%d %b %Y")
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text) if re.match(r"(?:[A-Za-z]{3}, )?\d{1,2} [A-Za-z]{3} (?:\d{2}|\d{4}) ", text) else None
    except (ValueError, TypeError, IndexError):
        return None


def _as_text(value: object) -> str:
    """A scalar where front matter wants text, as Hugo reads it (Go's cast.ToString): `true`, not
    Python's `True` (`tags: [go, true]` is the tag "true"); a float in plain digits, shortest
    (`2.0` is "2"; TOML's `1e3` is "1000", where YAML 1.1 reads `1e3` as text and keeps it so)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value):
        return format(decimal.Decimal(repr(value)).normalize(), "f")
    return str(value)

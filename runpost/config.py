"""Site settings: `runpost.toml` at the project root plus command-line flags.

Loaded and fully validated before any other work, so a typo in the config is
reported before a model trains for ten minutes.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BuildError, BuildErrors, Location, UsageError, did_you_mean, is_long_number, long_number_error

CONFIG_NAME = "runpost.toml"
# The theme ships inside the package (package data), so an installed wheel can
# build a site; a site's own templates/ and static/ take precedence, file by file.
THEME_ROOT = Path(__file__).resolve().parent / "theme"
DEFAULT_TEMPLATES = THEME_ROOT / "templates"
DEFAULT_STATIC = THEME_ROOT / "static"


@dataclass(frozen=True)
class Config:
    root: Path                       # project folder (holds runpost.toml)
    content_dir: Path                # posts live in <content_dir>/posts
    output_dir: Path                 # the generated site (replaced atomically)
    build_dir: Path                  # frozen execution results (committed)
    templates_dirs: tuple[Path, ...]  # searched in order: site's templates/, engine's theme
    static_dirs: tuple[Path, ...]    # copied to the site root, as Hugo does; earlier ones win
    title: str = "runpost"
    base_url: str = "/"              # absolute URL of the site root, always ends with "/"
    author: str = ""
    language: str = "en"
    description: str = ""
    raw_html: bool = False           # Hugo's goldmark `unsafe`: raw HTML in Markdown is omitted unless true
    cname: str = ""                  # custom domain, written to site/CNAME
    drafts: bool = False             # --drafts
    future: bool = False             # --future
    expired: bool = False            # --expired: posts past their expiryDate too (Hugo's --buildExpired)
    mode: str = "default"            # execution: "default" (stale only), "rerun", "frozen", "explain"
    params: dict[str, str] = field(default_factory=dict)   # --param NAME=VALUE overrides
    timeout: float = 1800.0          # default seconds per executable block
    executor: str = "local"          # where @memo calls compute: "local" (forked children) or "dask://host:port"
    debug: bool = False
    toc_min_headings: int = 0        # a post with this many h2/h3 headings gets a contents list (0: only `toc: true`)
    feed_limit: int = 20             # newest posts in each Atom feed (0: all), as jekyll-feed and WordPress limit theirs
    paginate: int = 10               # posts per home and tag page (0: all on one), Hugo's default
    extra: dict[str, Any] = field(default_factory=dict)    # [params] table, for templates
    # The published site's base_url, where base_url is another (serve previews at 127.0.0.1): an
    # absolute link to it is still this site's, and checked as one (site_url).
    published_url: str = ""

    @property
    def site_url(self) -> str:
        """The base URL the site is published under: links written with it lead into this site."""
        return self.published_url or self.base_url

    @property
    def base_path(self) -> str:
        """The path part of base_url ("/repo/"), where the site is served."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).path or "/"


_KNOWN_KEYS = {
    "title": str, "base_url": str, "author": str, "language": str,
    "description": str, "raw_html": bool, "cname": str, "timeout": (int, float),
    "params": dict, "executor": str, "toc_min_headings": int, "feed_limit": int,
    "paginate": int,
}


_TYPE_NAMES = {str: "a string (in quotes)", bool: "true or false", int: "a whole number", (int, float): "a number",
               dict: "a table", float: "a number", list: "a list"}


def load_config(root: Path, **overrides: Any) -> Config:
    """Read <root>/runpost.toml (optional) and apply command-line overrides.

    `overrides` holds only flags the user gave (None values are ignored).
    """
    path = root / CONFIG_NAME
    settings = _read_settings(path)
    overrides = {key: value for key, value in overrides.items() if value is not None}
    flag_url = overrides.pop("base_url", None)
    base_url = flag_url or settings.get("base_url") or _github_pages_url() or "/"
    problem = base_url_problem(base_url)
    if problem and flag_url:
        raise UsageError(f"--base-url: {problem}")
    if problem:
        raise BuildError(Location(path, _line_of_key(path, "base_url"), 1), f"setting 'base_url': {problem}")
    content_dir = Path(overrides.pop("content_dir", root / "content"))
    templates_dirs = tuple(dict.fromkeys([root / "templates", DEFAULT_TEMPLATES]))
    return Config(
        root=root,
        content_dir=content_dir,
        output_dir=Path(overrides.pop("output_dir", root / "site")),
        # Absolute: the kernel runs in another folder (a relative --build-dir put site_file's files
        # inside the post's results).
        build_dir=Path(os.path.abspath(overrides.pop("build_dir", root / "build"))),
        templates_dirs=templates_dirs,
        static_dirs=tuple(dict.fromkeys([root / "static", DEFAULT_STATIC])),
        title=settings.get("title", "runpost"),
        base_url=normalize_base_url(base_url),
        author=settings.get("author", ""),
        language=settings.get("language", "en"),
        description=settings.get("description", ""),
        raw_html=settings.get("raw_html", False),
        cname=settings.get("cname", ""),
        timeout=float(overrides.pop("timeout", settings.get("timeout", 1800.0))),
        executor=_executor(overrides.pop("executor", None), settings, path, overrides.get("mode", "default")),
        toc_min_headings=settings.get("toc_min_headings", 0),
        feed_limit=settings.get("feed_limit", 20),
        paginate=settings.get("paginate", 10),
        extra=settings.get("params", {}),
        **overrides,
    )


def _executor(flag: str | None, settings: dict[str, Any], path: Path, mode: str) -> str:
    """The executor for memoized calls; a bad one is an error before any post runs.

    --frozen and --explain never compute a call, so they never need the cluster extra.
    """
    from .execution.cluster import executor_problem

    spec = flag or settings.get("executor", "local")
    problem = executor_problem(spec, check_installed=mode not in ("frozen", "explain"))
    if problem is None:
        return spec
    if flag:
        raise UsageError(f"--executor: {problem}")
    raise BuildError(Location(path, _line_of_key(path, "executor"), 1), f"setting 'executor': {problem}")


def require_project(config: Config) -> None:
    """A build knows where it is: a content folder with something in it, or a usage error.

    Without this, a typo in --content (or a run outside any project) would
    "succeed" and replace a good site with an empty one.
    """
    content = config.content_dir
    if not content.is_dir():
        if not (config.root / CONFIG_NAME).is_file() and content == config.root / "content":
            above = _project_above(config.root)
            where = f" ({above} is one: cd there)" if above else ""
            raise UsageError(f"no {CONFIG_NAME} and no content/ folder in {config.root}: run runpost in a "
                             f"project folder{where}, or name the folder that holds posts/ with --content")
        if content.exists():
            raise UsageError(f"content folder '{content}' is not a folder (--content names the folder that holds posts/)")
        raise UsageError(f"content folder '{content}' does not exist")
    try:
        next(os.scandir(content), None)
    except OSError as error:      # rglob passes over a folder it cannot read: "has no files" would mislead
        raise UsageError(f"cannot read the content folder '{content}': {error.strerror}") from None
    if not any(path.is_file() or path.is_symlink() for path in content.rglob("*")):
        raise UsageError(f"content folder '{content}' has no files: posts go in {content / 'posts'}")
    if (content / "posts").is_symlink() and not (content / "posts").is_dir():
        # Read as no posts, it built a site of none over the last one and exited 0.
        raise UsageError(f"{Location(content / 'posts')}: a symbolic link to {os.readlink(content / 'posts')}, which cannot "
                         "be read (missing, a loop, or no permission): fix the link; no site is built without the posts")
    if not (content / "posts").is_dir():
        named = content if content.name else content.resolve()       # `--content .` inside posts/
        hint = f" (did you mean --content {named.parent}?)" if named.name == "posts" else ""
        raise UsageError(f"content folder '{content}' has no posts/ folder: --content names the folder that "
                         f"holds posts/ (here {content / 'posts'}){hint}")


def _project_above(folder: Path) -> Path | None:
    """The nearest folder above `folder` that is a runpost project (a runpost.toml, or content/posts/)."""
    try:
        parents = folder.resolve().parents
        return next((parent for parent in parents if (parent / CONFIG_NAME).is_file()
                     or (parent / "content" / "posts").is_dir()), None)
    except OSError:
        return None


def source_folders(config: Config, results: bool = True) -> list[Path]:
    """Folders the build reads (with the results folder unless `results` is false): the output, and
    the results folder, may never be, hold or sit inside one of them (site/output.py)."""
    return [config.content_dir, *([config.build_dir] if results else []), config.root / "templates",
            config.root / "static", config.root / ".git"]


_NOT_IN_BASE_URL = re.compile(r"[\s?#\x00-\x1f\x7f]")     # a query, a fragment, spaces, control characters (NUL)


def base_url_problem(url: str) -> str:
    """Why `url` cannot be the site's address ("" if it can): an absolute http(s) URL with a
    host, or "/" while the address is not known. A path or a bare host would be taken for a
    page of the site in every link (`/blog/tags/` is not a page), and other schemes serve no site."""
    from urllib.parse import urlsplit

    if url == "/":
        return ""
    shown = url if url.isprintable() else repr(url)[1:-1]      # a NUL or an escape code, as \x00
    try:
        parts = urlsplit(url)
    except ValueError:                  # https://[::1/ (an unclosed IPv6 address)
        return f"'{shown}' is not a URL (such as https://example.org/blog/; '/' if its address is not known yet)"
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:                  # https://example.org:abc/
        port_ok = False
    if parts.scheme in ("http", "https") and parts.hostname and port_ok and not _NOT_IN_BASE_URL.search(url):
        return ""
    # The URL it probably meant: a scheme before `//host` or a bare host, a host before a path.
    example = "https://example.org/blog/"
    if not parts.scheme and port_ok and not _NOT_IN_BASE_URL.search(url):
        example = "https:" + url if url.startswith("//") else "https://example.org" + url if url.startswith("/") \
            else "https://" + url
    return (f"'{shown}' is not the absolute URL of the site (such as {normalize_base_url(example)}; "
            "'/' if its address is not known yet)")


def normalize_base_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _github_pages_url() -> str:
    # Inside GitHub Actions, a project site is served at https://<owner>.github.io/<repo>/.
    repository = os.environ.get("GITHUB_REPOSITORY", "") if os.environ.get("GITHUB_ACTIONS") else ""
    if "/" not in repository:
        return ""
    owner, name = repository.split("/", 1)
    if name.lower() == f"{owner.lower()}.github.io":
        return f"https://{name.lower()}/"
    return f"https://{owner.lower()}.github.io/{name}/"


def _read_settings(path: Path) -> dict[str, Any]:
    if path.is_symlink() and not path.exists():
        raise BuildError(Location(path), "a link to nothing (or a loop of links): the settings cannot be read") from None
    if not path.exists():
        return {}
    if path.is_symlink():
        from .content.confine import outside_error   # here: the content package imports this module

        # As every other link that leads outside: its title and settings would be published.
        error = outside_error(path, (Path(os.path.realpath(path.parent)),), "the settings file")
        if error is not None:
            raise error
    if not path.is_file():      # a pipe would hang the build, waiting for a writer
        raise BuildError(Location(path), "not a regular file (a folder, a pipe or a device?)")
    try:
        # A byte order mark (Notepad's UTF-8) is not TOML: read past it.
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
        settings = tomllib.loads(text)
    except UnicodeDecodeError as error:
        raise BuildError(Location(path, 1), f"not UTF-8 ({error.reason})") from None
    except RecursionError:              # tables nested thousands deep
        raise BuildError(Location(path, 1), "invalid TOML: nested deeper than runpost reads") from None
    except tomllib.TOMLDecodeError as error:
        message = error.args[0].split(' (at')[0] + unquoted_text_hint(text, error, "My blog")
        raise BuildError(toml_error_location(path, error), f"invalid TOML: {message}") from None
    except ValueError as error:         # after TOMLDecodeError, which is one
        if not is_long_number(error):
            raise
        raise long_number_error(path, text) from None
    problems = []
    for key, value in settings.items():
        expected = _KNOWN_KEYS.get(key)
        line = _line_of_key(path, key)
        if expected is None:
            problems.append(BuildError(Location(path, line, 1),
                                       f"unknown setting '{key}'{did_you_mean(key, _KNOWN_KEYS)}"))
        elif not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            problems.append(BuildError(Location(path, line, 1), f"setting '{key}' must be {_TYPE_NAMES[expected]}, "
                                       f"not {_TYPE_NAMES.get(type(value), type(value).__name__)}"))
        elif key in ("toc_min_headings", "feed_limit", "paginate") and value < 0:
            problems.append(BuildError(Location(path, line, 1), f"setting '{key}' must be 0 or more"))
        elif key == "cname" and (problem := cname_problem(value)):
            problems.append(BuildError(Location(path, line, 1), f"setting 'cname': {problem}"))
        elif key == "timeout" and not 0 < value <= 1e9:      # nan and inf fail both; 10**400 no float holds
            shown = f"{value:g}" if isinstance(value, float) else (str(value) if len(str(value)) < 20 else "a number that long")
            problems.append(BuildError(Location(path, line, 1), f"setting 'timeout' must be a number of seconds "
                                       f"greater than 0 and at most 1e9, not {shown}"))
    if problems:
        raise BuildErrors(problems)
    return settings


# A host name as DNS has it: labels of letters, digits and inner hyphens (Unicode letters too: an
# internationalised domain), dot-separated, at most 253 characters.
_DOMAIN = re.compile(r"(?=.{1,253}\.?$)(?:(?!-)[^\W_](?:[^\W_]|-){0,62}(?<!-)\.)+(?!-)[^\W_](?:[^\W_]|-){0,62}(?<!-)\.?")


def cname_problem(value: str) -> str | None:
    """Why `value` cannot be GitHub Pages' CNAME file (one domain name, such as blog.example.com), or None."""
    domain = value.strip()
    if not domain or _DOMAIN.fullmatch(domain):
        return None
    meant = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain, flags=re.IGNORECASE).split("/")[0].split(":")[0]
    hint = f" (did you mean '{meant}'?)" if meant != domain and _DOMAIN.fullmatch(meant) else ""
    return f"{value!r} is not a domain name such as blog.example.com{hint}; the site's URL goes in base_url"


def _line_of_key(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.split("=", 1)[0].strip() in (key, f'"{key}"'):
            return number
    return 1


def unquoted_text_hint(text: str, error: tomllib.TOMLDecodeError, example: str) -> str:
    """' (text goes in quotes: ...)' where tomllib found an invalid value that starts with a letter
    (`title = My blog`: TOML's strings are quoted, YAML's need not be), else ''."""
    location = toml_error_location(Path(), error)
    lines = text.split("\n")
    if not str(error).startswith("Invalid value") or not location.column or not 0 < location.line <= len(lines):
        return ""
    value = lines[location.line - 1][location.column - 1:]
    if value[:1].isalpha() and not value.startswith(("true", "false", "inf", "nan")):
        return f' (text goes in quotes: title = "{example}")'
    return ""


def toml_error_location(path: Path, error: tomllib.TOMLDecodeError, first_line: int = 1) -> Location:
    """tomllib reports '(at line L, column C)' in its message; turn it into a Location."""
    import re

    match = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
    if not match:
        return Location(path, first_line)
    return Location(path, first_line + int(match.group(1)) - 1, int(match.group(2)))


"""How fast runpost builds a site, against real Hugo on the same content, and how fast it rebuilds.

    python bench/build_speed.py [--repeats 5] [--copies 10] [--write-readme]

1. Corpus: the Hugo parity corpus (tests/hugo/corpus/*.md, each as
   content/posts/<name>.md, with the test shortcodes) built by
   `python build.py --output ...` and by `hugo --quiet -d ...`, each a whole
   command in a fresh process. Also a scaled site: every post --copies times
   under different names. Hugo gets a small theme doing what runpost's does
   (a page per post with date, reading time and prev/next, a home list with
   summaries, RSS, sitemap, 404, the same static files), so both write a whole
   site, not just .Content.
2. The project's own site, the way a user meets it: `python build.py --frozen`
   from the repo (cold: a fresh process, results read from build/), and the
   wait in `python build.py serve` from saving a prose edit to the page with
   it (serve_latency.py: a real serve process, on temp copies of content/ and build/).
3. Incremental, on the scaled site: whole commands into the same output folder with the
   render cache warm, after nothing changed, one post's prose edited, one shortcode template
   edited, and a fresh checkout (every source file written anew, no output folder,
   build/.cache restored, as the Pages workflow does); Hugo's full build as the reference.

The corpus posts have no date, which runpost requires: both tools get the
same `date:` line added to the front matter. Links the corpus points at but
does not ship (images, /about/) are stubbed as empty static files in both
sites, found by a first untimed runpost build; that build and one Hugo build
also warm the file cache. The two tools alternate which goes first in each
repeat. Times are medians of --repeats; ratios are runpost / Hugo (above 1:
runpost is slower). Nothing is written to the repo unless --write-readme,
which replaces the section between the build-speed markers in bench/README.md.
A script, not a test: timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import serve_latency

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "hugo"
README = ROOT / "bench" / "README.md"
MARKER_START = "<!-- build-speed -->"
MARKER_END = "<!-- /build-speed -->"
POST_DATE = "2020-05-02"
# One build of either tool takes seconds; a hang (an unfinished parser edit) should end the run, not stall it.
COMMAND_TIMEOUT = 120
# The corpus's own base URL (render_with_hugo.sh); shortcodes like ref make absolute URLs from it.
BASE_URL = "https://example.org/"

# A whole-site theme for Hugo, close to what runpost's templates/ produce.
HUGO_LAYOUTS = {
    "_default/baseof.html": """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ .Title }} · {{ site.Title }}{{ end }}</title>
<link rel="canonical" href="{{ .Permalink }}">
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .RelPermalink }}">{{ end }}
<link rel="icon" href="{{ "favicon.svg" | relURL }}" type="image/svg+xml">
<link rel="stylesheet" href="{{ "css/style.css" | relURL }}">
<meta property="og:title" content="{{ .Title }}">
<meta property="og:url" content="{{ .Permalink }}">
</head>
<body>
<header class="site-header"><a href="{{ "/" | relURL }}">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer>{{ site.Title }}</footer>
</body>
</html>
""",
    "_default/single.html": """{{ define "main" }}
<article class="post">
<header>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time>
· {{ .ReadingTime }} min read</p>
</header>
<div class="post-content">{{ .Content }}</div>
</article>
<nav><ul>
{{ with .PrevInSection }}<li><a href="{{ .RelPermalink }}" rel="prev">{{ .Title }}</a></li>{{ end }}
{{ with .NextInSection }}<li><a href="{{ .RelPermalink }}" rel="next">{{ .Title }}</a></li>{{ end }}
</ul></nav>
{{ end }}
""",
    "_default/list.html": """{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul class="post-list">
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2 January 2006" }}</time><p>{{ .Summary }}</p></li>
{{ end }}</ul>
{{ end }}
""",
    "index.html": """{{ define "main" }}
<h1>{{ site.Title }}</h1>
<ul class="post-list">
{{ range site.RegularPages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2 January 2006" }}</time><p>{{ .Summary }}</p></li>
{{ end }}</ul>
{{ end }}
""",
    "404.html": """{{ define "main" }}<h1>Not found</h1><p><a href="{{ "/" | absURL }}">Home</a></p>{{ end }}
""",
}
HUGO_CONFIG = f"""baseURL = "{BASE_URL}"
title = "Corpus"
languageCode = "en"
disableKinds = ["robotsTXT"]
[markup.highlight]
  noClasses = false
"""
RUNPOST_CONFIG = f"""title = "Corpus"
base_url = "{BASE_URL}"
"""
# Site paths a failed runpost build names as missing, in its two message forms.
_MISSING = re.compile(r"\(that is (\S+)\) does not exist|'(/[^']*)' does not exist|links to (\S+), which the site"
                      r"|is this site's address, and (\S+) does not exist")
# A link to an anchor the corpus's page does not have: "content/posts/x.md:7:23: error: ... has no element with id 'y'".
_NO_ANCHOR = re.compile(r"^content/posts/([^:/]+)\.md:\d+:\d+: error: .* has no element with id '([^']+)'", re.MULTILINE)


@dataclasses.dataclass
class Sites:
    """One content set, laid out as a runpost site and as a Hugo site."""

    label: str
    posts: int
    runpost: Path
    hugo: Path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_tools()
    with tempfile.TemporaryDirectory(prefix="runpost-bench-") as temp:
        work = Path(temp)
        scaled = None
        corpus_rows = []
        for copies in dict.fromkeys([1, args.copies]):
            scaled = make_sites(work, copies, f"corpus x{copies}")
            corpus_rows.append(time_corpus(scaled, args.repeats))
        incremental = time_incremental(scaled, args.repeats)
        own_rows = time_own_site(work / "own", args.repeats)
    table = format_table(corpus_rows, incremental, own_rows, args)
    print(table)
    if args.write_readme:
        write_readme(table)
        print(f"updated {README.relative_to(ROOT)}", file=sys.stderr)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (default 5)")
    parser.add_argument("--copies", type=int, default=10, help="copies of each post in the scaled site (default 10)")
    parser.add_argument("--write-readme", action="store_true",
                        help=f"replace the {MARKER_START} section of bench/README.md with the table")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.copies < 1:
        parser.error("--repeats and --copies must be at least 1")
    return args


def check_tools() -> None:
    if shutil.which("hugo") is None:
        sys.exit("error: hugo is not on PATH (the reference; Hugo 0.111 extended)")


# --- the corpus, as two sites ------------------------------------------------

def make_sites(work: Path, copies: int, label: str) -> Sites:
    folder = work / f"x{copies}"
    posts = corpus_posts(copies)
    runpost_site, hugo_site = folder / "runpost", folder / "hugo"
    write_runpost_site(runpost_site, posts)
    write_hugo_site(hugo_site, posts)
    sites = Sites(label, len(posts), runpost_site, hugo_site)
    stub_missing_links(sites)
    return sites


def corpus_posts(copies: int) -> dict[str, str]:
    """{file name: text}: each corpus post `copies` times; the first keeps its name, so ref/relref resolve."""
    posts = {}
    for source in sorted((CORPUS / "corpus").glob("*.md")):
        text = with_date(source.read_text(encoding="utf-8"), source)
        for copy in range(copies):
            name = source.stem if copy == 0 else f"{source.stem}-copy{copy}"
            posts[f"{name}.md"] = text
    return posts


def with_date(text: str, source: Path) -> str:
    if not text.startswith("---\n"):
        raise SystemExit(f"error: {source}: expected YAML front matter")
    if re.search(r"^date:", text.split("\n---\n", 1)[0], re.MULTILINE):
        return text
    return f"---\ndate: {POST_DATE}\n{text[4:]}"


def write_posts(site: Path, posts: dict[str, str]) -> None:
    folder = site / "content" / "posts"
    folder.mkdir(parents=True)
    for name, text in posts.items():
        (folder / name).write_text(text, encoding="utf-8")


def write_runpost_site(site: Path, posts: dict[str, str]) -> None:
    write_posts(site, posts)
    (site / "runpost.toml").write_text(RUNPOST_CONFIG, encoding="utf-8")
    shutil.copytree(CORPUS / "templates", site / "templates")
    (site / "static").mkdir()


def write_hugo_site(site: Path, posts: dict[str, str]) -> None:
    write_posts(site, posts)
    (site / "config.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    for name, text in HUGO_LAYOUTS.items():
        (site / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (site / "layouts" / name).write_text(text, encoding="utf-8")
    shutil.copytree(CORPUS / "hugo-shortcodes", site / "layouts" / "shortcodes")
    # runpost publishes its theme's static files (css, js, favicon); Hugo copies the same ones.
    from runpost.config import DEFAULT_STATIC

    shutil.copytree(DEFAULT_STATIC, site / "static")


def stub_missing_links(sites: Sites, tries: int = 3) -> None:
    """Empty files, in both sites, for every site path a first runpost build says is missing; a
    link to an anchor a page does not have loses its `#anchor` in every copy of its post, in both."""
    failed = run_runpost(sites.runpost, sites.runpost / "warmup", check=False)
    if failed.returncode == 0:
        return
    paths = {next(group for group in match.groups() if group) for match in _MISSING.finditer(failed.stderr)}
    anchors = {(match.group(1), match.group(2)) for match in _NO_ANCHOR.finditer(failed.stderr)}
    if (not paths and not anchors) or tries == 0:
        raise SystemExit(f"error: runpost failed to build {sites.label}:\n{failed.stderr}")
    for site_path in paths:
        relative = site_path.strip("/") + ("/index.html" if site_path.endswith("/") else "")
        for static in (sites.runpost / "static", sites.hugo / "static"):
            (static / relative).parent.mkdir(parents=True, exist_ok=True)
            (static / relative).touch()
    for name, anchor in anchors:
        for site in (sites.runpost, sites.hugo):
            for post in (site / "content" / "posts").glob(f"{name}*.md"):
                if post.stem == name or re.fullmatch(rf"{re.escape(name)}-copy\d+", post.stem):
                    post.write_text(post.read_text(encoding="utf-8").replace(f"#{anchor}", ""), encoding="utf-8")
    stub_missing_links(sites, tries - 1)    # until it builds: a fix may let a later stage report more


# --- timing ------------------------------------------------------------------

def run_runpost(site: Path, output: Path, *flags: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "build.py"), *flags, "--output", str(output)]
    return run(command, site, check)


def run_hugo(site: Path, output: Path) -> subprocess.CompletedProcess:
    return run(["hugo", "--quiet", "--source", str(site), "-d", str(output)], site, check=True)


def run(command: list[str], cwd: Path, check: bool) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: {' '.join(command)} (in {cwd}) still running after {COMMAND_TIMEOUT} s") from None
    if check and done.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} (in {cwd}) failed:\n{done.stderr}")
    return done


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fresh(output: Path) -> Path:
    """An output folder that does not exist yet: both tools write a whole site every run."""
    shutil.rmtree(output, ignore_errors=True)
    return output


def cold(site: Path) -> Path:
    """No render cache: the first build of a site (build/.cache/render/ is gitignored, so a clone has none)."""
    shutil.rmtree(site / "build" / ".cache", ignore_errors=True)
    return site


def time_corpus(sites: Sites, repeats: int) -> dict:
    tools = {
        "runpost": lambda: run_runpost(cold(sites.runpost), fresh(sites.runpost.parent / "out-runpost")),
        "hugo": lambda: run_hugo(sites.hugo, fresh(sites.hugo.parent / "out-hugo")),
    }
    tools["runpost"](), tools["hugo"]()  # warm-up: the stubs hold, and the file cache is filled
    times = {name: [] for name in tools}
    for repeat in range(repeats):
        order = list(tools) if repeat % 2 == 0 else list(reversed(tools))
        for name in order:
            times[name].append(timed(tools[name]))
    pages = sum(1 for _ in (sites.runpost.parent / "out-runpost").rglob("*.html"))
    hugo_pages = sum(1 for _ in (sites.hugo.parent / "out-hugo").rglob("*.html"))
    return {"label": sites.label, "posts": sites.posts, "pages": (pages, hugo_pages),
            **{name: statistics.median(values) for name, values in times.items()},
            "spread": {name: (min(values), max(values)) for name, values in times.items()}}


# --- incremental builds and serve on the scaled corpus --------------------------

def time_incremental(sites: Sites, repeats: int) -> dict:
    """Whole commands into the same output folder with the render cache warm, interleaved with
    Hugo's full build (fresh output) as the reference; then a real serve process's wait after a prose edit."""
    output = sites.runpost.parent / "out-incremental"
    post = sorted((sites.runpost / "content" / "posts").glob("*.md"))[0]
    template = sites.runpost / "templates" / "shortcodes" / "badge.html"
    original = template.read_text(encoding="utf-8")
    run_runpost(sites.runpost, output)  # the cache and the previous site exist
    cases = {
        "nothing changed": lambda number: None,
        "one post's prose edited": lambda number: serve_latency.edit_prose(post, number),
        "one shortcode template edited": lambda number: template.write_text(
            original + f"{{# benchmark edit {number} #}}\n", encoding="utf-8"),
        "a fresh checkout, render cache restored": lambda number: fresh_checkout(sites.runpost, output),
    }
    times: dict[str, list[float]] = {name: [] for name in [*cases, "hugo"]}
    for repeat in range(repeats):
        for name, change in cases.items():
            change(repeat)
            times[name].append(timed(lambda: run_runpost(sites.runpost, output)))
        times["hugo"].append(timed(lambda: run_hugo(sites.hugo, fresh(sites.hugo.parent / "out-hugo"))))
    template.write_text(original, encoding="utf-8")
    first, serve = time_serve_rebuilds(sites.runpost.parent, sites.runpost / "content", sites.runpost / "build",
                                       post, repeats, root=sites.runpost)
    times["serve: a saved prose edit, until its page is fetched"] = serve
    return {"label": sites.label, "posts": sites.posts, "serve_first": first,
            "medians": {name: statistics.median(values) for name, values in times.items()},
            "spread": {name: (min(values), max(values)) for name, values in times.items()}}


def fresh_checkout(site: Path, output: Path) -> None:
    """A deploy (pages.yml): every source file written anew (new modification times), no output
    folder, and build/.cache restored from the last run (actions/cache)."""
    for path in sorted(site.rglob("*")):
        if path.is_file() and ".cache" not in path.relative_to(site).parts:
            path.write_bytes(path.read_bytes())
    shutil.rmtree(output, ignore_errors=True)


# --- the project's own site --------------------------------------------------

def time_own_site(work: Path, repeats: int) -> dict:
    """Cold `build.py --frozen` from the repo, then a real serve process's wait after prose edits."""
    cold = [timed(lambda: run_runpost(ROOT, fresh(work / "cold"), "--frozen")) for _ in range(repeats + 1)][1:]
    content, build_dir = copy_sources(work)
    post = next(content.glob("posts/*/index.md"), None) or next(content.glob("posts/*.md"))
    serve_latency.edit_prose(post, 0)
    # Guard: serve runs stale posts' code (the article trains for minutes). A prose edit
    # must leave every block fresh; --frozen fails instead of running anything if not.
    run_runpost(ROOT, work / "guard", "--frozen", "--content", str(content), "--build-dir", str(build_dir))
    first, rebuilds = time_serve_rebuilds(work, content, build_dir, post, repeats)
    return {"cold": statistics.median(cold), "cold_spread": (min(cold), max(cold)), "first": first,
            "rebuild": statistics.median(rebuilds), "rebuild_spread": (min(rebuilds), max(rebuilds)),
            "post": post.relative_to(content).as_posix()}


def copy_sources(work: Path) -> tuple[Path, Path]:
    """content/ and build/ copied, so edits and serve's build/.preview/ stay out of the repo."""
    content, build_dir = work / "content", work / "build"
    shutil.copytree(ROOT / "content", content)
    shutil.copytree(ROOT / "build", build_dir, ignore=shutil.ignore_patterns(".preview", "*.tmp*"))
    return content, build_dir


def time_serve_rebuilds(work: Path, content: Path, build_dir: Path, post: Path, repeats: int,
                        root: Path = ROOT) -> tuple[float, list[float]]:
    """A real `serve` process in `root`: (seconds to the first served build, seconds from each save
    of a prose edit to the page with it fetched); serve_latency.py says what is counted."""
    flags = () if root != ROOT else ("--content", str(content), "--build-dir", str(build_dir))
    return serve_latency.measure(root, post, repeats, work, flags)


# --- output ------------------------------------------------------------------

def format_table(corpus_rows: list[dict], incremental: dict, own: dict, args: argparse.Namespace) -> str:
    lines = [
        f"Measured {dt.date.today().isoformat()} on {machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {hugo_version()}, median of {args.repeats} (min-max in brackets):",
        "",
        "| Build | Posts | Pages (runpost / Hugo) | runpost (s) | Hugo (s) | runpost / Hugo |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in corpus_rows:
        lines.append(f"| {row['label']}, whole command | {row['posts']} | {row['pages'][0]} / {row['pages'][1]} "
                     f"| {row['runpost']:.2f} {spread(row['spread']['runpost'])} "
                     f"| {row['hugo']:.2f} {spread(row['spread']['hugo'])} | {row['runpost'] / row['hugo']:.1f}x |")
    hugo = incremental["medians"]["hugo"]
    lines += [
        "",
        f"| {incremental['label']} ({incremental['posts']} posts), again into the same folder | runpost (s) "
        f"| / Hugo's full build |",
        "|---|---:|---:|",
    ]
    for name, median in incremental["medians"].items():
        label = "Hugo: full build (the reference)" if name == "hugo" else (
            name if name.startswith("serve") else f"runpost whole command, {name}")
        lines.append(f"| {label} | {median:.3f} {spread(incremental['spread'][name], 3)} | {median / hugo:.2f}x |")
    lines += [
        f"| serve: from start to the first build served (cold cache) | {incremental['serve_first']:.2f} "
        f"| {incremental['serve_first'] / hugo:.2f}x |",
        "",
        f"| The project's site (`{own['post']}`) | runpost (s) | / cold |",
        "|---|---:|---:|",
        f"| `python build.py --frozen`, cold process | {own['cold']:.2f} {spread(own['cold_spread'])} | 1.00x |",
        f"| serve: from start to the first build served | {own['first']:.2f} | {own['first'] / own['cold']:.2f}x |",
        f"| serve: a saved prose edit, until its page is fetched | {own['rebuild']:.3f} {spread(own['rebuild_spread'], 3)} "
        f"| {own['rebuild'] / own['cold']:.2f}x |",
    ]
    if len(corpus_rows) > 1:
        small, large = corpus_rows[0], corpus_rows[-1]
        scale = large["posts"] / small["posts"]
        lines += ["", f"From {small['posts']} to {large['posts']} posts ({scale:.0f}x): runpost "
                      f"{large['runpost'] / small['runpost']:.1f}x the time, Hugo {large['hugo'] / small['hugo']:.1f}x."]
    return "\n".join(lines)


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{cores} CPU cores" + (f" ({model})" if model else "")


def spread(bounds: tuple[float, float], digits: int = 2) -> str:
    return f"[{bounds[0]:.{digits}f}-{bounds[1]:.{digits}f}]"


def hugo_version() -> str:
    words = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.split()
    return f"Hugo {words[1].split('+')[0].lstrip('v')}" if len(words) > 1 else "Hugo"


def write_readme(table: str) -> None:
    """Replace the text between the markers; append the section (with markers) the first time."""
    text = README.read_text(encoding="utf-8")
    section = f"{MARKER_START}\n{table}\n{MARKER_END}"
    if MARKER_START in text and MARKER_END in text:
        before, rest = text.split(MARKER_START, 1)
        after = rest.split(MARKER_END, 1)[1]
        text = before + section + after
    else:
        heading = ("## `build_speed.py`: runpost vs Hugo on the parity corpus, and serve's rebuild\n\n"
                   "    python bench/build_speed.py --repeats 5 --copies 10 --write-readme\n\n")
        text = text.rstrip("\n") + "\n\n" + heading + section + "\n"
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

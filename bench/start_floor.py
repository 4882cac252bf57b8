"""What any whole-command rebuild pays before it renders one post, against Hugo's full build.

    python bench/start_floor.py [--repeats 7] [--copies 8]

#13 asks a rebuild after one post's prose edit, run as a whole command (`python build.py`),
to take at most 0.3x Hugo's full build of the same site. A new Python process must first
start, import the libraries that render a post (Python-Markdown and its extensions, Jinja2,
PyYAML, Pygments), build the Markdown converter, and list the project's files to learn what
changed (the up-to-date check, uptodate.py). Each row below is that much and no more, run as
`python -c ...` in a fresh process in the scaled corpus site (build_speed.make_sites), each a
median of --repeats, interleaved with Hugo's full build (fresh output) as the reference. Then
the real command, after nothing changed and after a prose edit, for comparison.

Whatever remains of the 0.3x once the floor is paid is all a rebuild would have for reading
the edited post, rendering it and the list pages, feed and sitemap that show it, checking
its links, writing the changed files and recording the manifest. A script, not a test.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import build_speed
import serve_latency

ROOT = Path(__file__).resolve().parent.parent
_PACKAGE = f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
_CONVERTER = _PACKAGE + "from runpost.markup.markdown import _converter; _converter(False); "
STEPS = {
    "Python starts": "pass",
    "+ the rendering libraries imported": "import markdown, pymdownx, jinja2, yaml, pygments, pygments.lexers, "
                                          "pygments.formatters.html",
    "+ runpost's Markdown converter built": _CONVERTER,
    "+ every input and output file listed (the up-to-date check)": _CONVERTER + (
        "from pathlib import Path; from runpost.config import load_config; from runpost import uptodate; "
        "config = load_config(Path('.'), output_dir=Path(sys.argv[1])); "
        "uptodate._inputs(config, []); uptodate.files_of([config.output_dir])"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per row (default 7)")
    parser.add_argument("--copies", type=int, default=8, help="copies of each corpus post (default 8)")
    args = parser.parse_args(argv)
    build_speed.check_tools()
    with tempfile.TemporaryDirectory(prefix="runpost-floor-") as temp:
        sites = build_speed.make_sites(Path(temp), args.copies, f"corpus x{args.copies}")
        output = Path(temp) / "out"
        build_speed.run_runpost(sites.runpost, output)         # the site and the render cache exist
        post = sorted((sites.runpost / "content" / "posts").glob("*.md"))[0]
        rows = {name: [] for name in [*STEPS, "whole command, nothing changed",
                                      "whole command, one post's prose edited", "Hugo: full build"]}
        for repeat in range(args.repeats):
            for name, code in STEPS.items():
                rows[name].append(_timed([sys.executable, "-c", code, str(output)], sites.runpost))
            rows["whole command, nothing changed"].append(
                build_speed.timed(lambda: build_speed.run_runpost(sites.runpost, output)))
            serve_latency.edit_prose(post, repeat)
            rows["whole command, one post's prose edited"].append(
                build_speed.timed(lambda: build_speed.run_runpost(sites.runpost, output)))
            rows["Hugo: full build"].append(build_speed.timed(
                lambda: build_speed.run_hugo(sites.hugo, build_speed.fresh(Path(temp) / "out-hugo"))))
    hugo = statistics.median(rows["Hugo: full build"])
    print(f"Measured {time.strftime('%Y-%m-%d')} on {build_speed.machine()}, CPython {sys.version.split()[0]}, "
          f"{build_speed.hugo_version()}, {sites.posts} posts, median of {args.repeats}:\n")
    print("| fresh process | s | / Hugo's full build |\n|---|---:|---:|")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.3f} | {statistics.median(values) / hugo:.2f}x |")
    return 0


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())

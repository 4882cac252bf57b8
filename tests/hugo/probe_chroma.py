"""Ask real Hugo 0.111 which fence languages it highlights, and which keep a last newline.

    python tests/hugo/probe_chroma.py [EXTRA_NAMES_FILE]

Hugo highlights a fence only when Chroma knows its language (by name, alias or
file extension); other languages stay plain `<pre><code>`. Pygments knows a
different set, so runpost asks this list, not Pygments, whether to highlight.
Candidates: every Pygments alias and file extension, plus the names in
EXTRA_NAMES_FILE (one per line: Chroma's lexer names, aliases and file names,
e.g. `env`, `mts`, `styl`, which Pygments lacks). Chroma also takes a name as a
file name (`lexers.Get`: "filename." + name against its globs), so `go.mod` is
highlighted for its `*.mod`: each candidate is asked again as `x.<name>`, and
those Hugo highlights are the extensions a dotted name may end in. Writes
runpost/markup/hugo_compat/chroma_languages.json. Needs `hugo` on PATH.

The names in use (2026-12-01): tests/hugo/chroma_names.txt, read from Chroma's
lexers (lexers/*.go and lexers/embedded/*.xml: name, alias, filename).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from pygments.lexers import get_all_lexers

OUT = Path(__file__).resolve().parents[2] / "runpost/markup/hugo_compat/chroma_languages.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+#.-]*$")


def candidates(extra: Path | None) -> list[str]:
    names = set()
    for _, aliases, patterns, _ in get_all_lexers(plugins=False):
        names.update(alias.lower() for alias in aliases)
        names.update(pattern[2:].lower() for pattern in patterns if pattern.startswith("*."))
    if extra:
        names.update(line.strip().lower() for line in extra.read_text().splitlines() if line.strip())
    return sorted(name for name in names if _NAME.match(name))


def probe(names: list[str]) -> tuple[list[str], list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder)
        (site / "content/posts").mkdir(parents=True)
        (site / "layouts/_default").mkdir(parents=True)
        (site / "config.toml").write_text('baseURL = "https://example.org/"\n[markup.highlight]\nnoClasses = false\n')
        (site / "layouts/_default/single.html").write_text("{{ .Content }}")
        (site / "layouts/_default/list.html").write_text("")
        (site / "layouts/index.html").write_text("")
        # Each name twice: as a fence (highlighted at all?) and in a highlight shortcode whose
        # code has no last newline (does the lexer add one, as Chroma's EnsureNL lexers do?).
        body = "".join(f"\nPROBE {index}\n\n```{name}\nx\n```\n\nNEWLINE\n\n"
                       f"{{{{< highlight \"{name}\" >}}}}x{{{{< /highlight >}}}}\n" for index, name in enumerate(names))
        (site / "content/posts/probe.md").write_text("---\ntitle: probe\n---\n" + body)
        subprocess.run(["hugo", "--quiet", "--source", str(site)], check=True)
        page = (site / "public/posts/probe/index.html").read_text()
    parts = re.split(r"PROBE (\d+)", page)[1:]
    highlighted, newline = [], []
    for index, html in zip(parts[0::2], parts[1::2]):
        name = names[int(index)]
        fence, _, shortcode = html.partition("NEWLINE")
        if 'class="chroma"' in fence:
            highlighted.append(name)
            if re.search(r"x\n</span></span></code>", shortcode):
                newline.append(name)
    return highlighted, newline


def main() -> None:
    extra = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    names = candidates(extra)
    highlighted, newline = probe(names)
    as_files, _ = probe([f"x.{name}" for name in names])
    # A dotted name Hugo knows as a name or alias is found in any case (VB.NET), one it matched as a
    # file name only as written (go.mod, not Go.Mod): asked again in capitals.
    dotted = [name for name in highlighted if "." in name]
    any_case, _ = probe([name.upper() for name in dotted])
    version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.split()[1]
    OUT.write_text(json.dumps({"hugo": version, "probed": len(names), "highlighted": highlighted,
                               "extensions": [name[2:] for name in as_files],
                               "dotted_any_case": [name.lower() for name in any_case],
                               "keep_last_newline": newline}, indent=0) + "\n")
    print(f"{len(highlighted)} of {len(names)} languages highlighted by Hugo {version}; "
          f"{len(newline)} keep a last newline -> {OUT}")


if __name__ == "__main__":
    main()

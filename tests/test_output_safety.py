"""Where a build may write ("Trust", points 1 and 2), through the command line only.

A build replaces its output folder wholesale, so the folder must be one that
runpost made (or an empty or new one). Pointing --output at the project, its
sources, an ancestor, HOME, / or a folder of unrelated files is a usage error
(exit 2) that leaves every file where it was. A force flag may override the
"unrelated files" refusal, never the others.

Layout of every test (all under pytest's tmp_path):

    home/                 HOME (.bashrc, notes.txt)
    work/projects/blog/   the project: runpost.toml, .git/, content/, build/,
                          docs/, notes/ (unrelated files), static/, templates/
    work/projects/other/          unrelated files
    work/projects/other-repo/     a git repository (.git/)
    work/projects/other-project/  another runpost project (runpost.toml, content/)
    work/projects/blog-link  ->   blog (a symlink)
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import launcher

REPO = Path(__file__).resolve().parent.parent

# The name of the flag that lets a build replace a non-empty folder runpost did not make
# is not decided yet. Change it here (and only here) once it is.
FORCE_FLAG = "--force"

POST = "---\ntitle: A post\ndate: 2020-01-01\n---\nHello.\n"


# --- helpers ----------------------------------------------------------------------------------

def run(project: Path, *args: str, home: Path, sandbox: bool = False) -> subprocess.CompletedProcess:
    """`python build.py ARGS` in `project` with umask 022 and HOME=`home`.

    With `sandbox`, the build runs in a private mount namespace where every
    file system but pytest's temporary folder is read-only, for the one test
    that points a build at `/`.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "HOME": str(home)}
    env.pop("GITHUB_ACTIONS", None)
    if sandbox:
        build = [sys.executable, str(REPO / "build.py"), *args]
        script = 'umask 022; exec "$@"'
        writable = str(home.parent)
        script = ('mount --make-rprivate / || exit 97\n'
                  'for m in $(awk \'{print $2}\' /proc/self/mounts | sort -r); do\n'
                  '  mount -o remount,bind,ro "$m" 2>/dev/null\n'
                  'done\n'
                  f'mount --bind "{writable}" "{writable}" && mount -o remount,bind,rw "{writable}" || exit 97\n'
                  'touch /.runpost-probe 2>/dev/null && { rm -f /.runpost-probe; exit 97; }\n'
                  + script)
        prefix = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
        command = [*prefix, "bash", "-c", script, "bash", *build]
        return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    return launcher.launch(list(args), cwd=project, env=env, timeout=120, umask=0o022)[0]


def tree(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, object]:
    """Every file, folder and symlink under `root` (not following links): content hash and mode."""
    entries: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [name for name in dirnames if here / name not in skip]
        for name in dirnames + filenames:
            path = here / name
            if path in skip:
                continue
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                entries[key] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(info.st_mode))
            else:
                entries[key] = ("dir", stat.S_IMODE(info.st_mode))
    return entries


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "home"
    write(home / ".bashrc", "# mine\n")
    write(home / "notes.txt", "do not lose\n")
    write(home / ".ssh/id_ed25519", "key\n")
    projects = tmp_path / "work/projects"
    blog = projects / "blog"
    write(blog / "runpost.toml", 'title = "Blog"\nbase_url = "https://example.org/"\n')
    write(blog / ".git/HEAD", "ref: refs/heads/main\n")
    write(blog / ".git/config", "[core]\n")
    write(blog / "content/posts/a.md", POST)
    write(blog / "build/keep.txt", "frozen results\n")
    write(blog / "docs/readme.md", "# Docs\n")
    write(blog / "notes/todo.txt", "unrelated\n")
    write(blog / "static/hello.txt", "hello\n")
    write(blog / "templates/unused-partial.html", "<p>unused</p>\n")
    write(blog / ".github/workflows/pages.yml", "on: push\n")
    write(blog / ".venv/pyvenv.cfg", "home = /usr/bin\n")
    write(projects / "other/file.txt", "unrelated\n")
    write(projects / "other-repo/.git/HEAD", "ref: refs/heads/main\n")
    write(projects / "other-repo/file.txt", "tracked\n")
    write(projects / "other-project/runpost.toml", 'title = "Other"\n')
    write(projects / "other-project/content/posts/b.md", POST)
    (projects / "blog-link").symlink_to(blog)
    return {"root": tmp_path, "home": home, "blog": blog, "projects": projects}


def assert_usage_error(result: subprocess.CompletedProcess) -> None:
    shown = f"exit {result.returncode}: {result.stderr.strip()[:300]}"
    assert result.returncode == 2, shown
    assert "unrecognized arguments" not in result.stderr, f"the flag does not exist: {shown}"
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, shown
    assert "error" in result.stderr.lower(), f"no message: {shown}"


# --- folders a build must never replace ------------------------------------------------------------

# --output values, relative to the project unless they start with "{": filled from `world`.
PROTECTED = {
    "project-root": ".",
    "project-root-slash": "./",
    "project-root-absolute": "{blog}",
    "project-root-via-content": "content/..",
    "project-root-via-symlink": "../blog-link",
    "content": "content",
    "content-posts": "content/posts",
    "build": "build",
    "static": "static",
    "templates": "templates",
    "git": ".git",
    "parent": "..",
    "grandparent": "../..",
    "home": "{home}",          # what the shell makes of `--output ~`
    "other-repo": "../other-repo",
    "other-project": "../other-project",
    "settings-file": "runpost.toml",                # a file is never replaced by the site, even with --force
    "a-post": "content/posts/a.md",
    "an-unrelated-file": "docs/readme.md",
    "hidden-folder": ".github",                     # the project's hidden folders: workflows, a venv
    "inside-a-hidden-folder": ".github/workflows",
    "venv": ".venv",
    "another-repos-git": "../other-repo/.git",      # hidden folders outside the project too
    "a-hidden-home-folder": "{home}/.ssh",
}
UNRELATED = {
    "docs": "docs",
    "existing-unrelated-folder": "notes",
    "sibling-unrelated-folder": "../other",
}


def output_arg(value: str, world: dict[str, Path]) -> str:
    return value.format(**{key: str(path) for key, path in world.items()})


@pytest.mark.parametrize("value", list(PROTECTED.values()) + list(UNRELATED.values()),
                         ids=list(PROTECTED) + list(UNRELATED))
def test_refuses_to_replace_a_folder_it_did_not_make(world, value):
    before = tree(world["root"])
    result = run(world["blog"], "--output", output_arg(value, world), home=world["home"])
    assert_usage_error(result)
    assert tree(world["root"]) == before, "files were changed, added or removed"


# FORCE_FLAG: the name is not decided; see the constant at the top of this file.
@pytest.mark.parametrize("value", list(PROTECTED.values()), ids=list(PROTECTED))
def test_force_never_replaces_the_project_its_sources_ancestors_home_or_another_project(world, value):
    before = tree(world["root"])
    result = run(world["blog"], FORCE_FLAG, "--output", output_arg(value, world), home=world["home"])
    assert_usage_error(result)
    assert tree(world["root"]) == before, "files were changed, added or removed"


# FORCE_FLAG: the name is not decided; see the constant at the top of this file.
@pytest.mark.parametrize("value", list(UNRELATED.values()), ids=list(UNRELATED))
def test_force_replaces_a_folder_of_unrelated_files(world, value):
    output = (world["blog"] / value).resolve()
    # The render cache lives in build/ (render_cache.py), which a build may write.
    skip = (output, world["blog"] / "build" / ".cache")
    before = tree(world["root"], skip=skip)
    result = run(world["blog"], FORCE_FLAG, "--output", value, home=world["home"])
    assert result.returncode == 0, result.stderr
    assert (output / "index.html").is_file()
    assert tree(world["root"], skip=skip) == before, "files outside the output and build folders changed"


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_refuses_the_file_system_root(world, force):
    if not shutil.which("unshare"):
        pytest.skip("no unshare: cannot run a build pointed at / with the rest of the machine read-only")
    before = tree(world["root"])
    args = [FORCE_FLAG] if force else []
    result = run(world["blog"], *args, "--output", "/", home=world["home"], sandbox=True)
    if result.returncode == 97:
        pytest.skip(f"cannot make the file systems read-only for this test: {result.stderr.strip()[:200]}")
    assert_usage_error(result)
    assert tree(world["root"]) == before, "files were changed, added or removed"
    assert Path("/etc/passwd").is_file()


# --- folders a build may replace -----------------------------------------------------------------

def test_a_site_runpost_built_before_is_replaced(world):
    blog = world["blog"]
    assert run(blog, home=world["home"]).returncode == 0
    write(blog / "content/posts/b.md", POST.replace("A post", "Another"))
    result = run(blog, home=world["home"])
    assert result.returncode == 0, result.stderr
    assert (blog / "site/posts/b/index.html").is_file()


@pytest.mark.parametrize("output", ["../out", ".site"], ids=["beside", "hidden"])
def test_an_output_folder_runpost_built_before_is_replaced(world, output):
    blog = world["blog"]
    assert run(blog, "--output", output, home=world["home"]).returncode == 0
    result = run(blog, "--output", output, home=world["home"])
    assert result.returncode == 0, result.stderr
    assert (blog / output / "index.html").is_file()


@pytest.mark.parametrize("output", ["{home}/.gnupg", "{home}/.config/blog", ".venv", "../other-repo/.hg"],
                         ids=["new-home-folder", "inside-an-empty-one", "new-venv", "beside"])
def test_a_hidden_folder_of_someone_elses_is_refused_even_empty_or_new(world, output):
    # `--output ~/.ssh` with an empty ~/.ssh wrote a site there; a later build replaced a key put there since.
    (world["home"] / ".config").mkdir()
    before = tree(world["root"])
    result = run(world["blog"], "--output", output_arg(output, world), "--force", home=world["home"])
    assert result.returncode == 2 and "a hidden folder" in result.stderr, result.stderr
    assert tree(world["root"]) == before


def test_a_hidden_folder_beside_a_project_that_lives_in_one_is_refused_even_forced(tmp_path):
    # Project in ~/.config/blog: `--output ../nvim --force` replaced ~/.config/nvim (found by review).
    home = tmp_path / "home"
    write(home / ".config/nvim/init.vim", "set number\n")
    blog = home / ".config/blog"
    write(blog / "runpost.toml", 'title = "B"\n')
    write(blog / "content/posts/a.md", POST)
    before = tree(home / ".config/nvim")
    for output in ("../nvim", "../fresh", ".site/.ssh"):
        result = run(blog, "--output", output, "--force", home=home)
        assert result.returncode == 2 and "a hidden folder" in result.stderr, (output, result.stderr)
    assert tree(home / ".config/nvim") == before and not (home / ".config/fresh").exists()
    assert run(blog, "--output", ".site", home=home).returncode == 0     # the project's own hidden output


def test_a_marked_site_that_became_a_repository_is_refused(world):
    # A gh-pages clone in site/: a build replaced the folder, .git and all, without a word.
    blog = world["blog"]
    assert run(blog, home=world["home"]).returncode == 0
    write(blog / "site/.git/HEAD", "ref: refs/heads/gh-pages\n")
    before = tree(world["root"])
    result = run(blog, "--force", home=world["home"])
    assert result.returncode == 2 and "it holds '.git', a repository" in result.stderr, result.stderr
    assert tree(world["root"]) == before


@pytest.mark.parametrize("make", [True, False], ids=["empty", "new"])
def test_an_empty_or_new_output_folder_is_fine(world, make):
    output = world["projects"] / "fresh"
    if make:
        output.mkdir()
    skip = (output, world["blog"] / "build" / ".cache")  # the render cache lives in build/
    before = tree(world["root"], skip=skip)
    result = run(world["blog"], "--output", str(output), home=world["home"])
    assert result.returncode == 0, result.stderr
    assert (output / "index.html").is_file()
    assert tree(world["root"], skip=skip) == before


def test_a_build_writes_nothing_outside_its_output_and_build_folders(world):
    blog = world["blog"]
    skip = (blog / "site", blog / "build")
    before = tree(world["root"], skip=skip)
    result = run(blog, home=world["home"])
    assert result.returncode == 0, result.stderr
    assert tree(world["root"], skip=skip) == before


def test_the_site_is_world_readable_with_umask_022(world):
    blog = world["blog"]
    result = run(blog, home=world["home"])
    assert result.returncode == 0, result.stderr
    site = blog / "site"
    wrong = [f"{path.relative_to(blog)}: {stat.S_IMODE(path.stat().st_mode):o}"
             for path in [site, *site.rglob("*")]
             if stat.S_IMODE(path.stat().st_mode) != (0o755 if path.is_dir() else 0o644)]
    assert oct(stat.S_IMODE((site / "index.html").stat().st_mode)) == oct(0o644)
    assert not wrong, "modes other than 0755 (folders) and 0644 (files): " + ", ".join(wrong[:5])


# --- no content, no project ---------------------------------------------------------------------

def test_a_missing_content_folder_is_a_usage_error_and_keeps_the_site(world):
    blog = world["blog"]
    assert run(blog, home=world["home"]).returncode == 0
    before = tree(world["root"])
    result = run(blog, "--content", "nope", home=world["home"])
    assert_usage_error(result)
    assert "nope" in result.stderr
    assert tree(world["root"]) == before, "the existing site/ (or something else) changed"


def test_a_folder_without_runpost_toml_or_content_is_a_usage_error(tmp_path):
    folder = tmp_path / "not-a-project"
    write(folder / "readme.txt", "hello\n")
    before = tree(tmp_path)
    result = run(folder, home=tmp_path)
    assert_usage_error(result)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("posts_folder", [False, True], ids=["content-empty", "content-posts-empty"])
def test_an_empty_content_folder_is_a_usage_error(world, posts_folder):
    blog = world["blog"]
    shutil.rmtree(blog / "content")
    (blog / ("content/posts" if posts_folder else "content")).mkdir(parents=True)
    before = tree(world["root"])
    result = run(blog, home=world["home"])
    assert_usage_error(result)
    assert tree(world["root"]) == before


def test_force_replaces_an_unrelated_folder_of_a_project_that_lives_in_a_hidden_folder(tmp_path):
    # Hidden folders are refused below the folders the output shares with the project, not above.
    blog = tmp_path / ".blogs" / "mine"
    write(blog / "content/posts/a.md", POST)
    write(blog / "out/old.txt", "unrelated\n")
    result = run(blog, FORCE_FLAG, "--output", "out", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert (blog / "out/index.html").is_file() and not (blog / "out/old.txt").exists()


# --- the results folder (--build-dir) ----------------------------------------------------------------

@pytest.mark.parametrize("build_dir", ["content/posts", "content", ".", "..", "static", "templates", ".git", "site",
                                       "{home}"])
def test_a_build_dir_the_build_reads_or_that_holds_the_project_is_refused(world, build_dir):
    # --build-dir content/posts swapped each post's results over the post's own folder (index.md gone).
    blog, home = world["blog"], world["home"]
    write(blog / "content/posts/a/index.md", POST)
    write(blog / "content/posts/a/notes.txt", "mine\n")
    before = tree(world["root"])
    result = run(blog, "--build-dir", build_dir.format(home=home), home=home)
    assert_usage_error(result)
    assert "as the results folder" in result.stderr
    assert tree(world["root"]) == before


def test_a_results_folder_runpost_did_not_make_is_never_replaced(world):
    # --build-dir ~/Documents with a post named like a folder there replaced that folder.
    blog, home = world["blog"], world["home"]
    write(blog / "content/posts/taxes.md", "---\ntitle: T\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(1)\n```\n")
    write(home / "Documents/taxes/2024.txt", "mine\n")
    before = tree(home)
    result = run(blog, "--build-dir", str(home / "Documents"), home=home)
    assert result.returncode == 1 and "refusing to replace this folder with the post's results" in result.stderr
    assert tree(home) == before


@pytest.mark.parametrize("held", ["files/thesis.tex", ".git/HEAD", ".notes", ".venv/pyvenv.cfg", "memo/meeting.txt",
                                  "memo/" + "a" * 64 + ".json files/thesis.tex"])
def test_a_folder_holding_what_runpost_writes_or_hidden_files_but_no_manifest_is_never_replaced(world, held):
    # `files/thesis.tex`, `.notes`, `.venv/` and a `.git` repository in ~/x/<post>/ were deleted by
    # `--build-dir ~/x`: the check looked only at top-level names and skipped hidden ones.
    blog, home = world["blog"], world["home"]
    write(blog / "content/posts/thesis.md", "---\ntitle: T\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(1)\n```\n")
    for name in held.split():          # a memo call's record beside the user's files/ makes them no results
        write(home / "x/thesis" / name, "mine\n")
    before = tree(home)
    result = run(blog, "--build-dir", str(home / "x"), home=home)
    assert result.returncode == 1 and "refusing to replace this folder with the post's results" in result.stderr
    assert tree(home) == before


def test_a_results_folder_that_is_refused_stops_the_build_before_any_other_is_replaced(world):
    # --build-dir ~/papers: a post's folder was replaced, then a later post's was refused, exit 1.
    blog, home = world["blog"], world["home"]
    for name in ("a-first", "b-second"):
        write(blog / f"content/posts/{name}.md", "---\ntitle: T\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(1)\n```\n")
    write(home / "papers/a-first/draft.tmp-1.txt", "mine\n")             # not one of runpost's temporaries
    write(home / "papers/a-first/manifest.json", "{}\n")                  # nor a manifest runpost wrote
    write(home / "papers/a-first/.env", "SECRET=1\n")
    write(home / "papers/b-second/memo/letter.docx", "mine\n")
    # A third post's own error (a missing input) is said with them, not after they are fixed.
    write(blog / "content/posts/c-third.md", "---\ntitle: T\ndate: 2020-01-01\ninputs: [missing.csv]\n---\n"
                                             "```python {exec=true}\nprint(1)\n```\n")
    before = tree(home)
    result = run(blog, "--build-dir", str(home / "papers"), home=home)
    assert result.returncode == 1 and result.stderr.count("refusing to replace this folder") == 2, result.stderr
    assert "c-third.md" in result.stderr and "missing.csv" in result.stderr, result.stderr
    assert tree(home) == before


def test_a_rerun_refuses_a_results_folder_holding_a_users_file_before_any_code_runs(world):
    # With --rerun every folder is replaced: b's was refused only after a's had been replaced.
    blog, home = world["blog"], world["home"]
    for name in ("a-first", "b-second"):
        write(blog / f"content/posts/{name}.md", "---\ntitle: T\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(1)\n```\n")
    assert run(blog, home=home).returncode == 0
    write(blog / "build/b-second/notes.txt", "mine\n")
    before = [tree(blog / "build" / name) for name in ("a-first", "b-second")]
    result = run(blog, "--rerun", home=home)
    assert result.returncode == 1 and "refusing to replace this folder" in result.stderr, result.stderr
    assert [tree(blog / "build" / name) for name in ("a-first", "b-second")] == before


def test_a_results_folder_runpost_made_is_replaced_with_its_finders_file(world):
    blog, home = world["blog"], world["home"]
    write(blog / "content/posts/r.md", "---\ntitle: R\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(1)\n```\n")
    assert run(blog, home=home).returncode == 0
    write(blog / "build/r/.DS_Store", "finder\n")
    write(blog / "content/posts/r.md", "---\ntitle: R\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(2)\n```\n")
    result = run(blog, home=home)
    assert result.returncode == 0, result.stderr


def test_a_content_folder_without_posts_is_a_usage_error_that_keeps_the_site(world):
    # --content content/posts built an empty site over site/ and exited 0.
    blog, home = world["blog"], world["home"]
    assert run(blog, home=home).returncode == 0
    before = tree(blog / "site")
    result = run(blog, "--content", "content/posts", home=home)
    assert_usage_error(result)
    assert "has no posts/ folder" in result.stderr and "(did you mean --content content?)" in result.stderr
    assert tree(blog / "site") == before


@pytest.mark.parametrize("target", ["../drafts", "posts"])
def test_a_posts_folder_that_is_a_link_leading_nowhere_is_a_usage_error_that_keeps_the_site(world, target):
    # content/posts -> ../drafts (gone), or a link to itself: an empty blog replaced the site, exit 0.
    blog, home = world["blog"], world["home"]
    assert run(blog, home=home).returncode == 0
    before = tree(blog / "site")
    shutil.move(str(blog / "content/posts"), str(blog / "moved-posts"))
    (blog / "content/posts").symlink_to(target)
    result = run(blog, home=home)
    assert_usage_error(result)
    assert f"content/posts: a symbolic link to {target}, which cannot be read" in result.stderr, result.stderr
    assert tree(blog / "site") == before


@pytest.mark.parametrize("name, args", [("site", ()), ("build", ()), ("static", ()), ("templates", ()),
                                        (".git", ()), ("L", ("--output", "L")), ("L", ("--build-dir", "L"))])
def test_a_link_that_leads_to_itself_is_an_error_at_it_not_an_internal_error(world, name, args):
    # `ln -s site site` (or build, static, templates, .git, an --output or --build-dir): "internal error: RuntimeError".
    blog, home = world["blog"], world["home"]
    if (blog / name).exists():
        shutil.rmtree(blog / name)
    (blog / name).symlink_to(name)
    result = run(blog, *args, home=home)
    assert result.returncode == 1 and "internal error" not in result.stderr, result.stderr
    assert f"{name}: error: a symbolic link that leads back to itself (a loop)" in result.stderr, result.stderr


def test_a_link_loop_is_found_without_pathlib_saying_so(world):
    # Python 3.13's Path.resolve() no longer raises for a loop: the build failed later, at a
    # temporary folder's name. The check asks the file system.
    from runpost import cli
    from runpost.config import load_config
    from runpost.errors import BuildError

    blog = world["blog"]
    shutil.rmtree(blog / "static", ignore_errors=True)
    (blog / "static").symlink_to("static")
    with pytest.raises(BuildError, match="a symbolic link that leads back to itself") as raised:
        cli._check_link_loops(load_config(blog))
    assert raised.value.location.path == blog / "static"


def test_a_relative_build_dir_keeps_site_files_where_the_site_finds_them(world):
    # The kernel resolved a relative --build-dir from its own folder: site_file's file landed in the results.
    blog, home = world["blog"], world["home"]
    write(blog / "content/posts/sf.md", "---\ntitle: S\ndate: 2020-01-01\n---\n```python {exec=true}\nimport runpost\n"
                                        "open(runpost.site_file('data/out.txt'), 'w').write('hi')\n```\n\n[data](/data/out.txt)\n")
    result = run(blog, "--build-dir", "results", home=home)
    assert result.returncode == 0, result.stderr
    assert (blog / "site/data/out.txt").read_text() == "hi"


@pytest.mark.parametrize("target", ["../..", "../../../victim"])
def test_a_committed_link_in_place_of_the_preview_folder_is_refused(world, target):
    # A repository that committed build/.preview/site -> ../.. had serve (and --param) replace the
    # whole clone, .git and content/ included, with the preview site.
    blog, home = world["blog"], world["home"]
    write(blog / "content/posts/p.md", "---\ntitle: P\ndate: 2020-01-01\nparams:\n  n: 1\n---\nText.\n")
    write(world["projects"] / "victim/keep.txt", "precious\n")
    (blog / "build/.preview").mkdir(parents=True)
    (blog / "build/.preview/site").symlink_to(target)
    before = tree(world["root"])
    for args in (["--param", "n=2"], ["serve", "--port", "0"]):
        result = run(blog, *args, home=home)
        assert_usage_error(result)
        assert "refusing to write the preview into" in result.stderr and "is a symbolic link" in result.stderr
        assert tree(world["root"]) == before


def test_a_site_runpost_wrote_that_holds_a_folder_named_like_a_source_is_replaced_again(world):
    # static/build/app.js put a build/ folder in the site: every later build was refused, --force or not.
    blog, home = world["blog"], world["home"]
    write(blog / "static/build/app.js", "console.log(1)\n")
    write(blog / "static/content/old.txt", "x\n")
    assert run(blog, home=home).returncode == 0
    result = run(blog, home=home)
    assert result.returncode == 0, result.stderr
    assert (blog / "site/build/app.js").is_file()


def test_a_results_folder_never_replaces_a_users_file_named_as_a_post(tmp_path):
    # `--build-dir ~/notes` with a post `todo`: the file `todo` was renamed aside as an old results
    # folder, and the next build's tidying deleted it (found by review).
    home, blog, notes = tmp_path / "home", tmp_path / "blog", tmp_path / "notes"
    write(notes / "todo", "IMPORTANT\n")
    write(blog / "runpost.toml", 'title = "B"\n')
    write(blog / "content/posts/todo.md", "---\ntitle: T\ndate: 2020-01-01\n---\n```python {exec=true}\nprint(1)\n```\n")
    for _ in range(2):
        result = run(blog, "--build-dir", str(notes), home=home)
        assert result.returncode == 1 and "refusing to replace this file with the post's results" in result.stderr
    assert sorted(path.name for path in notes.iterdir()) == ["todo"] and (notes / "todo").read_text() == "IMPORTANT\n"


@pytest.mark.parametrize("build_dir", ["{home}/.ssh", "{home}/.ssh/b", ".git/results"])
def test_a_hidden_folder_of_someone_elses_is_refused_as_the_results_folder(world, build_dir):
    write(world["home"] / ".ssh/config", "Host github.com\n")
    (world["blog"] / ".git").mkdir(exist_ok=True)
    before = tree(world["root"])
    result = run(world["blog"], "--build-dir", output_arg(build_dir, world), home=world["home"])
    assert result.returncode == 2 and "as the results folder: it is inside" in result.stderr, result.stderr
    assert tree(world["root"]) == before


def test_output_dot_is_refused_as_the_output_not_blamed_on_the_results_folder(world):
    result = run(world["blog"], "--output", ".", home=world["home"])
    assert result.returncode == 2 and "as the output folder: it is the project folder" in result.stderr, result.stderr

"""Incremental builds (render_cache.py, write.py): after any kind of change, a build that reuses
the render cache and the previous site writes exactly the bytes a clean build writes.

Each case builds the fixture site (plus an executable post and a post that refs another),
makes one change, builds again with the cache, then builds the same sources from scratch
(no cache, no previous site) and compares every output file byte for byte.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import FIXTURE_SITE
from runpost.config import load_config
from runpost.errors import BuildErrors
from runpost.pipeline import build
from runpost import atomic, uptodate
from runpost.render_cache import CACHE_FOLDER, RenderCache
from runpost.report import Reporter

EXEC_POST = """---
title: Runs code
date: 2024-02-01
tags: ["python"]
---
Before the code, a [link to the first post]({{< ref "first-post" >}}).

```python {exec=true}
print(1 + 1)
```

After the code.
"""
# A PNG of width x height pixels (1-bit grey): size_images reads its header.
def png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + b"\0" * ((width + 7) // 8) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def make_project(root: Path) -> Path:
    shutil.copytree(FIXTURE_SITE, root)
    (root / "content/posts/runs-code.md").write_text(EXEC_POST, encoding="utf-8")
    # Two posts a page: a post added or deleted moves others to another page of the lists.
    with (root / "runpost.toml").open("a", encoding="utf-8") as settings:
        settings.write("paginate = 2\n")
    (root / "templates/shortcodes").mkdir(parents=True)
    (root / "templates/shortcodes/note.html").write_text('<aside class="note">{{ inner }}</aside>\n', encoding="utf-8")
    with (root / "content/posts/first-post.md").open("a", encoding="utf-8") as post:
        post.write("\n{{< note >}}A note{{< /note >}}\n\n![Bundle dot](/posts/bundle-post/dot.png)\n")
    # An image of its own bundle: its width and height go into the post's content (images.py),
    # so a changed bundle file must change the content though the post's text did not.
    with (root / "content/posts/bundle-post/index.md").open("a", encoding="utf-8") as post:
        post.write("\n![The dot, sized](/posts/bundle-post/dot.png)\n")
    return root


def run(root: Path, output: Path, cache: RenderCache | None = None, build_dir: Path | None = None) -> None:
    config = load_config(root, output_dir=output, build_dir=build_dir or root / "build")
    build(config, Reporter(quiet=True), cache)


def files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def clean_site(root: Path, work: Path) -> dict[str, bytes]:
    """What a clean build of the project's sources and results writes: no render cache, no previous site."""
    clean_build = work / "clean-build"
    shutil.copytree(root / "build", clean_build, ignore=shutil.ignore_patterns(".cache", ".preview"))
    run(root, work / "clean-site", RenderCache(None), clean_build)
    return files(work / "clean-site")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def prose_edit(root: Path) -> None:
    edit(root / "content/posts/first-post.md", "Some *emphasis*", "Some *strong emphasis*")


def shortcode_template_edit(root: Path) -> None:
    edit(root / "templates/shortcodes/note.html", 'class="note"', 'class="note edited"')


def page_template_edit(root: Path) -> None:
    theme = load_config(root).templates_dirs[-1]
    text = (theme / "post.html").read_text(encoding="utf-8")
    (root / "templates/post.html").write_text(text.replace("</article>", "<p>edited</p></article>", 1)
                                              if "</article>" in text else text + "<!-- edited -->\n",
                                              encoding="utf-8")


def settings_edit(root: Path) -> None:
    edit(root / "runpost.toml", 'title = "Fixture Blog"', 'title = "Renamed Blog"')


def base_url_edit(root: Path) -> None:
    edit(root / "runpost.toml", "https://example.org/blog/", "https://example.com/other/")


def title_edit(root: Path) -> None:
    # Other pages show it: prev/next links, the home list, tags, the feed.
    edit(root / "content/posts/runs-code.md", "title: Runs code", "title: Runs some code")


def new_post(root: Path) -> None:
    (root / "content/posts/newer.md").write_text("---\ntitle: Newer\ndate: 2024-03-01\ntags: [new]\n---\nNew *post*.\n",
                                                 encoding="utf-8")


def deleted_post(root: Path) -> None:
    (root / "content/posts/runs-code.md").unlink()
    edit(root / "content/posts/first-post.md", "\n{{< note >}}", "\n\n{{< note >}}")


def renamed_ref_target(root: Path) -> None:
    # runs-code refs "first-post": the ref now resolves elsewhere (the slug changes its URL).
    edit(root / "content/posts/first-post.md", "date: 2024-01-15", "date: 2024-01-15\nslug: first-renamed")
    edit(root / "content/posts/bundle-post/index.md", "(/posts/first-post/)", "(/posts/first-renamed/)")


def bundle_file_change(root: Path) -> None:
    (root / "content/posts/bundle-post/dot.png").write_bytes(png(7, 3))


def code_edit(root: Path) -> None:
    edit(root / "content/posts/runs-code.md", "print(1 + 1)", "print(2 + 2)")


def static_file_change(root: Path) -> None:
    (root / "static/images/square.png").write_bytes(png(5, 5))


def site_wide_template(root: Path) -> None:
    # A post page that lists every post: then every post page is templated again.
    theme = load_config(root).templates_dirs[-1]
    text = (theme / "post.html").read_text(encoding="utf-8")
    (root / "templates/post.html").write_text(
        text.replace("{% block content %}", "{% block content %}<p>{{ posts | length }} posts</p>", 1), encoding="utf-8")


CHANGES = [site_wide_template, prose_edit, shortcode_template_edit, page_template_edit, settings_edit, base_url_edit, title_edit,
           new_post, deleted_post, renamed_ref_target, bundle_file_change, code_edit, static_file_change]


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__ for change in CHANGES])
def test_incremental_build_is_byte_identical_to_a_clean_build(tmp_path, change):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    change(root)
    run(root, root / "site")
    assert files(root / "site") == clean_site(root, tmp_path)


@pytest.mark.parametrize("before, after", [("$x$", "$$x$$"), ("$$x$$", "$x$"), ("$x$", "{{< note >}}hi{{< /note >}}")])
def test_a_lone_call_that_changes_kind_is_byte_identical_to_a_clean_build(tmp_path, before, after):
    # From a review: the Markdown was keyed by the body, which holds only each call's token; a lone
    # `$x$` (its <p> kept) turned into `$$x$$` (no <p>) kept the old wrapping: <p><math display="block">.
    root = make_project(tmp_path / "project")
    post = root / "content/posts/lone.md"
    post.write_text(f"---\ntitle: Lone\ndate: 2024-02-01\nmath: true\n---\nIntro.\n\n{before}\n\nEnd.\n", encoding="utf-8")
    run(root, root / "site")
    edit(post, f"\n{before}\n", f"\n{after}\n")
    run(root, root / "site")
    assert files(root / "site") == clean_site(root, tmp_path)


def test_a_build_with_nothing_changed_renders_nothing_again(tmp_path):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    before = {path: path.stat().st_mtime_ns for path in (root / "site").rglob("*") if path.is_file()}
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    run(root, root / "site", cache)
    assert cache.computed == [] and cache.hits > 0
    # Unchanged files are linked from the previous site, not rewritten.
    after = {path: path.stat().st_mtime_ns for path in (root / "site").rglob("*") if path.is_file()}
    assert before == after


def test_a_static_image_renders_again_only_the_posts_that_show_it(tmp_path):
    # From a review: every static image's digest keyed every post's content, so adding a favicon
    # rendered all 300 posts again (serve: 1.84 s, before 0.10 s). Now each content is remade only
    # when an image it shows changes (or its dark variant appears), and stays byte-identical.
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    (root / "static/favicon.png").write_bytes(png(4, 4))
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    run(root, root / "site", cache)
    assert {kind for _, kind in cache.computed} <= {"page", "post-page", "feed", "list-page"}
    assert "content" not in {kind for _, kind in cache.computed}
    (root / "static/images/square.dark.png").write_bytes(png(6, 6))       # first-post shows square.png
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    run(root, root / "site", cache)
    assert {owner for owner, kind in cache.computed if kind == "content"} == {"/posts/first-post/"}
    assert files(root / "site") == clean_site(root, tmp_path)
    assert "<picture>" in (root / "site/posts/first-post/index.html").read_text(encoding="utf-8")


def test_one_prose_edit_renders_one_post_again(tmp_path):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    prose_edit(root)
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    run(root, root / "site", cache)
    post_kinds = {(owner, kind) for owner, kind in cache.computed if kind not in ("page", "post-page", "feed")}
    # The feeds that show it: the site's, the section's and its two tags'.
    feeds = {owner for owner, kind in cache.computed if kind == "feed"}
    assert feeds == {"index.xml", "posts/index.xml", "tags/python/index.xml", "tags/data-analysis/index.xml"}
    # The post's page and its neighbour's (the oldest post has one: its prev/next link shows the
    # title) are templated again.
    post_pages = {owner for owner, kind in cache.computed if kind == "post-page" and owner.startswith("posts/")
                  and not owner.startswith("posts/page/") and owner != "posts/index.html"}
    assert post_pages == {"posts/first-post/index.html", "posts/runs-code/index.html"}
    # (Its links are the ones its finished page holds: no separate pass over its Markdown.)
    assert post_kinds == {("/posts/first-post/", kind) for kind in ("markdown", "content", "view")}


def add_posts(root: Path, count: int, tags=None) -> None:
    """extra-1 ... extra-<count>, dated 2024-06-01 on (the newest last); `tags(day)`: each one's tags."""
    for day in range(1, count + 1):
        tag_line = f"tags: {tags(day)}\n" if tags else ""
        (root / f"content/posts/extra-{day}.md").write_text(
            f"---\ntitle: Extra {day}\ndate: 2024-06-0{day}\n{tag_line}---\nText {day}.\n", encoding="utf-8")


def test_a_prose_edit_templates_again_only_the_list_pages_that_show_the_post_or_its_neighbours(tmp_path):
    root = make_project(tmp_path / "project")
    add_posts(root, 6)
    run(root, root / "site")
    edit(root / "content/posts/extra-6.md", "Text 6.", "Text six, edited.")
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    run(root, root / "site", cache)
    templated = {owner for owner, kind in cache.computed if kind == "post-page"}
    # Two posts a page, newest first: extra-6 and extra-5 are on the first page of the home and
    # /posts/ lists; no other list page shows it or a neighbour.
    assert templated == {"posts/extra-6/index.html", "posts/extra-5/index.html", "index.html", "posts/index.html"}
    # It has no tag: the tags' feeds are remembered, only the site's and the section's are made again.
    assert {owner for owner, kind in cache.computed if kind == "feed"} == {"index.xml", "posts/index.xml"}
    assert files(root / "site") == clean_site(root, tmp_path / "clean")


def test_a_tag_page_whose_template_lists_all_the_tags_posts_is_templated_again_when_one_changes(tmp_path):
    root = make_project(tmp_path / "project")
    (root / "templates/tag.html").write_text(
        "{% for p in paginator.posts %}[{{ p.title }}]{% endfor %}|{% for p in tag.posts %}{{ p.title }};{% endfor %}",
        encoding="utf-8")
    for day in range(1, 6):
        (root / f"content/posts/extra-{day}.md").write_text(
            f"---\ntitle: Extra {day}\ndate: 2024-06-0{day}\ntags: [all]\n---\nText {day}.\n", encoding="utf-8")
    run(root, root / "site")
    edit(root / "content/posts/extra-1.md", "title: Extra 1", "title: Renamed 1")
    run(root, root / "site")
    assert "Renamed 1;" in (root / "site/tags/all/index.html").read_text(encoding="utf-8")
    assert files(root / "site") == clean_site(root, tmp_path / "clean")


def test_a_prose_edit_templates_again_only_the_tag_pages_that_list_the_post(tmp_path):
    # Each tag page was keyed by all its tag's posts and by every listed post's neighbours: one edit
    # templated again most pages of its tags and of other tags (0.8 s a rebuild at 1,256 posts).
    root = make_project(tmp_path / "project")
    add_posts(root, 9, tags=lambda day: ["odd" if day % 2 else "even", "all"])
    run(root, root / "site")
    edit(root / "content/posts/extra-2.md", "Text 2.", "Text two, edited.")
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    run(root, root / "site", cache)
    tag_pages = {owner for owner, kind in cache.computed if kind == "post-page" and owner.startswith("tags/")}
    # Two posts a page, newest first: extra-2 is on page 2 of `even` (8 6 | 4 2) and page 4 of `all`.
    assert tag_pages == {"tags/even/page/2/index.html", "tags/all/page/4/index.html"}
    assert files(root / "site") == clean_site(root, tmp_path / "clean")


@pytest.mark.parametrize("template, text", [
    ("tag.html", "{% for p in paginator.posts %}[{{ p.title }} after {{ p.next.title if p.next }}]{% endfor %}"),
    ("feed.xml", "<feed>{% for p in posts %}<e>{{ p.title }} before {{ p.prev.title if p.prev }}</e>{% endfor %}</feed>\n"),
    ("tag.html", "{% for p in paginator.posts %}[{{ p.title }}]{% endfor %}|{% for p in tag.posts %}{{ p.title }};{% endfor %}"),
    ("feed.xml", "<feed>{% if tag is defined %}{% for p in tag.posts %}{{ p.title }};{% endfor %}{% endif %}</feed>\n"),
], ids=["tag-page-reads-neighbours", "feed-reads-neighbours", "tag-page-reads-tag-posts", "feed-reads-tag-posts"])
def test_a_list_template_that_reads_a_posts_neighbours_or_all_the_tags_posts_follows_their_edits(tmp_path, template, text):
    root = make_project(tmp_path / "project")
    (root / "templates" / template).write_text(text, encoding="utf-8")
    with (root / "runpost.toml").open("a", encoding="utf-8") as settings:
        settings.write("feed_limit = 1\n")          # a tag's feed shows its newest post; tag.posts, all of them
    add_posts(root, 7, tags=lambda day: ["odd" if day % 2 else "even", "all"])
    run(root, root / "site")
    # Extra 2: on no page of `odd` but a neighbour of 1 and 3, which are; on the third page of `all`.
    # Extra 6: in no feed (one post each) but the neighbour of 7, the newest of `odd`'s and `all`'s.
    edited = 6 if template == "feed.xml" else 2
    edit(root / f"content/posts/extra-{edited}.md", f"title: Extra {edited}", f"title: Renamed {edited}")
    run(root, root / "site")
    assert files(root / "site") == clean_site(root, tmp_path / "clean")


@pytest.mark.parametrize("error, message", [
    ("[gone](/posts/missing/)", "9:8: error: '/posts/missing/' does not exist in the site"),
    ("{{< ref nowhere >}}", "9:1: error: ref target 'nowhere' is not a post or list page of the site"),
])
def test_errors_are_reported_again_on_every_build(tmp_path, error, message):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    edit(root / "content/posts/first-post.md", "Some *emphasis*", error)
    for _ in range(2):
        with pytest.raises(BuildErrors) as raised:
            run(root, root / "site")
        assert [str(one) for one in raised.value.errors] == [f"{root}/content/posts/first-post.md:{message}"]


def test_a_corrupt_or_foreign_cache_entry_is_ignored_with_a_warning(tmp_path, capsys):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    entries = sorted((root / "build" / CACHE_FOLDER).glob("shard-*.json"))
    assert entries
    entries[0].write_text("{not json", encoding="utf-8")
    data = json.loads(entries[1].read_text(encoding="utf-8"))
    entries[2].write_text(json.dumps({**data, "shard": data["shard"] + 1}), encoding="utf-8")   # another shard's pages
    expected = files(root / "site")
    run(root, root / "site")
    assert files(root / "site") == expected
    assert capsys.readouterr().err.count("warning: ignoring corrupt or foreign render cache entry") == 2
    run(root, root / "site")  # rewritten: no warning the second time
    assert "warning" not in capsys.readouterr().err


def test_a_fresh_checkout_with_the_cache_restored_renders_nothing_again(tmp_path):
    # A deploy (pages.yml): the same folder, every file written anew (new modification times),
    # build/.cache restored from the last deploy.
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    expected = files(root / "site")
    root.rename(tmp_path / "last-deploy")
    time.sleep(0.01)
    shutil.copytree(tmp_path / "last-deploy", root, copy_function=shutil.copy, ignore=shutil.ignore_patterns("site"))
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    run(root, root / "site", cache)
    assert cache.computed == [] and cache.hits > 0
    assert files(root / "site") == expected


def test_a_moved_project_renders_each_posts_content_again_and_nothing_else(tmp_path):
    # Shortcode templates see the post (`page`) with its paths: the one stage that may show them
    # runs again; Markdown, views and pages whose inputs are the same are reused.
    root = make_project(tmp_path / "project")
    (root / "templates/shortcodes/where.html").write_text("<code>{{ page.path }}</code>\n", encoding="utf-8")
    with (root / "content/posts/first-post.md").open("a", encoding="utf-8") as post:
        post.write("\n{{< where >}}\n")
    run(root, root / "site")
    moved = tmp_path / "elsewhere" / "project"
    shutil.copytree(root, moved, copy_function=shutil.copy, ignore=shutil.ignore_patterns("site"))
    cache = RenderCache(moved / "build" / CACHE_FOLDER)
    run(moved, moved / "site", cache)
    # Markdown is reused; a content that is the same as before keeps its view and page.
    assert "markdown" not in {kind for _, kind in cache.computed}
    assert ("/posts/runs-code/", "content") in cache.computed and ("/posts/runs-code/", "view") not in cache.computed
    page = (moved / "site/posts/first-post/index.html").read_text(encoding="utf-8")
    assert f"<code>{moved}/content/posts/first-post.md</code>" in page
    assert files(moved / "site") == clean_site(moved, tmp_path)


def test_a_template_reached_through_a_linked_folder_is_part_of_the_key(tmp_path):
    root = make_project(tmp_path / "project")
    shared = root / "shared"      # inside the project: a template may not lead outside it
    shared.mkdir()
    (shared / "part.html").write_text("<b>v1</b>", encoding="utf-8")
    (root / "templates/lib").symlink_to("../shared")
    (root / "templates/shortcodes/note.html").write_text('{% include "lib/part.html" %}{{ inner }}\n', encoding="utf-8")
    run(root, root / "site")
    (shared / "part.html").write_text("<b>v2</b>", encoding="utf-8")
    run(root, root / "site")
    assert "<b>v2</b>" in (root / "site/posts/first-post/index.html").read_text(encoding="utf-8")


def test_a_file_is_hashed_again_when_it_changes_though_its_size_and_time_are_kept(tmp_path, monkeypatch):
    cache = RenderCache(tmp_path / "cache")
    path = tmp_path / "data.csv"
    path.write_text("a,1\n", encoding="utf-8")
    assert cache.file_digest(path) is not None and str(path) not in cache.digests   # just written: not remembered
    monkeypatch.setattr(uptodate, "racy", lambda *times: False)    # as if written long ago
    hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(hour_ago, hour_ago))
    first = cache.file_digest(path)
    assert cache.digests[str(path)][1] == first        # remembered with what stat said
    path.write_text("b,2\n", encoding="utf-8")         # same size...
    os.utime(path, ns=(hour_ago, hour_ago))            # ...and the same modification time
    assert cache.file_digest(path) != first            # its status change time tells
    assert cache.file_digest(tmp_path / "missing.csv") is None
    os.mkfifo(tmp_path / "pipe")
    assert cache.file_digest(tmp_path / "pipe") is None            # not opened: reading it would wait forever


@pytest.mark.parametrize("damage", ["nested", "foreign", "pipe", "device"])
def test_a_damaged_cache_file_is_ignored_with_a_warning(tmp_path, capsys, monkeypatch, damage):
    monkeypatch.setattr(uptodate, "racy", lambda *times: False)    # remember the fixture's files
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    folder = root / "build" / CACHE_FOLDER
    assert json.loads((folder / "file-digests.json").read_text(encoding="utf-8"))["files"]
    expected = files(root / "site")
    shard = sorted(folder.glob("shard-*.json"))[0]
    for path in (folder / "file-digests.json", shard):
        path.unlink()
        if damage == "nested":      # deeper than Python's recursion limit
            path.write_text("[" * 300_000 + "]" * 300_000, encoding="utf-8")
        elif damage == "foreign":
            path.write_text('{"format": "runpost-render-cache-2", "files": {"/x": [[1], 2]}}', encoding="utf-8")
        elif damage == "pipe":      # would block a build that reads it
            os.mkfifo(path)
        else:                       # would never end
            path.symlink_to("/dev/zero")
    edit(root / "content/posts/first-post.md", "Some *emphasis*", "Some *strong emphasis*")
    edit(root / "content/posts/first-post.md", "Some *strong emphasis*", "Some *emphasis*")
    run(root, root / "site")
    assert files(root / "site") == expected
    assert capsys.readouterr().err.count("warning: ignoring") == 2
    run(root, root / "site")  # rewritten: no warning the second time
    assert "warning" not in capsys.readouterr().err


def test_deleting_the_cache_is_safe(tmp_path):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    expected = files(root / "site")
    shutil.rmtree(root / "build" / CACHE_FOLDER)
    run(root, root / "site")
    assert files(root / "site") == expected


def test_two_builds_in_one_process_with_different_base_urls_each_use_their_own(tmp_path):
    # Jinja folds `{{ '/' | absolute_url }}` into the compiled template: templates compiled for
    # one base URL must not be reused for another (a process that builds twice: serve, tests).
    root = make_project(tmp_path / "project")
    for base in ("https://one.example/a/", "https://two.example/b/"):
        config = load_config(root, output_dir=tmp_path / base.split("/")[2], build_dir=root / "build")
        build(replace(config, base_url=base), Reporter(quiet=True), RenderCache(None))
        for name in ("robots.txt", "sitemap.xml", "index.xml"):
            text = (config.output_dir / name).read_text(encoding="utf-8")
            other = "two.example" if "one" in base else "one.example"
            assert base in text and other not in text, (base, name)


def test_a_half_written_shard_left_by_a_killed_build_is_removed_but_not_a_fresh_one(tmp_path):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    folder = root / "build" / CACHE_FOLDER
    stale, fresh = folder / "shard-07.json.abc123.tmp", folder / "shard-08.json.def456.tmp"
    for leftover in (stale, fresh):
        leftover.write_text('{"format": "runpost-render', encoding="utf-8")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    edit(root / "content/posts/first-post.md", "Some *emphasis*", "Some *other emphasis*")
    run(root, root / "site")
    assert not stale.exists()
    assert fresh.exists()   # may be another build's, writing right now


def test_a_shard_that_cannot_be_written_leaves_no_temporary_file(tmp_path, monkeypatch):
    root = make_project(tmp_path / "project")
    (root / "build" / CACHE_FOLDER).mkdir(parents=True)
    cache = RenderCache(root / "build" / CACHE_FOLDER)
    monkeypatch.setattr(atomic.os, "replace", lambda *args: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(OSError):
        cache._write(3, {})
    assert list((root / "build" / CACHE_FOLDER).glob("*.tmp")) == []


def test_the_cache_holds_entries_only_for_pages_of_the_last_build(tmp_path):
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    def owners() -> set[str]:
        return {owner for shard in (root / "build" / CACHE_FOLDER).glob("shard-*.json")
                for owner in json.loads(shard.read_text(encoding="utf-8"))["owners"]}

    before = owners()
    deleted_post(root)
    run(root, root / "site")
    gone = before - owners()
    # The deleted post's entries, and those of the list pages that no longer exist (two posts a page).
    pages_gone = {"page/2/index.html", "posts/page/2/index.html", "tags/python/page/2/index.html"}
    assert gone >= pages_gone and not any((root / "site" / page).exists() for page in pages_gone)
    assert gone - pages_gone and all("runs-code" in owner for owner in gone - pages_gone), gone
    assert owners() <= before


def test_serve_rebuilds_from_memory_and_matches_a_clean_build(tmp_path):
    from runpost.serve.preview import Preview

    root = make_project(tmp_path / "project")
    run(root, root / "site")  # runs the code once, so serve only reads build/
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild()
    # Every kind of change, one after another, each followed by serve's rebuild (which writes
    # only the changed files in place) and compared with a clean build of the same sources.
    for step, change in enumerate([*(change for change in CHANGES if change is not deleted_post), deleted_post]):
        change(root)
        assert preview.rebuild(root / "content"), preview.error
        clean_build = tmp_path / f"clean-build-{step}"
        shutil.copytree(root / "build", clean_build, ignore=shutil.ignore_patterns(".cache", ".preview"))
        config = preview.config()
        build(replace(config, output_dir=tmp_path / f"clean-site-{step}", build_dir=clean_build), Reporter(quiet=True),
              RenderCache(None))
        assert files(preview.output_dir) == files(tmp_path / f"clean-site-{step}"), change.__name__
        assert not [path for path in preview.output_dir.rglob("*") if path.is_dir() and not any(path.iterdir())]
    cache = preview._build.keywords["cache"]
    # An unchanged post keeps the very objects its stages made (render_cache.same): the
    # next rebuild finds it unchanged without hashing or rendering anything of it again.
    before = {slot: entry[1] for slot, entry in cache.kept.items()}
    assert {stage for stage, _ in before} >= {"post", "shortcodes", "markdown", "content", "light-images", "view",
                                              "linked-view", "view-digest"}
    assert preview.rebuild(root / "content"), preview.error
    # (A file's bytes are read again while it changed just before the last read: racy.)
    assert [slot for slot, value in before.items() if cache.kept[slot][1] is not value and slot[0] != "file-bytes"] == []
    # Saved after each good rebuild (once the page is told to reload): a restarted serve starts warm.
    saved = RenderCache(preview.output_dir.parent / "render-cache")
    saved.start_build()
    saved_owners = {owner for shard in saved.folder.glob("shard-*.json")
                    for owner in json.loads(shard.read_text(encoding="utf-8"))["owners"]}
    assert saved_owners and saved_owners == set(cache.records)


def test_serve_checks_links_again_when_the_file_they_reach_goes_and_comes_back(tmp_path):
    # Serve keeps each page's link check while its links and the site's paths are the same:
    # a post linking to a static file that is deleted, itself unchanged, must fail the rebuild.
    from runpost.serve.preview import Preview

    root = make_project(tmp_path / "project")
    notes = root / "static/files/notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("notes\n", encoding="utf-8")
    with (root / "content/posts/first-post.md").open("a", encoding="utf-8") as post:
        post.write("\nSee [the notes](/files/notes.txt).\n")
    run(root, root / "site")
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    notes.unlink()
    assert not preview.rebuild(root / "static")
    assert "first-post.md" in preview.error and "'/files/notes.txt' does not exist in the site" in preview.error
    notes.write_text("notes\n", encoding="utf-8")
    assert preview.rebuild(root / "static"), preview.error


PUBLISHES_ONE = """---
title: Published
date: 2024-02-02
---
The value is {{< value n >}}.

```python {exec=true}
import runpost
runpost.publish("n", 1)
```
"""


def test_serve_shows_a_published_value_that_changed_only_in_type(tmp_path):
    # 1 == 1.0 to Python, not on the page: serve compares results by key (found by review).
    from runpost.execution import store
    from runpost.serve.preview import Preview

    root = make_project(tmp_path / "project")
    (root / "content/posts/published.md").write_text(PUBLISHES_ONE, encoding="utf-8")
    run(root, root / "site")
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    # build/ now holds n = 1.0, sealed again as a rerun would store it: the same key and provenance.
    folder = root / "build/published"
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["sha256"]
    manifest["values"]["n"] = 1.0
    store.write_manifest(folder, manifest)
    assert preview.rebuild(root / "content"), preview.error
    clean_build = tmp_path / "clean-build"
    shutil.copytree(root / "build", clean_build, ignore=shutil.ignore_patterns(".cache", ".preview"))
    build(replace(preview.config(), output_dir=tmp_path / "clean", build_dir=clean_build), Reporter(quiet=True),
          RenderCache(None))
    assert "The value is 1.0." in (tmp_path / "clean/posts/published/index.html").read_text(encoding="utf-8")
    assert files(preview.output_dir) == files(tmp_path / "clean")


def test_a_published_dicts_key_order_is_part_of_the_render_cache_key(tmp_path):
    # A table's columns come in the order of the dict's keys: a rerun that reorders them must
    # not get last build's page from the render cache (its keys sorted dicts; found by review).
    from runpost.execution import store

    root = make_project(tmp_path / "project")
    (root / "content/posts/published.md").write_text(PUBLISHES_ONE.replace(
        "The value is {{< value n >}}.", "{{< table rows >}}").replace(
        'runpost.publish("n", 1)', 'runpost.publish("rows", [{"a": 1, "b": 2}])'), encoding="utf-8")
    run(root, root / "site")
    folder = root / "build/published"
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["sha256"]
    manifest["values"]["rows"] = [{"b": 2, "a": 1}]
    store.write_manifest(folder, manifest)
    run(root, root / "site")
    page = (root / "site/posts/published/index.html").read_text(encoding="utf-8")
    assert page.index(">b<") < page.index(">a<")
    assert files(root / "site") == clean_site(root, tmp_path)


def test_serve_saves_a_warm_cache_after_a_rebuild_that_failed_on_a_url_claimed_twice(tmp_path, monkeypatch):
    # The failed build converted both posts' Markdown under the one URL; the unchanged post's
    # stored entry must not end up holding the other's (found by review).
    from runpost.serve.preview import Preview
    from runpost.site.write import PreviewWriter

    root = tmp_path / "p"
    posts = root / "content/posts"
    posts.mkdir(parents=True)
    (root / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n')
    (posts / "a.md").write_text("---\ntitle: A\ndate: 2024-01-01\n---\nA's body.\n")
    (posts / "b.md").write_text("---\ntitle: B\ndate: 2024-01-02\n---\nB's body.\n")
    monkeypatch.chdir(root)
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    (posts / "b.md").write_text("---\ntitle: B\ndate: 2024-01-02\nslug: a\n---\nB's body.\n")
    assert not preview.rebuild(posts)                 # /posts/a/ claimed twice
    (posts / "b.md").write_text("---\ntitle: B\ndate: 2024-01-02\n---\nB's body.\n")
    assert preview.rebuild(posts), preview.error
    restarted = RenderCache(preview.output_dir.parent / "render-cache")
    build(replace(preview.config(), output_dir=tmp_path / "out"), Reporter(quiet=True), restarted,
          write=PreviewWriter(), save_cache=False)
    assert restarted.computed == []


def test_post_pages_that_list_every_post_follow_every_edit(tmp_path):
    root = make_project(tmp_path / "project")
    site_wide_template(root)
    run(root, root / "site")
    new_post(root)
    run(root, root / "site")
    assert b"4 posts" in (root / "site/posts/first-post/index.html").read_bytes()


def test_what_a_template_names_is_remembered_by_its_text_and_asked_again_after_an_edit(tmp_path):
    # pages.names_any answers from a per-process memory of each template's text: an edit to
    # the template (or to one it extends) must be seen, and a template that stops compiling too.
    from runpost.site.environment import make_environment
    from runpost.site.pages import names_any

    (tmp_path / "base.html").write_text("{% block main %}{% endblock %}")
    (tmp_path / "home.html").write_text('{% extends "base.html" %}{% block main %}{{ page.title }}{% endblock %}')
    env = lambda: make_environment([tmp_path])
    assert names_any(env(), "home.html", {"posts"}) is False
    (tmp_path / "base.html").write_text("{% block main %}{% endblock %}{{ posts | length }}")
    assert names_any(env(), "home.html", {"posts"}) is True
    (tmp_path / "base.html").write_text("{% block main %}{% endblock %}{{ posts | no_such_filter }}")
    assert names_any(env(), "home.html", {"posts"}) is None
    (tmp_path / "base.html").write_text("{% block main %}{% endblock %}")
    assert names_any(env(), "home.html", {"posts"}) is False


def _project_with_a_plot(root: Path, width: int = 600) -> Path:
    """Two posts; one a bundle with a plot wide enough for WebP copies at 480 px and its own width."""
    from PIL import Image, ImageDraw

    bundle = root / "content/posts/plotted"
    bundle.mkdir(parents=True)
    (root / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n')
    image = Image.new("RGB", (width, 300), "white")
    draw = ImageDraw.Draw(image)
    for step in range(0, width, 20):
        draw.line([(step, 300), (width - step, step // 2)], fill=(31, 119, 180), width=3)
    image.save(bundle / "plot.png")
    (bundle / "index.md").write_text("---\ntitle: Plotted\ndate: 2024-01-02\n---\n![A plot](plot.png)\n")
    (root / "content/posts/prose.md").write_text("---\ntitle: Prose\ndate: 2024-01-01\n---\nWords.\n")
    return root


def clean_preview_site(preview, root: Path, work: Path) -> dict[str, bytes]:
    """What a clean build with serve's settings (its base URL) writes."""
    clean_build = work / "clean-build"
    shutil.copytree(root / "build", clean_build, ignore=shutil.ignore_patterns(".cache", ".preview"))
    build(replace(preview.config(), output_dir=work / "clean-site", build_dir=clean_build), Reporter(quiet=True),
          RenderCache(None))
    return files(work / "clean-site")


def test_serve_keeps_a_posts_webp_copies_without_reading_its_images_again(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    from runpost.serve.preview import Preview
    from runpost.site import variants

    root = _project_with_a_plot(tmp_path / "p")
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    assert list(preview.output_dir.glob("posts/plotted/plot*.webp"))
    read = []
    real_source = variants.VariantMaker._source
    monkeypatch.setattr(variants.VariantMaker, "_source", lambda self, source: read.append(source) or real_source(self, source))
    edit(root / "content/posts/prose.md", "Words.", "Other words.")
    assert preview.rebuild(root / "content"), preview.error
    assert read == []          # the plotted post is unchanged: its copies' choice is kept
    assert files(preview.output_dir) == clean_preview_site(preview, root, tmp_path)
    # Its image's bytes change (same name): chosen again from the new copies.
    from PIL import Image
    Image.new("RGB", (520, 300), (200, 30, 30)).save(root / "content/posts/plotted/plot.png")
    assert preview.rebuild(root / "content"), preview.error
    assert read and files(preview.output_dir) == clean_preview_site(preview, root, tmp_path / "again")


def test_serve_makes_the_copies_again_when_the_image_cache_was_cleared(tmp_path):
    pytest.importorskip("PIL")
    from runpost.serve.preview import Preview

    root = _project_with_a_plot(tmp_path / "p")
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    shutil.rmtree(root / "build/.cache/images")
    edit(root / "content/posts/prose.md", "Words.", "Other words.")
    assert preview.rebuild(root / "content"), preview.error
    assert list((root / "build/.cache/images").glob("*.webp"))
    assert files(preview.output_dir) == clean_preview_site(preview, root, tmp_path)


def test_a_watched_edit_saves_the_cache_after_the_reload_and_at_the_latest_when_serve_stops(tmp_path):
    # Saving the cache and collecting garbage hold the interpreter (0.1-0.2 s at 1,000 posts):
    # after a watched edit's build they wait for the open page's request.
    from runpost.serve.preview import Preview

    root = _project_with_a_plot(tmp_path / "p")
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    saved = lambda: {owner for shard in (preview.output_dir.parent / "render-cache").glob("shard-*.json")
                     for owner in json.loads(shard.read_text(encoding="utf-8"))["owners"]}
    (root / "content/posts/new.md").write_text("---\ntitle: New\ndate: 2024-01-03\n---\nNew.\n")
    assert preview.rebuild(root / "content", tidy_later=True), preview.error
    assert "/posts/new/" not in saved()      # not yet: the reload comes first
    deadline = time.monotonic() + 30
    while "/posts/new/" not in saved() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "/posts/new/" in saved()
    # Stopped before the tidying is due: it is done then.
    (root / "content/posts/newer.md").write_text("---\ntitle: Newer\ndate: 2024-01-04\n---\nNewer.\n")
    assert preview.rebuild(root / "content", tidy_later=True), preview.error
    preview.close()
    assert "/posts/newer/" in saved()
    # An edit that comes before the tidying, and fails: the good build before it is still saved.
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    (root / "content/posts/newest.md").write_text("---\ntitle: Newest\ndate: 2024-01-05\n---\nNewest.\n")
    assert preview.rebuild(root / "content", tidy_later=True), preview.error
    (root / "content/posts/broken.md").write_text("---\ntitle: [unclosed\n---\nBroken.\n")
    assert not preview.rebuild(root / "content", tidy_later=True)
    assert "/posts/newest/" in saved()
    preview.close()


def test_serve_reads_a_post_again_when_it_changed_though_its_size_and_modification_time_are_kept(tmp_path):
    # Serve keeps an unchanged post's bytes (RenderCache.file_bytes) by what stat says of it: a
    # copy that keeps the old time (cp -p, rsync -t) of a file of the same size still changes its
    # status change time, and a post changed just before a read is read again next time.
    from runpost.serve.preview import Preview

    root = _project_with_a_plot(tmp_path / "p")
    post = root / "content/posts/prose.md"
    old = post.stat()
    time.sleep(0.15)           # not changed just before the first build's read: remembered
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    edit(post, "Words.", "Wordy.")
    os.utime(post, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert post.stat().st_size == old.st_size and post.stat().st_mtime_ns == old.st_mtime_ns
    assert preview.rebuild(root / "content"), preview.error
    assert "Wordy." in (preview.output_dir / "posts/prose/index.html").read_text(encoding="utf-8")
    edit(post, "Wordy.", "Wordz.")       # right after the last read: the next read is not skipped
    assert preview.rebuild(root / "content"), preview.error
    assert "Wordz." in (preview.output_dir / "posts/prose/index.html").read_text(encoding="utf-8")


def test_serve_makes_new_copies_of_a_dark_source_in_another_format_that_changed(tmp_path):
    # A dark <source> gets WebP copies of whatever Pillow opens (a GIF too): its bytes are an
    # input of the post's kept choices like its PNGs' (found by a fuzzing review).
    pytest.importorskip("PIL")
    from PIL import Image
    from runpost.serve.preview import Preview

    root = tmp_path / "p"
    bundle = root / "content/posts/pic"
    bundle.mkdir(parents=True)
    (root / "runpost.toml").write_text('title = "T"\nbase_url = "https://example.org/"\nraw_html = true\n')
    Image.new("RGB", (700, 300), (20, 120, 200)).save(bundle / "dot.png")
    Image.new("RGB", (700, 300), (10, 10, 10)).save(bundle / "night.gif")
    (bundle / "index.md").write_text('---\ntitle: Pic\ndate: 2024-01-02\n---\n<picture><source srcset="night.gif" '
                                     'media="(prefers-color-scheme: dark)"><img src="dot.png" alt="d"></picture>\n')
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild(), preview.error
    Image.new("RGB", (700, 300), (250, 40, 40)).save(bundle / "night.gif")
    assert preview.rebuild(root / "content"), preview.error
    assert files(preview.output_dir) == clean_preview_site(preview, root, tmp_path)


def test_a_file_changed_with_its_size_and_time_kept_is_copied_again_by_a_later_build_in_the_same_process(tmp_path):
    # Python's filecmp remembers its answers by path, size and modification time: serve's builds
    # and the tests' run in one process (found by a fuzzing review).
    root = make_project(tmp_path / "project")
    run(root, root / "site")
    run(root, root / "site")
    dot = root / "content/posts/bundle-post/dot.png"
    old = dot.stat()
    data = bytearray(dot.read_bytes())
    data[-5] ^= 0xFF                         # inside the IEND chunk's CRC: same size, other bytes
    dot.write_bytes(bytes(data))
    os.utime(dot, ns=(old.st_atime_ns, old.st_mtime_ns))
    run(root, root / "site")
    assert (root / "site/posts/bundle-post/dot.png").read_bytes() == bytes(data)


def test_serve_follows_a_template_override_added_edited_and_removed(tmp_path):
    # Serve keeps its Jinja environment (and the templates it loaded) while every template file
    # is the same: an override that appears, changes or goes must each reach the next rebuild.
    from runpost.serve.preview import Preview

    root = make_project(tmp_path / "project")
    run(root, root / "site")
    preview = Preview(load_config(root), Reporter(quiet=True), "127.0.0.1", 1313)
    assert preview.rebuild()
    theme = load_config(root).templates_dirs[-1]
    original = (theme / "404.html").read_text(encoding="utf-8")
    override = root / "templates/404.html"
    page = lambda: (preview.output_dir / "404.html").read_text(encoding="utf-8")
    for step, text in enumerate([original.replace("Page not found", "Lost page", 1),
                                 original.replace("Page not found", "Missing page", 1), None]):
        if text is None:
            override.unlink()
        else:
            override.write_text(text, encoding="utf-8")
        assert preview.rebuild(override), preview.error
        expected = {0: "Lost page", 1: "Missing page", 2: "Page not found"}[step]
        assert f"<h1>{expected}</h1>" in page()
        clean = tmp_path / f"clean-{step}"
        build(replace(preview.config(), output_dir=clean), Reporter(quiet=True), RenderCache(None))
        assert files(preview.output_dir) == files(clean)


def test_state_an_imported_template_sets_up_does_not_carry_over_to_the_next_build_in_the_process(tmp_path):
    # Jinja evaluates an imported template once per environment; a namespace counter there counts
    # the renders of one build. A build is made whole by itself: a second build in the same
    # process (serve's, the tests') starts from the template's own state, not from where the
    # last one left it (found by a review of a change that kept the environment between builds).
    root = make_project(tmp_path / "project")
    theme = load_config(root).templates_dirs[-1]
    (root / "templates/macros.html").write_text(
        (theme / "macros.html").read_text(encoding="utf-8") + "\n{% set counter = namespace(n=0) %}"
        "{% macro next_id() %}{% set counter.n = counter.n + 1 %}n{{ counter.n }}{% endmacro %}\n", encoding="utf-8")
    post_template = (theme / "post.html").read_text(encoding="utf-8")
    assert "{% block content %}" in post_template
    (root / "templates/post.html").write_text(post_template.replace(
        "{% block content %}", '{% block content %}<p class="uid">{{ m.next_id() }}</p>', 1), encoding="utf-8")
    config = load_config(root)
    for step in range(2):
        build(replace(config, output_dir=tmp_path / f"site-{step}"), Reporter(quiet=True), RenderCache(None))
    shown = sorted(re.search(rb'class="uid">(n\d+)<', page.read_bytes())[1] for page in (tmp_path / "site-0/posts").glob("*/index.html"))
    assert shown == [b"n1", b"n2", b"n3"]      # one count per post page, starting again in each build
    assert files(tmp_path / "site-0") == files(tmp_path / "site-1")

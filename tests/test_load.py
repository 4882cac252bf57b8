import datetime as dt
from pathlib import Path

import pytest

from runpost.config import load_config
from runpost.errors import BuildError, BuildErrors
from runpost.content.load import load_posts, parse_post
from runpost.content.slugs import tag_slug
from runpost.content.frontmatter import parse_front_matter

SEED = Path(__file__).resolve().parent / "fixtures" / "seed" / "article.md"  # ../shared/seed/article.md


def errors_of(text: str, name: str = "content/posts/p.md") -> list[str]:
    with pytest.raises((BuildError, BuildErrors)) as caught:
        parse_post(Path(name), text)
    found = caught.value.errors if isinstance(caught.value, BuildErrors) else [caught.value]
    return [str(error) for error in found]


def test_yaml_front_matter_fields_and_body_line():
    post = parse_post(Path("content/posts/hello.md"), "---\ntitle: Hello\ndate: 2020-05-02\ntags: [a, b]\n---\nBody\n")
    assert post.meta.title == "Hello"
    assert post.meta.date == dt.datetime(2020, 5, 2, tzinfo=dt.timezone.utc)
    assert post.meta.tags == ("a", "b")
    assert post.body == "Body\n"
    assert post.body_line == 6
    assert post.url == "/posts/hello/"


@pytest.mark.parametrize("opening", ["---\ntitle: Hello\ndate: 2020-05-02\n---\n",
                                     "+++\ntitle = 'Hello'\ndate = 2020-05-02\n+++\n",
                                     '{"title": "Hello", "date": "2020-05-02"}\n'])
def test_blank_lines_before_the_front_matter_are_passed_over_as_hugo_does(opening):
    # From a review: a post starting with a blank line was "missing front matter"; Hugo 0.111 builds it.
    post = parse_post(Path("content/posts/hello.md"), "\n \r\n" + opening + "Body\n")
    assert post.meta.title == "Hello" and post.body.strip() == "Body"
    assert post.body_line == 2 + opening.count("\n") + 1        # two blank lines (one ends in CR LF)
    assert post.meta.lines["title"] == 4 - (1 if opening.startswith("{") else 0)
    assert errors_of("\n\n---\ntitle: Hello\ndate: 2020-01-32\n---\nBody\n")[0].startswith(
        "content/posts/p.md:5:1: error: invalid date '2020-01-32'")
    assert errors_of("\n\n---\ntitle: A\ntitle: B\ndate: 2020-01-02\n---\nBody\n") == [
        "content/posts/p.md:5:1: error: invalid YAML front matter: key 'title' is given twice (first on line 4)"]
    assert errors_of("\u00a0\n---\ntitle: A\ndate: 2020-01-02\n---\n")[0].endswith(
        "missing front matter (start the file with '---', '+++' or '{')")      # as Hugo: a no-break space is text
    assert errors_of('\n    {"title": "FM", "date": "2024-07-01", "x": ]\n}\n\nbody\n') == [
        "content/posts/p.md:2:48: error: invalid JSON front matter: Expecting value"]      # the indent counted
    indented = parse_post(Path("content/posts/i.md"), "\n\n  ---\ntitle: Indented\ndate: 2024-01-01\n---\n\nBody.\n")
    assert (indented.meta.title, indented.body_line, indented.meta.lines["title"]) == ("Indented", 7, 4)
    assert errors_of("\n\nBody\n") == [
        "content/posts/p.md:1:1: error: missing front matter (start the file with '---', '+++' or '{')"]


def test_a_boolean_or_number_where_text_is_wanted_reads_as_hugo_prints_it():
    # From a review: `tags: [go, true]` showed the tag "True" (Python's str), where Hugo shows "true".
    post = parse_post(Path("content/posts/p.md"),
                      "---\ntitle: true\ndate: 2020-05-02\ntags: [2023, go, true, 1.5, 2.0]\n---\nBody\n")
    assert post.meta.tags == ("2023", "go", "true", "1.5", "2")
    assert post.meta.title == "true"


def test_toml_front_matter_and_slug():
    post = parse_post(Path("content/posts/x.md"), '+++\ntitle = "T"\ndate = 2021-01-02T03:04:05Z\nslug = "custom"\n+++\nHi')
    assert post.url == "/posts/custom/"
    assert post.meta.date.hour == 3


def test_publish_date_is_the_date_when_date_is_missing():
    post = parse_post(Path("content/posts/x.md"), "---\ntitle: T\npublishDate: 2020-05-02\n---\n")
    assert post.meta.date == post.meta.publish_date


def test_seed_article_front_matter_is_read_as_written():
    if not SEED.exists():
        pytest.skip("seed article not present")
    post = parse_post(Path("content/posts/rnn/index.md"), SEED.read_text(), Path("content/posts/rnn"))
    assert post.meta.title == "Recurrent Neural Networks"
    assert post.meta.description == "yay"
    assert post.meta.images == ("/200502_RNN/rnn_layer_example.png",)
    assert "Fashion MNIST" in post.meta.tags
    assert post.url == "/posts/rnn/"


def test_a_misspelt_title_or_date_key_is_named_at_its_line_and_a_day_that_is_none_says_so():
    # `titel:` said only "missing 'title'"; 2026-11-31 said to use YYYY-MM-DD, which it was.
    assert errors_of("---\ntitel: X\ndate: 2026-11-31\n---\n") == [
        "content/posts/p.md:2:1: error: missing 'title' in front matter ('titel' is a misspelling of it?)",
        "content/posts/p.md:3:1: error: invalid date '2026-11-31' for 'date' (day is out of range for month: "
        "2026-11-31 is no day of the calendar)"]
    assert errors_of("---\ntitle: X\ndat: 2026-11-01\n---\n") == [
        "content/posts/p.md:3:1: error: missing 'date' (or 'publishDate') in front matter ('dat' is a misspelling of it?)"]
    assert errors_of("---\nsubtitle: A sub\nupdate: 2026-12-01\n---\n") == [     # real keys of their own
        "content/posts/p.md:1:1: error: missing 'title' in front matter",
        "content/posts/p.md:1:1: error: missing 'date' (or 'publishDate') in front matter"]
    assert errors_of("---\ntitle: X\ndata: foo\n---\n") == [       # a parameter named data, not a misspelt date
        "content/posts/p.md:1:1: error: missing 'date' (or 'publishDate') in front matter"]
    assert errors_of("---\ntitle: X\ndate: 01/02/2020\n---\n") == [
        "content/posts/p.md:3:1: error: invalid date '01/02/2020' for 'date' (use YYYY-MM-DD or an ISO 8601 date-time)"]


def test_missing_title_is_reported_at_the_file():
    assert errors_of("---\ndate: 2020-01-01\n---\n") == ["content/posts/p.md:1:1: error: missing 'title' in front matter"]


def test_missing_date_is_an_error():
    assert "missing 'date'" in errors_of("---\ntitle: x\n---\n")[0]


def test_invalid_date_points_at_its_line():
    assert errors_of("---\ntitle: x\n\ndate: not-a-date\n---\n")[0].startswith("content/posts/p.md:4:1: error: invalid date")


def test_front_matter_that_is_not_a_mapping_is_an_error():
    assert "must be a mapping" in errors_of("---\n- a\n- b\n---\n")[0]


def test_yaml_syntax_error_reports_line_and_column():
    message = errors_of("---\ntitle: x\ndate: [2020\n---\n")[0]
    assert message.startswith("content/posts/p.md:") and "invalid YAML" in message


def test_unclosed_front_matter_is_an_error():
    assert "never closed" in errors_of("---\ntitle: x\n")[0]


def test_all_problems_of_a_file_are_reported():
    assert len(errors_of("---\ndate: nope\ndraft: maybe\n---\n")) == 3


def test_slug_cannot_escape_the_posts_folder():
    assert "single URL segment" in errors_of("---\ntitle: x\ndate: 2020-01-01\nslug: ../../etc\n---\n")[0]


@pytest.mark.parametrize("name, segment", [("Part 1 - Intro", "part-1-intro"), ("Hello - World", "hello-world"),
                                           ("a -- b", "a--b"), ("a- b", "a-b"), ("a -b", "a-b"), ("a - & b", "a-b"),
                                           ("x  y", "x-y")])
def test_a_space_beside_a_dash_adds_none_as_in_hugo(name, segment):
    # From a review: `Part 1 - Intro.md` was at /posts/part-1---intro/, Hugo 0.111's at /posts/part-1-intro/
    # (checked with hugo for each of these, as a file name, a slug and a tag).
    from runpost.content.slugs import post_segment

    assert post_segment(name) == segment and tag_slug(name) == segment


def test_tag_slug_is_a_safe_segment():
    assert tag_slug("Data Analysis") == "data-analysis"
    assert tag_slug("../../etc/passwd") == "etc-passwd"
    assert tag_slug("<script>") == "script"
    assert tag_slug("...") == "full-stop-full-stop-full-stop"
    # Without a letter or digit, named: `#/#` and `-` were both "-"; ❤️ and ✔️ both U+FE0F, invisible.
    assert [tag_slug(tag) for tag in ("#/#", "-", "❤️", "❤", "✔️", "#️⃣", "I ❤️ Python")] == [
        "number-sign-solidus-number-sign", "hyphen-minus", "heavy-black-heart", "heavy-black-heart",
        "heavy-check-mark", "number-sign-combining-enclosing-keycap", "i-python"]


@pytest.mark.parametrize("tag, segment", [
    # As Hugo 0.111 names the folder: C, C++ and C# were one page (/tags/c/), node.js was node-js.
    ("C", "c"), ("C++", "c++"), ("node.js", "node.js"), ("R&D", "rd"), ("--x--", "--x--"), ("a@b", "a@b"),
    ("x~y", "x~y"), ("  spaced  out ", "spaced-out"), ("Ünïcode", "ünïcode"), ("日本語", "日本語"),
    # Where Hugo's URL breaks: its /tags/c#/ is /tags/c plus a fragment, ci/cd two folders, .net hidden.
    ("C#", "csharp"), ("#python", "python"), ("ci/cd", "ci-cd"), (".NET", "net"), ("100%", "100"),
])
def test_tag_segments_are_hugos_where_its_links_work(tag, segment):
    assert tag_slug(tag) == segment


def test_post_urls_are_hugos_lower_case_paths():
    # Capitals and spaces stayed in the URL (/posts/Trip Report Lisbon/), unlike Hugo's.
    url = lambda name, front="": parse_post(Path(f"content/posts/{name}"), f"---\ntitle: x\ndate: 2020-01-01\n{front}---\n").url
    assert url("Trip Report Lisbon.md") == "/posts/trip-report-lisbon/"
    assert url("x.md", "slug: My-First-Post\n") == "/posts/my-first-post/"
    assert url("x.md", "slug: \"What is X? (part 1)\"\n") == "/posts/what-is-x-part-1/"
    assert url("Café Ünïcode.md") == "/posts/café-ünïcode/"
    for bad in ("a/b", "a#b", "..", "?!"):
        assert "must be a single URL segment" in errors_of(f"---\ntitle: x\ndate: 2020-01-01\nslug: \"{bad}\"\n---\n")[0]


def test_non_utf8_file_is_an_error_at_its_line(tmp_path):
    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    (posts / "bad.md").write_bytes(b"---\ntitle: x\ndate: 2020-01-01\n---\ncaf\xe9\n")
    with pytest.raises(BuildErrors) as caught:
        load_posts(load_config(tmp_path))
    assert str(caught.value.errors[0]).endswith("bad.md:5:4: error: file is not valid UTF-8")


def test_drafts_and_future_posts_are_left_out_unless_asked(site_dir):
    names = lambda config: sorted(post.name for post in load_posts(config))
    assert names(load_config(site_dir)) == ["bundle-post", "first-post"]
    assert "draft-post" in names(load_config(site_dir, drafts=True))
    assert "future-post" in names(load_config(site_dir, future=True))


@pytest.mark.parametrize("options", ["_build:\n  render: never\n  list: never", "build:\n  render: false",
                                     "_build: {render: link, list: local, publishResources: false}"])
def test_a_post_its_build_options_never_render_is_left_out_whatever_the_flags(site_dir, options):
    # Hugo writes such a page nowhere and lists it nowhere; runpost published it and put it in the feed.
    (site_dir / "content/posts/private.md").write_text(f"---\ntitle: Private\ndate: 2020-01-01\n{options}\n---\nNo.\n")
    left_out = []
    config = load_config(site_dir, drafts=True, future=True, expired=True)
    assert "private" not in [post.name for post in load_posts(config, left_out=left_out)]
    assert ("private", "unrendered", "/posts/private/") in left_out


@pytest.mark.parametrize("options, error", [
    ("_build:\n  list: never", "4:1: error: '_build' list: never (a page left out of every list) is not supported: "
                               "runpost lists each post it publishes; 'render: never' leaves the post out"),
    ("build: {render: sometimes}", "4:1: error: 'build' render must be one of always, never, link (or true, false), "
                                   "not 'sometimes'"),
    ("_build: {render: always, lists: never}", "4:1: error: '_build' has no option 'lists' (Hugo's are render, list "
                                               "and publishResources)"),
    ("_build: never", "4:1: error: '_build' must be a mapping"),
])
def test_build_options_runpost_cannot_honour_are_errors_not_ignored(options, error):
    assert errors_of(f"---\ntitle: P\ndate: 2020-01-01\n{options}\n---\n") == [f"content/posts/p.md:{error}"]


def test_two_posts_claiming_one_url_is_an_error(site_dir):
    (site_dir / "content/posts/copy.md").write_text("---\ntitle: c\ndate: 2020-01-01\nslug: first-post\n---\n")
    with pytest.raises(BuildErrors) as caught:
        load_posts(load_config(site_dir))
    assert "URL /posts/first-post/ is also claimed" in str(caught.value.errors[0])


def test_two_posts_whose_urls_differ_only_in_how_their_letters_are_composed_is_an_error(site_dir):
    # From a review: café-über.md (NFC) and its NFD spelling (macOS's file names) built as two URLs
    # that read the same; a checkout on macOS holds one of the two files.
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    for name in (composed, decomposed):
        (site_dir / f"content/posts/{name}.md").write_text("---\ntitle: c\ndate: 2020-01-01\n---\nx\n")
    with pytest.raises(BuildErrors) as caught:
        load_posts(load_config(site_dir))
    (error,) = caught.value.errors
    assert "reads the same as" in str(error) and "rename one" in str(error)
    # And by post name, whatever their slugs (a review): one results folder on macOS.
    for index, name in enumerate((composed, decomposed)):
        (site_dir / f"content/posts/{name}.md").write_text(f"---\ntitle: c\ndate: 2020-01-01\nslug: s{index}\n---\nx\n")
    with pytest.raises(BuildErrors) as caught:
        load_posts(load_config(site_dir))
    (error,) = caught.value.errors
    assert "macOS keeps one results folder for both: rename one" in str(error)


def test_a_post_named_like_runposts_temporary_folders_is_an_error_and_its_results_stay(site_dir):
    # From a review: build/run.tmp-4242-deadbeef/ (its committed results) was deleted as a leftover.
    from conftest import run_build

    (site_dir / "content/posts/run.tmp-4242-deadbeef.md").write_text("---\ntitle: t\ndate: 2020-01-01\n---\nx\n")
    kept = site_dir / "build/run.tmp-4242-deadbeef"
    kept.mkdir(parents=True)
    (kept / "manifest.json").write_text("{}")
    result = run_build(cwd=site_dir)
    assert result.returncode == 1
    assert "content/posts/run.tmp-4242-deadbeef.md: error: the name 'run.tmp-4242-deadbeef' reads as one of " \
           "runpost's temporary folders" in result.stderr
    assert (kept / "manifest.json").read_text() == "{}"


def test_bundle_siblings_become_assets(site_dir):
    post = next(post for post in load_posts(load_config(site_dir)) if post.name == "bundle-post")
    assert list(post.assets) == ["/posts/bundle-post/dot.png"]


def test_a_bundles_other_markdown_is_never_published_as_it_is(site_dir):
    # Hugo publishes no Markdown page resource; a draft's notes beside a post were copied to the site.
    from conftest import run_build
    bundle = site_dir / "content/posts/bundle-post"
    (bundle / "notes.MD").write_text("private notes\n")
    (bundle / "day2").mkdir()
    (bundle / "day2/index.md").write_text("---\ntitle: Day 2\ndraft: true\n---\nPrivate.\n")
    (bundle / "day2/map.txt").write_text("a map\n")
    post = next(post for post in load_posts(load_config(site_dir)) if post.name == "bundle-post")
    assert sorted(post.assets) == ["/posts/bundle-post/day2/map.txt", "/posts/bundle-post/dot.png"]
    result = run_build(cwd=site_dir)
    assert result.returncode == 0, result.stderr
    published = {path.name for path in (site_dir / "site").rglob("*")}
    assert "notes.MD" not in published and "map.txt" in published
    assert not (site_dir / "site/posts/bundle-post/day2/index.md").exists()


def test_posts_are_sorted_newest_first(site_dir):
    assert [post.name for post in load_posts(load_config(site_dir))] == ["bundle-post", "first-post"]


def test_toml_error_at_the_end_points_at_the_last_front_matter_line():
    message = errors_of('+++\ntitle = "e"\ndate = 2020-01-01\nbroken = [\n+++\nx\n')[0]
    assert message == "content/posts/p.md:4:1: error: invalid TOML front matter: Invalid value"


@pytest.mark.parametrize("front, where, message", [
    ('title: "Hello\ndate: 2020-01-01\ntags:\n  - a\n', "2:8",
     "a quoted scalar opened here is not closed (found unexpected end of stream)"),
    ("title: x\ntags: [a, b\ndate: 2020-01-01\nslug: s\n", "3:7",
     "a flow sequence opened here is not closed (expected ',' or ']', but got ':')"),
    ("title: x\ntags:\n  - a\n - b\ndate: 2020-01-01\n", "5:2",
     "expected <block end>, but found '<block sequence start>'"),
])
def test_yaml_error_points_at_the_line_that_opened_the_broken_construct(front, where, message):
    with pytest.raises(BuildError) as caught:
        parse_post(Path("content/posts/p.md"), f"---\n{front}---\nBody\n")
    assert str(caught.value) == f"content/posts/p.md:{where}: error: invalid YAML front matter: {message}"


def test_front_matter_keys_are_read_in_any_case_as_hugo_does():
    post = parse_post(Path("content/posts/p.md"), "---\nTitle: Hello\nDate: 2023-01-05\nDraft: \"true\"\nTags: [a]\n---\n")
    assert (post.meta.title, post.meta.date.year, post.meta.draft, post.meta.tags) == ("Hello", 2023, True, ("a",))
    assert errors_of("---\ntitle: A\nTitle: B\ndate: 2020-01-01\n---\n") == [
        "content/posts/p.md:3:1: error: 'Title' is 'title' again (Hugo reads front matter keys in any case)"]
    assert errors_of("---\ntitle: A\ndate: 2020-01-01\ndraft: \"yes\"\n---\n") == [
        "content/posts/p.md:4:1: error: 'draft' must be true or false"]


@pytest.mark.parametrize("written, read", [
    ("05 Jan 2023", dt.datetime(2023, 1, 5, tzinfo=dt.timezone.utc)),
    ("Thu, 05 Jan 2023 10:00:00 +0000", dt.datetime(2023, 1, 5, 10, tzinfo=dt.timezone.utc)),
    ("Thu, 05 Jan 2023 10:00:00 GMT", dt.datetime(2023, 1, 5, 10, tzinfo=dt.timezone.utc)),
    ("5 Jan 2023 12:00 +0200", dt.datetime(2023, 1, 5, 10, tzinfo=dt.timezone.utc)),
])
def test_dates_in_the_rfc_forms_hugo_reads_are_dates(written, read):
    assert parse_post(Path("content/posts/p.md"), f"---\ntitle: A\ndate: \"{written}\"\n---\n").meta.date == read


def test_a_date_hugo_would_read_as_year_one_is_still_an_error():
    assert errors_of("---\ntitle: A\ndate: \"Jan 5, 2023\"\n---\n") == [
        "content/posts/p.md:3:1: error: invalid date 'Jan 5, 2023' for 'date' (use YYYY-MM-DD or an ISO 8601 date-time)"]


def test_aliases_and_url_must_be_paths_in_this_site():
    post = parse_post(Path("content/posts/p.md"), "---\ntitle: A\ndate: 2020-01-01\naliases: [/old/, older]\nurl: /2020/a/\n---\n")
    assert (post.meta.aliases, post.meta.url, post.url) == (("/old/", "older"), "/2020/a/", "/posts/p/")
    for bad in ("https://example.org/x/", "//evil.example/x", "/a?b", "", "/a#b", "javascript:alert(1)"):
        assert errors_of(f"---\ntitle: A\ndate: 2020-01-01\naliases: [\"{bad}\"]\n---\n") == [
            f"content/posts/p.md:4:1: error: '{bad}' in 'aliases' is not a path in this site (like /old/path/ or old-name)"]


def test_a_post_past_its_expiry_date_is_left_out_unless_asked(site_dir):
    (site_dir / "content/posts/expired.md").write_text("---\ntitle: E\ndate: 2020-01-01\nexpiryDate: 2021-01-01\n---\n")
    (site_dir / "content/posts/expiring.md").write_text("---\ntitle: F\ndate: 2020-01-01\nexpiryDate: 2999-01-01\n---\n")
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    held_back: list = []
    slugs = lambda config: {post.meta.slug for post in load_posts(config, now=now, held_back=held_back)}
    config = load_config(site_dir)
    assert "expired" not in slugs(config) and "expiring" in slugs(config)
    assert dt.datetime(2999, 1, 1, tzinfo=dt.timezone.utc) in held_back      # the site changes then by itself
    assert "expired" in slugs(load_config(site_dir, expired=True))


def test_an_rfc_822_date_with_a_two_digit_year_is_read_as_hugo_reads_it():
    post = parse_post(Path("content/posts/p.md"), '---\ntitle: A\ndate: "05 Jan 23 10:00 UTC"\n---\n')
    assert post.meta.date == dt.datetime(2023, 1, 5, 10, tzinfo=dt.timezone.utc)


def test_json_front_matter_is_read_as_hugo_reads_it():
    post = parse_post(Path("content/posts/j.md"),
                      '{\n  "title": "JSON front",\n  "date": "2023-04-03",\n  "tags": ["a"]\n}\n\nBody with JSON.\n')
    assert (post.meta.title, post.meta.date.year, post.meta.tags) == ("JSON front", 2023, ("a",))
    assert post.body == "\nBody with JSON.\n" and post.body_line == 6 and post.meta.lines["tags"] == 4
    assert errors_of('{"title": "x",\n "date": }\n', "content/posts/j.md") == [
        "content/posts/j.md:2:10: error: invalid JSON front matter: Expecting value"]
    assert errors_of('{"title": "x", "title": "y", "date": "2020-01-01"}\n', "content/posts/j.md") == [
        "content/posts/j.md:1:1: error: invalid JSON front matter: key 'title' is given twice"]


def test_control_characters_in_front_matter_are_written_as_the_replacement_character():
    post = parse_post(Path("content/posts/c.md"),
                      '---\ntitle: "ctrl \\v vt \\e esc"\ndate: 2020-01-01\ntags: ["a\\x01b"]\n---\n')
    assert (post.meta.title, post.meta.tags) == ("ctrl \ufffd vt \ufffd esc", ("a\ufffdb",))


def meta_of(front: str):
    return parse_post(Path("content/posts/p.md"), f"---\ntitle: A\n{front}---\nBody\n").meta


def test_a_blank_field_is_not_given_as_hugo_reads_it():
    # Archetypes and CMSs write `lastmod:` or `draft:` blank: each was an error ("invalid date 'None'").
    day = dt.datetime(2023, 1, 5, tzinfo=dt.timezone.utc)
    meta = meta_of('date: 2023-01-05\nlastmod:\nexpiryDate: ""\npublishDate:\ndraft:\nweight: ""\n')
    assert (meta.date, meta.publish_date, meta.lastmod, meta.expiry_date, meta.draft, meta.weight) == (day, day, None, None, False, 0)
    assert errors_of("---\ntitle: A\ndate:\n---\n") == ["content/posts/p.md:1:1: error: missing 'date' (or 'publishDate') in front matter"]


def test_dates_by_hugos_other_names():
    day = lambda number: dt.datetime(2023, 1, number, tzinfo=dt.timezone.utc)
    assert meta_of("lastmod: 2023-01-05\n").date == day(5)                      # no date: the last change's
    assert meta_of("lastmod: 2023-01-05\n").publish_date.year == 1970           # ...but out since always, as in Hugo
    assert (meta_of("pubDate: 2023-01-06\n").date, meta_of("published: 2023-01-07\n").publish_date) == (day(6), day(7))
    assert meta_of("date: 2023-01-01\nmodified: 2023-01-08\n").lastmod == day(8)
    assert meta_of("date: 2023-01-01\nunpublishDate: 2023-01-09\n").expiry_date == day(9)
    # The key itself wins over its other name, wherever each is; of two other names, Hugo's first.
    assert meta_of("pubDate: 2023-01-06\npublishDate: 2023-01-02\n").publish_date == day(2)
    assert meta_of("publishDate: 2023-01-02\npubDate: 2023-01-06\n").publish_date == day(2)
    assert meta_of("published: 2023-01-07\npubDate: 2023-01-06\n").publish_date == day(6)
    assert meta_of("publishDate: 2023-01-02\npubDate: 2023-01-06\n").extra == {"pubDate": "2023-01-06"}


@pytest.mark.parametrize("written, read", [
    ("1672912800", dt.datetime(2023, 1, 5, 10, tzinfo=dt.timezone.utc)),                  # seconds since 1970
    ('"2023-01-05 10:00:00 +0000 UTC"', dt.datetime(2023, 1, 5, 10, tzinfo=dt.timezone.utc)),   # Go's time.String()
    ('"2023-01-05 12:00:00 +0200 CEST"', dt.datetime(2023, 1, 5, 10, tzinfo=dt.timezone.utc)),
])
def test_dates_in_the_other_forms_hugo_reads(written, read):
    assert meta_of(f"date: {written}\n").date == read


def test_weight_is_a_whole_number():
    assert meta_of("date: 2023-01-01\nweight: 3\n").weight == 3
    assert meta_of('date: 2023-01-01\nweight: "-2"\n').weight == -2
    assert errors_of("---\ntitle: A\ndate: 2023-01-01\nweight: heavy\n---\n") == [
        "content/posts/p.md:4:1: error: 'weight' must be a whole number"]


def test_posts_are_in_hugos_order_weight_then_newest_then_title(tmp_path):
    # Posts of one day were in reverse URL order (Gamma, Beta, Alpha); Hugo sorts them by title,
    # and a weight pins a post above the rest (lowest first, 0 is none).
    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True)
    for name, title, front in [("g", "gamma", "date: 2023-01-05"), ("a", "Alpha", "date: 2023-01-05"),
                               ("b", "Beta", "date: 2023-01-05T00:00:00.5Z"), ("n", "Newest", "date: 2023-01-06"),
                               ("o", "Old", "date: 2020-01-01\nweight: 2"), ("p", "Pinned", "date: 2019-01-01\nweight: 1")]:
        (posts / f"{name}.md").write_text(f"---\ntitle: {title}\n{front}\n---\nx\n", encoding="utf-8")
    assert [post.meta.title for post in load_posts(load_config(tmp_path))] == [
        "Pinned", "Old", "Newest", "Alpha", "Beta", "gamma"]


def test_jekylls_published_false_is_a_draft_as_hugo_reads_it():
    # It was "invalid date 'True' for 'publishDate'".
    assert meta_of("date: 2023-01-01\npublished: false\n").draft is True
    assert meta_of("date: 2023-01-01\npublished: true\n").draft is False
    assert meta_of("date: 2023-01-01\npublished: false\ndraft: false\n").draft is False
    assert meta_of("date: 2023-01-01\npublished: 2023-01-07\n").publish_date.day == 7


def test_a_post_with_classic_mac_line_ends_reads_as_commonmark_reads_it():
    # A lone CR ends a line in CommonMark; such a post was "missing front matter" at 1:1.
    post = parse_post(Path("content/posts/p.md"), "---\rtitle: P\rdate: 2020-01-01\r---\rHi.\r\r## Head\r")
    assert post.meta.title == "P" and post.body == "Hi.\n\n## Head\n" and post.body_line == 5


def test_a_build_field_that_is_not_a_mapping_is_the_posts_own_param_as_in_hugo_0_111():
    # Hugo 0.111 reads build options from `_build` only; later ones from a `build` mapping too.
    post = parse_post(Path("content/posts/p.md"), '---\ntitle: P\ndate: 2020-01-01\nbuild: "2.0"\n---\nx\n')
    assert post.meta.rendered and post.meta.extra == {"build": "2.0"}


def test_front_matter_libyaml_finds_too_deep_is_its_error_without_the_slow_python_parser(monkeypatch):
    # PyYAML 6.0.4's libyaml stops at 1,000 levels; the Python parser, asked again for its message,
    # recursed for seconds of CPU (a fresh install failed the hostile-input CPU budget).
    import yaml
    from runpost.content import frontmatter

    class DeepLimit(yaml.SafeLoader):
        def get_single_node(self):
            raise yaml.scanner.ScannerError("while increasing flow level", None, "exceeded maximum nesting depth", None)

    class Unwanted(yaml.SafeLoader):
        def __init__(self, stream):
            raise AssertionError("the Python parser was asked again")

    monkeypatch.setattr(frontmatter, "_FastLoader", type("Fast", (frontmatter._FrontMatterYAML, DeepLimit), {}))
    monkeypatch.setattr(frontmatter, "_Loader", Unwanted)
    with pytest.raises(BuildError, match="invalid YAML front matter: exceeded maximum nesting depth"):
        frontmatter._parse_yaml(Path("content/posts/d.md"), "x: [[[]]]")


def test_yaml_merge_keys_are_read_as_hugo_reads_them_and_a_posts_own_keys_win():
    # `<<: *defaults` failed: "could not determine a constructor for the tag ...merge" (found by review).
    text = "---\ntitle: M\ndate: 2024-01-01\ndefaults: &d {a: 1, b: 1}\nparams:\n  <<: *d\n  b: 2\n---\nBody\n"
    meta, _, _ = parse_front_matter(Path("content/posts/m.md"), text, "m")
    assert meta.params == {"a": 1, "b": 2}


def test_a_slug_tag_or_alias_too_long_for_a_file_name_is_an_error_at_its_line():
    # "cannot write 'tags/tttt...': a name in it is longer than 255 bytes" named no file (found by review).
    long = "t" * 300
    text = f"---\ntitle: L\ndate: 2024-01-01\ntags: [{long}]\nslug: {long}\naliases: [/a/{long}/]\n---\nx\n"
    with pytest.raises(BuildErrors) as raised:
        parse_front_matter(Path("content/posts/l.md"), text, "l")
    shown = [str(error) for error in raised.value.errors]
    assert sorted(line.split(": error: ")[0] for line in shown) == ["content/posts/l.md:4:1", "content/posts/l.md:5:1",
                                                               "content/posts/l.md:6:1"], shown
    assert all("longer than 255 bytes" in line for line in shown)


def test_a_post_file_that_is_a_pipe_or_a_device_is_an_error_not_a_post_that_vanishes(tmp_path):
    import os

    posts = tmp_path / "content/posts"
    (posts / "b").mkdir(parents=True)
    os.mkfifo(posts / "f.md")
    os.mkfifo(posts / "b/index.md")
    (posts / "n.md").symlink_to("/dev/null")
    (posts / "ok.md").write_text("---\ntitle: OK\ndate: 2024-01-01\n---\nFine.\n")
    with pytest.raises(BuildErrors) as raised:
        load_posts(load_config(tmp_path))
    assert sorted((error.location.path.relative_to(posts).as_posix(), error.message) for error in raised.value.errors) == [
        (name, "not a regular file (a pipe or a device?): a post is a text file") for name in ("b/index.md", "f.md", "n.md")]


def test_hidden_files_and_folders_under_posts_are_not_posts(tmp_path):
    # `.notes.md` and a `.wip/` bundle were published, in the lists and the feed; macOS's
    # AppleDouble `._x.md` (binary) failed the build as invalid UTF-8. Hugo skips all three.
    posts = tmp_path / "content/posts"
    (posts / ".wip").mkdir(parents=True)
    (posts / "shown.md").write_text("---\ntitle: Shown\ndate: 2024-01-01\n---\nText.\n")
    (posts / ".notes.md").write_text("---\ntitle: Private\ndate: 2024-01-01\n---\nDRAFT NOTES\n")
    (posts / ".wip/index.md").write_text("---\ntitle: WIP\ndate: 2024-01-01\n---\nWIP BUNDLE\n")
    (posts / "._shown.md").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\xff\xff")
    assert [post.name for post in load_posts(load_config(tmp_path))] == ["shown"]


def test_front_matter_errors_a_beginner_makes_say_how_to_fix_them():
    # Unquoted TOML text and a tab in YAML: located, but the messages did not say what to do.
    assert errors_of("+++\ntitle = My post\ndate = 2020-01-01\n+++\nx\n")[0] == \
        'content/posts/p.md:2:9: error: invalid TOML front matter: Invalid value (text goes in quotes: title = "My post")'
    assert errors_of("---\ntitle: t\ndate: 2020-01-01\ntags:\n\t- a\n---\nx\n")[0].endswith(
        "found character '\\t' that cannot start any token (YAML indents with spaces, never tabs)")

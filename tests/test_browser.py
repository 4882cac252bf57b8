"""Every page of a built site in headless Chromium, served under /repo/.

One pass visits each page (plus a missing URL deep under the site, which must
get a working 404 page) and records what went wrong; the tests below each
assert one claim about that record. With RUNPOST_SCREENSHOTS=1, full-page
screenshots (phone and desktop, light and dark) of one page of each layout go to
test-artifacts/screenshots/ for a human to look at (RUNPOST_SCREENSHOTS=all: every
page). No test reads them, so a default run, which must be fast, takes none.
"""
from __future__ import annotations

import json
import os
import re
import time
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
AXE = REPO / "tests" / "vendor" / "axe.min.js"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
# Chromium's headless shell first (Debian's chromium-headless-shell): the same Blink, without the
# full browser's UI processes, which Playwright uses for headless by default (measured: the browser
# tests' Chromium CPU 21.3 -> 12.6 s); Debian's full chromium where only it is installed.
CHROMIUM = ("chromium-headless-shell", "chromium", "chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MISSING_PAGE = "no/such/page/here/"   # GitHub Pages answers any missing URL with 404.html

# One worker runs them all: they share one Chromium and one pass over the pages (`records`).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _chromium_path() -> str | None:
    return next(filter(None, map(shutil.which, CHROMIUM)), None)


@dataclass
class PageRecord:
    """What one page did in the browser."""

    path: str                                   # output path, "posts/x/index.html"
    url: str
    status: int | None = None
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    third_party: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    overflow: dict[str, int] = field(default_factory=dict)   # phone width: scrollWidth vs innerWidth
    background: dict[str, str] = field(default_factory=dict)  # scheme -> body background colour
    axe: dict[str, list[str]] = field(default_factory=dict)  # scheme -> serious/critical violations


@pytest.fixture(scope="session")
def records(browser, served_site) -> list[PageRecord]:
    print(f"\nbrowser tests use the {served_site.source} site at {served_site.base_url}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    context = browser.new_context(viewport=DESKTOP, color_scheme="light")
    _keep_requests_local(context)
    # Redirect pages (a list's page/1/, a post's aliases) are one template's stubs, and each lands on a
    # page visited anyway: the first is visited (it must load and land), the others are not.
    redirects = [path for path in served_site.pages() if _is_redirect(served_site.directory / path)]
    targets = [(path, served_site.url_of(path)) for path in served_site.pages() if path not in redirects[1:]]
    targets.append(("missing", served_site.base_url + MISSING_PAGE))
    shot: set[str] = set()
    # One tab for every page, as a reader clicking through: a new tab per page cost 0.2 s, and
    # axe (injected into each page) compiles faster in a renderer that has compiled it before.
    page = context.new_page()
    try:
        return [_visit(page, path, url, served_site.base_url, _first_of_its_kind(path, shot)) for path, url in targets]
    finally:
        context.close()


def _is_redirect(page) -> bool:
    return '<meta http-equiv="refresh"' in page.read_text(encoding="utf-8", errors="replace")


def _keep_requests_local(context) -> None:
    # Nothing may leave the machine: anything not on 127.0.0.1 is aborted (and
    # recorded by _visit as a third-party request).
    context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", None) and not url.startswith("data:"),
                  lambda route: route.abort())


def _first_of_its_kind(path: str, shot: set[str]) -> bool:
    """Screenshots: none by default, else one page of each layout (every tag page looks alike), or all."""
    wanted = os.environ.get("RUNPOST_SCREENSHOTS", "")
    kind = re.sub(r"^(tags|posts)/[^/]+/", r"\1/*/", path)
    first = kind not in shot
    shot.add(kind)
    return wanted == "all" or (wanted not in ("", "0") and first)


def _visit(page, path: str, url: str, base_url: str, screenshots: bool = True) -> PageRecord:
    """Load `url` in the tab `page` (light, desktop) and record what a reader would meet there.

    The page is judged in four states: light and dark, desktop and phone. Each switch
    may make a <picture> fetch other copies; every state is judged only once all of the
    tab's requests have finished, so none is cut short by the next switch or page.
    """
    record = PageRecord(path=path, url=url)
    pending: set = set()
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(DESKTOP)

    def on_console(message):
        # The missing page's own 404 is expected; Chromium logs it as an error.
        expected = path == "missing" and message.location.get("url") == url and "404" in message.text
        if message.type == "error" and not expected:
            record.console_errors.append(message.text)

    def on_request(request):
        pending.add(request)
        if _is_third_party(request.url):
            record.third_party.append(request.url)

    def on_failed(request):
        pending.discard(request)
        # net::ERR_ABORTED is the browser cancelling its own request: the test switched the
        # scheme or the viewport and a <picture> chose another copy, or the tab moved on. A
        # file that is missing answers 404 (on_response); a broken one fails to decode.
        if request.failure != "net::ERR_ABORTED":
            record.failed_requests.append(f"{request.url} ({request.failure})")

    def on_response(response):
        if response.status >= 400 and response.url != url:
            record.failed_requests.append(f"{response.url} (HTTP {response.status})")

    listeners = {
        "console": on_console,
        "pageerror": lambda error: record.console_errors.append(str(error)),
        "request": on_request,
        "requestfinished": lambda request: pending.discard(request),
        "requestfailed": on_failed,
        "response": on_response,
    }
    for event, listener in listeners.items():
        page.on(event, listener)   # removed again below: the tab goes on to the next page
    try:
        response = page.goto(url, wait_until="load")
        record.status = response.status if response else None
        name = _screenshot_name(path)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            record.broken_images += [f"{image} ({scheme})" for image in _undecodable_images(page, pending)]
            record.background[scheme] = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            # The dark scheme changes colours only (its CSS is a colour palette): there, the rules
            # that read colours; every rule runs in the light scheme. (axe is most of these tests'
            # CPU: 0.7 s a run on the article page and its 7,000 elements.)
            record.axe[scheme] = _axe_violations(page, None if scheme == "light" else COLOUR_RULES)
            page.set_viewport_size(DESKTOP)
            if screenshots:
                page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop-{scheme}.png"), full_page=True)
            page.set_viewport_size(PHONE)
            record.overflow[scheme] = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth")
            # A phone picks narrower copies from srcset: those too must load and decode.
            record.broken_images += [f"{image} ({scheme}, phone)" for image in _undecodable_images(page, pending)]
            if screenshots:
                page.screenshot(path=str(SCREENSHOTS / f"{name}-phone-{scheme}.png"), full_page=True)
    finally:
        for event, listener in listeners.items():
            page.remove_listener(event, listener)
    return record


def _undecodable_images(page, pending: set) -> list[str]:
    """Every image of the page loaded now (lazy ones too) and decoded; those that failed."""
    # Set once: setting it again would restart (and abort) the loads a switch just started.
    page.evaluate("() => { for (const image of document.images) "
                  "if (image.loading !== 'eager') image.loading = 'eager'; }")
    _settle(page, pending)
    page.evaluate("() => Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))")
    return page.evaluate(
        "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.currentSrc || i.src)")


def _settle(page, pending: set, seconds: float = 15) -> None:
    """Wait until the tab has no request in flight, two frames after the last change."""
    deadline = time.monotonic() + seconds
    while True:
        # Two animation frames: a media or viewport change has been applied and its fetches started.
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        if not pending or time.monotonic() > deadline:
            return
        page.wait_for_timeout(10)


def _is_third_party(url: str) -> bool:
    return not url.startswith("data:") and urlsplit(url).hostname != "127.0.0.1"


COLOUR_RULES = ("color-contrast", "link-in-text-block")


def _axe_violations(page, rules: tuple[str, ...] | None = None) -> list[str]:
    """axe's serious and critical violations on the page: of all its rules, or of `rules`."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    options = {"resultTypes": ["violations"], **({"runOnly": {"type": "rule", "values": list(rules)}} if rules else {})}
    result = page.evaluate("""async (options) => {
        const found = await axe.run(document, options);
        return found.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' -> ' +
                 v.nodes.slice(0, 3).map(n => n.target.join(' ') + (n.failureSummary ? ' [' +
                 n.failureSummary.replace(/\\s+/g, ' ').slice(0, 160) + ']' : '')).join('; '));
    }""", options)
    return list(result)


def _screenshot_name(path: str) -> str:
    name = re.sub(r"/?index\.html$", "", path).replace("/", "_")
    return re.sub(r"\.html$", "", name) or "home"


def _problems(records: list[PageRecord], attribute: str) -> dict[str, object]:
    return {record.path: getattr(record, attribute) for record in records if getattr(record, attribute)}


# ---- Claims --------------------------------------------------------------

def test_every_page_loads_with_status_200(records):
    statuses = {record.path: record.status for record in records if record.path != "missing"}
    assert statuses and all(status == 200 for status in statuses.values()), statuses


def test_missing_url_deep_under_the_site_gets_a_working_404_page(records):
    missing = next(record for record in records if record.path == "missing")
    assert missing.status == 404
    assert not missing.failed_requests, "404.html must work at any depth: " + json.dumps(missing.failed_requests)


def test_no_failed_resource_on_any_page(records):
    assert not _problems(records, "failed_requests"), json.dumps(_problems(records, "failed_requests"), indent=1)


def test_no_console_error_on_any_page(records):
    assert not _problems(records, "console_errors"), json.dumps(_problems(records, "console_errors"), indent=1)


def test_page_load_makes_no_third_party_request(records):
    assert not _problems(records, "third_party"), json.dumps(_problems(records, "third_party"), indent=1)


def test_every_image_decodes(records):
    assert not _problems(records, "broken_images"), json.dumps(_problems(records, "broken_images"), indent=1)


def test_no_horizontal_scroll_at_phone_width(records):
    overflowing = {record.path: record.overflow for record in records if max(record.overflow.values()) > 0}
    assert not overflowing, f"pages wider than {PHONE['width']}px (extra px): {overflowing}"


def test_dark_mode_changes_the_page_background(records):
    unchanged = {record.path: record.background for record in records
                 if record.background["light"] == record.background["dark"]}
    assert not unchanged, unchanged


def test_axe_finds_no_serious_or_critical_violation_in_light_or_dark_mode(records):
    found = {f"{record.path} [{scheme}]": violations for record in records
             for scheme, violations in record.axe.items() if violations}
    assert not found, json.dumps(found, indent=1)


def test_clicking_a_youtube_placeholder_loads_a_nocookie_player(browser, served_site):
    page_path = _first_page_with(served_site, "youtube-embed__link")
    context = browser.new_context(viewport=DESKTOP)
    players = []
    # Stand in for the player so nothing leaves the machine.
    context.route("https://www.youtube-nocookie.com/**", lambda route: (players.append(route.request.url), route.fulfill(
        status=200, content_type="text/html", body="<!DOCTYPE html><title>player</title>")))
    context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", "www.youtube-nocookie.com"),
                  lambda route: route.abort())
    page = context.new_page()
    try:
        page.goto(served_site.url_of(page_path), wait_until="load")
        assert not players, "the player must not load before a click"
        link = page.locator(".youtube-embed__link").first
        video_id = link.get_attribute("data-youtube-id")
        title = link.get_attribute("data-title")
        link.click()
        iframe = page.locator(f".youtube-embed iframe[src*='/embed/{video_id}']")
        iframe.wait_for()
        src = iframe.get_attribute("src")
        assert src.startswith(f"https://www.youtube-nocookie.com/embed/{video_id}?") and "autoplay=1" in src
        assert iframe.get_attribute("title") == title
        assert "allowfullscreen" in iframe.evaluate("e => e.getAttributeNames().join(' ')")
        page.wait_for_timeout(200)
        assert players and all(urlsplit(url).hostname == "www.youtube-nocookie.com" for url in players)
    finally:
        context.close()


def test_keyboard_space_on_a_youtube_placeholder_loads_the_player(browser, served_site):
    page_path = _first_page_with(served_site, "youtube-embed__link")
    context = browser.new_context(viewport=DESKTOP)
    context.route(lambda url: urlsplit(url).hostname != "127.0.0.1", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!DOCTYPE html><title>player</title>"))
    page = context.new_page()
    try:
        page.goto(served_site.url_of(page_path), wait_until="load")
        before = page.locator(".youtube-embed__link").count()
        page.locator(".youtube-embed__link").first.focus()
        page.keyboard.press("Space")
        page.locator(".youtube-embed iframe[src^='https://www.youtube-nocookie.com/embed/']").first.wait_for()
        assert page.locator(".youtube-embed__link").count() == before - 1
    finally:
        context.close()


def _first_page_with(served_site, marker: str) -> str:
    for path in served_site.pages():
        if marker in (served_site.directory / path).read_text(encoding="utf-8"):
            return path
    pytest.fail(f"no page of the {served_site.source} site contains {marker!r}")


def test_live_preview_shows_build_errors_over_the_page_and_reloads_after_a_fix(browser, tmp_path):
    from runpost.config import load_config
    from runpost.report import Reporter
    from runpost.serve import start
    from test_serve import fake_build

    post = tmp_path / "content" / "posts" / "a.md"
    post.parent.mkdir(parents=True)
    post.write_text("first version", encoding="utf-8")
    (tmp_path / "runpost.toml").write_text('base_url = "https://user.github.io/repo/"\n')
    running = start(load_config(tmp_path), Reporter(quiet=True), "127.0.0.1", 0, build=fake_build)
    threading.Thread(target=running.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(running.preview.url, wait_until="load")
        page.wait_for_timeout(200)  # let the EventSource connect
        post.write_text("BROKEN", encoding="utf-8")
        overlay = page.locator("#runpost-error-overlay")
        overlay.wait_for(timeout=5000)
        assert "unknown shortcode 'figur'" in overlay.inner_text()
        post.write_text("fixed version", encoding="utf-8")
        page.wait_for_function("() => document.getElementById('text')?.textContent === 'fixed version'", timeout=5000)
        assert page.locator("#runpost-error-overlay").count() == 0
    finally:
        context.close()
        running.server.shutdown()
        running.close()

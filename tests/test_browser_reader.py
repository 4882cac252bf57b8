"""Reader aids in headless Chromium: the contents list and the copy buttons, light and dark.

A copy of the fixture site gets one post with every kind of code block (plain,
inline line numbers, a line-number table, a shell session with prompts, a cell-like
output); it is built and served under /repo/. With RUNPOST_SCREENSHOTS=1, screenshots
go to test-artifacts/screenshots/reader/.

The tests share one tab (a new browser context is a new renderer process: about 0.5 s of
CPU each); each test sets its colour scheme and viewport and loads the page afresh. The page
without JavaScript needs a context of its own.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURE_SITE, run_build
from test_browser import AXE, DESKTOP, PHONE

# On the worker that runs test_browser.py: one Chromium for both (a second costs ~4 s of CPU).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots" / "reader"

POST = '''---
title: Reader aids
date: 2024-03-01
toc: true
---
Intro text.

## Plain code

```python
x = 1
print(x)
```

## Numbered lines

{{< highlight python "linenos=table" >}}
a = 1
b = 2
{{< /highlight >}}

{{< highlight python "linenos=inline" >}}
c = 3
{{< /highlight >}}

### A shell session

```console
$ pip install runpost
Successfully installed runpost
```

A fence with no language:

```
plain text, copied too
```

A wide table:

| Model | Seed 0 | Seed 1 | Seed 2 | Seed 3 | Seed 4 | Mean accuracy over the five seeds | Standard deviation |
|---|---|---|---|---|---|---|---|
| LSTM with two layers and dropout | 0.8812 | 0.8790 | 0.8834 | 0.8801 | 0.8822 | 0.8812 | 0.0017 |

| A | B |
|---|---|
| 1 | 2 |

## The end

Bye.
'''
SCHEMES = ["light", "dark"]

@pytest.fixture(scope="module")
def reader_site(tmp_path_factory):
    from serving import SiteServer

    work = tmp_path_factory.mktemp("reader")
    project = work / "project"
    shutil.copytree(FIXTURE_SITE, project)
    (project / "content/posts/reader-aids.md").write_text(POST, encoding="utf-8")
    output = work / "site"
    output.mkdir()
    server = SiteServer(output)
    try:
        result = run_build("--output", str(output), "--base-url", server.base_url, cwd=project)
        assert result.returncode == 0, result.stderr
        yield server.base_url + "posts/reader-aids/"
    finally:
        server.close()


@pytest.fixture(scope="module")
def tab(browser):
    """One tab with the clipboard allowed, for every test that runs the page's JavaScript."""
    context = browser.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    yield page
    context.close()


def open_page(tab, url, scheme="light", viewport=DESKTOP):
    """The page loaded afresh in `tab`, as a reader with that colour scheme and screen would see it."""
    tab.emulate_media(color_scheme=scheme)
    tab.set_viewport_size(viewport)
    tab.goto("about:blank")          # a new document even where the last test left `url` open
    tab.goto(url, wait_until="load")
    tab.evaluate("() => navigator.clipboard.writeText('')")   # nothing left from an earlier test's copy
    return tab


def shoot(page, name):
    """With RUNPOST_SCREENSHOTS set (as for test_browser.py): no test reads them, a default run takes none."""
    if os.environ.get("RUNPOST_SCREENSHOTS", "") in ("", "0"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def copied_by(page, button_index: int) -> str:
    page.locator(".copy-button").nth(button_index).click()
    page.wait_for_function("() => document.querySelector('.copy-status').textContent === 'Copied'")
    return page.evaluate("() => navigator.clipboard.readText()")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_copy_button_copies_code_without_line_numbers_or_prompts(tab, reader_site, scheme):
    page = open_page(tab, reader_site, scheme)
    assert page.locator(".copy-button").count() == 5
    assert copied_by(page, 0) == "x = 1\nprint(x)"
    assert copied_by(page, 1) == "a = 1\nb = 2"
    assert copied_by(page, 2) == "c = 3"
    assert copied_by(page, 3) == "pip install runpost\nSuccessfully installed runpost"
    assert copied_by(page, 4) == "plain text, copied too"
    page.locator(".copy-button").nth(1).scroll_into_view_if_needed()
    shoot(page, f"copy-{scheme}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_copy_button_is_a_keyboard_button_that_announces_copied(tab, reader_site, scheme):
    page = open_page(tab, reader_site, scheme)
    button = page.locator(".copy-button").first
    assert button.evaluate("node => node.tagName") == "BUTTON"
    assert button.get_attribute("aria-label") == "Copy code"
    assert page.locator("[aria-live=polite].copy-status").count() == 1
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.copy-status').textContent === 'Copied'")
    assert button.text_content() == "Copied"
    assert page.evaluate("() => navigator.clipboard.readText()") == "x = 1\nprint(x)"


def test_without_javascript_the_page_has_no_copy_buttons_and_shows_the_code(browser, reader_site):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(reader_site, wait_until="load")
        assert page.locator(".copy-button").count() == 0
        assert page.locator(".highlight").count() == 4
    finally:
        context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_contents_list_sticks_beside_the_text_on_wide_screens(tab, reader_site, scheme):
    page = open_page(tab, reader_site, scheme, viewport={"width": 1600, "height": 700})
    toc = page.get_by_role("navigation", name="Contents")
    assert toc.get_by_role("link").all_text_contents() == ["Plain code", "Numbered lines", "A shell session", "The end"]
    content = page.locator(".post-content").bounding_box()
    inner = page.locator(".toc__inner")
    assert inner.bounding_box()["x"] + inner.bounding_box()["width"] <= content["x"]
    # Beside the code blocks too, which are wider than the text (a review: at 1280 px it lay over them).
    wide = page.locator(".post-content > :is(.cell, .highlight, pre)").first.bounding_box()
    assert inner.bounding_box()["x"] + inner.bounding_box()["width"] <= wide["x"]
    shoot(page, f"toc-wide-{scheme}")
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(200)
    assert 0 <= inner.bounding_box()["y"] < 100      # still in view after scrolling: sticky
    toc.get_by_role("link", name="The end").click()
    assert page.evaluate("() => location.hash") == "#the-end"


def test_contents_list_is_above_the_text_on_a_laptop_where_it_would_lie_over_wide_code(tab, reader_site):
    page = open_page(tab, reader_site, "light", viewport={"width": 1280, "height": 800})
    toc = page.locator(".toc").bounding_box()
    heading = page.locator(".post-content h2").first.bounding_box()
    assert toc["y"] + toc["height"] <= heading["y"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_contents_list_is_at_the_top_on_phones(tab, reader_site, scheme):
    page = open_page(tab, reader_site, scheme, viewport=PHONE)
    toc = page.locator(".toc").bounding_box()
    content = page.locator(".post-content").bounding_box()
    assert toc["y"] + toc["height"] <= content["y"]
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, f"toc-phone-{scheme}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_reader_aids_pass_axe_in_both_schemes(tab, reader_site, scheme):
    page = open_page(tab, reader_site, scheme)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")
    assert violations == []


def test_wide_code_blocks_grow_evenly_to_both_sides_of_the_text(tab, reader_site):
    # .highlight had max-width: 100% under its negative margins: on a laptop each block stuck
    # out 160 px on the left and stopped 160 px short on the right (found by a review).
    page = open_page(tab, reader_site, viewport={"width": 1280, "height": 800})
    text = page.locator(".post-content > p").first.bounding_box()
    blocks = [page.locator(".post-content > .highlight, .post-content > pre").nth(index).bounding_box()
              for index in range(page.locator(".post-content > .highlight, .post-content > pre").count())]
    assert len(blocks) == 5
    for box in blocks:
        left, right = text["x"] - box["x"], box["x"] + box["width"] - (text["x"] + text["width"])
        assert left > 50 and abs(left - right) <= 1, (left, right)


def test_the_copy_button_shows_when_the_mouse_is_on_the_block(tab, reader_site):
    # On a one-line block the button sat over the code; with a mouse it now shows on hover only.
    page = open_page(tab, reader_site)
    button = page.locator(".copy-button").first
    page.mouse.move(0, 0)
    page.wait_for_function("node => getComputedStyle(node).opacity === '0'", arg=button.element_handle(), timeout=2000)
    page.locator(".post-content > .highlight").first.hover()
    page.wait_for_function("node => parseFloat(getComputedStyle(node).opacity) > 0.8", arg=button.element_handle(),
                           timeout=2000)


def test_on_a_touch_screen_the_copy_button_covers_no_code(browser, reader_site):
    # A touch screen has no hover: the button stayed shown over one-line blocks, and their code or
    # output and "Copy" mixed. It now has a line of its own above the code.
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(reader_site, wait_until="load")
        assert page.evaluate("() => matchMedia('(hover: none)').matches")
        overlaps = page.evaluate("""() => Array.from(document.querySelectorAll('.copy-button')).map(button => {
            const box = button.getBoundingClientRect(), block = button.closest('.highlight, pre');
            const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
            const hits = [];
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                if (node.parentElement.closest('.copy-bar') || !node.textContent.trim()) continue;
                const range = document.createRange(); range.selectNodeContents(node);
                for (const r of range.getClientRects())
                    if (r.left < box.right && r.right > box.left && r.top < box.bottom && r.bottom > box.top)
                        hits.push(node.textContent.trim());
            }
            return [getComputedStyle(button).opacity, hits];
        })""")
        assert len(overlaps) == 5 and all(opacity == "1" and not hits for opacity, hits in overlaps), overlaps
    finally:
        context.close()


def test_a_wide_markdown_table_is_reachable_by_keyboard_and_a_narrow_one_is_not_in_the_tab_order(tab, reader_site):
    # From a review: a Markdown table wider than a phone scrolled inside itself, but no keyboard could
    # reach it (axe: scrollable-region-focusable, serious); code blocks and {{< table >}}s could.
    page = open_page(tab, reader_site, viewport=PHONE)
    tables = page.eval_on_selector_all(".post-content > table",
                                       "tables => tables.map(t => [t.scrollWidth > t.clientWidth, t.getAttribute('tabindex')])")
    assert [True, "0"] in tables and [False, None] in tables
    page.set_viewport_size(DESKTOP)        # wide enough for it: out of the tab order again
    page.wait_for_function("() => [...document.querySelectorAll('.post-content > table')].every("
                           "t => t.scrollWidth > t.clientWidth + 1 || !t.hasAttribute('tabindex'))")
    page.set_viewport_size(PHONE)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("() => axe.run(document, {runOnly: ['scrollable-region-focusable']}).then(r => r.violations.map(v => v.id))")
    assert found == []

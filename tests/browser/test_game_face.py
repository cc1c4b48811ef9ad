"""The game's face in Debian's Chromium: readable on a phone (390x844) and on a projector
(1280x720), a role's round that returns to the charts, and Compare's warning before its button."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from matplotlib.text import Text

from tests.browser.conftest import Visit, visit
from viz.charts import projector_dashboard
from viz.game import Game
from viz.levers import COMPARE_LEVERS, lever

PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1280, "height": 720}


@pytest.fixture
def phone(chromium, game_server) -> Iterator[Visit]:
    yield from visit(chromium, game_server, PHONE)


@pytest.fixture
def projector(chromium, game_server) -> Iterator[Visit]:
    yield from visit(chromium, game_server, PROJECTOR)


def sideways(page) -> list[str]:
    """What scrolls sideways: the document, or any box in it but the charts' own (the page
    scrolls in a box of Solara's, not the document)."""
    return page.evaluate(
        """() => {
            const wide = [...document.querySelectorAll('*')].filter(e => {
                const x = getComputedStyle(e).overflowX;
                return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1
                    && !e.classList.contains('game-chart-box');
            }).map(e => e.className.toString() + ': ' + e.innerText.slice(0, 60));
            const doc = document.documentElement;
            return doc.scrollWidth > window.innerWidth ? ['the document', ...wide] : wide;
        }"""
    )


def cut_labels(page) -> list[str]:
    """Visible labels whose text is cut short (ends in an ellipsis or overflows its box)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.v-label, .v-field-label, .v-card-title')]
            .filter(e => e.offsetParent !== null && e.innerText.trim()
                    && (e.scrollWidth > e.clientWidth + 1
                        || getComputedStyle(e).textOverflow === 'ellipsis'
                           && getComputedStyle(e).whiteSpace === 'nowrap'))
            .map(e => e.innerText)"""
    )


def settled(page) -> None:
    """Until the page has its styles and its first picture (a busy server sends them late)
    and its width has settled; a page that never stops scrolling sideways fails here."""
    page.wait_for_function("document.querySelector('img.game-charts').naturalWidth > 0")
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth")


def test_on_a_phone_the_page_stacks_wraps_its_labels_and_never_scrolls_sideways(phone):
    page = phone.page
    settled(page)
    assert sideways(page) == []
    assert cut_labels(page) == []
    # The panels stack: each card spans the screen's width, one under another.
    boxes = [
        page.locator(selector).first.bounding_box()
        for selector in (".controls", ".compare-panel", ".facilitator-panel")
    ]
    assert all(box["width"] > PHONE["width"] * 0.85 for box in boxes)
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    # The charts keep their drawn size (text 12 px and up) and scroll in their own box.
    shown = page.locator("img.game-charts").evaluate("i => i.clientWidth")
    board = projector_dashboard()
    assert shown >= board.size[0] * board.dpi - 1
    page.get_by_role("button", name="Allied coalition").click()
    page.get_by_text("Your move as the allied coalition").wait_for()
    page.get_by_text("A top-up payment (a contract for difference)").first.wait_for()
    assert sideways(page) == []
    assert cut_labels(page) == []
    page.screenshot(path="/tmp/game-face-phone.png")
    assert phone.errors == []


def test_on_a_projector_every_chart_text_is_at_least_12_px(projector):
    page = projector.page
    settled(page)
    assert sideways(page) == []
    shown = page.locator("img.game-charts").evaluate("i => i.clientWidth")
    board = projector_dashboard()
    game = Game("dumping", seed=1)
    game.compare(lever("governments.US.floor_price", COMPARE_LEVERS), 110)  # a ghost and a title
    game.step()
    board.png(game)
    texts = [t for t in board.figure.findobj(Text) if t.get_visible() and t.get_text()]
    smallest = min(t.get_fontsize() for t in texts)
    assert smallest / 72 * shown / board.size[0] >= 12
    # Every panel names its axes: the units on the y-axis and the quarter below.
    labels = {a.get_ylabel() for a in board.axes.values()}
    assert {"USD/kg", "%", "kt/yr", "t", "USD m", "producers"} <= labels
    assert all(board.axes[n].get_xlabel() == "quarter" for n in board.axes if n != "producers")
    page.screenshot(path="/tmp/game-face-projector.png")
    assert projector.errors == []


def test_after_a_round_the_page_shows_the_charts(projector):
    page = projector.page
    page.get_by_role("button", name="Dominant supplier", exact=True).click()
    play = page.get_by_role("button", name="Play round (Q1)")
    play.scroll_into_view_if_needed()
    assert page.locator("img.game-charts").evaluate("i => i.getBoundingClientRect().bottom") < 0
    play.click()
    page.get_by_role("button", name="Play round (Q2)").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # a smooth scroll
    top = page.locator("img.game-charts").evaluate("i => i.getBoundingClientRect().top")
    assert -5 <= top <= 100
    assert projector.errors == []


def test_compare_warns_before_its_replay_button(projector):
    page = projector.page
    panel = page.locator(".compare-panel")
    panel.locator(".v-select").first.click()
    page.get_by_role("option", name="US price floor", exact=True).click()
    note = panel.locator(".compare-note").first
    note.wait_for()
    assert "will change nothing" in note.inner_text()
    button = panel.get_by_role("button", name="Replay with this change")
    assert note.bounding_box()["y"] < button.bounding_box()["y"]
    assert projector.errors == []

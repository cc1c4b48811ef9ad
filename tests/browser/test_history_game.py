"""History as a game in Debian's Chromium: a player picks a historical episode, plays it to the
end, and the page names the observed series drawn on the charts and where they come from.

The charts are a picture, so the test reads the History panel under them, which carries each
observed line's legend label and its source in full (tests/test_history_game.py checks that the
legend in the picture has the same label and the line the episode's numbers).
"""

from __future__ import annotations

import time

from experiments.history.episodes import HISTORY_DIR, load_episode
from tests.browser.test_game_browser import wait_for_quarter

QUOTA = load_episode(HISTORY_DIR / "quota-2010.toml")


def test_a_player_plays_the_2010_quota_and_sees_the_observed_price_and_its_source(game):
    page = game.page
    started = time.perf_counter()
    assert "observed allied price" not in page.locator("body").inner_text()
    page.locator(".v-select").filter(has_text="Scenario").first.click()
    page.get_by_role("option", name=f"history: {QUOTA.title}", exact=True).click()
    page.get_by_text("Scenario: history-quota-2010").wait_for(timeout=20_000)
    panel = page.locator(".history-panel")
    panel.wait_for(timeout=20_000)
    assert f"History: {QUOTA.title}" in panel.inner_text()
    page.locator(".v-select").filter(has_text="Speed").first.click()
    page.get_by_role("option", name="full speed").click()
    before = game.charts()
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_quarter(game, 28, timeout=40)
    page.get_by_text("GAME OVER").wait_for()
    assert game.charts() != before  # the charts were drawn as it played

    text = page.locator(".history-panel").inner_text()
    assert "observed allied price (SOURCES §3.1)" in text  # the legend's label
    price = next(f for f in QUOTA.figures if f.id == "peak")
    assert price.source in text  # the source in full, from the episode file
    assert "Q11" in text and "Q24" in text  # the observed quarters
    assert "times this run's mean allied price over Q1-Q4" in text  # how a ratio is drawn
    assert QUOTA.period in text  # which quarter is which date
    assert game.errors == [] and game.off_host() == []
    assert time.perf_counter() - started < 60

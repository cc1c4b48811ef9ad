"""The game in Debian's Chromium, driven by Playwright, against the real server: what a new
user, a player and a facilitator see and do."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.browser.conftest import free_port, start_server, stop_server, visit
from viz.game import Game

BAD_TOML = 'name = "broken"\npreset = "ndpr"\n\n[supplier]\nbudget = -5\n'


def wait_for_quarter(game, quarter: int, timeout: float = 30.0) -> None:
    """Until the page shows this quarter or a later one."""
    deadline = time.monotonic() + timeout
    while game.quarter() < quarter:
        assert time.monotonic() < deadline, f"still at quarter {game.quarter()}"
        game.page.wait_for_timeout(50)


def test_the_page_loads_with_no_internet_no_errors_and_explains_itself(game):
    page = game.page
    body = page.locator("body").inner_text()
    assert "Mineral Markets Game" in body
    assert "Scenario: dumping" in body  # what is loaded
    assert "The dominant supplier floods the export markets from Q5" in body
    assert "You watch: the computer plays both sides" in body  # what the player controls
    assert "Red: quarters the allies flag dumping" in body  # how to read the charts
    assert "Prices, USD/kg" not in body  # panel titles are in the chart picture itself
    assert page.locator("img.game-charts").is_visible()
    assert game.errors == []
    assert game.off_host() == []
    assert any("/_solara/cdn/" in r for r in game.requests)  # the front end came from here


def test_a_new_user_has_a_dumping_scenario_running_with_moving_charts_in_three_clicks(game):
    page = game.page
    game.click(page.locator(".v-select").filter(has_text="Scenario").first)
    game.click(page.get_by_role("option", name="dumping", exact=True))
    before = game.charts()
    game.click(page.get_by_role("button", name="Play", exact=True))
    assert game.clicks == 3
    wait_for_quarter(game, 2)
    first = game.charts()
    wait_for_quarter(game, 4)
    assert len({before, first, game.charts()}) == 3  # the charts move quarter by quarter
    assert "Scenario: dumping" in page.locator("body").inner_text()
    wait_for_quarter(game, 7)
    same = Game("dumping", seed=1)  # the page's game, played here to quarter 7
    for _ in range(7):
        same.step()
    (flagged,) = [e for e in same.feed() if e.kind == "dumping_flagged"]
    assert f"Q{flagged.quarter} — {flagged.text}" in page.locator(".game-feed").inner_text()
    game.click(page.get_by_role("button", name="Pause", exact=True))
    assert game.errors == [] and game.off_host() == []


def test_a_40_quarter_game_at_full_speed_finishes_in_under_10_seconds(game):
    page = game.page
    page.locator(".v-select").filter(has_text="Speed").first.click()
    page.get_by_role("option", name="full speed").click()
    started = time.perf_counter()
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_quarter(game, 40, timeout=60)
    page.get_by_text("GAME OVER").wait_for()
    elapsed = time.perf_counter() - started
    print(f"\n40 quarters at full speed in the browser: {elapsed:.2f} s")
    assert elapsed < 10
    page.get_by_text("allied producers in business at the end").wait_for()
    assert game.errors == []


def test_a_player_takes_a_role_decides_and_sees_it_in_the_feed(game):
    page = game.page
    page.get_by_role("button", name="Dominant supplier", exact=True).click()
    page.get_by_text("Your move as the dominant supplier").wait_for()
    assert "You are the dominant supplier" in page.locator("body").inner_text()
    page.locator(".decision-panel .v-select").first.click()
    page.get_by_role("option", name="dump", exact=True).click()
    page.get_by_text("Changes for the next round: strategy: dump").wait_for()
    page.get_by_role("button", name="Play round (Q1)").click()
    wait_for_quarter(game, 1)
    page.get_by_role("button", name="Play round (Q2)").wait_for()
    feed = page.locator(".game-feed").inner_text()
    assert "Q1 — you (dominant supplier): strategy: dump" in feed
    assert "Start — you play the dominant supplier" in feed
    assert game.errors == []


def test_a_bad_scenario_file_shows_the_field_and_what_is_allowed(game, tmp_path):
    page = game.page
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_TOML)
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Upload scenario (.toml)").click()
    chooser.value.set_files(str(bad))
    alert = page.locator(".v-alert")
    alert.wait_for()
    assert (
        alert.inner_text()
        .strip()
        .endswith("bad.toml: supplier.budget: expected a number from 0 to 1e+06 (USD m), got -5.0")
    )
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Error:" not in body
    assert "Scenario: dumping" in body  # the loaded game is untouched
    assert game.errors == []


def test_the_facilitator_shocks_a_running_game_and_exports_charts_and_run(game):
    page = game.page
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_quarter(game, 1)
    page.locator(".facilitator-panel").get_by_role("button", name="Inject shock now").click()
    page.locator(".game-feed").get_by_text("Q2 — facilitator's shock: export ban").wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Charts (PNG)").click()
    assert download.value.suggested_filename == "dumping-seed1.png"
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as download:
        page.get_by_role("button", name="Run (CSV)").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("quarter,price_allied,price_world,price_home,dominant_share")
    assert len(lines) == 2  # the header and quarter 1
    assert game.errors == []


def test_solara_run_serves_the_same_game_offline(chromium):
    port = free_port()
    process, url = start_server(
        [sys.executable, "-m", "solara", "run", "viz/app.py", "--port", str(port), "--no-open"],
        port,
    )
    try:
        for game in visit(chromium, url):
            assert "Scenario: dumping" in game.page.locator("body").inner_text()
            game.page.get_by_role("button", name="Step", exact=True).click()
            wait_for_quarter(game, 1)
            assert game.errors == []
            assert game.off_host() == []
    finally:
        stop_server(process)

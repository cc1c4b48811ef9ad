"""Thirty players on one server at once, each in their own virtual kernel (what Solara gives each
browser tab), each playing a 40-quarter game at full speed: all finish, each sees its own game
and nobody else's, and the memory a player costs is reported."""

from __future__ import annotations

import gc
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import solara
from solara.server import kernel, kernel_context

from tests.test_viz import button, select, type_into
from viz.app import Page
from viz.game import Game
from viz.live import feed_html

USERS = 30


def rss_mb() -> float:
    """This process's resident memory (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


SCENARIOS = ["dumping", "coordinated-response", "export-restriction", "alliance-fracture"]


def expected(scenario: str, seed: int) -> tuple[str, str]:
    """What a player of this game must see at the end: the status line and the feed."""
    game = Game(scenario, seed=seed)
    while game.step():
        pass
    return game.status(), feed_html(game.feed())


class Player:
    """One browser tab: a virtual kernel holding a rendered page."""

    def __init__(self, number: int) -> None:
        self.seed = 100 + number
        self.scenario = SCENARIOS[number % len(SCENARIOS)]
        self.context = kernel_context.VirtualKernelContext(
            id=f"player-{number}", kernel=kernel.Kernel(), session_id=f"session-{number}"
        )
        self.rc = None
        self.seconds = 0.0

    def play(self) -> Player:
        started = time.perf_counter()
        with self.context:
            _, self.rc = solara.render(Page(), handle_error=False)
            select(self.rc, "Scenario").v_model = self.scenario
            type_into(
                self.rc.find(v.TextField, label="Seed (restarts the game)").widget, str(self.seed)
            )
            select(self.rc, "Speed").v_model = "full speed"
            self.play_button = button(self.rc, "Play")  # the same widget shows Pause
            self.play_button.click()
            # The live widgets, found once: finding walks the whole page.
            self.widgets = (
                self.rc.find(v.Html, class_="game-quarter").widget,
                self.rc.find(v.Html, class_="game-status").widget,
                self.rc.find(ipywidgets.HTML).widget,
            )
        deadline = time.monotonic() + 300
        while self.seen()[0] != "Quarter 40 of 40":
            assert time.monotonic() < deadline, f"player {self.seed} did not finish"
            time.sleep(0.05)
        self.seconds = time.perf_counter() - started
        while "Play" not in self.play_button.children:  # the play loop has stopped
            time.sleep(0.05)
        return self

    def seen(self) -> tuple[str, str, str]:
        """The quarter, status line and feed on this player's page."""
        quarter, status, feed = self.widgets
        return quarter.children[0], status.children[0], feed.value

    def close(self) -> None:
        with self.context:
            self.rc.close()


def test_thirty_players_at_once_each_finish_their_own_game_alone():
    Player(-1).play().close()  # warm up imports and caches before measuring memory
    gc.collect()
    before = rss_mb()
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        players = list(pool.map(lambda n: Player(n).play(), range(USERS)))
    gc.collect()
    per_player = (rss_mb() - before) / USERS
    print(
        f"\n{USERS} players, 40 quarters each at full speed: slowest finished in "
        f"{max(p.seconds for p in players):.1f} s; memory {per_player:.1f} MB a player"
    )
    seen = set()
    for player in players:
        quarter, status, feed = player.seen()
        want_status, want_feed = expected(player.scenario, player.seed)
        assert (quarter, status, feed) == ("Quarter 40 of 40", want_status, want_feed)
        seen.add((status, feed))
    assert len(seen) == USERS  # every game differs, and each player saw exactly their own
    assert per_player < 50
    for player in players:
        player.close()
    assert threading.active_count() < 10  # no play loop left behind

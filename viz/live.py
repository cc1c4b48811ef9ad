"""The parts of the page that change every quarter, as widgets the game sets directly.

Solara redraws a page by re-running the components whose state changed and then reconciling
every widget on the page with what they returned; on this page that walk alone costs more than
a quarter of the market and the charts together. So what moves every quarter (the charts, the
quarter, the flags, the status line and the event feed) lives in a handful of widgets made once
per tab and updated in place; the components re-render only when the game changes phase (a new
game, its first quarter, the end of a round or of the game) or the player acts.
"""

from __future__ import annotations

import html
import threading

import ipyvuetify as v
import ipywidgets

from market.feed import FeedEntry, by_rank
from viz.charts import Dashboard, projector_dashboard
from viz.game import Game

# The live charts are the projector's figure (9.6 in wide: shown across a 1280 px screen its
# smallest text is 12.6 px) drawn at 110 dots an inch rather than 132: a frame of 1,056 px
# instead of 1,267 costs a third fewer pixels to draw, pack and send at full speed, and the
# browser's scaling keeps the text's shown size.
LIVE_DPI = 110

FEED_STYLE = (
    "max-height: 340px; overflow-y: auto; overflow-x: hidden; overflow-wrap: anywhere; "
    "font-size: 0.9em; line-height: 1.5;"
)


# Where a firm's code comes from: its country, then a number (a producer's plant) or R (a
# recycler). Countries a scenario may name; another code reads as itself.
COUNTRY_ADJECTIVES = {
    "US": "US",
    "AU": "Australian",
    "JP": "Japanese",
    "MY": "Malaysian",
    "TH": "Thai",
    "CA": "Canadian",
    "EU": "European",
    "KR": "Korean",
    "IN": "Indian",
    "VN": "Vietnamese",
    "BR": "Brazilian",
    "GB": "British",
    "DE": "German",
    "FR": "French",
}


def firm_name(code: str) -> str:
    """'JP-R' -> 'Japanese recycler', 'AU-1' -> 'Australian producer'."""
    country, _, tail = code.partition("-")
    where = COUNTRY_ADJECTIVES.get(country, country)
    return f"{where} {'recycler' if tail.upper().startswith('R') else 'producer'}"


def firm_key(codes: list[str]) -> str:
    """The line under the feed that reads its firm codes: 'Firms: AU-1 Australian producer;
    JP-R Japanese recycler'."""
    if not codes:
        return ""
    return (
        "Firms: "
        + "; ".join(f"{c} {firm_name(c)}" for c in codes)
        + (" (a higher number: a new plant in that country)")
    )


# Routine news (an investment, new capacity: `market.feed` rank 3) shows greyed under the
# quarter's bankruptcies, shocks and decisions, so it never reads as the headline.
ROUTINE_RANK = 3
ROUTINE = ' class="feed-routine"'


def feed_html(feed: list[FeedEntry], empty: str = "Nothing yet: press Play.") -> str:
    """The event feed, newest quarter first and, within a quarter, what matters most first (a
    bankruptcy or a shock above investment news, which is greyed); the text is escaped (an
    uploaded scenario names events)."""
    lines = [
        f"<div{ROUTINE if e.rank >= ROUTINE_RANK else ''}>"
        f"<b>{'Start' if e.quarter <= 0 else f'Q{e.quarter}'}</b> — "
        f"{html.escape(e.text, quote=False)}</div>"
        for e in by_rank(feed)
    ]
    return "".join(lines) or f"<i>{html.escape(empty)}</i>"


def empty_feed(game: Game) -> str:
    """What the feed says before anything happened: how this game starts."""
    if game.role == "watch" or game.replay:
        return "Nothing yet: press Play."
    return "Nothing yet: set your levers, then press Play round."


class LiveView:
    """One tab's live widgets and the dashboard that draws its charts."""

    def __init__(self, board: Dashboard | None = None) -> None:
        self.lock = threading.Lock()
        self.board = board or Dashboard(dpi=LIVE_DPI, size=projector_dashboard().size)
        self.image = ipywidgets.Image(format="png", layout=ipywidgets.Layout(width="100%"))
        self.image.add_class("game-charts")
        self.quarter = v.Html(tag="span", children=[""], class_="game-quarter")
        self.flags = v.Html(tag="span", children=[""], class_="game-flags", style_="")
        self.status = v.Html(tag="div", children=[""], class_="game-status", style_="color: #555")
        self.feed = ipywidgets.HTML(value=feed_html([]), layout=ipywidgets.Layout(width="100%"))
        self.feed.add_class("game-feed")
        self._feed_seen: tuple[int, int] = (-1, -1)

    def refresh(self, game: Game) -> None:
        """Show the game as it stands; only what changed is sent to the browser."""
        with self.lock:
            image = self.board.png(game)
            if image is not self.image.value:
                self.image.value = image
            quarter = f"Quarter {game.quarter} of {game.quarters}"
            if self.quarter.children != [quarter]:
                self.quarter.children = [quarter]
            flags, colour = self._flags(game)
            if self.flags.children != [flags]:
                self.flags.children = [flags]
                self.flags.style_ = f"color: {colour}; font-weight: bold"
            status = game.status()
            if self.status.children != [status]:
                self.status.children = [status]
            feed = game.feed()
            seen = (game.generation, len(feed))
            if seen != self._feed_seen:
                self.feed.value = feed_html(feed, empty_feed(game))
                self._feed_seen = seen

    @staticmethod
    def _flags(game: Game) -> tuple[str, str]:
        if game.finished:
            return "GAME OVER", "#333"
        latest = game.model.recorder.latest
        if not latest:
            return "", "#333"
        words = []
        if latest["dumping"]:
            words.append("DUMPING FLAGGED")
        if latest["response_active"]:
            words.append("RESPONSE ACTIVE")
        colour = "#d62728" if latest["dumping"] else "#2ca02c"
        return " · ".join(words), colour

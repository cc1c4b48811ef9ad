"""The Mineral Markets Game in the browser: `minerals ui`, or `solara run viz/app.py`.

Each browser tab builds its own `Game` (and so its own market) inside the page component;
nothing about a game lives at module level, so two tabs never share a market.

Mesa's SolaraViz is the frame the parts come from: its parameter controls (`UserInputs`) are
the players' levers and the Compare control, and the play/step/reset controls follow its
ModelController. The page does not use the SolaraViz component whole: its layout has no place
for a scenario upload, a player's rounds or a facilitator's shocks, and its controller keeps
stepping whichever model is current when a new one replaces it mid-play.

The same server serves the workshop room's pages under /room (`viz.room.pages`): create a
room at /room/new, join at /room, a seat, the console and the projector by their links.
"""

from __future__ import annotations

import solara

from viz.components import GameView
from viz.game import Game
from viz.room.pages import ROUTES
from viz.room.reconnect import Layout as RoomLayout
from viz.settings import configure

configure()


@solara.component
def Page() -> None:
    game = solara.use_memo(Game, [])  # one per tab
    solara.Title("Mineral Markets Game")
    GameView(game)


@solara.component
def Layout(children: list | None = None) -> None:
    """Solara's page frame without its tabs between routes: each page is reached by its link."""
    solara.AppLayout(children=children or [], navigation=False)


routes = [
    solara.Route("/", component=Page, layout=Layout),
    solara.Route("room", children=ROUTES, layout=RoomLayout),  # reloads after a restart
]

"""The History panel: under the charts of a game that plays a historical episode, what
happened, which quarter is which date, and each observed line with its source in full and how it
is drawn (the data are the validation's, `viz/history.py`). Other games show nothing."""

from __future__ import annotations

import solara

from viz.game import Game
from viz.history import history_of

STYLE = {"font-size": "0.85em", "color": "#333"}


def history_lines(game: Game) -> list[str]:
    """The panel's text, line by line: empty when the game plays no episode."""
    played = history_of(game)
    if played is None or played.episode is None:
        return []
    episode = played.episode
    lines = [
        f"History: {episode.title} ({episode.role} episode). {episode.period}.",
        " ".join(episode.summary.split()),
    ]
    if played.variant != "base":
        lines.append(f"Played as: {episode.variants[played.variant].label}.")
    lines.append(
        "The black lines on the charts are what was observed (diamonds at the observations, a "
        "dashed vertical line for an event), from the validation's episode file "
        "(market/scenarios/history/"
        f"{episode.path.name}; docs/validation.md):"
    )
    for item in played.observed:
        lines.append(f"{item.label}: {item.how} Source: {item.source}.")
    return lines


@solara.component
def HistoryPanel(game: Game, setup: solara.Reactive[int]) -> None:
    """The episode a game plays and the sources of its observed lines (re-rendered when the
    game is replaced, so on a new scenario choice)."""
    setup.value  # noqa: B018
    lines = history_lines(game)
    if not lines:
        return
    with solara.Column(gap="2px", classes=["history-panel"]):
        solara.Text(lines[0], style={**STYLE, "font-weight": "bold"})
        for line in lines[1:]:
            solara.Text(line, style=STYLE, classes=["history-observed"])

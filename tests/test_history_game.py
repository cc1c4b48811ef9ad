"""History as a game: every validation episode is a scenario choice whose charts draw the
observed series, in the game's units at the episode's quarters, labelled with their source.

The expected lines are worked out here from the episode files as the validation reads them
(`experiments.history.episodes`), not from viz/history.py's own arithmetic.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from experiments.history.episodes import BASE, episode_paths, load_episode
from experiments.history.runner import play_episode
from viz.charts import TRACES, Dashboard, export_png
from viz.game import Game
from viz.history import PREFIX, history_of
from viz.history_panel import history_lines

EPISODES = [load_episode(p) for p in episode_paths()]
SCALE = {t.series: t.scale for t in TRACES}
PANEL = {t.series: t.panel for t in TRACES}


def played(episode, variant=BASE, role="watch"):
    game = Game()
    key = PREFIX + episode.title
    if variant != BASE:
        key += f" ({episode.variants[variant].label})"
    game.choose_scenario(game.choices[key].source)
    if role != "watch":
        game.set_role(role)
    while not game.finished:
        if not game.step():
            game.play_round()
    board = Dashboard()
    board.png(game)
    return game, board


def expected_lines(episode, variant, arrays):
    """(panel, x, y) of every observation the game's panels can show, from the episode file."""
    out = []
    for chart in episode.charts:
        if chart.run != variant or not chart.points:
            continue
        x = np.array([p[0] for p in chart.points])
        if chart.agent:  # a firm's event: a vertical line at its quarter
            out.append(("capacity", np.repeat(x, 2), np.tile([0.0, 1.0], len(x))))
            continue
        if chart.series not in SCALE:
            continue
        y = np.array([p[1] for p in chart.points])
        if chart.normalise:
            lo, hi = chart.normalise
            y = y * arrays[chart.series][lo - 1 : hi].mean()
        out.append((PANEL[chart.series], x, y * SCALE[chart.series]))
    for fig in episode.figures:
        if fig.run == variant and fig.measure == "mean" and fig.series in SCALE:
            x = np.arange(fig.window[0], fig.window[1] + 1, dtype=float)
            out.append((PANEL[fig.series], x, np.full(len(x), fig.observed * SCALE[fig.series])))
    return out


def drawn(board):
    """(panel, x, y, label) of the observed lines on a dashboard."""
    panel_of = {id(axis): name for name, axis in board.axes.items()}
    return [
        (panel_of[id(line.axes)], *np.asarray(line.get_data(), float), line.get_label())
        for _, line in board.overlay.lines
    ]


def legend_texts(board):
    return {name: [t.get_text() for t in leg.get_texts()] for name, leg in board.legends.items()}


@pytest.mark.parametrize("episode", EPISODES, ids=[e.name for e in EPISODES])
def test_each_episode_draws_its_observed_series(episode):
    game, board = played(episode)
    expected = expected_lines(episode, BASE, game.arrays())
    lines = drawn(board)
    assert expected, f"{episode.name}: nothing observed on the game's panels"
    assert len(lines) == len(expected)
    legends = legend_texts(board)
    sources = " ".join(f.source for f in episode.figures)
    for (panel, x, y), (got_panel, got_x, got_y, label) in zip(expected, lines, strict=True):
        assert got_panel == panel
        np.testing.assert_allclose(got_x, x)
        np.testing.assert_allclose(got_y, y)
        assert label.startswith("observed ")
        assert label in legends[panel]  # in the panel's legend
        cited = re.search(r"\((.*)\)$", label).group(1)
        for section in re.findall(r"§[\d.]+", cited):
            assert section in sources  # the source is the episode's
    # The page names every source in full.
    text = "\n".join(history_lines(game))
    assert episode.title in text
    for item in history_of(game).observed:
        assert item.source in text and item.label in text


@pytest.mark.parametrize("episode", EPISODES, ids=[e.name for e in EPISODES])
def test_the_game_plays_the_validation_run(episode):
    """Watching an episode is the validation's run of it for that seed: the same series at
    the same quarters, so the observed points sit where the validation compares them."""
    game, _ = played(episode)
    run = play_episode(episode, [game.seed]).runs[BASE][0]
    assert game.quarters == run.quarters
    for name in ("price_allied", "price_home", "dominant_share", "allied_producers_active"):
        np.testing.assert_allclose(game.arrays()[name], np.asarray(run.series(name), float))


def test_the_quota_ratio_is_drawn_against_this_runs_base_price():
    episode = next(e for e in EPISODES if e.name == "quota-2010")
    game, board = played(episode)
    (_, x, y, _label) = drawn(board)[0]
    base = game.arrays()["price_allied"][:4].mean()
    np.testing.assert_allclose(x, [11, 24])
    np.testing.assert_allclose(y, [12.0 * base, 1.8 * base])
    # The price axis holds the observed peak.
    assert board.axes["price"].get_ylim()[1] > 12.0 * base


def test_a_variant_with_observations_is_its_own_choice():
    episode = next(e for e in EPISODES if e.name == "floor-2025")
    game, board = played(episode, "feed")
    assert game.quarters == 8  # the variant's changes are in
    [(panel, x, y)] = expected_lines(episode, "feed", game.arrays())
    [(got_panel, got_x, got_y, label)] = drawn(board)
    assert (got_panel, label) == (panel, "observed dominant's home price (SOURCES §3.4)")
    np.testing.assert_allclose(got_x, x)
    np.testing.assert_allclose(got_y, y)
    np.testing.assert_allclose(got_x, [2])
    np.testing.assert_allclose(got_y, 1.4 * game.arrays()["price_home"][0])
    assert "Played as: the dominant supplier's output" in "\n".join(history_lines(game))


def test_a_role_can_play_an_episode_and_still_sees_history():
    episode = next(e for e in EPISODES if e.name == "market-2024")
    game, board = played(episode, role="coalition")
    assert game.finished and game.score() is not None
    labels = [label for *_, label in drawn(board)]
    assert "observed allied price (SOURCES §3.3, §3.4)" in labels
    assert "observed dominant supplier (all sales), mean Q1-Q4 (SOURCES §3.6)" in labels
    assert export_png(game, dpi=40)[:4] == b"\x89PNG"


def test_other_games_draw_nothing_observed():
    game = Game()
    while game.step():
        pass
    board = Dashboard()
    board.png(game)
    assert board.overlay is None and history_lines(game) == []
    assert not any("observed" in t for texts in legend_texts(board).values() for t in texts)
    # From a history game back to a scenario: the observed lines go.
    episode = EPISODES[0]
    game.choose_scenario(game.choices[PREFIX + episode.title].source)
    board.png(game)
    assert board.overlay is not None
    game.choose_scenario(game.choices["dumping"].source)
    board.png(game)
    assert board.overlay is None
    assert not any("observed" in t for texts in legend_texts(board).values() for t in texts)

"""History as a game: a historical episode played in the browser with what was observed drawn
beside the simulated lines.

The episodes are the validation's own (`experiments.history.episodes`, read from
`market/scenarios/history/*.toml`): nothing here holds a number of its own. An episode becomes
a scenario choice named "history: <title>" (its scenario as the validation plays it, variants'
changes and events included), and its observations become lines on the game's panels:

- a chart's observed points (`[[charts]] points`) on a series the game draws, at their quarters;
  a point given relative to the run's own mean over some quarters (`normalise`, as the quota's
  "12x the 2009 price") is drawn as that ratio times this run's mean over those quarters, which
  is how the validation compares them, once those quarters have been played;
- a figure's observed mean of a series the game draws (`measure = "mean"`), drawn flat across
  the quarters of its window;
- a firm's observed point (Molycorp's cash at zero: Chapter 11), which the game has no panel
  for, as a vertical line at its quarter on the producers panel.

Every line is labelled "observed <what> (<source>)" with the source's SOURCES sections; the
History panel (`viz/history_panel.py`) gives each in full and says how it is drawn.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from experiments.history.episodes import BASE, Chart, Episode, episode_paths, load_episode
from market import Scenario, load_scenario
from viz.game import Choice

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

    from viz.game import Game

PREFIX = "history: "
OBSERVED_COLOUR = "#000000"
MARK_PANEL = "capacity"  # a firm's observed event: the panel with the producers in business


@dataclass(frozen=True)
class Observed:
    """One observed line: where it goes, its points in the observation's own terms, and how
    they become the game's units."""

    panel: str  # a Dashboard panel: price, shares, capacity, ...
    series: str  # the game's series it is read against ("" for a mark)
    what: str  # "allied price", "mean allied price, Q1-Q4", ...
    source: str  # the full source text of the episode file
    how: str  # how it is drawn, in a sentence
    quarters: tuple[float, ...]
    values: tuple[float, ...]  # observed, in the episode's terms (USD/kg, a share, a ratio)
    labels: tuple[str, ...] = ()
    scale: float = 1.0  # the game trace's scale (a share drawn in %)
    normalise: tuple[int, int] | None = None  # values are ratios to the run's mean over these
    mark: bool = False  # a vertical line at each quarter, no values

    @property
    def label(self) -> str:
        return f"observed {self.what} ({short_source(self.source)})"

    def xy(self, series: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The line in the game's units over the run so far: empty while a ratio's base
        quarters have not been played."""
        x = np.asarray(self.quarters, float)
        if self.mark:
            return np.repeat(x, 2), np.tile([0.0, 1.0], len(x))  # axes fraction: full height
        y = np.asarray(self.values, float)
        if self.normalise is not None:
            lo, hi = self.normalise
            run = np.asarray(series.get(self.series, ()), float)
            if len(run) < hi:
                return np.zeros(0), np.zeros(0)
            y = y * float(run[lo - 1 : hi].mean())
        return x, y * self.scale


@dataclass
class HistoryChoice(Choice):
    """A scenario choice that is a historical episode (one of its variants)."""

    episode: Episode | None = None
    variant: str = BASE
    observed: list[Observed] = field(default_factory=list)


def short_source(source: str) -> str:
    """'SOURCES §3.1: Rare Element ... [V]; NYT via AFR [V]' -> 'SOURCES §3.1'; a source
    with no SOURCES section keeps its first part ('DESIGN anchor')."""
    sections = list(dict.fromkeys(re.findall(r"§\s*(\d+(?:\.\d+)*)", source)))
    if sections:
        return "SOURCES " + ", ".join(f"§{s}" for s in sections)
    return re.split(r"[;:]", source, maxsplit=1)[0].strip()


def _traces() -> dict[str, tuple[str, float, str]]:
    """The game's charted series: name -> (panel, scale, label); a price's label names it a
    price (the legend's short "dominant's home" reads "dominant's home price" here)."""
    from viz.charts import TRACES

    def named(panel: str, label: str) -> str:
        plain = panel != "price" or "price" in label or "cost" in label
        return label if plain else f"{label} price"

    return {t.series: (t.panel, t.scale, named(t.panel, t.label)) for t in TRACES}


def _chart_source(episode: Episode, chart: Chart) -> str:
    """A chart carries no source of its own: its observations are the figures' of the same
    run and series (or firm)."""
    same = [
        f.source
        for f in episode.figures
        if f.run == chart.run
        and (
            (chart.series and f.series == chart.series) or (chart.agent and f.agent == chart.agent)
        )
    ]
    if not same:
        same = [f.source for f in episode.figures if f.run == chart.run]
    return "; ".join(dict.fromkeys(same))


def _quarters_text(quarters: tuple[int, int]) -> str:
    lo, hi = quarters
    return f"Q{lo}" if lo == hi else f"Q{lo}-Q{hi}"


def observed_lines(episode: Episode, variant: str = BASE) -> list[Observed]:
    """What was observed in an episode's run `variant`, as lines on the game's panels."""
    traces = _traces()
    out: list[Observed] = []
    for chart in episode.charts:
        if chart.run != variant or not chart.points:
            continue
        source = _chart_source(episode, chart)
        quarters = tuple(p[0] for p in chart.points)
        values = tuple(p[1] for p in chart.points)
        labels = tuple(p[2] for p in chart.points)
        if chart.agent:
            said = "; ".join(f"Q{q:g} {label}" for q, label in zip(quarters, labels, strict=True))
            out.append(
                Observed(
                    MARK_PANEL,
                    "",
                    f"{chart.agent}: {labels[0]}",
                    source,
                    f"{chart.title}: {', '.join(f'{v:g}' for v in values)} ({said}). The game "
                    "has no chart of one firm's "
                    f"{chart.column}, so this is a vertical line at that quarter on the "
                    "producers panel.",
                    quarters,
                    values,
                    labels,
                    mark=True,
                )
            )
            continue
        if chart.series not in traces:
            continue
        panel, scale, name = traces[chart.series]
        if chart.normalise:
            how = (
                f"{chart.title}: observed ratios {', '.join(f'{v:g}' for v in values)} at "
                f"{', '.join(f'Q{q:g}' for q in quarters)}, drawn as the ratio times this run's "
                f"mean {name} over {_quarters_text(chart.normalise)} (as the validation "
                "compares them), once those quarters are played."
            )
        else:
            how = (
                f"{chart.title}: observed {', '.join(f'{v:g}' for v in values)} at "
                f"{', '.join(f'Q{q:g}' for q in quarters)}, in the chart's units."
            )
        out.append(
            Observed(
                panel,
                chart.series,
                name,
                source,
                how + " " + "; ".join(labels),
                quarters,
                values,
                labels,
                scale=scale,
                normalise=chart.normalise,
            )
        )
    for fig in episode.figures:
        if fig.run != variant or fig.measure != "mean" or fig.series not in traces:
            continue
        panel, scale, name = traces[fig.series]
        lo, hi = fig.window
        quarters = tuple(float(q) for q in range(lo, hi + 1))
        unit = "%" if scale == 100.0 else fig.unit
        out.append(
            Observed(
                panel,
                fig.series,
                f"{name}, mean {_quarters_text(fig.window)}",
                fig.source,
                f"{fig.label}: {fig.observed_text}; the observed mean "
                f"({fig.observed * scale:g} {unit}) drawn flat across "
                f"{_quarters_text(fig.window)}.",
                quarters,
                (fig.observed,) * len(quarters),
                scale=scale,
            )
        )
    return out


@lru_cache(maxsize=1)
def _episodes() -> tuple[Episode, ...]:
    return tuple(load_episode(p) for p in episode_paths())


def episode_scenario(episode: Episode, variant: str = BASE) -> Scenario:
    """The scenario of an episode's run as the validation plays it (its variant's changes and
    events in), named after the episode, ready for a game."""
    chosen = episode.variants[variant]
    spec = load_scenario(chosen.tree, chosen.changes)
    name = f"history-{episode.name}" + ("" if variant == BASE else f"-{variant}")
    params = copy.deepcopy(spec.params)
    params["name"] = name
    summary = " ".join(episode.summary.split())
    params["description"] = f"{episode.title} ({episode.period}). {summary}"
    return Scenario(name, params, list(spec.events), spec.source, checked=True)


@lru_cache(maxsize=1)
def _built() -> tuple[HistoryChoice, ...]:
    out = []
    for episode in _episodes():
        for variant in episode.variants:
            observed = observed_lines(episode, variant)
            if variant != BASE and not observed:
                continue
            key = PREFIX + episode.title
            if variant != BASE:
                key += f" ({episode.variants[variant].label})"
            scenario = episode_scenario(episode, variant)
            description = scenario.params["description"]
            out.append(HistoryChoice(key, scenario, description, episode, variant, observed))
    return tuple(out)


def history_choices() -> dict[str, HistoryChoice]:
    """Every episode as a scenario choice, and each variant of it that has observations on
    the game's panels. The scenarios are built once and shared: a game copies its scenario
    before it plays it (`load_scenario`), and a game's choice is the one whose source is the
    game's (`history_of`)."""
    return {c.key: dataclasses.replace(c) for c in _built()}


def history_of(game: Game) -> HistoryChoice | None:
    """The episode a game plays, if it plays one (a room's market, drawn by the same charts,
    has no choices: it plays none)."""
    source = getattr(game, "source", None)
    for choice in getattr(game, "choices", {}).values():
        if isinstance(choice, HistoryChoice) and choice.source is source:
            return choice
    return None


# --- on the charts --------------------------------------------------------------------------------


class Overlay:
    """The observed lines of a game's episode on a Dashboard's panels (see `Dashboard.build`):
    drawn black, diamonds at the observations, in the legends as "observed ... (source)"."""

    def __init__(self, axes: dict[str, Axes], observed: list[Observed], live: bool) -> None:
        self.observed = observed
        self.lines: list[tuple[Observed, Line2D]] = []
        for item in observed:
            axis = axes[item.panel]
            if item.mark:
                (line,) = axis.plot(
                    [],
                    [],
                    color=OBSERVED_COLOUR,
                    ls="--",
                    lw=1.2,
                    label=item.label,
                    transform=axis.get_xaxis_transform(),
                    animated=live,
                )
            else:
                (line,) = axis.plot(
                    [],
                    [],
                    color=OBSERVED_COLOUR,
                    ls=":" if item.normalise is not None or len(item.labels) else "-",
                    lw=1.4,
                    marker="D",
                    ms=4,
                    label=item.label,
                    animated=live,
                )
            self.lines.append((item, line))

    def handles(self, panel: str) -> list[Line2D]:
        return [line for item, line in self.lines if item.panel == panel]

    def update(self, series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Set the lines for the run so far; the values drawn, by panel, for the axes."""
        drawn: dict[str, list[float]] = {}
        for item, line in self.lines:
            x, y = item.xy(series)
            line.set_data(x, y)
            if not item.mark:
                drawn.setdefault(item.series, []).extend(y / item.scale)
        return {name: np.asarray(v, float) for name, v in drawn.items()}

    def artists(self) -> list[tuple[Axes, Line2D]]:
        return [(line.axes, line) for _, line in self.lines]

    def remove(self) -> None:
        for _, line in self.lines:
            with contextlib.suppress(ValueError, NotImplementedError):  # figure cleared already
                line.remove()
        self.lines = []


def overlay(axes: dict[str, Axes], game: Game, live: bool) -> Overlay | None:
    """The observed lines for a game that plays an episode, else None."""
    played = history_of(game)
    if played is None or not played.observed:
        return None
    return Overlay(axes, played.observed, live)

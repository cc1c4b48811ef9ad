"""The measures a figure can use: each reduces one played run to a number.

A run is a `market.play.Run`, read through its recorder (`market/recorder.py`): quarterly
series (`recorder.series`: the indicators, the ledger and `market.metrics.SERIES`, such as
`market_size` and `retained_allied`), per-firm panels of shape (quarters, firms)
(`recorder.firms`: `alive`, `idle` and `bankrupt` give the quarters a firm ran, stood idle,
closed or went bankrupt; `capital_committed` the capital of the projects it started), and
the event feed, for the lag between two kinds of entry. docs/validation.md lists the measures for
episode authors; a test checks that it names every one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from experiments.history.episodes import Figure
    from market.play import Run


# --- reading a run --------------------------------------------------------------------------------


def series(run: Run, name: str) -> np.ndarray:
    """A recorded series over quarters 1..n as numbers (a flag as 0 or 1)."""
    return np.asarray(run.series(name), dtype=float)


def firm_series(run: Run, agent: str, column: str) -> np.ndarray:
    """One firm's column of `market.recorder.FIRM_COLUMNS` over quarters 1..n."""
    return run.recorder.firm(agent, column)


def bankrupt_quarter(run: Run, agent: str) -> int | None:
    """The quarter the firm went bankrupt (cash and backers gone), or None."""
    out = np.flatnonzero(firm_series(run, agent, "bankrupt") > 0)
    return int(out[0]) + 1 if out.size else None


def exit_quarter(run: Run, agent: str) -> int | None:
    """The quarter the firm left business, closed or bankrupt, or None."""
    out = np.flatnonzero(firm_series(run, agent, "alive") <= 0)
    return int(out[0]) + 1 if out.size else None


def event_quarter(run: Run, kind: str, after: int = 0) -> int | None:
    """The first quarter from `after` on with a feed entry of `kind`, or None."""
    hits = [e.quarter for e in run.model.feed if e.kind == kind and e.quarter >= after]
    return min(hits) if hits else None


def _window(run: Run, window: Sequence[int]) -> slice:
    first, last = int(window[0]), min(int(window[1]), run.quarters)
    return slice(first - 1, last)


def _started(run: Run, fig: Figure) -> np.ndarray:
    """USD m of the projects the figure's firm started, by quarter."""
    return firm_series(run, fig.agent, "capital_committed")


# --- the measures ---------------------------------------------------------------------------------


def _series(run: Run, fig: Figure) -> np.ndarray:
    return series(run, fig.series)


def _mean(run: Run, fig: Figure) -> float:
    return float(_series(run, fig)[_window(run, fig.window)].mean())


def _max(run: Run, fig: Figure) -> float:
    return float(_series(run, fig)[_window(run, fig.window)].max())


def _min(run: Run, fig: Figure) -> float:
    return float(_series(run, fig)[_window(run, fig.window)].min())


def _ratio(run: Run, fig: Figure) -> float:
    s = _series(run, fig)
    return float(s[_window(run, fig.window)].mean() / s[_window(run, fig.base)].mean())


def _change(run: Run, fig: Figure) -> float:
    return _ratio(run, fig) - 1.0


def _peak(run: Run, fig: Figure) -> tuple[int, float]:
    s = _series(run, fig)
    part = s[_window(run, fig.window)]
    i = int(np.argmax(part))
    return fig.window[0] + i, float(part[i])


def _peak_ratio(run: Run, fig: Figure) -> float:
    return _peak(run, fig)[1] / float(_series(run, fig)[_window(run, fig.base)].mean())


def _peak_delay(run: Run, fig: Figure) -> float:
    return float(_peak(run, fig)[0] - fig.window[0])


def _after_peak(run: Run, fig: Figure) -> float:
    quarter, peak = _peak(run, fig)
    s = _series(run, fig)
    lo, hi = quarter + fig.lag[0], quarter + fig.lag[1]
    if lo > run.quarters:
        return math.nan
    return float(s[_window(run, (lo, hi))].mean() / peak)


def _per_year(run: Run, fig: Figure) -> float:
    s = _series(run, fig)
    first, last = fig.window[0], min(fig.window[1], run.quarters)
    years = (last - first) / 4.0
    scale = float(series(run, fig.per)[_window(run, fig.window)].mean())
    return float((s[last - 1] - s[first - 1]) / years / scale)


def _max_loss_per_year(run: Run, fig: Figure) -> float:
    s = _series(run, fig)
    first, last = fig.window[0], min(fig.window[1], run.quarters)
    losses = [1.0 - s[q - 1] / s[q - 5] for q in range(max(first, 5), last + 1) if s[q - 5] > 0]
    return float(max(losses, default=0.0))


def _quarterly_move(run: Run, fig: Figure) -> float:
    part = _series(run, fig)[_window(run, fig.window)]
    part = part[part > 0]
    return float(np.median(np.abs(np.diff(np.log(part))))) if part.size > 1 else math.nan


def _first_investment(run: Run, fig: Figure) -> int | None:
    hits = np.flatnonzero(_started(run, fig)[_window(run, fig.window)] > 0)
    return int(hits[0]) + fig.window[0] if hits.size else None


def _alive(run: Run, fig: Figure) -> float:
    last = min(fig.window[1], run.quarters)
    return float(firm_series(run, fig.agent, "alive")[last - 1] > 0)


def _bankrupt(run: Run, fig: Figure) -> float:
    q = bankrupt_quarter(run, fig.agent)
    return float(q is not None and fig.window[0] <= q <= fig.window[1])


def _bankrupt_quarter(run: Run, fig: Figure) -> float:
    q = bankrupt_quarter(run, fig.agent)
    return math.inf if q is None else float(q)


def _years_to_bankruptcy(run: Run, fig: Figure) -> float:
    start = _first_investment(run, fig)
    end = bankrupt_quarter(run, fig.agent)
    if start is None:
        return math.nan
    return math.inf if end is None else (end - start) / 4.0


def _exited(run: Run, fig: Figure) -> float:
    q = exit_quarter(run, fig.agent)
    return float(q is not None and fig.window[0] <= q <= fig.window[1])


def _output(run: Run, fig: Figure) -> float:
    return float(firm_series(run, fig.agent, "sold")[_window(run, fig.window)].mean() * 4.0)


def _idle_quarters(run: Run, fig: Figure) -> float:
    return float((firm_series(run, fig.agent, "idle")[_window(run, fig.window)] > 0).sum())


def _lag(run: Run, fig: Figure) -> float:
    start = event_quarter(run, fig.event, fig.window[0])
    if start is None or start > fig.window[1]:
        return math.nan
    end = event_quarter(run, fig.until, start)
    return math.inf if end is None else float(end - start)


def _shortfall(run: Run, fig: Figure) -> float:
    return 1.0 - _ratio(run, fig)


def _capex(run: Run, fig: Figure) -> float:
    return float(_started(run, fig)[_window(run, fig.window)].sum())


def _projects_while(run: Run, fig: Figure) -> float:
    flag = series(run, fig.flag) > 0
    sl = _window(run, fig.window)
    return float(((_started(run, fig)[sl] > 0) & flag[sl]).sum())


@dataclass(frozen=True)
class Measure:
    """A named way to reduce one run to a number; `needs` lists the figure keys it reads."""

    compute: Callable[[Run, Figure], float]
    needs: tuple[str, ...]
    doc: str


MEASURES: dict[str, Measure] = {
    "mean": Measure(_mean, ("series", "window"), "mean of `series` over `window`"),
    "max": Measure(_max, ("series", "window"), "highest value of `series` in `window`"),
    "min": Measure(_min, ("series", "window"), "lowest value of `series` in `window`"),
    "ratio": Measure(_ratio, ("series", "window", "base"), "mean over `window` / mean over `base`"),
    "change": Measure(
        _change, ("series", "window", "base"), "mean over `window` / mean over `base` - 1"
    ),
    "peak_ratio": Measure(
        _peak_ratio, ("series", "window", "base"), "highest value in `window` / mean over `base`"
    ),
    "peak_delay": Measure(
        _peak_delay,
        ("series", "window"),
        "quarters from the start of `window` to its highest value",
    ),
    "after_peak": Measure(
        _after_peak,
        ("series", "window", "lag"),
        "mean over the quarters `lag` after the peak in `window`, / the peak",
    ),
    "per_year": Measure(
        _per_year,
        ("series", "window", "per"),
        "change of `series` across `window`, per year, / mean of `per` over `window`",
    ),
    "max_loss_per_year": Measure(
        _max_loss_per_year,
        ("series", "window"),
        "largest fall of `series` over any four quarters in `window`, as a share",
    ),
    "quarterly_move": Measure(
        _quarterly_move,
        ("series", "window"),
        "median size of a quarter's change of `series` in `window`, |log(x_t / x_t-1)|",
    ),
    "shortfall": Measure(
        _shortfall, ("series", "window", "base"), "1 - mean over `window` / mean over `base`"
    ),
    "lag": Measure(
        _lag,
        ("event", "until", "window"),
        "quarters from the first feed entry of kind `event` in `window` to the next of kind "
        "`until` (none: inf)",
    ),
    "alive": Measure(_alive, ("agent", "window"), "1 if firm `agent` is in business at the end"),
    "exited": Measure(
        _exited, ("agent", "window"), "1 if firm `agent` closed or went bankrupt in `window`"
    ),
    "output": Measure(
        _output, ("agent", "window"), "firm `agent`'s mean output over `window`, t/yr"
    ),
    "idle_quarters": Measure(
        _idle_quarters,
        ("agent", "window"),
        "quarters in `window` firm `agent`'s plant stood idle or was restarting",
    ),
    "bankrupt": Measure(
        _bankrupt, ("agent", "window"), "1 if firm `agent` went bankrupt in `window`"
    ),
    "bankrupt_quarter": Measure(
        _bankrupt_quarter, ("agent",), "the quarter firm `agent` went bankrupt (never: inf)"
    ),
    "years_to_bankruptcy": Measure(
        _years_to_bankruptcy,
        ("agent", "window"),
        "years from the firm's first investment in `window` to its bankruptcy (never: inf)",
    ),
    "capex": Measure(
        _capex, ("agent", "window"), "USD m of projects firm `agent` started in `window`"
    ),
    "projects_while": Measure(
        _projects_while,
        ("agent", "window", "flag"),
        "projects firm `agent` started in `window` in quarters when `flag` was set",
    ),
}

"""The plots of a sweep's analysis: each metric against each parameter, a heat map over two
parameters, and the sensitivity indices as bars. Drawn with matplotlib's object interface
(no global state), imported only when plots are asked for.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from experiments.sweeps.analysis import CONF_LEVEL, value_label

if TYPE_CHECKING:
    from experiments.sweeps.analysis import Analysis
    from experiments.sweeps.spec import SweepSpec

MAX_LINES = 8  # a grid's second parameter gets one line per value up to this many
MAX_GROUPS = 25  # more distinct x values than this are binned for the bands
BINS = 12


def write_plots(
    result: Analysis, metrics: list[str], runs: pd.DataFrame, folder: Path
) -> list[Path]:
    """Every plot of the analysis as a PNG in `folder` (created); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir()
    spec = result.spec
    factors = list(spec.factors)
    ok = runs[runs["status"] == "ok"]
    made = []
    for metric in metrics:
        if ok[metric].notna().sum() == 0:
            continue
        for factor in factors:
            made.append(_line_plot(spec, ok, metric, factor, folder))
        pair = _heat_pair(result, metric, factors)
        if pair is not None:
            made.append(_heat_map(ok, metric, pair, folder))
        if result.indices is not None and (result.indices["metric"] == metric).any():
            made.append(_index_bars(spec, result.indices, metric, folder))
    return made


def _new_figure(width: float = 7.0, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _groups(x: pd.Series) -> tuple[pd.Series, bool]:
    """Group x by value, or by quantile bin when it takes too many values."""
    if x.nunique() <= MAX_GROUPS:
        return x, False
    edges = np.unique(np.quantile(x, np.linspace(0, 1, BINS + 1)))
    bins = pd.cut(x, edges, include_lowest=True)
    centres = x.groupby(bins, observed=True).transform("mean")
    return centres, True


def _mean_band(ax: Any, frame: pd.DataFrame, x: str, metric: str, label: str | None) -> None:
    keys, _ = _groups(frame[x])
    stats = frame[metric].groupby(keys).agg(["mean", "std"]).sort_index()
    sd = stats["std"].fillna(0.0)
    line = ax.plot(stats.index, stats["mean"], marker="o", ms=3, label=label)[0]
    ax.fill_between(
        stats.index, stats["mean"] - sd, stats["mean"] + sd, color=line.get_color(), alpha=0.18
    )


def _line_plot(spec: SweepSpec, ok: pd.DataFrame, metric: str, factor: str, folder: Path) -> Path:
    """The metric against one parameter: mean over runs at each value (or bin), with a band of
    plus or minus one standard deviation. In a grid with one other varying parameter of few
    values, one line per value of it; otherwise the other parameters are averaged over."""
    fig = _new_figure()
    ax = fig.add_subplot()
    ok, ticks = _numeric_axis(ok, factor)
    if ticks is not None:
        ax.set_xticks(range(len(ticks)), ticks)
    others = [f for f in spec.factors if f != factor]
    if spec.method == "grid" and len(others) == 1 and ok[others[0]].nunique() <= MAX_LINES:
        other = others[0]
        for value, part in ok.groupby(other, sort=True):
            _mean_band(
                ax, part, factor, metric, f"{other} = {value:g}" if _num(value) else str(value)
            )
        ax.legend(fontsize=8, title="bands: mean ± 1 sd", title_fontsize=8)
    else:
        if spec.method != "grid":
            ax.scatter(ok[factor], ok[metric], s=4, alpha=0.25, color="grey", label="runs")
        _mean_band(ax, ok, factor, metric, "mean ± 1 sd")
        ax.legend(fontsize=8)
    ax.set_xlabel(factor)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {factor}", fontsize=10)
    ax.grid(alpha=0.3)
    path = folder / f"{metric}-vs-{factor}.png"
    fig.savefig(path, dpi=90)
    return path


def _numeric_axis(frame: pd.DataFrame, key: str) -> tuple[pd.DataFrame, list[str] | None]:
    """Choices and true/false keys are drawn at positions 0, 1, ... with their values as
    tick labels; numeric keys as they are."""
    column = frame[key]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return frame, None
    values = sorted(column.unique(), key=str)
    frame = frame.assign(**{key: column.map({v: i for i, v in enumerate(values)})})
    return frame, [str(v) for v in values]


def _heat_pair(result: Analysis, metric: str, factors: list[str]) -> tuple[str, str] | None:
    """Which two parameters a heat map shows: a grid's first two, else the two that matter
    most by ST (sobol) or mu* (morris), else the first two."""
    if len(factors) < 2:
        return None
    if result.indices is not None and (result.indices["metric"] == metric).any():
        key = "ST" if result.spec.method == "sobol" else "mu_star"
        ranked = result.indices[result.indices["metric"] == metric].sort_values(
            key, ascending=False
        )
        top = list(ranked["parameter"][:2])
        return top[0], top[1]
    return factors[0], factors[1]


def _heat_map(ok: pd.DataFrame, metric: str, pair: tuple[str, str], folder: Path) -> Path:
    """Mean of the metric over two parameters (binned when they take many values)."""
    a, b = pair
    ka, binned_a = _groups(ok[a])
    kb, binned_b = _groups(ok[b])
    table = ok[metric].groupby([kb, ka]).mean().unstack()
    fig = _new_figure(7.0, 5.0)
    ax = fig.add_subplot()
    image = ax.imshow(table.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label=f"mean {metric}")
    ax.set_xticks(range(len(table.columns)), [value_label(v) for v in table.columns], rotation=45)
    ax.set_yticks(range(len(table.index)), [value_label(v) for v in table.index])
    ax.set_xlabel(a + (" (bin means)" if binned_a else ""))
    ax.set_ylabel(b + (" (bin means)" if binned_b else ""))
    if table.shape[1] <= 12 and table.size <= 96:  # numbers only where they fit in the cells
        for (i, j), value in np.ndenumerate(table.to_numpy(float)):
            if not math.isnan(value):
                ax.text(j, i, _short(value), ha="center", va="center", fontsize=7, color="w")
    ax.set_title(f"mean {metric} over {a} and {b}", fontsize=10)
    path = folder / f"{metric}-heatmap.png"
    fig.savefig(path, dpi=90)
    return path


def _index_bars(spec: SweepSpec, indices: pd.DataFrame, metric: str, folder: Path) -> Path:
    rows = indices[indices["metric"] == metric]
    fig = _new_figure(7.0, 0.9 + 0.45 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    if spec.method == "sobol":
        rows = rows.sort_values("ST")
        ax.barh(y + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], label="ST (total)", capsize=2)
        ax.barh(y - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], label="S1 (first order)", capsize=2)
        ax.set_xlabel(f"Sobol index ({CONF_LEVEL:.0%} confidence interval)")
        name = "sobol"
    else:
        rows = rows.sort_values("mu_star")
        ax.barh(y + 0.2, rows["mu_star"], 0.4, xerr=rows["mu_star_conf"], label="mu*", capsize=2)
        ax.barh(y - 0.2, rows["sigma"], 0.4, label="sigma")
        ax.set_xlabel(f"{metric} per whole range of the parameter (Morris elementary effects)")
        name = "morris"
    ax.set_yticks(y, list(rows["parameter"]))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(f"{name.capitalize()} indices of {metric}", fontsize=10)
    path = folder / f"{metric}-{name}.png"
    fig.savefig(path, dpi=90)
    return path


def _num(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _short(value: float) -> str:
    return f"{value / 1000:.3g}k" if abs(value) >= 1000 else f"{value:.3g}"

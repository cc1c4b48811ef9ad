"""Validation: the historical episodes played over fixed seeds and set beside history.

For every figure the table shows what was observed and its source, the simulated median and
range over the seeds, the acceptance band and whether the median falls in it. `validate` plays
the episodes (on the one executor, `experiments.executor`); `validation_table` and
`text_table` lay the results out; `write_report` writes the table and one chart per episode to a
folder, and `update_docs` refreshes docs/validation.md and docs/validation/. The command is
`minerals validate` (`experiments/cli/validate.py`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experiments.executor import make_pool
from experiments.history.episodes import BASE, Episode, Figure
from experiments.history.measures import firm_series, series
from experiments.history.runner import (
    EpisodeResult,
    FigureResult,
    Runner,
    episode_jobs,
    play_episode,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "validation.md"
DOC_CHARTS = ROOT / "docs" / "validation"
TABLE_START = "<!-- validation-table:start -->"
TABLE_END = "<!-- validation-table:end -->"


def validate(
    episodes: Sequence[Episode], seeds: Sequence[int], jobs: int = 1
) -> list[EpisodeResult]:
    """Play every episode over `seeds`, sharing runs between episodes that share a scenario."""
    from tqdm import tqdm

    total = len({(str(job), job[2]) for e in episodes for _, job in episode_jobs(e, seeds)})
    bar = tqdm(total=total, desc="validate", unit="run", file=sys.stderr, delay=2, leave=False)
    try:
        with make_pool(jobs, in_process=jobs <= 1) as pool:
            runner = Runner(pool)
            return [play_episode(e, seeds, runner, progress=bar.update) for e in episodes]
    finally:
        bar.close()


# --- the table ---------------------------------------------------------------------------------


def _band_text(fig: Figure) -> str:
    lo, hi = fig.band
    if fig.stat == "share":
        return f"{lo:.0%} to {hi:.0%} of seeds"
    return f"{format_value(lo, fig.unit)} to {format_value(hi, fig.unit)}"


def _simulated(result: FigureResult) -> str:
    fig = result.figure
    if fig.stat == "share":
        hits = round(result.simulated * len(result.values))
        return f"{hits}/{len(result.values)} seeds"
    median = format_value(result.simulated, fig.unit)
    low, high = format_value(result.low, fig.unit), format_value(result.high, fig.unit)
    return median if low == high else f"{median} ({low} to {high})"


def _verdict(result: FigureResult) -> str:
    if not result.figure.scored:
        return "context"
    return "pass" if result.passed else "FAIL"


def rows(results: Sequence[EpisodeResult]) -> list[list[str]]:
    out = []
    for res in results:
        for i, fr in enumerate(res.figures):
            fig = fr.figure
            name = f"{res.episode.title} ({res.episode.role})" if i == 0 else ""
            run = "" if fig.run == BASE else f" [{fig.run}]"
            out.append(
                [
                    name,
                    fig.label + run,
                    f"{fig.observed_text} — {fig.source}",
                    _simulated(fr),
                    _band_text(fig),
                    _verdict(fr),
                ]
            )
    return out


HEADER = ["episode", "figure", "observed (source)", "simulated: median (range)", "band", "result"]


def validation_table(results: Sequence[EpisodeResult]) -> str:
    """The table as docs/validation.md carries it (a test checks the committed copy)."""
    seeds = results[0].seeds if results else []
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "| " + " | ".join("---" for _ in HEADER) + " |",
    ]
    for row in rows(results):
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    verdicts = ", ".join(f"{r.episode.name} {'passes' if r.passed else 'FAILS'}" for r in results)
    lines += [
        "",
        f"Seeds {seeds[0]} to {seeds[-1]} ({len(seeds)} runs per scenario): {verdicts}.",
    ]
    return "\n".join(lines)


def text_table(results: Sequence[EpisodeResult]) -> str:
    """The table for a terminal: per figure, the observation with its source, then the
    simulated median and range beside the band."""
    lines = []
    for res in results:
        verdict = "pass" if res.passed else "FAIL"
        lines.append(f"{res.episode.title} [{res.episode.role}]: {verdict}")
        for fr in res.figures:
            fig = fr.figure
            run = "" if fig.run == BASE else f" [{fig.run}]"
            lines.append(f"  {_verdict(fr):<7} {fig.label}{run}")
            lines.append(f"          observed  {fig.observed_text} ({fig.source})")
            lines.append(f"          simulated {_simulated(fr)}; band {_band_text(fig)}")
    return "\n".join(lines)


# --- outputs -------------------------------------------------------------------------------------


def write_report(results: Sequence[EpisodeResult], table: str, out: Path) -> None:
    """The table (validation.md) and one chart per episode, into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "validation.md").write_text(table + "\n")
    for res in results:
        chart(res, out / f"{res.episode.name}.png")


def update_docs(results: Sequence[EpisodeResult], table: str) -> None:
    """Put the table between the markers of docs/validation.md and the charts beside it."""
    text = DOC.read_text()
    head, _, rest = text.partition(TABLE_START + "\n")
    _, _, tail = rest.partition(TABLE_END)
    DOC.write_text(f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}")
    DOC_CHARTS.mkdir(exist_ok=True)
    for res in results:
        chart(res, DOC_CHARTS / f"{res.episode.name}.png")


def chart(result: EpisodeResult, path: Path) -> None:
    """One PNG per episode: for each panel, the simulated band over seeds (full range and
    10-90 %), its median, and the observed points drawn over it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    episode = result.episode
    panels = episode.charts
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.2), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        runs = result.runs[panel.run]
        data = []
        for r in runs:
            if panel.series:
                y = series(r, panel.series)
            else:
                y = np.asarray(firm_series(r, panel.agent, panel.column), float)
            if panel.normalise:
                lo, hi = panel.normalise
                y = y / y[lo - 1 : hi].mean()
            data.append(y)
        data = np.array(data)
        q = np.arange(1, data.shape[1] + 1)
        ax.fill_between(q, data.min(0), data.max(0), color="#1f77b4", alpha=0.15, label="all seeds")
        ax.fill_between(
            q,
            np.percentile(data, 10, axis=0),
            np.percentile(data, 90, axis=0),
            color="#1f77b4",
            alpha=0.3,
            label="10-90 % of seeds",
        )
        ax.plot(q, np.median(data, axis=0), color="#1f77b4", lw=1.8, label="simulated median")
        for quarter, label in panel.marks:
            ax.axvline(quarter, color="#7f7f7f", ls=":", lw=1)
            ax.annotate(
                label,
                (quarter, 1.0),
                xycoords=("data", "axes fraction"),
                rotation=90,
                va="top",
                ha="right",
                fontsize=7,
                color="#555555",
            )
        if panel.points:
            xs = [p[0] for p in panel.points]
            ys = [p[1] for p in panel.points]
            ax.scatter(xs, ys, color="black", zorder=5, marker="D", s=28, label="observed")
            for x, y, label in panel.points:
                ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=7)
        if panel.log:
            ax.set_yscale("log")
        ax.set_title(panel.title + ("" if panel.run == BASE else f" [{panel.run}]"), fontsize=10)
        ax.set_xlabel("quarter")
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    verdict = "passes" if result.passed else "FAILS"
    fig.suptitle(
        f"{episode.title} ({episode.role}): {verdict}, {len(result.seeds)} seeds", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def format_value(value: float, unit: str, stat: str = "median") -> str:
    """A figure's value as the table shows it."""
    if stat == "share":
        return f"{value:.0%} of seeds"
    if math.isinf(value):
        return "never"
    if math.isnan(value):
        return "n/a"
    if unit == "x":
        return f"{value:.1f}x"
    if unit == "%":
        return f"{value * 100:+.0f} %"
    if unit == "share":
        return f"{value * 100:.0f} %"
    if unit == "quarters":
        return f"{value:.0f} q"
    if unit == "years":
        return f"{value:.1f} yr"
    if unit == "USD m":
        return f"{value:,.0f} USD m"
    if unit == "USD/kg":
        return f"{value:.0f} USD/kg"
    if unit == "t/yr":
        return f"{value:,.0f} t/yr"
    return f"{value:.3g}"

"""`minerals validate`: play the historical episodes and set the model beside history.

Each episode file (`market/scenarios/history/*.toml`; format in docs/validation.md) is played
over the same fixed seeds. For every figure the table shows what was observed and its source,
the simulated median and range over the seeds, the acceptance band and whether the median falls
in it. The exit status is 0 only when every scored figure of every episode passes, 1 when one
fails and 2 for a bad episode file. The table goes to `--out` as Markdown beside one chart per
episode; `--update-docs` also refreshes docs/validation.md and docs/validation/.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experiments.episodes import (
    BASE,
    Episode,
    EpisodeResult,
    episode_jobs,
    episode_paths,
    format_value,
    load_episode,
    play_episode,
    runner_for,
)
from experiments.options import add_jobs, whole

HELP = "play the historical episodes and compare the model with what was observed"
DEFAULT_SEEDS = 20
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "validation.md"
DOC_CHARTS = ROOT / "docs" / "validation"
TABLE_START = "<!-- validation-table:start -->"
TABLE_END = "<!-- validation-table:end -->"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="episode files to play (default: every file in market/scenarios/history/)",
    )
    parser.add_argument(
        "--seeds",
        type=whole(1),
        default=DEFAULT_SEEDS,
        help=f"play seeds 1..N (default: {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs") / "validate",
        help="folder for the table and charts",
    )
    add_jobs(parser)
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help="also write the table into docs/validation.md and the charts into docs/validation/",
    )


def run(args: argparse.Namespace) -> int:
    from market.schema import ScenarioError

    episodes = [load_episode(p) for p in episode_paths(args.paths)]
    if not episodes:
        raise ScenarioError("no episode files found in market/scenarios/history/")
    if not args.paths:  # calibration episodes first, then those the model was not fitted to
        episodes.sort(key=lambda e: (e.role != "calibration", e.name))
    seeds = list(range(1, args.seeds + 1))
    results = validate(episodes, seeds, args.jobs)
    table = markdown_table(results)
    print(text_table(results))
    write_outputs(results, table, args.out)
    if args.update_docs:
        update_docs(results, table)
    passed = all(r.passed for r in results)
    print(
        f"\n{'every episode passes' if passed else 'some episodes fail'}; table and charts in "
        f"{args.out}"
    )
    return 0 if passed else 1


def validate(
    episodes: Sequence[Episode], seeds: Sequence[int], jobs: int = 1
) -> list[EpisodeResult]:
    """Play every episode over `seeds`, sharing runs between episodes that share a scenario."""
    from tqdm import tqdm

    total = len({(str(job), job[2]) for e in episodes for _, job in episode_jobs(e, seeds)})
    bar = tqdm(total=total, desc="validate", unit="run", file=sys.stderr, delay=2, leave=False)
    try:
        with runner_for(jobs) as runner:
            return [play_episode(e, seeds, runner, progress=bar.update) for e in episodes]
    finally:
        bar.close()


# --- the table ---------------------------------------------------------------------------------


def _band(fig) -> str:
    lo, hi = fig.band
    if fig.stat == "share":
        return f"{lo:.0%} to {hi:.0%} of seeds"
    return f"{format_value(lo, fig.unit)} to {format_value(hi, fig.unit)}"


def _simulated(result) -> str:
    fig = result.figure
    if fig.stat == "share":
        hits = round(result.simulated * len(result.values))
        return f"{hits}/{len(result.values)} seeds"
    median = format_value(result.simulated, fig.unit)
    low, high = format_value(result.low, fig.unit), format_value(result.high, fig.unit)
    return median if low == high else f"{median} ({low} to {high})"


def _verdict(result) -> str:
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
                    _band(fig),
                    _verdict(fr),
                ]
            )
    return out


HEADER = ["episode", "figure", "observed (source)", "simulated: median (range)", "band", "result"]


def markdown_table(results: Sequence[EpisodeResult]) -> str:
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
            lines.append(f"          simulated {_simulated(fr)}; band {_band(fig)}")
    return "\n".join(lines)


# --- outputs -------------------------------------------------------------------------------------


def write_outputs(results: Sequence[EpisodeResult], table: str, out: Path) -> None:
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
            y = r.series[panel.series] if panel.series else r.firm(panel.agent, panel.column)
            y = np.asarray(y, float)
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

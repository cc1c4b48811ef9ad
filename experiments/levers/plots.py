"""The tornado chart: one panel an outcome, a lever a row, largest effect on top."""

from __future__ import annotations

import math
from pathlib import Path

from experiments.levers.analysis import OUTCOMES, Analysis, LeverEffect, number, shown

LOW_COLOUR = "#1f77b4"
HIGH_COLOUR = "#d62728"
COLUMNS = 2


def _row_label(effect: LeverEffect) -> str:
    lever = effect.lever
    return f"{lever.label} ({shown(lever, lever.low)} → {shown(lever, lever.high)})"


def tornado(analysis: Analysis, path: Path) -> None:
    """Write the chart as a PNG: for each outcome, every lever that moved it, as two bars
    from zero, the low end's effect and the high end's, sorted by the larger of the two."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = math.ceil(len(OUTCOMES) / COLUMNS)
    tallest = max([sum(1 for e in analysis.levers if e.size(o) > 0) for o in OUTCOMES], default=1)
    tallest = max(tallest, 3)
    height = 1.4 + 0.3 * tallest
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(8.0 * COLUMNS, height * rows), squeeze=False)
    for ax, (outcome, (what, unit)) in zip(axes.flat, OUTCOMES.items(), strict=False):
        moved = sorted(
            (e for e in analysis.levers if e.size(outcome) > 0),
            key=lambda e: e.size(outcome),
        )  # the largest last: drawn on top
        for y, effect in enumerate(moved):
            for end, colour, offset in (("low", LOW_COLOUR, 0.2), ("high", HIGH_COLOUR, -0.2)):
                value = effect.ends[end].effect.get(outcome, 0.0)
                if math.isfinite(value) and value != 0.0:
                    ax.barh(y + offset, value, height=0.4, color=colour)
        ax.set_yticks(range(len(moved)), [_row_label(e) for e in moved], fontsize=8)
        top = len(moved) - 0.4  # the same bar thickness in every panel, the largest on top
        ax.set_ylim(top - tallest - 0.2, top)
        ax.axvline(0.0, color="black", lw=0.8)
        base = analysis.as_is[outcome]
        ax.set_title(f"{what}, as is {number(base)} {unit}", fontsize=10)
        ax.set_xlabel(f"change against the scenario as it is, {unit}", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        still = len(analysis.levers) - len(moved)
        if still:
            ax.text(
                0.99,
                0.01,
                f"{still} levers with no effect on this outcome not shown",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=7,
                color="#555555",
            )
        if not moved:
            ax.set_yticks([])
            ax.text(
                0.5,
                0.5,
                "no lever changes this outcome",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=9,
                color="#555555",
            )
    for ax in list(axes.flat)[len(OUTCOMES) :]:
        ax.set_visible(False)
    handles = [
        Patch(color=LOW_COLOUR, label="lever at its low end"),
        Patch(color=HIGH_COLOUR, label="lever at its high end"),
    ]
    fig.legend(handles=handles, loc="upper right", fontsize=9)
    seeds = analysis.seeds
    fig.suptitle(
        f"{analysis.scenario}: what each lever does against the scenario as it is "
        f"(mean over seeds {seeds[0]} to {seeds[-1]})",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)

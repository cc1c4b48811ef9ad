"""One run's files: the quarterly table, the agent table, the summary and the overview chart.

`minerals run` plays a scenario (`market.play.play`) and writes what it recorded here, all four
files at once: they are made in a hidden staging folder beside the target, which takes the
target's place in one rename only when every file is complete (`experiments.cli.paths`), so an
error, a full disk or a killed process never leaves half a result or two runs' files mixed, and
an earlier run is replaced only by a complete one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from market.play import Run

OUTPUT_FILES = ("timeseries.csv", "agents.csv", "summary.json", "overview.png")


def write_files(run: Run, folder: Path) -> None:
    """The four files of a played run, written into `folder` one after the other."""
    folder = Path(folder)
    run.timeseries().to_csv(folder / "timeseries.csv", index=False)
    run.agent_table().to_csv(folder / "agents.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(run.summary(), indent=2) + "\n")
    overview(run, folder / "overview.png")


def write_outputs(run: Run, out_dir: Path) -> None:
    """Write the four files of a played run into out_dir, all at once: out_dir afterwards holds
    this run's four files and nothing else (a previous run there is replaced whole)."""
    from experiments.cli.paths import Staging

    staging = Staging(out_dir)
    with staging as folder:
        write_files(run, folder)
        staging.commit()


# --- the overview chart ---------------------------------------------------------------------------

DUMPING_COLOUR = "#d62728"
RESPONSE_COLOUR = "#2ca02c"


def shade_periods(ax: Any, quarters: pd.Series, flags: pd.Series, colour: str, label: str) -> None:
    """Shade each run of quarters where `flags` is true."""
    start = None
    first = True
    for q, on in zip([*list(quarters), None], [*list(flags.astype(bool)), False], strict=True):
        if on and start is None:
            start = q
        elif not on and start is not None:
            end = q if q is not None else quarters.iloc[-1] + 1
            ax.axvspan(
                start - 0.5, end - 0.5, color=colour, alpha=0.12, label=label if first else None
            )
            start, first = None, False


def overview(run: Run, path: Path) -> None:
    """Save `overview_figure` as a PNG."""
    import matplotlib.pyplot as plt

    fig = overview_figure(run)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def overview_figure(run: Run) -> Any:
    """Prices, the dominant supplier's share, allied capacity and money, on four panels. The
    price panel draws the floor in force each quarter, not the floor a scenario configures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ts, model = run.timeseries(), run.model

    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
    q = ts["quarter"]
    cash_cost = model.spec.params["producers"]
    costs = [p["cash_cost"] for p in cash_cost.values()]
    (ax_price, ax_share), (ax_cap, ax_money) = axes

    # The allied price last, so it stays visible where trade ties it to the other two.
    ax_price.plot(q, ts["price_world"], label="rest-of-world price", color="#7f7f7f")
    ax_price.plot(
        q, ts["price_home"], label="dominant country's home price", color="#8c564b", ls="-."
    )
    ax_price.plot(q, ts["price_allied"], label="allied price", color="#1f77b4")
    if costs:
        ax_price.axhspan(
            min(costs), max(costs), color="#ff7f0e", alpha=0.12, label="allied cash costs"
        )
    floor = run.series("floor_in_force")
    if floor.any():
        ax_price.step(
            q,
            np.where(floor > 0, floor, np.nan),
            where="mid",
            color="#9467bd",
            ls="--",
            lw=1,
            label="floor in force",
        )
    ax_price.set_ylabel("USD/kg")
    ax_price.set_title("Prices")

    ax_share.plot(q, ts["dominant_share"] * 100, color="#d62728", label="dominant supplier")
    ax_share.set_ylabel("% of tonnes sold")
    ax_share.set_ylim(0, 100)
    ax_share.set_title("Dominant supplier's share")

    ax_cap.plot(q, ts["allied_capacity"] / 1000, color="#1f77b4", label="allied capacity")
    ax_cap.set_ylabel("kt/yr")
    ax_cap2 = ax_cap.twinx()
    ax_cap2.step(
        q,
        ts["allied_producers_active"],
        where="mid",
        color="#8c564b",
        label="producers in business",
    )
    ax_cap2.set_ylabel("producers")
    ax_cap2.set_ylim(bottom=0)
    ax_cap.set_title("Allied capacity")

    ax_money.plot(q, ts["fiscal_cost"], color=RESPONSE_COLOUR, label="allied fiscal cost")
    ax_money.plot(
        q, ts["dominant_sacrifice"], color=DUMPING_COLOUR, label="dominant supplier's sacrifice"
    )
    ax_money.set_ylabel("USD m, cumulative")
    ax_money.set_title("Money")

    for ax in axes.flat:
        shade_periods(ax, q, ts["dumping"], DUMPING_COLOUR, "dumping flagged")
        shade_periods(ax, q, ts["response_active"], RESPONSE_COLOUR, "response active")
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("quarter")
    fig.suptitle(f"{model.spec.name}: {model.spec.params.get('mineral', '')}")
    fig.tight_layout()
    return fig

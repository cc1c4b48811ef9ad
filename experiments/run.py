"""One headless run: build the model, play it to the end, write its tables and chart."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from market import MineralMarket
from market.play import play


@dataclass
class RunResult:
    model: MineralMarket
    timeseries: pd.DataFrame
    agents: pd.DataFrame
    summary: dict[str, Any]


OUTPUT_FILES = ("timeseries.csv", "agents.csv", "summary.json", "overview.png")


def run_scenario(
    scenario: str | Mapping[str, Any] = "baseline",
    seed: int = 1,
    overrides: Mapping[str, Any] | None = None,
) -> RunResult:
    """Play a scenario to its last quarter. Raises ScenarioError on bad input, before running."""
    run = play(scenario, seed, overrides)
    return RunResult(run.model, run.timeseries(), run.agent_table(), run.summary())


def write_outputs(result: RunResult, out_dir: Path) -> None:
    """Write the four files into out_dir all at once: they are made in a temporary folder
    beside it and moved in only when every one is complete."""
    from experiments.plots import overview

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        result.timeseries.to_csv(staging / "timeseries.csv", index=False)
        result.agents.to_csv(staging / "agents.csv", index=False)
        (staging / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
        overview(result.timeseries, result.model, staging / "overview.png")
        out_dir.mkdir(exist_ok=True)
        for name in OUTPUT_FILES:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value

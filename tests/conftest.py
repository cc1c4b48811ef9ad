"""Shared helpers: play a scenario to the end once per test session; run `minerals` as a
user does."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from market import MineralMarket
from market.play import play as play_run

ROOT = Path(__file__).resolve().parents[1]


def minerals(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The command line in a fresh interpreter, with only the project on the path."""
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


@functools.cache
def _played(scenario: str, seed: int, overrides: tuple) -> MineralMarket:
    return play_run(scenario, seed, dict(overrides)).model


def play(scenario: str = "baseline", seed: int = 1, **overrides) -> MineralMarket:
    """A finished run; cached, so treat the model as read-only."""
    return _played(scenario, seed, tuple(sorted(overrides.items())))


def series(scenario: str = "baseline", seed: int = 1, **overrides) -> pd.DataFrame:
    return play(scenario, seed, **overrides).timeseries()


@pytest.fixture
def run():
    return play

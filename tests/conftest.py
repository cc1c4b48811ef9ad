"""Shared helpers: play a scenario to the end once per test session."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

from market import MineralMarket


@functools.cache
def _played(scenario: str, seed: int, overrides: tuple) -> MineralMarket:
    model = MineralMarket(scenario, rng=seed, **dict(overrides))
    while model.running:
        model.step()
    return model


def play(scenario: str = "baseline", seed: int = 1, **overrides) -> MineralMarket:
    """A finished run; cached, so treat the model as read-only."""
    return _played(scenario, seed, tuple(sorted(overrides.items())))


def series(scenario: str = "baseline", seed: int = 1, **overrides) -> pd.DataFrame:
    return play(scenario, seed, **overrides).timeseries()


@pytest.fixture
def run():
    return play

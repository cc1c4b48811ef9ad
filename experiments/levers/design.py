"""What to run: the scenario as it is, and every catalog lever at its low and high end.

A lever's end is one setting of the scenario (`governments.*` sets every government); each
setting is played over the same seeds as the scenario as it is, so a difference between the two
is the lever's doing, not the dice's. An end that is the scenario's own value needs no run: its
effect is nothing by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from market.levers import CATALOG, LeverRange
from market.scenarios import Scenario, load_scenario

AS_IS = "as is"
ENDS = ("low", "high")


@dataclass(frozen=True)
class Setting:
    """The scenario with one lever at one end (`lever` None: as it is)."""

    lever: LeverRange | None
    end: str  # "as is", "low" or "high"
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Design:
    """Every setting to play and the seeds to play each with."""

    spec: Scenario
    settings: list[Setting]
    seeds: list[int]
    levers: tuple[LeverRange, ...]

    def runs(self) -> list[tuple[int, int]]:
        """(setting index, seed) of every run, the scenario as it is first."""
        return [(i, seed) for i in range(len(self.settings)) for seed in self.seeds]


def keys_of(spec: Scenario, lever: LeverRange) -> list[str]:
    """The scenario's keys a lever sets: one a government for `governments.*`."""
    if lever.key.startswith("governments.*."):
        return [lever.key.replace("*", c, 1) for c in spec.params["governments"]]
    return [lever.key]


def as_is(spec: Scenario, lever: LeverRange) -> list[Any]:
    """The scenario's own values of a lever, one a key it sets."""
    return [spec.get(k) for k in keys_of(spec, lever)]


def make_design(
    spec: Scenario, seeds: Sequence[int], levers: Sequence[LeverRange] = CATALOG
) -> Design:
    """The settings for `spec`. Raises ScenarioError, before anything runs, for an end the
    scenario does not allow."""
    settings = [Setting(None, AS_IS)]
    for lever in levers:
        for end in ENDS:
            value = lever.low if end == "low" else lever.high
            if all(v == value for v in as_is(spec, lever)):
                continue  # the scenario's own value: nothing to play
            overrides = dict.fromkeys(keys_of(spec, lever), value)
            load_scenario(spec, overrides)  # checked now, not in a worker
            settings.append(Setting(lever, end, overrides))
    return Design(spec, settings, list(seeds), tuple(levers))

"""The one way to play a model to its end: `play(scenario, seed, overrides, quarters) -> Run`.

`minerals run`, sweeps, the history episodes, calibration, the game's reference runs and the
tests all play a model through here, so a run means the same thing everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from market.feed import to_python
from market.metrics import COLUMNS, INDICATORS, summarise

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from market.model import MineralMarket
    from market.recorder import Recorder
    from market.scenarios import Scenario

# Changes made before a quarter is played: quarter -> [{dotted key: value}, ...].
Moves = Mapping[int, Sequence[Mapping[str, Any]]]


@dataclass
class Run:
    """A model played to its end, and what it recorded."""

    model: MineralMarket
    seed: int
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def recorder(self) -> Recorder:
        return self.model.recorder

    @property
    def quarters(self) -> int:
        return self.recorder.quarters

    def series(self, name: str) -> np.ndarray:
        return self.recorder.series(name)

    def timeseries(self) -> pd.DataFrame:
        return self.recorder.timeseries()

    def agent_table(self) -> pd.DataFrame:
        return self.recorder.agent_table()

    def metrics(self) -> dict[str, float | int | None]:
        """Run-level metrics (`market.metrics.summarise`)."""
        recorder = self.recorder
        return summarise({name: recorder.series(name) for name in ("quarter", *INDICATORS)})

    def summary(self) -> dict[str, Any]:
        """What `summary.json` holds: the set-up, the final quarter, the metrics, the feed."""
        spec = self.model.spec
        final = self.recorder.latest
        return {
            "scenario": spec.name,
            "source": spec.source,
            "seed": self.seed,
            "quarters": self.quarters,
            "overrides": dict(self.overrides),
            "final": {k: _final_value(final[k]) for k in COLUMNS[1:]} if final else {},
            "metrics": self.metrics(),
            "events": [e.as_dict() for e in self.model.feed],
        }


def play(
    scenario: str | Scenario | Mapping[str, Any] = "baseline",
    seed: int = 1,
    overrides: Mapping[str, Any] | None = None,
    quarters: int | None = None,
    moves: Moves | None = None,
) -> Run:
    """Build a model and play it until it stops. Raises ScenarioError on bad input, before the
    first quarter. `moves` are changes made before a given quarter (a facilitator's shocks
    replayed), each validated as it is made."""
    from market.model import MineralMarket

    overrides = dict(overrides or {})
    if quarters is not None:
        overrides["quarters"] = quarters
    model = MineralMarket(scenario, rng=seed, **overrides)
    moves = moves or {}
    while model.running:
        for changes in moves.get(model.steps + 1, ()):
            for key, value in changes.items():
                model.apply(key, value)
        model.step()
    return Run(model, seed, overrides)


def _final_value(value: Any) -> Any:
    """A last-quarter value for JSON: rounded, and None where there is none (NaN)."""
    value = to_python(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value

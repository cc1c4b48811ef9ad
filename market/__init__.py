"""The market: the Mesa model, clearing, demand, scenarios and the indicator contract.

The model (and with it Mesa, pandas and SciPy, about a second to import) loads on first use of
`MineralMarket`, so reading scenarios, the schema or the indicator names stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from market import lever_map
from market.metrics import INDICATORS, LEDGER, summarise
from market.scenarios import Scenario, load_scenario, named_scenarios, presets
from market.schema import ScenarioError

if TYPE_CHECKING:
    from market.model import MineralMarket

__all__ = [
    "INDICATORS",
    "LEDGER",
    "MineralMarket",
    "Scenario",
    "ScenarioError",
    "lever_map",
    "load_scenario",
    "named_scenarios",
    "presets",
    "summarise",
]


def __getattr__(name: str) -> Any:
    if name == "MineralMarket":
        from market.model import MineralMarket

        return MineralMarket
    raise AttributeError(f"module 'market' has no attribute {name!r}")

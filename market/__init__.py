"""The market: the Mesa model, clearing, demand, scenarios and the indicator contract."""

from market.metrics import INDICATORS, LEDGER, summarise
from market.model import MineralMarket
from market.scenarios import Scenario, load_scenario, named_scenarios, presets
from market.schema import ScenarioError

__all__ = [
    "INDICATORS",
    "LEDGER",
    "MineralMarket",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "named_scenarios",
    "presets",
    "summarise",
]

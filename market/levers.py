"""The lever catalog: every lever of the agreements and every instrument of the dominant
supplier, with the ends of a sensible range, as one plain table.

The schema's ranges (`market/schema.py`) are the model's limits, far wider than anything worth
trying; these are the ends a person would try: the browser game's controls span them
(`viz/levers.py`), and `minerals levers` plays each scenario with every lever at each end
(`experiments/levers/`). A bool or a choice has an off and an on end. Values are in the model's
units (a duty of 2.0 is 200 %); the unit is the schema's. `governments.*` sets every
government at once.

Adding a row is all a new lever needs to appear in `minerals levers` and docs/levers.md; a test
checks that every key is a schema key the lever map can set during a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from market.schema import Field, field_for


@dataclass(frozen=True)
class LeverRange:
    """One lever: its dotted key, the low and high ends of a sensible range, and a label."""

    key: str
    low: Any
    high: Any
    label: str

    @property
    def field(self) -> Field:
        found = field_for(self.key)
        if found is None:
            raise LookupError(f"lever catalog: {self.key} is not a schema key")
        return found

    @property
    def unit(self) -> str:
        return self.field.unit


CATALOG: tuple[LeverRange, ...] = (
    # each allied government's levers
    LeverRange("governments.*.floor_price", 0.0, 200.0, "price floor"),
    LeverRange("governments.*.floor_budget", 0.0, 5000.0, "floor budget"),
    LeverRange("governments.*.floor_upside_share", 0.0, 1.0, "floor's share of the upside"),
    LeverRange("governments.*.duty", 0.0, 2.0, "anti-dumping duty"),
    LeverRange("governments.*.stockpile_days", 0.0, 180.0, "stockpile target"),
    LeverRange("governments.*.stockpile_budget", 0.0, 2000.0, "stockpile budget"),
    LeverRange("governments.*.stockpile_release_above", 50.0, 400.0, "stockpile release price"),
    LeverRange("governments.*.financing", 0.0, 1.0, "cheap finance for new capacity"),
    LeverRange("governments.*.finance_budget", 0.0, 2000.0, "cap on concessional loans"),
    LeverRange("governments.*.finance_abroad", False, True, "finance reaches other members"),
    LeverRange("governments.*.duty_term", 0, 40, "anti-dumping order's term"),
    LeverRange("governments.*.next_election", 0, 12, "next election (0: none)"),
    LeverRange("governments.*.asset_review", False, True, "asset-sale review"),
    LeverRange("governments.*.mapping", 0.0, 200.0, "geological mapping"),
    # the rapid-response group
    LeverRange("alliance.response", "none", "standing", "alliance response"),
    LeverRange("alliance.coordination_delay", 0, 20, "coordination delay"),
    LeverRange("alliance.cohesion", 0.0, 1.0, "alliance cohesion"),
    LeverRange("alliance.stand_down", 1, 12, "quiet quarters before standing down"),
    LeverRange("alliance.election_risk", 0.0, 1.0, "chance an election ends a member's part"),
    LeverRange("alliance.joint_stockpile", False, True, "joint stockpile (mutual access)"),
    LeverRange(
        "alliance.marketplace_charge", 0.0, 50.0, "marketplace charge on uncertified supply"
    ),
    LeverRange("alliance.tech_transfer", 0.0, 1.0, "technology transfer among members"),
    # the dominant supplier's instruments
    LeverRange("supplier.strategy", "market", "dump", "supplier's strategy at the start"),
    LeverRange("supplier.budget", 0.0, 10000.0, "supplier's state budget"),
    LeverRange("supplier.dump_depth", 0.0, 0.9, "dumping depth under allied cost"),
    LeverRange("supplier.quota_cut", 0.0, 1.0, "export quota cut (under restrict)"),
    LeverRange("supplier.production_quota", 0.0, 100000.0, "production quota (0: none)"),
    LeverRange("supplier.price_allied", 0.0, 150.0, "named allied price (0: strategy)"),
    LeverRange("supplier.price_world", 0.0, 150.0, "named rest-of-world price (0: strategy)"),
    LeverRange("supplier.reroute_share", 0.0, 0.8, "share rerouted through third countries"),
)


def catalog_row(key: str) -> LeverRange:
    """The catalog row of a key: `governments.US.duty` is the row of `governments.*.duty`."""
    parts = key.split(".")
    pattern = f"{parts[0]}.*.{parts[2]}" if len(parts) == 3 else key
    for row in CATALOG:
        if row.key == pattern:
            return row
    raise KeyError(f"{key}: not in the lever catalog (market/levers.py)")

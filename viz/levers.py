"""What a player may pull, what a facilitator may inject, and how each reads on the page.

The keys are the model's dotted keys (`market/schema.py`); this module only adds what the game
needs on top: a label a student understands, the unit shown and a slider's step. A slider spans
the lever's sensible range in the lever catalog (`market/levers.py`; the schema's ranges are the
model's limits, far wider), the same ends `minerals levers` tries. Controls follow Mesa's
`UserInputs` format, so the game's parameter controls are SolaraViz's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from market import lever_map
from market.levers import catalog_row
from market.schema import RESPONSES, STRATEGIES

if TYPE_CHECKING:
    from market.model import MineralMarket

ALL_MEMBERS = "all members"


@dataclass(frozen=True)
class Lever:
    """One control: `key` is a dotted key, or `governments.*.<attr>` for a per-country lever."""

    key: str
    label: str
    kind: str  # "float", "int", "bool" or "choice"
    low: float = 0.0
    high: float = 0.0
    step: float = 1.0
    unit: str = ""
    scale: float = 1.0  # shown value per model value: 100 shows a share as a percentage
    choices: tuple[str, ...] = ()
    short: str = ""  # the label in a sentence, where the control's label says more
    help: str = ""  # what pulling it does, in plain words, true to the engine

    @property
    def attr(self) -> str:
        return self.key.rsplit(".", 1)[-1]

    def shown(self, value: Any) -> Any:
        """The model's value as the control shows it."""
        if self.kind == "float":
            return round(float(value) * self.scale, 6)
        if self.kind == "int":
            return int(value)
        return value

    def model_value(self, shown: Any) -> Any:
        """The control's value as the model takes it."""
        if self.kind == "float":
            return float(shown) / self.scale
        if self.kind == "int":
            return int(shown)
        return shown

    def describe(self, value: Any) -> str:
        """A model value in words: '110 USD/kg', '93.5 %', 'on'."""
        if self.kind == "bool":
            return "on" if value else "off"
        if self.kind == "choice":
            return str(value)
        shown = self.shown(value)
        number = f"{shown:,.1f}".removesuffix(".0") if self.kind == "float" else f"{shown:,d}"
        return f"{number} {self.unit}".strip() if self.unit != "%" else f"{number} %"

    def bounds(self, value: Any = None) -> tuple[float, float]:
        """The control's range as shown: the lever's, widened to a scenario's value beyond it
        (`value`, a model value)."""
        if value is None:
            return self.low, self.high
        shown = self.shown(value)
        return min(self.low, shown), max(self.high, shown)

    def check(self, shown: Any, value: Any = None) -> str:
        """'' if a typed number (as shown) is within the control's range, else one line naming
        the range: 'Price floor: from 0 to 200 USD/kg; 500 is outside it (nothing changed)'."""
        low, high = self.bounds(value)
        try:
            number = float(shown)
        except (TypeError, ValueError):
            number = math.nan
        if self.kind == "int" and number == number and number != int(number):
            return f"{self.label}: a whole number from {low:,g} to {high:,g} {self.unit}".strip()
        if number == number and low <= number <= high:
            return ""
        unit = f" {self.unit}" if self.unit else ""
        typed = f"{number:g}" if number == number else repr(shown)
        return (
            f"{self.label}: from {low:,g} to {high:,g}{unit}; {typed} is outside it "
            "(nothing changed)"
        )

    def control(self, value: Any, note: str = "") -> dict[str, Any]:
        """Mesa `UserInputs` options for this lever, showing `value` (a model value). A slider's
        label carries its value, so the player reads the number, not a knob's position."""
        note = f" ({note})" if note else ""
        if self.kind == "bool":
            return {"type": "Checkbox", "value": bool(value), "label": self.label + note}
        if self.kind == "choice":
            return {
                "type": "Select",
                "value": value,
                "values": list(self.choices),
                "label": self.label + note,
            }
        label = f"{self.label}: {self.describe(value)}{note}"
        shown = self.shown(value)
        # A scenario may hold a value beyond the game's range: widen the control rather than
        # show a number the model does not have.
        low, high = self.bounds(value)
        if self.kind == "int":
            return {
                "type": "SliderInt",
                "value": int(shown),
                "min": int(low),
                "max": int(high),
                "step": int(self.step),
                "label": label,
            }
        return {
            "type": "SliderFloat",
            "value": float(shown),
            "min": float(low),
            "max": float(high),
            "step": float(self.step),
            "label": label,
        }


def ranged(
    key: str,
    label: str,
    step: float,
    unit: str = "",
    scale: float = 1.0,
    short: str = "",
    help: str = "",
) -> Lever:
    """A slider over the catalog's range for `key`, shown in `unit` (`scale` shown per model
    value: 100 shows a share as a percentage)."""
    row = catalog_row(key)
    kind = row.field.kind
    low, high = (round(end * scale, 9) for end in (row.low, row.high))
    return Lever(key, label, kind, low, high, step, unit, scale, short=short, help=help)


# What each lever does, in the engine's terms (agents/government.py, agents/supplier.py,
# market/model.py). One text per attribute serves the coalition's, the supplier's and Compare's
# controls alike, so a room's seat can show the same words.
HELP: dict[str, str] = {
    "floor_price": "A top-up payment (a contract for difference): when the market price is "
    "under the floor, the government pays its covered allied producers the gap for each kg "
    "they sell, out of the floor budget. The market price itself does not rise. 0: no floor.",
    "floor_budget": "The money the price floor may still pay out. When it is spent the floor "
    "stops paying, and producers who counted on it are on their own again.",
    "duty": "A tax on the dominant supplier's sales into this country's market, as a share of "
    "their value: it raises what its material costs buyers here, and the government keeps "
    "the revenue.",
    "stockpile_days": "How many days of the country's consumption the state stockpile aims to "
    "hold. It buys toward the target while the price is low, paid from the stockpile budget.",
    "stockpile_budget": "The money left for stockpile purchases; when it is spent the "
    "stockpile stops buying.",
    "stockpile_release_above": "The stockpile sells when the allied price climbs above this "
    "price (and always in a shortage or an export restriction), to cool the price. A high "
    "value keeps the stock for emergencies.",
    "financing": "The share of its producers' new capacity the government lends at a cheap "
    "(concessional) rate: building costs them less, so more projects go ahead.",
    "asset_review": "When an allied producer goes bankrupt, the government blocks the "
    "dominant supplier from buying its plant (the plant is sold elsewhere or closes).",
    "strategy": "How the dominant supplier plays; each choice is explained below.",
    "price_allied": "A price the supplier names for its sales into the allied market, "
    "overriding its strategy; pricing under the market costs its state budget. 0: the "
    "strategy decides.",
    "price_world": "A price the supplier names for its sales to the rest of the world, "
    "overriding its strategy; pricing under the market costs its state budget. 0: the "
    "strategy decides.",
    "quota_cut": "Under the restrict strategy only: how much of its exports (allied and rest "
    "of world) the supplier cuts against the year before.",
    "budget": "The state money that pays for the profit the supplier gives up while it "
    "dumps or names prices under the market; when it is spent, the price war ends.",
    "dump_depth": "How far under the lowest allied producer's cash cost the supplier lands "
    "its export price while it dumps.",
    "response": "How the allies answer dumping; each choice is explained below.",
    "coordination_delay": "Quarters between the first dumping flag and the allies' "
    "coordinated response taking effect.",
    "cohesion": "The chance each member joins a coordinated response, and how firmly it "
    "stays in when its budget is under pressure.",
}

# What each of the supplier's strategies does (agents/supplier.py).
STRATEGY_HELP: dict[str, str] = {
    "market": "market: its plants sell at a markup over cost that its market power allows, "
    "shipped where they earn most; costs no budget.",
    "dump": "dump: subsidises exports from its state budget so the price in the export "
    "markets lands under the lowest allied cash cost, until the budget is spent or the war "
    "no longer pays.",
    "restrict": "restrict: caps its exports at the year before's, cut by the export quota "
    "cut; scarcity raises the price outside its home market.",
    "adaptive": "adaptive: plays market until allied producers win a big share of their "
    "market, then dumps until enough of their capacity has gone (or the budget is spent), "
    "then plays market again and recoups.",
}

# What each of the alliance's response modes does (agents/government.py, the response group).
RESPONSE_HELP: dict[str, str] = {
    "none": "none: no government lever is ever pulled.",
    "standing": "standing: every member's levers are in force from the start.",
    "coordinated": "coordinated: the levers switch on only after dumping is flagged and the "
    "coordination delay has passed, for the members that join.",
}

# A choice lever's options, each explained (`Lever.choices` in the same order).
CHOICE_HELP: dict[str, dict[str, str]] = {"strategy": STRATEGY_HELP, "response": RESPONSE_HELP}


def explained(lv: Lever) -> Lever:
    """`lv` with its explanation (`HELP`, by attribute) unless it has one."""
    if lv.help:
        return lv
    return replace(lv, help=HELP[lv.attr])


def option_help(lv: Lever) -> list[str]:
    """A choice lever's options, each in plain words ([] for other levers)."""
    texts = CHOICE_HELP.get(lv.attr, {})
    return [texts[c] for c in lv.choices if c in texts]


COALITION_LEVERS: tuple[Lever, ...] = tuple(
    explained(lv)
    for lv in (
        ranged("governments.*.floor_price", "Price floor", 5, "USD/kg"),
        ranged("governments.*.floor_budget", "Floor budget left", 50, "USD m"),
        ranged("governments.*.duty", "Anti-dumping duty", 5, "%", 100.0),
        ranged("governments.*.stockpile_days", "Stockpile target", 10, "days"),
        ranged("governments.*.stockpile_budget", "Stockpile budget left", 50, "USD m"),
        ranged("governments.*.stockpile_release_above", "Release stock above", 10, "USD/kg"),
        ranged("governments.*.financing", "Cheap finance for new capacity", 10, "%", 100.0),
        Lever("governments.*.asset_review", "Asset review: block sales of bankrupt plants", "bool"),
    )
)

SUPPLIER_LEVERS: tuple[Lever, ...] = tuple(
    explained(lv)
    for lv in (
        Lever("supplier.strategy", "Strategy", "choice", choices=STRATEGIES),
        ranged("supplier.price_allied", "Price into the allied market (0: strategy)", 1, "USD/kg"),
        ranged(
            "supplier.price_world", "Price into the rest of the world (0: strategy)", 1, "USD/kg"
        ),
        ranged("supplier.quota_cut", "Export quota cut (under restrict)", 5, "%", 100.0),
    )
)

# Levers a replay may change (Compare). `governments.*` changes every member at once.
COMPARE_LEVERS: tuple[Lever, ...] = tuple(
    explained(lv)
    for lv in (
        ranged("supplier.budget", "Supplier's state budget", 100, "USD m"),
        ranged("supplier.dump_depth", "Dumping depth under allied cost", 5, "%", 100.0),
        Lever(
            "supplier.strategy", "Supplier's strategy at the start", "choice", choices=STRATEGIES
        ),
        Lever("alliance.response", "Alliance response", "choice", choices=RESPONSES),
        ranged("alliance.coordination_delay", "Coordination delay", 1, "quarters"),
        ranged("alliance.cohesion", "Alliance cohesion", 5, "%", 100.0),
        ranged("governments.US.floor_price", "US price floor", 5, "USD/kg"),
        ranged("governments.US.floor_budget", "US floor budget", 100, "USD m"),
        ranged(
            "governments.*.duty", "Duty, every member", 5, "%", 100.0, short="anti-dumping duty"
        ),
        ranged(
            "governments.*.financing",
            "Cheap finance, every member",
            10,
            "%",
            100.0,
            short="cheap finance for new capacity",
        ),
        Lever(
            "governments.*.asset_review", "Asset review, every member", "bool", short="asset review"
        ),
        ranged("governments.JP.stockpile_days", "Japan's stockpile target", 10, "days"),
    )
)

ROLE_LEVERS: dict[str, tuple[Lever, ...]] = {
    "coalition": COALITION_LEVERS,
    "supplier": SUPPLIER_LEVERS,
}

# Which holders of the lever map (`market.lever_map.HOLDERS`) each side commands: the coalition
# plays the governments and their response group, the supplier itself.
ROLE_HOLDERS: dict[str, tuple[str, ...]] = {
    "coalition": ("government", "response_group"),
    "supplier": ("supplier",),
}

# A government's settings that describe the country rather than its policy: a coalition player
# does not start them from the status quo (see Game.scenario_for_role).
COUNTRY_FACTS = ("member", "demand_share")

# Government settings a coalition player owns: every per-country key the lever map can change
# during a run, except the country's facts. They start at the status quo and the player moves
# them.
GOVERNMENT_LEVER_ATTRS: tuple[str, ...] = tuple(
    target.attr
    for target in lever_map.LEVER_MAP.values()
    if target.holder == "government" and target.during_run and target.attr not in COUNTRY_FACTS
)


def lever(key: str, levers: tuple[Lever, ...]) -> Lever:
    return next(lv for lv in levers if lv.key == key)


def expand(key: str, countries: list[str]) -> list[str]:
    """A `governments.*.attr` key as one key per country; any other key as itself."""
    if key.startswith("governments.*."):
        return [key.replace("*", cc, 1) for cc in countries]
    return [key]


# --- shocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shock:
    """A facilitator's injected event: the changes it makes and the line the feed shows."""

    name: str
    label: str
    per_country: bool
    size_label: str = ""  # "" when the shock has no size
    size_range: tuple[int, int, int] = (0, 0, 0)  # low, high, default (percent)
    build: Callable[[MineralMarket, str, float], tuple[dict[str, Any], str]] = field(
        default=lambda model, country, size: ({}, ""), repr=False
    )

    def changes(self, model: MineralMarket, country: str, size: float) -> tuple[dict, str]:
        """(dotted key -> value, feed text) for this shock on this market now."""
        return self.build(model, country, size)


def _export_ban(model: MineralMarket, country: str, size: float) -> tuple[dict, str]:
    return (
        {"supplier.strategy": "restrict", "supplier.quota_cut": 1.0},
        "export ban: the dominant supplier stops all exports to the allied market",
    )


def _demand_surge(model: MineralMarket, country: str, size: float) -> tuple[dict, str]:
    now = model.demand.base["allied"] * 4.0  # t/yr at the reference price, after growth
    new = now * (1.0 + size / 100.0)
    return (
        {"demand.allied": new},
        f"allied demand surges {size:.0f} % (to {new:,.0f} t/yr at the reference price)",
    )


def _budget_cut(model: MineralMarket, country: str, size: float) -> tuple[dict, str]:
    gov = model.governments[country]
    keep = 1.0 - size / 100.0
    floor, stock = gov.floor_budget * keep, gov.stockpile_budget * keep
    return (
        {
            f"governments.{country}.floor_budget": floor,
            f"governments.{country}.stockpile_budget": stock,
        },
        f"{country} cuts its floor and stockpile budgets by {size:.0f} % "
        f"(floor budget left {floor:,.0f} USD m)",
    )


def _member_leaves(model: MineralMarket, country: str, size: float) -> tuple[dict, str]:
    # Leaving stops the counter-moves outright: under a standing response membership alone
    # changes nothing, so its levers go to zero too.
    changes = {f"governments.{country}.member": False}
    for attr in ("floor_price", "duty", "stockpile_days", "financing"):
        changes[f"governments.{country}.{attr}"] = 0.0
    return (
        changes,
        f"{country} leaves the alliance: its floor, duty, stockpile buying and finance stop",
    )


SHOCKS: dict[str, Shock] = {
    s.name: s
    for s in (
        Shock("export_ban", "Export ban", False, build=_export_ban),
        Shock(
            "demand_surge",
            "Demand surge",
            False,
            "Surge in allied demand",
            (10, 100, 30),
            build=_demand_surge,
        ),
        Shock(
            "budget_cut",
            "Budget cut",
            True,
            "Cut in the country's budgets",
            (10, 100, 50),
            build=_budget_cut,
        ),
        Shock("member_leaves", "A member leaves the alliance", True, build=_member_leaves),
    )
}

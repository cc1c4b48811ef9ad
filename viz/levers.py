"""What a player may pull, what a facilitator may inject, and how each reads on the page.

The keys are the model's dotted keys (`market/schema.py`); this module only adds what the game
needs on top: a label a student understands, the unit shown and a slider's step. A slider spans
the lever's sensible range in the lever catalog (`market/levers.py`; the schema's ranges are the
model's limits, far wider), the same ends `minerals levers` tries. Controls follow Mesa's
`UserInputs` format, so the game's parameter controls are SolaraViz's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
        low, high = min(self.low, shown), max(self.high, shown)
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
    key: str, label: str, step: float, unit: str = "", scale: float = 1.0, short: str = ""
) -> Lever:
    """A slider over the catalog's range for `key`, shown in `unit` (`scale` shown per model
    value: 100 shows a share as a percentage)."""
    row = catalog_row(key)
    kind = row.field.kind
    low, high = (round(end * scale, 9) for end in (row.low, row.high))
    return Lever(key, label, kind, low, high, step, unit, scale, short=short)


COALITION_LEVERS: tuple[Lever, ...] = (
    ranged("governments.*.floor_price", "Price floor", 5, "USD/kg"),
    ranged("governments.*.floor_budget", "Floor budget left", 50, "USD m"),
    ranged("governments.*.duty", "Anti-dumping duty", 5, "%", 100.0),
    ranged("governments.*.stockpile_days", "Stockpile target", 10, "days"),
    ranged("governments.*.stockpile_budget", "Stockpile budget left", 50, "USD m"),
    ranged("governments.*.stockpile_release_above", "Release stock above", 10, "USD/kg"),
    ranged("governments.*.financing", "Cheap finance for new capacity", 10, "%", 100.0),
    Lever("governments.*.asset_review", "Asset review: block sales of bankrupt plants", "bool"),
)

SUPPLIER_LEVERS: tuple[Lever, ...] = (
    Lever("supplier.strategy", "Strategy", "choice", choices=STRATEGIES),
    ranged("supplier.price_allied", "Price into the allied market (0: strategy)", 1, "USD/kg"),
    ranged("supplier.price_world", "Price into the rest of the world (0: strategy)", 1, "USD/kg"),
    ranged("supplier.quota_cut", "Export quota cut (under restrict)", 5, "%", 100.0),
)

# Levers a replay may change (Compare). `governments.*` changes every member at once.
COMPARE_LEVERS: tuple[Lever, ...] = (
    ranged("supplier.budget", "Supplier's state budget", 100, "USD m"),
    ranged("supplier.dump_depth", "Dumping depth under allied cost", 5, "%", 100.0),
    Lever("supplier.strategy", "Supplier's strategy at the start", "choice", choices=STRATEGIES),
    Lever("alliance.response", "Alliance response", "choice", choices=RESPONSES),
    ranged("alliance.coordination_delay", "Coordination delay", 1, "quarters"),
    ranged("alliance.cohesion", "Alliance cohesion", 5, "%", 100.0),
    ranged("governments.US.floor_price", "US price floor", 5, "USD/kg"),
    ranged("governments.US.floor_budget", "US floor budget", 100, "USD m"),
    ranged("governments.*.duty", "Duty, every member", 5, "%", 100.0, short="anti-dumping duty"),
    ranged(
        "governments.*.financing",
        "Cheap finance, every member",
        10,
        "%",
        100.0,
        short="cheap finance for new capacity",
    ),
    Lever("governments.*.asset_review", "Asset review, every member", "bool", short="asset review"),
    ranged("governments.JP.stockpile_days", "Japan's stockpile target", 10, "days"),
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

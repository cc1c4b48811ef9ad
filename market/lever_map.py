"""The one lever map: each dotted key of the schema and the attribute it sets in a running model.

A key's leaf is the attribute's name, on the object its section names: `supplier.budget` is the
dominant supplier's `budget`, `alliance.cohesion` the response group's `cohesion`,
`governments.US.duty` the US government's `duty`, `producers.US-1.capex` row US-1 of the
producers' `capex` column. Keys that describe the scenario rather than the market (its name,
its calibration references) set nothing, and a few keys only set the start.

`MineralMarket.apply`, the game's controls and current values, and the players' keys all read
this map; a test checks that every settable key reaches an attribute that exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from market.schema import FIELDS, ScenarioError, field_for

if TYPE_CHECKING:
    from market.model import MineralMarket


@dataclass(frozen=True)
class Target:
    holder: str  # which object of the model holds the attribute (see `holder_of`)
    attr: str
    during_run: bool = True  # False: read when the model is built, fixed after


# Section of a dotted key -> the holder of its attributes.
HOLDERS = {
    "quarters": "model",
    "demand": "demand",
    "supplier": "supplier",
    "alliance": "response_group",
    "finance": "finance",
    "trade": "trade",
    "governments": "government",
    "producers": "producers",
    "recyclers": "recyclers",
    "learning": "learning",
}

# Keys that describe a scenario, not its market: no attribute behind them.
DESCRIPTIVE = ("name", "description", "preset", "mineral", "calibration.")

# Keys that only shape the start: the stock a government holds at quarter 0, and whether a
# deposit is known (mapping finds it during a run).
START_ONLY = frozenset({"governments.*.stockpile_initial_days", "producers.*.found"})

LEVER_MAP: dict[str, Target] = {
    pattern: Target(
        HOLDERS[pattern.split(".")[0]], pattern.rsplit(".", 1)[-1], pattern not in START_ONLY
    )
    for pattern in FIELDS
    if not pattern.startswith(DESCRIPTIVE)
}


def target(path: str) -> Target | None:
    """The target of a dotted key (`governments.US.duty` matches `governments.*.duty`), or None
    for a key that sets nothing."""
    if field_for(path) is None:
        return None
    parts = path.split(".")
    pattern = f"{parts[0]}.*.{parts[2]}" if len(parts) == 3 else path
    return LEVER_MAP.get(pattern)


def settable(path: str) -> bool:
    """Whether a key may change while a model runs (an event, a decision, a shock)."""
    found = target(path)
    return found is not None and found.during_run


def refuse_unless_settable(path: str) -> None:
    """Raise ScenarioError, one line, for a key that cannot change during a run."""
    found = target(path)
    if found is None:
        raise ScenarioError(f"{path}: describes the scenario; it cannot change during a run")
    if not found.during_run:
        raise ScenarioError(f"{path}: sets the start only; it cannot change during a run")


def holder_of(model: MineralMarket, path: str) -> tuple[Any, str, int | None]:
    """(object, attribute, row) a key reaches in `model`; row is the firm's row in its book."""
    found = target(path)
    if found is None:
        raise ScenarioError(f"{path}: describes the scenario; no attribute of the market holds it")
    parts = path.split(".")
    if found.holder == "model":
        return model, found.attr, None
    if found.holder == "government":
        return model.governments[parts[1]], found.attr, None
    if found.holder in ("producers", "recyclers"):
        book = getattr(model, found.holder)
        return book, found.attr, book.ids.index(parts[1])
    return getattr(model, found.holder), found.attr, None


def read(model: MineralMarket, path: str) -> Any:
    """What the market runs on now for a key (a budget is the money left)."""
    obj, attr, row = holder_of(model, path)
    value = getattr(obj, attr)
    if row is None:
        return value
    value = value[row]
    return value.item() if hasattr(value, "item") else value


def write(model: MineralMarket, path: str, value: Any) -> None:
    """Set the attribute behind a key to an already validated value."""
    obj, attr, row = holder_of(model, path)
    if not hasattr(obj, attr):
        raise LookupError(f"lever map: {path} names {type(obj).__name__}.{attr}, which is missing")
    if row is None:
        setattr(obj, attr, value)
    else:
        obj.set(row, attr, value)

"""Why a lever can change nothing in a scenario: the one place that knows.

`inert(spec, key)` gives the reason a lever cannot act in a scenario, read from the scenario
itself (the allies' response is off; no allied firm is in that country; a floor with no budget)
and, where runs of the scenario as it is have been played, from what they show (the response
never comes into force; no plant is ever sold). `set_again(spec, key)` says when a timeline
event will replace a value given from outside. `minerals levers` marks the levers that had no
effect with these reasons, and the browser game's Compare panel warns before a replay that
would change nothing.

Each rule follows from how the model uses the lever (agents/government.py, agents/supplier.py):
a lever is inert when the only code that reads it cannot run in this scenario, whatever value
the lever takes. A value a timeline event sets counts too: the rules read every value a key
takes over the run. Small and rule-based on purpose; a lever with no rule here that still
changes nothing is reported by the tool as having no measurable effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from market.scenarios import Scenario, event_setting

# What the runs of a scenario as it is show: their run metrics (`market.play.Run.metrics()`),
# one mapping a seed.
Seen = Sequence[Mapping[str, Any]]

GOVERNMENT_LEVERS = frozenset(
    {
        "floor_price",
        "floor_budget",
        "floor_upside_share",
        "duty",
        "stockpile_days",
        "stockpile_budget",
        "stockpile_release_above",
        "financing",
        "finance_budget",
        "finance_abroad",
        "duty_term",
        "next_election",
        "election_every",
        "asset_review",
        "mapping",
    }
)
# Standing law or a standing programme, in force whenever the allies pull levers at all, for
# members and others alike: not held back by a coordinated response's membership or activation.
STANDING = frozenset({"asset_review", "mapping"})
# A budget also sets how hard spending presses a member to defect (`Government.fiscal_pressure`)
# under a coordinated response with cohesion under 1, so there it is never inert for want of use.
BUDGETS = frozenset({"floor_budget", "stockpile_budget"})
RESPONSE_SETTINGS = frozenset({"coordination_delay", "cohesion", "stand_down", "election_risk"})
# What only a coordinated response reads: an order's term, elections.
COORDINATED_ONLY = frozenset({"duty_term", "next_election", "election_every"})
NO_WAR = frozenset({"market", "restrict"})  # strategies under which the supplier never dumps


def inert(spec: Scenario, key: str, seen: Seen = ()) -> str | None:
    """The reason `key` cannot change a run of `spec`, or None when it may.

    `key` is a dotted key; `governments.*.<lever>` is every government at once (inert only
    if inert for each). `seen` are the metrics of runs of `spec` as it is (one a seed): a
    reason read from them holds only if every run shows it."""
    parts = key.split(".")
    if parts[0] == "governments" and len(parts) == 3:
        return _government(spec, parts[1], parts[2], seen)
    if parts[0] == "alliance" and parts[-1] in RESPONSE_SETTINGS:
        return _response_setting(spec, seen)
    if key in (
        "alliance.marketplace_charge",
        "alliance.joint_stockpile",
        "alliance.tech_transfer",
    ) and _response_off(spec):
        return "the allies' response is off in this scenario (alliance.response = none)"
    if key == "alliance.tech_transfer" and _always(spec, "learning.rate", lambda v: not v):
        return (
            "costs do not learn in this scenario (learning.rate = 0), so there is nothing to share"
        )
    if key == "alliance.joint_stockpile" and not any(
        _stock_possible(spec, c) for c in spec.params["governments"]
    ):
        return "no government ever holds a stockpile to share"
    if parts[0] == "supplier":
        return _supplier(spec, parts[-1], seen)
    return None


def set_again(spec: Scenario, key: str) -> str | None:
    """'the scenario's event at Q5 sets it again (...)' when a timeline event changes `key`
    later, so that a value given from outside holds only until then; None otherwise."""
    event = event_setting(spec, key)
    if event is None:
        return None
    label = f" ({event.label})" if event.label else ""
    return f"the scenario's event at Q{event.quarter} sets it again{label}"


# --- what a run of the scenario can hold --------------------------------------------------------


def values(spec: Scenario, path: str) -> list[Any]:
    """Every value `path` takes in a run of `spec`: its start, then what each event sets."""
    return [spec.get(path), *(e.changes[path] for e in spec.events if path in e.changes)]


def _always(spec: Scenario, path: str, test: Callable[[Any], bool]) -> bool:
    return all(test(v) for v in values(spec, path))


def _every_run(seen: Seen, test: Callable[[Mapping[str, Any]], bool]) -> bool:
    return bool(seen) and all(test(m) for m in seen)


def _response_off(spec: Scenario) -> bool:
    return _always(spec, "alliance.response", lambda v: v == "none")


def _coordinated(spec: Scenario) -> bool:
    return _always(spec, "alliance.response", lambda v: v == "coordinated")


def _budget_pressure(spec: Scenario) -> bool:
    """Whether members may ever weigh their spending against staying in the response."""
    return "coordinated" in values(spec, "alliance.response") and any(
        v < 1.0 for v in values(spec, "alliance.cohesion")
    )


def _firms_in(spec: Scenario, country: str) -> bool:
    """Whether an allied producer or recycler is ever in `country`."""
    for book in ("producers", "recyclers"):
        for firm in spec.params.get(book) or {}:
            if country in values(spec, f"{book}.{firm}.country"):
                return True
    return False


# --- the rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A reason one government's lever cannot act: which levers, when (given the scenario,
    the country and what its runs show), and why, said of that country."""

    levers: frozenset[str]
    holds: Callable[[Scenario, str, Seen], bool]
    why: str


def _zero(attr: str) -> Callable[[Scenario, str, Seen], bool]:
    return lambda spec, c, seen: _always(spec, f"governments.{c}.{attr}", lambda v: not v)


def _no_stock_at_start(spec: Scenario, c: str) -> bool:
    return not spec.get(f"governments.{c}.stockpile_initial_days")


def _stock_possible(spec: Scenario, c: str) -> bool:
    """Whether the country holds a stock at the start or has a target and money to buy one."""
    return not _no_stock_at_start(spec, c) or not (
        _zero("stockpile_days")(spec, c, ()) or _zero("stockpile_budget")(spec, c, ())
    )


def _never_above_floor(spec: Scenario, c: str, seen: Seen) -> bool:
    """No price in any region (so no firm's netback) ever rose above the country's floor."""
    floor = min(values(spec, f"governments.{c}.floor_price"))
    regions = ("price_allied_max", "price_world_max", "price_home_max")
    return floor > 0 and _every_run(
        seen, lambda m: all(m[r] is None or m[r] <= floor for r in regions)
    )


MEMBERSHIP = Rule(
    GOVERNMENT_LEVERS - STANDING,
    lambda spec, c, seen: _coordinated(spec) and _zero("member")(spec, c, seen),
    "not a member of the response group (member = false), and a coordinated response puts "
    "only members' levers in force",
)

GOVERNMENT_RULES: tuple[Rule, ...] = (
    MEMBERSHIP,
    Rule(
        frozenset(
            {"floor_price", "floor_budget", "floor_upside_share", "financing", "asset_review"}
        ),
        lambda spec, c, seen: not _firms_in(spec, c),
        "no allied producer or recycler is there",
    ),
    Rule(
        frozenset({"floor_price", "floor_upside_share"}),
        _zero("floor_budget"),
        "no floor budget (floor_budget = 0)",
    ),
    Rule(
        frozenset({"floor_budget", "floor_upside_share"}),
        _zero("floor_price"),
        "no price floor (floor_price = 0)",
    ),
    Rule(
        frozenset({"floor_upside_share"}),
        _never_above_floor,
        "the price never rises above its floor in this scenario's runs, so there is no upside "
        "to share",
    ),
    Rule(
        frozenset({"duty", "stockpile_days", "stockpile_budget", "stockpile_release_above"}),
        _zero("demand_share"),
        "its buyers take no share of allied demand (demand_share = 0)",
    ),
    Rule(
        frozenset({"stockpile_budget"}),
        _zero("stockpile_days"),
        "no stockpile target (stockpile_days = 0)",
    ),
    Rule(
        frozenset({"stockpile_days"}),
        lambda spec, c, seen: (
            _zero("stockpile_budget")(spec, c, seen) and _no_stock_at_start(spec, c)
        ),
        "no stockpile money and no stock held (stockpile_budget = 0, stockpile_initial_days = 0)",
    ),
    Rule(
        frozenset({"stockpile_release_above"}),
        lambda spec, c, seen: (
            _no_stock_at_start(spec, c)
            and (_zero("stockpile_days")(spec, c, seen) or _zero("stockpile_budget")(spec, c, seen))
        ),
        "never holds a stockpile to release (none at the start, and no target or no money to "
        "buy one)",
    ),
    Rule(
        frozenset({"finance_budget", "finance_abroad"}),
        _zero("financing"),
        "lends nothing (financing = 0)",
    ),
    Rule(
        COORDINATED_ONLY,
        lambda spec, c, seen: not _coordinated(spec),
        "only a coordinated response imposes orders and holds elections that can end it "
        "(alliance.response is not coordinated)",
    ),
    Rule(frozenset({"duty_term"}), _zero("duty"), "levies no duty (duty = 0)"),
    Rule(
        frozenset({"next_election", "election_every"}),
        lambda spec, c, seen: _always(spec, "alliance.election_risk", lambda v: not v),
        "no new government ever leaves (alliance.election_risk = 0)",
    ),
)


def _government(spec: Scenario, who: str, attr: str, seen: Seen) -> str | None:
    """Rules for one government's lever (`who` a country), or every government's (`*`)."""
    if attr not in GOVERNMENT_LEVERS:
        return None
    if _response_off(spec):
        return "the allies' response is off in this scenario (alliance.response = none)"
    if (
        attr not in STANDING
        and _coordinated(spec)
        and _every_run(seen, lambda m: not m["response_active_quarters"])
    ):
        return "the response group never comes into force in this scenario's runs"
    if attr == "asset_review" and _every_run(
        seen, lambda m: not m["bankruptcies_final"] and not m["closures_final"]
    ):
        return "no allied plant closes or fails in this scenario's runs, so none is for sale"
    countries = list(spec.params["governments"]) if who == "*" else [who]
    rules = [r for r in GOVERNMENT_RULES if attr in r.levers]
    if attr in BUDGETS and _budget_pressure(spec):
        rules = [MEMBERSHIP]  # a member's budget weighs on its staying, used or not
    groups: dict[str, list[str]] = {}
    for c in countries:
        rule = next((r for r in rules if r.holds(spec, c, seen)), None)
        if rule is None:
            return None
        groups.setdefault(rule.why, []).append(c)
    return "; ".join(
        f"{'every government' if who == '*' and cs == countries else ', '.join(cs)}: {why}"
        for why, cs in groups.items()
    )


def _response_setting(spec: Scenario, seen: Seen) -> str | None:
    """The response group's own settings act only when it coordinates and has a flag to act on."""
    if "coordinated" not in values(spec, "alliance.response"):
        shown = "/".join(dict.fromkeys(values(spec, "alliance.response")))
        return (
            "the response group's settings act only under a coordinated response "
            f"(alliance.response = {shown})"
        )
    if _every_run(seen, lambda m: not m["dumping_quarters"] and not m["disruption_quarters"]):
        return (
            "neither dumping nor a disruption is ever flagged in this scenario's runs, so the "
            "response group never forms"
        )
    return None


def _first(spec: Scenario, path: str, test: Callable[[Any], bool]) -> int | None:
    """The first quarter `path` passes `test`: 0 from the start, else the quarter of the event
    that makes it so; None if it never does."""
    if test(spec.get(path)):
        return 0
    return next(
        (e.quarter for e in spec.events if path in e.changes and test(e.changes[path])), None
    )


def _supplier(spec: Scenario, attr: str, seen: Seen) -> str | None:
    """The supplier's instruments act only under the strategies that read them: the dumping
    depth in a price war, the quota cut under `restrict`, the budget in a price war or to
    name a price under the market."""
    strategies = values(spec, "supplier.strategy")
    shown = "/".join(dict.fromkeys(strategies))
    if attr == "budget":
        war = _first(spec, "supplier.strategy", lambda v: v not in NO_WAR)
        named = [
            _first(spec, f"supplier.{k}", lambda v: v > 0) for k in ("price_allied", "price_world")
        ]
        used = min([q for q in (war, *named) if q is not None], default=None)
        if used is None:
            return (
                "the supplier never wages a price war or names a price here "
                f"(supplier.strategy = {shown}), so its budget pays for nothing"
            )
        return _replaced_before(spec, attr, used, "the supplier can first draw on its budget")
    if attr == "dump_depth":
        used = _first(spec, "supplier.strategy", lambda v: v not in NO_WAR)
        if used is None:
            return f"the supplier never dumps in this scenario (supplier.strategy = {shown})"
        if _every_run(seen, lambda m: not m["campaign_running_quarters"]):
            return "the supplier never wages a price war in this scenario's runs"
        return _replaced_before(spec, attr, used, "the supplier can first dump")
    if attr == "quota_cut":
        used = _first(spec, "supplier.strategy", lambda v: v == "restrict")
        if used is None:
            return (
                "the supplier never restricts its exports in this scenario "
                f"(supplier.strategy = {shown})"
            )
        return _replaced_before(spec, attr, used, "the supplier first restricts its exports")
    return None


def _replaced_before(spec: Scenario, attr: str, used: int, what: str) -> str | None:
    """Why the start value of a supplier setting is never read: an event sets it again no
    later than the quarter (`used`, 0 the start) from which the supplier can read it."""
    event = event_setting(spec, f"supplier.{attr}")
    if used == 0 or event is None or event.quarter > used:
        return None
    return (
        f"the event at Q{event.quarter} sets it again by the time {what} (Q{used}), so the "
        "value it starts with is never used"
    )

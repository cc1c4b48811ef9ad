"""The scenario schema: every parameter, its type, unit and allowed range, in one place.

A scenario is a nested mapping (a TOML file). Every leaf has a dotted path such as
`supplier.budget` or `governments.US.floor_price`; a `*` in a pattern below stands for one entry
of a keyed table (a government's country code, a producer's id). The same paths serve the model's
keyword overrides, the CLI's `--set`, sweeps, timeline events and the browser controls.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

COUNTRIES = ("US", "AU", "JP", "MY", "TH")
STRATEGIES = ("market", "dump", "restrict", "adaptive")
RESPONSES = ("none", "standing", "coordinated")
DUMPING_TESTS = ("areeda_turner", "cash_cost", "either")


class ScenarioError(ValueError):
    """A scenario, override or event that cannot be used; the message is one line for a user.

    The line is made safe here, whatever went into it: control characters (a newline in a key
    or a value) are shown escaped, an over-long line is cut, and an empty one says so."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


MAX_MESSAGE = 600  # characters of a message; the rest is cut


def one_line(message: object) -> str:
    """`message` as one printable line of at most MAX_MESSAGE characters."""
    try:
        text = str(message)
    except Exception:  # a str() that fails (an int too long to print, say)
        text = ""
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text).strip()
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return text or "invalid input (no detail given)"


def show(value: Any, limit: int = 60) -> str:
    """A short, safe repr of a value for a message: a huge whole number by its size, a long
    text cut."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {len(str(abs(value))) if value.bit_length() < 14_000 else 'many'}-digit number"
    try:
        text = repr(value)
    except Exception:
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Field:
    kind: str  # "float", "int", "bool", "str", "choice"
    doc: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    default: Any = None  # a key with a default may be left out of a scenario

    def allowed(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return "a string"
        noun = "a whole number" if self.kind == "int" else "a number"
        unit = f" ({self.unit})" if self.unit else ""
        return f"{noun} from {_fmt(self.low)} to {_fmt(self.high)}{unit}"

    def check(self, path: str, value: Any) -> Any:
        """Return the value in its proper type, or raise ScenarioError naming the path."""
        ok = True
        if self.kind in ("float", "int"):
            # Compared as given: an int against a float bound is exact in Python, so a whole
            # number too large for a float is refused by its range, not by an OverflowError.
            bad_float = isinstance(value, float) and (
                not math.isfinite(value) or (self.kind == "int" and not value.is_integer())
            )
            if isinstance(value, bool) or not isinstance(value, int | float) or bad_float:
                ok = False
            else:
                # In its type, as messages show it (-5.0 for a number); an int too large for
                # a float stays as it is, and its range refuses it.
                with contextlib.suppress(OverflowError):
                    value = int(value) if self.kind == "int" else float(value)
                ok = self.low <= value <= self.high
        elif self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "str":
            ok = isinstance(value, str)
        elif self.kind == "choice":
            ok = value in self.choices
        if not ok:
            raise ScenarioError(f"{path}: expected {self.allowed()}, got {show(value)}")
        return value


def _fmt(x: float | None) -> str:
    return f"{x:g}" if x is not None else "?"


def F(doc: str, unit: str, low: float, high: float, default: float | None = None) -> Field:
    return Field("float", doc, unit, low, high, default=default)


def I(doc: str, unit: str, low: int, high: int, default: int | None = None) -> Field:  # noqa: E743
    return Field("int", doc, unit, low, high, default=default)


_FIRM = {
    "country": Field(
        "choice", "where the plant is; its government's levers apply", choices=COUNTRIES
    ),
    "capacity": F("output it can make now", "t/yr", 0, 1e7),
    "cash_cost": F("cash cost of a unit of output (average variable cost)", "USD/kg", 0, 1e4),
    "fixed_cost": F("costs paid whether it produces or not", "USD m/yr", 0, 1e5),
    "cash": F("cash at the start; the firm is bankrupt when it runs out", "USD m", 0, 1e6),
    "debt": F("debt at the start, serviced at finance.interest_rate", "USD m", 0, 1e6),
    "lead_time": I("quarters from an investment decision to new capacity", "quarters", 1, 80),
    "expansion": F("capacity added by one investment", "t/yr", 0, 1e7),
    "capex": F("capital cost of new capacity", "USD m per kt/yr", 0, 1e5),
    "idle_cost": F(
        "share of its fixed costs it still pays while its plant is on care and maintenance",
        "share",
        0,
        1,
        default=0.15,
    ),
    "restart_cost": F(
        "cost of starting an idle plant again, as a share of the plant's capital cost",
        "share",
        0,
        1,
        default=0.02,
    ),
    "restart_lag": I(
        "quarters from the decision to restart to output again", "quarters", 0, 40, default=2
    ),
    "salvage": F(
        "share of the plant's capital cost its sale fetches when the firm closes",
        "share",
        0,
        1,
        default=0.1,
    ),
    "backer_cash": F(
        "cash a parent or backer will put in when the firm's own runs out",
        "USD m",
        0,
        1e6,
        default=0.0,
    ),
}

FIELDS: dict[str, Field] = {
    "name": Field("str", "short name shown in lists"),
    "description": Field("str", "one line on what the scenario shows"),
    "preset": Field(
        "str", "mineral preset the scenario starts from (ndpr, lithium, graphite, gallium)"
    ),
    "mineral": Field("str", "the product the prices refer to"),
    "quarters": I("length of a run", "quarters", 1, 400),
    # demand
    "demand.home": F(
        "demand of the dominant country's own buyers at the reference price", "t/yr", 0, 1e8
    ),
    "demand.allied": F("allied buyers' demand at the reference price", "t/yr", 0, 1e8),
    "demand.world": F("rest-of-world demand at the reference price", "t/yr", 0, 1e8),
    "demand.reference_price": F("price at which demand is as given", "USD/kg", 0.01, 1e6),
    "demand.elasticity": F("short-run price elasticity of demand", "", -2.0, -0.01),
    "demand.growth": F("demand growth", "share a year", -0.5, 1.0),
    "demand.noise": F("standard deviation of the quarterly demand shock (log)", "", 0, 1),
    "demand.substitution_rate": F(
        "share of demand lost a year to substitution while prices stay high", "share a year", 0, 0.5
    ),
    "demand.substitution_threshold": F(
        "price, as a multiple of the reference price, above which buyers substitute", "x", 1, 100
    ),
    "demand.substitution_recovery": F(
        "share of lost demand that returns a year once prices are back down", "share a year", 0, 1
    ),
    "demand.stock_weeks": F(
        "working stock consumers and traders hold, in weeks of their use",
        "weeks",
        0,
        104,
        default=0.0,
    ),
    "demand.stock_carry": F(
        "how far over (under) the price they expect holders sell out of (buy into) stock: "
        "the cost of holding it and their margin",
        "share",
        0,
        1,
        default=0.1,
    ),
    "demand.defence_share": F(
        "share of allied consumers' demand that is defence; served first when supply is short",
        "share",
        0,
        1,
        default=0.0,
    ),
    "demand.price_cap": F(
        "highest price buyers pay; demand beyond it goes unmet (shortage)", "USD/kg", 0.1, 1e7
    ),
    # trade between the regions
    "trade.freight": F(
        "cost of shipping a kg between two regions (freight, insurance, handling)", "USD/kg", 0, 1e4
    ),
    "trade.home_imports": Field(
        "bool",
        "allied firms may sell into the dominant country's own market (false: its imports "
        "need a licence it does not give)",
        default=False,
    ),
    "trade.reroute_cost": F(
        "extra cost of shipping the dominant side's goods into the allied market through a third "
        "country (relabelling, a second leg, the risk of being caught)",
        "USD/kg",
        0,
        1e4,
        default=0.0,
    ),
    # dominant supplier
    "supplier.strategy": Field("choice", "how the dominant supplier plays", choices=STRATEGIES),
    "supplier.capacity": F(
        "output capacity of all its plants; grows with demand plus `overbuild`", "t/yr", 0, 1e9
    ),
    "supplier.cash_cost": F(
        "average variable cost of its plants; above 0, or its prices are undefined",
        "USD/kg",
        0.01,
        1e4,
    ),
    "supplier.blocks": I(
        "plants (capacity blocks) its capacity is split into, from cheapest to dearest",
        "",
        1,
        50,
        default=1,
    ),
    "supplier.cost_spread": F(
        "how far its cheapest and dearest plants' cash costs lie either side of the average",
        "share",
        0,
        0.95,
        default=0.0,
    ),
    "supplier.conduct": F(
        "how far the state coordinates its plants' pricing: 0 they compete (price at the "
        "marginal plant's cost), 1 they act as one dominant firm (Lerner markup)",
        "",
        0,
        1,
        default=1.0,
    ),
    "supplier.overbuild": F(
        "capacity the state plans beyond demand growth (0: capacity keeps pace with demand)",
        "share a year",
        -0.5,
        1,
        default=0.0,
    ),
    "supplier.production_quota": F(
        "the state's cap on its plants' output; 0 for none", "t/yr", 0, 1e9, default=0.0
    ),
    "supplier.perceived_elasticity": F(
        "elasticity of world demand the supplier prices against (substitution and entry threat)",
        "",
        1.01,
        50,
    ),
    "supplier.fringe_elasticity": F(
        "supply elasticity of the competitive fringe the supplier expects", "", 0, 50
    ),
    "supplier.budget": F(
        "state budget that pays for the profit given up (against market play) while it dumps "
        "or names prices under the market",
        "USD m",
        0,
        1e6,
    ),
    "supplier.dump_depth": F(
        "how far under the lowest allied cash cost it prices the allied market when dumping",
        "share",
        0,
        0.95,
    ),
    "supplier.quota_cut": F(
        "export quota under `restrict`: the cut of its exports (allied and rest of world) "
        "against the year before",
        "share",
        0,
        1,
    ),
    "supplier.price_allied": F(
        "net price it names for the allied market, overriding its strategy; 0: the strategy "
        "decides",
        "USD/kg",
        0,
        1e6,
        default=0.0,
    ),
    "supplier.price_world": F(
        "price it names for the rest of the world; 0: the strategy decides",
        "USD/kg",
        0,
        1e6,
        default=0.0,
    ),
    "supplier.campaign_review": Field(
        "bool",
        "weighs each quarter whether a price war still pays (the recoupment it can expect "
        "against the cost of finishing it) and stops one that does not; false: it dumps until "
        "told otherwise or its budget is spent",
        default=True,
    ),
    "supplier.reroute_share": F(
        "share of its allied-bound goods it ships through third countries, escaping the duty and "
        "the marketplace's charge for `trade.reroute_cost` (leakage)",
        "share",
        0,
        1,
        default=0.0,
    ),
    "supplier.adaptive_trigger": F(
        "allied producers' share of the allied market that starts an adaptive campaign",
        "share",
        0,
        1,
    ),
    "supplier.adaptive_exit_target": F(
        "share of allied capacity that must exit before an adaptive campaign stops", "share", 0, 1
    ),
    # alliance
    "alliance.response": Field(
        "choice",
        "none: no lever is pulled; standing: levers in force from the start; "
        "coordinated: levers switched on by the rapid-response group",
        choices=RESPONSES,
    ),
    "alliance.coordination_delay": I(
        "quarters between the first dumping flag and the response", "quarters", 0, 40
    ),
    "alliance.cohesion": F(
        "chance a member joins the response, and how firmly it stays under budget pressure",
        "probability",
        0,
        1,
    ),
    "alliance.dumping_test": Field(
        "choice",
        "areeda_turner: supplier's net price under its own cash cost; cash_cost: allied price "
        "under the allied producers' average cash cost for flag_quarters; either",
        choices=DUMPING_TESTS,
    ),
    "alliance.stand_down": I(
        "quarters without a dumping flag after which the response stands down; 0 never",
        "quarters",
        0,
        40,
    ),
    "alliance.flag_quarters": I(
        "quarters under allied cash cost before the flag", "quarters", 1, 20
    ),
    "alliance.marketplace_charge": F(
        "what supply from outside the allies' high-standard marketplace (the dominant side's) "
        "pays to sell into the allied market while the allies' levers are in force: "
        "traceability, audits, a standards levy; at the price cap it is excluded",
        "USD/kg",
        0,
        1e7,
        default=0.0,
    ),
    "alliance.joint_stockpile": Field(
        "bool",
        "members draw on each other's strategic stock: a release may serve every member's "
        "buyers (false: each stock serves only its own country's buyers' shortfall)",
        default=False,
    ),
    "alliance.election_risk": F(
        "chance a member's new government leaves the response at an election, when it carries "
        "its demand share of the group's spending (more if it carries more, less if less)",
        "probability",
        0,
        1,
        default=0.0,
    ),
    # finance
    "finance.interest_rate": F("commercial cost of capital", "share a year", 0, 1),
    "finance.concessional_rate": F("interest on government project finance", "share a year", 0, 1),
    "finance.asset_life": I("years over which new capacity must pay back", "years", 1, 60),
    # calibration references (not model inputs; tests and docs compare runs with them)
    "calibration.price_low": F("low end of the preset's observed price band", "USD/kg", 0, 1e6),
    "calibration.price_high": F("high end of the preset's observed price band", "USD/kg", 0, 1e6),
    "calibration.dominant_share": F("dominant supplier's observed share of supply", "share", 0, 1),
    # governments, one table per allied country
    "governments.*.member": Field("bool", "member of the rapid-response group"),
    "governments.*.demand_share": F("its share of allied demand", "share", 0, 1),
    "governments.*.floor_price": F(
        "price floor (contract for difference) for its producers; 0 for none", "USD/kg", 0, 1e6
    ),
    "governments.*.floor_budget": F("money the floor may pay out", "USD m", 0, 1e6),
    "governments.*.floor_upside_share": F(
        "share of the price above the floor the government takes", "share", 0, 1
    ),
    "governments.*.duty": F(
        "anti-dumping duty on the dominant supplier's sales (0.935 = 93.5 %)", "share", 0, 10
    ),
    "governments.*.duty_term": I(
        "quarters an anti-dumping order runs before its sunset review (0: the duty holds only "
        "while the response does); each year of it the rate is reset to the dumping margin found",
        "quarters",
        0,
        400,
        default=20,
    ),
    "governments.*.stockpile_days": F("strategic stockpile target", "days of consumption", 0, 730),
    "governments.*.stockpile_initial_days": F("stockpile held at the start", "days", 0, 730),
    "governments.*.stockpile_budget": F("money for stockpile purchases", "USD m", 0, 1e6),
    "governments.*.stockpile_buy_below": F("buys only at or below this price", "USD/kg", 0, 1e6),
    "governments.*.stockpile_release_above": F(
        "releases when the price is above this, or in a shortage", "USD/kg", 0, 1e7
    ),
    "governments.*.stockpile_sell_off": F(
        "a support scheme: once its stockpile money is spent it sells its stock over this many "
        "quarters at any price (0: it keeps its stock)",
        "quarters",
        0,
        400,
        default=0.0,
    ),
    "governments.*.financing": F(
        "share of its producers' new capacity financed at the concessional rate", "share", 0, 1
    ),
    "governments.*.finance_budget": F(
        "concessional loans it may make in all (a framework's cap)", "USD m", 0, 1e6, default=1e6
    ),
    "governments.*.finance_abroad": Field(
        "bool",
        "its concessional loans also reach other members' producers (a framework that crosses "
        "borders)",
        default=False,
    ),
    "governments.*.next_election": I(
        "quarter of its next election (0: none in the run)", "quarter", 0, 400, default=0
    ),
    "governments.*.election_every": I(
        "quarters between its elections after that (0: just the one)", "quarters", 0, 400, default=0
    ),
    "governments.*.asset_review": Field(
        "bool", "blocks the dominant supplier from buying a bankrupt producer's assets"
    ),
    # allied producers and recyclers, one table per firm id
    **{f"producers.*.{k}": v for k, v in _FIRM.items()},
    **{f"recyclers.*.{k}": v for k, v in _FIRM.items()},
    "recyclers.*.collection_rate": F(
        "share of end-of-life scrap collected at the reference price", "share", 0, 1
    ),
    "recyclers.*.collection_elasticity": F("response of collection to price", "", 0, 5),
    "recyclers.*.scrap_lag": I(
        "product lifetime: scrap is consumption this long ago", "quarters", 0, 200
    ),
    # learning and technology transfer, geological mapping, uncertain (seabed) projects
    "learning.rate": F(
        "share by which an allied producer's cash cost falls with each doubling of the "
        "experience (cumulative output) it draws on (Wright's law); 0: costs do not learn",
        "share",
        0,
        0.5,
        default=0.0,
    ),
    "learning.start_years": F(
        "experience every producer's cost rests on at the start: this many years of the allied "
        "producers' capacity, counted as output already made",
        "years",
        0.25,
        100,
        default=10.0,
    ),
    "alliance.tech_transfer": F(
        "technology transfer: share of what the other members' firms make that a member's "
        "firms count as their own experience (0: each learns from its own country's output)",
        "share",
        0,
        1,
        default=0.0,
    ),
    "governments.*.mapping": F(
        "spending on geological mapping, which finds its country's undiscovered deposits",
        "USD m/yr",
        0,
        1e4,
        default=0.0,
    ),
    "producers.*.found": Field(
        "bool",
        "the deposit is known (false: an undiscovered deposit, with no capacity, that its "
        "government's mapping may find; then it invests like any firm)",
        default=True,
    ),
    "producers.*.discovery_cost": F(
        "mapping its government must spend, on average, to find it (if undiscovered)",
        "USD m",
        1,
        1e5,
        default=238.0,
    ),
    "producers.*.success": F(
        "chance a project of this firm delivers its capacity when due; otherwise its capital "
        "is written off (a seabed project)",
        "probability",
        0,
        1,
        default=1.0,
    ),
}

# Keys a scenario may leave out.
OPTIONAL = frozenset({"preset", "description", "name"})

# Keyed tables whose entries a scenario may add; the key must be a plain identifier.
TABLES = ("governments", "producers", "recyclers")


def field_for(path: str) -> Field | None:
    """The field a dotted path names, matching keyed-table entries against `*`."""
    if path in FIELDS:
        return FIELDS[path]
    parts = path.split(".")
    if len(parts) == 3 and parts[0] in TABLES:
        return FIELDS.get(f"{parts[0]}.*.{parts[2]}")
    return None


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> {dotted path: leaf value}; events are kept whole."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def markdown_table() -> str:
    """Every key as a Markdown table: docs/scenarios.md carries this, and a test keeps it so."""
    rows = ["| key | allowed | meaning |", "| --- | --- | --- |"]
    for path, spec in FIELDS.items():
        optional = " (optional)" if path in OPTIONAL else ""
        if spec.default is not None:
            shown = str(spec.default).lower() if spec.kind == "bool" else f"{spec.default:g}"
            optional = f" (default {shown})"
        rows.append(f"| `{path}` | {spec.allowed()}{optional} | {spec.doc} |")
    return "\n".join(rows)

"""One browser tab's game: its market, the player's role and rounds, every move made, the score.

Plain Python with no Solara in it, so the rules of play are tested without a browser and the
page only draws what a `Game` holds. Every change to the market goes through `Game.lock`: the
play loop steps the market in a thread while a click may inject a shock, and a change made
between two quarters is what `MineralMarket.apply` promises ("takes effect next quarter").
"""

from __future__ import annotations

import copy
import io
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from market import (
    MineralMarket,
    Scenario,
    ScenarioError,
    lever_map,
    load_scenario,
    named_scenarios,
    presets,
)
from market.feed import FeedEntry, entry
from market.inert import inert, set_again
from market.metrics import COLUMNS, SERIES
from market.play import Moves, Run, play
from market.recorder import Recorder
from market.scenarios import Event, describe, read_toml_bytes
from viz.levers import (
    ALL_MEMBERS,
    COMPARE_LEVERS,
    GOVERNMENT_LEVER_ATTRS,
    ROLE_HOLDERS,
    ROLE_LEVERS,
    SHOCKS,
    Lever,
    expand,
)

DEFAULT_SCENARIO = "dumping"
ROLES: dict[str, str] = {
    "watch": "Watch",
    "coalition": "Allied coalition",
    "supplier": "Dominant supplier",
}
ROUNDS: dict[str, int] = {"1 quarter": 1, "1 year": 4}
MAX_UPLOAD_BYTES = 256 * 1024
MAX_SEED = 2**63 - 1  # the largest seed a 64-bit signed field (CSV readers, numpy) holds

# What the game exports, charts and scores: the quarterly table a run writes and the series the
# model records beside it (the floor in force, the allied cost the price is read against, ...).
GAME_SERIES = (*COLUMNS, *SERIES)


def recorded_arrays(recorder: Recorder) -> dict[str, np.ndarray]:
    """What a model's recorder holds, quarter by quarter, as float arrays (copies, so a ghost
    keeps them after its model is replaced)."""
    return {name: np.array(recorder.series(name), dtype=float) for name in GAME_SERIES}


@dataclass(frozen=True)
class Move:
    """A decision or a shock: the changes, the first quarter they act in, and its feed line."""

    quarter: int
    who: str  # "you" or "facilitator"
    changes: dict[str, Any]
    text: str


@dataclass
class Ghost:
    """An earlier run drawn faded beside the current one (Compare)."""

    label: str
    series: dict[str, np.ndarray]


@dataclass
class Score:
    role: str
    points: float
    parts: dict[str, float]
    reference_points: float
    reference_parts: dict[str, float]
    verdict: str
    rule: str = ""


@dataclass
class Choice:
    """A scenario the player can pick: a named file, a preset, or an uploaded table."""

    key: str
    source: str | dict[str, Any]
    description: str = ""


def scenario_choices() -> dict[str, Choice]:
    choices = {name: Choice(name, name, describe(name)) for name in named_scenarios()}
    for name in presets():
        description = load_scenario(name).params.get("description", "")
        choices[name] = Choice(name, name, f"mineral preset: {description}")
    return choices


def parse_upload(filename: str, data: bytes) -> dict[str, Any]:
    """An uploaded scenario file as a validated table. Raises ScenarioError with one line."""
    name = Path(filename).name or "upload.toml"
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: too large for a scenario file ({len(data):,} bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{name}: not a text file (TOML is UTF-8 text)") from None
    tree = read_toml_bytes(text.encode(), name)  # malformed, thousands of digits, deep nesting
    tree.setdefault("name", Path(name).stem or "uploaded")
    try:
        load_scenario(tree)  # the one loader validates it
    except ScenarioError as err:
        raise ScenarioError(f"{name}: {err}") from None
    return tree


def check_changes(model: MineralMarket, changes: Mapping[str, Any]) -> None:
    """Validate a set of changes against the schema before any is applied, so a decision or
    a shock is made whole or not at all. Raises ScenarioError naming the key."""
    trial = copy.deepcopy(model.spec)
    for key, value in changes.items():
        lever_map.refuse_unless_settable(key)
        trial.set(key, value)


def shock_changes(
    model: MineralMarket, shock: str, country: str = "", size: float = 0.0
) -> tuple[dict[str, Any], str]:
    """A facilitator's shock on this market now, checked: (changes, feed text). Raises
    ScenarioError, one line, for an unknown shock, a missing country or a size out of range."""
    spec = SHOCKS.get(shock)
    if spec is None:
        raise ScenarioError(f"shock {shock!r}: expected one of {', '.join(SHOCKS)}")
    if spec.per_country and country not in model.governments:
        allowed = ", ".join(model.governments)
        raise ScenarioError(f"shock {spec.label}: choose a country, one of {allowed}")
    low, high, _ = spec.size_range
    if spec.size_label and not low <= size <= high:
        raise ScenarioError(f"shock {spec.label}: size from {low} to {high} %, got {size:g}")
    changes, text = spec.changes(model, country, size)
    check_changes(model, changes)
    return changes, text


def quarterly_table(model: MineralMarket, extra: Iterable[FeedEntry] = ()) -> pd.DataFrame:
    """A market's quarterly table for export: the model's table, the series recorded beside
    it, and what happened each quarter (its feed, and `extra` entries kept outside it)."""
    frame = model.recorder.timeseries(GAME_SERIES)
    events: dict[int, list[str]] = {}
    for item in [*model.feed, *extra]:
        events.setdefault(max(item.quarter, 1), []).append(item.text)
    frame["events"] = [" | ".join(events.get(q, [])) for q in frame["quarter"]]
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


class Game:
    """Everything one player's tab holds. Build one per tab; never share it."""

    def __init__(self, scenario: str | dict[str, Any] = DEFAULT_SCENARIO, seed: int = 1) -> None:
        self.lock = threading.RLock()
        from viz.history import history_choices  # viz.history builds on this module

        self.choices: dict[str, Choice] = {**scenario_choices(), **history_choices()}
        self.source: str | dict[str, Any] = scenario
        self.seed = int(seed)
        self.role = "watch"
        self.round_quarters = 1
        self.overrides: dict[str, Any] = {}  # levers changed for a Compare replay
        self.moves: list[Move] = []  # this run's decisions and shocks, in order
        self.script: dict[int, list[Move]] = {}  # moves a replay makes again, by quarter
        self.pending: dict[str, Any] = {}  # the player's lever changes for the next round
        self.ghost: Ghost | None = None
        self.replay = False  # a Compare replay: the moves come from `script`, not the player
        self.generation = 0  # bumped whenever the market is replaced: stops a stale play loop
        self.model: MineralMarket
        self.round_end = 0
        self._score: Score | None = None
        self.start()

    # --- set-up ----------------------------------------------------------------------------

    @property
    def scenario_name(self) -> str:
        return self.model.spec.name

    @property
    def description(self) -> str:
        return str(self.model.spec.params.get("description", ""))

    def choose_scenario(self, source: str | dict[str, Any]) -> None:
        """Switch to a named scenario or an uploaded table; a fresh game in the same role."""
        load_scenario(source)  # raises ScenarioError before anything changes
        if isinstance(source, dict):
            key = f"uploaded: {source['name']}"
            self.choices[key] = Choice(key, source, str(source.get("description", "")))
        with self.lock:
            self.source = source
            self._clear_history()
            self.start()

    def upload(self, filename: str, data: bytes) -> str:
        """Load an uploaded scenario file; returns its name. Raises ScenarioError."""
        tree = parse_upload(filename, data)
        self.choose_scenario(tree)
        return str(tree["name"])

    def set_seed(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ScenarioError(
                f"seed: expected a whole number from 0 to {MAX_SEED:,}, got {seed!r}"
            )
        with self.lock:
            self.seed = seed
            self.start()

    def set_role(self, role: str, round_quarters: int | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"role: expected one of {', '.join(ROLES)}")
        with self.lock:
            self.role = role
            if round_quarters is not None:
                self.round_quarters = int(round_quarters)
            self._clear_history()
            self.start()

    def set_round_quarters(self, quarters: int) -> None:
        """Rounds are chosen at the start of a game: a new length starts the game afresh."""
        with self.lock:
            self.round_quarters = int(quarters)
            self.reset()

    def reset(self) -> None:
        """Play the same game again from quarter 0: same scenario, seed, role and levers."""
        with self.lock:
            self.moves.clear()
            self.script.clear()
            self.ghost = None
            self.replay = False
            self.start()

    def _clear_history(self) -> None:
        self.overrides = {}
        self.moves.clear()
        self.script.clear()
        self.ghost = None
        self.replay = False

    def player_keys(self) -> tuple[str, ...]:
        """Prefixes of the dotted keys the player's side owns: the sections whose holders in
        the lever map the role commands (`viz.levers.ROLE_HOLDERS`)."""
        mine = ROLE_HOLDERS.get(self.role, ())
        return tuple(
            f"{section}." for section, holder in lever_map.HOLDERS.items() if holder in mine
        )

    def scenario_for_role(self) -> Scenario:
        """The scenario as this role plays it (`scenario_as_played`): the computer plays the
        other side with the scenario's own strategy and timeline; a coalition player plays
        every government, from the status quo, with a standing response."""
        if self.role == "watch":
            spec = load_scenario(self.source)
            return Scenario(spec.name, copy.deepcopy(spec.params), list(spec.events), spec.source)
        if self.role == "supplier":
            return scenario_as_played(self.source, self.player_keys())
        countries = list(load_scenario(self.source).params["governments"])
        return scenario_as_played(self.source, self.player_keys(), countries, "standing")

    def start(self) -> None:
        """Build the market for the current set-up, at quarter 0."""
        with self.lock:
            scenario = self.scenario_for_role()
            self.model = MineralMarket(scenario, rng=self.seed, **self.overrides)
            self.initial = copy.deepcopy(self.model.spec)  # the set-up, before any move
            self.pending = {}
            self.round_end = 0
            self._score = None
            self.generation += 1
            if self.role != "watch":
                self.model.feed.append(entry(0, "role", "you", self.role_intro(), role=self.role))
            if self.overrides:  # Compare's changes hold until another scenario or role
                changed = self.describe_changes(self.overrides, compare=True)
                self.model.feed.append(
                    entry(
                        0,
                        "compare",
                        "you",
                        f"changed from the scenario: {changed}",
                        changes=dict(self.overrides),
                    )
                )

    def role_intro(self) -> str:
        taken = [
            f"Q{e.quarter} {e.label or 'a scripted move'}"
            for e in load_scenario(self.source).events
            if any(key.startswith(self.player_keys()) for key in e.changes)
        ]
        other = "the dominant supplier" if self.role == "coalition" else "the allied governments"
        text = (
            f"you play the {ROLES[self.role].lower()}; the computer plays {other} as the "
            "scenario has it"
        )
        if taken:
            text += "; the scenario's own moves for your side are now yours: " + "; ".join(taken)
        return text

    # --- play ------------------------------------------------------------------------------

    @property
    def quarter(self) -> int:
        return self.model.steps

    @property
    def quarters(self) -> int:
        return self.model.quarters

    @property
    def finished(self) -> bool:
        return not self.model.running

    @property
    def deciding(self) -> bool:
        """A role game waits for the player's decisions between rounds."""
        return (
            self.role != "watch"
            and not self.replay
            and not self.finished
            and self.quarter >= self.round_end
        )

    def can_step(self) -> bool:
        return self.model.running and not self.deciding

    def step(self) -> bool:
        """Play one quarter if the game allows it now. Returns whether a quarter was played."""
        with self.lock:
            if not self.can_step():
                return False
            upcoming = self.quarter + 1
            for move in self.script.get(upcoming, []):
                self._apply(move.changes)
                self._echo(Move(upcoming, move.who, move.changes, move.text))
            self.model.step()
            return True

    def play_round(self) -> Move | None:
        """Apply the player's pending decisions and open the next round. Raises ScenarioError
        (and changes nothing) if a decision is not allowed."""
        with self.lock:
            if not self.deciding:
                return None
            move = None
            if self.pending:
                move = self.decide(dict(self.pending))
            self.pending = {}
            self.round_end = min(self.quarter + self.round_quarters, self.quarters)
            return move

    def levers(self) -> tuple[Lever, ...]:
        return ROLE_LEVERS.get(self.role, ())

    def countries(self) -> list[str]:
        return list(self.model.governments)

    def members(self) -> list[str]:
        """The countries a coalition player commands: a country that has left the alliance
        no longer follows its decisions."""
        return [cc for cc, gov in self.model.governments.items() if gov.member]

    def lever_value(self, lever: Lever, scope: str = ALL_MEMBERS) -> Any:
        """What a control shows: the pending choice if any, else what the market runs on."""
        keys = expand(lever.key, self.members() or self.countries()[:1])
        key = keys[0] if scope == ALL_MEMBERS else lever.key.replace("*", scope, 1)
        if key in self.pending:
            return self.pending[key]
        return lever_map.read(self.model, key)

    def members_differ(self, lever: Lever) -> bool:
        """Whether the members hold different values of a per-country lever (a control for
        all members then shows the first member's)."""
        if not lever.key.startswith("governments.*."):
            return False
        keys = expand(lever.key, self.members())
        return len({repr(self.pending.get(k, lever_map.read(self.model, k))) for k in keys}) > 1

    def set_pending(self, lever: Lever, shown: Any, scope: str = ALL_MEMBERS) -> None:
        """Note a lever choice for the next round (from the control's shown value)."""
        value = lever.model_value(shown)
        keys = (
            expand(lever.key, self.members())
            if scope == ALL_MEMBERS
            else [lever.key.replace("*", scope, 1)]
        )
        with self.lock:
            for key in keys:
                if lever_map.read(self.model, key) == value:
                    self.pending.pop(key, None)
                else:
                    self.pending[key] = value

    def decide(self, changes: dict[str, Any], who: str = "you") -> Move:
        """Apply a set of changes from the next quarter, all or none, and show them in the feed.
        Raises ScenarioError naming the key and what is allowed."""
        with self.lock:
            check_changes(self.model, changes)
            self._apply(changes)
            text = self.describe_changes(changes)
            move = Move(self.quarter + 1, who, dict(changes), text)
            self._echo(move)
            return move

    def inject(self, shock: str, country: str = "", size: float = 0.0) -> Move:
        """A facilitator's shock, from the next quarter."""
        with self.lock:
            if self.finished:
                raise ScenarioError("the game is over: reset or replay to inject a shock")
            changes, text = shock_changes(self.model, shock, country, size)
            self._apply(changes)
            move = Move(self.quarter + 1, "facilitator", changes, text)
            self._echo(move)
            return move

    def _apply(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            self.model.apply(key, value)

    def _echo(self, move: Move) -> None:
        self.moves.append(move)
        kind, who = {
            "you": ("decision", f"you ({ROLES[self.role].lower()})"),
            "facilitator": ("shock", "facilitator's shock"),
        }[move.who]
        self.model.feed.append(
            entry(move.quarter, kind, move.who, f"{who}: {move.text}", changes=move.changes)
        )

    def describe_changes(self, changes: dict[str, Any], compare: bool = False) -> str:
        """'US: price floor 110 USD/kg; all members: anti-dumping duty 93.5 %'; with `compare`,
        in the words of the Compare levers ('US price floor 110 USD/kg')."""
        levers = {lv.key: lv for lv in (COMPARE_LEVERS if compare else self.levers())}
        members = self.members()
        grouped: dict[tuple[str, Any], list[str]] = {}
        phrases = []
        for key, value in changes.items():
            parts = key.split(".")
            if parts[0] == "governments" and len(parts) == 3 and key not in levers:
                grouped.setdefault((parts[2], value), []).append(parts[1])
            else:
                phrases.append(phrase(levers.get(key), key, value))
        for (attr, value), who in grouped.items():
            scope = ALL_MEMBERS if sorted(who) == sorted(members) else ", ".join(who)
            lever = levers.get(f"governments.*.{attr}")
            phrases.append(f"{scope}: {phrase(lever, attr, value)}")
        return "; ".join(phrases)

    # --- compare -----------------------------------------------------------------------------

    def compare(self, lever: Lever, shown: Any) -> None:
        """Replay this game from quarter 0 with one lever changed: same scenario, seed and
        moves (made again at the same quarters); the run so far stays on the charts, faded.
        Raises ScenarioError, and changes nothing, if the value is not allowed."""
        value = lever.model_value(shown)
        keys = expand(lever.key, self.countries())
        overrides = {**self.overrides, **dict.fromkeys(keys, value)}
        MineralMarket(self.scenario_for_role(), rng=self.seed, **overrides)  # validates
        with self.lock:
            before = self.start_value(keys[0])
            self.ghost = Ghost(f"earlier run ({phrase(lever, lever.key, before)})", self.arrays())
            # The moves made so far in this run, and a replay's moves still to come.
            upcoming = [m for q, ms in self.script.items() if q > self.quarter for m in ms]
            self.script = {}
            for move in [*self.moves, *upcoming]:
                self.script.setdefault(move.quarter, []).append(move)
            self.moves = []
            self.overrides = overrides
            self.replay = True
            self.start()

    def start_value(self, key: str) -> Any:
        """A dotted key's value when this run started (before any move or shock)."""
        return self.initial.get(key)

    def compare_notes(self, lever: Lever) -> list[str]:
        """What to know before replaying with `lever` changed: that the replay will change
        nothing, and why (`market.inert`); that the scenario's timeline, or a move the replay
        makes again, sets the lever later, so the value chosen holds only until then."""
        with self.lock:
            keys = expand(lever.key, self.countries())
            moves = [
                *self.moves,
                *(m for q, ms in self.script.items() if q > self.quarter for m in ms),
            ]
            # The replay as the rules read it: its moves are events like the timeline's.
            replay = Scenario(
                self.initial.name,
                self.initial.params,
                sorted(
                    [*self.initial.events, *(Event(m.quarter, m.text, m.changes) for m in moves)],
                    key=lambda e: e.quarter,
                ),
                self.initial.source,
            )
            # A finished run is the replay as it is: what it showed counts too.
            seen = [Run(self.model, self.seed).metrics()] if self.finished else []
            notes = []
            reason = inert(replay, lever.key, seen)
            if reason:
                notes.append(
                    f"This replay will change nothing: {reason}. The button still replays it, "
                    "if you want to see that."
                )
            again = set_again(self.initial, lever.key)
            if again:
                notes.append(
                    f"{again[0].upper()}{again[1:]}: the value you choose holds until then."
                )
            later = next(
                (m for m in sorted(moves, key=lambda m: m.quarter) if set(keys) & set(m.changes)),
                None,
            )
            if later is not None:
                whose = "your move" if later.who == "you" else "the facilitator's shock"
                notes.append(
                    f"The replay makes {whose} at Q{later.quarter} again, and it sets this "
                    "again: the value you choose holds until then."
                )
            return notes

    # --- what the page shows -----------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """Every recorded series of this run so far (empty before the first quarter)."""
        with self.lock:
            return recorded_arrays(self.model.recorder)

    def feed(self) -> list[FeedEntry]:
        """The event feed as records, in the order they happened."""
        with self.lock:
            return list(self.model.feed)

    def status(self) -> str:
        """Last quarter in numbers, one line."""
        s = self.model.recorder.latest
        if not s:
            if self.role == "watch" or self.replay:
                return "not started: press Play"
            return "not started: set your levers, then press Play round"

        def price(name: str) -> str:  # a region with no buyers has no price
            return "none" if s[name] != s[name] else f"{s[name]:.1f}"

        return (
            f"allied price {price('price_allied')} USD/kg, rest of world "
            f"{price('price_world')}, dominant home {price('price_home')}; "
            f"dominant share {s['dominant_share'] * 100:.1f} %; allied producers in business "
            f"{s['allied_producers_active']:.0f}; fiscal cost {s['fiscal_cost']:,.0f} USD m"
        )

    def timeseries(self) -> pd.DataFrame:
        """The run for export: the model's quarterly table, the series recorded beside it and
        what happened each quarter."""
        with self.lock:
            return quarterly_table(self.model)

    def csv(self) -> bytes:
        return csv_bytes(self.timeseries())

    def export_name(self, extension: str) -> str:
        """'dumping-seed1.png'; a replay adds its change: 'dumping-seed1-replay-us-price-floor-
        110-usd-kg.png', so two replays' files never share a name."""
        role = "" if self.role == "watch" else f"-{self.role}"
        tag = ""
        if self.overrides:
            words = self.describe_changes(self.overrides, compare=True).lower()
            tag = "-replay-" + "-".join(re.findall(r"[a-z0-9.]+", words))[:60].strip("-.")
        return f"{self.scenario_name}-seed{self.seed}{role}{tag}.{extension}"

    # --- score -------------------------------------------------------------------------------

    def score(self) -> Score | None:
        """The player's score at the end, beside the computer's play of the same game."""
        if self.role == "watch" or not self.finished:
            return None
        with self.lock:
            if self._score is None:
                shocks: dict[int, list[dict[str, Any]]] = {}
                for move in self.moves:  # this run's moves, a replay's included
                    if move.who == "facilitator":
                        shocks.setdefault(move.quarter, []).append(move.changes)
                reference = reference_arrays(self.source, self.seed, self.overrides, shocks)
                self._score = standing(self.role, self.arrays(), reference, Economy.of(self.model))
            return self._score


def phrase(lever: Lever | None, key: str, value: Any) -> str:
    """'price floor 110 USD/kg', 'strategy: dump', 'US price floor 0 USD/kg'."""
    if lever is None:
        return f"{key.rsplit('.', 1)[-1].replace('_', ' ')} {value}"
    label = lever.short or lever.label
    if label[1:2].islower():  # "Price floor" reads "price floor" mid-sentence; "US" stays
        label = label[0].lower() + label[1:]
    if lever.kind in ("bool", "choice"):
        return f"{label}: {lever.describe(value)}"
    return f"{label} {lever.describe(value)}"


# --- scoring -----------------------------------------------------------------------------------

# Each side is scored on what it is after, in money, as a present value (USD bn): the game's
# quarters, and the final year's recurring flows continued for good (what the market the game
# leaves is worth). Both at 7 % a year, OMB Circular A-4's (2003) rate for the return to
# capital: the supplier's money and the allies' public money both have other uses.
DISCOUNT_RATE = 0.07
DRAW_MARGIN = 0.5  # USD bn at present value: closer than this to the computer is a draw

SCORE_RULES = {
    "coalition": "the allies' welfare, USD bn at present value (7 % a year): allied consumers' "
    "surplus (under the demand curve, up to the price cap) plus allied producers' and "
    "recyclers' profit, less the governments' net spending (floors, stock bought less stock "
    "sold, finance, mapping, less duty collected), less every tonne of allied demand left "
    "unmet valued at the price cap; then the stockpile left at its value, and the final "
    "year's recurring welfare (all of the above but stock bought or sold and mapping) as a "
    "lasting income",
    "supplier": "the dominant side's gain, USD bn at present value (7 % a year): its profit "
    "(industry and state together, so a price war's sacrifice is out of it) plus its position "
    "at the end: the final year's profit at market play as a lasting income",
}


@dataclass(frozen=True)
class Economy:
    """What a score reads from the market beyond its recorded series."""

    elasticity: float  # of demand, < 0
    price_cap: float  # USD/kg: the most any buyer pays; demand beyond it goes unmet

    @classmethod
    def of(cls, model: MineralMarket) -> Economy:
        return cls(model.demand.elasticity, model.demand.price_cap)


def _discount(rate: float, quarters: int) -> np.ndarray:
    """Each quarter's discount factor at `rate` a year, quarter 1 first."""
    return (1.0 + rate) ** (-np.arange(1, quarters + 1) / 4.0)


def consumer_surplus(consumption: np.ndarray, price: np.ndarray, economy: Economy) -> np.ndarray:
    """USD m a quarter: the area under the constant-elasticity demand curve through each
    quarter's (tonnes taken, price paid), from the price up to the price cap."""
    e = -economy.elasticity
    cap = economy.price_cap
    p = np.clip(np.nan_to_num(price, nan=cap), 1e-9, cap)
    if abs(1.0 - e) < 1e-9:
        area = p * np.log(cap / p)
    else:
        area = p**e * (cap ** (1.0 - e) - p ** (1.0 - e)) / (1.0 - e)
    return consumption * area / 1000.0  # t x USD/kg = 1,000 USD


def _lasting(flow_per_year: float, rate: float, quarters: int) -> float:
    """A yearly income (USD m) from the end of the game on, for good, at present value."""
    return flow_per_year / rate * (1.0 + rate) ** (-quarters / 4.0)


def score_parts(role: str, s: dict[str, np.ndarray], economy: Economy) -> dict[str, float]:
    """The money a side made or lost, by source, at present value (USD m)."""
    played = len(s["quarter"])
    if not played:
        return dict.fromkeys(PART_NAMES[role], 0.0)
    d = _discount(DISCOUNT_RATE, played)
    last = slice(-min(played, 4), None)
    per_year = 4.0 / min(played, 4)
    if role == "coalition":
        surplus = consumer_surplus(s["consumption_allied"], s["price_allied"], economy)
        spent = np.diff(s["fiscal_cost"], prepend=0.0)  # net spending each quarter
        unmet = s["shortage_allied"] * economy.price_cap / 1000.0
        one_off = s["stockpile_bought_value"] - s["stockpile_sold_value"] + s["mapping_spent"]
        welfare = surplus + s["allied_profit"] - (spent - one_off) - unmet
        left = float(s["stockpile_value"][-1]) * (1.0 + DISCOUNT_RATE) ** (-played / 4.0)
        parts = (
            float(surplus @ d),
            float(s["allied_profit"] @ d),
            -float(spent @ d),
            -float(unmet @ d),
            left + _lasting(float(welfare[last].sum()) * per_year, DISCOUNT_RATE, played),
        )
    else:
        given_up = np.diff(s["dominant_sacrifice"], prepend=0.0)
        market_play = s["dominant_profit"] + given_up  # what each quarter would have made
        final_year = float(market_play[last].sum()) * per_year
        parts = (float(s["dominant_profit"] @ d), _lasting(final_year, DISCOUNT_RATE, played))
    return dict(zip(PART_NAMES[role], parts, strict=True))


PART_NAMES = {
    "coalition": (
        "allied consumers' surplus, USD m",
        "allied producers' profit, USD m",
        "governments' net spending, USD m",
        "unmet demand at the price cap, USD m",
        "left at the end, USD m",
    ),
    "supplier": ("profit, USD m", "position at the end, USD m"),
}


def points(parts: dict[str, float]) -> float:
    """The score: the parts' sum in USD bn."""
    return sum(parts.values()) / 1000.0


def facts(role: str, s: dict[str, np.ndarray]) -> str:
    """What the score's money came from, in the game's own words."""
    if not len(s["quarter"]):
        return ""
    if role == "coalition":
        demand = float(s["consumption_allied"].sum() + s["shortage_allied"].sum())
        unmet = float(s["shortage_allied"].sum()) / max(demand, 1e-9) * 100
        return (
            f"allied sources supplied {s['allied_supply_share'].mean() * 100:.0f} % of the "
            f"allied market, {unmet:.1f} % of demand went unmet, at a net fiscal cost of "
            f"{s['fiscal_cost'][-1]:,.0f} USD m"
        )
    return (
        f"a {s['dominant_share'][-4:].mean() * 100:.0f} % share of the market in the final "
        f"year, {s['dominant_profit'].sum() / 1000:,.1f} USD bn of profit, "
        f"{s['dominant_sacrifice'][-1]:,.0f} USD m given up to price wars"
    )


def verdict(
    role: str,
    mine: dict[str, float],
    reference: dict[str, float],
    mine_facts: str = "",
    reference_facts: str = "",
) -> Score:
    mine_points, ref_points = points(mine), points(reference)
    gap = mine_points - ref_points
    margin = DRAW_MARGIN
    headline = (
        "Better than the computer's play"
        if gap > margin
        else "Worse than the computer's play"
        if gap < -margin
        else "About the same as the computer's play"
    )
    biggest = max(mine, key=lambda name: abs(mine[name] - reference[name]))
    change = mine[biggest] - reference[biggest]
    detail = (
        f"the biggest difference is {biggest.split(',')[0]}: {change / 1000:+,.1f} USD bn "
        f"against the computer"
    )
    if mine_facts:
        detail += f"; you: {mine_facts}; the computer: {reference_facts}"
    return Score(
        role,
        mine_points,
        mine,
        ref_points,
        reference,
        f"{headline} by {abs(gap):,.1f} USD bn: {detail}."
        if abs(gap) > margin
        else f"{headline}: {detail}.",
        SCORE_RULES[role],
    )


def scenario_as_played(
    source: str | Mapping[str, Any],
    mine: tuple[str, ...],
    countries: list[str] | tuple[str, ...] = (),
    response: str | None = None,
) -> Scenario:
    """The scenario with some of its actors played by people, who own the dotted keys under
    the prefixes `mine`: the scenario's timeline no longer moves those keys (the players make
    those moves or not). A supplier player's price wars run until the player stops them (the
    computer's campaign review would overrule), each government in `countries` starts from the
    mineral preset's status quo, and `response`, if given, replaces the alliance's mode."""
    spec = load_scenario(source)
    params = copy.deepcopy(spec.params)
    if "supplier." in mine:
        params["supplier"]["campaign_review"] = False
    if response is not None:
        params["alliance"]["response"] = response
    preset = params.get("preset")
    status_quo = load_scenario(preset).params["governments"] if preset and countries else {}
    for country in countries:
        if country in status_quo and country in params["governments"]:
            for attr in GOVERNMENT_LEVER_ATTRS:
                params["governments"][country][attr] = status_quo[country][attr]
    events = []
    for event in spec.events:
        kept = {k: v for k, v in event.changes.items() if not k.startswith(mine)}
        if kept:
            events.append(Event(event.quarter, event.label, kept))
    return Scenario(spec.name, params, events, spec.source)


def reference_arrays(
    source: str | Mapping[str, Any], seed: int, overrides: Mapping[str, Any], shocks: Moves
) -> dict[str, np.ndarray]:
    """The computer playing both sides: the scenario as written, the same seed, levers and
    facilitator's shocks, none of the players' decisions."""
    return recorded_arrays(play(source, seed=seed, overrides=overrides, moves=shocks).recorder)


def standing(
    role: str,
    arrays: dict[str, np.ndarray],
    reference: dict[str, np.ndarray],
    economy: Economy,
) -> Score:
    """A side's score over the quarters played so far, against the computer's play of the
    same quarters (the whole game once it is over)."""
    played = len(arrays["quarter"])
    so_far = {name: series[:played] for name, series in reference.items()}
    return verdict(
        role,
        score_parts(role, arrays, economy),
        score_parts(role, so_far, economy),
        facts(role, arrays),
        facts(role, so_far),
    )


__all__ = [
    "DEFAULT_SCENARIO",
    "ROLES",
    "ROUNDS",
    "Choice",
    "Economy",
    "Game",
    "Ghost",
    "Move",
    "Score",
    "check_changes",
    "csv_bytes",
    "parse_upload",
    "phrase",
    "quarterly_table",
    "reference_arrays",
    "scenario_as_played",
    "scenario_choices",
    "shock_changes",
    "standing",
]

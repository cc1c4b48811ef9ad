"""One shared market with seats, rounds with a deadline, a facilitator's console and a record.

The market is a pure function of its scenario, seed and the moves made before each quarter, kept
in `market.play`'s Moves format: a saved room is rebuilt by replaying them (`Room.restore`), and
nothing else about a quarter needs saving. A seat is bound to a token only its player holds; the
room keeps only the token's hash, so a saved room gives no one a seat. Every change goes through
the room's lock and bumps `version`, which pages watch to redraw; a listener (the store, the
registry's clock) hears of each change while the lock is held, so what it saves is consistent.
Bad input raises `RoomError` with one line a player can read, and changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json
import math
import secrets
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from market import MineralMarket, ScenarioError, load_scenario
from market.feed import FeedEntry, entry
from market.play import play
from market.scenarios import Scenario
from viz.charts import export_png
from viz.game import (
    Economy,
    Game,
    Score,
    check_changes,
    csv_bytes,
    phrase,
    quarterly_table,
    recorded_arrays,
    reference_arrays,
    scenario_as_played,
    shock_changes,
    standing,
)
from viz.levers import COALITION_LEVERS, SUPPLIER_LEVERS, Lever

GOVERNMENT_SEATS: tuple[str, ...] = ("US", "AU", "JP", "MY", "TH")
SEATS: tuple[str, ...] = (*GOVERNMENT_SEATS, "supplier")
ROUND_QUARTERS: tuple[int, ...] = (1, 4)  # a quarter or a year a round
MEMBER_LEVER = Lever(
    "governments.*.member",
    "Stay in the response group",
    "bool",
    help="Off: this country leaves the rapid-response group. It no longer joins the group's "
    "coordinated counter-moves and stops sharing its finance and know-how with the members; "
    "under a standing response its own levers still act until you set them to zero.",
)
# Typed on a phone: no 0/O, 1/I/L; 31**6 (about 900 million) codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_MESSAGE = 500
MAX_SEAT_PLAYERS = 10  # a team at one seat: a class of 40 fills six seats of 7

# lobby: seats fill, no round yet; running: a round is open and its clock runs; paused: the
# clock is stopped with `remaining` seconds left; finished: the market has played its quarters;
# closed: the facilitator ended it (kept on file for the debrief, not resumed).
STATUSES = ("lobby", "running", "paused", "finished", "closed")

Clock = Callable[[], float]
Listener = Callable[["Room"], None]


class RoomError(ValueError):
    """Input a room refuses; the message is one line for the person who typed it."""


def seat_role(seat: str) -> str:
    """Which side's score a seat is given: the coalition's or the supplier's."""
    return "supplier" if seat == "supplier" else "coalition"


def seat_levers(seat: str) -> dict[str, Lever]:
    """The dotted keys a seat may change, each with the lever that reads and bounds it: a
    government its own country's policies and its membership, the supplier its own levers."""
    if seat == "supplier":
        return {lv.key: lv for lv in SUPPLIER_LEVERS}
    if seat not in GOVERNMENT_SEATS:
        raise RoomError(f"no seat {seat!r}: the seats are {', '.join(SEATS)}")
    own = (
        replace(lv, key=lv.key.replace("*", seat, 1)) for lv in (*COALITION_LEVERS, MEMBER_LEVER)
    )
    return {lv.key: lv for lv in own}


def new_code() -> str:
    """A room code drawn from the system's secure source: one code says nothing of another."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(code: str) -> str:
    """A code as typed ('  ab3k9q ') as the room holds it."""
    return str(code).strip().upper()


def new_token() -> str:
    return secrets.token_urlsafe(18)


def token_hash(token: str) -> str:
    return hashlib.sha256(str(token).encode()).hexdigest()


@dataclass
class Seat:
    """A role at the table, held by one player or a team that decides together (any member's
    decision is the seat's; a later one replaces it)."""

    name: str
    capacity: int  # players who may hold it; 0: closed to players, the computer's for good
    holders: dict[str, str] = field(default_factory=dict)  # token hash -> player's name

    @property
    def open(self) -> bool:
        return self.capacity > 0

    @property
    def taken(self) -> bool:
        return bool(self.holders)

    @property
    def full(self) -> bool:
        return len(self.holders) >= self.capacity

    @property
    def players(self) -> str:
        """The holders' names as the leaderboard shows them."""
        return ", ".join(name or "player" for name in self.holders.values())


@dataclass(frozen=True)
class Decision:
    """What a seat did in a round: its changes, from `quarter` on, by its player or the
    computer (an empty, dropped or late seat: no change)."""

    round: int
    quarter: int
    seat: str
    by: str  # "player" or "computer"
    changes: dict[str, Any]
    text: str
    at: float


@dataclass(frozen=True)
class ShockRecord:
    round: int
    quarter: int  # the first quarter it acts in
    shock: str
    country: str
    size: float
    changes: dict[str, Any]
    text: str
    at: float


@dataclass(frozen=True)
class Message:
    round: int
    quarter: int
    text: str
    at: float


@dataclass(frozen=True)
class Settings:
    """What the facilitator chose when creating the room; fixed for its life."""

    code: str
    source: str | dict[str, Any]
    seed: int
    round_quarters: int
    deadline_seconds: float
    open_seats: tuple[str, ...]
    facilitator_hash: str
    created: float
    seat_players: int = 1  # players who may share a seat (a team)


@dataclass(frozen=True)
class SeatView:
    """What one seat's page shows."""

    seat: str
    role: str
    status: str
    round: int
    quarter: int
    quarters: int
    seconds_left: float | None
    pending: dict[str, Any] | None  # this round's decision, echoed; None while undecided
    last: Decision | None  # what this seat did in the last resolved round
    indicators: dict[str, Any]  # the market's last quarter
    report: list[FeedEntry]  # what the last resolved round did
    messages: list[Message]
    standing: Score | None
    version: int


@dataclass(frozen=True)
class Standing:
    """A leaderboard row: a seat's score against the computer's play of the same quarters."""

    seat: str
    by: str  # the player's name, or "computer"
    points: float
    reference_points: float

    @property
    def gap(self) -> float:
        return self.points - self.reference_points


class Room:
    """One shared market. Build with `Room.create`; rebuild a saved one with `Room.restore`."""

    def __init__(self, settings: Settings, clock: Clock = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.listeners: list[Listener] = []
        self.seats = {
            name: Seat(name, settings.seat_players if name in settings.open_seats else 0)
            for name in SEATS
        }
        self.status = "lobby"
        self.round = 1  # the round open for decisions (the next one, in the lobby)
        self.deadline: float | None = None
        self.remaining: float | None = None  # seconds left on a paused round's clock
        self.pending: dict[str, dict[str, Any]] = {}  # this round's decisions, by seat
        self.decisions: list[Decision] = []  # every resolved round's, seat by seat
        self.shocks: list[ShockRecord] = []
        self.messages: list[Message] = []
        self.moves: dict[int, list[dict[str, Any]]] = {}  # quarter -> changes, as applied
        self.model = MineralMarket(self.played(), rng=settings.seed)
        self._reference: tuple[str, dict[str, np.ndarray]] | None = None

    # --- creating and rebuilding -----------------------------------------------------------

    @classmethod
    def create(
        cls,
        scenario: str | Mapping[str, Any],
        seed: int = 1,
        round_quarters: int = 1,
        deadline_seconds: float = 120.0,
        open_seats: tuple[str, ...] | list[str] = SEATS,
        code: str | None = None,
        clock: Clock = time.time,
        seat_players: int = 1,
    ) -> tuple[Room, str]:
        """A new room in the lobby and the facilitator's token (shown once, never stored)."""
        source = scenario if isinstance(scenario, str) else copy.deepcopy(dict(scenario))
        try:
            load_scenario(source)
        except ScenarioError as err:
            raise RoomError(str(err)) from None
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise RoomError(f"seed: expected a whole number from 0 up, got {seed!r}")
        if round_quarters not in ROUND_QUARTERS:
            raise RoomError("round length: 1 quarter or 4 quarters (a year)")
        if not (isinstance(deadline_seconds, int | float) and 10 <= deadline_seconds <= 3600):
            raise RoomError("decision deadline: from 10 to 3,600 seconds")
        unknown = [s for s in open_seats if s not in SEATS]
        if unknown or not open_seats:
            raise RoomError(f"open seats: choose from {', '.join(SEATS)}")
        if (
            isinstance(seat_players, bool)
            or not isinstance(seat_players, int)
            or not 1 <= seat_players <= MAX_SEAT_PLAYERS
        ):
            raise RoomError(f"players per seat: from 1 to {MAX_SEAT_PLAYERS}")
        token = new_token()
        settings = Settings(
            normal_code(code) if code else new_code(),
            source,
            seed,
            round_quarters,
            float(deadline_seconds),
            tuple(s for s in SEATS if s in open_seats),
            token_hash(token),
            clock(),
            seat_players,
        )
        return cls(settings, clock), token

    @classmethod
    def restore(
        cls, settings: Settings, state: Mapping[str, Any], clock: Clock = time.time
    ) -> Room:
        """A saved room at its last finished round: the market rebuilt by replaying its moves,
        its seats (and their tokens' hashes), this round's decisions and its record. A round
        that was open gets a fresh clock, so players have time to come back."""
        room = cls(settings, clock)
        room.moves = {int(q): [dict(c) for c in cs] for q, cs in state["moves"].items()}
        quarter = int(state["quarter"])
        if quarter:
            full = room.model.quarters
            run = play(room.played(), settings.seed, quarters=quarter, moves=room.moves)
            room.model = run.model
            room.model.apply("quarters", full)
        for changes in room.moves.get(quarter + 1, ()):  # shocks made in the open round
            room._apply(changes)
        for name, hashed, player in state["holders"]:
            room.seats[name].holders[hashed] = player
        room.status = state["status"]
        room.round = int(state["round"])
        room.pending = {s: dict(c) for s, c in state["pending"].items()}
        room.decisions = list(state["decisions"])
        room.shocks = list(state["shocks"])
        room.messages = list(state["messages"])
        if room.status == "running":
            room.deadline = clock() + settings.deadline_seconds
        elif room.status == "paused":
            room.remaining = state["remaining"] or settings.deadline_seconds
        return room

    def played(self) -> Scenario:
        """The scenario as this room's open seats play it (`viz.game.scenario_as_played`): the
        timeline no longer moves an open seat's levers, an open government starts from the
        status quo, and a response that is off is made standing so that governments' choices
        act; a seat no one takes is the computer's, which changes nothing. Fixed when the room
        is created, so a saved room is rebuilt on the same scenario."""
        countries = [s for s in self.settings.open_seats if s in GOVERNMENT_SEATS]
        supplier = "supplier" in self.settings.open_seats
        mine = tuple(f"governments.{c}." for c in countries) + (("supplier.",) if supplier else ())
        response = None
        if countries and load_scenario(self.settings.source).get("alliance.response") == "none":
            response = "standing"
        return scenario_as_played(self.settings.source, mine, countries, response)

    # --- what everyone may read --------------------------------------------------------------

    @property
    def code(self) -> str:
        return self.settings.code

    @property
    def quarter(self) -> int:
        return self.model.steps

    @property
    def quarters(self) -> int:
        return self.model.quarters

    @property
    def rounds(self) -> int:
        return math.ceil(self.quarters / self.settings.round_quarters)

    def lobby(self) -> dict[str, str]:
        """Each seat as the join page lists it: 'free' (room for a player), 'full' or
        'computer' (not open to players)."""
        with self.lock:
            return {
                s.name: "computer" if not s.open else "full" if s.full else "free"
                for s in self.seats.values()
            }

    def places(self) -> dict[str, tuple[int, int]]:
        """Each seat's players and how many may hold it, (2, 7) shown as 2/7."""
        with self.lock:
            return {s.name: (len(s.holders), s.capacity) for s in self.seats.values()}

    def seconds_left(self) -> float | None:
        with self.lock:
            if self.status == "paused":
                return self.remaining
            if self.status != "running" or self.deadline is None:
                return None
            return max(self.deadline - self.clock(), 0.0)

    def decided(self) -> dict[str, str]:
        """Each seat this round: 'decided', 'waiting' (its players have yet to decide) or
        'computer' (no player holds it); the projector shows it to the whole room."""
        with self.lock:
            return {
                s.name: "decided"
                if s.name in self.pending
                else "waiting"
                if s.taken
                else "computer"
                for s in self.seats.values()
            }

    def occupied(self) -> list[str]:
        return [s.name for s in self.seats.values() if s.taken]

    # --- players -------------------------------------------------------------------------------

    def join(self, seat: str, player: str = "") -> str:
        """Take a place at a seat; returns the token that is the player's key to it (kept in
        their link). Raises RoomError for a seat that is not open or full."""
        with self.lock:
            self._refuse_if_closed()
            if seat not in self.seats:
                raise RoomError(f"no seat {seat!r}: the seats are {', '.join(SEATS)}")
            chosen = self.seats[seat]
            if not chosen.open:
                raise RoomError(f"the {seat} seat is not open in this room: the computer plays it")
            if chosen.full:
                if chosen.capacity == 1:
                    raise RoomError(f"the {seat} seat is taken: choose a free one")
                raise RoomError(
                    f"the {seat} seat is full ({chosen.capacity} of {chosen.capacity} players): "
                    "choose another"
                )
            token = new_token()
            chosen.holders[token_hash(token)] = " ".join(str(player).split())[:40]
            self._touch()
            return token

    def seat_of(self, token: str) -> str:
        """The seat a token holds (reopening a link returns it). Raises RoomError for a token
        that holds no seat here: stale, handed to the computer, or from another room."""
        hashed = token_hash(token)
        with self.lock:
            for seat in self.seats.values():
                if any(hmac.compare_digest(held, hashed) for held in seat.holders):
                    return seat.name
        raise RoomError("this link holds no seat in this room any more: join again")

    def decide(self, token: str, changes: Mapping[str, Any], round_no: int) -> dict[str, Any]:
        """A seat's decision for round `round_no` (model values by dotted key; {} for no
        change). A later decision in the same round replaces it. Returns what was noted."""
        with self.lock:
            seat = self.seat_of(token)
            self._refuse_if_closed()
            if self.status == "lobby":
                raise RoomError("the room has not started: wait for the facilitator")
            if self.status == "finished":
                raise RoomError("the game is over: no more decisions")
            if round_no != self.round:
                raise RoomError(f"round {round_no} is over: this is round {self.round}")
            if self.status == "running" and self.seconds_left() == 0:
                raise RoomError(f"the deadline for round {self.round} has passed")
            changes = self._checked(seat, changes)
            self.pending[seat] = changes
            self._touch()
            if set(self.occupied()) <= set(self.pending) and self.status == "running":
                self._resolve()
            return changes

    def view(self, token: str) -> SeatView:
        """What a seat's page shows: its decision echoed, what the last round did, its
        standing and the facilitator's messages."""
        with self.lock:
            seat = self.seat_of(token)
            last = next((d for d in reversed(self.decisions) if d.seat == seat), None)
            return SeatView(
                seat,
                seat_role(seat),
                self.status,
                self.round,
                self.quarter,
                self.quarters,
                self.seconds_left(),
                self.pending.get(seat),
                last,
                dict(self.model.recorder.latest),
                self.report(),
                list(self.messages),
                self.standing(seat_role(seat)),
                self.version,
            )

    # --- the facilitator's console -----------------------------------------------------------

    def check_facilitator(self, token: str) -> None:
        if not hmac.compare_digest(self.settings.facilitator_hash, token_hash(token)):
            raise RoomError("the console needs the facilitator's link for this room")

    def start(self, token: str) -> None:
        with self.lock:
            self.check_facilitator(token)
            self._refuse_if_closed()
            if self.status != "lobby":
                raise RoomError("the room has already started")
            self.status = "running"
            self.deadline = self.clock() + self.settings.deadline_seconds
            self._reference_play()  # now, not in the first page's view after round 1
            self._touch()

    def pause(self, token: str) -> None:
        with self.lock:
            self.check_facilitator(token)
            if self.status != "running":
                raise RoomError("only a running room can be paused")
            self.remaining, self.deadline = self.seconds_left(), None
            self.status = "paused"
            self._touch()

    def resume(self, token: str) -> None:
        with self.lock:
            self.check_facilitator(token)
            if self.status != "paused":
                raise RoomError("only a paused room can be resumed")
            self.deadline = self.clock() + (self.remaining or 0.0)
            self.remaining, self.status = None, "running"
            self._touch()

    def advance(self, token: str) -> None:
        """Close this round now: undecided seats play the computer's move."""
        with self.lock:
            self.check_facilitator(token)
            if self.status not in ("running", "paused"):
                raise RoomError("no round is open: start the room first")
            self._resolve()

    def extend(self, token: str, seconds: float) -> None:
        with self.lock:
            self.check_facilitator(token)
            if not (isinstance(seconds, int | float) and 0 < seconds <= 3600):
                raise RoomError("extend by 1 to 3,600 seconds")
            if self.status == "running" and self.deadline is not None:
                self.deadline = max(self.deadline, self.clock()) + seconds
            elif self.status == "paused":
                self.remaining = (self.remaining or 0.0) + seconds
            else:
                raise RoomError("no round is open to extend")
            self._touch()

    def shock(self, token: str, shock: str, country: str = "", size: float = 0.0) -> ShockRecord:
        """A shock for the whole room, from the next quarter played."""
        with self.lock:
            self.check_facilitator(token)
            self._refuse_if_closed()
            if self.status == "finished":
                raise RoomError("the game is over: a shock would change nothing")
            try:
                changes, text = shock_changes(self.model, shock, country, float(size))
            except ScenarioError as err:
                raise RoomError(str(err)) from None
            quarter = self.quarter + 1
            self._apply(changes)
            self.moves.setdefault(quarter, []).append(changes)
            record = ShockRecord(
                self.round, quarter, shock, country, float(size), changes, text, self.clock()
            )
            self.shocks.append(record)
            self._reference_play()  # the computer's play now faces this shock too
            self._touch()
            return record

    def message(self, token: str, text: str) -> Message:
        with self.lock:
            self.check_facilitator(token)
            self._refuse_if_closed()
            text = " ".join(str(text).split())
            if not text or len(text) > MAX_MESSAGE:
                raise RoomError(f"a message is 1 to {MAX_MESSAGE} characters")
            note = Message(self.round, self.quarter, text, self.clock())
            self.messages.append(note)
            self._touch()
            return note

    def who_decided(self, token: str) -> dict[str, str]:
        """The console's `decided`, for the facilitator."""
        self.check_facilitator(token)
        return self.decided()

    def hand_to_computer(self, token: str, seat: str) -> None:
        """Free a seat: its players' tokens stop working, the computer plays it from this round
        and other players may take it."""
        with self.lock:
            self.check_facilitator(token)
            if seat not in self.seats or not self.seats[seat].taken:
                raise RoomError(f"no player holds the {seat} seat")
            self.seats[seat].holders.clear()
            self.pending.pop(seat, None)
            self._touch()
            if self.status == "running" and self.occupied() and not self._waiting():
                self._resolve()

    def close(self, token: str) -> None:
        with self.lock:
            self.check_facilitator(token)
            self.status, self.deadline, self.remaining = "closed", None, None
            self._touch()

    # --- the clock -----------------------------------------------------------------------------

    def tick(self) -> bool:
        """Close the round if its deadline has passed (late seats play the computer's move).
        Returns whether a round was resolved."""
        with self.lock:
            if self.status == "running" and self.seconds_left() == 0:
                self._resolve()
                return True
            return False

    def wait(self, version: int, timeout: float) -> int:
        """Block until the room's version passes `version` or `timeout` seconds go by; returns
        the version (a page's subscription)."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != version, timeout)
            return self.version

    # --- scores and the record ------------------------------------------------------------------

    def standing(self, role: str) -> Score | None:
        """A side's score over the quarters played, against the computer playing every seat
        with the same shocks; None before the first quarter."""
        with self.lock:
            if not self.quarter:
                return None
            arrays = recorded_arrays(self.model.recorder)
            return standing(role, arrays, self._reference_play(), Economy.of(self.model))

    def _reference_play(self) -> dict[str, np.ndarray]:
        """The computer playing every seat of this room's market with the same shocks, kept
        until a new shock."""
        shocks: dict[int, list[dict[str, Any]]] = {}
        for record in self.shocks:
            shocks.setdefault(record.quarter, []).append(record.changes)
        key = json.dumps(shocks, sort_keys=True, default=str)
        if self._reference is None or self._reference[0] != key:
            arrays = reference_arrays(self.settings.source, self.settings.seed, {}, shocks)
            self._reference = (key, arrays)
        return self._reference[1]

    def leaderboard(self) -> list[Standing]:
        """Every seat, best against the computer first (the five governments share the
        coalition's score: they win or lose the market together)."""
        with self.lock:
            scores = {role: self.standing(role) for role in ("coalition", "supplier")}
            rows = []
            for seat in self.seats.values():
                score = scores[seat_role(seat.name)]
                if score is not None:
                    who = seat.players if seat.taken else "computer"
                    rows.append(Standing(seat.name, who, score.points, score.reference_points))
            return sorted(rows, key=lambda r: -r.gap)

    def room_feed(self) -> list[FeedEntry]:
        """The players' decisions and the facilitator's shocks as feed entries (the market's
        own feed holds only what the market did, so a replay rebuilds it exactly)."""
        with self.lock:
            moves = [
                (d.quarter, entry(d.quarter, "decision", d.seat, f"{d.seat}: {d.text}"))
                for d in self.decisions
                if d.changes
            ]
            moves += [
                (s.quarter, entry(s.quarter, "shock", "facilitator", f"shock: {s.text}"))
                for s in self.shocks
            ]
            return [e for _, e in sorted(moves, key=lambda m: m[0])]

    def report(self) -> list[FeedEntry]:
        """What the last resolved round did: its decisions, shocks and the market's feed."""
        with self.lock:
            last = self.round if self.status == "finished" else self.round - 1
            length = self.settings.round_quarters
            first, end = (last - 1) * length, min(last * length, self.quarters)
            if last < 1:
                return []
            return [e for e in [*self.room_feed(), *self.model.feed] if first < e.quarter <= end]

    def timeseries(self) -> pd.DataFrame:
        with self.lock:
            return quarterly_table(self.model, self.room_feed())

    def record(self) -> dict[str, bytes]:
        """The whole room for the debrief, files by name: the charts (PNG) and, as CSV, the
        quarterly table, every seat's decision each round, every shock and message, and the
        standings."""
        with self.lock:
            decisions = pd.DataFrame(
                [
                    {
                        "round": d.round,
                        "quarter": d.quarter,
                        "seat": d.seat,
                        "by": d.by,
                        "changes": json.dumps(d.changes, sort_keys=True),
                        "text": d.text,
                    }
                    for d in self.decisions
                ],
                columns=["round", "quarter", "seat", "by", "changes", "text"],
            )
            shocks = pd.DataFrame(
                [
                    {
                        "round": s.round,
                        "quarter": s.quarter,
                        "shock": s.shock,
                        "country": s.country,
                        "size": s.size,
                        "changes": json.dumps(s.changes, sort_keys=True),
                        "text": s.text,
                    }
                    for s in self.shocks
                ],
                columns=["round", "quarter", "shock", "country", "size", "changes", "text"],
            )
            messages = pd.DataFrame(
                [{"round": m.round, "quarter": m.quarter, "text": m.text} for m in self.messages],
                columns=["round", "quarter", "text"],
            )
            board = pd.DataFrame(
                [
                    {
                        "seat": r.seat,
                        "by": r.by,
                        "points": r.points,
                        "computer_points": r.reference_points,
                    }
                    for r in self.leaderboard()
                ],
                columns=["seat", "by", "points", "computer_points"],
            )
            name = f"{self.model.spec.name}-seed{self.settings.seed}-room{self.code}"
            return {
                f"{name}-charts.png": export_png(RoomMarket(self)),
                f"{name}-quarterly.csv": csv_bytes(self.timeseries()),
                f"{name}-decisions.csv": csv_bytes(decisions),
                f"{name}-shocks.csv": csv_bytes(shocks),
                f"{name}-messages.csv": csv_bytes(messages),
                f"{name}-leaderboard.csv": csv_bytes(board),
            }

    def record_zip(self) -> bytes:
        """`record` in one zip: the debrief's single download."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.record().items():
                archive.writestr(name, data)
        return buffer.getvalue()

    # --- inside ------------------------------------------------------------------------------

    def _checked(self, seat: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """A seat's changes if each key is its lever and each value in the lever's range and
        the schema's; RoomError naming the first that is not."""
        levers = seat_levers(seat)
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            lever = levers.get(key)
            if lever is None:
                raise RoomError(f"{key}: not a lever of the {seat} seat")
            checked[key] = _in_range(lever, key, value, self.model.spec.get(key))
        try:
            check_changes(self.model, checked)
        except ScenarioError as err:
            raise RoomError(str(err)) from None
        return checked

    def _waiting(self) -> list[str]:
        return [s for s in self.occupied() if s not in self.pending]

    def _resolve(self) -> None:
        """Apply every seat's decision (the computer's, no change, for the rest), play the
        round's quarters and open the next round."""
        quarter, now = self.quarter + 1, self.clock()
        for seat in SEATS:
            changes = self.pending.get(seat)
            by = "player" if changes is not None and self.seats[seat].taken else "computer"
            changes = changes or {}
            if changes:
                self._apply(changes)
                self.moves.setdefault(quarter, []).append(changes)
            text = describe(seat, changes) if changes else "no change"
            self.decisions.append(Decision(self.round, quarter, seat, by, changes, text, now))
        for _ in range(min(self.settings.round_quarters, self.quarters - self.quarter)):
            self.model.step()
        self.pending = {}
        if self.model.running:
            self.round += 1
            if self.status == "paused":
                self.remaining = self.settings.deadline_seconds
            else:
                self.deadline = self.clock() + self.settings.deadline_seconds
        else:
            self.status, self.deadline, self.remaining = "finished", None, None
        self._touch()

    def _apply(self, changes: Mapping[str, Any]) -> None:
        for key, value in changes.items():
            self.model.apply(key, value)

    def _refuse_if_closed(self) -> None:
        if self.status == "closed":
            raise RoomError("this room is closed")

    def _touch(self) -> None:
        """A visible change: bump the version, tell the listeners, wake the pages."""
        self.version += 1
        for listener in self.listeners:
            listener(self)
        self.changed.notify_all()


def _in_range(lever: Lever, key: str, value: Any, current: Any) -> Any:
    """A value within the lever's range as a control offers it (widened to the value the
    market holds now), in the model's units; RoomError otherwise."""
    if lever.kind == "bool":
        if not isinstance(value, bool):
            raise RoomError(f"{key}: expected on or off (true or false), got {value!r}")
        return value
    if lever.kind == "choice":
        if value not in lever.choices:
            raise RoomError(f"{key}: expected one of {', '.join(lever.choices)}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise RoomError(f"{key}: expected a number, got {value!r}")
    shown = lever.shown(value)
    low, high = min(lever.low, lever.shown(current)), max(lever.high, lever.shown(current))
    if not low <= shown <= high:
        unit = f" {lever.unit}" if lever.unit else ""
        raise RoomError(f"{key}: from {low:g} to {high:g}{unit}, got {shown:g}")
    return int(value) if lever.kind == "int" else float(value)


def describe(seat: str, changes: Mapping[str, Any]) -> str:
    """'price floor 110 USD/kg; anti-dumping duty 30 %' for one seat's changes."""
    levers = seat_levers(seat)
    return "; ".join(phrase(levers[key], key, value) for key, value in changes.items())


class RoomMarket:
    """A room's market as the live charts and feed read a tab's game (`viz.live.LiveView`)."""

    generation = 0
    ghost = None
    role = "watch"

    def __init__(self, room: Room) -> None:
        self.room = room

    @property
    def model(self) -> Any:
        return self.room.model

    @property
    def quarter(self) -> int:
        return self.room.quarter

    @property
    def quarters(self) -> int:
        return self.room.quarters

    @property
    def finished(self) -> bool:
        return self.room.status == "finished"

    @property
    def scenario_name(self) -> str:
        return self.room.model.spec.name

    @property
    def seed(self) -> int:
        return self.room.settings.seed

    def arrays(self) -> dict[str, np.ndarray]:
        with self.room.lock:
            return recorded_arrays(self.room.model.recorder)

    def feed(self) -> list:
        with self.room.lock:
            return [*self.room.room_feed(), *self.room.model.feed]

    def status(self) -> str:
        with self.room.lock:
            if not self.model.recorder.latest:
                return "waiting for the first round"
            return Game.status(self)  # type: ignore[arg-type]  # reads only .model

"""The workshop room without a browser: seats and tokens, rounds and deadlines, the console,
scores, the debrief record, saving and resuming, and many rooms on one registry."""

from __future__ import annotations

import io
import json
import sqlite3
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import viz.room.store
from market.play import play
from viz.game import GAME_SERIES, Game
from viz.room import SEATS, Room, RoomError, Rooms, Store
from viz.room.room import CODE_ALPHABET, CODE_LENGTH, seat_levers

SCENARIO = "dumping"


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rooms(tmp_path, clock):
    registry = Rooms(tmp_path / "rooms.sqlite", clock=clock)
    yield registry
    registry.close()


def snapshot(room: Room) -> dict:
    """Everything a room holds that matters, to compare a room with its rebuilt self."""
    return {
        "table": room.timeseries(),
        "feed": [e.as_dict() for e in room.model.feed],
        "quarter": room.quarter,
        "round": room.round,
        "status": room.status,
        "lobby": room.lobby(),
        "decisions": list(room.decisions),
        "shocks": list(room.shocks),
        "messages": list(room.messages),
        "pending": dict(room.pending),
        "spec": room.model.spec.flat(),
    }


def assert_same(a: dict, b: dict) -> None:
    pd.testing.assert_frame_equal(a.pop("table"), b.pop("table"))
    assert a == b


# --- create and join ---------------------------------------------------------------------------


def test_codes_are_short_typeable_and_unrelated(rooms):
    made = [rooms.create(SCENARIO, seed=1)[0].code for _ in range(8)]
    assert len(set(made)) == 8
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in made)
    assert not set(CODE_ALPHABET) & set("0O1IL")
    assert rooms.room(made[0].lower() + " ") is rooms.room(made[0])  # typed on a phone
    with pytest.raises(RoomError, match="no open room has the code"):
        rooms.room("ZZZZZZ" if "ZZZZZZ" not in made else "YYYYYY")


def test_join_a_free_seat_refuse_a_taken_one_reopen_with_the_token(rooms):
    room, _ = rooms.create(SCENARIO, seed=1, open_seats=["US", "JP", "supplier"])
    assert room.lobby() == {
        "US": "free",
        "AU": "computer",
        "JP": "free",
        "MY": "computer",
        "TH": "computer",
        "supplier": "free",
    }
    token = rooms.join(room.code, "US", "Ana")
    assert room.seat_of(token) == "US" and room.lobby()["US"] == "full"
    version = room.version
    with pytest.raises(RoomError, match="the US seat is taken"):
        rooms.join(room.code, "US", "Ben")
    with pytest.raises(RoomError, match="not open in this room"):
        rooms.join(room.code, "AU")
    with pytest.raises(RoomError, match="no seat 'XX'"):
        rooms.join(room.code, "XX")
    assert room.version == version and room.seat_of(token) == "US"  # refusals change nothing
    assert rooms.room(room.code).seat_of(token) == "US"  # reopening the link: the same seat


def test_a_team_shares_a_seat_up_to_its_size_and_any_member_decides_for_it(rooms, clock):
    room, facilitator = rooms.create(
        SCENARIO, seed=1, open_seats=["US", "supplier"], seat_players=3
    )
    team = [rooms.join(room.code, "US", name) for name in ("Ana", "Ben", "  Cy  ")]
    assert room.places()["US"] == (3, 3) and room.lobby()["US"] == "full"
    assert room.places()["supplier"] == (0, 3) and room.places()["AU"] == (0, 0)
    with pytest.raises(RoomError, match=r"the US seat is full \(3 of 3 players\)"):
        rooms.join(room.code, "US", "Dee")
    supplier = rooms.join(room.code, "supplier")
    room.start(facilitator)
    room.decide(team[0], {"governments.US.duty": 0.3}, 1)
    room.decide(team[2], {"governments.US.duty": 0.5}, 1)  # the team's later word is the seat's
    assert room.pending == {"US": {"governments.US.duty": 0.5}} and room.quarter == 0
    room.decide(supplier, {}, 1)  # one decision a seat, not a player, closes the round
    assert room.quarter == 1 and room.model.spec.get("governments.US.duty") == 0.5
    assert [r.by for r in room.leaderboard() if r.seat == "US"] == ["Ana, Ben, Cy"]
    rebuilt = Rooms(rooms.store.path, clock=clock).room(room.code)
    assert [rebuilt.seat_of(t) for t in team] == ["US"] * 3  # every member's link still works
    room.hand_to_computer(facilitator, "US")
    for member in team:
        with pytest.raises(RoomError, match="holds no seat"):
            room.seat_of(member)
    assert room.places()["US"] == (0, 3)
    for size in (0, 11, 2.5, True):
        with pytest.raises(RoomError, match="players per seat: from 1 to 10"):
            rooms.create(SCENARIO, seat_players=size)


def test_a_rooms_file_from_before_teams_is_read_with_its_players(tmp_path, clock):
    path = tmp_path / "old.sqlite"
    room, _ = Room.create(SCENARIO, seed=3, clock=clock)
    us = room.join("US", "Ana")
    old = Store(path)
    old.save(room)
    old.close()
    with sqlite3.connect(path) as db:  # the layout before teams: one seats row a seat
        row = db.execute("SELECT code, seat, token_hash, player FROM holders").fetchone()
        db.executescript(
            "DROP TABLE holders; ALTER TABLE rooms DROP COLUMN seat_players;"
            "CREATE TABLE seats (code TEXT NOT NULL, seat TEXT NOT NULL, token_hash TEXT NOT"
            " NULL, player TEXT NOT NULL, PRIMARY KEY (code, seat));"
        )
        db.execute("INSERT INTO seats VALUES (?,?,?,?)", row)
        db.execute("INSERT INTO seats VALUES (?,'JP','','')", (row[0],))
    upgraded = Store(path)
    again = upgraded.load(room.code, clock)
    assert again.seat_of(us) == "US" and again.places()["US"] == (1, 1)
    assert again.places()["JP"] == (0, 1)
    upgraded.close()


def test_a_players_token_cannot_act_for_another_seat_or_the_console(rooms):
    room, facilitator = rooms.create(SCENARIO, seed=1)
    other, _ = rooms.create(SCENARIO, seed=1)
    us, jp = room.join("US"), room.join("JP")
    foreign = other.join("US")
    room.start(facilitator)
    room.decide(us, {"governments.US.duty": 0.3}, 1)
    with pytest.raises(RoomError, match="not a lever of the US seat"):
        room.decide(us, {"governments.JP.duty": 0.3}, 1)
    with pytest.raises(RoomError, match="not a lever of the US seat"):
        room.decide(us, {"supplier.strategy": "market"}, 1)
    with pytest.raises(RoomError, match="holds no seat in this room"):
        room.decide(foreign, {"governments.US.duty": 0.5}, 1)
    for action in (room.start, room.pause, room.advance, room.close):
        with pytest.raises(RoomError, match="facilitator"):
            action(us)
    with pytest.raises(RoomError, match="facilitator"):
        room.shock(jp, "export_ban")
    with pytest.raises(RoomError, match="facilitator"):
        room.hand_to_computer(us, "JP")
    with pytest.raises(RoomError, match="facilitator"):
        other.start(facilitator)  # one room's console is not another's
    assert room.pending == {"US": {"governments.US.duty": 0.3}} and room.quarter == 0
    assert room.who_decided(facilitator)["JP"] == "waiting"


def test_decisions_are_checked_against_the_lever_and_the_schema(rooms, clock):
    room, facilitator = rooms.create(SCENARIO, seed=1, deadline_seconds=60)
    us, supplier = room.join("US"), room.join("supplier")
    with pytest.raises(RoomError, match="has not started"):
        room.decide(us, {}, 1)
    room.start(facilitator)
    floor = seat_levers("US")["governments.US.floor_price"]
    bad = [
        (us, {"governments.US.floor_price": floor.high + 1}, "from .* to .* USD/kg"),
        (us, {"governments.US.duty": 5.0}, "from 0 to .* %, got 500"),
        (us, {"governments.US.member": "yes"}, "true or false"),
        (us, {"governments.US.floor_price": "high"}, "expected a number"),
        (supplier, {"supplier.strategy": "bribe"}, "expected one of"),
        (us, {"governments.US.quarters": 4}, "not a lever"),
    ]
    for token, changes, message in bad:
        with pytest.raises(RoomError, match=message):
            room.decide(token, changes, 1)
    # all or none: a good key beside a bad one is not noted either
    with pytest.raises(RoomError):
        room.decide(us, {"governments.US.duty": 0.2, "governments.US.financing": 9.0}, 1)
    assert room.pending == {}
    with pytest.raises(RoomError, match="round 2 is over: this is round 1"):
        room.decide(us, {}, 2)
    clock.advance(61)
    with pytest.raises(RoomError, match="deadline for round 1 has passed"):
        room.decide(us, {"governments.US.duty": 0.2}, 1)
    assert room.pending == {} and room.quarter == 0
    assert rooms.tick() == [room.code] and room.round == 2
    with pytest.raises(RoomError, match="round 1 is over"):
        room.decide(us, {"governments.US.duty": 0.2}, 1)


# --- rounds ------------------------------------------------------------------------------------


def test_a_round_resolves_when_every_player_has_decided(rooms):
    room, facilitator = rooms.create(SCENARIO, seed=3, round_quarters=4)
    us, supplier = room.join("US"), room.join("supplier")
    room.start(facilitator)
    room.decide(us, {"governments.US.floor_price": 110.0, "governments.US.floor_budget": 900.0}, 1)
    assert room.quarter == 0 and room.who_decided(facilitator)["US"] == "decided"
    room.decide(supplier, {"supplier.strategy": "market"}, 1)
    assert room.quarter == 4 and room.round == 2  # a year a round
    assert room.model.governments["US"].floor_price == 110.0
    view = room.view(us)
    assert view.last.by == "player" and view.last.changes["governments.US.floor_price"] == 110.0
    assert view.pending is None and view.round == 2
    assert any(e.kind == "decision" and e.who == "US" for e in view.report)
    assert all(1 <= e.quarter <= 4 for e in view.report)
    by_seat = {d.seat: d.by for d in room.decisions}
    assert by_seat == {"US": "player", "AU": "computer", "JP": "computer", "MY": "computer"} | {
        "TH": "computer",
        "supplier": "player",
    }
    assert room.moves == {
        1: [
            {"governments.US.floor_price": 110.0, "governments.US.floor_budget": 900.0},
            {"supplier.strategy": "market"},
        ]
    }
    # the supplier's seat is open: the scenario's Q5 switch to dumping is the player's move now
    room.decide(us, {}, 2)
    room.decide(supplier, {}, 2)
    assert room.quarter == 8 and room.model.supplier.strategy == "market"


def test_at_the_deadline_a_late_seat_plays_the_computers_move(rooms, clock):
    room, facilitator = rooms.create(SCENARIO, seed=2, deadline_seconds=30)
    us = room.join("US")
    room.join("JP")
    room.start(facilitator)
    room.decide(us, {"governments.US.duty": 0.4}, 1)
    duty_jp = room.model.governments["JP"].duty
    clock.advance(29)
    assert rooms.tick() == [] and room.quarter == 0 and room.seconds_left() == pytest.approx(1)
    clock.advance(1)
    assert rooms.tick() == [room.code] and room.quarter == 1
    late = next(d for d in room.decisions if d.seat == "JP")
    assert late.by == "computer" and late.changes == {} and late.text == "no change"
    assert room.model.governments["JP"].duty == duty_jp
    assert room.model.governments["US"].duty == pytest.approx(0.4)
    assert room.seconds_left() == 30  # the next round's clock


def test_the_console_pauses_extends_advances_hands_over_and_closes(rooms, clock):
    room, facilitator = rooms.create(SCENARIO, seed=1, deadline_seconds=60)
    us, jp = room.join("US", "Ana"), room.join("JP")
    room.start(facilitator)
    clock.advance(20)
    room.pause(facilitator)
    clock.advance(500)
    assert rooms.tick() == [] and room.seconds_left() == 40
    room.resume(facilitator)
    room.extend(facilitator, 30)
    clock.advance(69)
    assert rooms.tick() == [] and room.seconds_left() == pytest.approx(1)
    room.advance(facilitator)
    assert room.quarter == 1 and room.round == 2
    room.decide(us, {}, 2)
    room.hand_to_computer(facilitator, "JP")  # the only player left has decided: round over
    assert room.quarter == 2 and room.lobby()["JP"] == "free"
    with pytest.raises(RoomError, match="holds no seat"):
        room.view(jp)
    room.message(facilitator, "  Five minutes   to the break ")
    assert room.view(us).messages[-1].text == "Five minutes to the break"
    with pytest.raises(RoomError, match="1 to 500 characters"):
        room.message(facilitator, "   ")
    room.close(facilitator)
    with pytest.raises(RoomError, match="no open room"):
        rooms.room(room.code)
    with pytest.raises(RoomError, match="closed"):
        room.decide(us, {}, 3)


def test_a_shock_reaches_the_rooms_market_and_every_seats_view(rooms):
    room, facilitator = rooms.create(SCENARIO, seed=1)
    tokens = {seat: room.join(seat) for seat in SEATS}
    room.start(facilitator)
    with pytest.raises(RoomError, match="choose a country"):
        room.shock(facilitator, "budget_cut", "XX", 50)
    with pytest.raises(RoomError, match="size from 10 to 100"):
        room.shock(facilitator, "demand_surge", size=500)
    with pytest.raises(RoomError, match="expected one of"):
        room.shock(facilitator, "meteor")
    assert room.shocks == [] and room.moves == {}
    record = room.shock(facilitator, "export_ban")
    assert room.model.supplier.quota_cut == 1.0 and record.quarter == 1
    for token in tokens.values():
        room.decide(token, {}, 1)
    assert room.quarter == 1
    for token in tokens.values():
        report = room.view(token).report
        assert [e.text for e in report if e.kind == "shock"] == [f"shock: {record.text}"]
    # the computer a seat is scored against faced the shock too
    reference = play(SCENARIO, 1, moves={1: [record.changes]}).recorder
    score = room.standing("supplier")
    profit = float(reference.series("dominant_profit")[0]) * 1.07**-0.25  # one quarter
    assert score.reference_parts["profit, USD m"] == pytest.approx(profit)


# --- scores and the record ---------------------------------------------------------------------


def test_each_seat_is_scored_by_the_games_rules_and_ranked(rooms):
    room, facilitator = rooms.create("coordinated-response", seed=1, round_quarters=4)
    us = room.join("US", "Ana")
    supplier = room.join("supplier", "Bo")
    assert room.standing("coalition") is None  # nothing played yet
    room.start(facilitator)
    for round_no in range(1, room.rounds + 1):
        changes = {"governments.US.floor_price": 120.0} if round_no == 1 else {}
        changes |= {"governments.US.floor_budget": 3000.0} if round_no == 1 else {}
        room.decide(us, changes, round_no)
        room.decide(supplier, {"supplier.strategy": "market"} if round_no == 1 else {}, round_no)
    assert room.status == "finished" and room.quarter == room.quarters
    coalition, dominant = room.view(us).standing, room.view(supplier).standing
    assert coalition.role == "coalition" and dominant.role == "supplier"
    # the game's own scoring of the same markets: the room's run against the computer's
    game_score = Game("coordinated-response", 1)
    assert dominant.reference_points == pytest.approx(
        _game_reference_points(game_score, "supplier")
    )
    assert coalition.points != coalition.reference_points  # the players changed the market
    board = room.leaderboard()
    assert [r.seat for r in board if r.seat in ("US", "supplier")] and len(board) == 6
    assert [r.gap for r in board] == sorted((r.gap for r in board), reverse=True)
    assert {r.seat: r.by for r in board}["US"] == "Ana"
    assert {r.seat: r.by for r in board}["AU"] == "computer"


def _game_reference_points(game: Game, role: str) -> float:
    """The single-tab game's score of the computer's play, for the same scenario and seed."""
    game.set_role(role)
    while not game.finished:
        game.play_round()
        while game.step():
            pass
    return game.score().reference_points


def test_the_record_holds_every_decision_shock_and_message(rooms):
    room, facilitator = rooms.create(SCENARIO, seed=1)
    us = room.join("US")
    room.start(facilitator)
    room.shock(facilitator, "budget_cut", "JP", 40)
    room.message(facilitator, "the ban is coming")
    room.decide(us, {"governments.US.duty": 0.25}, 1)
    room.shock(facilitator, "export_ban")
    room.decide(us, {"governments.US.member": False}, 2)
    with zipfile.ZipFile(io.BytesIO(room.record_zip())) as archive:  # the one download
        files = {name: archive.read(name) for name in archive.namelist()}
    assert sorted(name.rsplit("-", 1)[-1] for name in files) == [
        "charts.png",
        "decisions.csv",
        "leaderboard.csv",
        "messages.csv",
        "quarterly.csv",
        "shocks.csv",
    ]
    charts = Image.open(io.BytesIO(files.pop(f"dumping-seed1-room{room.code}-charts.png")))
    assert charts.size == (1875, 960)  # the charts at print resolution
    table = {name.rsplit("-", 1)[-1]: pd.read_csv(io.BytesIO(data)) for name, data in files.items()}
    decisions = table["decisions.csv"]
    assert len(decisions) == 2 * len(SEATS)  # every seat, every round
    mine = decisions[(decisions.seat == "US")]
    assert [json.loads(c) for c in mine.changes] == [
        {"governments.US.duty": 0.25},
        {"governments.US.member": False},
    ]
    assert list(mine.by) == ["player", "player"]
    assert set(decisions[decisions.seat != "US"].by) == {"computer"}
    assert list(table["shocks.csv"].shock) == ["budget_cut", "export_ban"]
    assert list(table["shocks.csv"].quarter) == [1, 2]
    assert list(table["messages.csv"].text) == ["the ban is coming"]
    quarterly = table["quarterly.csv"]
    assert list(quarterly.columns) == [*GAME_SERIES, "events"] and len(quarterly) == 2
    assert (
        "shock: JP cuts" in quarterly.events[0] and "US: anti-dumping duty" in quarterly.events[0]
    )
    assert "export ban" in quarterly.events[1]


# --- replay and persistence --------------------------------------------------------------------


def test_a_rooms_market_is_its_moves_replayed(rooms):
    room, facilitator = rooms.create(SCENARIO, seed=5)
    us, supplier = room.join("US"), room.join("supplier")
    room.start(facilitator)
    for round_no in range(1, 9):
        room.decide(us, {"governments.US.duty": 0.05 * round_no}, round_no)
        if round_no == 3:
            room.shock(facilitator, "demand_surge", size=30)
        room.decide(supplier, {"supplier.price_allied": 40.0 + round_no}, round_no)
    replayed = play(room.played(), 5, quarters=8, moves=room.moves)
    for name in GAME_SERIES:
        assert np.array_equal(
            replayed.series(name), room.model.recorder.series(name), equal_nan=True
        ), name
    assert [e.as_dict() for e in replayed.model.feed] == [e.as_dict() for e in room.model.feed]


def test_a_saved_room_resumes_at_its_last_round_with_its_seats(tmp_path, clock):
    path = tmp_path / "rooms.sqlite"
    registry = Rooms(path, clock=clock)
    room, facilitator = registry.create(SCENARIO, seed=7, deadline_seconds=45)
    tokens = {seat: room.join(seat) for seat in ("US", "MY", "supplier")}
    room.start(facilitator)
    for round_no in (1, 2, 3):
        room.decide(tokens["US"], {"governments.US.stockpile_days": 10.0 * round_no}, round_no)
        room.decide(tokens["supplier"], {"supplier.quota_cut": 0.1}, round_no)
        if round_no == 2:
            room.shock(facilitator, "member_leaves", "TH")
            room.message(facilitator, "Thailand walks out")
        clock.advance(45)
        registry.tick()  # MY never decides: the computer plays it
    room.shock(facilitator, "export_ban")  # made in the open round, before it resolves
    room.decide(tokens["US"], {"governments.US.duty": 0.1}, 4)  # noted, not yet played
    before = snapshot(room)
    code = room.code
    registry.close()
    del registry, room

    again = Rooms(path, clock=clock)
    resumed = again.room(code)
    assert resumed.quarter == 3 and resumed.round == 4 and resumed.status == "running"
    assert_same(snapshot(resumed), before)
    assert {seat: resumed.seat_of(token) for seat, token in tokens.items()} == {
        "US": "US",
        "MY": "MY",
        "supplier": "supplier",
    }
    assert resumed.who_decided(facilitator)["US"] == "decided"  # the console's token too
    # the resumed room goes on as the live one would have
    resumed.decide(tokens["supplier"], {}, 4)
    resumed.decide(tokens["MY"], {}, 4)
    assert resumed.quarter == 4
    straight = play(resumed.played(), 7, quarters=4, moves=resumed.moves)
    assert np.array_equal(
        straight.series("price_allied"), resumed.model.recorder.series("price_allied")
    )
    again.close()


def test_saving_is_one_transaction_a_failed_write_leaves_the_last_good_state(
    tmp_path, clock, monkeypatch
):
    store = Store(tmp_path / "rooms.sqlite")
    room, facilitator = Room.create(SCENARIO, seed=1, clock=clock)
    room.listeners.append(store.save)
    us = room.join("US")
    room.start(facilitator)
    room.decide(us, {"governments.US.duty": 0.2}, 1)
    good = snapshot(store.load(room.code, clock))
    room.listeners.remove(store.save)
    room.advance(facilitator)
    # the write fails after it has deleted the room's old rows: none of it may stay
    monkeypatch.setattr(viz.room.store, "CHILDREN", (*viz.room.store.CHILDREN, "missing"))
    with pytest.raises(sqlite3.OperationalError, match="missing"):
        store.save(room)
    assert_same(snapshot(store.load(room.code, clock)), good)
    with sqlite3.connect(tmp_path / "rooms.sqlite") as db:
        hashes = [row[0] for row in db.execute("SELECT token_hash FROM holders WHERE seat='US'")]
    assert hashes and us not in hashes[0]  # the file holds no player's token
    store.close()


def test_two_rooms_on_one_registry_advance_independently(rooms, clock):
    fast, f1 = rooms.create(SCENARIO, seed=1, deadline_seconds=20)
    slow, f2 = rooms.create("baseline", seed=2, deadline_seconds=90, round_quarters=4)
    fast.join("US")
    slow.join("supplier")
    fast.start(f1)
    slow.start(f2)
    assert rooms.next_deadline() == clock.now + 20
    clock.advance(20)
    assert rooms.tick() == [fast.code]
    assert (fast.quarter, slow.quarter) == (1, 0)
    slow.pause(f2)
    clock.advance(100)
    assert sorted(rooms.tick()) == [fast.code]
    assert (fast.quarter, slow.quarter) == (2, 0)
    slow.advance(f2)
    assert (fast.quarter, slow.quarter) == (2, 4)


def test_the_clock_thread_resolves_a_round_at_its_deadline(tmp_path):
    registry = Rooms(tmp_path / "rooms.sqlite")
    room, facilitator = registry.create(SCENARIO, seed=1, deadline_seconds=10)
    room.join("US")
    registry.start_clock()
    try:
        room.start(facilitator)
        version = room.version
        with room.lock:
            room.deadline = registry.clock() + 0.2  # no test waits ten seconds
            room._touch()
        give_up = time.monotonic() + 5
        while room.quarter == 0 and time.monotonic() < give_up:
            version = room.wait(version, timeout=1)  # a page's subscription
        assert room.quarter == 1 and room.decisions[0].by == "computer"
    finally:
        registry.close()


def test_a_governments_seat_acts_even_where_the_scenario_has_no_response(rooms):
    """`dumping` switches the allies' response off; a room with a government's seat open makes
    it standing, so what that government decides is in force from the next quarter. A room
    with only the supplier's seat open plays the scenario's own response."""
    room, facilitator = rooms.create(SCENARIO, seed=2, open_seats=("US", "supplier"))
    assert room.played().get("alliance.response") == "standing"
    us = room.join("US")
    room.start(facilitator)
    room.decide(us, {"governments.US.floor_price": 110.0, "governments.US.floor_budget": 900.0}, 1)
    room.advance(facilitator)
    assert room.model.governments["US"].floor_support() == 110.0
    alone, _ = rooms.create(SCENARIO, seed=2, open_seats=("supplier",))
    assert alone.played().get("alliance.response") == "none"

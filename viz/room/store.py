"""Rooms saved in one SQLite file, so a restarted server resumes every open room.

A room is saved whole, in one transaction, after every decision and every resolved round: a
process killed mid-write leaves the last good state, never half a room. Only what cannot be
recomputed is kept: the settings, the seats (their tokens' hashes, never the tokens), this
round's decisions, the record, and the moves made before each quarter, from which the market is
replayed (`Room.restore`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from market.feed import to_python
from viz.room.room import Clock, Decision, Message, Room, Settings, ShockRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY, scenario TEXT NOT NULL, seed INTEGER NOT NULL,
    round_quarters INTEGER NOT NULL, deadline_seconds REAL NOT NULL, open_seats TEXT NOT NULL,
    facilitator_hash TEXT NOT NULL, created REAL NOT NULL, status TEXT NOT NULL,
    round INTEGER NOT NULL, quarter INTEGER NOT NULL, deadline REAL, remaining REAL,
    saved REAL NOT NULL, seat_players INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS holders (
    code TEXT NOT NULL, seat TEXT NOT NULL, token_hash TEXT NOT NULL, player TEXT NOT NULL,
    PRIMARY KEY (code, token_hash));
CREATE TABLE IF NOT EXISTS pending (
    code TEXT NOT NULL, round INTEGER NOT NULL, seat TEXT NOT NULL, changes TEXT NOT NULL,
    PRIMARY KEY (code, seat));
CREATE TABLE IF NOT EXISTS decisions (
    code TEXT NOT NULL, seq INTEGER NOT NULL, round INTEGER NOT NULL, quarter INTEGER NOT NULL,
    seat TEXT NOT NULL, by TEXT NOT NULL, changes TEXT NOT NULL, text TEXT NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (code, seq));
CREATE TABLE IF NOT EXISTS shocks (
    code TEXT NOT NULL, seq INTEGER NOT NULL, round INTEGER NOT NULL, quarter INTEGER NOT NULL,
    shock TEXT NOT NULL, country TEXT NOT NULL, size REAL NOT NULL, changes TEXT NOT NULL,
    text TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (code, seq));
CREATE TABLE IF NOT EXISTS messages (
    code TEXT NOT NULL, seq INTEGER NOT NULL, round INTEGER NOT NULL, quarter INTEGER NOT NULL,
    text TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (code, seq));
CREATE TABLE IF NOT EXISTS moves (
    code TEXT NOT NULL, quarter INTEGER NOT NULL, seq INTEGER NOT NULL, changes TEXT NOT NULL,
    PRIMARY KEY (code, quarter, seq));
"""
CHILDREN = ("holders", "pending", "decisions", "shocks", "messages", "moves")


def default_path() -> Path:
    """`$XDG_DATA_HOME/minerals/rooms.sqlite`, else `~/.local/share/minerals/rooms.sqlite`."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "minerals" / "rooms.sqlite"


def _json(value: Any) -> str:
    return json.dumps(to_python(value), sort_keys=True)


class Store:
    """One SQLite file of rooms. Safe to call from the clock's thread and the pages' threads."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # The write-ahead log with NORMAL syncing: a commit survives the process being killed
        # (what a restarted server needs); only a power cut can lose the last few, and a
        # commit costs a tenth of a fully synced one.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._upgrade()

    def _upgrade(self) -> None:
        """Bring a file written before seats took teams up to date: one holder a seat, kept."""
        db = self._db
        columns = [row[1] for row in db.execute("PRAGMA table_info(rooms)")]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        db.execute("BEGIN IMMEDIATE")
        try:
            if "seat_players" not in columns:
                db.execute("ALTER TABLE rooms ADD COLUMN seat_players INTEGER NOT NULL DEFAULT 1")
            if "seats" in tables:
                db.execute(
                    "INSERT OR IGNORE INTO holders SELECT code, seat, token_hash, player "
                    "FROM seats WHERE token_hash != ''"
                )
                db.execute("DROP TABLE seats")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save(self, room: Room) -> None:
        """Write the room whole in one transaction (call with the room's lock held)."""
        s, code = room.settings, room.code
        rows = {
            "holders": [
                (code, x.name, hashed, player)
                for x in room.seats.values()
                for hashed, player in x.holders.items()
            ],
            "pending": [(code, room.round, seat, _json(c)) for seat, c in room.pending.items()],
            "decisions": [
                (code, i, d.round, d.quarter, d.seat, d.by, _json(d.changes), d.text, d.at)
                for i, d in enumerate(room.decisions)
            ],
            "shocks": [
                (
                    code,
                    i,
                    x.round,
                    x.quarter,
                    x.shock,
                    x.country,
                    x.size,
                    _json(x.changes),
                    x.text,
                    x.at,
                )
                for i, x in enumerate(room.shocks)
            ],
            "messages": [
                (code, i, m.round, m.quarter, m.text, m.at) for i, m in enumerate(room.messages)
            ],
            "moves": [
                (code, quarter, i, _json(changes))
                for quarter, made in room.moves.items()
                for i, changes in enumerate(made)
            ],
        }
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT OR REPLACE INTO rooms VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        code,
                        _json(s.source),
                        s.seed,
                        s.round_quarters,
                        s.deadline_seconds,
                        _json(list(s.open_seats)),
                        s.facilitator_hash,
                        s.created,
                        room.status,
                        room.round,
                        room.quarter,
                        room.deadline,
                        room.remaining,
                        time.time(),
                        s.seat_players,
                    ),
                )
                for table in CHILDREN:
                    db.execute(f"DELETE FROM {table} WHERE code = ?", (code,))
                    if rows[table]:
                        marks = ",".join("?" * len(rows[table][0]))
                        db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def codes(self, include_closed: bool = False) -> list[str]:
        with self._lock:
            query = "SELECT code FROM rooms" + ("" if include_closed else " WHERE status != ?")
            args = () if include_closed else ("closed",)
            return [row[0] for row in self._db.execute(query + " ORDER BY created", args)]

    def load(self, code: str, clock: Clock = time.time) -> Room:
        """A saved room rebuilt at its last finished round (`Room.restore`)."""
        with self._lock:
            db = self._db
            row = db.execute("SELECT * FROM rooms WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise KeyError(code)

            def rows(table: str, order: str = "seq") -> list[tuple]:
                return db.execute(
                    f"SELECT * FROM {table} WHERE code = ? ORDER BY {order}", (code,)
                ).fetchall()

            holders, pending = rows("holders", "seat, rowid"), rows("pending", "seat")
            decisions, shocks = rows("decisions"), rows("shocks")
            messages, moves = rows("messages"), rows("moves", "quarter, seq")
        (_, scenario, seed, length, deadline, open_seats, hashed, created) = row[:8]
        status, round_no, quarter, _, remaining, _, seat_players = row[8:]
        settings = Settings(
            code,
            json.loads(scenario),
            seed,
            length,
            deadline,
            tuple(json.loads(open_seats)),
            hashed,
            created,
            seat_players,
        )
        made: dict[int, list[dict[str, Any]]] = {}
        for _, q, _, changes in moves:
            made.setdefault(q, []).append(json.loads(changes))
        state = {
            "status": status,
            "round": round_no,
            "quarter": quarter,
            "remaining": remaining,
            "holders": [(seat, token, player) for _, seat, token, player in holders],
            "pending": {seat: json.loads(changes) for _, _, seat, changes in pending},
            "decisions": [
                Decision(r, q, seat, by, json.loads(c), text, at)
                for _, _, r, q, seat, by, c, text, at in decisions
            ],
            "shocks": [
                ShockRecord(r, q, shock, country, size, json.loads(c), text, at)
                for _, _, r, q, shock, country, size, c, text, at in shocks
            ],
            "messages": [Message(r, q, text, at) for _, _, r, q, text, at in messages],
            "moves": made,
        }
        return Room.restore(settings, state, clock)

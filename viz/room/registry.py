"""Many rooms on one server, and the one clock that closes their rounds.

Rooms live here, outside any browser tab: a tab only reads a room and sends it a player's or the
facilitator's input, so a slow or closed tab never holds a room up. One scheduler thread wakes at
the earliest deadline among the rooms (or when a room's deadline changes) and resolves the rounds
that are due; there is never a loop per tab. The time is read from an injectable clock, so tests
move time on and call `tick` without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from viz.room.room import SEATS, Clock, Room, RoomError, normal_code
from viz.room.store import Store


class Rooms:
    """Every room on this server, saved in `store` and resumed from it on start."""

    def __init__(self, path: str | Path | None = None, clock: Clock = time.time) -> None:
        self.clock = clock
        self.store = Store(path)
        self.lock = threading.Lock()
        self.rooms: dict[str, Room] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for code in self.store.codes():
            self._add(self.store.load(code, clock))

    def _add(self, room: Room) -> Room:
        room.listeners += [self.store.save, self._changed]
        with self.lock:
            self.rooms[room.code] = room
        return room

    def _changed(self, room: Room) -> None:
        self._wake.set()  # a deadline may have moved: the clock looks again

    # --- rooms -------------------------------------------------------------------------------

    def create(
        self,
        scenario: str | Mapping[str, Any],
        seed: int = 1,
        round_quarters: int = 1,
        deadline_seconds: float = 120.0,
        open_seats: tuple[str, ...] | list[str] = SEATS,
        seat_players: int = 1,
    ) -> tuple[Room, str]:
        """A new room with a code no other room here holds, saved at once; returns it and the
        facilitator's token."""
        with self.lock:
            taken = set(self.rooms) | set(self.store.codes(include_closed=True))
            while True:
                room, token = Room.create(
                    scenario,
                    seed,
                    round_quarters,
                    deadline_seconds,
                    open_seats,
                    clock=self.clock,
                    seat_players=seat_players,
                )
                if room.code not in taken:
                    break
        self._add(room)
        with room.lock:
            self.store.save(room)
        return room, token

    def room(self, code: str) -> Room:
        """The open room with this code. Raises RoomError for a code no open room holds."""
        with self.lock:
            room = self.rooms.get(normal_code(code))
        if room is None or room.status == "closed":
            raise RoomError(f"no open room has the code {normal_code(code)!r}: check the code")
        return room

    def join(self, code: str, seat: str, player: str = "") -> str:
        return self.room(code).join(seat, player)

    def open_rooms(self) -> list[Room]:
        with self.lock:
            return [r for r in self.rooms.values() if r.status != "closed"]

    # --- the clock -----------------------------------------------------------------------------

    def tick(self) -> list[str]:
        """Resolve every round whose deadline has passed; returns those rooms' codes."""
        return [room.code for room in self.open_rooms() if room.tick()]

    def next_deadline(self) -> float | None:
        times = [r.deadline for r in self.open_rooms() if r.status == "running" and r.deadline]
        return min(times, default=None)

    def start_clock(self) -> None:
        """Start the scheduler thread (once)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="room-clock", daemon=True)
            self._thread.start()

    def stop_clock(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.tick()
            due = self.next_deadline()
            wait = 60.0 if due is None else min(max(due - self.clock(), 0.05), 60.0)
            self._wake.wait(wait)

    def close(self) -> None:
        self.stop_clock()
        self.store.close()

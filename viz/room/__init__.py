"""The workshop room: one shared market played by many people, kept outside any browser tab.

A tab's game (`viz.game`) is private to its tab; a room is the deliberate shared mode. Its parts
hold no Solara, so the rules are tested without a browser and the pages only draw them:

- `room`: `Room`, one market with seats (five governments and the dominant supplier), rounds with
  a deadline, the facilitator's console and the record for the debrief.
- `store`: `Store`, every room saved in one SQLite file after each decision and round, so a
  restarted server resumes its rooms and players' links still work.
- `registry`: `Rooms`, many rooms on one server and the one clock that closes their rounds.
"""

from viz.room.registry import Rooms
from viz.room.room import SEATS, Room, RoomError
from viz.room.store import Store, default_path

__all__ = ["SEATS", "Room", "RoomError", "Rooms", "Store", "default_path"]

"""A server process killed mid-round (SIGKILL: no close, so SQLite's write-ahead log is left
unmerged beside the rooms file) loses nothing it had saved: a new registry on the same file
resumes the room at its last finished round, with its seats' and the console's tokens working
and this round's decision kept, and the room plays on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from viz.room import Rooms

ROOT = Path(__file__).resolve().parents[1]

# A server's life until it is killed: its registry and clock running, a room in round 2 with
# the US's decision in; what the test needs is printed before the process kills itself.
SERVER = """
import json, os, signal, sys
from viz.room import Rooms

rooms = Rooms(sys.argv[1])
rooms.start_clock()
room, facilitator = rooms.create("dumping", seed=3, deadline_seconds=3600)
tokens = {seat: room.join(seat) for seat in ("US", "supplier")}
room.start(facilitator)
room.decide(tokens["US"], {"governments.US.duty": 0.1}, 1)
room.decide(tokens["supplier"], {"supplier.quota_cut": 0.1}, 1)
room.decide(tokens["US"], {"governments.US.stockpile_days": 30.0}, 2)
prices = room.model.recorder.series("price_allied").tolist()
print(json.dumps({"code": room.code, "facilitator": facilitator, "tokens": tokens,
                  "prices": prices}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_room_saved_by_a_killed_server_resumes_and_plays_on(tmp_path):
    path = tmp_path / "rooms.sqlite"
    child = subprocess.run(
        [sys.executable, "-c", SERVER, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert Path(f"{path}-wal").stat().st_size > 0  # killed before SQLite could tidy up
    saved = json.loads(child.stdout)

    rooms = Rooms(path)
    try:
        room = rooms.room(saved["code"])
        assert (room.status, room.round, room.quarter) == ("running", 2, 1)
        assert np.array_equal(room.model.recorder.series("price_allied"), saved["prices"])
        tokens = saved["tokens"]
        assert {seat: room.seat_of(token) for seat, token in tokens.items()} == {
            "US": "US",
            "supplier": "supplier",
        }
        assert room.who_decided(saved["facilitator"]) == {
            "US": "decided",
            "AU": "computer",
            "JP": "computer",
            "MY": "computer",
            "TH": "computer",
            "supplier": "waiting",
        }
        assert room.view(tokens["US"]).pending == {"governments.US.stockpile_days": 30.0}
        room.decide(tokens["supplier"], {}, 2)  # the last seat: round 2 resolves
        assert (room.round, room.quarter) == (3, 2)
        assert room.decisions[-6].changes == {"governments.US.stockpile_days": 30.0}
    finally:
        rooms.close()

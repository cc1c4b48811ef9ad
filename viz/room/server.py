"""The one registry of rooms a `minerals ui` server holds, made on first use.

Every browser tab runs in the same process, so the rooms live here, at module level, on
purpose: the single-tab game keeps its market per tab, while a room is the shared mode. The
registry is made lazily (a server nobody asks for a room never opens the rooms file), from the
file `minerals ui --rooms PATH` names through the environment, and its clock thread is started
once, here; a page never runs a loop of its own.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from viz.room.registry import Rooms
from viz.room.store import default_path

ROOMS_ENV = "MINERALS_ROOMS"  # the rooms file, set by `minerals ui --rooms`

_lock = threading.Lock()
_rooms: Rooms | None = None


def rooms_path() -> Path:
    """The rooms file this server uses: `--rooms`, else the user's data folder."""
    chosen = os.environ.get(ROOMS_ENV)
    return Path(chosen) if chosen else default_path()


def check_path(path: str | Path) -> Path:
    """A rooms file we can open: its folder exists (or can be made) and it is not a folder.
    Raises ValueError with one line for the command line."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"--rooms {path}: is a folder; name a file, e.g. {path / 'rooms.sqlite'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--rooms {path}: cannot make its folder ({err.strerror})") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"--rooms {path}: not writable")
    return path.resolve()


def rooms() -> Rooms:
    """The server's registry, resumed from its file and its clock started, on first use."""
    global _rooms
    with _lock:
        if _rooms is None:
            _rooms = Rooms(rooms_path())
            _rooms.start_clock()
        return _rooms


def use_rooms(registry: Rooms | None) -> Rooms | None:
    """Put a registry in place (tests, or a server that builds its own); returns the old one.
    The caller starts and stops its clock."""
    global _rooms
    with _lock:
        old, _rooms = _rooms, registry
        return old

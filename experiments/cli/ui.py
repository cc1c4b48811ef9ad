"""`minerals ui`: serve the browser game (the Solara app in viz/app.py)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

HELP = "serve the browser game (default http://127.0.0.1:8765)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from viz.settings import DEFAULT_HOST, DEFAULT_PORT

    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; a workshop "
        "host passes 0.0.0.0 to let the room's browsers in)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--rooms",
        metavar="PATH",
        default=None,
        help="SQLite file the workshop rooms are saved in (default: "
        "$XDG_DATA_HOME/minerals/rooms.sqlite); a restarted server resumes its open rooms",
    )


def run(args: argparse.Namespace) -> int:
    from viz.settings import set_environment

    if args.rooms is not None:
        from viz.room.server import ROOMS_ENV, check_path

        try:
            os.environ[ROOMS_ENV] = str(check_path(args.rooms))
        except ValueError as err:
            print(f"minerals: {err}", file=sys.stderr)
            return 2
    set_environment()  # before Solara reads its settings
    from solara.__main__ import cli

    import viz

    app = Path(viz.__file__).parent / "app.py"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"minerals: serving on {args.host}: anyone who can reach this machine on port "
            f"{args.port} can open the game.",
            file=sys.stderr,
        )
    argv = ["run", str(app), "--host", args.host, "--port", str(args.port), "--production"]
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a host stops the game
        cli.main(argv, prog_name="minerals ui", standalone_mode=False)
    return 0

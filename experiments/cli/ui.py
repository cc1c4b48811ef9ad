"""`minerals ui`: serve the browser game (the Solara app in viz/app.py)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import sys
from pathlib import Path

HELP = "serve the browser game (default http://127.0.0.1:8765)"


def port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text}")
    return value


def host_name(text: str) -> str:
    """An argparse type for --allow-host: a host name or an IP address, without a port."""
    name = text.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*|[0-9a-f:.]*:[0-9a-f:.]*", name):
        raise argparse.ArgumentTypeError(
            f"expected a host name such as game.example or an IP address (no port), got {text!r}"
        )
    return name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from viz.settings import DEFAULT_HOST, DEFAULT_PORT

    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; a workshop "
        "host passes 0.0.0.0 to let the room's browsers in)",
    )
    parser.add_argument(
        "--port",
        type=port,
        default=DEFAULT_PORT,
        help=f"port, 1 to 65535 (default: {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--rooms",
        metavar="PATH",
        default=None,
        help="SQLite file the workshop rooms are saved in (default: "
        "$XDG_DATA_HOME/minerals/rooms.sqlite); a restarted server resumes its open rooms",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        type=host_name,
        default=[],
        metavar="NAME",
        help="also answer to this host name (repeatable): the server answers only to localhost, "
        "127.0.0.1, ::1, --host and, with --host 0.0.0.0, this machine's own names and addresses",
    )
    parser.add_argument(
        "--no-open",
        action="store_true",
        help="do not open a browser at the game (never opened on a machine with no display)",
    )


def has_display() -> bool:
    """Whether a browser window could open here: on Linux and the BSDs only with an X or
    Wayland display (without one, Python's webbrowser would start a text browser in the
    terminal the server logs to)."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (the address unknown, not this machine's,
    the port taken or reserved), or None when it can: tried with a socket of our own, as
    uvicorn would bind it."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as err:
        return f"--host {host}: not an address of this machine ({getattr(err, 'strerror', err)})"
    family, kind, proto, _, address = found[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as err:
        return (
            f"--host {host} --port {port}: cannot listen there ({err.strerror or err}); "
            "pick another --port (1 to 65535) or --host"
        )
    return None


def run(args: argparse.Namespace) -> int:
    from viz.settings import quiet_warnings, set_environment

    if args.rooms is not None:
        from viz.room.server import ROOMS_ENV, check_path

        try:
            os.environ[ROOMS_ENV] = str(check_path(args.rooms))
        except ValueError as err:
            print(f"minerals: {err}", file=sys.stderr)
            return 2
    why = cannot_listen(args.host, args.port)
    if why:
        print(f"minerals: error: {why}", file=sys.stderr)
        return 2
    set_environment()  # before Solara reads its settings
    quiet_warnings()
    from solara.__main__ import cli

    import viz
    from viz.hosts import allowed_hosts, check_hosts

    check_hosts(allowed_hosts(args.host, args.allow_host))
    app = Path(viz.__file__).parent / "app.py"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"minerals: serving on {args.host}: anyone who can reach this machine on port "
            f"{args.port} can open the game.",
            file=sys.stderr,
        )
    opens = not args.no_open and has_display()
    argv = ["run", str(app), "--host", args.host, "--port", str(args.port), "--production"]
    argv.append("--open" if opens else "--no-open")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a host stops the game
        cli.main(argv, prog_name="minerals ui", standalone_mode=False)
    return 0

"""The Host names `minerals ui` answers to, against DNS rebinding.

A page on any web site can point a name of its own at 127.0.0.1 (or at the workshop machine's
address) and have a visitor's browser talk to the game server as if it were that site. The
server tells such requests apart by their Host header, which names the site the browser thinks
it is talking to: it serves only its own names and refuses the rest with HTTP 400 and one line.

Allowed: localhost, 127.0.0.1 and ::1; the --host address; when --host is 0.0.0.0 (or ::),
every address and name of this machine, for the room's phones; and each --allow-host NAME.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LOCAL = ("localhost", "127.0.0.1", "::1")
EVERY_ADDRESS = ("0.0.0.0", "::", "")


def host_name(header: str) -> str:
    """The name in a Host header, without its port: 'Example.org.:8765' -> 'example.org',
    '[::1]:8765' -> '::1'."""
    text = header.strip().lower()
    if text.startswith("["):  # an IPv6 address
        return text[1 : text.find("]")] if "]" in text else ""
    if text.count(":") == 1:
        text = text.split(":")[0]
    return text.rstrip(".")


def own_addresses() -> set[str]:
    """This machine's names and the addresses of its network interfaces (IPv4 and IPv6)."""
    found: set[str] = set(LOCAL)
    with contextlib.suppress(OSError):
        name = socket.gethostname()
        found |= {name, socket.getfqdn()}
        for info in socket.getaddrinfo(name, None):
            found.add(str(info[4][0]).split("%")[0])
    with contextlib.suppress(OSError, ImportError):  # each IPv4 interface's address (Linux)
        import fcntl

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _, interface in socket.if_nameindex():
                with contextlib.suppress(OSError):
                    request = struct.pack("256s", interface.encode()[:15])
                    answer = fcntl.ioctl(s.fileno(), 0x8915, request)  # SIOCGIFADDR
                    found.add(socket.inet_ntoa(answer[20:24]))
    with contextlib.suppress(OSError, ValueError):  # each IPv6 address (Linux)
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = bytes.fromhex(line.split()[0])
            found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return {host_name(name) for name in found if name}


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The names a server listening on `host` answers to."""
    names = set(LOCAL) | {host_name(name) for name in extra}
    if host in EVERY_ADDRESS:
        names |= own_addresses()
    else:
        names.add(host_name(host))
    return frozenset(name for name in names if name)


class HostCheck:
    """ASGI middleware: a request whose Host header is not in `allowed` gets HTTP 400 and one
    line of text (a WebSocket is closed before it opens)."""

    def __init__(self, app: Any, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        header = ""
        for key, value in scope.get("headers", ()):
            if key == b"host":
                header = value.decode("latin-1")
                break
        name = host_name(header)
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = (
            f"Host {name or '(none)'!r} is not served here; the game's host can allow it with "
            f"minerals ui --allow-host {name or 'NAME'}\n"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def check_hosts(allowed: Iterable[str]) -> None:
    """Make the uvicorn server Solara starts in this process check the Host header: its loaded
    app is wrapped in HostCheck (Solara builds the server from `uvicorn.Config`)."""
    import uvicorn

    names = frozenset(allowed)

    class Config(uvicorn.Config):
        def load(self) -> None:
            super().load()
            self.loaded_app = HostCheck(self.loaded_app, names)

    uvicorn.Config = Config  # type: ignore[misc]

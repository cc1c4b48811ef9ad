"""A workshop room under a class's load: how soon every seat sees a resolved round, and the
server's memory per room and per seat.

Target (the issue): one room of 40 players plus four more rooms on the same server, 2 cores; a
round resolves and every seat's view is updated within 1 s at the median (p50 and p95 reported),
with the server's memory per room and per seat.

What it measures (wall clock, `time.perf_counter`), in one process pinned to 2 cores:

  server          one registry (`Rooms` on a temporary file, its clock running) installed with
                  `use_rooms`, as `minerals ui` holds it. Room A: the dumping scenario, six seats
                  open, up to 7 players a seat, --players joined (7,7,7,7,6,6 for 40). --rooms more
                  rooms (B, C, ...), six single players each. Every player is a virtual client: its
                  own Solara virtual kernel (what the server gives a browser tab, with Solara's
                  server patches, so every widget change is serialized as for a websocket) rendering
                  the real seat page `/room/seat?room=CODE&seat=TOKEN` through the app's routes. So
                  each client's waiter thread (`use_room`) and its re-render are the server's real
                  work per tab; only the network and the browser are left out.
  round           each timed round, one member of each of room A's seats decides (`room.decide`,
                  a real lever: a duty, the supplier's world price), in a shuffled order; the next
                  one decides --gap seconds after every page has redrawn the last decision (so a
                  round is not timed on the backlog of the decisions before it: in a class they
                  come seconds apart), while a background thread has the other rooms' players
                  deciding at random times (--rate decisions a second over those rooms, 1 by
                  default: busier than a class at a 2-minute deadline), so their pages redraw too.
                  resolve: the decision that closes the round (the call that plays the quarter).
                  seat updated: from the moment that call returns to the moment each of room A's
                  pages has finished redrawing for the new round (its waiter thread is back in
                  `room.wait` with the new version: the render and every widget message are done).
                  first message: to the first widget message carrying "Your levers for round N+1"
                  (the page's title for the new round). p50/p95 over every client and round.
                  After each round every page's widget tree is checked for the new round's title.
                  other decisions: for the five that do not resolve, until the slowest page has
                  redrawn (each one redraws every page of the room).
  memory          resident memory (psutil): after imports and one room kept aside (the base);
                  after creating and starting all the rooms with their players joined, no pages
                  (MB a room = the difference over the rooms, at quarter 0; also what Python
                  allocated for them, by tracemalloc); after every client's page is open
                  (MB a seat = that difference over the clients; one page was opened and closed
                  first, so the one-off costs of the first render are not counted); and at the end
                  (the growth over the timed rounds: rooms playing on and pages redrawing).
  where           wall time inside `Room.view`, `Room.standing`, `Room._resolve` and `Room._touch`
                  (which saves the room and wakes the pages, with the room's lock held), summed
                  over the timed rounds, beside the calling thread's own CPU time: a call that is
                  mostly off the CPU is waiting for a lock, the GIL or the disk.
  pages           (a cross-check, unless --no-browser) real pages: `minerals ui --rooms FILE` on a
                  free port, pinned to the same cores, with room A pre-made in the file; --browser-
                  pages phone pages in Debian's Chromium on room A's seats (two a seat); each round
                  five seats press Decide, then the sixth; the time from that click to each page
                  showing the new round (a MutationObserver in the page stamps the moment).
                  That server holds room A only, with these pages: the websocket and the browser
                  are in, the other rooms' load is not.
                  Skipped with a note when Chromium is absent.

It prints a table and exits 0 unless it crashes; it reports, it does not assert.

Run from the repository root (front-end files fetched: `make assets`):

    .venv/bin/python benchmarks/bench_room.py              # all of it, about 7 minutes on 2 cores
    .venv/bin/python benchmarks/bench_room.py --quick      # 3 rounds, no browser, about 2 minutes
    .venv/bin/python benchmarks/bench_room.py --rounds 10 --players 40 --rooms 4 --json /tmp/r.json
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIO = "dumping"
ROOM_DEADLINE = 3600.0  # rounds close by decisions here, never by the clock


def pin_cores(count: int) -> list[int]:
    """Run this process (and the threads and children it starts) on the first `count` CPUs."""
    cpus = sorted(os.sched_getaffinity(0))[:count]
    os.sched_setaffinity(0, cpus)
    return cpus


def rss_mb(pid: int | None = None) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def settle() -> float:
    gc.collect()
    time.sleep(0.3)
    gc.collect()
    return rss_mb()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def team_sizes(players: int, seats: int = 6) -> list[int]:
    """40 players over six seats: 7,7,7,7,6,6."""
    return [players // seats + (i < players % seats) for i in range(seats)]


def change_for(seat: str, turn: int) -> dict[str, Any]:
    """A real lever change: a government's duty, the supplier's world price, moving each round."""
    from viz.room.room import seat_levers

    levers = seat_levers(seat)
    if seat == "supplier":
        key = "supplier.price_world"
        return {key: levers[key].model_value(60 + 10 * (turn % 4))}
    key = f"governments.{seat}.duty"
    return {key: levers[key].model_value(10 + 10 * (turn % 3))}


# --- a virtual client: one tab's kernel and its seat page ----------------------------------------


class Wire:
    """Stands in for a tab's websocket: notes when the first message with `want` goes out."""

    def __init__(self) -> None:
        self.want: str | None = None
        self.seen: float | None = None
        self.messages = 0

    def send(self, data: str | bytes) -> None:
        self.messages += 1
        if self.want and self.seen is None and isinstance(data, str) and self.want in data:
            self.seen = time.perf_counter()

    # The rest of `solara.server.websocket.WebsocketWrapper`'s interface.
    def send_text(self, data: str) -> None:
        self.send(data)

    def send_bytes(self, data: bytes) -> None:
        self.send(data)

    def close(self) -> None:
        pass


class Client:
    """A player's tab: a fresh virtual kernel rendering the seat page at its link."""

    def __init__(self, name: str, code: str, seat: str, token: str) -> None:
        import solara
        from solara.autorouting import RenderPage
        from solara.server import kernel, kernel_context

        import viz.app
        from viz.room.pages import link

        self.seat, self.token = seat, token
        self.wire = Wire()
        self.context = kernel_context.VirtualKernelContext(
            id=f"bench-{name}", kernel=kernel.Kernel(), session_id=f"bench-{name}"
        )
        self.context.kernel.session.websockets.add(self.wire)
        path = link("seat", room=code, seat=token)
        with self.context:
            page = solara.RoutingProvider(
                children=[RenderPage()], routes=viz.app.routes, pathname=path
            )
            _, self.rc = solara.render(page, handle_error=False)

    def title(self) -> str:
        """The levers card's title, read from the widget tree (a check, not the timer)."""
        import ipyvuetify as v

        with self.context:
            for card in self.rc.find(v.Card).widgets:
                if "seat-levers" not in (card.class_ or "").split():
                    continue
                for part in card.children:
                    if isinstance(part, v.CardTitle):
                        return " ".join(str(c) for c in part.children)
        return ""

    def close(self) -> None:
        with self.context:
            self.rc.close()
        self.context.close()


# --- when each page has redrawn ------------------------------------------------------------------


class Redraws:
    """Notes each page waiter's return to `room.wait(version, ...)`: the page has then finished
    redrawing for `version`. Wraps the method for the rooms given; records (thread, version, t)."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, int, float]] = []
        self.rooms: set[str] = set()
        self.original = None
        self.stopping = False

    def install(self) -> None:
        from viz.room.room import Room

        original = self.original = Room.wait
        redraws = self

        def wait(room: Room, version: int, timeout: float) -> int:
            if room.code in redraws.rooms:
                redraws.entries.append((threading.get_ident(), version, time.perf_counter()))
            return original(room, version, timeout)

        Room.wait = wait  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from viz.room.room import Room

        if self.original is not None:
            Room.wait = self.original  # type: ignore[method-assign]

    def done(self, version: int, since: int) -> dict[int, float]:
        """Each waiter's first return with `version` or later, among entries from `since` on."""
        first: dict[int, float] = {}
        for ident, seen, at in self.entries[since:]:
            if seen >= version and ident not in first:
                first[ident] = at
        return first


def wait_redrawn(redraws: Redraws, version: int, mark: int, pages: int) -> dict[int, float]:
    """Until `pages` waiters have redrawn `version` (polled every 10 ms, at most 60 s)."""
    deadline = time.monotonic() + 60
    while len(redraws.done(version, mark)) < pages and time.monotonic() < deadline:
        time.sleep(0.01)
    return redraws.done(version, mark)


class Timer:
    """Time spent in a method, summed over calls, for the breakdown."""

    def __init__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name
        self.original = getattr(owner, name)
        self.calls, self.seconds, self.cpu = 0, 0.0, 0.0
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return timer.original(*args, **kwargs)
            finally:
                timer.calls += 1
                timer.seconds += time.perf_counter() - started
                timer.cpu += time.thread_time() - cpu

        setattr(owner, name, timed)

    def reset(self) -> None:
        self.calls, self.seconds, self.cpu = 0, 0.0, 0.0

    def remove(self) -> None:
        setattr(self.owner, self.name, self.original)


# --- the other rooms playing ---------------------------------------------------------------------


class Background(threading.Thread):
    """The other rooms' players deciding at staggered times until stopped."""

    def __init__(self, rooms: list[tuple[Any, dict[str, str]]], rate: float, seed: int) -> None:
        super().__init__(name="bench-other-rooms", daemon=True)
        self.rooms, self.rate = rooms, rate
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.decisions = self.resolved = 0

    def run(self) -> None:
        from viz.room import RoomError

        turn = 0
        while not self.stop.wait(self.random.expovariate(self.rate)):
            playing = [(r, t) for r, t in self.rooms if r.status == "running"]
            if not playing:
                return
            room, tokens = self.random.choice(playing)
            with room.lock:
                waiting = [s for s in tokens if s not in room.pending]
                round_no = room.round
            if not waiting:
                continue
            seat = self.random.choice(waiting)
            turn += 1
            with contextlib.suppress(RoomError):
                room.decide(tokens[seat], change_for(seat, turn), round_no)
                self.decisions += 1
                self.resolved += room.round != round_no


# --- the virtual-client run ----------------------------------------------------------------------


def virtual_run(args: argparse.Namespace) -> dict[str, Any]:
    import solara.server.app  # noqa: F401  (Solara's server patches: comms per virtual kernel)

    from viz.room import SEATS, Room, Rooms
    from viz.room.server import use_rooms

    out: dict[str, Any] = {}
    folder = Path(tempfile.mkdtemp(prefix="bench-room-"))
    # A room kept for the whole run: imports and caches are in the base, and memory it frees
    # is not reused by the rooms measured.
    kept = Room.create(SCENARIO, 1, 1, ROOM_DEADLINE)[0]
    base = settle()
    tracemalloc.start()

    registry = Rooms(folder / "rooms.sqlite")
    registry.start_clock()
    old = use_rooms(registry)
    redraws = Redraws()
    redraws.install()
    clients: list[Client] = []
    try:
        big, big_token = registry.create(SCENARIO, 1, 1, ROOM_DEADLINE, SEATS, seat_players=7)
        members: dict[str, list[str]] = {}
        for seat, size in zip(SEATS, team_sizes(args.players), strict=True):
            members[seat] = [big.join(seat, f"{seat}-{i}") for i in range(size)]
        others = []
        for n in range(args.rooms):
            room, token = registry.create(SCENARIO, 1 + n, 1, ROOM_DEADLINE, SEATS)
            others.append((room, token, {s: room.join(s, f"{s}") for s in SEATS}))
        big.start(big_token)
        for room, token, _ in others:
            room.start(token)
        traced = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        with_rooms = settle()
        rooms_count = 1 + args.rooms
        out["mb_base"] = base
        out["mb_per_room"] = (with_rooms - base) / rooms_count
        out["mb_per_room_traced"] = traced / rooms_count
        print(
            f"  {rooms_count} rooms, {args.players + 6 * args.rooms} players joined: "
            f"{with_rooms - base:.1f} MB, {out['mb_per_room']:.1f} MB a room (no pages; "
            f"{out['mb_per_room_traced']:.1f} MB a room allocated by Python)",
            flush=True,
        )

        # One page opened and closed first: the first render's one-off costs are not a seat's.
        room0, _, tokens0 = others[0] if others else (big, None, {"US": members["US"][0]})
        Client("warm-up", room0.code, "US", tokens0["US"]).close()
        before_pages = settle()
        started = time.perf_counter()
        for seat, tokens in members.items():
            for i, token in enumerate(tokens):
                clients.append(Client(f"A-{seat}-{i}", big.code, seat, token))
        room_a_clients = list(clients)
        for n, (room, _, tokens) in enumerate(others):
            for seat, token in tokens.items():
                clients.append(Client(f"{n}-{seat}", room.code, seat, token))
        opened = time.perf_counter() - started
        time.sleep(1.0)  # every waiter thread started and in its first wait
        with_pages = settle()
        out["pages"] = len(clients)
        out["mb_pages"] = with_pages
        out["mb_per_seat"] = (with_pages - before_pages) / len(clients)
        out["open_pages_s"] = opened
        print(
            f"  {len(clients)} seat pages open in {opened:.1f} s: "
            f"{with_pages - before_pages:.1f} MB, {out['mb_per_seat']:.2f} MB a seat page",
            flush=True,
        )

        # Time spent where, over the timed rounds (summed over all threads).
        from viz.room.pages import SeatPage

        timers = {
            "Room.view": Timer(Room, "view"),
            "Room.standing": Timer(Room, "standing"),
            "Room._resolve": Timer(Room, "_resolve"),
            "Room._touch": Timer(Room, "_touch"),  # saves the room, wakes the pages
        }
        render_count = {"n": 0}
        original_page = SeatPage.f

        def counted_page() -> None:
            render_count["n"] += 1
            return original_page()

        SeatPage.f = counted_page
        redraws.rooms.add(big.code)
        background = Background([(r, t) for r, _, t in others], args.rate, seed=7)
        background.start()
        time.sleep(1.0)
        for timer in timers.values():
            timer.reset()
        render_count["n"] = 0
        spread = random.Random(11)
        updated: list[float] = []
        first_message: list[float] = []
        resolve: list[float] = []
        echo: list[float] = []  # a decision that does not resolve: until every page redrew
        stale = 0
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        for r in range(args.rounds):
            if big.status != "running":
                print("  room A finished its quarters: no more rounds", flush=True)
                break
            round_no = big.round
            order = list(SEATS)
            spread.shuffle(order)
            for i, seat in enumerate(order):
                token = members[seat][r % len(members[seat])]
                if i < len(order) - 1:
                    mark = len(redraws.entries)
                    big.decide(token, change_for(seat, r), round_no)
                    t0, version = time.perf_counter(), big.version
                    # The next player decides once this decision has reached every page, so a
                    # round's timing is not a backlog of the decisions before it.
                    done = wait_redrawn(redraws, version, mark, len(room_a_clients))
                    if done:
                        echo.append(max(done.values()) - t0)
                    time.sleep(args.gap)
                    continue
                for client in room_a_clients:
                    client.wire.seen = None
                    client.wire.want = f"Your levers for round {round_no + 1}"
                mark = len(redraws.entries)
                called = time.perf_counter()
                big.decide(token, change_for(seat, r), round_no)
                t0 = time.perf_counter()
                version = big.version
            resolve.append(t0 - called)
            finished = wait_redrawn(redraws, version, mark, len(room_a_clients))
            updated += [at - t0 for at in finished.values()]
            first_message += [c.wire.seen - t0 for c in room_a_clients if c.wire.seen]
            titles = [c.title() for c in room_a_clients]
            stale += sum(f"round {round_no + 1}" not in t for t in titles)
            print(
                f"  round {round_no}: resolved in {resolve[-1] * 1000:.0f} ms; "
                f"{len(finished)}/{len(room_a_clients)} pages redrawn, "
                f"median {statistics.median(at - t0 for at in finished.values()) * 1000:.0f} ms, "
                f"slowest {max(at - t0 for at in finished.values()) * 1000:.0f} ms",
                flush=True,
            )
            time.sleep(args.gap)
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
        background.stop.set()
        background.join(timeout=10)
        SeatPage.f = original_page
        for timer in timers.values():
            timer.remove()
        out.update(
            rounds=len(resolve),
            clients_room_a=len(room_a_clients),
            updated_s=updated,
            first_message_s=first_message,
            resolve_s=resolve,
            echo_s=echo,
            stale_pages=stale,
            other_decisions=background.decisions,
            other_rounds=background.resolved,
            cpu_share=cpu / wall,
            timed_wall_s=wall,
            seat_renders=render_count["n"],
            spent={
                k: {"calls": t.calls, "s": t.seconds, "cpu_s": t.cpu} for k, t in timers.items()
            },
            mb_end=settle(),
            mb_per_seat_basis=f"{len(clients)} pages",
        )
    finally:
        redraws.stopping = True
        redraws.uninstall()
        for client in clients:
            client.close()
        use_rooms(old)
        registry.close()
        del kept
    return out


# --- real pages ----------------------------------------------------------------------------------


OBSERVER = """(text) => {
  window.__seen = null;
  const look = () => {
    if (window.__seen === null && document.body.textContent.includes(text)) {
      window.__seen = Date.now();
    }
  };
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver(look);
  window.__watch.observe(document.body, {subtree: true, childList: true, characterData: true});
  look();
}"""


def browser_run(args: argparse.Namespace, cpus: list[int]) -> dict[str, Any]:
    """Phone pages in Chromium on room A's seats, against a real `minerals ui` (the server and
    the browser run on the same CPUs as this process: children keep its affinity)."""
    from viz.room import SEATS, Rooms
    from viz.settings import CHROMIUM, CHROMIUM_ARGS

    if not os.access(CHROMIUM, os.X_OK):
        print(f"  {CHROMIUM} not found: real pages skipped", flush=True)
        return {"skipped": f"{CHROMIUM} not found"}
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_ui import _free_port

    folder = Path(tempfile.mkdtemp(prefix="bench-room-pages-"))
    registry = Rooms(folder / "rooms.sqlite")
    room, token = registry.create(SCENARIO, 1, 1, ROOM_DEADLINE, SEATS, seat_players=7)
    per_seat = max(1, args.browser_pages // len(SEATS))
    seats = {s: [room.join(s, f"{s}-{i}") for i in range(per_seat)] for s in SEATS}
    room.start(token)
    code = room.code
    registry.close()

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    handle, log_path = tempfile.mkstemp(prefix="bench-room-", suffix=".log")
    env = {**os.environ, "SOLARA_ASSETS_CDN": f"http://127.0.0.1:{_free_port()}/"}
    command = [sys.executable, "-m", "experiments.cli", "ui", "--port", str(port)]
    with os.fdopen(handle, "w") as log:
        server = subprocess.Popen(
            [*command, "--rooms", str(folder / "rooms.sqlite")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    os.sched_setaffinity(server.pid, cpus)
    out: dict[str, Any] = {}
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{Path(log_path).read_text()}")
            time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages: dict[str, list] = {}
            for seat, tokens in seats.items():
                for t in tokens:
                    context = browser.new_context(viewport={"width": 390, "height": 844})
                    page = context.new_page()
                    page.goto(url + f"room/seat?room={code}&seat={t}")
                    page.get_by_text("Your levers for round 1").wait_for(timeout=120_000)
                    pages.setdefault(seat, []).append(page)
            everyone = [p for ps in pages.values() for p in ps]
            print(f"  {len(everyone)} phone pages open on room {code}", flush=True)
            time.sleep(2)
            times: list[float] = []
            for r in range(args.browser_rounds):
                round_no = r + 1
                order = list(SEATS)
                random.Random(r).shuffle(order)
                for seat in order[:-1]:
                    page = pages[seat][r % per_seat]
                    page.get_by_role("button", name="Decide").click()
                    page.get_by_text(f"Your decision for round {round_no}").wait_for(timeout=60_000)
                    time.sleep(args.gap)
                for page in everyone:
                    page.evaluate(OBSERVER, f"Your levers for round {round_no + 1}")
                last = pages[order[-1]][r % per_seat]
                button = last.get_by_role("button", name="Decide")
                button.wait_for()
                clicked = time.time() * 1000
                button.click()
                for page in everyone:
                    page.get_by_text(f"Your levers for round {round_no + 1}").wait_for(
                        timeout=60_000
                    )
                seen = [(page.evaluate("window.__seen") - clicked) / 1000 for page in everyone]
                times += seen
                print(
                    f"  round {round_no}: {len(seen)} pages, median "
                    f"{statistics.median(seen) * 1000:.0f} ms, slowest {max(seen) * 1000:.0f} ms",
                    flush=True,
                )
                time.sleep(args.gap)
            out["updated_s"] = times
            out["pages"] = len(everyone)
            out["server_mb"] = rss_mb(server.pid)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        Path(log_path).unlink(missing_ok=True)
    return out


# --- report --------------------------------------------------------------------------------------


def line(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<40}{'-':>9}{'-':>9}{'-':>9}{0:>6}"
    ms = [v * 1000 for v in values]
    return (
        f"{label:<40}{percentile(ms, 0.5):9.0f}{percentile(ms, 0.95):9.0f}"
        f"{max(ms):9.0f}{len(ms):6d}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds of room A")
    parser.add_argument("--players", type=int, default=40, help="players in room A (6 to 60)")
    parser.add_argument("--rooms", type=int, default=4, help="other rooms, six players each")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between A's decisions")
    parser.add_argument("--rate", type=float, default=1.0, help="other rooms' decisions a second")
    parser.add_argument("--cores", type=int, default=2, help="CPUs to run on")
    parser.add_argument("--browser-pages", type=int, default=12, help="Chromium phone pages")
    parser.add_argument("--browser-rounds", type=int, default=4, help="rounds with real pages")
    parser.add_argument("--no-browser", action="store_true", help="skip the real pages")
    parser.add_argument("--quick", action="store_true", help="3 rounds, no real pages")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.no_browser = 3, True
    if not 6 <= args.players <= 60:
        parser.error("--players: 6 to 60 (six seats of up to 10)")

    cpus = pin_cores(args.cores)
    print(
        f"python {platform.python_version()}, pinned to {len(cpus)} of {os.cpu_count()} CPUs "
        f"{cpus}, {platform.platform()}",
        flush=True,
    )
    print(f"load average {os.getloadavg()[0]:.1f} (other work on these CPUs skews the times)")
    print(
        f"room A: {args.players} players ({'/'.join(map(str, team_sizes(args.players)))}); "
        f"{args.rooms} more rooms of 6; {args.rounds} rounds",
        flush=True,
    )
    report: dict[str, Any] = {"cpus": len(cpus), "args": {k: str(v) for k, v in vars(args).items()}}
    virtual = virtual_run(args)
    report["virtual"] = virtual
    browser: dict[str, Any] = {}
    if not args.no_browser:
        print("real pages:", flush=True)
        browser = browser_run(args, cpus)
        report["browser"] = browser

    print(f"\n{len(cpus)} CPUs; room A {virtual['clients_room_a']} seat pages, ", end="")
    print(f"{virtual['pages']} pages on the server in all; {virtual['rounds']} rounds (ms)")
    print(f"{'':<40}{'p50':>9}{'p95':>9}{'max':>9}{'n':>6}")
    print(line("round resolves (the closing decide)", virtual["resolve_s"]))
    print(line("seat page redrawn, after resolve", virtual["updated_s"]))
    print(line("first message of the new round", virtual["first_message_s"]))
    print(line("other decisions: slowest page redrawn", virtual["echo_s"]))
    if browser.get("updated_s"):
        print(line(f"Chromium page shows it ({browser['pages']} pages)", browser["updated_s"]))
    p50 = percentile(virtual["updated_s"], 0.5) if virtual["updated_s"] else float("inf")
    print(f"target: every seat updated within 1 s at the median  {'PASS' if p50 < 1 else 'MISS'}")
    missing = virtual["rounds"] * virtual["clients_room_a"] - len(virtual["updated_s"])
    print(f"pages not redrawn within 60 s: {missing}; pages showing an old round: ", end="")
    print(virtual["stale_pages"])
    print(
        f"other rooms meanwhile: {virtual['other_decisions']} decisions, "
        f"{virtual['other_rounds']} rounds resolved; process CPU {virtual['cpu_share']:.2f} of "
        f"one core over {virtual['timed_wall_s']:.0f} s"
    )
    print(f"\nmemory (resident, MB): base {virtual['mb_base']:.0f}, end {virtual['mb_end']:.0f}")
    print(f"  a room, no pages (at quarter 0):   {virtual['mb_per_room']:.1f}", end="")
    print(f"  (Python allocations {virtual['mb_per_room_traced']:.1f})")
    print(f"  a seat page (virtual kernel):      {virtual['mb_per_seat']:.2f}")
    print(
        f"  grown over the timed rounds:       {virtual['mb_end'] - virtual['mb_pages']:.1f} "
        "(rooms playing on and pages redrawing, not told apart)"
    )
    if browser.get("server_mb"):
        print(f"  `minerals ui` with {browser['pages']} real pages: {browser['server_mb']:.0f}")
    print(
        f"\nwhere the time went over the timed rounds ({virtual['seat_renders']} seat renders; "
        "wall clock summed over threads, and the calling thread's own CPU)"
    )
    for name, spent in virtual["spent"].items():
        n = max(spent["calls"], 1)
        print(
            f"  {name:<14}{spent['calls']:6d} calls {spent['s'] / n * 1000:8.1f} ms each, "
            f"{spent['cpu_s'] / n * 1000:6.1f} ms of it on CPU"
        )
    report["load_average_end"] = os.getloadavg()[0]
    print(f"\nload average at the end {report['load_average_end']:.1f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

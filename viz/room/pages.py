"""The room's pages: create a room, join a seat, play it, run the console, show the projector.

A page holds no market and runs no loop: it reads a room from the server's registry
(`viz.room.server`) and redraws when the room's `version` moves, which one small waiter per tab
watches (`use_room`); the waiter stops when the tab's page goes away. Tokens travel in the URL
(`?seat=TOKEN`, `?console=TOKEN`), so reopening a link returns the same seat or console. Every
`RoomError` becomes the page's one-line message and changes nothing.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any
from urllib.parse import parse_qs, urlencode

import ipyvuetify as v
import segno
import solara
from solara.server import kernel_context

from market import ScenarioError, lever_map
from viz.charts import CAPTION, projector_dashboard
from viz.components import CSS as GAME_CSS
from viz.components import LeverControl, upload_button
from viz.game import ROUNDS, Choice, parse_upload, scenario_choices
from viz.levers import SHOCKS
from viz.live import FEED_STYLE, LiveView, feed_html
from viz.room.room import (
    GOVERNMENT_SEATS,
    MAX_SEAT_PLAYERS,
    SEATS,
    Room,
    RoomError,
    RoomMarket,
    describe,
    seat_levers,
    token_hash,
)
from viz.room.server import rooms
from viz.settings import DEFAULT_HOST, DEFAULT_PORT

SEAT_NAMES = {
    "US": "United States government",
    "AU": "Australian government",
    "JP": "Japanese government",
    "MY": "Malaysian government",
    "TH": "Thai government",
    "supplier": "Dominant supplier",
}
BASE_URL_ENV = "MINERALS_URL"  # how players reach this server, when the page cannot tell
BIG = {"font-size": "1.6em", "font-weight": "bold"}
CLOCK_STYLE = "font-size: 1.6em; font-weight: bold"


# --- links and input -----------------------------------------------------------------------------


def query(router: Any) -> dict[str, str]:
    """The page's query parameters, one value each."""
    return {k: v[0] for k, v in parse_qs(router.search or "").items()}


def link(page: str, **params: str) -> str:
    """A room page's path with its parameters, e.g. /room/seat?room=ABC234&seat=TOKEN."""
    path = "/room" if page == "join" else f"/room/{page}"
    return f"{path}?{urlencode(params)}" if params else path


def base_url() -> str:
    """This server as the players' browsers reach it: the page's own Host header, else
    `minerals ui`'s address."""
    headers = solara.lab.headers.value or {}
    host = (headers.get("host") or [""])[0]
    if host:
        return f"http://{host}"
    return os.environ.get(BASE_URL_ENV, f"http://{DEFAULT_HOST}:{DEFAULT_PORT}")


def qr_svg(text: str) -> str:
    """A QR code of `text` as inline SVG, big enough to scan from the back of a room."""
    return segno.make(text, error="m").svg_inline(scale=6, border=2)


def attempt(error: solara.Reactive[str], action: Callable[[], Any]) -> bool:
    """Run an action on the room; a refusal becomes the page's message (nothing changed)."""
    error.value = ""
    try:
        action()
    except RoomError as err:
        error.value = str(err)
        return False
    return True


def find_room(code: str, closed: bool = False) -> tuple[Room | None, str]:
    """The open room with this code (or a closed one, for its console's debrief), or None
    and why not."""
    if not code:
        return None, ""
    registry = rooms()
    if closed:
        with registry.lock:
            kept = registry.rooms.get(code.strip().upper())
        if kept is not None:
            return kept, ""
    try:
        return registry.room(code), ""
    except RoomError as err:
        return None, str(err)


def role_places(places: dict[str, tuple[int, int]]) -> str:
    """'governments 3/5 taken, supplier 0/1 taken': each role's players over its places."""
    sides = {"governments": GOVERNMENT_SEATS, "supplier": ("supplier",)}
    return ", ".join(
        f"{side} {sum(places[s][0] for s in seats)}/{sum(places[s][1] for s in seats)} taken"
        for side, seats in sides.items()
    )


# --- following a room ----------------------------------------------------------------------------


def lobby_key(room: Room) -> Hashable:
    """What the join page shows: the seats' places and whether the room is open."""
    return room.status, tuple(room.places().items())


def seat_key(token: str) -> Key:
    """What a seat page shows: the round, the market's quarter, messages, shocks, whether the
    token still holds its seat and the seat's decision this round. Another seat's decision
    changes none of it, so it redraws no one else's page."""
    hashed = token_hash(token)

    def key(room: Room) -> Hashable:
        seat = next((s.name for s in room.seats.values() if hashed in s.holders), None)
        mine = json.dumps(room.pending.get(seat), sort_keys=True, default=str) if seat else None
        return room.status, room.round, room.quarter, len(room.messages), seat, mine

    return key


# Redraws are Python work under one lock (the GIL): pages that redraw all at once all finish
# late, while pages that take turns finish one after another, the first ones early.
_REDRAW_TURN = threading.Semaphore(1)
Key = Callable[[Room], Hashable]


def countdown_text(room: Room) -> str:
    left = room.seconds_left()
    if room.status == "paused":
        return f"Paused, {left or 0:.0f} s left"
    if left is None:
        return {"lobby": "Waiting for the facilitator to start", "finished": "Game over"}.get(
            room.status, room.status
        )
    return f"Round {room.round}: {left:.0f} s left"


def use_room(room: Room | None, key: Key | None = None) -> tuple[int, v.Html]:
    """The room's version, which moves (and redraws the page) when what `key` reads of the
    room changes (any change, without a key), and the countdown: one widget the page's waiter
    sets each second, so the clock moving never redraws the page. One waiter thread per page,
    stopped when the page goes away or its kernel closes."""
    version = solara.use_reactive(room.version if room is not None else 0)
    clock = solara.use_memo(
        lambda: v.Html(tag="span", children=[""], class_="room-countdown", style_=CLOCK_STYLE),
        [room],
    )

    def mark(r: Room) -> Hashable:
        with r.lock:
            return key(r) if key is not None else r.version

    def watch() -> Callable[[], None] | None:
        if room is None:
            return None
        try:
            context: Any = kernel_context.get_current_context()
            closed = context.closed_event
        except RuntimeError:  # no kernel (a script): nothing closes but the page
            context, closed = contextlib.nullcontext(), threading.Event()
        stop = threading.Event()

        def run() -> None:
            seen, shown = room.version, mark(room)
            while not (stop.is_set() or closed.is_set()):
                now = room.wait(seen, 1.0)
                if stop.is_set() or closed.is_set():
                    break
                text = countdown_text(room)
                with context:
                    if clock.children != [text]:
                        clock.children = [text]
                if now == seen:
                    continue
                seen, now_shown = now, mark(room)
                if now_shown != shown:
                    shown = now_shown
                    with _REDRAW_TURN, context:
                        version.value = now

        threading.Thread(target=run, name=f"room-{room.code}-page", daemon=True).start()
        return stop.set

    solara.use_effect(watch, [room])
    if room is not None:
        if version.value < room.version:
            version.value = room.version  # an action on this page: show it at once
        text = countdown_text(room)
        if clock.children != [text]:
            clock.children = [text]
    return version.value, clock


# The game's styles; links break anywhere, and on a phone the header wraps and side-by-side
# columns stack, instead of running off the screen's edge.
CSS = GAME_CSS + (
    ".room-header { flex-wrap: wrap !important; row-gap: 4px; }\n"
    ".room-seat-link, .room-console-link, .room-join-link, .room-projector-link "
    "{ overflow-wrap: anywhere; }\n"
    "@media (max-width: 600px) {\n"
    "  .v-row > .v-col { flex: 0 0 100% !important; max-width: 100% !important; }\n"
    "  .v-row { margin: 0 !important; }\n"
    "  .v-label { white-space: normal !important; }\n"
    "  .v-input__prepend { min-width: 0 !important; max-width: 100% !important; }\n"
    "}\n"
)


@solara.component
def RoomHeader(room: Room, clock: v.Html, who: str, version: int) -> None:
    """Which room, whose page, where the game stands and the deadline; redrawn with the
    room's `version` (a component whose inputs stay the same is not redrawn)."""
    with solara.Row(classes=["room-header"], style={"align-items": "baseline", "gap": "16px"}):
        solara.Text(f"Room {room.code}", style=BIG, classes=["room-code"])
        solara.Text(who, style={"font-size": "1.2em"})
        solara.Text(
            f"{room.model.spec.name}, quarter {room.quarter} of {room.quarters}",
            classes=["room-quarter"],
        )
        solara.Row(children=[clock])


@solara.component
def Messages(room: Room, version: int) -> None:
    """The facilitator's messages to the room, newest first (redrawn with `version`)."""
    if not room.messages:
        return
    with solara.Card("From the facilitator", classes=["room-messages"]):
        for note in reversed(room.messages):
            solara.Text(f"Round {note.round}: {note.text}")


@solara.component
def Leaderboard(room: Room, version: int) -> None:
    """Each seat's score against the computer's play of the same game, best first (redrawn
    with `version`)."""
    rows = "".join(
        f"<tr><td>{i}</td><td>{html.escape(SEAT_NAMES[r.seat])}</td>"
        f"<td>{html.escape(r.by)}</td><td align='right'>{r.points:,.1f}</td>"
        f"<td align='right'>{r.reference_points:,.1f}</td></tr>"
        for i, r in enumerate(room.leaderboard(), 1)
    )
    with solara.Card("Leaderboard", classes=["room-leaderboard"]):
        solara.HTML(
            tag="table",
            unsafe_innerHTML="<tr><th></th><th>seat</th><th>played by</th><th>score, USD bn</th>"
            f"<th>computer's</th></tr>{rows}",
            style="font-size: 1.3em; border-spacing: 12px 4px;",
        )


# --- the pages -----------------------------------------------------------------------------------


@solara.component
def HostPage() -> None:
    """The facilitator creates a room, then lands on its console."""
    router = solara.use_router()
    named = solara.use_memo(scenario_choices, [])
    uploaded = solara.use_reactive({})  # this page's uploaded scenarios, by their choice key
    uploads = solara.use_reactive(0)
    choices = {**named, **uploaded.value}
    scenario = solara.use_reactive(next(iter(named)))
    seed = solara.use_reactive(1)
    length = solara.use_reactive(next(iter(ROUNDS)))
    deadline = solara.use_reactive(120)
    team = solara.use_reactive(1)
    open_seats = solara.use_reactive(list(SEATS))
    error = solara.use_reactive("")

    def create() -> None:
        def made() -> None:
            room, token = rooms().create(
                choices[scenario.value].source,
                seed.value,
                ROUNDS[length.value],
                deadline.value,
                tuple(open_seats.value),
                team.value,
            )
            router.push(link("console", room=room.code, console=token))

        attempt(error, made)

    def upload(value: Any) -> None:
        if not value:
            return
        item = value[0]

        def read() -> None:
            try:
                tree = parse_upload(item["name"], bytes(item["content"]))
            except ScenarioError as err:
                raise RoomError(str(err)) from None
            key = f"uploaded: {tree['name']}"
            uploaded.value = {**uploaded.value, key: Choice(key, tree, "your uploaded file")}
            scenario.value = key

        attempt(error, read)
        uploads.value += 1  # a fresh upload button, so the same file can be sent again

    def toggle_seat(seat: str, on: bool) -> None:
        chosen = set(open_seats.value) | {seat} if on else set(open_seats.value) - {seat}
        open_seats.value = [s for s in SEATS if s in chosen]

    solara.Title("Create a room: Mineral Markets Game")
    solara.Style(CSS)
    with solara.Card("Create a workshop room", classes=["room-host"], style={"max-width": "640px"}):
        solara.Select("Scenario", value=scenario, values=list(choices))
        solara.Text(choices[scenario.value].description, style={"font-size": "0.9em"})
        upload_button(upload, uploads.value)
        solara.InputInt("Seed", value=seed)
        with solara.ToggleButtonsSingle(value=length, dense=True):
            for label in ROUNDS:
                solara.Button(label, value=label)
        solara.InputInt("Decision deadline, seconds (10 to 3,600)", value=deadline)
        solara.InputInt(
            f"Players per seat (1 to {MAX_SEAT_PLAYERS}; a team shares a seat)", value=team
        )
        solara.Text("Seats open to players (the computer plays the rest):")
        with solara.Row(style={"flex-wrap": "wrap"}):
            for seat in SEATS:
                solara.Checkbox(
                    label=SEAT_NAMES[seat],
                    value=seat in open_seats.value,
                    on_value=lambda on, seat=seat: toggle_seat(seat, on),
                )
        if error.value:
            solara.Error(error.value, classes=["room-error"])
        solara.Button("Create room", icon_name="mdi-plus", color="primary", on_click=create)


@solara.component
def JoinPage() -> None:
    """A player types the room code (or opens the room's link) and takes a free seat."""
    router = solara.use_router()
    code = solara.use_reactive(query(router).get("room", ""))
    name = solara.use_reactive("")
    error = solara.use_reactive("")
    room, missing = find_room(code.value)
    use_room(room, lobby_key)

    def take(seat: str) -> None:
        def joined() -> None:
            assert room is not None
            token = room.join(seat, name.value)
            router.push(link("seat", room=room.code, seat=token))

        attempt(error, joined)

    solara.Title("Join a room: Mineral Markets Game")
    with solara.Card("Join a workshop room", classes=["room-join"], style={"max-width": "640px"}):
        solara.InputText("Room code", value=code, continuous_update=False)
        if missing:
            solara.Error(missing, classes=["room-error"])
        if room is None:
            return
        lobby, places = room.lobby(), room.places()
        solara.Text(f"Room {room.code}: {role_places(places)}", classes=["room-lobby"])
        solara.InputText("Your name (optional)", value=name)
        for seat, state in lobby.items():
            with solara.Row(style={"align-items": "center"}):
                solara.Button(
                    SEAT_NAMES[seat],
                    on_click=lambda seat=seat: take(seat),
                    disabled=state != "free",
                    color="primary" if state == "free" else None,
                    classes=["seat-choice"],
                )
                held, capacity = places[seat]
                words = "the computer plays it" if state == "computer" else f"{held}/{capacity}"
                words += ", full" if state == "full" else ""
                solara.Text(words, classes=[f"seat-{state}"])
        if error.value:
            solara.Error(error.value, classes=["room-error"])


@solara.component
def SeatPage() -> None:
    """A player's seat: its levers, Decide, the decision echoed, the last round, the
    standing, the facilitator's messages and the deadline."""
    router = solara.use_router()
    params = query(router)
    room, missing = find_room(params.get("room", ""))
    version, clock = use_room(room, seat_key(params.get("seat", "")))
    draft = solara.use_reactive({})
    error = solara.use_reactive("")
    solara.Title("Your seat: Mineral Markets Game")
    if room is None:
        solara.Error(missing or "this link names no room", classes=["room-error"])
        return
    token = params.get("seat", "")
    try:
        view = room.view(token)
    except RoomError as err:
        solara.Error(str(err), classes=["room-error"])
        solara.Button("Join again", on_click=lambda: router.push(link("join", room=room.code)))
        return
    levers = seat_levers(view.seat)

    def change(key: str, shown: Any) -> None:
        draft.value = {**draft.value, key: levers[key].model_value(shown)}

    def decide() -> None:
        if attempt(error, lambda: room.decide(token, draft.value, view.round)):
            draft.value = {}

    solara.Style(CSS)
    with solara.Column(style={"padding": "12px", "gap": "8px"}):
        RoomHeader(room, clock, SEAT_NAMES[view.seat], version)
        solara.Text(
            "Your seat's link (it brings you back to this seat): "
            + base_url()
            + link("seat", room=room.code, seat=token),
            classes=["room-seat-link"],
        )
        with solara.Columns([1, 1], gutters_dense=True):
            with solara.Card(f"Your levers for round {view.round}", classes=["seat-levers"]):
                with room.lock:
                    current = {k: lever_map.read(room.model, k) for k in levers}
                for k, lv in levers.items():
                    shown = draft.value.get(k, (view.pending or {}).get(k, current[k]))
                    LeverControl(lv, shown, change)
                if error.value:
                    solara.Error(error.value, classes=["room-error"])
                solara.Button(
                    "Decide",
                    icon_name="mdi-check",
                    color="primary",
                    on_click=decide,
                    disabled=view.status not in ("running", "paused"),
                )
                if view.pending is not None:
                    echo = describe(view.seat, view.pending) if view.pending else "no change"
                    solara.Success(f"Your decision for round {view.round}: {echo}")
            with solara.Column():
                Messages(room, version)
                if view.last is not None:
                    with solara.Card(f"Round {view.last.round}", classes=["seat-last"]):
                        who = "You" if view.last.by == "player" else "The computer (for you)"
                        solara.Text(f"{who}: {view.last.text}")
                        solara.HTML(unsafe_innerHTML=feed_html(view.report), style=FEED_STYLE)
                if view.standing is not None:
                    score = view.standing
                    with solara.Card("Your standing", classes=["seat-standing"]):
                        solara.Text(
                            f"Score {score.points:,.1f} USD bn (the computer, same game: "
                            f"{score.reference_points:,.1f})",
                            style=BIG,
                        )
                        solara.Text(score.verdict)
        if room.status in ("finished", "closed"):
            Leaderboard(room, version)
        version  # noqa: B018 (the page follows the room)


@solara.component
def Projector(room: Room) -> None:
    """The room's market on large charts, who has decided this round and the feed; at the
    end the leaderboard first. Laid out for a screen at 1280x720 read from the back."""
    version, clock = use_room(room)
    live = solara.use_memo(lambda: LiveView(projector_dashboard()), [room])
    market = solara.use_memo(lambda: RoomMarket(room), [room])
    live.refresh(market)
    version  # noqa: B018
    join = base_url() + link("join", room=room.code)
    with solara.Column(style={"padding": "8px", "gap": "4px"}, classes=["room-projector"]):
        RoomHeader(room, clock, "Projector", version)
        if room.status == "lobby":  # the room fills: how to join, large
            with solara.Row(
                style={"align-items": "center", "gap": "32px"}, classes=["room-invite"]
            ):
                solara.HTML(unsafe_innerHTML=qr_svg(join), classes=["room-qr"])
                with solara.Column():
                    solara.Text(f"Join at {join}", style={"font-size": "1.6em"})
                    solara.Text(f"or open /room and type the code {room.code}", style=BIG)
                    solara.Text(
                        f"Players: {role_places(room.places())}", style={"font-size": "1.3em"}
                    )
        else:
            solara.Text(f"Join: {join} (code {room.code})", style={"font-size": "1.1em"})
        if room.status in ("finished", "closed"):
            Leaderboard(room, version)
        with solara.Row(style={"flex-wrap": "wrap", "gap": "18px", "font-size": "1.15em"}):
            if room.status in ("running", "paused"):
                solara.Text(f"Round {room.round}:", style={"font-weight": "bold"})
                for seat, state in room.decided().items():
                    solara.Text(f"{seat} {state}", classes=[f"decided-{state}"])
            solara.Row(children=[live.flags, live.status])
        solara.Column(children=[live.image])
        solara.Text(CAPTION, style={"font-size": "1em", "color": "#555"})
        solara.Text("What happened", style={"font-weight": "bold", "font-size": "1.2em"})
        solara.Column(children=[live.feed], style=FEED_STYLE + " font-size: 1.15em;")


@solara.component
def ProjectorPage() -> None:
    """/room/projector?room=CODE."""
    room, missing = find_room(query(solara.use_router()).get("room", ""))
    solara.Title("Projector: Mineral Markets Game")
    if room is None:
        solara.Error(missing or "this link names no room", classes=["room-error"])
        return
    Projector(room)


@solara.component
def Console(room: Room, token: str) -> None:
    """The facilitator's console: the join link and its QR code, the round's controls, a
    shock, a message, who has decided, seats handed to the computer, close, the record."""
    version, clock = use_room(room)
    error = solara.use_reactive("")
    extra = solara.use_reactive(30)
    named = {spec.label: name for name, spec in SHOCKS.items()}  # shown by its label
    shock = solara.use_reactive(next(iter(named)))
    country = solara.use_reactive(GOVERNMENT_SEATS[0])
    size = solara.use_reactive(SHOCKS["demand_surge"].size_range[2])
    note = solara.use_reactive("")
    join = base_url() + link("join", room=room.code)
    spec = SHOCKS[named[shock.value]]
    version  # noqa: B018

    def act(action: Callable[[], Any]) -> Callable[[], bool]:
        return lambda: attempt(error, action)

    def send() -> None:
        if attempt(error, lambda: room.message(token, note.value)):
            note.value = ""

    solara.Style(CSS)
    with solara.Column(style={"padding": "12px", "gap": "8px"}):
        RoomHeader(room, clock, "Facilitator's console", version)
        if error.value:
            solara.Error(error.value, classes=["room-error"])
        with solara.Columns([1, 2], gutters_dense=True):
            with solara.Card("Players join here", classes=["room-invite"]):
                projector = base_url() + link("projector", room=room.code)
                with solara.Column(gap="6px"):
                    solara.Text(f"Code {room.code}", style=BIG)
                    solara.Text(join, classes=["room-join-link"])
                    solara.HTML(unsafe_innerHTML=qr_svg(join), classes=["room-qr"])
                    solara.HTML(
                        unsafe_innerHTML=f"Projector: <a href='{html.escape(projector)}' "
                        f"target='_blank'>{html.escape(projector)}</a>",
                        classes=["room-projector-link"],
                    )
                    solara.Text(
                        "Your console's link (keep it private; it is your key to this room): "
                        + base_url()
                        + link("console", room=room.code, console=token),
                        classes=["room-console-link"],
                    )
            with solara.Column(gap="10px"):
                with solara.Card("Round"), solara.Row(style={"flex-wrap": "wrap"}):
                    status = room.status
                    solara.Button(
                        "Start",
                        on_click=act(lambda: room.start(token)),
                        disabled=status != "lobby",
                        color="primary",
                    )
                    solara.Button(
                        "Pause",
                        on_click=act(lambda: room.pause(token)),
                        disabled=status != "running",
                    )
                    solara.Button(
                        "Resume",
                        on_click=act(lambda: room.resume(token)),
                        disabled=status != "paused",
                    )
                    solara.Button(
                        "Advance now",
                        on_click=act(lambda: room.advance(token)),
                        disabled=status not in ("running", "paused"),
                    )
                    solara.InputInt("Seconds", value=extra, style={"max-width": "90px"})
                    solara.Button(
                        "Extend deadline",
                        on_click=act(lambda: room.extend(token, extra.value)),
                        disabled=status not in ("running", "paused"),
                    )
                with solara.Card("Who has decided", classes=["room-decided"]):
                    for seat, state in room.who_decided(token).items():
                        with solara.Row(style={"align-items": "center"}):
                            solara.Text(
                                f"{SEAT_NAMES[seat]}: {state}", classes=[f"decided-{state}"]
                            )
                            if state != "computer":
                                solara.Button(
                                    "Hand to the computer",
                                    on_click=act(lambda s=seat: room.hand_to_computer(token, s)),
                                    text=True,
                                )
                with solara.Card("Shock for the whole room"):
                    solara.Select("Shock", value=shock, values=list(named))
                    if spec.per_country:
                        solara.Select("Country", value=country, values=list(GOVERNMENT_SEATS))
                    if spec.size_label:
                        low, high, _ = spec.size_range
                        solara.SliderInt(
                            f"{spec.size_label}, %", value=size, min=low, max=high, step=5
                        )
                    solara.Button(
                        "Send shock",
                        icon_name="mdi-flash",
                        on_click=act(
                            lambda: room.shock(token, named[shock.value], country.value, size.value)
                        ),
                    )
                with solara.Card("Message to every seat"):
                    solara.InputText("Message", value=note)
                    solara.Button("Send message", on_click=send)
                with solara.Card("End"), solara.Row(style={"flex-wrap": "wrap"}):
                    solara.FileDownload(
                        room.record_zip,
                        filename=f"room-{room.code}-record.zip",
                        label="Room record (charts and tables, zip)",
                        mime_type="application/zip",
                    )
                    solara.Button(
                        "Close the room", color="error", on_click=act(lambda: room.close(token))
                    )
        if room.status in ("finished", "closed"):
            Leaderboard(room, version)


@solara.component
def ConsolePage() -> None:
    """/room/console?room=CODE&console=TOKEN: only the facilitator's link opens it."""
    params = query(solara.use_router())
    room, missing = find_room(params.get("room", ""), closed=True)
    solara.Title("Console: Mineral Markets Game")
    if room is None:
        solara.Error(missing or "this link names no room", classes=["room-error"])
        return
    token = params.get("console", "")
    try:
        room.check_facilitator(token)
    except RoomError as err:
        solara.Error(str(err), classes=["room-error"])
        return
    Console(room, token)


ROUTES: list[solara.Route] = [
    solara.Route("/", component=JoinPage, label="Join"),
    solara.Route("new", component=HostPage, label="Create"),
    solara.Route("seat", component=SeatPage, label="Seat"),
    solara.Route("console", component=ConsolePage, label="Console"),
    solara.Route("projector", component=ProjectorPage, label="Projector"),
]

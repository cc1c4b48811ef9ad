"""The room's pages without a browser: each rendered at its route as `minerals ui` serves it,
clicked as a facilitator and players would, on one registry of rooms."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qs, urlparse

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from solara.autorouting import RenderPage
from solara.widgets import HTML, Navigator

import viz.app
from tests.test_room import Clock
from tests.test_viz import button, buttons, select, text_of, type_into, wait_until
from viz.room import Rooms
from viz.room.server import use_rooms


@pytest.fixture
def rooms(tmp_path):
    registry = Rooms(tmp_path / "rooms.sqlite")
    registry.start_clock()
    old = use_rooms(registry)
    yield registry
    use_rooms(old)
    registry.close()


def words(widget: object) -> str:
    """The text in a widget and everything inside it."""
    if isinstance(widget, str):
        return widget
    if isinstance(widget, HTML):
        return widget.unsafe_innerHTML or ""
    if isinstance(widget, ipywidgets.HTML):
        return widget.value
    return " ".join(words(c) for c in getattr(widget, "children", None) or [])


class Tab:
    """One browser tab at a path of the app; `path` follows its navigation."""

    def __init__(self, path: str) -> None:
        page = solara.RoutingProvider(children=[RenderPage()], routes=viz.app.routes, pathname=path)
        _, self.rc = solara.render(page, handle_error=False)

    @property
    def path(self) -> str:
        return self.rc.find(Navigator).widget.location

    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}

    def texts(self) -> str:
        """Every text on the page: labels, alerts' words and HTML blocks."""
        return " ".join(words(w) for w in self.rc.find(v.Html).widgets)

    def alerts(self) -> str:
        return " ".join(words(w) for w in self.rc.find(v.Alert).widgets)

    def close(self) -> None:
        self.rc.close()


def field(tab: Tab, label: str) -> v.TextField:
    found = [w for w in tab.rc.find(v.TextField).widgets if w.label == label]
    assert len(found) == 1, f"{len(found)} fields labelled {label!r}"
    return found[0]


def create_room(rooms: Rooms, seats: tuple[str, ...] = ()) -> Tab:
    host = Tab("/room/new")
    select(host.rc, "Scenario").v_model = "dumping"
    for seat in seats:  # close the seats named
        box = [w for w in host.rc.find(v.Checkbox).widgets if w.label.startswith(seat)]
        box[0].v_model = False
    button(host.rc, "Create room").click()
    wait_until(lambda: host.path.startswith("/room/console"))
    return host


def join(code: str, seat_label: str, typed: bool = True) -> Tab:
    tab = Tab("/room" if typed else f"/room?room={code}")
    if typed:
        type_into(field(tab, "Room code"), code.lower())
    wait_until(lambda: buttons(tab.rc, seat_label))
    button(tab.rc, seat_label).click()
    return tab


def test_the_facilitator_creates_a_room_and_sees_its_code_link_and_qr(rooms):
    host = create_room(rooms)
    code = host.params()["room"]
    room = rooms.room(code)
    room.check_facilitator(host.params()["console"])  # the console link holds the token
    text = host.texts()
    assert f"Code {code}" in text and f"/room?room={code}" in text
    (qr,) = [w for w in host.rc.find(HTML).widgets if "<svg" in (w.unsafe_innerHTML or "")]
    assert qr.attributes["class"] == "room-qr"
    assert room.settings.source == "dumping" and room.status == "lobby"
    host.close()


def upload(tab: Tab, name: str, data: bytes) -> None:
    tab.rc.find(ipywidgets.FileUpload).widget.value = (
        {
            "name": name,
            "type": "",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.datetime.now(datetime.UTC),
        },
    )


def test_a_room_is_made_from_an_uploaded_scenario_with_teams_at_its_seats(rooms):
    host = Tab("/room/new")
    upload(host, "broken.toml", b"[supplier\nbudget = 1")
    assert "broken.toml: malformed TOML" in host.alerts()
    upload(host, "class.toml", b'preset = "ndpr"\nquarters = 12\n')
    assert select(host.rc, "Scenario").v_model == "uploaded: class", host.alerts()
    type_into(field(host, "Players per seat (1 to 10; a team shares a seat)"), "11")
    button(host.rc, "Create room").click()
    assert "players per seat: from 1 to 10" in host.alerts() and not rooms.open_rooms()
    type_into(field(host, "Players per seat (1 to 10; a team shares a seat)"), "7")
    button(host.rc, "Create room").click()
    wait_until(lambda: host.path.startswith("/room/console"))
    room = rooms.room(host.params()["room"])
    assert room.quarters == 12 and room.places()["US"] == (0, 7)
    assert room.model.spec.name == "class"
    lobby = Tab(f"/room?room={room.code}")
    assert "governments 0/35 taken, supplier 0/7 taken" in lobby.texts()
    for tab in (host, lobby):
        tab.close()


def test_a_decision_after_the_deadline_is_refused_on_the_page(tmp_path):
    clock = Clock()
    registry = Rooms(tmp_path / "rooms.sqlite", clock=clock)  # no clock thread: time is ours
    old = use_rooms(registry)
    try:
        room, facilitator = registry.create("dumping", deadline_seconds=60)
        us = join(room.code, "United States government")
        wait_until(lambda: us.path.startswith("/room/seat"))
        join(room.code, "Dominant supplier")
        room.start(facilitator)
        wait_until(lambda: not button(us.rc, "Decide").disabled)
        clock.advance(61)  # the deadline passes before the clock closes the round
        button(us.rc, "Decide").click()
        wait_until(lambda: "the deadline for round 1 has passed" in us.alerts())
        assert room.pending == {} and room.quarter == 0
        registry.tick()  # the round closes: the seat played the computer's move
        assert room.quarter == 1 and room.decisions[0].by == "computer"
        wait_until(lambda: "The computer (for you): no change" in us.texts())  # its default
        us.close()
    finally:
        use_rooms(old)
        registry.close()


def test_players_join_free_seats_by_code_and_a_taken_seat_is_refused(rooms):
    host = create_room(rooms)
    code = host.params()["room"]
    us = join(code, "United States government")
    wait_until(lambda: us.path.startswith("/room/seat"))
    supplier = join(code, "Dominant supplier", typed=False)
    wait_until(lambda: supplier.path.startswith("/room/seat"))
    assert rooms.room(code).lobby()["US"] == "full"
    assert "United States government" in us.texts()

    late = Tab(f"/room?room={code}")
    (taken,) = buttons(late.rc, "United States government")
    assert taken.disabled and "1/1, full" in late.texts()
    assert "governments 1/5 taken, supplier 1/1 taken" in late.texts()
    rooms.room(code).join("JP")  # someone else is quicker: the page still offers it
    button(late.rc, "Japanese government").click()
    assert "the JP seat is taken: choose a free one" in late.alerts()
    assert late.path.startswith("/room?")

    wrong = Tab("/room")
    type_into(field(wrong, "Room code"), "ZZZZZZ")
    assert "no open room has the code 'ZZZZZZ'" in wrong.alerts()
    stale = Tab(f"/room/seat?room={code}&seat=not-a-token")
    assert "this link holds no seat in this room any more" in stale.alerts()
    for tab in (host, us, supplier, late, wrong, stale):
        tab.close()


def test_a_decision_is_echoed_and_the_console_shows_who_decided(rooms):
    host = create_room(rooms)
    code = host.params()["room"]
    room = rooms.room(code)
    us = join(code, "United States government")
    supplier = join(code, "Dominant supplier")
    wait_until(lambda: us.path.startswith("/room/seat") and supplier.path.startswith("/room/seat"))
    button(host.rc, "Start").click()
    assert room.status == "running"
    wait_until(lambda: not button(us.rc, "Decide").disabled)

    (duty,) = [w for w in us.rc.find(v.Slider).widgets if "Anti-dumping duty" in w.label]
    duty.v_model = 30
    button(us.rc, "Decide").click()
    wait_until(lambda: "Your decision for round 1: anti-dumping duty 30 %" in us.alerts())
    assert room.pending["US"] == {"governments.US.duty": pytest.approx(0.3)}
    wait_until(lambda: "United States government: decided" in host.texts())
    assert "Dominant supplier: waiting" in host.texts()

    button(supplier.rc, "Decide").click()  # the last player decides: the round resolves
    wait_until(lambda: room.quarter == 1)
    wait_until(lambda: "Round 1" in us.texts() and "Your standing" in us.texts())
    for tab in (host, us, supplier):
        tab.close()


def test_a_value_out_of_range_shows_the_rooms_message_and_changes_nothing(rooms):
    host = create_room(rooms)
    code = host.params()["room"]
    room = rooms.room(code)
    us = join(code, "United States government")
    wait_until(lambda: us.path.startswith("/room/seat"))
    button(host.rc, "Start").click()
    wait_until(lambda: not button(us.rc, "Decide").disabled)
    (duty,) = [w for w in us.rc.find(v.Slider).widgets if "Anti-dumping duty" in w.label]
    duty.v_model = 900  # past the slider's end, as a hand-made request would send
    button(us.rc, "Decide").click()
    wait_until(lambda: "got 900" in us.alerts())
    assert "governments.US.duty: from 0 to 200 %" in us.alerts()
    assert room.pending == {} and room.quarter == 0
    for tab in (host, us):
        tab.close()


def test_the_console_runs_the_room_and_the_projector_shows_the_end(rooms):
    host = create_room(rooms, seats=("Dominant",))
    code = host.params()["room"]
    room = rooms.room(code)
    projector = Tab(f"/room/projector?room={code}")
    assert "Projector" in projector.texts() and f"type the code {code}" in projector.texts()
    assert [w for w in projector.rc.find(HTML).widgets if "<svg" in (w.unsafe_innerHTML or "")]
    button(host.rc, "Start").click()
    button(host.rc, "Pause").click()
    assert room.status == "paused"
    wait_until(lambda: "Paused, " in host.texts())  # the header follows the room
    button(host.rc, "Resume").click()
    type_into(field(host, "Message"), "Two minutes to decide")
    button(host.rc, "Send message").click()
    assert room.messages[-1].text == "Two minutes to decide"
    room.advance(host.params()["console"])
    wait_until(lambda: "quarter 1 of 40" in projector.texts() and "quarter 1 of 40" in host.texts())
    button(host.rc, "Send shock").click()
    assert room.shocks and room.shocks[-1].shock == "export_ban"
    left = room.seconds_left()
    button(host.rc, "Extend deadline").click()  # by the 30 s the console offers
    assert room.seconds_left() > left + 25
    wait_until(lambda: "supplier computer" in projector.texts())  # a closed seat
    while room.status != "finished":
        room.advance(host.params()["console"])
    wait_until(lambda: "Leaderboard" in projector.texts())
    assert "supplier computer" not in projector.texts()  # no round is open
    files = room.record_zip()
    assert files[:2] == b"PK"
    button(host.rc, "Close the room").click()
    assert room.status == "closed"
    for tab in (host, projector):
        tab.close()


def test_the_game_at_the_root_is_the_single_tab_game():
    tab = Tab("/")
    assert text_of(tab.rc.find(v.Html, class_="game-quarter").widget) == "Quarter 0 of 40"
    tab.close()


def test_minerals_ui_refuses_a_rooms_path_it_cannot_use(tmp_path):
    from tests.conftest import minerals

    done = minerals("ui", "--rooms", str(tmp_path))
    assert done.returncode == 2
    assert "is a folder; name a file" in done.stderr and "Traceback" not in done.stderr
    blocked = tmp_path / "file"
    blocked.write_text("")
    done = minerals("ui", "--rooms", str(blocked / "rooms.sqlite"))
    assert done.returncode == 2 and "cannot make its folder" in done.stderr

"""A whole workshop in Debian's Chromium: a facilitator, a projector and six players on phones,
each in their own browser context, against one real server with its own rooms file. When
MINERALS_SCREENSHOTS names a folder, the pages are photographed there for the facilitator's
guide (`make screenshots`)."""

from __future__ import annotations

import io
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from matplotlib.text import Text

from tests.browser.conftest import free_port, start_server, stop_server
from tests.browser.rooms import PHONE, new_page, settled
from viz.charts import projector_dashboard
from viz.room.pages import SEAT_NAMES as SEATS
from viz.room.room import Room, RoomMarket

PROJECTOR = {"width": 1280, "height": 720}
# Three quarters, a round each: round 1 one player misses, round 2 a shock, round 3 the end.
WORKSHOP = b'name = "workshop"\npreset = "ndpr"\nquarters = 3\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    rooms = Path(tmp_path_factory.mktemp("rooms")) / "rooms.sqlite"
    port = free_port()
    command = [sys.executable, "-m", "experiments.cli", "ui", "--port", str(port)]
    process, url = start_server([*command, "--rooms", str(rooms)], port)
    yield url
    stop_server(process)


class Screens:
    """Photographs for docs/facilitator.md, taken only when asked for."""

    def __init__(self) -> None:
        folder = os.environ.get("MINERALS_SCREENSHOTS")
        self.folder = Path(folder) if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page, name: str) -> None:
        if self.folder:
            page.wait_for_timeout(500)  # the last redraw lands
            page.screenshot(path=str(self.folder / f"{name}.png"))


def _open(browser, viewport: dict[str, int], url: str, text: str):
    context, page, errors = new_page(browser, viewport)
    page.goto(url)
    settled(page, text)
    return context, page, errors


def _wide(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_a_workshop_facilitator_projector_and_six_phones(chromium, server, tmp_path):
    screens = Screens()
    host_context, host, host_errors = _open(
        chromium, {"width": 1280, "height": 900}, server + "room/new", "Seats open to players"
    )
    scenario = tmp_path / "workshop.toml"
    scenario.write_bytes(WORKSHOP)
    with host.expect_file_chooser() as chooser:
        host.get_by_text("Upload scenario (.toml)").click()
    chooser.value.set_files(str(scenario))
    host.get_by_text("your uploaded file").wait_for(timeout=30_000)
    deadline = host.get_by_label("Decision deadline, seconds (10 to 3,600)")
    deadline.fill("25")
    deadline.press("Enter")
    screens.take(host, "1-create")
    host.get_by_role("button", name="Create room").click()
    host.get_by_text("Facilitator's console").wait_for(timeout=60_000)
    console_link = host.locator(".room-console-link").inner_text().rsplit(": ", 1)[1]
    code = console_link.split("room=")[1].split("&")[0]
    host.locator(".room-qr svg").wait_for(timeout=30_000)
    screens.take(host, "2-console")

    projector_context, projector, projector_errors = _open(
        chromium, PROJECTOR, server + f"room/projector?room={code}", "Projector"
    )
    projector.get_by_text(f"type the code {code}").wait_for()  # the lobby: how to join
    screens.take(projector, "2b-projector-lobby")

    players: dict[str, tuple] = {}
    for seat, label in SEATS.items():
        context, page, errors = _open(chromium, PHONE, server + "room", "Join a workshop room")
        page.get_by_label("Room code").fill(code.lower())  # typed on a phone, any case
        page.get_by_label("Room code").press("Enter")
        page.get_by_label("Your name (optional)").fill(f"Player {seat}")
        if seat == "supplier":
            screens.take(page, "3-join")
        page.get_by_role("button", name=label).click()
        page.get_by_text("Your levers for round 1").wait_for(timeout=60_000)
        assert not _wide(page)  # no sideways scroll on a phone
        link = page.locator(".room-seat-link").inner_text().rsplit(": ", 1)[1]
        players[seat] = (context, page, errors, link)

    # a seventh player finds every seat full
    context, late, _ = _open(chromium, PHONE, server + f"room?room={code}", "Join a workshop room")
    late.get_by_text("governments 5/5 taken, supplier 1/1 taken").wait_for(timeout=30_000)
    for label in SEATS.values():
        assert late.get_by_role("button", name=label).is_disabled()
    # a player's key opens neither the console nor another seat's levers
    us_token = players["US"][3].split("seat=")[1]
    late.goto(server + f"room/console?room={code}&console={us_token}")
    late.get_by_text("the console needs the facilitator's link for this room").wait_for()
    context.close()
    us = players["US"][1]
    levers = us.locator(".seat-levers").inner_text()
    assert "Stay in the response group" in levers and "strategy" not in levers.lower()

    host.get_by_role("button", name="Start").click()
    # round 1: everyone but Thailand decides; Thailand's deadline passes
    for seat in ("US", "AU", "JP", "MY", "supplier"):
        page = players[seat][1]
        page.get_by_role("button", name="Decide").click()
        page.get_by_text("Your decision for round 1").wait_for(timeout=30_000)
    screens.take(players["US"][1], "4-seat")
    projector.get_by_text("TH waiting").wait_for(timeout=30_000)
    screens.take(projector, "5-projector")
    thai = players["TH"][1]
    thai.get_by_text("The computer (for you): no change").wait_for(timeout=60_000)
    thai.get_by_text("Your levers for round 2").wait_for(timeout=30_000)

    # round 2: a message and a shock for the whole room reach every seat
    host.get_by_label("Message").fill("Two minutes: talk to your allies")
    host.get_by_role("button", name="Send message").click()
    host.get_by_role("button", name="Send shock").click()  # an export ban
    projector.get_by_text("export ban", exact=False).first.wait_for(timeout=60_000)
    for _, page, _, _ in players.values():
        page.get_by_role("button", name="Decide").click()
    for _, page, _, _ in players.values():
        page.get_by_text("Your levers for round 3").wait_for(timeout=60_000)
        page.locator(".seat-last").get_by_text("export ban", exact=False).wait_for()
        page.get_by_text("Round 2: Two minutes: talk to your allies").wait_for()
    again = players["US"][0].new_page()  # reopening a seat's link returns the seat
    again.goto(players["US"][3])
    again.get_by_text("Your levers for round 3").wait_for(timeout=60_000)
    assert "United States government" in again.locator(".room-header").inner_text()

    # round 3: more time for it, typed on the console; then the facilitator closes it
    seconds = host.get_by_label("Seconds")
    seconds.fill("600")
    seconds.press("Enter")
    host.get_by_role("button", name="Extend deadline").click()
    host.locator(".room-countdown").get_by_text("Round 3: 6", exact=False).wait_for()
    host.get_by_role("button", name="Advance now").click()
    for page in (host, projector, *(p for _, p, _, _ in players.values())):
        page.locator(".room-leaderboard").wait_for(timeout=60_000)
    assert "Player US" in projector.locator(".room-leaderboard").inner_text()
    screens.take(projector, "6-debrief")
    with host.expect_download() as download:
        host.get_by_text("Room record (charts and tables, zip)").click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        names = sorted(n.rsplit("-", 1)[1] for n in archive.namelist())
        decisions = archive.read(next(n for n in archive.namelist() if "decisions" in n))
    assert names == [
        "charts.png",
        "decisions.csv",
        "leaderboard.csv",
        "messages.csv",
        "quarterly.csv",
        "shocks.csv",
    ]
    assert b"1,1,TH,computer" in decisions and b"1,1,US,player" in decisions

    # the projector at 1280x720: charts as wide as the screen, text at least 12 px
    assert not _wide(projector)
    shown = projector.locator("img.game-charts").evaluate("i => i.clientWidth")
    board = projector_dashboard()
    room, _ = Room.create({"name": "w", "preset": "ndpr", "quarters": 3})
    board.png(RoomMarket(room))
    smallest = min(
        t.get_fontsize() for t in board.figure.findobj(Text) if t.get_visible() and t.get_text()
    )
    assert smallest / 72 * shown / board.size[0] >= 12

    assert host_errors == [] and projector_errors == []
    assert all(errors == [] for _, _, errors, _ in players.values())
    for context, _, _, _ in players.values():
        context.close()
    projector_context.close()
    host_context.close()

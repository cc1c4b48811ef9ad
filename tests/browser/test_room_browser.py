"""A workshop room in Debian's Chromium: a facilitator and players on phones, each in their own
browser context, against one real server with its own rooms file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import free_port, start_server, stop_server

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def room_server(tmp_path_factory) -> Iterator[str]:
    rooms = Path(tmp_path_factory.mktemp("rooms")) / "rooms.sqlite"
    port = free_port()
    command = [sys.executable, "-m", "experiments.cli", "ui", "--port", str(port)]
    process, url = start_server([*command, "--rooms", str(rooms)], port)
    yield url
    stop_server(process)


def _page(browser, viewport: dict[str, int]):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def _settled(page, text: str) -> None:
    """Until the page shows `text` and its first redraws are over: a click on a control the
    first render draws and the next one replaces is lost."""
    page.get_by_text(text).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)


def test_players_on_phones_join_by_code_decide_and_a_shock_reaches_their_seats(
    chromium, room_server
):
    host_context, host, host_errors = _page(chromium, {"width": 1280, "height": 800})
    host.goto(room_server + "room/new")
    _settled(host, "Seats open to players")
    host.get_by_role("button", name="Create room").click()
    host.get_by_text("Facilitator's console").wait_for(timeout=60_000)
    console = host.locator(".room-console-link").inner_text().rsplit(": ", 1)[1]
    code = console.split("room=")[1].split("&")[0]
    host.locator("svg").first.wait_for(timeout=30_000)  # the QR code of the join link
    host.get_by_role("button", name="Start").click()

    players = []
    for seat in ("United States government", "Dominant supplier"):
        context, page, errors = _page(chromium, PHONE)
        page.goto(room_server + "room")
        _settled(page, "Join a workshop room")
        page.get_by_label("Room code").fill(code.lower())  # typed on a phone, any case
        page.get_by_label("Room code").press("Enter")
        page.get_by_role("button", name=seat).click()
        page.get_by_text("Your levers for round 1").wait_for(timeout=60_000)
        seat_link = page.locator(".room-seat-link").inner_text().rsplit(": ", 1)[1]
        assert "seat=" in seat_link  # the link that returns this player to the seat
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        players.append((context, page, errors, seat_link))

    # a third player cannot take a seat someone holds
    context, page, errors = _page(chromium, PHONE)
    page.goto(room_server + f"room?room={code}")
    assert page.get_by_role("button", name="United States government").is_disabled()
    context.close()

    us, us_link = players[0][1], players[0][3]
    us.get_by_role("button", name="Decide").click()
    host.get_by_text("United States government: decided").wait_for(timeout=30_000)

    projector = host_context.new_page()
    projector.goto(room_server + f"room/projector?room={code}")
    _settled(projector, "Projector")
    host.get_by_role("button", name="Send shock").click()  # an export ban for the whole room
    projector.get_by_text("export ban", exact=False).first.wait_for(timeout=30_000)
    players[1][1].get_by_role("button", name="Decide").click()  # the last seat: the round resolves
    for _, page, _, _ in players:
        page.get_by_text("export ban", exact=False).first.wait_for(timeout=30_000)

    # reopening the seat link returns the same seat
    again = players[0][0].new_page()
    again.goto(us_link)
    again.get_by_text("Your levers for round 2").wait_for(timeout=60_000)
    assert "United States government" in again.locator("body").inner_text()

    assert host_errors == [] and all(errors == [] for _, _, errors, _ in players)
    for context, _, _, _ in players:
        context.close()
    host_context.close()

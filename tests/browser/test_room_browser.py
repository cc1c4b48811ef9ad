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


def test_players_on_phones_join_by_code_decide_and_a_shock_reaches_their_seats(
    chromium, room_server
):
    host_context, host, host_errors = _page(chromium, {"width": 1280, "height": 800})
    host.goto(room_server + "room/new")
    host.get_by_role("button", name="Create room").click()
    host.wait_for_url("**/room/console?*", timeout=60_000)
    host.get_by_text("Facilitator's console").wait_for(timeout=60_000)
    code = host.url.split("room=")[1].split("&")[0]
    host.locator("svg").first.wait_for(timeout=30_000)  # the QR code of the join link
    host.get_by_role("button", name="Start").click()

    players = []
    for seat in ("United States government", "Dominant supplier"):
        context, page, errors = _page(chromium, PHONE)
        page.goto(room_server + "room")
        page.get_by_label("Room code").fill(code.lower())  # typed on a phone, any case
        page.get_by_label("Room code").press("Enter")
        page.get_by_role("button", name=seat).click()
        page.get_by_text("Your levers for round 1").wait_for(timeout=60_000)
        assert "seat=" in page.url  # the link that returns this player to the seat
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        players.append((context, page, errors))

    # a third player cannot take a seat someone holds
    context, page, errors = _page(chromium, PHONE)
    page.goto(room_server + f"room?room={code}")
    assert page.get_by_role("button", name="United States government").is_disabled()
    context.close()

    us = players[0][1]
    us.get_by_role("button", name="Decide").click()
    host.get_by_text("United States government: decided").wait_for(timeout=30_000)

    host.get_by_role("button", name="Send shock").click()  # an export ban for the whole room
    players[1][1].get_by_role("button", name="Decide").click()  # the last seat: the round resolves
    for _, page, _ in players:
        page.get_by_text("export ban", exact=False).first.wait_for(timeout=30_000)

    # reopening the seat link returns the same seat
    link = us.url
    again = players[0][0].new_page()
    again.goto(link)
    again.get_by_text("United States government").first.wait_for(timeout=60_000)

    assert host_errors == [] and all(errors == [] for _, _, errors in players)
    for context, _, _ in players:
        context.close()
    host_context.close()

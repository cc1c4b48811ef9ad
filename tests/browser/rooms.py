"""What the room's browser tests share: a phone's screen, a page in its own browser context,
and waiting for a room page to settle."""

from __future__ import annotations

PHONE = {"width": 390, "height": 844}


def new_page(browser, viewport: dict[str, int]):
    """A page in a context of its own (its own cookies: its own player), with the page errors
    it meets."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def settled(page, text: str) -> None:
    """Until the page shows `text` and its first redraws are over: a click on a control the
    first render draws and the next one replaces is lost."""
    page.get_by_text(text).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)

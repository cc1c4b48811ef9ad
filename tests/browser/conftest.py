"""A real server and Debian's Chromium for the browser tests.

These tests fail, never skip, when they cannot run: a missing browser or missing front-end files
is an error in CI. The server is the real app (`minerals ui`, or `solara run viz/app.py`) on a
free localhost port, with Solara's CDN pointed at a closed local port: any front-end file not
served from the local asset cache breaks the page and the test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from viz.settings import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(command: list[str], port: int) -> tuple[subprocess.Popen, str]:
    from viz.assets import missing

    absent = missing()
    if absent:
        pytest.fail(
            "Solara's front-end files are missing (run `make assets`): "
            + ", ".join(f"{p}@{v}" for p, v in absent)
        )
    env = {
        **os.environ,
        "SOLARA_ASSETS_CDN": f"http://127.0.0.1:{free_port()}/",  # nothing listens there
        "PYTHONUNBUFFERED": "1",
    }
    # The server's output goes to a file: a pipe nobody reads fills up and stalls the server.
    handle, log_path = tempfile.mkstemp(prefix="minerals-ui-", suffix=".log")
    with os.fdopen(handle, "w") as log:  # the server keeps its own copy of the file
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = Path(log_path).read_text()
            pytest.fail(f"the game server did not start: {' '.join(command)}\n{output[-2000:]}")
        time.sleep(0.2)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    Path(process.log_path).unlink(missing_ok=True)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def game_server() -> Iterator[str]:
    """`minerals ui` on a free port."""
    port = free_port()
    process, url = start_server(
        [sys.executable, "-m", "experiments.cli", "ui", "--port", str(port)], port
    )
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Visit:
    """A page of the game and what it did: console errors and every request it made."""

    page: object
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    clicks: int = 0

    def click(self, locator) -> None:
        locator.click()
        self.clicks += 1

    def off_host(self) -> list[str]:
        local = self.url.rstrip("/")
        ws = local.replace("http://", "ws://")
        return [
            r for r in self.requests if not r.startswith((local, ws, "data:", "blob:", "about:"))
        ]

    def quarter(self) -> int:
        text = self.page.locator(".game-quarter").inner_text()
        return int(text.split()[1])

    def charts(self) -> str:
        """The chart image's source (changes with every picture)."""
        return self.page.locator("img.game-charts").get_attribute("src") or ""


def visit(browser, url: str, viewport: dict[str, int] | None = None) -> Iterator[Visit]:
    """A tab of its own on the game, once its first picture and quarter show."""
    context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
    page = context.new_page()
    seen = Visit(page, url)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(f"page error: {e}"))
    page.on("request", lambda r: seen.requests.append(r.url))
    page.goto(url)
    page.locator("img.game-charts").wait_for(timeout=60_000)
    page.locator(".game-quarter").get_by_text("Quarter 0 of").wait_for(timeout=60_000)
    yield seen
    context.close()


@pytest.fixture
def game(chromium, game_server) -> Iterator[Visit]:
    """A fresh browser tab (its own session, so its own game) on the game."""
    yield from visit(chromium, game_server)

"""Speed and footprint of the browser game, beside Mesa's own Boltzmann wealth app, in one run.

What it measures (wall clock, `time.perf_counter`):

  step click       server side, from a click on Step to the finished redraw: the click handler
                   steps the model and the page re-renders; for our app that includes the new
                   chart picture (PNG bytes in the image widget), for Boltzmann its Altair grid
                   and its Gini plot. Both apps run in the same harness: `solara.render` of the
                   app's page inside Solara's default AppLayout, in a fresh virtual kernel, the
                   "Step" button clicked as a user would. The websocket send after the render is
                   left out for both. Rounds alternate between the apps (a fresh page each,
                   2 warm-up clicks, then --clicks timed clicks), so machine noise falls on both.
                   Target: ours <= 1/3 of Boltzmann's (median).
  browser game     `minerals ui` on a free port; Debian's Chromium opens the page, picks "full
                   speed" and presses Play; the time from the click until the page shows
                   "Quarter 40 of 40" (the dumping scenario). Median of --games fresh tabs.
                   Target: < 10 s.
  users            --users players at once in one process, each in its own Solara virtual
                   kernel (what the server gives a browser tab) playing its own 40-quarter game
                   at full speed from its own page: the slowest player's time, and the memory a
                   player costs (resident memory after / before, over the players).
  pages            the same with real pages: --pages tabs in one Chromium against one
                   `minerals ui` server, all pressing Play at once; the slowest tab's time to
                   quarter 40, and the server's resident memory per tab.

It prints a table and exits 0 unless it crashes; it reports, it does not assert.

Run from the repository root (front-end files fetched: `make assets`):

    .venv/bin/python benchmarks/bench_ui.py               # all of it, about 3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_ui.py --quick       # fewer rounds, no real pages
    .venv/bin/python benchmarks/bench_ui.py --json /tmp/bench_ui.json
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import json
import logging
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from viz.settings import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# --- step click: the same harness for both apps -------------------------------------------------


def _buttons(rc, label: str) -> list:
    import ipyvuetify as v

    return [w for w in rc.find(v.Btn).widgets if label in w.children]


def _fresh_page(app: str):
    """A new page of the app in a new virtual kernel: (context, render context)."""
    import solara
    from solara.server import kernel, kernel_context

    context = kernel_context.VirtualKernelContext(
        id=f"bench-{app}-{time.monotonic_ns()}", kernel=kernel.Kernel(), session_id="bench"
    )
    with context:
        if app == "ours":
            from viz.app import Page

            page = Page()
        else:
            # Mesa's example builds its model at import: a fresh import is a fresh app.
            sys.modules.pop("mesa.examples.basic.boltzmann_wealth_model.app", None)
            with contextlib.redirect_stderr(io.StringIO()):
                page = importlib.import_module(
                    "mesa.examples.basic.boltzmann_wealth_model.app"
                ).page
            logging.getLogger("mesa").setLevel(logging.WARNING)
        # Mesa's app bar prints its parts when rendered outside a browser: keep the table clean.
        with contextlib.redirect_stdout(io.StringIO()):
            _, rc = solara.render(solara.AppLayout(children=[page]), handle_error=False)
    return context, rc


def step_clicks(rounds: int, clicks: int, warmup: int = 2) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"ours": [], "boltzmann": []}
    for r in range(rounds):
        order = ["ours", "boltzmann"] if r % 2 == 0 else ["boltzmann", "ours"]
        for app in order:
            context, rc = _fresh_page(app)
            with context:
                (step,) = _buttons(rc, "Step")
                for _ in range(warmup):
                    step.click()
                gc.collect()
                for _ in range(clicks):
                    started = time.perf_counter()
                    step.click()
                    times[app].append(time.perf_counter() - started)
                rc.close()
    return times


# --- the browser ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`minerals ui` on a free port, its output in a temporary file."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        handle, self.log = tempfile.mkstemp(prefix="bench-ui-", suffix=".log")
        env = {**os.environ, "SOLARA_ASSETS_CDN": f"http://127.0.0.1:{_free_port()}/"}
        with os.fdopen(handle, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "experiments.cli", "ui", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url, timeout=2):
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{Path(self.log).read_text()}")
            time.sleep(0.2)

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        Path(self.log).unlink(missing_ok=True)


def _open_game(browser, url: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    page.locator("img.game-charts").wait_for(timeout=120_000)
    page.locator(".v-select").filter(has_text="Speed").first.click()
    page.get_by_role("option", name="full speed").click()
    return page


def _play_to_the_end(page) -> float:
    started = time.perf_counter()
    page.get_by_role("button", name="Play", exact=True).click()
    page.locator(".game-quarter").get_by_text("Quarter 40 of 40").wait_for(timeout=600_000)
    return time.perf_counter() - started


def browser_games(games: int, pages: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    server = Server()
    out: dict[str, object] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            timings = []
            for _ in range(games):
                page = _open_game(browser, server.url)
                timings.append(_play_to_the_end(page))
                page.context.close()
            out["full_speed_s"] = timings
            if pages:
                time.sleep(1)
                before = server.rss_mb()
                tabs = [_open_game(browser, server.url) for _ in range(pages)]
                started = time.perf_counter()
                for tab in tabs:
                    tab.get_by_role("button", name="Play", exact=True).click()
                for tab in tabs:
                    tab.locator(".game-quarter").get_by_text("Quarter 40 of 40").wait_for(
                        timeout=600_000
                    )
                out["pages_slowest_s"] = time.perf_counter() - started
                out["pages_mb_per_tab"] = (server.rss_mb() - before) / pages
                for tab in tabs:
                    tab.context.close()
            browser.close()
    finally:
        server.stop()
    return out


# --- many players in one process ----------------------------------------------------------------


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def virtual_users(users: int) -> dict[str, float]:
    import ipyvuetify as v
    import solara
    from solara.server import kernel, kernel_context

    from viz.app import Page

    def play(number: int) -> float:
        started = time.perf_counter()
        context = kernel_context.VirtualKernelContext(
            id=f"user-{number}", kernel=kernel.Kernel(), session_id=f"user-{number}"
        )
        with context:
            _, rc = solara.render(Page(), handle_error=False)
            seed = rc.find(v.TextField, label="Seed (restarts the game)").widget
            seed.v_model = str(100 + number)
            seed.fire_event("keyup.enter", None)
            (speed,) = [w for w in rc.find(v.Select).widgets if w.label == "Speed"]
            speed.v_model = "full speed"
            (play_button,) = _buttons(rc, "Play")
            play_button.click()
            quarter = rc.find(v.Html, class_="game-quarter").widget
        while quarter.children != ["Quarter 40 of 40"]:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        while "Play" not in play_button.children:  # the play loop has stopped ("Pause")
            time.sleep(0.05)
        keep.append((context, rc))
        return seconds

    keep: list = []
    play(-1)  # imports and caches before measuring
    for context, rc in keep:
        with context:
            rc.close()
    keep.clear()
    gc.collect()
    before = _rss_mb()
    with ThreadPoolExecutor(max_workers=users) as pool:
        seconds = list(pool.map(play, range(users)))
    gc.collect()
    result = {"slowest_s": max(seconds), "mb_per_user": (_rss_mb() - before) / users}
    for context, rc in keep:
        with context:
            rc.close()
    return result


# --- report --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of step clicks per app")
    parser.add_argument("--clicks", type=int, default=30, help="timed clicks per round")
    parser.add_argument("--games", type=int, default=3, help="full-speed games in Chromium")
    parser.add_argument("--users", type=int, default=30, help="players in virtual kernels")
    parser.add_argument("--pages", type=int, default=30, help="real tabs at once (0: none)")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 1 game, no real pages")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.games, args.pages = 2, 1, 0

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.platform()}")
    clicks = step_clicks(args.rounds, args.clicks)
    ours, theirs = (statistics.median(clicks[k]) * 1000 for k in ("ours", "boltzmann"))
    ratio = ours / theirs
    print("\nstep click to finished redraw, server side (ms)")
    print(f"{'app':<12}{'median':>9}{'mean':>9}{'p90':>9}{'n':>6}")
    for app, values in clicks.items():
        ms = sorted(x * 1000 for x in values)
        p90 = ms[int(0.9 * (len(ms) - 1))]
        print(
            f"{app:<12}{statistics.median(ms):9.1f}{statistics.mean(ms):9.1f}{p90:9.1f}{len(ms):6d}"
        )
    verdict = "PASS" if ratio <= 1 / 3 else "MISS"
    print(f"ours / boltzmann = {ratio:.3f}   (target <= 0.333)  {verdict}")

    report: dict[str, object] = {
        "step_click_ms": {k: [x * 1000 for x in v] for k, v in clicks.items()},
        "step_click_ratio": ratio,
    }
    browser = browser_games(args.games, args.pages)
    full = statistics.median(browser["full_speed_s"])
    print(
        f"\n40 quarters at full speed in Chromium: median {full:.2f} s over "
        f"{len(browser['full_speed_s'])} games   (target < 10 s)  "
        f"{'PASS' if full < 10 else 'MISS'}"
    )
    report["browser"] = browser

    users = virtual_users(args.users)
    print(
        f"\n{args.users} players at once (virtual kernels, one process): slowest finished "
        f"40 quarters in {users['slowest_s']:.1f} s; {users['mb_per_user']:.1f} MB a player"
    )
    report["virtual_users"] = users
    if args.pages:
        print(
            f"{args.pages} Chromium tabs at once on one `minerals ui` server: slowest reached "
            f"quarter 40 in {browser['pages_slowest_s']:.1f} s; server memory "
            f"{browser['pages_mb_per_tab']:.1f} MB a tab"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

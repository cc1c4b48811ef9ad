"""Server settings for a workshop: no calls home, no CDN, short-lived abandoned sessions.

Solara reads its settings from the environment when it starts. `minerals ui` sets these
before starting it; `solara run viz/app.py` gets the same through `configure()`, which the app
calls when Solara imports it (before any page is served).
"""

from __future__ import annotations

import os
import warnings

# Debian's Chromium as the browser tests and the UI benchmark drive it: headless, and with the
# background services off, since this machine's closed network refuses their connections.
CHROMIUM = os.environ.get("MINERALS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

# A tab closed or asleep keeps its game this long, then the server frees it (Solara's default is
# 24 h: a day of workshops would pile up every abandoned game in memory).
CULL_TIMEOUT = "30m"

ENVIRONMENT = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_KERNEL_CULL_TIMEOUT": CULL_TIMEOUT,
    "SOLARA_THEME_SHOW_BANNER": "False",  # its corner badge would cover the game's buttons
}


def set_environment() -> None:
    """Put the workshop defaults in the environment, leaving any value already set."""
    for key, value in ENVIRONMENT.items():
        os.environ.setdefault(key, value)


# Solara warns, on every page it serves over plain http to a host other than "localhost"
# (127.0.0.1, the workshop machine's address), that its session cookie falls back from
# SameSite=None to SameSite=Lax. None is only for pages embedded in another site's iframe, which
# the game never is; Lax is the right cookie for it, so the warning says nothing to act on.
COOKIE_WARNING = "Cookies with samesite=none require https"


def quiet_warnings() -> None:
    """Silence Solara's warnings that a workshop host cannot act on."""
    warnings.filterwarnings("ignore", message=COOKIE_WARNING, category=UserWarning)


def configure() -> None:
    """Apply the same to a Solara server that is already running (`solara run`)."""
    import solara.checks
    import solara.server.settings as server

    quiet_warnings()

    server.telemetry.mixpanel_enable = False
    server.theme.show_banner = False
    if "SOLARA_KERNEL_CULL_TIMEOUT" not in os.environ:
        server.kernel.cull_timeout = CULL_TIMEOUT
    # In development mode Solara's page loads a check frame from solara.dev once per machine;
    # a workshop room has no internet and the game must not call out.
    solara.checks.should_perform_solara_check = lambda: False

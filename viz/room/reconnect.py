"""Room pages left open come back by themselves after their server is restarted.

A room lives in the rooms file, not in the page, so a page whose server died loses nothing a
reload cannot bring back: its link names the room and the seat or console. Solara's front end
does not do that on its own. When its websocket drops it reconnects on the same kernel id; a
new server process knows no such kernel, makes a blank one, and the page's check of the app
(`app-status`) finds it not started and not recoverable (no state backend), so the page gives
up: in production it shows "Could not restore session. Please refresh the page." and stays
so. If the server stays away past the front end's last reconnect attempt (about two minutes),
the page just stays disconnected.

This element, put on every room page by their layout, handles both: it sets Solara's own
`forceRefresh` for this page, so giving up reloads the page (the same URL, so the same seat or
console), and while the front end has given up reconnecting it asks the server for the page
every few seconds and reloads once the server answers. The single-tab game keeps Solara's
default: its market lives in the page and a reload would silently start a new game.
"""

from __future__ import annotations

import ipyvuetify as v
import solara
import traitlets

SCRIPT = """
<template><span style="display: none"></span></template>
<script>
module.exports = {
    mounted() {
        window.solara.forceRefresh = true;
        this.poll = setInterval(() => {
            const debug = window.solara.debug;
            if (!debug || debug.connectionStatus !== 'disconnected') return;
            fetch(window.location.href, { cache: 'no-store' }).then(
                (response) => { if (response.ok) window.location.reload(); },
                () => {},
            );
        }, 3000);
    },
    beforeUnmount() { clearInterval(this.poll); },
    beforeDestroy() { clearInterval(this.poll); },
};
</script>
"""


class ReloadWhenBack(v.VuetifyTemplate):
    template = traitlets.Unicode(SCRIPT).tag(sync=True)


@solara.component
def Layout(children: list | None = None) -> None:
    """The room pages' layout: the page, and the element that brings it back."""
    with solara.Column(gap="0px"):
        ReloadWhenBack.element()
        solara.Column(children=children or [], gap="0px")

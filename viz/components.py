"""The page's parts. Each takes the tab's `Game` and the reactive values it draws from.

What changes every quarter is drawn by `LiveView` (viz/live.py), outside the render cycle. The
components re-render on two counters: `setup` moves when the game itself is replaced (scenario,
seed, role, reset, replay), `version` when it changes phase or the player acts (a decision, a
shock, a new round, the end).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

import ipyvuetify as v
import ipywidgets
import solara
import traitlets
from mesa.visualization.solara_viz import UserInputs

from market import ScenarioError
from viz.charts import CAPTION, export_png, projector_dashboard
from viz.game import MAX_SEED, ROLES, ROUNDS, Game
from viz.history_panel import HistoryPanel
from viz.levers import ALL_MEMBERS, COMPARE_LEVERS, SHOCKS, Lever, lever, option_help
from viz.live import FEED_STYLE, LiveView, firm_key

# The live charts' drawn width in pixels: shown at this width, their smallest text is 12 px.
CHART_PX = round(projector_dashboard().size[0] * projector_dashboard().dpi)

# A slider's label (which carries its value) on its own line above the slider, and labels that
# wrap rather than end in "…". Under 600 px (a phone) the columns stack into one and the page
# never scrolls sideways; the charts keep their drawn size (every text 12 px or more) and
# scroll sideways in their own box instead of shrinking to a third of that.
CSS = """
.game-levers .v-input--horizontal.v-slider {
    grid-template-areas: "prepend" "control" "messages";
    grid-template-columns: 100%;
    grid-template-rows: auto auto auto;
}
.game-levers .v-slider .v-input__prepend { margin-inline-end: 0; margin-bottom: -6px; }
.game-feed { width: 100%; }
.game-feed .feed-routine { color: #666; }
.game-page .v-card-title { white-space: normal; overflow-wrap: anywhere; }
.compare-result td[align=right] { white-space: nowrap; }
.game-page .v-label, .game-page .v-field-label, .game-page .v-select__selection-text {
    white-space: normal !important; overflow: visible; text-overflow: clip;
}
.game-page .v-input__prepend { min-width: 0 !important; max-width: 100% !important; }
.game-page { max-width: 100vw; overflow-x: hidden; box-sizing: border-box; }
.game-chart-box { width: 100%; overflow-x: auto; }
.game-chart-box img.game-charts { display: block; }
.lever-row { flex-wrap: nowrap; align-items: center; gap: 8px; }
.lever-row > :first-child { flex: 1 1 auto; min-width: 0; }
.lever-number { flex: 0 0 120px; max-width: 120px; }
.lever-help, .lever-option { font-size: 0.85em; color: #444; line-height: 1.35; }
@media (max-width: 600px) {
  .game-page .v-row > .v-col { flex: 0 0 100% !important; max-width: 100% !important; }
  .game-page .v-row { margin: 0 !important; }
  .game-chart-box img.game-charts { width: {chart}px !important; max-width: none; }
  .lever-row { flex-wrap: wrap; }
}
""".replace("{chart}", str(CHART_PX))

# Seconds between quarters while playing.
SPEEDS: dict[str, float] = {"slow": 1.0, "normal": 0.3, "fast": 0.1, "full speed": 0.0}
FRAMES = 12  # pictures a second at most, at full speed

INTRO = (
    "A dominant, state-backed supplier holds about 90 % of refining. It can flood the export "
    "markets below cost to drive allied producers out, then raise prices; or cut its exports. "
    "The allies can answer with price floors, anti-dumping duties, stockpiles, cheap finance and "
    "asset-sale review. One step is one quarter."
)

YOU = {
    "watch": "You watch: the computer plays both sides",
    "coalition": "You play the allied coalition",
    "supplier": "You play the dominant supplier",
}

ROLE_HELP = {
    "watch": "You watch: the computer plays both sides as the scenario has it. Play, pause or "
    "step; afterwards replay with one lever changed (Compare).",
    "coalition": "You are the allied coalition: each round you set price floors and their "
    "budgets, anti-dumping duties, stockpile buying and release, cheap finance and asset "
    "review, for all members or one country. The computer plays the dominant supplier.",
    "supplier": "You are the dominant supplier: each round you choose your strategy (market, "
    "dump, restrict, adaptive), may name your price in each region, and set the export quota "
    "cut. The computer plays the allied governments.",
}


def _bump(counter: solara.Reactive[int]) -> None:
    counter.value = counter.value + 1


def _attempt(error: solara.Reactive[str], action: Callable[[], Any]) -> bool:
    """Run a player's action; a value the game refuses becomes the panel's one-line error
    (nothing changed), and a success clears the last one."""
    error.value = ""
    try:
        action()
    except ScenarioError as err:
        error.value = str(err)
        return False
    return True


def upload_button(on_value: Callable[[Any], None], count: int) -> None:
    """The scenario file upload, a fresh control for each `count` (so the same file can be
    sent again)."""
    ipywidgets.FileUpload.element(
        accept=".toml",
        multiple=False,
        description="Upload scenario (.toml)",
        on_value=on_value,
        layout=ipywidgets.Layout(width="auto"),
    ).key(f"upload-{count}")


@solara.component
def LeverControl(
    lv: Lever, value: Any, on_change: Callable[[str, Any], None], note: str = ""
) -> None:
    """One lever: Mesa's control for it (a slider carries its value in its label), a number
    field beside a slider bound to the same value, and what the lever does in plain words (a
    choice's options each explained). A typed number outside the slider's range is refused with
    one line naming the range; nothing changes."""
    refused = solara.use_reactive("")

    def changed(key: str, shown: Any) -> None:
        refused.value = ""
        on_change(key, shown)

    def typed(number: float | int | None) -> None:
        if number is None:
            return
        problem = lv.check(number, value)
        if problem:  # the field keeps what was typed, to be corrected
            refused.value = problem
            return
        refused.value = ""
        on_change(lv.key, int(number) if lv.kind == "int" else float(number))

    with solara.Column(gap="2px", classes=["game-lever"]):
        if lv.kind in ("float", "int"):
            entry = solara.InputInt if lv.kind == "int" else solara.InputFloat
            with solara.Row(classes=["lever-row"]):
                with solara.Column(classes=["game-levers"]):
                    UserInputs({lv.key: lv.control(value, note)}, on_change=changed)
                entry(
                    lv.unit or "number",
                    value=lv.shown(value),
                    on_value=typed,
                    classes=["lever-number"],
                )
        else:
            with solara.Column(classes=["game-levers"]):
                UserInputs({lv.key: lv.control(value, note)}, on_change=changed)
        if refused.value:
            solara.Error(refused.value, dense=True, classes=["lever-refused"])
        solara.Text(lv.help, classes=["lever-help"])
        for text in option_help(lv):
            solara.Text(text, classes=["lever-option"])


class ScrollTo(v.VuetifyTemplate):
    """Scrolls the page to `target` (a CSS selector) each time `tick` moves: after a round,
    the player's eyes go from the levers to the charts."""

    template = traitlets.Unicode(
        """
<template><span style="display: none"></span></template>
<script>
module.exports = {
  watch: {
    tick() {
      const el = document.querySelector(this.target);
      if (el) el.scrollIntoView({behavior: "smooth", block: "start"});
    }
  }
}
</script>
"""
    ).tag(sync=True)
    tick = traitlets.Int(0).tag(sync=True)
    target = traitlets.Unicode("").tag(sync=True)


@solara.component
def Header(game: Game, setup: solara.Reactive[int], live: LiveView) -> None:
    """What is loaded and where the game stands: readable at a glance."""
    setup.value  # noqa: B018
    solara.Row(
        children=[
            solara.Text(
                "Mineral Markets Game", style={"font-size": "1.6em", "font-weight": "bold"}
            ),
            solara.Text(
                f"Scenario: {game.scenario_name}",
                classes=["game-scenario"],
                style={"font-size": "1.2em"},
            ),
            live.quarter,
            solara.Text(YOU[game.role], classes=["game-you"], style={"font-weight": "bold"}),
            live.flags,
        ],
        style={"align-items": "baseline", "flex-wrap": "wrap", "gap": "12px"},
    )
    solara.Column(children=[live.status])


@solara.component
def Controls(
    game: Game,
    version: solara.Reactive[int],
    playing: solara.Reactive[bool],
    speed: solara.Reactive[str],
    advance: Callable[[], bool],
    on_reset: Callable[[], None],
) -> None:
    """Play, pause, step and reset, as Mesa's ModelController has them, and the speed."""
    version.value  # noqa: B018
    role_game = game.role != "watch" and not game.replay

    def toggle() -> None:
        playing.value = not playing.value

    with solara.Row(style={"flex-wrap": "wrap", "gap": "6px"}):
        if not role_game:
            solara.Button(
                "Pause" if playing.value else "Play",
                icon_name="mdi-pause" if playing.value else "mdi-play",
                color="primary",
                on_click=toggle,
                disabled=not playing.value and not game.can_step(),
            )
            solara.Button(
                "Step",
                icon_name="mdi-skip-next",
                on_click=advance,
                disabled=playing.value or not game.can_step(),
            )
        solara.Button("Reset", icon_name="mdi-restore", on_click=on_reset)
    solara.Select("Speed", value=speed, values=list(SPEEDS), dense=True)
    if role_game:
        solara.Text(
            "No Play button in a role: set your levers in Your move, just below, then press "
            "Play round at its top; the charts show the round as it plays.",
            classes=["controls-help"],
        )


@solara.component
def ScenarioPanel(
    game: Game, setup: solara.Reactive[int], on_change: Callable[[bool], None]
) -> None:
    """Pick a scenario or upload one, and the seed."""
    setup.value  # noqa: B018
    error = solara.use_reactive("")
    uploads = solara.use_reactive(0)
    asked = solara.use_reactive(None)  # a seed waiting for the player's confirmation
    seeds = solara.use_reactive(0)  # a fresh seed field after a cancel
    current = next(
        (key for key, choice in game.choices.items() if choice.source is game.source),
        game.scenario_name,
    )

    def choose(key: str) -> None:
        _attempt(error, lambda: game.choose_scenario(game.choices[key].source))
        on_change(True)

    def uploaded(value: Any) -> None:
        if not value:
            return
        item = value[0]
        _attempt(error, lambda: game.upload(item["name"], bytes(item["content"])))
        _bump(uploads)  # a fresh upload button, so the same file can be sent again
        on_change(True)

    def restart(value: int) -> None:
        asked.value = None
        if _attempt(error, lambda: game.set_seed(value)):
            on_change(True)

    def seed(value: int | None) -> None:
        if value is None or value == game.seed:
            return
        if not 0 <= value <= MAX_SEED:
            error.value = f"seed: expected a whole number from 0 to {MAX_SEED:,}, got {value}"
            _bump(seeds)
            return
        if game.quarter > 0 or game.moves:  # a game under way: ask before losing it
            error.value = ""
            asked.value = value
            return
        restart(value)

    def cancel() -> None:
        asked.value = None
        _bump(seeds)

    solara.Select("Scenario", value=current, values=list(game.choices), on_value=choose)
    solara.Text(game.description, style={"font-size": "0.9em"})
    upload_button(uploaded, uploads.value)
    if error.value:
        solara.Error(error.value, classes=["scenario-error"])
    solara.InputInt("Seed (restarts the game)", value=game.seed, on_value=seed).key(
        f"seed-{seeds.value}"
    )
    if asked.value is not None:
        with solara.Column(gap="4px", classes=["seed-confirm"]):
            solara.Warning(
                f"Restart the game with seed {asked.value}? Progress is lost.", dense=True
            )
            with solara.Row(style={"flex-wrap": "wrap", "gap": "6px"}):
                solara.Button("Confirm", color="primary", on_click=lambda: restart(asked.value))
                solara.Button("Cancel", on_click=cancel)


@solara.component
def RolePanel(
    game: Game,
    setup: solara.Reactive[int],
    version: solara.Reactive[int],
    on_change: Callable[[bool], None],
) -> None:
    """Watch, or take a side; rounds of a quarter or a year, chosen at the start."""
    setup.value  # noqa: B018
    version.value  # noqa: B018 (the round length locks after the first quarter)
    rounds = {v: k for k, v in ROUNDS.items()}

    def role(value: str) -> None:
        game.set_role(value)
        on_change(True)

    def round_length(value: str) -> None:
        game.set_round_quarters(ROUNDS[value])
        on_change(True)

    with solara.Column(gap="4px"):
        for key, label in ROLES.items():
            mine = key == game.role
            solara.Button(
                label,
                on_click=lambda key=key: None if key == game.role else role(key),
                color="primary" if mine else None,
                outlined=not mine,
                classes=["role-choice"],
            )
    if game.role != "watch":
        with solara.ToggleButtonsSingle(
            value=rounds.get(game.round_quarters, "1 quarter"), on_value=round_length, dense=True
        ):
            for label in ROUNDS:
                solara.Button(label, value=label, disabled=game.quarter > 0)
        solara.Text(
            "A round is one quarter or a year of four; choose before the first round.",
            style={"font-size": "0.85em"},
        )
    solara.Text(ROLE_HELP[game.role], style={"font-size": "0.9em"}, classes=["role-help"])


@solara.component
def Charts(live: LiveView) -> None:
    """The live charts (drawn by LiveView) and how to read them; on a phone they keep their
    drawn width and scroll sideways in their own box."""
    solara.Column(children=[live.image], classes=["game-chart-box"])
    solara.Text(CAPTION, style={"font-size": "0.85em", "color": "#555"})


@solara.component
def Feed(live: LiveView, game: Game, setup: solara.Reactive[int]) -> None:
    """The story in plain words, newest first (kept up to date by LiveView), and a key to the
    firms' codes it names."""
    setup.value  # noqa: B018
    solara.Text("What happened", style={"font-weight": "bold"})
    solara.Column(children=[live.feed], style=FEED_STYLE)
    params = game.model.spec.params
    codes = [*params.get("producers", {}), *params.get("recyclers", {})]
    solara.Text(firm_key(codes), classes=["firm-key"], style={"font-size": "0.85em"})


@solara.component
def DecisionPanel(
    game: Game,
    version: solara.Reactive[int],
    playing: solara.Reactive[bool],
    on_change: Callable[[bool], None],
    on_round: Callable[[], None] | None = None,
) -> None:
    """The player's levers for the next round, validated when the round starts; `on_round`
    after a round starts (the page shows the charts)."""
    version.value  # noqa: B018
    scope = solara.use_reactive(ALL_MEMBERS)
    error = solara.use_reactive("")
    levers = game.levers()
    where = scope.value if game.role == "coalition" else ALL_MEMBERS
    if where not in game.members():  # all members, or a country that has since left
        where = ALL_MEMBERS

    def change(key: str, shown: Any) -> None:
        game.set_pending(lever(key, levers), shown, where)
        _bump(version)

    def play_round() -> None:
        if _attempt(error, game.play_round):
            on_change(False)
            playing.value = True
            if on_round is not None:
                on_round()

    first = game.quarter + 1
    last = min(game.quarter + game.round_quarters, game.quarters)
    span = f"Q{first}" if first == last else f"Q{first} to Q{last}"
    title = f"Your move as the {ROLES[game.role].lower()}"
    with solara.Card(title, classes=["decision-panel"]), solara.Column(gap="6px"):
        if game.role == "coalition":
            solara.Select(
                "Apply to", value=scope, values=[ALL_MEMBERS, *game.members()], dense=True
            )
        # The round's button heads the levers, with what it will change: no scrolling past
        # eight controls to find it.
        solara.Button(
            f"Play round ({span})" if not game.finished else "Game over",
            icon_name="mdi-play",
            color="primary",
            on_click=play_round,
            disabled=playing.value or not game.deciding,
            classes=["play-round"],
        )
        if game.pending:
            solara.Text(
                "Changes for the next round: " + game.describe_changes(game.pending),
                classes=["pending-changes"],
            )
        if error.value:
            solara.Error(error.value)
        if game.role == "supplier":
            solara.Text(f"State budget left: {game.model.supplier.budget:,.0f} USD m")
        first = (game.members() or game.countries())[0]
        for lv in levers:
            differ = where == ALL_MEMBERS and game.members_differ(lv)
            LeverControl(
                lv,
                game.lever_value(lv, where),
                change,
                f"{first}'s; members differ" if differ else "",
            ).key(f"{lv.key}-{where}")


@solara.component
def Scoreboard(game: Game, version: solara.Reactive[int]) -> None:
    """At the end: a role's score and verdict, or a watched run's outcome."""
    version.value  # noqa: B018
    if not game.finished:
        return
    score = game.score()
    with solara.Card("Result", classes=["scoreboard"]), solara.Column(gap="6px"):
        if score is None:
            s = game.arrays()
            solara.Text(
                f"{game.scenario_name}, seed {game.seed}: allied producers in business "
                f"at the end {s['allied_producers_active'][-1]:.0f}; dominant share "
                f"{s['dominant_share'][-1]:.0%}; allied fiscal cost {s['fiscal_cost'][-1]:,.0f}"
                f" USD m; supplier's sacrifice {s['dominant_sacrifice'][-1]:,.0f} USD m; "
                f"shortage {s['shortage'].sum():,.0f} t. Replay with one lever changed below."
            )
            return
        solara.Text(
            f"Score {score.points:,.1f} USD bn (the computer, same game: "
            f"{score.reference_points:,.1f})",
            style={"font-size": "1.4em", "font-weight": "bold"},
            classes=["score"],
        )
        solara.Text(score.verdict, classes=["verdict"])
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td align='right'>{value:,.1f}</td>"
            f"<td align='right'>{score.reference_parts[name]:,.1f}</td></tr>"
            for name, value in score.parts.items()
        )
        solara.HTML(
            tag="table",
            unsafe_innerHTML=f"<tr><th></th><th>you</th><th>computer</th></tr>{rows}",
            style="font-size: 0.9em; margin: 6px 0;",
        )
        solara.Text(f"How it is scored: {score.rule}.", style={"font-size": "0.85em"})


# The key indicators a replay is read by: (label, series, how it is read off, format).
OUTCOMES: tuple[tuple[str, str, str, str], ...] = (
    ("allied producers in business at the end", "allied_producers_active", "last", "{:.0f}"),
    ("dominant share at the end", "dominant_share", "last%", "{:.0f} %"),
    ("allied fiscal cost", "fiscal_cost", "last", "{:,.0f} USD m"),
    ("supplier's sacrifice", "dominant_sacrifice", "last", "{:,.0f} USD m"),
    ("shortage", "shortage", "sum", "{:,.0f} t"),
    ("mean allied price", "price_allied", "mean", "{:,.1f} USD/kg"),
)


def outcome(series: dict[str, Any], name: str, how: str, fmt: str) -> str:
    values = series.get(name)
    if values is None or not len(values):
        return "-"
    if how == "sum":
        return fmt.format(float(values.sum()))
    if how == "mean":
        return fmt.format(float(values[values == values].mean()))
    last = float(values[-1])
    return fmt.format(last * 100 if how == "last%" else last)


@solara.component
def CompareResult(game: Game, version: solara.Reactive[int]) -> None:
    """At the end of a replay: both runs side by side, the earlier run → this one."""
    version.value  # noqa: B018
    if game.ghost is None or not game.finished:
        return
    before, after = game.ghost.series, game.arrays()
    played = len(before.get("quarter", ()))
    upto = "" if played >= game.quarters else f" (to Q{played})"
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td align='right'>{outcome(before, *spec)}</td>"
        f"<td>→</td><td align='right'>{outcome(after, *spec)}</td></tr>"
        for label, *spec in OUTCOMES
    )
    change = game.describe_changes(game.overrides, compare=True)
    with solara.Card("Replay against the earlier run", classes=["compare-result"]):
        solara.Text(f"Changed: {change}.", style={"font-weight": "bold"})
        solara.HTML(
            tag="table",
            unsafe_innerHTML=f"<tr><th></th><th>earlier run{upto}</th><th></th>"
            f"<th>this run</th></tr>{rows}",
            style="font-size: 0.9em; margin: 6px 0;",
        )


@solara.component
def ComparePanel(
    game: Game,
    setup: solara.Reactive[int],
    version: solara.Reactive[int],
    on_change: Callable[[bool], None],
    playing: solara.Reactive[bool] | None = None,
) -> None:
    """Replay this game with one lever changed; the run so far stays on the charts, faded."""
    setup.value  # noqa: B018
    chosen = solara.use_reactive(COMPARE_LEVERS[0].key)
    value = solara.use_reactive(None)
    error = solara.use_reactive("")
    selected = lever(chosen.value, COMPARE_LEVERS)
    start_value = game.start_value(selected.key.replace("*", game.countries()[0], 1))
    shown = value.value if value.value is not None else selected.shown(start_value)

    def pick(label: str) -> None:
        chosen.value = next(lv.key for lv in COMPARE_LEVERS if lv.label == label)
        value.value = None

    def replay() -> None:
        if _attempt(error, lambda: game.compare(selected, shown)):
            value.value = None
            on_change(True)

    with (
        solara.Card("Compare: replay with one lever changed", classes=["compare-panel"]),
        solara.Column(gap="6px"),
    ):
        solara.Select(
            "Lever",
            value=selected.label,
            values=[lv.label for lv in COMPARE_LEVERS],
            on_value=pick,
            dense=True,
        )
        LeverControl(selected, selected.model_value(shown), lambda _key, v: value.set(v)).key(
            f"compare-{selected.key}"
        )
        if error.value:
            solara.Error(error.value)
        CompareNotes(game, version, selected)
        WhenStarted(
            version, game, "Replay with this change", "mdi-compare", replay, playing=playing
        )
        solara.Text(
            "Same scenario, seed and moves; the earlier run stays on the charts, faded.",
            style={"font-size": "0.85em"},
        )


@solara.component
def CompareNotes(game: Game, version: solara.Reactive[int], selected: Lever) -> None:
    """Before a replay: that it will change nothing and why, or that the scenario sets the
    lever again later (`Game.compare_notes`). Follows the game's phase: a finished run says
    more than one under way."""
    version.value  # noqa: B018
    for note in game.compare_notes(selected):
        solara.Warning(note, dense=True, classes=["compare-note"])


@solara.component
def WhenStarted(
    version: solara.Reactive[int],
    game: Game,
    label: str,
    icon: str,
    on_click: Callable[[], None],
    until_over: bool = False,
    playing: solara.Reactive[bool] | None = None,
) -> None:
    """A button that is live once the game has started (or until it is over), and, given
    `playing`, not while the game plays: the only part of its panel that must follow every
    quarter."""
    version.value  # noqa: B018
    disabled = game.finished if until_over else game.quarter == 0
    if playing is not None and playing.value:
        disabled = True
    solara.Button(label, icon_name=icon, on_click=on_click, disabled=disabled)


@solara.component
def FacilitatorPanel(
    game: Game,
    setup: solara.Reactive[int],
    version: solara.Reactive[int],
    on_change: Callable[[bool], None],
) -> None:
    """Inject a shock into the running game; export the charts and the run for a debrief."""
    setup.value  # noqa: B018
    shock = solara.use_reactive("export_ban")
    country = solara.use_reactive(game.countries()[0])
    size = solara.use_reactive(SHOCKS["demand_surge"].size_range[2])
    message = solara.use_reactive("")
    spec = SHOCKS[shock.value]
    if country.value not in game.countries():
        country.value = game.countries()[0]

    def pick(label: str) -> None:
        shock.value = next(s.name for s in SHOCKS.values() if s.label == label)
        size.value = SHOCKS[shock.value].size_range[2]

    def inject() -> None:
        try:
            move = game.inject(shock.value, country.value, size.value)
        except ScenarioError as err:
            message.value = f"Not injected: {err}"
            return
        message.value = f"From Q{move.quarter}: {move.text}"
        on_change(False)

    with solara.Card("Facilitator", classes=["facilitator-panel"]), solara.Column(gap="6px"):
        solara.Select(
            "Shock",
            value=spec.label,
            values=[s.label for s in SHOCKS.values()],
            on_value=pick,
            dense=True,
        )
        if spec.per_country:
            solara.Select("Country", value=country, values=game.countries(), dense=True)
        if spec.size_label:
            low, high, _ = spec.size_range
            solara.SliderInt(f"{spec.size_label}, %", value=size, min=low, max=high, step=5)
        WhenStarted(version, game, "Inject shock now", "mdi-flash", inject, until_over=True)
        if message.value:
            solara.Text(message.value, style={"font-size": "0.9em"})
        solara.Text("Debrief exports", style={"font-weight": "bold", "margin-top": "8px"})
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.FileDownload(
                lambda: export_png(game),
                filename=game.export_name("png"),
                label="Charts (PNG)",
                mime_type="image/png",
            )
            solara.FileDownload(
                game.csv, filename=game.export_name("csv"), label="Run (CSV)", mime_type="text/csv"
            )


@solara.component
def GameView(game: Game) -> None:
    """The whole page for one tab's game."""
    version = solara.use_reactive(0)
    setup = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive("normal")
    live = solara.use_memo(LiveView, [])
    loops = solara.use_ref(0)
    rounds = solara.use_reactive(0)  # rounds started: the page scrolls to the charts

    def phase() -> tuple:
        return game.generation, game.quarter == 0, game.finished, game.deciding

    def advance(draw: bool = True) -> bool:
        """One quarter: the live widgets follow (unless `draw` is off); the components only on
        a change of phase."""
        before = phase()
        if not game.step():
            return False
        changed = phase() != before
        if draw or changed:
            live.refresh(game)
        if changed:
            _bump(version)
        return True

    def on_change(replaced: bool) -> None:
        if replaced:
            playing.value = False
            _bump(setup)
        live.refresh(game)
        _bump(version)

    def reset() -> None:
        game.reset()
        on_change(True)

    def loop() -> None:
        """Play quarters until paused, the round or the game ends, or the game is replaced."""
        if not playing.value:
            return
        loops.current += 1  # a quick Pause and Play starts a new loop: the old one stops
        mine, generation = loops.current, game.generation
        drawn = 0.0
        while playing.value and game.generation == generation and loops.current == mine:
            started = time.perf_counter()
            delay = SPEEDS.get(speed.value, 0.0)
            # At full speed the market may outrun the screen: draw at most FRAMES a second,
            # so a busy server spends its time on the games, not on pictures nobody sees.
            draw = delay > 0 or started - drawn >= 1 / FRAMES
            if not advance(draw):
                break
            if draw:
                drawn = started
            rest = delay - (time.perf_counter() - started)
            if rest > 0:
                time.sleep(rest)
        live.refresh(game)  # the last quarter played is always shown
        if game.generation == generation and loops.current == mine:
            playing.value = False

    solara.lab.use_task(loop, dependencies=[playing.value], prefer_threaded=True)
    setup.value  # noqa: B018 (the layout changes with the role)
    version.value  # noqa: B018 (and with the phase: the decision panel comes and goes)
    live.refresh(game)  # cheap when nothing changed

    solara.Style(CSS)
    # The charts span the page, so on a projector (1280x720) they are drawn and shown at the
    # same width and their smallest text is 12 px; the panels sit in three columns under
    # them, a role's levers first, and stack into one on a phone.
    with solara.Column(style={"padding": "12px", "gap": "8px"}, classes=["game-page"]):
        Header(game, setup, live)
        solara.Text(INTRO, style={"font-size": "0.95em"})
        Charts(live)
        HistoryPanel(game, setup)
        ScrollTo.element(tick=rounds.value, target="img.game-charts")
        with solara.Columns([1, 1, 1], gutters_dense=True):
            with solara.Column(gap="10px"):
                with solara.Card("Play", classes=["controls"]), solara.Column(gap="6px"):
                    Controls(game, version, playing, speed, advance, reset)
                if game.role != "watch" and not game.replay:
                    DecisionPanel(game, version, playing, on_change, lambda: _bump(rounds))
                with solara.Card("Scenario"), solara.Column(gap="6px"):
                    ScenarioPanel(game, setup, on_change)
                with solara.Card("Role"), solara.Column(gap="6px"):
                    RolePanel(game, setup, version, on_change)
            with solara.Column(gap="10px"):
                Feed(live, game, setup)
                Scoreboard(game, version)
                CompareResult(game, version)
            with solara.Column(gap="10px"):
                ComparePanel(game, setup, version, on_change, playing)
                FacilitatorPanel(game, setup, version, on_change)

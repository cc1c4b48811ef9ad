"""The browser game without a browser: its rules (viz.game), its charts (viz.charts) and its page
rendered with solara.render, clicking the widgets as a player would."""

from __future__ import annotations

import datetime
import io
import time

import ipyvuetify as v
import ipywidgets
import numpy as np
import pandas as pd
import pytest
import solara
from PIL import Image

from market import INDICATORS, MineralMarket, ScenarioError, lever_map
from market.feed import entry
from market.play import play
from market.schema import field_for
from viz.charts import TRACES, Dashboard, export_png, fast_png
from viz.components import GameView
from viz.game import Economy, Game, Score, consumer_surplus, parse_upload
from viz.levers import (
    COALITION_LEVERS,
    COMPARE_LEVERS,
    ROLE_LEVERS,
    SHOCKS,
    SUPPLIER_LEVERS,
    lever,
)
from viz.live import feed_html

BAD_TOML = b'name = "broken"\npreset = "ndpr"\n\n[supplier]\nbudget = -5\n'


# --- helpers ------------------------------------------------------------------------------------


def buttons(rc, label: str) -> list[v.Btn]:
    """The buttons whose text is `label` (icons sit beside the text)."""
    return [w for w in rc.find(v.Btn).widgets if label in w.children]


def button(rc, label: str) -> v.Btn:
    found = buttons(rc, label)
    assert len(found) == 1, f"{len(found)} buttons labelled {label!r}"
    return found[0]


def toggle(rc, label: str) -> None:
    """Pick the option `label` of a row of toggle buttons."""
    for row in rc.find(v.BtnToggle).widgets:
        for choice in row.children:
            if label in choice.children:
                row.v_model = choice.value  # Vuetify 3 groups buttons by their values
                return
    raise AssertionError(f"no toggle button {label!r}")


def type_into(field: v.TextField, text: str) -> None:
    """Type into a text field and press enter."""
    field.v_model = text
    field.fire_event("keyup.enter", None)


def select(rc, label: str) -> v.Select:
    found = [w for w in rc.find(v.Select).widgets if w.label == label]
    assert len(found) == 1, f"{len(found)} selects labelled {label!r}"
    return found[0]


def text_of(widget) -> str:
    return widget.value if isinstance(widget, ipywidgets.HTML) else " ".join(widget.children)


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def play_out(game: Game) -> Game:
    while game.step():
        pass
    return game


# --- serving ------------------------------------------------------------------------------------


def test_minerals_ui_serves_this_machine_only_unless_told():
    import argparse

    from experiments.cli import ui

    parser = argparse.ArgumentParser()
    ui.add_arguments(parser)
    defaults = {"rooms": None, "allow_host": [], "no_open": False}
    assert vars(parser.parse_args([])) == {"host": "127.0.0.1", "port": 8765, **defaults}
    assert vars(parser.parse_args(["--host", "0.0.0.0", "--port", "9000"])) == {
        "host": "0.0.0.0",
        "port": 9000,
        **defaults,
    }


def test_the_front_end_files_the_page_loads_are_on_this_machine():
    from viz.assets import missing, needed

    packages = dict(needed())
    assert {"requirejs", "font-awesome"} <= set(packages)
    assert any(p.startswith("@widgetti/solara-vuetify") for p in packages)
    assert missing() == [], "run `make assets` (python -m viz.assets) to fetch them"


# --- levers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lv", [*COMPARE_LEVERS, *(x for ls in ROLE_LEVERS.values() for x in ls)])
def test_every_lever_is_a_schema_key_and_its_control_stays_in_range(lv):
    spec = field_for(lv.key.replace("*", "US"))
    assert spec is not None, lv.key
    if lv.kind in ("float", "int"):
        assert spec.low <= lv.model_value(lv.low) <= lv.model_value(lv.high) <= spec.high
        control = lv.control(lv.model_value(lv.high) * 10)  # a value beyond the game's range
        assert control["max"] >= control["value"]  # widens rather than lies
    if lv.kind == "choice":
        assert set(lv.choices) == set(spec.choices)


@pytest.mark.parametrize("lv", [*COALITION_LEVERS, *SUPPLIER_LEVERS, *COMPARE_LEVERS])
def test_every_lever_reaches_an_attribute_the_lever_map_can_set_and_read(lv):
    key = lv.key.replace("*", "AU")
    assert lever_map.settable(key), key
    model = MineralMarket("coordinated-response", rng=1)
    value = lever_map.read(model, key)
    assert value == model.spec.get(key)  # at quarter 0 the market runs on the scenario
    lv.control(value)  # and the control can show it


def test_a_player_owns_the_keys_of_the_holders_their_side_commands():
    game = Game("dumping", seed=1)
    assert game.player_keys() == ()
    game.set_role("coalition")
    assert set(game.player_keys()) == {"governments.", "alliance."}
    game.set_role("supplier")
    assert game.player_keys() == ("supplier.",)


# --- the game's rules ---------------------------------------------------------------------------


def test_watching_a_scenario_gives_exactly_the_models_run():
    game = play_out(Game("dumping", seed=3))
    model = play("dumping", seed=3).model
    pd.testing.assert_frame_equal(game.model.timeseries(), model.timeseries())
    assert game.feed() == model.feed
    assert game.score() is None  # watching is not scored


def test_the_supplier_player_makes_the_scenarios_supplier_moves_and_nothing_else():
    game = Game("alliance-fracture", seed=1)
    game.set_role("supplier")
    events = game.model.spec.events
    assert all(not k.startswith("supplier.") for e in events for k in e.changes)
    assert [e.quarter for e in events] == [14]  # Thailand's budget cut stays: the computer's side
    (intro,) = [e for e in game.feed() if e.kind == "role"]
    assert intro.quarter == 0 and intro.data == {"role": "supplier"}
    assert "Q5 dominant supplier starts selling" in intro.text  # the move it now owns


def test_a_supplier_player_decides_when_its_price_war_ends():
    """The computer's supplier stops a war that cannot pay; a player's war runs until the
    player stops it."""
    game = Game("coordinated-response", seed=1)
    game.set_role("supplier")
    assert game.model.supplier.campaign_review is False
    game.decide({"supplier.strategy": "dump"})
    while game.quarter < 12:
        game.play_round()
        game.step()
    assert game.model.supplier.mode == "dump"
    assert not [e for e in game.feed() if e.kind == "campaign_end"]
    computer = Game("coordinated-response", seed=1)
    while computer.step():
        pass
    assert any(e.kind == "campaign_end" for e in computer.feed())


def test_the_coalition_player_starts_from_the_status_quo_with_its_levers_in_force():
    game = Game("coordinated-response", seed=1)
    game.set_role("coalition")
    params = game.model.spec.params
    assert params["alliance"]["response"] == "standing"
    assert params["governments"]["US"]["floor_price"] == 0.0  # the ndpr preset's status quo
    assert params["governments"]["JP"]["stockpile_days"] == 42.0
    # The supplier's attack is the computer's and stays in the timeline.
    assert [(e.quarter, e.changes) for e in game.model.spec.events] == [
        (5, {"supplier.strategy": "dump"})
    ]


def test_rounds_pause_for_the_players_decisions():
    game = Game("dumping", seed=1)
    game.set_role("coalition", round_quarters=4)
    assert game.deciding and not game.step()  # nothing happens before the first decision
    game.play_round()
    assert [game.step() for _ in range(5)] == [True, True, True, True, False]
    assert game.quarter == 4 and game.deciding


def test_a_decision_is_validated_whole_applied_from_the_next_quarter_and_told_in_the_feed():
    game = Game("dumping", seed=1)
    game.set_role("coalition")
    with pytest.raises(ScenarioError, match=r"governments\.US\.duty: expected a number from 0"):
        game.decide({"governments.US.floor_price": 110.0, "governments.US.duty": -1.0})
    assert game.model.governments["US"].floor_price == 0.0  # nothing half-applied
    floor = lever("governments.*.floor_price", ROLE_LEVERS["coalition"])
    budget = lever("governments.*.floor_budget", ROLE_LEVERS["coalition"])
    game.set_pending(floor, 110, "US")
    game.set_pending(budget, 1500, "US")
    game.play_round()
    assert game.model.governments["US"].floor_support() == 110.0
    told = game.feed()[-1]
    assert (told.quarter, told.kind, told.who) == (1, "decision", "you")
    assert told.data["changes"] == {
        "governments.US.floor_price": 110.0,
        "governments.US.floor_budget": 1500.0,
    }
    assert told.text == (
        "you (allied coalition): US: price floor 110 USD/kg; US: floor budget left 1,500 USD m"
    )
    game.step()
    assert game.arrays()["floor_in_force"][-1] == 110.0


def test_all_members_sets_every_country_and_a_choice_reads_plainly():
    game = Game("dumping", seed=1)
    game.set_role("coalition")
    duty = lever("governments.*.duty", ROLE_LEVERS["coalition"])
    game.set_pending(duty, 93.5)  # shown as a percentage
    assert game.describe_changes(game.pending) == "all members: anti-dumping duty 93.5 %"
    game.play_round()
    assert {g.duty for g in game.model.governments.values()} == {0.935}

    game.set_role("supplier")
    game.set_pending(lever("supplier.strategy", SUPPLIER_LEVERS), "restrict")
    assert game.describe_changes(game.pending) == "strategy: restrict"


@pytest.mark.parametrize("name", list(SHOCKS))
def test_each_shock_changes_the_market_from_the_next_quarter_and_is_told(name):
    game = Game("coordinated-response", seed=2)
    for _ in range(3):
        game.step()
    move = game.inject(name, "US", 50)
    assert move.quarter == 4
    told = game.feed()[-1]
    assert (told.quarter, told.kind, told.who) == (4, "shock", "facilitator")
    assert told.data["changes"] == move.changes
    assert told.text == f"facilitator's shock: {move.text}"
    m = game.model
    if name == "export_ban":
        game.step()
        assert m.supplier.sold["allied"] == 0.0
    elif name == "demand_surge":
        assert m.spec.get("demand.allied") == pytest.approx(20000 * 1.04**0.5 * 1.5, rel=0.01)
    elif name == "budget_cut":
        assert m.governments["US"].floor_budget == pytest.approx(750.0)
    else:
        assert not m.governments["US"].member and m.governments["US"].floor_price == 0.0


def test_a_country_that_leaves_no_longer_follows_the_coalition_player():
    game = Game("dumping", seed=1)
    game.set_role("coalition")
    game.inject("member_leaves", "TH")
    assert "TH" not in game.members()
    game.set_pending(lever("governments.*.duty", ROLE_LEVERS["coalition"]), 50)
    assert "governments.TH.duty" not in game.pending
    assert game.describe_changes(game.pending) == "all members: anti-dumping duty 50 %"


def test_a_shock_after_the_end_is_refused_plainly():
    game = play_out(Game("baseline", seed=1))
    with pytest.raises(ScenarioError, match="the game is over"):
        game.inject("export_ban")


def test_compare_replays_the_same_moves_with_one_lever_changed_beside_the_earlier_run():
    game = Game("dumping", seed=5)
    for _ in range(3):
        game.step()
    game.inject("export_ban")
    play_out(game)
    earlier = game.model.timeseries()
    floor = lever("governments.US.floor_price", COMPARE_LEVERS)
    game.compare(lever("alliance.response", COMPARE_LEVERS), "standing")
    game.compare(floor, 110)  # a second change: the first one is kept
    play_out(game)
    assert game.ghost is not None and game.ghost.label.startswith("earlier run (US price floor 0")
    changed = {"alliance.response": "standing", "governments.US.floor_price": 110.0}
    (note,) = [e for e in game.feed() if e.kind == "compare"]
    assert note.quarter == 0 and note.data["changes"] == changed
    assert note.text == (
        "changed from the scenario: alliance response: standing; US price floor 110 USD/kg"
    )
    ban = {"supplier.strategy": "restrict", "supplier.quota_cut": 1.0}
    assert [(e.quarter, e.data["changes"]) for e in game.feed() if e.kind == "shock"] == [(4, ban)]

    fresh = play("dumping", seed=5, overrides=changed, moves={4: [ban]}).model
    pd.testing.assert_frame_equal(game.model.timeseries(), fresh.timeseries())
    assert not game.model.timeseries().equals(earlier)


def test_compare_refuses_a_bad_value_and_keeps_the_game():
    game = Game("dumping", seed=1)
    game.step()
    budget = lever("supplier.budget", COMPARE_LEVERS)
    with pytest.raises(ScenarioError, match=r"supplier\.budget"):
        game.compare(budget, -10)
    assert game.quarter == 1 and game.ghost is None


def test_compare_says_before_a_replay_that_it_will_change_nothing_and_why():
    """In `dumping` the allies' response is off: a floor or a duty replayed changes nothing,
    and the game says so first (the reason comes from market.inert), until the response is on."""
    game = Game("dumping", seed=1)
    off = "This replay will change nothing: the allies' response is off in this scenario"
    for key in ("governments.US.floor_price", "governments.*.duty"):
        (note,) = game.compare_notes(lever(key, COMPARE_LEVERS))
        assert note.startswith(off) and "(alliance.response = none)" in note
    assert game.compare_notes(lever("alliance.response", COMPARE_LEVERS)) == []
    game.step()
    game.compare(lever("alliance.response", COMPARE_LEVERS), "standing")
    assert game.compare_notes(lever("governments.*.duty", COMPARE_LEVERS)) == []
    (note,) = game.compare_notes(lever("governments.US.floor_price", COMPARE_LEVERS))
    assert "US: no floor budget (floor_budget = 0)" in note  # standing, but nothing to pay with


def test_compare_says_when_the_scenario_or_a_replayed_move_sets_the_lever_again():
    game = Game("dumping", seed=1)
    strategy = lever("supplier.strategy", COMPARE_LEVERS)
    (note,) = game.compare_notes(strategy)
    assert note.startswith("The scenario's event at Q5 sets it again (dominant supplier starts")
    for _ in range(2):
        game.step()
    game.inject("export_ban")  # sets the strategy from Q3
    assert any("the facilitator's shock at Q3 again" in n for n in game.compare_notes(strategy))


def test_compare_reads_what_the_finished_run_showed():
    """No plant closes in the calm baseline: asset review has nothing to block, which only
    the finished run can tell."""
    game = Game("baseline", seed=1)
    review = lever("governments.*.asset_review", COMPARE_LEVERS)
    assert game.compare_notes(review) == []
    play_out(game)
    (note,) = game.compare_notes(review)
    assert "no allied plant closes or fails" in note
    game.compare(review, True)
    play_out(game)
    assert game.model.timeseries().equals(play("baseline", seed=1).model.timeseries())


def test_the_coalition_is_scored_on_the_allies_welfare_in_money():
    game = Game("dumping", seed=1)
    game.set_role("coalition", round_quarters=4)
    floor = lever("governments.*.floor_price", ROLE_LEVERS["coalition"])
    budget = lever("governments.*.floor_budget", ROLE_LEVERS["coalition"])
    game.set_pending(floor, 75)
    game.set_pending(budget, 400)
    while not game.finished:
        game.play_round()
        play_out(game)
    score = game.score()
    assert list(score.parts) == [
        "allied consumers' surplus, USD m",
        "allied producers' profit, USD m",
        "governments' net spending, USD m",
        "unmet demand at the price cap, USD m",
        "left at the end, USD m",
    ]
    # The computer's coalition in "dumping" does nothing: it spends nothing; the floor costs
    # public money and earns the allied producers more.
    assert score.reference_parts["governments' net spending, USD m"] == 0
    assert score.parts["governments' net spending, USD m"] < 0
    assert (
        score.parts["allied producers' profit, USD m"]
        > score.reference_parts["allied producers' profit, USD m"]
    )
    assert score.points == pytest.approx(sum(score.parts.values()) / 1000)
    assert "computer" in score.verdict and score.verdict.endswith(".")


def test_consumer_surplus_is_the_area_under_the_demand_curve_up_to_the_cap():
    economy = Economy(elasticity=-0.5, price_cap=400.0)
    # D(p) = 100 t * (p / 100) ** -0.5; the area from 100 to 400 USD/kg, in USD m
    exact = 100 * 100**0.5 * (400**0.5 - 100**0.5) / 0.5 / 1000
    surplus = consumer_surplus(
        np.array([100.0, 0.0, 100.0]), np.array([100.0, 100.0, 400.0]), economy
    )
    assert surplus == pytest.approx([exact, 0.0, 0.0])
    assert exact == pytest.approx(20.0)  # 1,000 t x 2 (sqrt 400 - sqrt 100) USD/kg


def _played(scenario: str, role: str, plan: dict[int, dict[str, float | str]]) -> Score:
    """A role played a year a round, `plan` the levers set before each round."""
    levers = {lv.key: lv for lv in ROLE_LEVERS[role]}
    game = Game(scenario, seed=1)
    game.set_role(role, round_quarters=4)
    round_no = 0
    while not game.finished:
        for key, value in plan.get(round_no, {}).items():
            game.set_pending(levers[key], value)
        game.play_round()
        play_out(game)
        round_no += 1
    return game.score()


def test_a_better_played_game_scores_higher_for_each_role():
    # The supplier: an adaptive campaign against ten years of export restriction, which buys a
    # few years of high prices with substitution away from the mineral and allied entry.
    good = _played("dumping", "supplier", {0: {"supplier.strategy": "adaptive"}})
    poor = _played(
        "dumping", "supplier", {0: {"supplier.strategy": "restrict", "supplier.quota_cut": 30}}
    )
    assert good.points - poor.points > 10  # USD bn
    assert good.verdict.startswith("Better") and poor.verdict.startswith("Worse")
    # Very different games no longer score alike: dumping at 10 USD/kg, a 60 % export cut,
    # then adaptive play, against the computer's campaign.
    mixed = _played(
        "dumping",
        "supplier",
        {
            0: {"supplier.strategy": "dump", "supplier.price_allied": 10},
            3: {"supplier.strategy": "restrict", "supplier.price_allied": 0},
            4: {"supplier.quota_cut": 60},
            6: {"supplier.strategy": "adaptive"},
        },
    )
    assert abs(mixed.points - mixed.reference_points) > 2
    # The coalition before a total export ban: stocks built for it against a 100 % duty
    # that taxes its own buyers.
    stocked = {"governments.*.stockpile_days": 180, "governments.*.stockpile_budget": 3000}
    good = _played("export-ban", "coalition", {0: stocked})
    poor = _played("export-ban", "coalition", {0: {"governments.*.duty": 100}})
    assert good.points - poor.points > 2
    assert good.verdict.startswith("Better")
    taxed = _played("baseline", "coalition", {0: {"governments.*.duty": 100}})
    assert taxed.verdict.startswith("Worse")  # with no dumping a duty only costs the allies


def test_the_computer_a_player_is_scored_against_faces_the_same_shocks():
    def played(shock: bool) -> dict:
        game = Game("baseline", seed=4)
        game.set_role("coalition", round_quarters=4)
        if shock:
            game.inject("export_ban")
        while not game.finished:
            game.play_round()
            play_out(game)
        return game.score().reference_parts

    calm, banned = played(False), played(True)
    assert (
        calm["allied consumers' surplus, USD m"] > banned["allied consumers' surplus, USD m"]
    )  # with the supplier's exports banned, allied buyers pay more


def test_the_supplier_is_scored_on_its_profit_and_the_position_it_ends_in():
    game = Game("dumping", seed=1)
    game.set_role("supplier", round_quarters=4)
    while not game.finished:  # plays market all game: never dumps
        game.play_round()
        play_out(game)
    score = game.score()
    assert list(score.parts) == ["profit, USD m", "position at the end, USD m"]
    assert "0 USD m given up to price wars" in score.verdict  # the player's game
    assert score.points == pytest.approx(sum(score.parts.values()) / 1000)
    s = game.arrays()
    undiscounted = s["dominant_profit"].sum()
    assert 0 < score.parts["profit, USD m"] < undiscounted  # later profit counts for less


def test_an_uploaded_scenario_is_checked_by_the_one_loader_with_a_one_line_error():
    with pytest.raises(ScenarioError) as err:
        parse_upload("bad.toml", BAD_TOML)
    assert (
        str(err.value) == "bad.toml: supplier.budget: expected a number from 0 to 1e+06 "
        "(USD m), got -5.0"
    )
    with pytest.raises(ScenarioError, match=r"^x\.toml: malformed TOML: .*line 1"):
        parse_upload("x.toml", b"name = = 1")
    with pytest.raises(ScenarioError, match="not a text file"):
        parse_upload("x.toml", b"\xff\xfe\x00")
    good = b'name = "mine"\npreset = "ndpr"\nquarters = 12\n[supplier]\nbudget = 100.0\n'
    game = Game()
    assert game.upload("mine.toml", good) == "mine"
    assert game.scenario_name == "mine" and game.quarters == 12
    assert "uploaded: mine" in game.choices


def test_the_run_exports_as_csv_with_the_contract_columns_and_the_story():
    game = Game("dumping", seed=1)
    for _ in range(8):
        game.step()
    frame = pd.read_csv(io.BytesIO(game.csv()))
    assert list(frame.columns[: 1 + len(INDICATORS)]) == ["quarter", *INDICATORS]
    assert {"allied_cash_cost", "floor_in_force", "allied_supply_share", "events"} <= set(frame)
    assert len(frame) == 8
    (flagged,) = [e for e in game.feed() if e.kind == "dumping_flagged"]
    assert flagged.quarter == 6
    assert flagged.text in frame.loc[frame.quarter == 6, "events"].item()
    assert (frame.floor_in_force == game.arrays()["floor_in_force"]).all()
    assert game.export_name("csv") == "dumping-seed1.csv"


def test_the_feed_lists_the_newest_quarter_first_and_a_bankruptcy_above_an_investment():
    invest = entry(
        7,
        "investment",
        "AU-2",
        capacity=5000,
        expected_price=80,
        incentive_price=75,
        ready_quarter=30,
    )
    bankrupt = entry(
        7,
        "bankruptcy",
        "US-1 <&>",
        firm_kind="producer",
        capacity=3000,
        sale="blocked",
        reviewer="US",
    )
    older = entry(6, "shock", "facilitator", "facilitator's shock: export ban")
    shown = feed_html([older, invest, bankrupt])  # in the order they happened
    lines = shown.split("</div>")
    assert lines[0].startswith("<div><b>Q7</b> — US-1 &lt;&amp;&gt; (producer) bankrupt")
    assert lines[1].startswith('<div class="feed-routine"><b>Q7</b> — AU-2 invests in 5,000 t/yr')
    assert lines[2] == "<div><b>Q6</b> — facilitator's shock: export ban"
    assert feed_html([]) == "<i>Nothing yet: press Play.</i>"


def test_a_shock_heads_its_quarter_in_the_feed_above_what_the_scenario_had_planned():
    game = Game("dumping", seed=1)
    for _ in range(4):
        game.step()
    game.inject("export_ban")  # from Q5, the quarter the scenario's supplier starts dumping
    feed = game.feed()
    planned, shock = (next(e for e in feed if e.kind == k) for k in ("scenario", "shock"))
    assert planned.quarter == shock.quarter == 5
    assert feed.index(planned) < feed.index(shock)  # the plan was written first
    shown = feed_html(feed)
    assert shown.index(shock.text) < shown.index(planned.text)


# --- charts -------------------------------------------------------------------------------------


FLOOR = next(t for t in TRACES if t.series == "floor_in_force")


@pytest.mark.parametrize(("response", "drawn"), [("none", 0.0), ("standing", 110.0)])
def test_the_charts_draw_the_floor_in_force_not_the_floor_configured(response, drawn):
    game = Game("dumping", seed=1)
    game.overrides = {
        "governments.US.floor_price": 110.0,
        "governments.US.floor_budget": 100_000.0,
        "alliance.response": response,
    }
    game.start()
    play_out(game)
    floor = game.arrays()["floor_in_force"]
    assert len(floor) == 40 and (floor == drawn).all()
    for board in (Dashboard(), Dashboard(live=False)):  # the live charts and the export
        board.build(game)
        board._update(game.arrays(), game.quarter)
        y = board.lines[FLOOR].get_ydata()
        if drawn:
            assert (y == drawn).all()
        else:
            assert np.isnan(y).all()  # no floor line at all
    csv = pd.read_csv(io.BytesIO(game.csv()))
    assert (csv.floor_in_force == drawn).all()


def test_charts_draw_the_history_once_and_then_only_each_new_quarter():
    game = Game("dumping", seed=1)
    board = Dashboard()
    frames = []
    for _ in range(40):
        game.step()
        frames.append(board.png(game))
    assert board.full_draws == 1  # the limits' headroom: no axis had to grow
    assert len(set(frames)) == 40  # every quarter shows
    assert board.png(game) is frames[-1]  # nothing new: nothing drawn
    image = Image.open(io.BytesIO(frames[-1]))
    assert image.size == (900, 460) and image.mode == "RGB"


@pytest.mark.parametrize("scenario", ["dumping", "export-restriction", "coordinated-response"])
def test_no_line_runs_under_a_legend(scenario):
    """A legend box is opaque: a price spike drawn under it would vanish from the chart."""
    game = Game(scenario, seed=1)
    board = Dashboard()
    for _ in range(game.quarters):
        game.step()
        board.png(game)
    renderer = board.canvas.get_renderer()
    for trace, line in board.lines.items():
        name = "capacity" if trace.panel == "producers" else trace.panel
        legend = board.legends.get(name)
        y = line.get_ydata()
        if legend is None or not np.isfinite(y).any():
            continue
        points = line.get_transform().transform(np.column_stack([line.get_xdata(), y]))
        points = points[np.isfinite(points[:, 1])]
        box = legend.get_window_extent(renderer)
        under = (points[:, 0] >= box.x0) & (points[:, 0] <= box.x1) & (points[:, 1] >= box.y0)
        assert not under.any(), f"{trace.label} runs under the {name} legend"


def test_the_quick_png_holds_exactly_the_canvas_pixels():
    rgba = np.random.default_rng(1).integers(0, 255, (7, 5, 4), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(fast_png(rgba))))
    assert (decoded == rgba[:, :, :3]).all()


def test_a_replay_draws_the_earlier_run_faded_and_exports_at_print_resolution():
    game = Game("dumping", seed=1)
    play_out(game)
    game.compare(lever("governments.US.floor_price", COMPARE_LEVERS), 110)
    board = Dashboard()
    board.png(game)
    faded = [line for line in board.axes["price"].lines if line.get_alpha() == 0.3]
    on_price = [t for t in TRACES if t.panel == "price"]
    assert len(faded) == len(on_price) and len(faded[0].get_xdata()) == 40
    png = export_png(game)
    assert Image.open(io.BytesIO(png)).size == (1875, 960)


# --- the page, rendered without a browser -------------------------------------------------------


@pytest.fixture
def game_page():
    """A rendered game page and its game."""
    game = Game()
    _, rc = solara.render(GameView(game), handle_error=False)
    yield game, rc
    game.generation += 1  # stops a play loop still running
    rc.close()


def test_the_page_says_what_is_loaded_what_the_player_controls_and_how_to_read_the_charts(
    game_page,
):
    _, rc = game_page
    texts = " ".join(" ".join(map(str, w.children)) for w in rc.find(v.Html).widgets)
    assert "Scenario: dumping" in texts
    assert "The dominant supplier floods the export markets from Q5" in texts
    assert "You watch: the computer plays both sides" in texts
    assert "Red: quarters the allies flag dumping" in texts
    assert text_of(rc.find(v.Html, class_="game-quarter").widget) == "Quarter 0 of 40"


def test_stepping_updates_the_charts_quarter_and_feed_in_place(game_page):
    game, rc = game_page
    image = rc.find(ipywidgets.Image).widget
    first = image.value
    for _ in range(6):
        button(rc, "Step").click()
    assert game.quarter == 6
    assert image.value != first
    assert text_of(rc.find(v.Html, class_="game-quarter").widget) == "Quarter 6 of 40"
    (flagged,) = [e for e in game.feed() if e.kind == "dumping_flagged"]
    assert flagged.text in text_of(rc.find(ipywidgets.HTML).widget)
    assert "DUMPING FLAGGED" in text_of(rc.find(v.Html, class_="game-flags").widget)


def test_play_runs_the_game_to_the_end_and_shows_the_result(game_page):
    game, rc = game_page
    select(rc, "Speed").v_model = "full speed"
    button(rc, "Play").click()
    wait_until(lambda: game.finished and [b.disabled for b in buttons(rc, "Play")] == [True])
    assert text_of(rc.find(v.Html, class_="game-flags").widget) == "GAME OVER"
    texts = " ".join(str(c) for w in rc.find(v.Html).widgets for c in w.children)
    left = play("dumping", 1).series("allied_producers_active")[-1]  # the same run, headless
    assert f"dumping, seed 1: allied producers in business at the end {left}" in texts


def test_pause_stops_the_game_and_play_resumes_it(game_page):
    game, rc = game_page
    select(rc, "Speed").v_model = "fast"
    button(rc, "Play").click()
    wait_until(lambda: game.quarter >= 2)
    button(rc, "Pause").click()
    stopped = game.quarter
    time.sleep(0.5)
    assert game.quarter <= stopped + 1  # a quarter under way may finish
    stopped = game.quarter
    time.sleep(0.5)
    assert game.quarter == stopped
    button(rc, "Play").click()
    wait_until(lambda: game.quarter > stopped)
    button(rc, "Pause").click()


def test_the_seed_is_an_integer_control_and_reset_keeps_it(game_page):
    game, rc = game_page
    type_into(rc.find(v.TextField, label="Seed (restarts the game)").widget, "7")
    assert game.seed == 7 and game.quarter == 0
    button(rc, "Step").click()
    button(rc, "Reset").click()
    assert game.seed == 7 and game.quarter == 0
    assert pd.read_csv(io.BytesIO(game.csv())).empty  # an export before the first quarter
    type_into(rc.find(v.TextField, label="Seed (restarts the game)").widget, "-3")
    assert "seed: expected a whole number from 0 to 9,223,372,036,854,775,807, got -3" in " ".join(
        map(str, rc.find(v.Alert).widget.children)
    )
    assert game.seed == 7


def test_picking_a_scenario_starts_it_fresh(game_page):
    game, rc = game_page
    button(rc, "Step").click()
    select(rc, "Scenario").v_model = "export-restriction"
    assert game.scenario_name == "export-restriction" and game.quarter == 0


def test_a_bad_upload_shows_the_field_and_what_is_allowed_never_a_traceback(game_page):
    game, rc = game_page
    upload = rc.find(ipywidgets.FileUpload).widget
    upload.value = (
        {
            "name": "bad.toml",
            "type": "",
            "size": len(BAD_TOML),
            "content": memoryview(BAD_TOML),
            "last_modified": datetime.datetime.now(datetime.UTC),
        },
    )
    alert = rc.find(v.Alert).widget
    message = " ".join(map(str, alert.children))
    assert (
        "bad.toml: supplier.budget: expected a number from 0 to 1e+06 (USD m), got -5.0" in message
    )
    assert "Traceback" not in message
    assert game.scenario_name == "dumping"  # unchanged


def test_taking_a_role_and_deciding_shows_the_decision_in_the_feed(game_page):
    game, rc = game_page
    button(rc, "Dominant supplier").click()
    assert game.role == "supplier"
    select(rc, "Strategy").v_model = "dump"
    button(rc, "Play round (Q1)").click()
    wait_until(
        lambda: (
            "Play round (Q2)"
            in " ".join(str(c) for w in rc.find(v.Btn).widgets for c in w.children)
        )
    )
    (told,) = [e for e in game.feed() if e.kind == "decision"]
    assert (told.quarter, told.data["changes"]) == (1, {"supplier.strategy": "dump"})
    assert f"Q1</b> — {told.text}" in text_of(rc.find(ipywidgets.HTML).widget)
    assert game.model.supplier.strategy == "dump"


def test_the_coalition_plays_yearly_rounds_chosen_at_the_start(game_page):
    game, rc = game_page
    button(rc, "Allied coalition").click()
    toggle(rc, "1 year")
    assert game.role == "coalition" and game.round_quarters == 4
    rc.find(v.Checkbox, label="Asset review: block sales of bankrupt plants").widget.v_model = True
    select(rc, "Apply to").v_model = "US"
    rc.find(v.Slider, label="Price floor: 0 USD/kg").widget.v_model = 110
    button(rc, "Play round (Q1 to Q4)").click()
    wait_until(lambda: buttons(rc, "Play round (Q5 to Q8)"))
    assert game.quarter == 4
    (told,) = [e for e in game.feed() if e.kind == "decision"]
    assert told.quarter == 1
    assert told.data["changes"] == {
        **{f"governments.{cc}.asset_review": True for cc in game.members()},
        "governments.US.floor_price": 110.0,
    }
    assert f"Q1</b> — {told.text}" in text_of(rc.find(ipywidgets.HTML).widget)
    assert [b.disabled for b in buttons(rc, "1 quarter")] == [True]  # chosen at the start


def test_the_facilitator_injects_a_shock_into_the_running_game(game_page):
    game, rc = game_page
    for _ in range(2):
        button(rc, "Step").click()
    demand = game.model.demand.base["allied"] * 4.0
    select(rc, "Shock").v_model = "Demand surge"
    button(rc, "Inject shock now").click()
    (told,) = [e for e in game.feed() if e.kind == "shock"]
    assert told.quarter == 3
    assert told.data["changes"] == {"demand.allied": pytest.approx(demand * 1.3)}
    shown = text_of(rc.find(ipywidgets.HTML).widget)
    assert shown.startswith(f"<div><b>Q3</b> — {told.text}</div>")  # the newest, on top


def test_compare_on_the_page_replays_with_the_earlier_run_faded(game_page):
    game, rc = game_page
    for _ in range(10):
        button(rc, "Step").click()
    select(rc, "Lever").v_model = "US price floor"
    slider = rc.find(v.Slider).widgets[-1]
    slider.v_model = 110
    button(rc, "Replay with this change").click()
    assert game.ghost is not None and game.quarter == 0
    assert game.overrides == {"governments.US.floor_price": 110.0}


def test_the_compare_panel_warns_before_a_replay_in_dumping_that_changes_nothing(game_page):
    game, rc = game_page

    def notes() -> list[str]:
        return [" ".join(map(str, w.children)) for w in rc.find(v.Alert).widgets]

    for label in ("US price floor", "Duty, every member"):
        select(rc, "Lever").v_model = label
        (shown,) = notes()
        assert "will change nothing: the allies' response is off in this scenario" in shown
        assert "(alliance.response = none)" in shown
    select(rc, "Lever").v_model = "Supplier's strategy at the start"
    assert any("event at Q5 sets it again" in n for n in notes())
    select(rc, "Lever").v_model = "Alliance response"
    assert notes() == []
    select(rc, "Lever").v_model = "US price floor"
    button(rc, "Step").click()
    button(rc, "Replay with this change").click()  # warned, not barred
    assert game.ghost is not None and game.quarter == 0


def test_two_pages_never_share_a_market():
    from viz.app import Page

    _, first = solara.render(Page(), handle_error=False)
    _, second = solara.render(Page(), handle_error=False)
    button(first, "Step").click()
    button(first, "Step").click()
    assert text_of(first.find(v.Html, class_="game-quarter").widget) == "Quarter 2 of 40"
    assert text_of(second.find(v.Html, class_="game-quarter").widget) == "Quarter 0 of 40"
    first.close()
    second.close()


# --- the game's face: levers that explain themselves, a seed that asks, a replay that says ----


def page_text(rc) -> str:
    """Every text and alert on the page."""
    widgets = [*rc.find(v.Html).widgets, *rc.find(v.Alert).widgets]
    return " ".join(" ".join(map(str, w.children)) for w in widgets)


def test_every_lever_and_strategy_says_what_it_does():
    from viz.levers import RESPONSE_HELP, STRATEGY_HELP

    for lv in {x.key: x for x in (*COALITION_LEVERS, *SUPPLIER_LEVERS, *COMPARE_LEVERS)}.values():
        assert len(lv.help) > 40, lv.key
    floor = lever("governments.*.floor_price", COALITION_LEVERS).help
    assert "pays" in floor and "does not rise" in floor  # a top-up, not a higher price
    assert set(STRATEGY_HELP) == {"market", "dump", "restrict", "adaptive"}
    assert set(RESPONSE_HELP) == {"none", "standing", "coordinated"}


@pytest.mark.parametrize("role", ["coalition", "supplier"])
def test_the_page_shows_every_levers_explanation_under_its_control(game_page, role):
    from viz.levers import STRATEGY_HELP

    _, rc = game_page
    button(rc, {"coalition": "Allied coalition", "supplier": "Dominant supplier"}[role]).click()
    shown = page_text(rc)
    for lv in ROLE_LEVERS[role]:
        assert lv.help in shown, lv.key
    if role == "supplier":
        assert all(text in shown for text in STRATEGY_HELP.values())
    for lv in COMPARE_LEVERS:  # the Compare panel explains the lever chosen
        select(rc, "Lever").v_model = lv.label
        assert lv.help in page_text(rc), lv.key


def test_a_typed_lever_value_is_taken_in_range_and_refused_outside_it(game_page):
    game, rc = game_page
    button(rc, "Allied coalition").click()
    field = rc.find(v.TextField, label="USD/kg").widgets[0]  # the price floor's number
    type_into(field, "500")
    refused = " ".join(map(str, rc.find(v.Alert, class_="lever-refused").widget.children))
    assert refused == "Price floor: from 0 to 200 USD/kg; 500 is outside it (nothing changed)"
    assert game.pending == {}
    field = rc.find(v.TextField, label="USD/kg").widgets[0]
    type_into(field, "110")
    assert set(game.pending.values()) == {110.0}
    assert not rc.find(v.Alert, class_="lever-refused").widgets
    select(rc, "Lever").v_model = "US price floor"  # Compare's lever takes a number too
    type_into(rc.find(v.TextField, label="USD/kg").widgets[-1], "130")
    assert "US price floor: 130 USD/kg" in [w.label for w in rc.find(v.Slider).widgets]
    type_into(rc.find(v.TextField, label="USD/kg").widgets[-1], "-5")
    (refused,) = rc.find(v.Alert, class_="lever-refused").widgets
    assert "US price floor: from 0 to 200 USD/kg; -5 is outside it" in refused.children[0]


def test_a_role_says_how_to_start_and_the_round_button_heads_the_levers(game_page):
    _, rc = game_page
    assert "press Play" in text_of(rc.find(v.Html, class_="game-status").widget)
    button(rc, "Dominant supplier").click()
    status = text_of(rc.find(v.Html, class_="game-status").widget)
    assert status == "not started: set your levers, then press Play round"
    assert "Play round" in text_of(rc.find(v.Html, class_="controls-help").widget)
    order = []  # the page's widgets in the order they show, depth first

    def walk(widget) -> None:
        order.append(widget)
        for child in getattr(widget, "children", None) or []:
            if isinstance(child, ipywidgets.Widget):
                walk(child)

    walk(rc.container)
    play = order.index(button(rc, "Play round (Q1)"))
    first_lever = min(order.index(w) for w in rc.find(v.Select, label="Strategy").widgets)
    assert play < first_lever  # the round's button heads the levers


def test_changing_the_seed_mid_game_asks_first_and_a_huge_seed_is_refused(game_page):
    game, rc = game_page
    button(rc, "Step").click()
    type_into(rc.find(v.TextField, label="Seed (restarts the game)").widget, "9")
    assert "Restart the game with seed 9? Progress is lost." in page_text(rc)
    assert game.seed == 1 and game.quarter == 1  # nothing lost yet
    button(rc, "Cancel").click()
    assert game.seed == 1 and game.quarter == 1
    type_into(rc.find(v.TextField, label="Seed (restarts the game)").widget, "9")
    button(rc, "Confirm").click()
    assert game.seed == 9 and game.quarter == 0
    type_into(rc.find(v.TextField, label="Seed (restarts the game)").widget, "1" * 23)
    alert = " ".join(map(str, rc.find(v.Alert, class_="scenario-error").widget.children))
    assert alert.startswith("seed: expected a whole number from 0 to 9,223,372,036,854,775,807")
    assert game.seed == 9
    with pytest.raises(ScenarioError):
        game.set_seed(2**63)


def test_a_finished_replay_shows_both_runs_and_replay_waits_while_playing(game_page):
    game, rc = game_page
    for _ in range(3):
        button(rc, "Step").click()
    select(rc, "Lever").v_model = "Supplier's state budget"
    rc.find(v.Slider).widgets[-1].v_model = 0
    button(rc, "Replay with this change").click()
    select(rc, "Speed").v_model = "slow"
    button(rc, "Play").click()
    wait_until(lambda: game.quarter >= 1)
    assert button(rc, "Replay with this change").disabled  # no restart mid-play
    button(rc, "Pause").click()
    select(rc, "Speed").v_model = "full speed"
    button(rc, "Play").click()
    wait_until(lambda: game.finished and [b.disabled for b in buttons(rc, "Play")] == [True])
    (table,) = [
        w.unsafe_innerHTML
        for w in rc.find(tag="table").widgets
        if "earlier run" in getattr(w, "unsafe_innerHTML", "")
    ]
    assert "earlier run (to Q3)" in table and table.count("→") == 6
    assert "Changed: supplier's state budget 0 USD m." in page_text(rc)


def test_a_replay_names_its_exports_and_its_picture_by_the_change():
    game = Game("dumping", seed=1)
    game.step()
    names = set()
    for value in (110, 150):
        game.compare(lever("governments.US.floor_price", COMPARE_LEVERS), value)
        names.add(game.export_name("png"))
        board = Dashboard(live=False)
        board.build(game)
        assert f"replay: US price floor {value} USD/kg" in board.title.get_text()
    assert names == {
        "dumping-seed1-replay-us-price-floor-110-usd-kg.png",
        "dumping-seed1-replay-us-price-floor-150-usd-kg.png",
    }


def test_the_price_axis_stops_near_the_cap_when_the_price_reaches_it():
    game = Game("export-restriction", seed=1)
    for _ in range(6):
        game.step()
    game.inject("export_ban")
    play_out(game)
    cap = game.model.demand.price_cap
    assert np.nanmax(game.arrays()["price_allied"]) >= 0.95 * cap  # the price is at the cap
    for board in (Dashboard(), Dashboard(live=False)):
        board.png(game) if board.live else board.build(game)
        board._grow(game.arrays())
        assert board.axes["price"].get_ylim()[1] <= 1.3 * cap


def test_the_feed_keys_its_firm_codes(game_page):
    from viz.live import firm_name

    _, rc = game_page
    assert firm_name("JP-R") == "Japanese recycler" and firm_name("AU-2") == "Australian producer"
    key = text_of(rc.find(v.Html, class_="firm-key").widget)
    assert "JP-R Japanese recycler" in key and "US-1 US producer" in key

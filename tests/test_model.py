"""The economics: what each named scenario must show, with fixed seeds."""

import numpy as np
import pytest

from market import MineralMarket, Scenario, load_scenario, presets, summarise
from market.play import play as play_run
from tests.conftest import play, series

ATTACK = 5  # the dumping scenarios' attack starts in this quarter


@pytest.mark.parametrize("preset", sorted(presets()))
def test_baseline_is_calm_and_calibrated(preset):
    calibration = load_scenario(preset).params["calibration"]
    ts = series(preset)
    assert len(ts) == 40
    assert ts["bankruptcies"].iloc[-1] == 0
    for price in ("price_allied", "price_world"):
        assert ts[price].between(calibration["price_low"], calibration["price_high"]).all(), price
    assert ts["dominant_share"].iloc[-1] == pytest.approx(calibration["dominant_share"], abs=0.05)
    assert not ts["dumping"].any()


def test_dumping_pushes_price_under_cash_cost_and_drives_a_producer_out_within_12_quarters():
    model = play("dumping")
    ts = model.timeseries()
    cheapest = min(p["cash_cost"] for p in model.spec.params["producers"].values())
    during = ts[ts["quarter"] >= ATTACK]
    assert ts["dumping"].any()
    assert (during["price_allied"] < cheapest).any()
    gone = ts.loc[ts["bankruptcies"] + ts["closures"] > 0, "quarter"]  # closed or bankrupt
    assert not gone.empty and gone.iloc[0] <= ATTACK + 12
    # The sacrifice grows every quarter the supplier dumps, until it ends the price war.
    ended = [e.quarter for e in model.feed if e.kind in ("campaign_end", "budget_spent")]
    last = ended[0] - 1 if ended else ts["quarter"].iloc[-1]
    campaign = ts[(ts["quarter"] >= ATTACK) & (ts["quarter"] <= last)]
    assert (campaign["dominant_sacrifice"].diff().dropna() > 0).all()
    assert (ts.loc[ts["quarter"] < ATTACK, "dominant_sacrifice"] == 0).all()


def test_adaptive_supplier_recoups_once_rivals_have_exited():
    # Its own stopping rule (rivals gone), with the recoupment review left to other tests.
    model = play(
        "baseline",
        **{
            "supplier.strategy": "adaptive",
            "supplier.campaign_review": False,
            "supplier.budget": 20000.0,
        },
    )
    ts = model.timeseries()
    before = ts["price_world"].iloc[0]  # the market price it undercut
    flagged = ts.loc[ts["dumping"], "quarter"]
    assert not flagged.empty, "the price war was never flagged"
    after = ts[ts["quarter"] > flagged.iloc[-1]]
    assert len(after) >= 8
    assert ts["bankruptcies"].iloc[-1] + ts["closures"].iloc[-1] >= 1
    ended = [e for e in model.feed if e.kind == "campaign_end"]
    assert ended and ended[0].data["why"] == "rivals have exited"
    # Recoupment: with rivals gone, prices settle above where they were before the war.
    assert after["price_allied"].mean() > before * 1.05
    assert after["dominant_profit"].mean() > ts["dominant_profit"].iloc[0]


def test_coordinated_response_saves_producers_after_the_coordination_delay():
    stubborn = {"supplier.campaign_review": False}  # the war goes on, answered or not
    attack = series("dumping", **stubborn)
    answered = play("coordinated-response", **stubborn)
    ts = answered.timeseries()
    delay = answered.spec.get("alliance.coordination_delay")

    # Plants lost to the allies: asset review hands a failed firm's plant to an allied buyer,
    # so the failures the response cannot stop no longer cost the allies the plant.
    lost = int((~answered.producers.alive).sum() + (~answered.recyclers.alive).sum())
    attacked = play("dumping", **stubborn)
    assert lost < int((~attacked.producers.alive).sum() + (~attacked.recyclers.alive).sum())
    assert ts["allied_capacity"].iloc[-1] > attack["allied_capacity"].iloc[-1]
    first_flag = ts.loc[ts["dumping"], "quarter"].iloc[0]
    first_active = ts.loc[ts["response_active"], "quarter"].iloc[0]
    assert first_active == first_flag + delay
    assert ts["fiscal_cost"].iloc[-1] > 0


@pytest.mark.parametrize("delay", [0, 3, 6])
def test_response_waits_exactly_the_coordination_delay(delay):
    ts = series(
        "coordinated-response",
        **{"alliance.coordination_delay": delay, "supplier.campaign_review": False},
    )
    first_flag = ts.loc[ts["dumping"], "quarter"].iloc[0]
    assert ts.loc[ts["response_active"], "quarter"].iloc[0] == first_flag + delay


def test_export_restriction_spikes_the_allied_price_then_it_falls_back():
    model = MineralMarket("export-restriction", rng=1)
    retained = []
    while model.running:
        model.step()
        retained.append(model.demand.retained["allied"])
    ts = model.timeseries()
    quota = 8
    before = ts.loc[ts["quarter"] < quota, "price_allied"].mean()
    window = ts[(ts["quarter"] >= quota) & (ts["quarter"] < quota + 12)]
    peak = window["price_allied"].max()
    peak_quarter = int(window.loc[window["price_allied"].idxmax(), "quarter"])
    assert peak >= 3 * before  # several-fold within two to three years
    # Trade links the two export markets (one freight apart); the home market is not squeezed.
    assert np.allclose(ts["price_world"], ts["price_allied"], atol=1.0)
    assert ts["price_home"].max() < 1.2 * before
    late = ts[ts["quarter"] > ts["quarter"].iloc[-1] - 8]
    assert late["price_allied"].mean() <= 0.5 * peak
    # ...because stockpiles, substitution and new supply all responded.
    assert ts.loc[ts["quarter"] > quota, "stockpile"].min() < ts["stockpile"].iloc[quota - 2]
    assert min(retained) < 1.0
    assert (
        ts.loc[ts["quarter"] > peak_quarter, "allied_capacity"].max()
        > ts["allied_capacity"].iloc[0]
    )
    assert ts["price_world"].min() > 0


def test_floor_stops_supporting_producers_the_quarter_its_budget_runs_out():
    model = play(
        "dumping-vs-floor",
        **{"governments.US.floor_budget": 150.0, "supplier.campaign_review": False},
    )
    ts = model.timeseries()
    spent = [e.quarter for e in model.feed if e.kind == "floor_spent" and e.who == "US"]
    assert len(spent) == 1
    out = spent[0]
    supported = ts[(ts["quarter"] >= ATTACK) & (ts["quarter"] <= out)]
    assert (supported["floor_received"] > 0).all()
    assert (ts.loc[ts["quarter"] > out, "floor_received"] == 0).all()
    agents = model.agent_table()
    us = agents[agents["agent"] == "US-1"].set_index("quarter")
    cost = model.spec.get("producers.US-1.cash_cost")
    under_cost = ts.set_index("quarter")["price_allied"] < cost
    # While the floor lasts the US producer runs although the price is under its cost ...
    during = [q for q in range(ATTACK, out + 1) if under_cost[q]]
    assert during and (us.loc[during, "sold"] > 0).all()
    # ... and afterwards it stops.
    after = [q for q in range(out + 1, len(ts) + 1) if under_cost[q] and us.loc[q, "alive"]]
    assert after and (us.loc[after, "sold"] == 0).all()


def test_asset_review_decides_who_gets_a_bankrupt_producers_plant():
    everyone = {f"governments.{c}.asset_review": True for c in ("US", "AU", "JP", "MY", "TH")}
    grabbed = play("asset-grab")
    blocked = play("asset-grab", **everyone)
    sold = [e for e in grabbed.feed if e.kind in ("bankruptcy", "closure")]
    kept = [e for e in blocked.feed if e.kind in ("bankruptcy", "closure")]
    assert sold and all(e.data["sale"] == "dominant" and e.data["capacity"] > 0 for e in sold)
    assert kept and all(e.data["sale"] == "blocked" for e in kept)
    assert {e.who for e in sold} <= {e.who for e in kept}  # the same firms fail
    # Blocked, each plant goes to an allied buyer and is back in business at the end.
    assert all(e.data["working_capital"] > 0 for e in kept)
    assert blocked.producers.alive.all() and not grabbed.producers.alive.all()
    lost = grabbed.agent_table()
    failed = lost[(lost["kind"] == "producer") & ~lost["alive"]]["agent"].unique()
    before = lost[(lost["quarter"] == 1) & lost["agent"].isin(failed)]["capacity"].sum()
    gap = grabbed.supplier.capacity - blocked.supplier.capacity
    assert gap >= before > 0  # the plants (and their growth since) went to the supplier


SCENARIOS = [
    "baseline",
    "dumping",
    "coordinated-response",
    "export-restriction",
    "dumping-vs-floor",
    "alliance-fracture",
    "recycling-push",
    "asset-grab",
    "technology-transfer",
    "new-supply",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_books_close_every_quarter(scenario):
    model = play(scenario)
    ts = model.timeseries()
    assert not ts.isna().any().any()
    # Every tonne producers sold was consumed or went into a stockpile or a holder's stock.
    regions = ("home", "allied", "world")
    supplied = sum(ts[f"supply_{r}"] for r in regions)
    used = sum(ts[f"consumption_{r}"] for r in regions)
    assert np.allclose(
        supplied, used + ts["stockpile_change"] + ts["stocks_change"], rtol=1e-9, atol=1e-6
    )
    assert np.allclose(ts["floor_paid"], ts["floor_received"], rtol=1e-9, atol=1e-9)
    assert (ts[["price_home", "price_allied", "price_world"]] > 0).all().all()
    assert (ts[["allied_capacity", "stockpile", "shortage", "recycled_supply"]] >= 0).all().all()
    agents = model.agent_table()
    assert not agents.isna().any().any()
    assert (agents[["capacity", "stockpile", "sold"]] >= 0).all().all()
    # The stockpile indicator is the running sum of stockpile changes.
    held = ts["stockpile"].iloc[0] - ts["stockpile_change"].iloc[0]
    assert np.allclose(held + ts["stockpile_change"].cumsum(), ts["stockpile"], atol=1e-6)


def test_same_seed_same_run_and_a_different_seed_differs():
    a, b, c = (play_run("alliance-fracture", seed).model for seed in (11, 11, 12))
    assert a.timeseries().equals(b.timeseries())
    assert a.agent_table().equals(b.agent_table())
    assert a.feed == b.feed
    assert not a.timeseries().equals(c.timeseries())


def test_quarters_override_sets_the_run_length():
    assert len(series("baseline", quarters=12)) == 12


def test_a_named_price_overrides_the_strategy_and_the_budget_pays_for_it():
    quiet = {"alliance.response": "none"}  # no stockpile buying on top of consumers' demand
    ts = series("baseline", quarters=8, **quiet, **{"supplier.price_allied": 40.0})
    assert ts["price_allied"].round(6).eq(40.0).all()
    assert ts["dominant_sacrifice"].is_monotonic_increasing
    assert ts["dominant_sacrifice"].iloc[-1] > 0
    assert ts["dominant_budget"].iloc[-1] < ts["dominant_budget"].iloc[0]
    broke = series("baseline", quarters=8, **{"supplier.price_allied": 40.0, "supplier.budget": 0})
    assert (broke["price_allied"] > 50).all()  # no budget: it cannot price under market play
    # A price named over the market in one region is undercut by rivals shipping there: the
    # rest-of-world price rises only to the allied price plus freight (no arbitrage left).
    dearer = series("baseline", quarters=8, **quiet, **{"supplier.price_world": 90.0})
    assert (dearer["price_world"] < 90.0).all()
    assert np.allclose(dearer["price_world"], dearer["price_allied"] + 0.5, atol=1e-6)


def test_tables_before_the_first_quarter_are_empty_with_their_columns():
    model = MineralMarket("baseline", rng=1)
    assert model.timeseries().empty and "price_allied" in model.timeseries().columns
    assert model.agent_table().empty and "capacity" in model.agent_table().columns
    nothing = summarise(model.timeseries())  # nothing happened: no average, no NaN
    assert nothing["price_allied_mean"] is None and nothing["dumping_first_quarter"] is None
    assert nothing["shortage_total"] == 0 and nothing["dumping_quarters"] == 0


def test_quarterly_table_keeps_flags_and_counts_as_such():
    table = play_run("dumping", 2).model
    frame = table.timeseries()
    assert frame["dumping"].dtype == bool and frame["bankruptcies"].dtype.kind == "i"
    assert frame["quarter"].tolist() == list(range(1, table.quarters + 1))
    mesa_view = table.datacollector.get_model_vars_dataframe()
    assert (mesa_view["price_allied"].to_numpy() == frame["price_allied"].to_numpy()).all()


def _discounted_profit(run, rate: float = 0.08) -> float:
    quarters = np.arange(1, run.quarters + 1)
    return float((run.series("dominant_profit") * (1 + rate) ** (-quarters / 4)).sum())


def test_the_predator_stops_a_price_war_that_cannot_drive_rivals_out():
    """Against floors that cover every allied producer's cash cost no rival can be driven out,
    so no recoupment can pay for the war: it ends long before a large budget is spent, where
    without the review it dumps until the end."""
    big = {"supplier.budget": 20000.0}
    deciding = play_run("coordinated-response", 1, big)
    stubborn = play_run("coordinated-response", 1, {**big, "supplier.campaign_review": False})
    ended = [e for e in deciding.model.feed if e.kind == "campaign_end"]
    assert ended and ended[0].data["why"] == "it does not pay"
    assert deciding.series("dominant_budget")[-1] > 0.9 * 20000
    assert stubborn.series("dominant_budget")[-1] < deciding.series("dominant_budget")[-1]
    assert stubborn.series("dumping").sum() > 3 * deciding.series("dumping").sum()
    # Stopping the war it cannot win leaves the supplier richer, discounted.
    assert _discounted_profit(deciding) > _discounted_profit(stubborn)


def test_a_price_war_that_works_pays_the_supplier_back():
    """With no allied response the war drives producers out (closed or bankrupt) and the
    supplier recoups: discounted profit beats the same market, same seed, with no war."""
    attack = load_scenario("dumping")
    calm = Scenario(attack.name, attack.params, [], attack.source)  # the attack's event removed
    for seed in (1,):
        war, peace = play_run(attack, seed), play_run(calm, seed)
        assert war.series("bankruptcies")[-1] + war.series("closures")[-1] >= 1
        assert _discounted_profit(war) > _discounted_profit(peace) > 0


def test_a_floor_makes_the_price_war_end_sooner():
    """The more rivals a floor keeps afloat, the fewer the war can drive out, and the sooner
    it stops paying."""
    bare = play_run("dumping", 1)
    floored = play_run(
        "dumping",
        1,
        {
            "alliance.response": "standing",
            **{f"governments.{c}.floor_price": 75.0 for c in ("US", "AU", "JP", "MY", "TH")},
            **{f"governments.{c}.floor_budget": 3000.0 for c in ("US", "AU", "JP", "MY", "TH")},
        },
    )
    assert floored.series("dumping").sum() < bare.series("dumping").sum()
    assert (floored.series("bankruptcies") + floored.series("closures"))[-1] < (
        bare.series("bankruptcies") + bare.series("closures")
    )[-1]
    assert floored.series("dominant_sacrifice")[-1] < bare.series("dominant_sacrifice")[-1]


def test_a_strategy_set_anew_opens_a_new_campaign():
    """After it ends a war that no longer pays, a later order to dump (an event, a player) is
    judged afresh: it dumps again, at least until the review has seen what that costs."""
    ended = play_run("dumping", 1)
    again = play_run("dumping", 1, moves={26: [{"supplier.strategy": "dump"}]})
    before, after = ended.series("dominant_sacrifice"), again.series("dominant_sacrifice")
    assert (before[24:] == before[24]).all()  # the war is over: no more sacrifice
    assert after[25] > after[24]  # the order to dump is carried out
    assert len([e for e in again.model.feed if e.kind == "campaign_end"]) == 2

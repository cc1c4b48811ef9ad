"""The firm levers of the agreements, each against what it does in the world (seed 1 unless
stated): asset-sale review hands a failed plant to an allied buyer, costs learn with output and
technology transfer spreads the learning, mapping finds deposits that build a lead time later,
and a seabed project delivers only when it succeeds."""

import numpy as np
import pytest

from agents.firm import IDLE, IDLE_BEFORE_CLOSING, RESTARTING, RUNNING, UNDISCOVERED
from market import MineralMarket, ScenarioError
from market.play import play

COUNTRIES = ("US", "AU", "JP", "MY", "TH")
REVIEW = {f"governments.{c}.asset_review": True for c in COUNTRIES}
NO_MAPPING = {"governments.US.mapping": 0.0, "governments.AU.mapping": 0.0}
DEPOSITS = ("US-2", "AU-2")


def _table(scenario, overrides=None, seed=1, quarters=None):
    run = play(scenario, seed, overrides or {}, quarters=quarters)
    return run, run.timeseries()


def _entries(run, *kinds, who=None):
    return [e for e in run.model.feed if e.kind in kinds and (who is None or e.who == who)]


# --- asset-sale review ----------------------------------------------------------------------


def test_review_keeps_failed_plants_allied_so_the_dominant_share_gains_less():
    """In the price war of `asset-grab` the same firms fail either way. Without review the
    dominant side buys their plants and the allies' capacity is gone for good; with review
    allied buyers take the plants over and restart them once prices recover, so the dominant
    side's share (and the markup it sets on it) gains less."""
    grabbed, open_door = _table("asset-grab")
    reviewed, guarded = _table("asset-grab", REVIEW)

    def share_gain(table):  # the last two years against the year before the war
        return table["dominant_share"].iloc[-8:].mean() - table["dominant_share"].iloc[:4].mean()

    assert share_gain(guarded) < share_gain(open_door) - 0.01
    assert (
        guarded["allied_capacity"].iloc[-8:].mean() > open_door["allied_capacity"].iloc[-8:].mean()
    )
    assert reviewed.model.supplier.markup() < grabbed.model.supplier.markup()
    assert reviewed.model.supplier.capacity < grabbed.model.supplier.capacity  # none bought
    # Each plant an allied buyer took over is producing again by the end of the run.
    book = reviewed.model.producers
    for e in _entries(reviewed, "closure", "bankruptcy"):
        row = book.ids.index(e.who)
        restarts = [r.quarter for r in _entries(reviewed, "restart", who=e.who)]
        assert any(q > e.quarter for q in restarts), e.who
        assert book.state[row] == RUNNING and reviewed.recorder.firm(e.who, "sold")[-1] > 0


def test_a_plant_taken_over_still_counts_as_the_failure_it_was():
    """Closures and bankruptcies count failures as they happen: a plant an allied buyer took
    over is back in business, and its owner's failure stays in the count."""
    run, table = _table("asset-grab", REVIEW)
    failures = _entries(run, "closure", "bankruptcy")
    assert failures and all(e.data["sale"] == "blocked" for e in failures)
    assert table["closures"].iloc[-1] + table["bankruptcies"].iloc[-1] == len(failures)
    book = run.model.producers
    assert book.alive.all()  # every plant is in allied hands at the end
    assert book.takeovers.sum() == len(failures)
    # The firm's row goes on: in business and holding its capacity from the takeover on.
    first = failures[0]
    after = slice(first.quarter - 1, None)
    assert run.recorder.firm(first.who, "alive")[after].all()
    assert (run.recorder.firm(first.who, "capacity")[after] == first.data["capacity"]).all()


def test_an_allied_buyer_can_pay_for_the_restart_and_the_wait():
    """The buyer starts debt-free, on care and maintenance, with the restart and the costs
    through the restart lag, plus care and maintenance for as long as owners wait; the usual
    restart rule brings the plant back when the expected price clears cash cost and band."""
    model = MineralMarket("baseline", rng=1)
    book = model.producers
    row = book.ids.index("US-1")
    capacity = float(book.capacity[row])
    book.dispose(np.array([row]))
    cash = book.take_over(row, capacity, quarter=3)
    restart = book.restart_cost[row] * book.capex[row] * capacity / 1000.0
    through_lag = (book.restart_lag[row] + 1) * book.fixed_cost[row] / 4.0
    waiting = IDLE_BEFORE_CLOSING * book.idle_cost[row] * book.fixed_cost[row] / 4.0
    assert cash == pytest.approx(restart + through_lag + waiting) and cash > 0
    assert book.debt[row] == book.interest[row] == book.soft_debt[row] == 0.0
    assert book.state[row] == IDLE and book.alive[row] and book.capacity[row] == capacity
    no_floor = np.zeros(len(book))
    book.expected_price[row] = book.cash_cost[row]  # not enough to restart
    book.decide(4, no_floor)
    assert book.state[row] == IDLE
    book.expected_price[row] = book.cash_cost[row] + book.band()[row] + 1.0
    book.decide(5, no_floor)
    assert book.state[row] == RESTARTING and book.cash[row] == pytest.approx(cash - restart)


# --- learning and technology transfer -------------------------------------------------------


def test_with_learning_allied_costs_fall_as_wrights_law_says():
    """Every plant runs at capacity in the calm market, so with all of the members' output
    shared the allied industry makes its start stock again in `start_years` years: one
    doubling, and every cash cost falls by the learning rate. Without learning, no change."""
    years = 10.0
    learning = {"learning.rate": 0.2, "learning.start_years": years}
    start = play("baseline", 1, {}, quarters=1).model.producers.cash_cost
    calm = play("baseline", 1, {}, quarters=int(4 * years)).model.producers
    assert np.array_equal(calm.cash_cost, start)
    pooled = play(
        "baseline", 1, {**learning, "alliance.tech_transfer": 1.0}, quarters=int(4 * years)
    ).model.producers
    assert np.allclose(pooled.cash_cost / start, 0.8, rtol=1e-9)
    costs = play("baseline", 1, learning).series("allied_cash_cost")
    assert (np.diff(costs) < 0).all() and costs[-1] < 0.95 * costs[0]


def test_technology_transfer_makes_each_members_costs_fall_faster():
    """Without transfer a firm learns from its own country's output; with it, also from the
    other members'. Every member's cost ends lower, most of all a small producer's, whose own
    output is little; with the alliance pulling no levers nobody shares."""
    learning = {"learning.rate": 0.2}
    alone = play("baseline", 1, learning).model.producers
    shared = play("baseline", 1, {**learning, "alliance.tech_transfer": 0.33}).model.producers
    start = play("baseline", 1, {}, quarters=1).model.producers.cash_cost
    assert (shared.cash_cost < alone.cash_cost - 0.5).all()
    fell_alone, fell_shared = 1 - alone.cash_cost / start, 1 - shared.cash_cost / start
    small, large = shared.ids.index("TH-1"), shared.ids.index("AU-1")
    gain = fell_shared - fell_alone
    assert gain[small] > gain[large] > 0
    no_levers = {**learning, "alliance.tech_transfer": 0.33, "alliance.response": "none"}
    unshared = play("baseline", 1, no_levers).model.producers
    assert np.array_equal(unshared.cash_cost, alone.cash_cost)


def test_a_price_war_against_members_who_share_what_they_learn_drives_fewer_out():
    """`technology-transfer`: after five years of learning the same war meets cheaper rivals;
    with transfer they are cheaper still, fewer leave, and the war is worth less to the
    dominant side."""
    none = play("technology-transfer", 1, {"learning.rate": 0.0})
    alone = play("technology-transfer", 1, {"alliance.tech_transfer": 0.0})
    shared = play("technology-transfer", 1)

    def exits(run):
        return run.series("closures")[-1] + run.series("bankruptcies")[-1]

    war = 20  # the row of Q21, when the war starts
    assert shared.series("allied_cash_cost")[war] < alone.series("allied_cash_cost")[war] - 1.0
    assert exits(shared) < exits(alone) <= exits(none)
    assert shared.series("campaign_value")[-1] < alone.series("campaign_value")[-1] - 100.0
    assert shared.series("allied_capacity")[-1] > alone.series("allied_capacity")[-1]


# --- geological mapping ---------------------------------------------------------------------


def test_mapping_finds_deposits_whose_capacity_comes_a_lead_time_later():
    """`new-supply`: a deposit is found only where its government maps, and its first capacity
    comes no sooner than its lead time after it is found; without mapping it stays unknown and
    adds nothing."""
    run, table = _table("new-supply")
    book = run.model.producers
    found = {e.who: e.quarter for e in _entries(run, "discovery")}
    assert found and set(found) <= set(DEPOSITS)
    online = {e.who: e.quarter for e in _entries(run, "capacity_online") if e.who in found}
    assert online  # a deposit found in time is built within the run
    for who, quarter in online.items():
        assert quarter >= found[who] + book.lead_time[book.ids.index(who)]
        before = run.recorder.firm(who, "capacity")[: quarter - 1]
        assert (before == 0).all() and book.capacity[book.ids.index(who)] > 0
    blind, _ = _table("new-supply", NO_MAPPING)
    assert not _entries(blind, "discovery")
    hidden = blind.model.producers
    for who in DEPOSITS:
        assert hidden.state[hidden.ids.index(who)] == UNDISCOVERED
        assert (blind.recorder.firm(who, "capacity") == 0).all()
        assert not blind.recorder.firm(who, "alive").any()
    # Mapping is paid for whether or not it finds anything.
    assert table["mapping_spent"].iloc[0] == pytest.approx((64.0 + 37.0) / 4)
    assert table["fiscal_cost"].iloc[-1] > blind.timeseries()["fiscal_cost"].iloc[-1]


def test_more_mapping_finds_deposits_sooner():
    """The chance a deposit is found each quarter rises with spending (1 - exp(-spend / 4 /
    discovery_cost)): over ten seeds, ten times the budget finds them sooner on average."""

    def first_find(spend, seed):
        run = play("new-supply", seed, {"governments.US.mapping": spend}, quarters=60)
        found = [e.quarter for e in _entries(run, "discovery", who="US-2")]
        return found[0] if found else 61

    seeds = range(1, 11)
    modest = np.mean([first_find(64.0, s) for s in seeds])
    lavish = np.mean([first_find(640.0, s) for s in seeds])
    assert lavish < modest - 2


def test_an_undiscovered_deposit_has_no_capacity():
    with pytest.raises(ScenarioError, match=r"producers\.US-2\.capacity: an undiscovered deposit"):
        MineralMarket("new-supply", rng=1, **{"producers.US-2.capacity": 500.0})


def test_mapping_with_nothing_to_find_draws_nothing_and_changes_only_the_bill():
    """No undiscovered deposit: the mapping money is spent, but no number is drawn, so the
    market runs exactly as without it."""
    calm = play("baseline", 1).timeseries()
    mapped = play("baseline", 1, {"governments.US.mapping": 50.0}).timeseries()
    same = [c for c in calm.columns if c not in ("fiscal_cost", "mapping_spent")]
    assert calm[same].equals(mapped[same])
    assert mapped["fiscal_cost"].iloc[-1] == pytest.approx(calm["fiscal_cost"].iloc[-1] + 50 * 10)


# --- seabed projects ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_seabed_project_delivers_after_its_lead_time_only_when_it_succeeds(seed):
    """The sure extremes, whatever the seed: a project that always succeeds adds its capacity
    exactly its lead time after it starts; one that never does adds none and writes its
    capital off, the loans still owed."""
    sure = play("new-supply", seed, {"producers.JP-S.success": 1.0})
    doomed = play("new-supply", seed, {"producers.JP-S.success": 0.0})
    started = _entries(sure, "investment", who="JP-S")[0]
    lead = int(sure.model.spec.get("producers.JP-S.lead_time"))
    capacity = sure.recorder.firm("JP-S", "capacity")
    assert (capacity[: started.quarter + lead - 1] == 0).all()
    assert capacity[started.quarter + lead - 1] == started.data["capacity"]
    assert not _entries(sure, "project_failed")
    failed = _entries(doomed, "project_failed", who="JP-S")
    assert (
        failed and failed[0].quarter == _entries(doomed, "investment", who="JP-S")[0].quarter + lead
    )
    assert failed[0].data["capital"] == pytest.approx(started.data["capital"])
    assert (doomed.recorder.firm("JP-S", "capacity") == 0).all()
    assert doomed.recorder.firm("JP-S", "debt")[failed[0].quarter - 1] > 0

"""The engine's mechanisms, each against what theory says it must do (seed 1 unless stated).

Trade links the regions, the dominant side is an industry of plants with a conduct, firms run,
idle, restart, close or fail, holders keep stocks, and the predator weighs its campaign.
"""

import numpy as np

from agents.firm import IDLE, RUNNING
from market.model import MineralMarket
from market.play import play

# Japan buys up to two years of use at up to 70 USD/kg with 600 USD m: a price support.
SUPPORT_SCHEME = {
    "alliance.response": "standing",
    "governments.JP.stockpile_days": 730.0,
    "governments.JP.stockpile_budget": 600.0,
    "governments.JP.stockpile_buy_below": 70.0,
    "governments.JP.stockpile_release_above": 1000.0,
}


def _table(scenario, overrides=None, quarters=None, seed=1):
    run = play(scenario, seed, overrides or {}, quarters=quarters)
    return run, run.timeseries()


def test_a_glut_under_competitive_conduct_prices_at_the_marginal_plants_cost():
    """Conduct 0: plants ask their cash cost, so with capacity far beyond demand the price falls
    to the cost of the dearest plant still needed (Bresnahan 1982's competitive end)."""
    glut = {"supplier.conduct": 0.0, "supplier.capacity": 300000.0, "supplier.cost_spread": 0.3}
    run, table = _table("baseline", glut, quarters=8)
    costs = run.model.supplier.block_costs()
    home = table["price_home"].iloc[-1]
    assert np.min(np.abs(costs - home)) < 1e-6  # a plant's cost, not a markup over it
    assert home < run.model.supplier.cash_cost  # the cheap plants serve the market
    coordinated = _table("baseline", {**glut, "supplier.conduct": 1.0}, quarters=8)[1]
    assert coordinated["price_home"].iloc[-1] > 1.3 * home  # the same glut, withheld


def test_an_export_quota_lifts_both_export_prices_together_and_lowers_the_home_price():
    """Rising marginal cost (a spread of plant costs): the tonnes the quota keeps at home push
    the home price down while the two export markets, one freight apart, rise together."""
    spread = {"supplier.cost_spread": 0.3}
    quota = _table("export-restriction", spread, quarters=14)[1].iloc[8:14]
    calm = _table("baseline", spread, quarters=14)[1].iloc[8:14]
    assert (quota["price_allied"] > 2 * calm["price_allied"]).all()
    assert np.allclose(quota["price_world"], quota["price_allied"], atol=1.0)
    assert quota["price_home"].mean() < calm["price_home"].mean() - 1.0


def test_firms_run_at_a_loss_for_a_while_then_idle_restart_and_close_before_bankruptcy():
    """Dixit (1989): a plant keeps running while its loss is less than idling and restarting
    would cost, idles when it expects the price to stay under its cash cost, restarts when it
    expects it well over, and closes (selling the plant) when it cannot carry the losses."""
    model = MineralMarket("dumping", rng=1, **{"supplier.campaign_review": False})
    book = model.producers
    row = book.ids.index("AU-1")
    states, prices = [], []
    while model.running:
        model.step()
        states.append(book.state[row])
        prices.append(model.timeseries()["price_allied"].iloc[-1])
    under = [q for q, p in enumerate(prices) if p < book.cash_cost[row]]
    first_idle = states.index(IDLE)
    assert first_idle > under[0] + 1  # kept running for quarters under its cash cost
    assert RUNNING in states[first_idle:]  # and started again once prices came back
    closed, bankrupt = int(book.closed.sum()), int(book.bankrupt.sum())
    assert closed and closed >= bankrupt  # most exits are closures


def test_a_backers_cash_keeps_a_firm_in_business():
    alone = play("dumping", 1, {"supplier.campaign_review": False}).model.producers
    backed = play(
        "dumping",
        1,
        {"supplier.campaign_review": False, "producers.US-1.backer_cash": 500.0},
    ).model.producers
    row = alone.ids.index("US-1")
    assert not alone.alive[row] and backed.alive[row]


def test_a_sudden_export_cut_is_met_first_from_stocks_and_prices_build_over_quarters():
    with_stocks = _table("export-restriction", quarters=14)[1]
    without = _table("export-restriction", {"demand.stock_weeks": 0.0}, quarters=14)[1]
    cut = 7  # the quota's first quarter (row of Q8)
    assert with_stocks["stocks_change"].iloc[cut] < 0  # holders sell out of stock
    assert with_stocks["price_allied"].iloc[cut] < 0.8 * without["price_allied"].iloc[cut]
    peak = int(with_stocks["price_allied"].iloc[cut:].to_numpy().argmax())
    assert peak >= 1  # the peak comes after the first quarter of the cut


def test_a_support_scheme_with_finite_money_ends_when_the_money_does():
    """A stockpile buying at its limit holds the price up while its budget lasts; when the money
    is gone the buying stops and the price falls below where it was held."""
    scheme = SUPPORT_SCHEME
    run, table = _table("baseline", scheme, quarters=24)
    gov = run.model.governments["JP"]
    assert gov.stockpile_budget < 0.01 * 600.0  # spent, not shrinking forever
    bought = table["stockpile_change"].to_numpy() > 0
    last = int(np.flatnonzero(bought)[-1])
    assert last < len(table) - 4  # it stopped buying: the money ran out
    held = table["price_allied"].iloc[: last + 1].mean()
    calm = play("baseline", 1, {}, quarters=24).timeseries()["price_allied"]
    assert held > calm.iloc[: last + 1].mean() + 2.0  # its buying held the price up
    assert table["price_allied"].iloc[last + 2 :].mean() < held - 2.0  # and then it fell


def test_a_failed_support_schemes_stock_overhang_pushes_the_price_below_the_calm_market():
    """Salant (1983): once the scheme's money is gone, what it bought comes back. Sold off over
    a year, the overhang takes the price under the market's own (no scheme) level, which a
    scheme that keeps its stock does not."""
    scheme = SUPPORT_SCHEME
    sold = _table("baseline", {**scheme, "governments.JP.stockpile_sell_off": 4.0}, quarters=12)
    run, table = sold
    kept = _table("baseline", scheme, quarters=12)[1]
    calm = _table("baseline", {}, quarters=12)[1]
    starts = [e.quarter for e in run.model.feed if e.kind == "sell_off"]
    assert starts, "the scheme's money never ran out"
    after = slice(starts[0] - 1, starts[0] + 3)  # the four quarters of the sale
    assert (table["price_allied"].iloc[after] < calm["price_allied"].iloc[after]).all()
    assert table["price_allied"].iloc[after].mean() < kept["price_allied"].iloc[after].mean() - 1
    assert table["stockpile"].iloc[starts[0] + 3] == 0.0  # all of it sold


def test_the_predator_stops_a_war_that_is_not_working_well_before_its_budget_is_spent():
    run, table = _table("coordinated-response")
    ends = [e for e in run.model.feed if e.kind == "campaign_end"]
    assert ends and ends[0].data["why"] == "it does not pay"
    assert table["dominant_budget"].iloc[-1] > 0.5 * 2000.0
    assert table["campaign_running"].sum() < 8


def test_a_war_that_works_leaves_the_predator_better_off_than_no_war():
    """Discounted at the market's interest rate, against the same seed with no campaign."""

    def value(table):
        t = np.arange(len(table))
        return float((table["dominant_profit"] * 1.12 ** (-t / 4)).sum())

    _, war = _table("dumping")
    _, calm = _table("baseline")
    assert war["bankruptcies"].iloc[-1] + war["closures"].iloc[-1] > 0
    assert value(war) > value(calm)
    assert war["campaign_value"].iloc[-1] > 0  # its own account of the war agrees


def test_a_calm_ndpr_market_keeps_every_plant_in_every_seed():
    """Each stylised plant covers its overheads at the baseline price (docs/calibration.md), so
    with no attack and no shock no one leaves, whatever the demand noise (seeds 1-20)."""
    for seed in range(1, 21):
        book = play("baseline", seed).model.producers
        assert book.alive.all() and not book.idle.any(), seed


def test_a_plant_short_of_its_overheads_closes_rather_than_bleed_into_bankruptcy():
    """Over its cash cost but under its fixed costs, the plant's losses persist: it closes
    (and sells the plant) while it still has cash, instead of running until it has none."""
    bleeding = {"producers.TH-1.fixed_cost": 3.0}  # margin about 0.6 USD m/yr at 57 USD/kg
    book = play("baseline", 1, bleeding).model.producers
    row = book.ids.index("TH-1")
    assert book.closed[row] and not book.bankrupt[row]
    assert book.cash[row] > 0


def test_a_plant_that_covers_its_costs_but_not_its_debt_fails_to_its_creditors():
    """A plant earning over its costs is worth running; when its debt service drains the cash
    it is the creditors who end it (bankruptcy), not its owners (closure)."""
    indebted = {"producers.TH-1.debt": 40.0}  # 4.8 USD m/yr of interest on a 0.6 margin
    book = play("baseline", 1, indebted).model.producers
    row = book.ids.index("TH-1")
    assert book.bankrupt[row] and not book.closed[row]


def test_the_predator_reads_its_rivals_exits_by_their_own_rules():
    """With every rival idle under a war it does not stop, the runway it reads (`runway`) is
    the quarter each rival actually closes: idle too long with no backer to carry it."""
    model = MineralMarket("dumping", rng=1, **{"supplier.campaign_review": False})
    book = model.producers
    while model.steps < 9:
        model.step()
    assert (book.state[book.alive] == IDLE).all()
    no_floor = np.zeros(len(book))
    read = model.steps + book.runway(model.steps, model.price_last["allied"], no_floor, no_floor)
    while model.running:
        model.step()
    left = {e.who: e.quarter for e in model.feed if e.kind in ("closure", "bankruptcy")}
    for name in ("JP-1", "MY-1", "US-1"):
        assert left[name] == read[book.ids.index(name)], name


def test_a_restart_is_paid_for_through_its_lag():
    """A plant restarts only if it can carry the restart and its costs until it sells again,
    so no plant restarts and then fails before its first sale."""
    for scenario in ("dumping", "coordinated-response", "alliance-fracture", "dumping-vs-floor"):
        model = MineralMarket(scenario, rng=1)
        while model.running:
            model.step()
        restarts = {(e.who, e.quarter) for e in model.feed if e.kind == "restart"}
        for e in model.feed:
            if e.kind == "bankruptcy":
                lag = 1 + int(model.producers.restart_lag.max())
                assert not any(who == e.who and 0 < e.quarter - q <= lag for who, q in restarts), (
                    scenario,
                    e.who,
                )


def test_a_plant_paying_for_its_restart_does_not_also_start_a_project():
    """After a war the price spikes and every firm wants to expand; the lithium brine plant
    restarting then (Q9) must not spend on a project the cash it needs to carry its plant."""
    war = {"supplier.strategy": "dump", "supplier.campaign_review": False}
    run = play("lithium", 1, war, quarters=14)
    book = run.model.producers
    restarted = [e.quarter for e in run.model.feed if e.kind == "restart" and e.who == "US-1"]
    assert restarted  # the case this test is about
    assert book.alive[book.ids.index("US-1")]
    investors = {e.who for e in run.model.feed if e.kind == "investment"}
    assert all(book.alive[book.ids.index(who)] for who in investors if who in book.ids)


# --- each new lever moves the market the way theory says ------------------------------------


def test_freight_is_the_gap_between_the_export_and_home_prices():
    for freight in (0.5, 5.0):
        table = _table("baseline", {"trade.freight": freight}, quarters=8)[1]
        assert np.allclose(table["price_allied"] - table["price_home"], freight)
        assert np.allclose(table["price_world"] - table["price_home"], freight)


def test_overbuilt_competing_plants_drive_the_price_down():
    competing = {"supplier.conduct": 0.0, "supplier.cost_spread": 0.3}
    paced = _table("baseline", competing, quarters=40)[1]
    overbuilt = _table("baseline", {**competing, "supplier.overbuild": 0.2}, quarters=40)[1]
    assert overbuilt["price_home"].iloc[-1] < paced["price_home"].iloc[-1] - 5.0


def test_a_production_quota_raises_every_price():
    free = _table("baseline", quarters=8)[1]
    capped = _table("baseline", {"supplier.production_quota": 80000.0}, quarters=8)[1]
    for region in ("home", "allied", "world"):
        assert capped[f"price_{region}"].mean() > 1.5 * free[f"price_{region}"].mean()


def test_a_price_war_on_exports_needs_the_home_market_closed_to_rivals():
    """With imports into the dominant country open, rivals sell there at its unsubsidised home
    price, and the war idles no plant."""
    stubborn = {"supplier.campaign_review": False}
    closed = _table("dumping", {**stubborn, "trade.home_imports": False}, quarters=10)[1]
    opened = _table("dumping", {**stubborn, "trade.home_imports": True}, quarters=10)[1]
    assert closed["idled_capacity"].max() > 5000.0
    assert opened["idled_capacity"].max() == 0.0


def test_a_dearer_restart_keeps_a_plant_running_longer_under_its_cash_cost():
    """A wider hysteresis band (Dixit): the costlier it is to start again, the longer a plant
    sells at a loss before it stops."""
    stubborn = {"supplier.campaign_review": False}

    def quarters_selling(overrides):
        run = _table("dumping", {**stubborn, **overrides}, quarters=14)[0]
        return int((run.recorder.firm("AU-1", "sold")[4:] > 0).sum())  # from the attack on

    cheap = quarters_selling({})
    dear = quarters_selling({"producers.AU-1.restart_cost": 0.2})
    assert dear > cheap


def test_demand_noise_is_what_moves_a_calm_market():
    """No noise, a smooth path; more noise, larger quarterly moves of the price."""

    def move(noise):
        price = play("baseline", 1, {"demand.noise": noise}).series("price_allied")
        return float(np.median(np.abs(np.diff(np.log(price)))))

    assert move(0.0) < move(0.03) < move(0.2)
    assert move(0.2) > 5 * move(0.03)


def test_defence_is_served_first_when_allied_supply_is_short():
    """Rationing at the price cap serves the defence slice first: the civil buyers bear the
    shortage until what is left is less than defence wants."""
    capped = {"demand.price_cap": 120.0}  # the 2010-style cut then runs into the cap

    def short(share):
        table = play(
            "export-restriction", 1, {**capped, "demand.defence_share": share}, quarters=16
        )
        return table.timeseries()[["shortage_allied", "shortage_defence"]].max()

    small, most, all_of_it = short(0.005), short(0.9), short(1.0)
    assert small["shortage_allied"] > 500 and small["shortage_defence"] == 0.0
    assert 0 < most["shortage_defence"] < most["shortage_allied"]
    assert all_of_it["shortage_defence"] == all_of_it["shortage_allied"]

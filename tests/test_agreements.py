"""The allies' levers, each against what it does in the world (seed 1 unless stated): turn it
up in a scenario where theory says it matters, and the market moves its way, by a non-zero
amount. The fiscal ledger closes every quarter."""

import numpy as np
import pytest

from market.model import MineralMarket
from market.play import play

COUNTRIES = ("US", "AU", "JP", "MY", "TH")
BAN = {  # the 2010 playbook taken to its end: no exports at all from Q8
    "preset": "ndpr",
    "name": "export-ban",
    "events": [
        {
            "quarter": 8,
            "label": "export ban",
            "set": {"supplier.strategy": "restrict", "supplier.quota_cut": 1.0},
        }
    ],
}


def _table(scenario, overrides=None, seed=1):
    run = play(scenario, seed, overrides or {})
    return run, run.timeseries()


def _every(attr, value):
    return {f"governments.{c}.{attr}": value for c in COUNTRIES}


def _japan_stock(days):
    return {"governments.JP.stockpile_days": days, "governments.JP.stockpile_initial_days": days}


@pytest.mark.parametrize(
    "scenario",
    [
        "coordinated-response",
        "recycling-push",
        "shared-finance",
        "dumping-vs-floor",
        "election-split",
        "new-supply",
    ],
)
def test_the_fiscal_ledger_closes_every_quarter(scenario):
    """Each quarter's change in fiscal cost is exactly its parts: floor payments, stock bought
    less stock sold, the cost of concessional loans and their losses, geological mapping, less
    duty collected."""
    table = _table(scenario)[1]
    change = table["fiscal_cost"].diff().fillna(table["fiscal_cost"])
    parts = (
        table["floor_paid"]
        + table["stockpile_bought_value"]
        - table["stockpile_sold_value"]
        + table["finance_cost"]
        + table["loan_losses"]
        + table["mapping_spent"]
        - table["duty_revenue"]
    )
    assert np.allclose(change, parts, atol=1e-9)
    flows = [
        "floor_paid",
        "stockpile_bought_value",
        "finance_cost",
        "mapping_spent",
        "duty_revenue",
    ]
    moved = table[flows]
    assert moved.abs().to_numpy().sum() > 0  # the scenario moves money: the test can fail


def test_a_bigger_stockpile_cuts_an_export_cuts_peak_and_a_bans_shortage():
    """A stock released while a disruption is flagged covers what its buyers go without, for as
    long as it lasts: a bigger one holds the price down for longer and leaves fewer buyers short
    in a ban. Defence is served first."""
    peaks, shortages = [], []
    for days in (0.0, 60.0, 180.0):
        peaks.append(_table("export-restriction", _japan_stock(days))[1]["price_allied"].max())
        ban = _table(BAN, _japan_stock(days))[1]
        shortages.append(ban["shortage"].sum())
        if days == 0.0:
            assert ban["shortage_allied"].sum() > 0
            assert ban["shortage_defence"].sum() == 0  # the defence slice is served first
    assert peaks[0] > peaks[1] + 50 > peaks[2] + 55
    assert shortages[0] > shortages[1] + 1000 > shortages[2] + 2000


def test_a_joint_stockpile_lets_one_members_stock_serve_every_member():
    """National stocks serve only their own buyers' shortfall; with mutual access Japan's stock
    covers the other members' buyers too, so the cut's first year peaks lower (and the stock is
    gone sooner)."""

    def first_year(joint):
        overrides = {"alliance.joint_stockpile": joint, **_japan_stock(180.0)}
        return _table("export-restriction", overrides)[1].iloc[7:12]

    national, joint = first_year(False), first_year(True)
    assert joint["price_allied"].max() < national["price_allied"].max() - 30
    assert joint["stockpile"].iloc[-1] < national["stockpile"].iloc[-1] - 1000


def test_the_response_group_acts_on_an_export_cut_as_well_as_dumping():
    run = _table("shared-finance")[0]
    kinds = [(e.quarter, e.kind) for e in run.model.feed]
    assert (9, "restriction_flagged") in kinds  # the quota of Q8, read in Q9
    assert (11, "response_activates") in kinds  # after the two-quarter delay
    assert not any(kind == "dumping_flagged" for _, kind in kinds)


def test_a_duty_in_force_raises_the_price_allies_pay_for_dominant_supply_and_diverts_it():
    """While the members' orders hold (Q8-Q11, before the first yearly review), the allied
    price carries the duty over the world price, and the supplier ships less to the allies."""
    taxed = _table("coordinated-response")[1].iloc[7:11]
    free = _table("coordinated-response", _every("duty", 0.0))[1].iloc[7:11]
    assert (taxed["duty"] > 0.9).all() and (free["duty"] == 0).all()
    assert (taxed["price_allied"] > 1.5 * taxed["price_world"]).all()
    assert (free["price_allied"] < free["price_world"] + 1.0).all()
    assert taxed["supply_allied"].sum() < free["supply_allied"].sum() - 1000
    # what the supplier ships through third countries escapes the duty (leakage)
    leaked = _table("coordinated-response", {"supplier.reroute_share": 0.5})[1].iloc[7:11]
    assert np.allclose(leaked["duty"], taxed["duty"] / 2)
    assert (leaked["price_allied"] < taxed["price_allied"] - 10).all()


def test_an_order_outlives_the_response_and_its_yearly_review_sets_the_rate_to_the_margin():
    """An order runs its term whatever the response does (19 U.S.C. 1675(c)); the first yearly
    review finds no margin once the supplier sells above its cost, and sets the duty to 0; the
    sunset review ends it when no dumping was flagged in its last year. With no term the duty
    stands down with the response."""
    feed = _table("coordinated-response")[0].model.feed
    us = [(e.quarter, e.kind) for e in feed if e.who in ("US", "alliance")]
    assert (12, "response_stands_down") in us
    reviews = [e for e in feed if e.kind == "duty_review" and e.who == "US"]
    assert reviews[0].quarter == 12 and reviews[0].data["rate"] == 0.0
    assert (28, "duty_lapses") in us  # the order lived on after the response, to its term
    no_term = _table("coordinated-response", _every("duty_term", 0))[0].model.feed
    assert not any(e.kind.startswith("duty_") for e in no_term)


def test_finance_lowers_the_incentive_price_and_costs_money_up_to_its_cap():
    model = MineralMarket("shared-finance", rng=1)
    book = model.producers
    rate, soft, life = 0.12, 0.03, 15
    share = np.full(len(book), 0.5)
    financed = book.incentive_price(rate, soft, share, life)
    commercial = book.incentive_price(rate, soft, np.zeros(len(book)), life)
    assert (financed < commercial - 5).all()
    run, table = _table("shared-finance")
    assert table["finance_cost"].sum() > 100
    lent = {c: 1000.0 - g.finance_budget for c, g in run.model.governments.items() if c != "JP"}
    assert 0 < lent["US"] <= 1000 and 0 < lent["AU"] <= 1000
    none = _table("shared-finance", _every("financing", 0.0))[1]
    assert none["finance_cost"].sum() == 0
    assert table["fiscal_cost"].iloc[-1] > none["fiscal_cost"].iloc[-1] + 100


def test_a_framework_that_lends_abroad_finances_other_members_projects():
    """Japan's money reaches a Malaysian project only when its framework crosses borders."""
    abroad = _table("shared-finance")[0].model
    home = _table("shared-finance", {"governments.JP.finance_abroad": False})[0].model
    row = abroad.producers.ids.index("MY-1")
    japan = list(abroad.governments).index("JP")
    assert abroad.producers.lender[row] == japan and abroad.producers.soft_debt[row] > 0
    assert home.producers.lender[row] == -1 and home.producers.soft_debt[row] == 0
    assert abroad.governments["JP"].finance_budget < home.governments["JP"].finance_budget


def test_a_failed_borrowers_concessional_loan_is_a_fiscal_cost():
    run, table = _table("shared-finance")
    closes = [e for e in run.model.feed if e.kind == "closure" and e.who == "US-1"]
    assert closes, "US-1, financed by the US, closes in Q40"
    quarter = closes[0].quarter
    assert table["loan_losses"].iloc[quarter - 1] > 50
    assert table["loan_losses"].drop(index=quarter - 1).sum() == 0


def test_a_covered_firm_counts_a_floor_only_while_its_budget_lasts():
    """The same floor with a budget that runs out in a year, and one that lasts: the covered
    plant expands only under the floor it can count on for its plant's life."""

    def projects(budget):
        run = _table("dumping-vs-floor", {"governments.US.floor_budget": budget})[0]
        return [e.quarter for e in run.model.feed if e.kind == "investment" and e.who == "US-1"]

    assert projects(300.0) == []
    assert len(projects(20000.0)) >= 2


def test_a_marketplace_charge_raises_the_compliant_premium_and_rerouting_erodes_it():
    """Allied producers earn the charge over the world price while the dominant side's goods pay
    it; the share it ships through third countries escapes it."""

    def premium(charge, reroute):
        overrides = {"alliance.marketplace_charge": charge, "supplier.reroute_share": reroute}
        table = _table("marketplace", overrides)[1].iloc[:15]  # before the scenario's Q16 event
        return (table["price_allied"] - table["price_world"]).mean()

    assert premium(0.0, 0.0) == pytest.approx(0.0, abs=0.5)
    assert premium(25.0, 0.0) > 20
    assert premium(25.0, 0.0) - 5 > premium(25.0, 0.4) > premium(0.0, 0.0) + 5


def test_an_election_that_breaks_the_response_weakens_it():
    """The US, paying the floor alone, carries more than its share: with an election risk of 1
    its new government certainly leaves in Q12. Its floor and duty stop, and the supplier's
    share is higher for the rest of the run than when it stays."""
    stays = _table("election-split", {"alliance.election_risk": 0.0})
    leaves = _table("election-split", {"alliance.election_risk": 1.0})
    exits = [(e.quarter, e.who) for e in leaves[0].model.feed if e.kind == "election_exit"]
    assert (12, "US") in exits
    until_review = slice(12, 15)  # Q13-Q15: the orders' next review resets every rate
    assert (leaves[1]["duty"].iloc[until_review] < stays[1]["duty"].iloc[until_review] - 0.2).all()
    after = slice(12, 24)
    assert leaves[1]["floor_paid"].iloc[after].sum() < stays[1]["floor_paid"].iloc[after].sum()
    assert (
        leaves[1]["dominant_share"].iloc[12:].mean() > stays[1]["dominant_share"].iloc[12:].mean()
    )


def test_a_member_carrying_more_than_its_share_weighs_leaving_more():
    """Burden sharing (Olson and Zeckhauser 1966): in `election-split` the US pays the floor
    alone, so its weight on leaving is over 1 while the members who pay nothing weigh it at
    half."""
    model = MineralMarket("election-split", rng=1, **{"alliance.election_risk": 0.0})
    for _ in range(10):
        model.step()
    group = model.response_group
    assert group.active and model.governments["US"].floor_paid > 0
    assert group.burden_weight(model.governments["US"]) > 1.5
    assert group.burden_weight(model.governments["TH"]) == pytest.approx(0.5)

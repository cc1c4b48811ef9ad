"""No nonsense at the edges: any scenario the loader accepts, however extreme its values, plays
without NaN or infinity, keeps prices within [0, cap], and writes strict JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from market import ScenarioError, load_scenario
from market.play import play
from market.schema import FIELDS, Field

BASE = load_scenario("dumping")
FIRMS = {
    "producers": next(iter(BASE.params["producers"])),
    "recyclers": next(iter(BASE.params["recyclers"])),
}


def _value(spec: Field) -> st.SearchStrategy:
    """Any legal value, with the range's ends and zero drawn often."""
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "choice":
        return st.sampled_from(spec.choices)
    ends = [v for v in (spec.low, spec.high, 0) if spec.low <= v <= spec.high]
    if spec.kind == "int":
        high = min(int(spec.high), 60) if spec.low < 60 else int(spec.high)
        return st.one_of(st.sampled_from([int(v) for v in ends]), st.integers(int(spec.low), high))
    return st.one_of(st.sampled_from([float(v) for v in ends]), st.floats(spec.low, spec.high))


def _keys() -> dict[str, Field]:
    keys = {}
    for pattern, spec in FIELDS.items():
        section = pattern.split(".")[0]
        if (
            spec.kind == "str"
            or section in ("calibration", "quarters")
            or pattern.endswith(".country")
        ):
            continue
        if section == "governments":
            keys[pattern.replace("*", "US", 1)] = spec
        elif section in FIRMS:
            keys[pattern.replace("*", FIRMS[section], 1)] = spec
        else:
            keys[pattern] = spec
    return keys


KEYS = _keys()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(sorted(KEYS)), st.none(), min_size=1, max_size=8).flatmap(
        lambda chosen: st.fixed_dictionaries({k: _value(KEYS[k]) for k in chosen})
    ),
    st.integers(0, 2**32 - 1),
)
def test_any_legal_scenario_plays_without_nonsense(overrides, seed):
    try:
        run = play(BASE, seed, overrides, quarters=10)
    except ScenarioError:
        assume(False)  # a combination the loader refuses is not a legal scenario
    table = run.timeseries()
    cap = run.model.demand.price_cap
    flags = ["dumping", "response_active", "campaign_running"]
    prices = ["price_home", "price_allied", "price_world"]
    numbers = table.drop(columns=flags + prices).to_numpy(float)
    assert np.isfinite(numbers).all(), table
    for region in ("home", "allied", "world"):
        price = table[f"price_{region}"].to_numpy(float)
        unpriced = np.isnan(price)  # a region with no buyers has no price
        assert ((price[~unpriced] >= 0) & (price[~unpriced] <= cap)).all()
        assert (table.loc[unpriced, [f"consumption_{region}", f"supply_{region}"]] == 0).all().all()
        if overrides.get(f"demand.{region}") == 0 and region != "allied":
            assert unpriced.all()  # nobody buys there, and nobody says a price
    assert not run.agent_table().isna().any().any()
    summary = json.loads(json.dumps(run.summary(), allow_nan=False))  # strict JSON or it raises
    assert all(v is None or math.isfinite(v) for v in summary["metrics"].values())


def test_a_region_with_no_buyers_reports_no_price():
    run = play("dumping", 1, {"demand.world": 0.0, "demand.home": 0.0}, quarters=6)
    assert run.timeseries()["price_world"].isna().all()
    assert run.timeseries()["price_home"].isna().all()
    assert (run.timeseries()["consumption_world"] == 0).all()
    assert run.metrics()["price_world_mean"] is None and run.metrics()["price_allied_mean"] > 0
    quiet = play("dumping", 1, {"demand.allied": 0.0, "alliance.response": "none"}, quarters=6)
    assert quiet.timeseries()["price_allied"].isna().all()  # no consumers and no stock buyers
    assert np.isfinite(quiet.timeseries()["dominant_profit"]).all()


def test_the_supplier_cash_cost_must_be_above_zero():
    with pytest.raises(ScenarioError, match=r"supplier\.cash_cost: expected a number from 0\.01"):
        play("dumping", 1, {"supplier.cash_cost": 0.0})


def test_holders_never_bid_to_restock_at_the_price_cap():
    """A reference price above the cap puts the price holders expect over it: they still bid
    under the cap (clearing refuses a bid at it), and the market simply sits at the cap."""
    run = play("baseline", 0, {"demand.reference_price": 1e6, "demand.stock_carry": 0.0}, 6)
    assert (run.timeseries()["price_allied"] == run.model.demand.price_cap).all()


def test_a_war_that_costs_next_to_nothing_is_still_judged():
    """A supplier with almost no capacity gives up almost nothing a quarter, so its budget
    lasts for ever; rivals it cannot drive out (an endless runway) must not count as exits."""
    tiny = {"supplier.capacity": 1.2895586229009036e-302, "alliance.dumping_test": "areeda_turner"}
    run = play("dumping", 0, tiny, 10)
    assert np.isfinite(run.timeseries()["dominant_sacrifice"]).all()


def test_a_price_too_near_zero_for_a_float_leaves_consumption_finite():
    """A price war aimed at a plant with no cash cost into a market of almost no buyers clears
    at a price that underflows to 0, where demand is unbounded: consumers take what is left."""
    run = play("dumping", 0, {"producers.AU-1.cash_cost": 0.0, "demand.allied": 4.2e-243}, 10)
    table = run.timeseries()
    assert np.isfinite(table["consumption_allied"]).all()
    assert (table["price_allied"].iloc[5:] == 0).any()  # the case this guards against occurs

"""Market clearing on arrays: merit order, uniform price, bids, the cap."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.clearing import DemandCurve, clear_market

CURVE = DemandCurve(reference_qty=100.0, reference_price=50.0, elasticity=-0.2)


def test_cheapest_offers_run_first_and_the_marginal_offer_sets_the_price():
    r = clear_market(np.array([30.0, 60.0, 20.0]), np.array([40.0, 30.0, 45.0]), CURVE, 1000.0)
    assert r.price == 45.0
    assert r.accepted[0] == 30.0 and r.accepted[1] == 60.0  # both cheaper than the price
    assert 0 < r.accepted[2] < 20.0  # marginal, part-loaded
    assert r.accepted.sum() == pytest.approx(r.consumption)


def test_scarce_supply_prices_on_the_demand_curve():
    # 70 t against 100 t at 50 USD/kg, elasticity -0.2: price = 50 * 0.7 ** -5.
    r = clear_market(np.array([30.0, 40.0]), np.array([40.0, 30.0]), CURVE, 1000.0)
    assert r.price == pytest.approx(50 * 0.7**-5)
    assert r.consumption == pytest.approx(70.0)
    assert r.shortage == 0.0


def test_at_the_price_cap_unmet_demand_is_shortage():
    r = clear_market(np.array([30.0, 40.0]), np.array([40.0, 30.0]), CURVE, 100.0)
    assert r.price == 100.0
    assert r.consumption == pytest.approx(70.0)
    assert r.shortage == pytest.approx(CURVE.quantity(100.0) - 70.0)


def test_identical_offers_share_the_margin_equally_whatever_their_order():
    r = clear_market(np.array([50.0, 80.0, 50.0]), np.array([40.0, 10.0, 40.0]), CURVE, 1000.0)
    assert r.price == 40.0
    assert r.accepted[0] == pytest.approx(r.accepted[2])


def test_a_bid_above_the_price_is_filled_and_one_below_is_not():
    offers_q, offers_p = np.array([200.0]), np.array([45.0])
    r = clear_market(
        offers_q, offers_p, CURVE, 1000.0, np.array([10.0, 10.0]), np.array([60.0, 30.0])
    )
    assert r.price == 45.0
    assert r.filled.tolist() == [10.0, 0.0]
    assert r.accepted.sum() == pytest.approx(r.consumption + r.filled.sum())


def test_bid_limits_must_sit_under_the_cap():
    with pytest.raises(ValueError, match="below the price cap"):
        clear_market(
            np.array([1.0]), np.array([1.0]), CURVE, 100.0, np.array([1.0]), np.array([100.0])
        )


offers = st.lists(
    st.tuples(st.floats(0, 500), st.sampled_from([0.0, 10.0, 30.0, 45.0, 60.0, 90.0, 200.0])),
    min_size=0,
    max_size=12,
)
bids = st.lists(
    st.tuples(st.floats(0, 100), st.sampled_from([10.0, 30.0, 45.0, 60.0, 70.0])),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(offers, bids, st.floats(-1.5, -0.05), st.floats(1.0, 1000.0))
def test_books_close_and_the_price_is_an_equilibrium(offer_list, bid_list, elasticity, ref_qty):
    curve = DemandCurve(ref_qty, 50.0, elasticity)
    cap = 500.0
    q = np.array([o[0] for o in offer_list], float)
    a = np.array([o[1] for o in offer_list], float)
    bq = np.array([b[0] for b in bid_list], float)
    bl = np.array([b[1] for b in bid_list], float)
    r = clear_market(q, a, curve, cap, bq, bl)

    assert 0.0 < r.price <= cap and np.isfinite(r.price)
    # What sellers sold is what consumers and bidders took.
    assert r.accepted.sum() == pytest.approx(r.consumption + r.filled.sum(), rel=1e-9, abs=1e-6)
    assert np.all(r.accepted >= -1e-9) and np.all(r.accepted <= q + 1e-9)
    assert np.all(r.filled >= -1e-9) and np.all(r.filled <= bq + 1e-9)
    # Merit order: offers under the price sell in full, offers over it sell nothing.
    assert np.allclose(r.accepted[a < r.price], q[a < r.price])
    assert np.all(r.accepted[a > r.price] == 0)
    assert np.all(r.filled[bl < r.price] == 0)
    assert np.allclose(r.filled[bl > r.price], bq[bl > r.price])
    # Consumers are on their demand curve unless rationed at the cap.
    if r.price < cap:
        assert r.consumption == pytest.approx(curve.quantity(r.price), rel=1e-9)
        assert r.shortage == 0.0
    else:
        assert r.consumption + r.shortage == pytest.approx(curve.quantity(cap), rel=1e-9)

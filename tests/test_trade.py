"""Regions linked by trade: the spatial price equilibrium's properties, on random markets."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.clearing import DemandCurve, Routes, clear_regions

CAP = 500.0
HOME, ALLIED, REST = 0, 1, 2


def _routes(freight: float, duty: float, closed: bool = False) -> Routes:
    """Origins: 0 the dominant side (home region 0), 1 allied firms (home region 1)."""
    cost = np.full((2, 3), freight)
    cost[0, 0] = cost[1, 1] = 0.0
    if closed:
        cost[1, 0] = np.inf
    dut = np.zeros((2, 3))
    dut[0, 1] = duty
    return Routes(cost, dut)


markets = st.fixed_dictionaries(
    {
        "offers": st.lists(
            st.tuples(
                st.one_of(st.just(0.0), st.floats(1e-6, 400)),  # tonnes: none, or some
                st.sampled_from([0.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 200.0]),
                st.integers(0, 1),
            ),
            max_size=10,
        ),
        "bids": st.lists(
            st.tuples(
                st.one_of(st.just(0.0), st.floats(1e-6, 100)),
                st.sampled_from([15.0, 30.0, 45.0, 70.0]),
            ),
            max_size=3,
        ),
        "demand": st.tuples(
            st.one_of(st.just(0.0), st.floats(1, 1000)),
            st.one_of(st.just(0.0), st.floats(1, 1000)),
            st.one_of(st.just(0.0), st.floats(1, 1000)),
        ),
        "elasticity": st.floats(-1.5, -0.05),
        "freight": st.one_of(st.just(0.0), st.floats(0, 20)),
        "duty": st.one_of(st.just(0.0), st.floats(0, 2)),
        "closed": st.booleans(),
        "quota": st.one_of(st.just(math.inf), st.floats(0, 500)),
    }
)


def _clear(m, arcs=None):
    q = np.array([o[0] for o in m["offers"]], float)
    a = np.array([o[1] for o in m["offers"]], float)
    origin = np.array([o[2] for o in m["offers"]], int)
    curves = [DemandCurve(d, 50.0, m["elasticity"]) for d in m["demand"]]
    bq = np.array([b[0] for b in m["bids"]], float)
    bl = np.array([b[1] for b in m["bids"]], float)
    routes = _routes(m["freight"], m["duty"], m["closed"])
    trade = clear_regions(
        q,
        a,
        origin,
        routes,
        curves,
        CAP,
        bq,
        bl,
        np.full(len(bq), ALLIED),
        export_cap=np.array([m["quota"], math.inf]),
        home=np.array([HOME, ALLIED]),
        arcs=arcs,
    )
    return trade, q, a, origin, curves, bq, bl, routes


@settings(max_examples=400, deadline=None)
@given(markets)
def test_after_clearing_no_arbitrage_is_left_and_the_books_close(m):
    trade, q, a, origin, curves, bq, _, routes = _clear(m)
    tol = 1e-7 * CAP
    # Mass: what each origin sold went somewhere, and what each region got was used.
    assert np.allclose(trade.flows.sum(axis=1), np.bincount(origin, trade.accepted, 2), atol=1e-6)
    got = trade.consumption.copy()
    got[ALLIED] += trade.filled.sum()
    assert np.allclose(trade.flows.sum(axis=0), got, rtol=1e-9, atol=1e-6)
    assert np.all(trade.flows >= -1e-6) and np.all(trade.accepted <= q + 1e-9)
    quota_binds = trade.flows[0, 1:].sum() >= m["quota"] - 1e-6
    for r, curve in enumerate(curves):
        buyers = curve.reference_qty > 0 or (r == ALLIED and np.any(bq > 0))
        assert math.isnan(trade.prices[r]) == (not buyers)
        if not buyers:
            assert trade.flows[:, r].sum() == 0
            continue
        p = trade.prices[r]
        assert 0 <= p <= CAP
        if curve.reference_qty > 0 and p < CAP:  # consumers are on their curve
            assert trade.consumption[r] == pytest.approx(curve.quantity(p), rel=1e-7)
        for o in range(2):
            if not np.isfinite(routes.cost[o, r]):
                assert trade.flows[o, r] == 0
                continue
            nets = trade.export_netbacks[o] if r != o and quota_binds and o == 0 else None
            n = trade.netbacks[o] if nets is None else nets
            if trade.flows[o, r] > 1e-9 * max(
                1.0, q.sum()
            ):  # where goods flow, the gap is the route's wedge
                assert routes.landed(o, r, n) == pytest.approx(p, abs=tol)
            elif np.any((origin == o) & (q > 0)):
                # where they do not, shipping would not pay
                sells = trade.flows[o].sum() > 0
                floor = n if sells else a[(origin == o) & (q > 0)].min()
                assert routes.netback(o, r, p) <= floor + tol or (o == 0 and quota_binds)
    # Merit order within each origin: under its netback in full, over it nothing.
    for o in range(2):
        n = trade.netbacks[o]
        if math.isnan(n):
            continue
        mine = (origin == o) & (q > 0)
        if not (o == 0 and quota_binds):
            assert np.allclose(trade.accepted[mine & (a < n - tol)], q[mine & (a < n - tol)])
            assert np.all(trade.accepted[mine & (a > n + tol)] == 0)


@settings(max_examples=200, deadline=None)
@given(markets)
def test_the_answer_does_not_depend_on_where_the_search_starts(m):
    first = _clear(m)[0]
    for hint in (frozenset(), frozenset({(0, 0), (0, 1), (0, 2), (1, 1)}), frozenset({(1, 2)})):
        again = _clear(m, hint)[0]
        assert np.allclose(again.prices, first.prices, equal_nan=True, atol=1e-6 * CAP)
        # Who goes short when every region is at its cap is rationing, not price: only
        # below the caps is consumption pinned down.
        if not np.any(first.shortage > 0):
            assert np.allclose(again.consumption, first.consumption, rtol=1e-7, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(markets)
def test_without_wedges_every_region_pays_one_price(m):
    """A quota or a duty separates prices; with neither, and free trade, nothing else does."""
    m = {**m, "freight": 0.0, "duty": 0.0, "closed": False, "quota": math.inf}
    trade = _clear(m)[0]
    prices = trade.prices[~np.isnan(trade.prices)]
    if trade.flows.sum() > 1e-6:
        assert np.allclose(prices, prices.max(), rtol=1e-9)


def test_an_export_quota_raises_both_export_prices_together_and_lowers_the_home_price():
    """Competitive dominant blocks (ask = cost) serve all three regions; a quota on exports
    splits the home price from the two export prices, which move together (one freight apart)."""
    costs = np.linspace(20.0, 40.0, 40)
    q, a = np.full(40, 25.0), costs
    origin = np.zeros(40, int)
    curves = [DemandCurve(d, 30.0, -0.3) for d in (600.0, 150.0, 100.0)]
    routes = Routes(np.array([[0.0, 1.0, 1.0]]), np.zeros((1, 3)))
    free = clear_regions(q, a, origin, routes, curves, CAP)
    exports = free.flows[0, 1:].sum()
    cut = clear_regions(
        q, a, origin, routes, curves, CAP, export_cap=np.array([0.6 * exports]), home=np.array([0])
    )
    assert cut.prices[ALLIED] > 1.5 * free.prices[ALLIED]
    assert cut.prices[REST] == pytest.approx(cut.prices[ALLIED])
    assert cut.prices[HOME] < free.prices[HOME] - 1.0
    assert cut.flows[0, 1:].sum() == pytest.approx(0.6 * exports)
    assert cut.export_netbacks[0] > cut.netbacks[0]  # the quota's rent

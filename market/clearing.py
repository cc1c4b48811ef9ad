"""Uniform-price market clearing on plain numpy arrays (no Mesa here).

One region, one quarter. Sellers make offers (tonnes, ask in USD/kg) and are dispatched in merit
order; consumers follow a constant-elasticity demand curve; price-limited bids (stockpile buying)
add to demand at or below their limit. The clearing price is the lowest price at which supply
covers demand. If even the price cap does not bring demand down to the available supply, the
market clears at the cap and the unmet consumer demand is the shortage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DemandCurve:
    """Consumers' demand D(p) = reference_qty * (p / reference_price) ** elasticity.

    reference_qty is in tonnes per quarter at reference_price (USD/kg); elasticity < 0.
    """

    reference_qty: float
    reference_price: float
    elasticity: float

    def quantity(self, price: float | np.ndarray) -> float | np.ndarray:
        if isinstance(price, float | int):
            if price <= 0:
                return math.inf
            try:  # as a Python float, so an overflow raises instead of warning
                return self.reference_qty * (float(price) / self.reference_price) ** self.elasticity
            except (OverflowError, ZeroDivisionError):  # a price too near zero for a float
                return math.inf
        with np.errstate(divide="ignore", over="ignore"):
            return self.reference_qty * (np.asarray(price, float) / self.reference_price) ** (
                self.elasticity
            )

    def price(self, quantity: float) -> float:
        """Inverse demand: the price at which consumers take `quantity` tonnes."""
        if quantity <= 0.0:
            return float("inf")
        try:
            return float(
                self.reference_price * (quantity / self.reference_qty) ** (1.0 / self.elasticity)
            )
        except (OverflowError, ZeroDivisionError):  # a quantity too near zero for a float
            return float("inf")


@dataclass(frozen=True)
class Clearing:
    """What one region's market did in one quarter (tonnes, USD/kg)."""

    price: float  # NaN when the region has no buyers
    accepted: np.ndarray  # tonnes sold, per offer
    filled: np.ndarray  # tonnes bought, per bid
    consumption: float  # tonnes taken by consumers
    shortage: float  # consumer demand left unmet at the price cap

    @property
    def supply(self) -> float:
        return float(self.accepted.sum())


def clear_market(
    offer_qty: np.ndarray,
    offer_ask: np.ndarray,
    demand: DemandCurve,
    price_cap: float,
    bid_qty: np.ndarray | None = None,
    bid_limit: np.ndarray | None = None,
) -> Clearing:
    """Clear one region: merit order against demand plus price-limited bids.

    Offers with the same ask share the marginal volume pro rata, so identical firms are treated
    identically whatever their order in the arrays.
    """
    offer_qty = np.asarray(offer_qty, float)
    offer_ask = np.asarray(offer_ask, float)
    bid_qty = np.zeros(0) if bid_qty is None else np.asarray(bid_qty, float)
    bid_limit = np.zeros(0) if bid_limit is None else np.asarray(bid_limit, float)
    if price_cap <= 0:
        raise ValueError("price_cap must be positive")
    if np.any((bid_limit >= price_cap) & (bid_qty > 0)):
        raise ValueError("bid limits must be below the price cap")
    if demand.reference_qty <= 0 and not np.any(bid_qty > 0):
        # No buyers at any price: nothing trades and there is no price to report.
        return Clearing(math.nan, np.zeros_like(offer_qty), np.zeros_like(bid_qty), 0.0, 0.0)
    if len(offer_qty) == 1 and not bid_qty.size and offer_qty[0] > 0:
        return _clear_one_offer(offer_qty, offer_ask, demand, price_cap)

    live = offer_qty > 0
    asks = np.minimum(np.maximum(offer_ask, 0.0), price_cap)
    bids_live = bid_qty > 0

    # Candidate prices: every ask and bid limit, and the cap. Repeats do no harm.
    live_asks, live_limits = asks[live], bid_limit[bids_live]
    points = np.sort(np.concatenate([live_asks, live_limits, [price_cap]]))
    order = np.argsort(live_asks)
    cum_offer = np.concatenate([[0.0], np.cumsum(offer_qty[live][order])])
    supply_at = cum_offer[np.searchsorted(live_asks[order], points, side="right")]
    demand_at = demand.quantity(points)
    if live_limits.size:
        order_b = np.argsort(live_limits)
        from_top = np.cumsum(bid_qty[bids_live][order_b][::-1])[::-1]
        bids_at = np.concatenate([from_top, [0.0]])[
            np.searchsorted(live_limits[order_b], points, side="left")
        ]
        demand_at = demand_at + bids_at
    else:
        bids_at = np.zeros_like(points)

    covered = np.flatnonzero(supply_at >= demand_at)
    if covered.size == 0:
        # Supply runs out below the cap: everything offered sells and consumers are rationed.
        accepted = np.where(live, offer_qty, 0.0)
        consumption = float(accepted.sum())
        shortage = max(float(demand.quantity(price_cap)) - consumption, 0.0)
        return Clearing(price_cap, accepted, np.zeros_like(bid_qty), consumption, shortage)

    k = int(covered[0])
    if k == 0:
        return _clear_at_point(points[0], offer_qty, asks, live, bid_qty, bid_limit, demand)

    # Between two candidate points supply is flat at `below` and so are the bids; the
    # consumers' curve may cross there, or the price sits on one of the two points.
    lo, hi = points[k - 1], points[k]
    below = supply_at[k - 1]
    bids_above = bids_at[k]
    left_for_consumers = below - bids_above
    if left_for_consumers >= demand.quantity(lo):
        # Bids at exactly `lo` are the marginal buyers: they take what consumers leave.
        return _clear_at_point(lo, offer_qty, asks, live, bid_qty, bid_limit, demand)
    if left_for_consumers > demand.quantity(hi):
        price = demand.price(left_for_consumers)
        accepted = np.where(live & (asks <= lo), offer_qty, 0.0)
        filled = np.where(bids_live & (bid_limit >= hi), bid_qty, 0.0)
        return Clearing(price, accepted, filled, float(left_for_consumers), 0.0)
    return _clear_at_point(hi, offer_qty, asks, live, bid_qty, bid_limit, demand)


def _clear_one_offer(
    offer_qty: np.ndarray, offer_ask: np.ndarray, demand: DemandCurve, price_cap: float
) -> Clearing:
    """`clear_market` for one live offer and no bids (a region one seller serves): the same
    steps and arithmetic without the sorting, since its ask and the cap are the only
    candidate prices. A test holds it to the general path's answers exactly."""
    qty = float(offer_qty[0])
    ask = min(max(float(offer_ask[0]), 0.0), price_cap)
    none = np.zeros(0)
    at_ask, at_cap = demand.quantity(ask), demand.quantity(price_cap)
    if qty < at_ask and qty < at_cap:
        shortage = max(float(at_cap) - qty, 0.0)
        return Clearing(price_cap, np.array([qty]), none, qty, shortage)
    if qty >= at_ask:
        price = ask
    elif qty > at_cap:
        return Clearing(demand.price(qty), np.array([qty]), none, qty, 0.0)
    else:
        price = price_cap
    consumption = float(demand.quantity(price))
    # Under the price it sells in full; at the price it is marginal and sells what consumers
    # take, up to all of it.
    sold = qty if ask < price else qty * _share(min(qty, consumption), qty)
    return Clearing(float(price), np.array([sold]), none, consumption, 0.0)


def _clear_at_point(
    price: float,
    offer_qty: np.ndarray,
    asks: np.ndarray,
    live: np.ndarray,
    bid_qty: np.ndarray,
    bid_limit: np.ndarray,
    demand: DemandCurve,
) -> Clearing:
    """Settle at a price where an offer or a bid is marginal; the marginal side is pro-rated."""
    consumption = float(demand.quantity(price))
    supply_below = float(offer_qty[live & (asks < price)].sum())
    supply_at = float(offer_qty[live & (asks == price)].sum())
    bids_above = float(bid_qty[bid_limit > price].sum())
    bids_at = float(bid_qty[bid_limit == price].sum())
    wanted = consumption + bids_above
    # Demand above the price is met in full; marginal offers and marginal bids meet in between.
    traded = min(supply_below + supply_at, wanted + bids_at)
    offer_share = _share(traded - supply_below, supply_at)
    bid_share = _share(traded - wanted, bids_at)
    accepted = np.where(
        live & (asks < price),
        offer_qty,
        np.where(live & (asks == price), offer_qty * offer_share, 0.0),
    )
    filled = np.where(
        bid_limit > price, bid_qty, np.where(bid_limit == price, bid_qty * bid_share, 0.0)
    )
    return Clearing(float(price), accepted, filled, consumption, 0.0)


def _share(amount: float, pool: float) -> float:
    if pool <= 0.0:
        return 0.0
    return min(max(amount / pool, 0.0), 1.0)

"""Uniform-price market clearing on plain numpy arrays (no Mesa here).

One region, one quarter. Sellers make offers (tonnes, ask in USD/kg) and are dispatched in merit
order; consumers follow a constant-elasticity demand curve; price-limited bids (stockpile buying)
add to demand at or below their limit. The clearing price is the lowest price at which supply
covers demand. If even the price cap does not bring demand down to the available supply, the
market clears at the cap and the unmet consumer demand is the shortage.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate, combinations
from typing import Any

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
        if isinstance(price, (float, int)):  # a tuple: no union type built on every call
            return self.at(float(price))
        with np.errstate(divide="ignore", over="ignore"):
            return self.reference_qty * (np.asarray(price, float) / self.reference_price) ** (
                self.elasticity
            )

    def at(self, price: float) -> float:
        """`quantity` at one price, a Python float (the clearing's inner loop calls this)."""
        if price <= 0:
            return math.inf
        try:  # as a Python float, so an overflow raises instead of warning
            return self.reference_qty * (price / self.reference_price) ** self.elasticity
        except (OverflowError, ZeroDivisionError):  # a price too near zero for a float
            return math.inf

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
    """Clear one region on its own: merit order against demand plus price-limited bids.

    Offers with the same ask share the marginal volume pro rata, so identical firms are treated
    identically whatever their order in the arrays. It is `clear_regions` with one region.
    """
    offer_qty = np.asarray(offer_qty, float)
    bids = 0 if bid_qty is None else len(bid_qty)
    trade = clear_regions(
        offer_qty,
        offer_ask,
        np.zeros(len(offer_qty), int),
        Routes(np.zeros((1, 1)), np.zeros((1, 1))),
        [demand],
        price_cap,
        bid_qty,
        bid_limit,
        np.zeros(bids, int),
    )
    return Clearing(
        float(trade.prices[0]),
        trade.accepted,
        trade.filled,
        float(trade.consumption[0]),
        float(trade.shortage[0]),
    )


def _share(amount: float, pool: float) -> float:
    if pool <= 0.0:
        return 0.0
    return min(max(amount / pool, 0.0), 1.0)


# --- several regions linked by trade --------------------------------------------------------


@dataclass(frozen=True)
class Routes:
    """What it costs to ship from each origin to each region, as wedges between the price buyers
    pay there (p) and what the seller nets at the gate (n): p = (n + cost) * (1 + duty).

    cost[o, r] is USD/kg (freight, a compliance charge; negative for an export subsidy; inf
    where the route is closed); duty[o, r] is an ad valorem share levied on the landed value.
    """

    cost: np.ndarray
    duty: np.ndarray

    def landed(self, origin: int, region: int, netback: float) -> float:
        return (netback + self.cost[origin, region]) * (1.0 + self.duty[origin, region])

    def netback(self, origin: int, region: int, price: float) -> float:
        return price / (1.0 + self.duty[origin, region]) - self.cost[origin, region]


@dataclass(frozen=True)
class Trade:
    """What the linked regions did in one quarter (tonnes, USD/kg)."""

    prices: np.ndarray  # per region; NaN where no one buys
    netbacks: np.ndarray  # per origin, at the gate, for its home-region sales (NaN: sold nowhere)
    export_netbacks: np.ndarray  # per origin, for exports (above `netbacks` when a quota binds)
    flows: np.ndarray  # [origin, region] tonnes shipped
    accepted: np.ndarray  # per offer, tonnes sold
    filled: np.ndarray  # per bid, tonnes bought
    consumption: np.ndarray  # per region, tonnes consumers took
    shortage: np.ndarray  # per region, consumer demand unmet at the price cap
    arcs: frozenset[tuple[int, int]]  # the routes goods took: a hint for the next quarter


def clear_regions(
    offer_qty: np.ndarray,
    offer_ask: np.ndarray,
    offer_origin: np.ndarray,
    routes: Routes,
    demands: list[DemandCurve],
    price_cap: float,
    bid_qty: np.ndarray | None = None,
    bid_limit: np.ndarray | None = None,
    bid_region: np.ndarray | None = None,
    export_cap: np.ndarray | None = None,
    home: np.ndarray | None = None,
    arcs: frozenset[tuple[int, int]] | None = None,
) -> Trade:
    """Clear regions linked by trade as one spatial price equilibrium (Samuelson 1952;
    Takayama and Judge 1971).

    Every offer (tonnes, ask at its origin's gate) may go to any region its origin has a route
    to, and goes where it nets the most. After clearing no profitable arbitrage is left: where
    goods flow from an origin to a region the price there is the origin's netback carried along
    the route; where they do not, the price is no higher. Each region clears like one market
    (merit order, price-limited bids, the price cap, shortage). `export_cap[o]` (t, inf for
    none) caps what origin o ships outside its `home[o]` region: a binding quota splits its
    netbacks, so exports earn a rent over home sales.

    `arcs` (the routes used last quarter) is only where the search starts; the answer does not
    depend on it.
    """
    offer_qty = np.asarray(offer_qty, float)  # an offer of no tonnes (or fewer) never sells
    offer_ask = np.asarray(offer_ask, float)
    offer_origin = np.asarray(offer_origin, int)
    bid_qty = np.zeros(0) if bid_qty is None else np.asarray(bid_qty, float)
    bid_limit = np.zeros(0) if bid_limit is None else np.asarray(bid_limit, float)
    bid_region = np.zeros(0, int) if bid_region is None else np.asarray(bid_region, int)
    n_origins, n_regions = routes.cost.shape
    if price_cap <= 0:
        raise ValueError("price_cap must be positive")
    for limit, want in zip(bid_limit.tolist(), bid_qty.tolist(), strict=True):
        if limit >= price_cap and want > 0:
            raise ValueError("bid limits must be below the price cap")
    problem = _Problem(
        offer_qty,
        offer_ask,
        offer_origin,
        routes,
        demands,
        price_cap,
        bid_qty,
        bid_limit,
        bid_region,
        n_origins,
        n_regions,
    )
    solution = problem.solve(arcs)
    if export_cap is None or home is None:
        return solution.trade()
    export_cap, home = np.asarray(export_cap, float), np.asarray(home, int)
    exports, home_of = [0.0] * n_origins, home.tolist()
    for (o, r), flow in solution.flows.items():
        if r != home_of[o]:
            exports[o] += flow
    over = [
        o
        for o, (sent, cap) in enumerate(zip(exports, export_cap.tolist(), strict=True))
        if sent > cap * (1 + 1e-12) + 1e-9
    ]
    if not over:
        return solution.trade()
    return _clear_with_quotas(problem, export_cap, home, np.array(over))


def _clear_with_quotas(
    problem: _Problem, export_cap: np.ndarray, home: np.ndarray, capped: np.ndarray
) -> Trade:
    """An origin whose export quota binds ships exactly its quota abroad: the cheapest tonnes
    of its merit order take the licences, and the rest can only be sold at home. So it becomes
    two origins: the quota (sold abroad whatever it nets there) and the remainder (home only)."""
    qty, ask, origin = problem.qty.copy(), problem.ask.copy(), problem.origin.copy()
    cost, duty = problem.routes.cost.copy(), problem.routes.duty.copy()
    n_o = problem.n_origins
    extra_cost, extra_duty = [], []
    quota_offer = {}
    for o in capped:
        take = float(export_cap[o])
        for row in problem.rows[o]:  # the licensed tonnes come off the cheap end of the home stack
            used = min(qty[row], take)
            qty[row] -= used
            take -= used
        licensed = float(export_cap[o]) - take
        quota_offer[int(o)] = len(qty)
        qty = np.append(qty, licensed)
        ask = np.append(ask, -np.inf)  # licensed tonnes sell abroad whatever they net
        origin = np.append(origin, n_o + len(extra_cost))
        row_cost = cost[o].copy()
        row_cost[home[o]] = np.inf  # the licence is for export
        extra_cost.append(row_cost)
        extra_duty.append(duty[o].copy())
        cost[o] = np.where(np.arange(problem.n_regions) == home[o], cost[o, home[o]], np.inf)
    split = _Problem(
        qty,
        ask,
        origin,
        Routes(np.vstack([cost, *extra_cost]), np.vstack([duty, *extra_duty])),
        problem.demands,
        problem.price_cap,
        problem.bid_qty,
        problem.bid_limit,
        problem.bid_region,
        n_o + len(extra_cost),
        problem.n_regions,
    )
    whole = split.solve(None).trade()
    # Fold the quota origins back into their parents.
    flows = whole.flows[:n_o].copy()
    export_netbacks = whole.netbacks[:n_o].copy()
    for k, o in enumerate(capped):
        flows[o] += whole.flows[n_o + k]
        export_netbacks[o] = whole.netbacks[n_o + k]
    accepted = whole.accepted[: len(problem.qty)].copy()
    for o in quota_offer:  # the quota origin sells in merit order over its whole stack
        sold = float(flows[o].sum())
        for row in problem.rows[o]:
            accepted[row] = min(problem.qty[row], sold)
            sold -= accepted[row]
    return Trade(
        whole.prices,
        whole.netbacks[:n_o],
        export_netbacks,
        flows,
        accepted,
        whole.filled,
        whole.consumption,
        whole.shortage,
        frozenset(a for a in whole.arcs if a[0] < n_o),
    )


@dataclass
class _Solution:
    """One forest's answer, in plain lists until the search settles on it."""

    problem: _Problem
    arcs: frozenset[tuple[int, int]]
    prices: list[float]
    netbacks: list[float]
    flows: dict[tuple[int, int], float]  # on the forest's routes
    sold: list[float]  # per origin, tonnes
    margins: list[tuple[int, int, int, float]]  # origin, offers sold in full, marginal, share
    filled: list[float]
    consumption: list[float]
    shortage: list[float]
    received: list[float]  # per region, consumers' and bidders' tonnes

    def flow_table(self) -> np.ndarray:
        n_o, n_r = self.problem.n_origins, self.problem.n_regions
        table = [0.0] * (n_o * n_r)
        for (o, r), flow in self.flows.items():
            table[o * n_r + r] = flow
        return np.array(table).reshape(n_o, n_r)

    def accepted(self) -> np.ndarray:
        p = self.problem
        accepted = [0.0] * len(p.offered)
        for o, full, marginal, share in self.margins:
            rows = p.rows[o]
            for row in rows[:full]:
                accepted[row] = p.offered[row]
            for row in rows[full:marginal]:
                accepted[row] = p.offered[row] * share
        return np.array(accepted)

    def trade(self, export_netbacks: list[float] | None = None) -> Trade:
        netbacks = np.array(self.netbacks)
        return Trade(
            np.array(self.prices),
            netbacks,
            netbacks.copy() if export_netbacks is None else np.array(export_netbacks),
            self.flow_table(),
            self.accepted(),
            np.array(self.filled),
            np.array(self.consumption),
            np.array(self.shortage),
            self.arcs,
        )


class _Problem:
    """One quarter's spatial equilibrium, solved as a forest of routes in use.

    Within a tree of routes every price and netback is an increasing affine function of one
    number (the price in the tree's first region), so the tree clears as one market along that
    line. The search adds a route where arbitrage pays and drops one that would carry goods
    backwards, as the network simplex does, until neither is left.
    """

    def __init__(
        self,
        qty: np.ndarray,
        ask: np.ndarray,
        origin: np.ndarray,
        routes: Routes,
        demands: list[DemandCurve],
        price_cap: float,
        bid_qty: np.ndarray,
        bid_limit: np.ndarray,
        bid_region: np.ndarray,
        n_origins: int,
        n_regions: int,
    ) -> None:
        self.qty, self.ask, self.origin = qty, ask, origin
        self.routes, self.demands, self.price_cap = routes, demands, float(price_cap)
        self.bid_qty, self.bid_limit, self.bid_region = bid_qty, bid_limit, bid_region
        self.n_origins, self.n_regions = n_origins, n_regions
        self.cost = routes.cost.tolist()
        self.duty = routes.duty.tolist()
        self.allowed = [
            (o, r)
            for o in range(n_origins)
            for r in range(n_regions)
            if math.isfinite(self.cost[o][r])
        ]
        # Each origin's live offers in merit order: rows, asks and the tonnes up to each. The
        # sort is stable (equal asks keep their order) and puts an ask that is not a number
        # last, as numpy sorts.
        self.offered = qty.tolist()  # tonnes per offer, as plain floats
        every_ask = ask.tolist()
        self.rows = [[] for _ in range(n_origins)]
        for row, (tonnes, o) in enumerate(zip(self.offered, origin.tolist(), strict=True)):
            if tonnes > 0:
                self.rows[o].append(row)
        merit = every_ask.__getitem__
        if any(map(math.isnan, every_ask)):
            merit = lambda row: (math.isnan(every_ask[row]), every_ask[row])  # noqa: E731
        for rows in self.rows:
            rows.sort(key=merit)
        self.asks = [[every_ask[row] for row in rows] for rows in self.rows]
        tonnes = self.offered
        self.cum = [
            list(accumulate([tonnes[row] for row in rows], initial=0.0)) for rows in self.rows
        ]
        self.sells = [len(a) > 0 for a in self.asks]
        self.min_ask = [a[0] if a else math.inf for a in self.asks]
        # Bids as plain floats, and each region's live bids.
        self.wants, self.limits = bid_qty.tolist(), bid_limit.tolist()
        self.bid_regions = bid_region.tolist()
        self.bids: list[list[int]] = [[] for _ in range(n_regions)]
        for i, (want, r) in enumerate(zip(self.wants, self.bid_regions, strict=True)):
            if want > 0:
                self.bids[r].append(i)
        self.at_cap = [d.quantity(self.price_cap) if d.reference_qty > 0 else 0.0 for d in demands]
        self.buys = [demands[r].reference_qty > 0 or bool(self.bids[r]) for r in range(n_regions)]
        self.tol = 1e-9 * self.price_cap

    def netback(self, o: int, r: int, price: float) -> float:
        return price / (1.0 + self.duty[o][r]) - self.cost[o][r]

    # --- the search over forests of routes -----------------------------------------------------

    def solve(self, hint: frozenset[tuple[int, int]] | None) -> _Solution:
        forest = self._start(hint)
        seen: set[frozenset[tuple[int, int]]] = set()
        while forest not in seen:
            seen.add(forest)
            sol = self._solve_forest(forest)
            shipped = max(1.0, sum(sol.sold))
            backwards = [a for a in forest if sol.flows.get(a, 0.0) < -1e-9 * shipped]
            if backwards:
                forest = forest - {min(backwards, key=lambda a: sol.flows[a])}
                continue
            entering = self._best_arbitrage(sol, forest)
            if entering is None:
                return sol
            forest = self._enter(forest, entering, sol)
        return self._exhaustive()

    def _useful(self, arc: tuple[int, int]) -> bool:
        return self.sells[arc[0]] and self.buys[arc[1]]

    def _start(self, hint: frozenset[tuple[int, int]] | None) -> frozenset[tuple[int, int]]:
        """Last quarter's routes, else the cheapest routes that make no cycle."""
        candidates = [a for a in (hint or ()) if a in self.allowed] or sorted(
            self.allowed, key=lambda a: self.cost[a[0]][a[1]]
        )
        forest: set[tuple[int, int]] = set()
        # Union-find over the nodes, origins first then regions: a route between two nodes
        # already joined would close a cycle.
        parent = list(range(self.n_origins + self.n_regions))

        def root(node: int) -> int:
            while parent[node] != node:
                node = parent[node]
            return node

        for o, r in candidates:
            if not self._useful((o, r)):
                continue
            a, b = root(o), root(self.n_origins + r)
            if a != b:
                parent[a] = b
                forest.add((o, r))
        return frozenset(forest)

    def _supply_prices(self, sol: _Solution) -> list[tuple[int, float]]:
        """Each origin with offers and the least it would take at its gate for more."""
        return [
            (o, sol.netbacks[o] if sol.sold[o] > 0 else self.min_ask[o])
            for o in range(self.n_origins)
            if self.sells[o]
        ]

    def _gain(self, sol: _Solution, o: int, r: int) -> float:
        """What origin o would gain a kg by shipping to region r (<= 0: nothing)."""
        there = self.netback(o, r, sol.prices[r])
        if sol.sold[o] > 0:
            return there - sol.netbacks[o]
        # It sells nothing: only offers it could sell there count.
        return there - self.min_ask[o]

    def _best_arbitrage(self, sol: _Solution, forest) -> tuple[int, int] | None:
        """The unused route that pays most; else one that joins a region left short at its cap
        to another tree and nets as much as the origin gets there (a tie: short regions share
        what there is in proportion)."""
        best, gain, tie = None, self.tol, None
        for arc in self.allowed:
            if arc in forest or not self._useful(arc):
                continue
            g = self._gain(sol, *arc)
            if g > gain:
                best, gain = arc, g
            elif g >= -self.tol and sol.shortage[arc[1]] > 0 and not _path(forest, arc):
                tie = tie or arc
        return best or tie

    def _enter(self, forest, arc, sol: _Solution) -> frozenset[tuple[int, int]]:
        cycle = _path(forest, arc)
        if not cycle:
            return forest | {arc}
        # The route that leaves is the one carrying least on the cycle the new route closes.
        leaving = min(cycle, key=lambda a: sol.flows.get(a, 0.0))
        return (forest - {leaving}) | {arc}

    def _exhaustive(self) -> _Solution:
        """Every forest of the useful routes, for the rare market the search cycles on."""
        arcs = [a for a in self.allowed if self._useful(a)]
        best, worst = None, math.inf
        for size in range(len(arcs), -1, -1):
            for subset in combinations(arcs, size):
                forest: set[tuple[int, int]] = set()
                for arc in subset:
                    if _path(forest, arc):
                        break
                    forest.add(arc)
                else:
                    sol = self._solve_forest(frozenset(forest))
                    bad = self._violation(sol, forest)
                    if bad <= self.tol:
                        return sol
                    if bad < worst:
                        best, worst = sol, bad
        return best

    def _violation(self, sol: _Solution, forest) -> float:
        worst = max([0.0, *(-sol.flows.get(a, 0.0) for a in forest)])
        for arc in self.allowed:
            if arc not in forest and self._useful(arc):
                worst = max(worst, self._gain(sol, *arc))
        return worst

    # --- one forest --------------------------------------------------------------------------

    def _solve_forest(self, forest: frozenset[tuple[int, int]]) -> _Solution:
        n_o, n_r = self.n_origins, self.n_regions
        nan = math.nan
        sol = _Solution(
            self,
            forest,
            [nan] * n_r,
            [nan] * n_o,
            {},
            [0.0] * n_o,
            [],
            [0.0] * len(self.bid_qty),
            [0.0] * n_r,
            [0.0] * n_r,
            [0.0] * n_r,
        )
        placed = [False] * n_r
        for r0 in range(n_r):
            if placed[r0]:
                continue
            # Map every node of r0's tree to an affine function of the price in r0.
            maps_r: dict[int, tuple[float, float]] = {r0: (1.0, 0.0)}
            maps_o: dict[int, tuple[float, float]] = {}
            tree: list[tuple[int, int]] = []
            grew = True
            while grew:
                grew = False
                for o, r in forest:
                    if r in maps_r and o not in maps_o:
                        a, b = maps_r[r]
                        d, c = 1.0 + self.duty[o][r], self.cost[o][r]
                        maps_o[o] = (a / d, b / d - c)
                    elif o in maps_o and r not in maps_r:
                        g, h = maps_o[o]
                        d, c = 1.0 + self.duty[o][r], self.cost[o][r]
                        maps_r[r] = (g * d, (h + c) * d)
                    else:
                        continue
                    tree.append((o, r))
                    grew = True
            for r in maps_r:
                placed[r] = True
            self._clear_tree(maps_r, maps_o, tree, sol)
        # A region of bidders only where nothing arrives is priced at what the cheapest supply
        # would cost landed there, or at its highest bid if that is more (then the search
        # sees the trade that pays), whichever forest found it.
        for r in range(n_r):
            if self.buys[r] and self.at_cap[r] == 0 and sol.received[r] == 0:
                landed = [
                    (n + self.cost[o][r]) * (1.0 + self.duty[o][r])
                    for o, n in self._supply_prices(sol)
                    if math.isfinite(self.cost[o][r])
                ]
                if landed:
                    highest = max(self.limits[i] for i in self.bids[r])
                    sol.prices[r] = max(min(self.price_cap, max(min(landed), 0.0)), highest)
        return sol

    def _clear_tree(self, maps_r, maps_o, tree, sol: _Solution) -> None:
        cap = self.price_cap
        cap_at = {r: (cap - b) / a for r, (a, b) in maps_r.items()}
        # Offers: each origin's merit order as points on the line where each starts to sell.
        offers = [
            (o, [(ask - h) / g for ask in self.asks[o]], self.cum[o])
            for o, (g, h) in maps_o.items()
            if self.asks[o]
        ]
        # Bids: stockpiles at their limits, and each region's consumers at its cap, where they
        # take whatever they get up to D(cap); under the cap consumers follow the smooth part.
        bids = [
            (i, (self.limits[i] - b) / a, self.wants[i])
            for r, (a, b) in maps_r.items()
            for i in self.bids[r]
        ]
        bids += [(-1 - r, cap_at[r], self.at_cap[r]) for r in maps_r if self.at_cap[r] > 0]
        curves = [
            (self.demands[r], a, b, cap_at[r], self.at_cap[r])
            for r, (a, b) in maps_r.items()
            if self.demands[r].reference_qty > 0
        ]
        line = _Line(offers, bids, curves, max(cap_at.values()))
        level, offer_share, bid_share, below = line.clear()

        for o, points, cum in offers:
            full = bisect_right(points, level) if below else bisect_left(points, level)
            marginal = full if below else bisect_right(points, level)
            sol.margins.append((o, full, marginal, offer_share))
            sol.sold[o] = cum[full] + (cum[marginal] - cum[full]) * offer_share
        received = dict.fromkeys(maps_r, 0.0)
        for key, limit, want in bids:
            took = want if limit > level or (below and limit >= level) else 0.0
            if limit == level and not below:
                took = want * bid_share
            if key >= 0:
                sol.filled[key] = took
                received[self.bid_regions[key]] += took
            else:  # a region's consumers at its cap
                r = -1 - key
                if level >= cap_at[r]:
                    sol.consumption[r] = took
                    sol.shortage[r] = max(self.at_cap[r] - took, 0.0)
        for r, (a, b) in maps_r.items():
            if self.demands[r].reference_qty > 0 and level < cap_at[r]:
                sol.consumption[r] = self.demands[r].at(a * level + b)
        unbounded = [r for r in maps_r if not math.isfinite(sol.consumption[r])]
        if unbounded:  # a price too near 0 for a float: consumers take what is left over
            left = sum([sol.sold[o] for o in maps_o]) - sum(received.values())
            left -= sum([sol.consumption[r] for r in maps_r if r not in unbounded])
            for r in unbounded:
                sol.consumption[r] = max(left, 0.0) / len(unbounded)
        for r, (a, b) in maps_r.items():
            received[r] += sol.consumption[r]
            sol.received[r] = received[r]
            if self.buys[r]:
                sol.prices[r] = cap if level >= cap_at[r] else min(a * level + b, cap)
        for o, (g, h) in maps_o.items():
            sol.netbacks[o] = g * level + h
        # Flows along the tree from each node's balance, peeling leaves: each round the first
        # route (in the tree's order) with an origin or a region at its end.
        balance_o = {o: sol.sold[o] for o in maps_o}
        balance_r = {r: -received[r] for r in maps_r}
        degree_o, degree_r = dict.fromkeys(maps_o, 0), dict.fromkeys(maps_r, 0)
        for o, r in tree:
            degree_o[o] += 1
            degree_r[r] += 1
        edges = list(tree)
        while edges:
            for k, (o, r) in enumerate(edges):
                if degree_o[o] == 1:
                    flow = balance_o[o]
                elif degree_r[r] == 1:
                    flow = -balance_r[r]
                else:
                    continue
                sol.flows[o, r] = flow
                balance_o[o] -= flow
                balance_r[r] += flow
                degree_o[o] -= 1
                degree_r[r] -= 1
                del edges[k]
                break


def _path(forest, arc: tuple[int, int]) -> list[tuple[int, int]]:
    """The routes of `forest` that join arc's origin to its region ([] if none do)."""
    links: dict[tuple[str, int], list[tuple[tuple[str, int], tuple[int, int]]]] = {}
    for o, r in forest:  # each node's routes, in the forest's order
        links.setdefault(("o", o), []).append((("r", r), (o, r)))
        links.setdefault(("r", r), []).append((("o", o), (o, r)))
    start, goal = ("o", arc[0]), ("r", arc[1])
    back: dict[tuple[str, int], Any] = {start: None}
    frontier = [start]
    while frontier and goal not in back:  # depth first; a node's way back is fixed when found
        node = frontier.pop()
        for nxt, route in links.get(node, ()):
            if nxt not in back:
                back[nxt] = (node, route)
                frontier.append(nxt)
    if goal not in back:
        return []
    path, node = [], goal
    while back[node] is not None:
        node, a = back[node]
        path.append(a)
    return path


class _Line:
    """One tree of routes cleared as one market along its line (see `_Problem`): the steps of
    `clear_market`, on the line instead of one region's price.

    `offers` are (origin, points where each offer starts to sell, in order, tonnes up to each);
    `bids` are (key, limit, tonnes), taken at or under their limits; `curves` are the consumers
    under their caps: (curve, slope, intercept, cap point, demand at the cap).
    """

    def __init__(self, offers, bids, curves, top: float) -> None:
        self.offers, self.bids, self.curves, self.top = offers, bids, curves, top
        self.stacks = [(points, cum) for _, points, cum in offers]
        self.limits = sorted(limit for _, limit, _ in bids)
        wants = [w for _, w in sorted((limit, want) for _, limit, want in bids)]
        self.from_top = [*[*accumulate(wants[::-1])][::-1], 0.0]
        # Supply and smooth demand at the points already evaluated: the search and the
        # settlement read several points twice.
        self._supply_at: dict[float, float] = {}
        self._smooth_at: dict[float, float] = {}

    def supply(self, level: float) -> float:
        """Tonnes offered at or under `level`."""
        tonnes = self._supply_at.get(level)
        if tonnes is None:
            tonnes = sum([cum[bisect_right(points, level)] for points, cum in self.stacks])
            self._supply_at[level] = tonnes
        return tonnes

    def bid(self, level: float) -> float:
        """Tonnes bid at or over `level`."""
        return self.from_top[bisect_left(self.limits, level)]

    def smooth(self, level: float) -> float:
        """Consumers' demand under their caps at `level`, less what they take at the cap."""
        total = self._smooth_at.get(level)
        if total is None:
            total = 0.0
            for curve, a, b, cap_at, at_cap in self.curves:
                if level < cap_at:
                    total += curve.at(a * level + b) - at_cap
            self._smooth_at[level] = total
        return total

    def clear(self) -> tuple[float, float, float, bool]:
        """(level, share of the marginal offers sold, share of the marginal bids taken, whether
        the level lies strictly between two points: then offers at or under the lower one sell
        in full and bids at or over the upper one are taken in full)."""
        top = self.top
        where = {p for pts, _ in self.stacks for p in pts if p <= top}
        where.update([limit for limit in self.limits if limit <= top])
        where.add(top)
        points = sorted(where)

        def covered(k: int) -> bool:
            p = points[k]
            return self.supply(p) >= self.smooth(p) + self.bid(p)

        lo_k, hi_k = 0, len(points)  # the first covered point, by bisection (it is monotone)
        while lo_k < hi_k:
            mid = (lo_k + hi_k) // 2
            if covered(mid):
                hi_k = mid
            else:
                lo_k = mid + 1
        if lo_k == len(points):
            # Supply runs out even where every price is at its cap: all of it sells, to the
            # buyers whose region nets sellers the most.
            return self._at(self.top, everything=True)
        k = lo_k
        if k == 0:
            return self._at(points[0])
        lo, hi = points[k - 1], points[k]
        left = self.supply(lo) - self.bid(hi)
        if left >= self.smooth(lo):
            return self._at(lo)
        if left > self.smooth(hi):
            return self.solve(left, lo, hi), 1.0, 1.0, True
        return self._at(hi)

    def _at(self, level: float, everything: bool = False) -> tuple[float, float, float, bool]:
        """Settle where an offer or a bid is marginal: the marginal side is pro-rated."""
        below = sum([cum[bisect_left(points, level)] for points, cum in self.stacks])
        upto = self.supply(level)
        above = self.from_top[bisect_right(self.limits, level)]
        at_b = self.bid(level) - above
        wanted = self.smooth(level) + above
        traded = upto if everything else min(upto, wanted + at_b)
        return level, _share(traded - below, upto - below), _share(traded - wanted, at_b), False

    def solve(self, target: float, lo: float, hi: float) -> float:
        """The level in (lo, hi) where the smooth demand equals `target` (it falls along the
        line): in closed form for one region, else by safeguarded Newton steps."""
        if len(self.curves) == 1:
            curve, a, b, _, at_cap = self.curves[0]
            return (curve.price(target + at_cap) - b) / a
        lo = max(lo, *(-b / a for _, a, b, _, _ in self.curves))  # where prices are positive
        level = 0.5 * (lo + hi)
        for _ in range(200):
            gap = self.smooth(level) - target
            if gap > 0:
                lo = level
            else:
                hi = level
            if gap == 0 or hi - lo <= 4 * math.ulp(max(abs(lo), abs(hi))):
                break
            slope = sum(
                curve.elasticity * curve.at(a * level + b) / (a * level + b) * a
                for curve, a, b, cap_at, _ in self.curves
                if level < cap_at
            )
            step = level - gap / slope if slope < 0 else math.nan
            level = step if lo < step < hi else 0.5 * (lo + hi)
        return level

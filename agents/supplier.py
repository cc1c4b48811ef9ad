"""The dominant, state-backed supplier (modelled on China's rare-earth refining)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

if TYPE_CHECKING:
    from market.model import MineralMarket

REGIONS = ("allied", "world")


class DominantSupplier(mesa.Agent):
    """Sells into both regions and picks a strategy each quarter.

    - market: a dominant firm facing a competitive fringe. It prices at the Lerner markup for the
      elasticity of its residual demand, e = (perceived + (1 - s) * fringe) / s, where s is its
      share; as rivals exit, s rises, e falls and the price goes up (recoupment).
    - dump: floods the allied market at `dump_depth` under the lowest allied cash cost; the state
      budget pays the profit it gives up against market play, and dumping ends when it is spent.
    - restrict: an export quota caps allied-market sales at (1 - quota_cut) of the year before.
    - adaptive: dumps when the allied producers' share of their market passes `adaptive_trigger`,
      stops when `adaptive_exit_target` of their capacity has gone or the budget is spent, then
      plays market (and so recoups).

    The budget pays each dumping quarter's sacrifice; the quarter that spends it may overshoot
    it, and the supplier bears the rest.
    """

    model: MineralMarket
    kind: ClassVar[str] = "supplier"

    # Its settings, from the scenario's `supplier` table (and `strategy`, a property below).
    capacity: float  # t/yr
    cash_cost: float  # USD/kg
    perceived_elasticity: float
    fringe_elasticity: float
    budget: float  # USD m left to pay for dumping
    dump_depth: float  # share under the lowest allied cash cost
    quota_cut: float  # share of allied sales cut under `restrict`
    adaptive_trigger: float
    adaptive_exit_target: float
    price_allied: float  # USD/kg it names itself; 0: the strategy decides
    price_world: float
    campaign_review: bool  # weighs each quarter whether a price war still pays (Brooke Group)

    def __init__(self, model: MineralMarket, params: dict[str, Any], share: float) -> None:
        super().__init__(model)
        for setting, value in params.items():
            setattr(self, setting, value)
        self.named_price = False  # a named price overrode the strategy this quarter
        self.share = share  # of all sales last quarter
        self.mode = "market"  # what it actually did this quarter: market, dump or restrict
        self.campaign_start_capacity: float | None = None
        self.quota_reference: float | None = None  # allied sales, t/quarter, before the quota
        self.allied_sales: deque[float] = deque(maxlen=4)
        self.plan: dict[str, tuple[float, float]] = {}  # market play: region -> (t, net USD/kg)
        self.profit = 0.0  # USD m this quarter
        self.sacrifice = 0.0  # USD m given up against market play, cumulative
        self.given_up = 0.0  # USD m given up last quarter
        self.campaign_quarters = 0  # quarters the current price war has run
        self.abandoned = False  # a price war it judged not to pay: it plays market after
        self.sold = dict.fromkeys(REGIONS, 0.0)

    @property
    def strategy(self) -> str:
        """market, dump, restrict or adaptive."""
        return self._strategy

    @strategy.setter
    def strategy(self, value: str) -> None:
        # A strategy set anew (an event, a player) opens a new campaign: a war it gave up
        # before is judged afresh.
        self._strategy = value
        self.abandoned = False
        self.campaign_quarters = 0

    # --- decisions -------------------------------------------------------------------------

    def markup_price(self, share: float | None = None) -> float:
        """Net price (USD/kg) that maximises profit against its residual demand (Lerner rule),
        at its share of last quarter's sales or at `share`."""
        s = min(max(self.share if share is None else share, 0.05), 1.0)
        e = max((self.perceived_elasticity + (1.0 - s) * self.fringe_elasticity) / s, 1.01)
        return self.cash_cost * e / (e - 1.0)

    def choose_mode(self) -> str:
        m = self.model
        if self.strategy != "restrict":
            self.quota_reference = None
        if self.strategy == "market":
            return "market"
        if self.strategy == "restrict":
            return "restrict"
        can_dump = self.budget > 0 and m.producers.capacity_in_business() > 0
        if self.strategy == "dump":
            mode = "dump" if can_dump and not self.abandoned else "market"
            if mode == "dump" and not self._still_pays():
                self.abandoned = True
                mode = "market"
            self.campaign_quarters = self.campaign_quarters + 1 if mode == "dump" else 0
            return mode
        # adaptive
        if self.campaign_start_capacity is None:
            if can_dump and m.allied_share_of_allied_market() > self.adaptive_trigger:
                self.campaign_start_capacity = m.producers.capacity_in_business()
                self.campaign_quarters = 0
                m.say("campaign_start", "dominant")
        else:
            left = m.producers.capacity_in_business() / max(self.campaign_start_capacity, 1e-9)
            if left <= 1.0 - self.adaptive_exit_target or self.budget <= 0:
                self.campaign_start_capacity = None
                why = "its budget is spent" if self.budget <= 0 else "rivals have exited"
                m.say("campaign_end", "dominant", why=why)
            elif not self._still_pays():
                self.campaign_start_capacity = None
        if self.campaign_start_capacity is None:
            return "market"
        self.campaign_quarters += 1
        return "dump"

    def _still_pays(self) -> bool:
        """Recoupment test of a running price war (Brooke Group; Bolton, Brodley and Riordan):
        go on only while the discounted margin it can expect once rivals have gone exceeds
        the discounted cost of driving them out. Says so in the feed when it stops.

        Rivals' runways come from their cash and what they lose a quarter at last quarter's
        allied price, with any price floor in force paying them the gap while its budget
        lasts; the rivals it can drive out are those whose cash runs out before its budget
        does at last quarter's cost; once they are gone, its share rises by their tonnes and
        it prices at its markup for that share until rivals can rebuild (their lead time).
        """
        if not self.campaign_review or self.campaign_quarters < 1 or self.given_up <= 0:
            return True  # nothing seen of the war's cost yet
        m = self.model
        book, governments = m.producers, list(m.governments.values())
        runway = book.runway(
            m.price_last["allied"],
            np.array([g.floor_support() for g in governments])[book.country_idx],
            np.array([g.floor_quarters_left() for g in governments])[book.country_idx],
        )
        out = book.alive & (book.capacity > 0) & (runway <= self.budget / self.given_up)
        exits = float(book.capacity[out].sum())  # t/yr it can drive out
        quarters = float(np.ceil(runway[out].max())) if out.any() else 0.0
        rate = (1.0 + m.finance.interest_rate) ** -0.25  # a quarter's discount factor
        cost = self.given_up * sum(rate**t for t in range(1, int(quarters) + 1))
        gain = 0.0
        if exits > 0:
            total = sum(q for q, _ in self.plan.values()) / max(self.share, 1e-9)  # t a quarter
            now = self._market_profit(self.share, total)
            after = self._market_profit(
                min(self.share + exits / 4.0 / max(total, 1e-9), 1.0), total
            )
            rebuild = int(m.producers.lead_time.mean()) if len(m.producers) else 0
            gain = (after - now) * sum(
                rate**t for t in range(int(quarters) + 1, int(quarters) + 1 + rebuild)
            )
        if gain > cost:
            return True
        m.say(
            "campaign_end",
            "dominant",
            why="it does not pay",
            recoupment=gain,
            cost=cost,
            exits=exits,
            quarters=quarters,
        )
        return False

    def _market_profit(self, share: float, total: float) -> float:
        """Profit a quarter (USD m) under market play at a given share of `total` tonnes."""
        return (self.markup_price(share) - self.cash_cost) * share * total / 1000.0

    def quota(self) -> float:
        """Export quota, t per quarter: (1 - quota_cut) of allied sales in the year before."""
        return (1.0 - self.quota_cut) * (self.quota_reference or 0.0)

    def offers(self) -> dict[str, tuple[float, float]]:
        """Region -> (tonnes this quarter, ask in USD/kg as buyers there see it, duty included)."""
        m = self.model
        self.capacity *= (1.0 + m.demand.growth) ** 0.25  # state-planned capacity keeps pace
        self.mode = self.choose_mode()
        duty = m.allied_duty()
        net = self.markup_price()
        offers: dict[str, tuple[float, float]] = {}
        for region in REGIONS:
            gross = net * (1.0 + duty) if region == "allied" else net
            wanted = m.demand_curve(region).quantity(gross) - m.observed_fringe(region, gross)
            offers[region] = (max(float(wanted), 0.0), gross)
        self.plan = {r: (q, net) for r, (q, _) in offers.items()}

        if self.mode == "dump":
            gross = (1.0 - self.dump_depth) * m.producers.lowest_cash_cost(self.cash_cost)
            wanted = m.demand_curve("allied").quantity(gross) - m.observed_fringe(
                "allied", gross, strictly_below=True
            )
            offers["allied"] = (max(float(wanted), 0.0), gross)
        if self.mode == "restrict" and self.quota_reference is None:
            self.quota_reference = (
                sum(self.allied_sales) / len(self.allied_sales)
                if self.allied_sales
                else offers["allied"][0]
            )
            m.say("quota", "dominant", quota_cut=self.quota_cut, quota=self.quota() * 4)
        self._apply_named_prices(offers, net, duty)
        if self.mode == "restrict":
            q, ask = offers["allied"]
            offers["allied"] = (min(q, self.quota()), ask)

        total = sum(q for q, _ in offers.values())
        limit = self.capacity / 4.0
        if total > limit:
            offers = {r: (q * limit / total, ask) for r, (q, ask) in offers.items()}
        return offers

    def _apply_named_prices(
        self, offers: dict[str, tuple[float, float]], market_net: float, duty: float
    ) -> None:
        """A player (or a scenario) may name the supplier's net price in a region: it then
        offers what clears there at that price. Pricing under market play needs budget."""
        m = self.model
        self.named_price = False
        for region, net in (("allied", self.price_allied), ("world", self.price_world)):
            if net <= 0 or (net < market_net and self.budget <= 0):
                continue
            gross = net * (1.0 + duty) if region == "allied" else net
            wanted = m.demand_curve(region).quantity(gross) - m.observed_fringe(
                region, gross, strictly_below=True
            )
            offers[region] = (max(float(wanted), 0.0), gross)
            self.named_price = True

    # --- after the market has cleared ----------------------------------------------------------

    def settle(
        self,
        sold: dict[str, float],
        prices: dict[str, float],
        duty: float,
        rivals_offered: float,
        market_total: float,
    ) -> None:
        """Book profit; while dumping, the state budget pays what it gives up against market play.

        Its market power is judged by what rivals could supply, not by what they sold: a
        rival idled by dumping still caps the price it can charge once dumping stops. So its
        share is 1 - (rivals' offers / all tonnes sold in both regions).
        """
        net = {"allied": prices["allied"] / (1.0 + duty), "world": prices["world"]}
        self.sold = dict(sold)
        if market_total > 0:
            self.share = max(1.0 - rivals_offered / market_total, 0.0)
        self.profit = sum((net[r] - self.cash_cost) * sold[r] for r in REGIONS) / 1000.0
        if self.mode == "dump" or self.named_price:
            market_play = sum((p - self.cash_cost) * q for q, p in self.plan.values()) / 1000.0
            given_up = max(market_play - self.profit, 0.0)
            self.given_up = given_up
            self.sacrifice += given_up
            self.budget = max(self.budget - given_up, 0.0)
            if self.budget == 0.0:
                self.model.say("budget_spent", "dominant")
        self.allied_sales.append(sold["allied"])

    def acquire(self, capacity: float) -> None:
        """Buy a bankrupt rival's plant: its capacity now serves the dominant supplier."""
        self.capacity += capacity

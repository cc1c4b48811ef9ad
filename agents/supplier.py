"""The dominant, state-backed supplier (modelled on China's rare-earth refining)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar

import mesa

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

    # Its settings, from the scenario's `supplier` table.
    strategy: str  # market, dump, restrict or adaptive
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
        self.sold = dict.fromkeys(REGIONS, 0.0)

    # --- decisions -------------------------------------------------------------------------

    def markup_price(self) -> float:
        """Net price (USD/kg) that maximises profit against its residual demand (Lerner rule)."""
        s = min(max(self.share, 0.05), 1.0)
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
            return "dump" if can_dump else "market"
        # adaptive
        if self.campaign_start_capacity is None:
            if can_dump and m.allied_share_of_allied_market() > self.adaptive_trigger:
                self.campaign_start_capacity = m.producers.capacity_in_business()
                m.say("campaign_start", "dominant")
        else:
            left = m.producers.capacity_in_business() / max(self.campaign_start_capacity, 1e-9)
            if left <= 1.0 - self.adaptive_exit_target or self.budget <= 0:
                self.campaign_start_capacity = None
                why = "its budget is spent" if self.budget <= 0 else "rivals have exited"
                m.say("campaign_end", "dominant", why=why)
        return "dump" if self.campaign_start_capacity is not None else "market"

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
            self.sacrifice += given_up
            self.budget = max(self.budget - given_up, 0.0)
            if self.budget == 0.0:
                self.model.say("budget_spent", "dominant")
        self.allied_sales.append(sold["allied"])

    def acquire(self, capacity: float) -> None:
        """Buy a bankrupt rival's plant: its capacity now serves the dominant supplier."""
        self.capacity += capacity

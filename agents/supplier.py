"""The dominant, state-backed supplier (modelled on China's rare-earth refining)."""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

if TYPE_CHECKING:
    from market.model import MineralMarket

REGIONS = ("home", "allied", "world")
EXPORTS = ("allied", "world")


class DominantSupplier(mesa.Agent):
    """The dominant side: a state-coordinated industry of plants that sells at home and exports,
    and picks a campaign each quarter.

    Its capacity is split into `blocks` plants whose cash costs spread `cost_spread` either side
    of `cash_cost`. Each plant asks its cost times the markup of its conduct (Bresnahan 1982):
    P = c * e / (e - conduct), where e = (perceived + (1 - s) * fringe) / s is the elasticity of
    the residual demand at its share s. At conduct 1 the state prices like one dominant firm
    (Lerner); at 0 its plants compete and a glut drives the price to the marginal plant's cost.
    Trade carries its plants' output to whichever region nets most (`market.clearing`).

    - market: the plants' asks above, shipped where they net most.
    - dump: an export subsidy, paid from the state budget, sized to land the price in both
      export markets (where its rivals can sell) `dump_depth` under the lowest allied cash
      cost.
    - restrict: an export quota of (1 - quota_cut) of its exports the year before.
    - adaptive: dumps when the allied producers' share of their market passes
      `adaptive_trigger`, stops when `adaptive_exit_target` of their capacity has gone or the
      budget is spent, then plays market (and so recoups).

    The budget pays each dumping quarter's sacrifice: the profit given up against market play
    with the same rivals in the same quarter (a second clearing without the campaign).
    """

    model: MineralMarket
    kind: ClassVar[str] = "supplier"

    # Its settings, from the scenario's `supplier` table (and `strategy`, a property below).
    capacity: float  # t/yr
    cash_cost: float  # USD/kg, average over its plants
    blocks: int
    cost_spread: float  # share either side of cash_cost
    conduct: float  # 0 competitive .. 1 coordinated
    overbuild: float  # share a year beyond demand growth
    production_quota: float  # t/yr, 0 none
    perceived_elasticity: float
    fringe_elasticity: float
    budget: float  # USD m left to pay for dumping
    dump_depth: float  # share under the lowest allied cash cost
    quota_cut: float  # share of exports cut under `restrict`
    adaptive_trigger: float
    adaptive_exit_target: float
    price_allied: float  # USD/kg net it names itself; 0: the strategy decides
    price_world: float
    campaign_review: bool  # weighs each quarter whether a price war still pays (Brooke Group)

    def __init__(self, model: MineralMarket, params: dict[str, Any], share: float) -> None:
        super().__init__(model)
        self._costs_for: tuple[float, float, int] | None = None
        for setting, value in params.items():
            setattr(self, setting, value)
        self.named_price = False  # a named price overrode the strategy this quarter
        self.share = share  # of all sales last quarter
        self.mode = "market"  # what it actually did this quarter: market, dump or restrict
        self.campaign_start_capacity: float | None = None
        self.quota_reference: float | None = None  # exports, t/quarter, before the quota
        self.exports: deque[float] = deque(maxlen=4)
        self.adjustment = dict.fromkeys(REGIONS, 0.0)  # USD/kg added to each route this quarter
        self.profit = 0.0  # USD m this quarter, the industry and the state together
        self.sacrifice = 0.0  # USD m given up against market play, cumulative
        self.given_up = 0.0  # USD m given up last quarter
        self.subsidy = 0.0  # USD m the state paid in export subsidies this quarter
        self.market_total = 0.0  # t all buyers took last quarter
        self.campaign_quarters = 0  # quarters the current price war has run
        self.abandoned = False  # a price war it judged not to pay: it plays market after
        self.sold = dict.fromkeys(REGIONS, 0.0)
        self.average_cost = self.cash_cost  # USD/kg of what it sold last quarter
        # The last campaign's account (USD m, discounted to its first quarter): what it gave up
        # while it ran, less what it has earned since from the rivals' capacity that has gone.
        self.campaign_value = 0.0
        self.campaign_started: int | None = None
        self.driven_out = 0.0  # t/yr of rivals' capacity gone since the campaign began

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

    def markup(self, share: float | None = None) -> float:
        """Price over marginal cost its conduct sets against its residual demand (Bresnahan
        1982), at its share of last quarter's sales or at `share`."""
        s = min(max(self.share if share is None else share, 0.05), 1.0)
        e = max((self.perceived_elasticity + (1.0 - s) * self.fringe_elasticity) / s, 1.01)
        return e / (e - self.conduct)

    def markup_price(self, share: float | None = None) -> float:
        """Net price (USD/kg) its average plant asks."""
        return self.cash_cost * self.markup(share)

    def block_costs(self) -> np.ndarray:
        """Cash cost (USD/kg) of each plant, cheapest first, averaging `cash_cost`."""
        key = (self.cash_cost, self.cost_spread, self.blocks)
        if self._costs_for != key:  # its settings change rarely (an event, a player)
            self._costs_for = key
            if self.blocks <= 1:
                self._costs = np.array([self.cash_cost])
            else:
                spread = np.linspace(-1.0, 1.0, self.blocks)
                self._costs = self.cash_cost * (1.0 + self.cost_spread * spread)
            self._costs.setflags(write=False)
        return self._costs

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

        It reads each rival's runway by the rivals' own exit rules at last quarter's allied
        price, any price floor in force paying them the gap while its budget lasts
        (`FirmBook.runway`). It can drive out those who leave before its budget runs out at
        last quarter's cost, and it weighs each target set in order of runway, the weakest
        first: driving out the first k costs the war until the k-th leaves, and gains the
        markup on their tonnes until rivals can rebuild (their lead time). It goes on while
        the best of these sets pays.
        """
        if not self.campaign_review or self.campaign_quarters < 1 or self.given_up <= 0:
            return True  # nothing seen of the war's cost yet
        m = self.model
        book, governments = m.producers, list(m.governments.values())
        runway = book.runway(
            m.steps,
            m.price_last["allied"],
            np.array([g.floor_support() for g in governments])[book.country_idx],
            np.array([g.floor_quarters_left() for g in governments])[book.country_idx],
        )
        affordable = self.budget / self.given_up  # quarters its budget lasts at last quarter's cost
        out = book.alive & (book.capacity > 0) & np.isfinite(runway) & (runway <= affordable)
        order = np.argsort(runway[out], kind="stable")
        quarters = np.ceil(runway[out][order])  # when the k-th weakest leaves
        exits = np.cumsum(book.capacity[out][order])  # t/yr gone by then
        rate = (1.0 + m.finance.interest_rate) ** -0.25  # a quarter's discount factor
        rebuild = int(m.producers.lead_time.mean()) if len(m.producers) else 0
        total = self.market_total  # t a quarter
        now = self._market_profit(self.share, total)
        best = (0.0, 0.0, 0.0, 0.0)  # (gain, cost, t/yr driven out, quarters)
        for q, gone in zip(quarters, exits, strict=True):
            cost = self.given_up * sum(rate**t for t in range(1, int(q) + 1))
            after = self._market_profit(min(self.share + gone / 4.0 / max(total, 1e-9), 1.0), total)
            gain = (after - now) * sum(rate**t for t in range(int(q) + 1, int(q) + 1 + rebuild))
            if gain - cost > best[0] - best[1]:
                best = (gain, cost, float(gone), float(q))
        gain, cost, gone, q = best
        if gain > cost:
            return True
        m.say(
            "campaign_end",
            "dominant",
            why="it does not pay",
            recoupment=gain,
            cost=cost,
            exits=gone,
            quarters=q,
        )
        return False

    def _market_profit(self, share: float, total: float) -> float:
        """Profit a quarter (USD m) under market play at a given share of `total` tonnes."""
        return (self.markup_price(share) - self.cash_cost) * share * total / 1000.0

    def quota(self) -> float:
        """Export quota, t per quarter: (1 - quota_cut) of its exports in the year before."""
        return (1.0 - self.quota_cut) * (self.quota_reference or 0.0)

    def offers(self) -> tuple[np.ndarray, np.ndarray]:
        """Its plants' offers this quarter: (tonnes, ask in USD/kg at its gate), cheapest
        first. The campaign acts through the routes (`route_adjustments`) and the export
        quota (`export_cap`), not through these asks."""
        m = self.model
        # State-planned capacity keeps pace with demand, plus any overbuild.
        self.capacity *= max(1.0 + m.demand.growth + self.overbuild, 0.0) ** 0.25
        self.mode = self.choose_mode()
        if self.mode == "restrict" and self.quota_reference is None:
            self.quota_reference = sum(self.exports) / len(self.exports) if self.exports else 0.0
            m.say("quota", "dominant", quota_cut=self.quota_cut, quota=self.quota() * 4)
        costs = self.block_costs()
        output = self.capacity / 4.0
        if self.production_quota > 0:
            output = min(output, self.production_quota / 4.0)
        return np.full(len(costs), output / len(costs)), costs * self.markup()

    def export_cap(self) -> float:
        """Tonnes it may export this quarter (inf without a quota)."""
        return self.quota() if self.mode == "restrict" else math.inf

    def route_adjustments(
        self, duty: float, wedge: dict[str, float], gate: float | None = None
    ) -> dict[str, float]:
        """USD/kg added to its route into each region this quarter: an export subsidy (under 0)
        that lands the allied price where a price war wants it, or the gap to a price it names
        (a subsidy under its market price, which needs budget; an export levy above it).

        It sizes them against `gate`, what its plants net this quarter (the model clears again
        with the first answer, so the prices land where it aims them); before that, against
        last quarter's home price, or its average plant's ask when it had none."""
        m = self.model
        if gate is None or not math.isfinite(gate) or gate <= 0:
            home = m.price_last["home"]
            gate = home if math.isfinite(home) and home > 0 else self.markup_price()
        adjust = dict.fromkeys(REGIONS, 0.0)
        if self.mode == "dump":
            # Rivals sell wherever they net most, so a price war must reach every market they
            # can ship to: both export markets (its home market is closed to them).
            landed = (1.0 - self.dump_depth) * m.producers.lowest_cash_cost(self.cash_cost)
            adjust["allied"] = min(landed / (1.0 + duty) - gate - wedge["allied"], 0.0)
            adjust["world"] = min(landed - gate - wedge["world"], 0.0)
        self.named_price = False
        for region, net in (("allied", self.price_allied), ("world", self.price_world)):
            if net <= 0:
                continue
            gap = net - gate - wedge[region]
            if gap < 0 and self.budget <= 0:
                continue  # pricing under the market needs budget
            adjust[region] = gap
            self.named_price = True
        self.adjustment = adjust
        return adjust

    # --- after the market has cleared ----------------------------------------------------------

    def settle(
        self,
        shipped: dict[str, float],
        prices: dict[str, float],
        duty: float,
        wedge: dict[str, float],
        accepted: np.ndarray,
        market_play: float | None,
        rivals_offered: float,
        market_total: float,
    ) -> None:
        """Book profit; while it dumps or names prices, the state budget pays what it gives up
        against market play (`market_play`, USD m, the same quarter cleared without them).

        Its profit is the industry's and the state's together: export subsidies and levies are
        transfers between the two. Its market power is judged by what rivals could supply, not
        by what they sold: a rival idled by dumping still caps the price it can charge once
        dumping stops. So its share is 1 - (rivals' offers / all tonnes bought everywhere).
        """
        self.sold = dict(shipped)
        self.market_total = market_total
        if market_total > 0:
            self.share = max(1.0 - rivals_offered / market_total, 0.0)
        cost = self.plant_cost(accepted)
        self.profit = self.earned(shipped, prices, duty, wedge, cost)
        sold = float(accepted.sum())
        self.average_cost = cost / sold if sold > 0 else self.cash_cost
        self.subsidy = -sum([self.adjustment[r] * shipped[r] for r in REGIONS]) / 1000.0
        self.given_up = 0.0
        if market_play is not None:
            self.given_up = max(market_play - self.profit, 0.0)
            self.sacrifice += self.given_up
            self.budget = max(self.budget - self.given_up, 0.0)
            if self.budget == 0.0:
                self.model.say("budget_spent", "dominant")
        self._account_campaign()
        self.exports.append(shipped["allied"] + shipped["world"])

    def _account_campaign(self) -> None:
        """The campaign's net value: each quarter's sacrifice while it runs, then each
        quarter's gain from the share the rivals driven out left it (at its markup for that
        share, as it judged the war), discounted at the market's interest rate."""
        m = self.model
        quarter = m.steps
        if self.mode == "dump" and (self.campaign_started is None or self.campaign_quarters == 1):
            self.campaign_started, self.campaign_value, self.driven_out = quarter, 0.0, 0.0
        if self.campaign_started is None:
            return
        discount = (1.0 + m.finance.interest_rate) ** (-(quarter - self.campaign_started) / 4.0)
        if self.mode == "dump":
            self.campaign_value -= discount * self.given_up
        elif self.driven_out > 0 and self.market_total > 0:
            freed = self.driven_out / 4.0 / self.market_total  # share of the market a quarter
            gain = self._market_profit(self.share, self.market_total) - self._market_profit(
                max(self.share - freed, 0.05), self.market_total
            )
            self.campaign_value += discount * max(gain, 0.0)

    def rival_gone(self, capacity: float) -> None:
        """A rival closed or went bankrupt: a campaign under way or past counts it as its doing."""
        if self.campaign_started is not None:
            self.driven_out += capacity

    def plant_cost(self, accepted: np.ndarray) -> float:
        """USD thousand its plants' cash costs come to on `accepted` tonnes each."""
        return float((accepted * self.block_costs()).sum())

    def earned(
        self,
        shipped: dict[str, float],
        prices: dict[str, float],
        duty: float,
        wedge: dict[str, float],
        cost: float,
    ) -> float:
        """Operating profit (USD m) of shipping `shipped` tonnes by region at `prices` (what
        buyers pay, USD/kg), less the duty and each route's cost (`wedge`, USD/kg), its
        plants' cash costs coming to `cost` (`plant_cost`)."""
        net = {
            "home": prices["home"] - wedge["home"],
            "allied": prices["allied"] / (1.0 + duty) - wedge["allied"],
            "world": prices["world"] - wedge["world"],
        }
        revenue = sum([net[r] * shipped[r] for r in REGIONS if shipped[r] > 0])
        return (revenue - cost) / 1000.0

    def acquire(self, capacity: float) -> None:
        """Buy a bankrupt rival's plant: its capacity now serves the dominant supplier."""
        self.capacity += capacity

"""MineralMarket: the Mesa model. The quarterly step order is written once, in `step`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from agents import (
    AlliedProducer,
    DominantSupplier,
    Government,
    ProducerBook,
    Recycler,
    RecyclerBook,
    ResponseGroup,
)
from market import lever_map
from market.clearing import Clearing, DemandCurve, clear_market
from market.demand import REGIONS, Demand
from market.feed import FeedEntry, entry
from market.metrics import INDICATORS
from market.recorder import Recorder
from market.scenarios import Scenario, ScenarioError, load_scenario


@dataclass
class Finance:
    """The market's cost of capital, from the scenario's `finance` table."""

    interest_rate: float  # commercial, share a year
    concessional_rate: float  # on government project finance, share a year
    asset_life: int  # years over which new capacity must pay back


def _report(name: str, model: MineralMarket) -> Any:
    return model.recorder.latest[name]


class MineralMarket(mesa.Model):
    """A critical-minerals market with a dominant supplier, allied producers, recyclers and
    allied governments. One step is one quarter.

    `scenario` is a named scenario, a path to a TOML file or a mapping; every other keyword is
    a dotted path into it (`**{"supplier.budget": 2000}`). Seeds go in `rng`.
    """

    def __init__(
        self,
        scenario: str | Scenario | dict[str, Any] = "baseline",
        rng: Any = None,
        **overrides: Any,
    ) -> None:
        if "seed" in overrides:
            raise ScenarioError("seed: pass the seed as rng=")
        super().__init__(rng=rng)
        self.spec = load_scenario(scenario, overrides)
        p = self.spec.params
        self.quarters: int = p["quarters"]
        self.finance = Finance(**p["finance"])
        self.demand = Demand(p["demand"])
        reference = self.demand.reference_price

        self.governments = {cc: Government(self, cc, gp) for cc, gp in p["governments"].items()}
        self._gov_list = list(self.governments.values())
        self.response_group = ResponseGroup(self, p["alliance"])
        countries = list(self.governments)
        self.producers = ProducerBook(p["producers"], reference, countries, self.finance)
        self.recyclers = RecyclerBook(p["recyclers"], reference, countries, self.finance)
        for book, kind in ((self.producers, AlliedProducer), (self.recyclers, Recycler)):
            book.agents = kind.create_agents(self, len(book), book=book, row=list(range(len(book))))

        self.feed: list[FeedEntry] = []
        self.price_last = {r: reference for r in REGIONS}
        self.shortage_last = 0.0
        self.duty_last = 0.0
        self.consumption_allied = np.zeros(0)  # t per quarter so far, for recyclers' scrap
        self._initial_allied = self.demand.curves["allied"].reference_qty
        self.observed = self._firm_offers()  # what the supplier saw of the fringe last quarter
        allied_output = float(self.observed[0].sum())
        total_demand = sum(self.demand.curves[r].reference_qty for r in REGIONS)
        self.supplier = DominantSupplier(
            self, p["supplier"], share=1.0 - allied_output / max(total_demand, 1e-9)
        )

        # Each event takes effect from its quarter: it runs after the step before it. Mesa holds
        # events weakly, so the model keeps the callables.
        self._timeline = [partial(self._fire, event) for event in self.spec.events]
        for event, fire in zip(self.spec.events, self._timeline, strict=True):
            self.schedule_event(fire, at=event.quarter - 1, priority=mesa.time.Priority.LOW)

        self.quarter_result: dict[str, float] = {}
        self.recorder = Recorder(self)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_report, name) for name in INDICATORS}
        )
        self.running = True

    @property
    def scenario(self) -> None:
        """None: the game's scenario is `spec`, built from this model's keyword parameters.

        Mesa 3.5 keeps an experimental Scenario object here, and SolaraViz's Reset passes it
        back as `scenario=`, which would replace the scenario the user chose. Reporting none
        makes SolaraViz rebuild the model from its keyword parameters, as it does for any model.
        """
        return None

    @scenario.setter
    def scenario(self, value: Any) -> None:
        self._mesa_scenario = value

    # --- what agents read ------------------------------------------------------------------

    def demand_curve(self, region: str) -> DemandCurve:
        return self.demand.curves[region]

    def allied_duty(self) -> float:
        """Demand-weighted duty the members in force levy on the supplier's allied sales."""
        weight = sum(g.demand_share for g in self._gov_list)
        levied = sum(g.demand_share * g.duty_in_force() for g in self._gov_list)
        return levied / weight if weight > 0 else 0.0

    def observed_fringe(self, region: str, price: float, strictly_below: bool = False) -> float:
        """Tonnes allied firms still in business offered last quarter at or under `price` (none
        in the world)."""
        if region != "allied":
            return 0.0
        qty, ask = self.observed
        cheap = ask < price if strictly_below else ask <= price
        # A rival that has gone bankrupt since will offer nothing: the supplier knows it.
        alive = np.concatenate([self.producers.alive, self.recyclers.alive])
        return float(qty[cheap & alive].sum())

    def allied_share_of_allied_market(self) -> float:
        """Allied firms' share of last quarter's allied sales; before the first quarter, what
        they offer against allied demand."""
        supply = self.quarter_result.get("supply_allied", 0.0)
        if supply <= 0:
            return float(self.observed[0].sum()) / max(
                self.demand_curve("allied").reference_qty, 1e-9
            )
        return (float(self.producers.sold.sum()) + float(self.recyclers.sold.sum())) / supply

    def response_active(self) -> bool:
        """The rapid-response group's coordinated counter-moves are in force."""
        return (
            self.response_group.response == "coordinated"
            and self.response_group.active
            and any(g.in_force for g in self._gov_list)
        )

    @property
    def indicators(self) -> dict[str, Any]:
        """Last quarter's indicators, ledger and series ({} before the first quarter)."""
        return self.recorder.latest

    def say(self, kind: str, who: str = "", text: str = "", **data: Any) -> None:
        """Add an entry to the event feed, stamped with the current quarter."""
        self.feed.append(entry(self.steps, kind, who, text, **data))

    # --- the quarter -----------------------------------------------------------------------

    def step(self) -> None:
        quarter = self.steps
        if quarter > 1:
            self.demand.advance(self.price_last, self.rng)
        self._complete_projects(quarter)

        # 1. Governments read last quarter's market; the response group flags and activates.
        self.response_group.review(quarter)
        duty = self.allied_duty()

        # 2. The dominant supplier chooses its strategy and offers.
        supplier_offers = self.supplier.offers()

        # 3. Allied producers and recyclers choose output; governments bid or release stock.
        firm_qty, firm_ask = self._firm_offers()
        self.observed = (firm_qty, firm_ask)
        bids = np.array([g.stockpile_bid() for g in self._gov_list]).reshape(-1, 2)
        releases = np.array([g.stockpile_offer() for g in self._gov_list]).reshape(-1, 2)

        # 4. Each region clears.
        s_qty, s_ask = supplier_offers["allied"]
        allied = clear_market(
            np.concatenate([[s_qty], firm_qty, releases[:, 0]]),
            np.concatenate([[s_ask], firm_ask, releases[:, 1]]),
            self.demand_curve("allied"),
            self.demand.price_cap,
            bids[:, 0],
            bids[:, 1],
        )
        w_qty, w_ask = supplier_offers["world"]
        world = clear_market(
            np.array([w_qty]), np.array([w_ask]), self.demand_curve("world"), self.demand.price_cap
        )

        # 5. Settlement.
        self._settle(quarter, allied, world, duty)

        # 6. Investment.
        self._invest(quarter)

        # 7. Collect.
        self.recorder.collect()
        self.datacollector.collect(self)
        if quarter >= self.quarters:
            self.running = False

    def _firm_offers(self) -> tuple[np.ndarray, np.ndarray]:
        """Allied producers' then recyclers' offers (t, USD/kg), in book order."""
        support = np.array([g.floor_support() for g in self._gov_list])
        p_qty, p_ask = self.producers.offers(support[self.producers.country_idx])
        scrap = self.recyclers.scrap(
            self.steps, self.consumption_allied, self._initial_allied, self.demand.growth
        )
        r_qty, r_ask = self.recyclers.offers(scrap, support[self.recyclers.country_idx])
        return np.concatenate([p_qty, r_qty]), np.concatenate([p_ask, r_ask])

    def _settle(self, quarter: int, allied: Clearing, world: Clearing, duty: float) -> None:
        n_p, n_r = len(self.producers), len(self.recyclers)
        sold_allied = allied.accepted
        self.producers.sold = sold_allied[1 : 1 + n_p]
        self.recyclers.sold = sold_allied[1 + n_p : 1 + n_p + n_r]
        released = sold_allied[1 + n_p + n_r :]
        prices = {"allied": allied.price, "world": world.price}  # NaN where no one buys
        at = {r: 0.0 if math.isnan(p) else p for r, p in prices.items()}  # money moves at these
        supplier_sold = {"allied": float(sold_allied[0]), "world": float(world.accepted[0])}
        market_total = allied.consumption + world.consumption + float(allied.filled.sum())
        self.supplier.settle(supplier_sold, at, duty, float(self.observed[0].sum()), market_total)

        # Price floors: each government's contract for difference on its own firms' sales.
        rates = np.array([g.floor_rate(at["allied"]) for g in self._gov_list])
        p_idx, r_idx = self.producers.country_idx, self.recyclers.country_idx
        floor_p = self.producers.sold * rates[p_idx] / 1000.0
        floor_r = self.recyclers.sold * rates[r_idx] / 1000.0
        n_gov = len(self._gov_list)
        owed = np.bincount(p_idx, floor_p, n_gov) + np.bincount(r_idx, floor_r, n_gov)
        paid_share = np.array(
            [g.settle_floor(float(o)) for g, o in zip(self._gov_list, owed, strict=True)]
        )
        floor_p *= paid_share[p_idx]
        floor_r *= paid_share[r_idx]
        paid = sum(g.floor_paid for g in self._gov_list)
        for i, gov in enumerate(self._gov_list):
            gov.settle_stockpile(float(allied.filled[i]), float(released[i]), at["allied"])
        self.producers.settle(at["allied"], floor_p)
        self.recyclers.settle(at["allied"], floor_r)

        for book, kind in ((self.producers, "producer"), (self.recyclers, "recycler")):
            for row in book.fail(quarter):
                self._sell_assets(book, int(row), kind)

        self.consumption_allied = np.append(self.consumption_allied, allied.consumption)
        self.price_last = prices
        self.shortage_last = allied.shortage + world.shortage
        self.duty_last = duty
        self.quarter_result = {
            "price_allied": allied.price,
            "price_world": world.price,
            "supplier_sold": supplier_sold["allied"] + supplier_sold["world"],
            "supply_allied": float(sold_allied[: 1 + n_p + n_r].sum()),
            "supply_world": world.supply,
            "consumption_allied": allied.consumption,
            "consumption_world": world.consumption,
            "stockpile_change": float(allied.filled.sum() - released.sum()),
            "shortage_allied": allied.shortage,
            "shortage_world": world.shortage,
            "duty": duty,
            "duty_revenue": supplier_sold["allied"] * at["allied"] * duty / (1 + duty) / 1000.0,
            "floor_paid": paid,
            "floor_received": float(floor_p.sum() + floor_r.sum()),
        }

    def _sell_assets(self, book: ProducerBook | RecyclerBook, row: int, kind: str) -> None:
        """A bankrupt firm's plant goes to the dominant supplier unless review blocks the sale."""
        gov = self._gov_list[book.country_idx[row]]
        capacity = book.dispose(np.array([row]))
        sale = "none" if capacity <= 0 else "blocked" if gov.blocks_asset_sale() else "dominant"
        if sale == "dominant":
            self.supplier.acquire(capacity)
        self.say(
            "bankruptcy",
            book.ids[row],
            firm_kind=kind,
            capacity=capacity,
            sale=sale,
            reviewer=gov.country,
        )

    def _invest(self, quarter: int) -> None:
        financing = np.array([g.financing_in_force() for g in self._gov_list])
        rate, soft = self.finance.interest_rate, self.finance.concessional_rate
        for book in (self.producers, self.recyclers):
            f = financing[book.country_idx]
            incentive = book.incentive_price(rate, soft, f, self.finance.asset_life)
            for row in book.invest(quarter, incentive, rate, soft, f):
                self.say(
                    "investment",
                    book.ids[row],
                    capacity=book.building[row],
                    expected_price=book.expected_price[row],
                    incentive_price=incentive[row],
                    ready_quarter=book.ready_quarter[row],
                    capital=book.capital_committed[row],
                )
            # The concessional loans cost each government the gap between the two rates.
            if book.soft_debt.any():  # written off when a firm goes bankrupt
                subsidy = np.bincount(book.country_idx, book.soft_debt, len(self._gov_list))
                for gov, debt in zip(self._gov_list, subsidy, strict=True):
                    gov.spent += float(debt) * (rate - soft) / 4.0

    def _complete_projects(self, quarter: int) -> None:
        for book in (self.producers, self.recyclers):
            for row in book.complete_projects(quarter):
                self.say("capacity_online", book.ids[row], capacity=book.capacity[row])

    # --- timeline and levers -----------------------------------------------------------------

    def _fire(self, event: Any) -> None:
        if event.quarter > self.quarters:
            return  # after the end of a run cut shorter than its timeline
        for path, value in event.changes.items():
            self.apply(path, value)
        if event.label:
            self.feed.append(entry(event.quarter, "scenario", "scenario", event.label))

    def apply(self, path: str, value: Any) -> None:
        """Change one dotted parameter now; it takes effect from the next quarter.

        The same keys as everywhere else, reaching the attribute the lever map names; a bad
        key or value, or a key that cannot change during a run, raises ScenarioError and
        changes nothing.
        """
        lever_map.refuse_unless_settable(path)
        self.spec.set(path, value)
        lever_map.write(self, path, self.spec.get(path))
        if path == "quarters":
            self.running = self.steps < self.quarters

    # --- results -----------------------------------------------------------------------------

    def agent_table(self) -> pd.DataFrame:
        """One row per agent per quarter (`market.recorder.AGENT_COLUMNS`)."""
        return self.recorder.agent_table()

    def timeseries(self) -> pd.DataFrame:
        """One row per quarter: `quarter` and every indicator and ledger column."""
        return self.recorder.timeseries()

"""MineralMarket: the Mesa model. The quarterly step order is written once, in `step`."""

from __future__ import annotations

from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from agents import AlliedProducer, DominantSupplier, Government, Recycler, ResponseGroup
from agents.firm import FirmBook
from agents.recycler import RecyclerBook
from market.clearing import Clearing, DemandCurve, clear_market
from market.demand import REGIONS, Demand
from market.metrics import COLUMNS, INDICATORS, measure
from market.scenarios import Scenario, ScenarioError, load_scenario

AGENT_COLUMNS = (
    "quarter",
    "agent",
    "kind",
    "country",
    "alive",
    "capacity",
    "sold",
    "profit",
    "cash",
    "stockpile",
    "spent",
)


def _report(name: str, model: MineralMarket) -> Any:
    return model.indicators[name]


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
        self.alliance: dict[str, Any] = dict(p["alliance"])
        self.finance: dict[str, Any] = dict(p["finance"])
        self.demand = Demand(p["demand"])
        reference = self.demand.reference_price

        self.governments = {cc: Government(self, cc, gp) for cc, gp in p["governments"].items()}
        self._gov_list = list(self.governments.values())
        self.response_group = ResponseGroup(self, p["alliance"])
        self.producers = FirmBook(p["producers"], reference)
        self.recyclers = RecyclerBook(p["recyclers"], reference)
        for book, kind in ((self.producers, AlliedProducer), (self.recyclers, Recycler)):
            book.country_idx = np.array(
                [list(self.governments).index(c) for c in book.country], dtype=int
            )
            book.interest = book.debt * self.finance["interest_rate"]
            kind.create_agents(self, len(book), book=book, row=list(range(len(book))))

        self.feed: list[tuple[int, str]] = []
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

        self.indicators: dict[str, Any] = {}
        self.quarter_result: dict[str, float] = {}
        self._agent_rows: list[tuple[list[np.ndarray], list[tuple]]] = []  # per quarter
        self._history: list[dict[str, Any]] = []  # each quarter's indicators and ledger
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
        """Tonnes allied firms offered last quarter at or under `price` (none in the world)."""
        if region != "allied":
            return 0.0
        qty, ask = self.observed
        cheap = ask < price if strictly_below else ask <= price
        return float(qty[cheap].sum())

    def allied_capacity_alive(self) -> float:
        return float(self.producers.capacity[self.producers.alive].sum())

    def lowest_allied_cash_cost(self) -> float:
        alive = self.producers.alive & (self.producers.capacity > 0)
        return (
            float(self.producers.cash_cost[alive].min()) if alive.any() else self.supplier.cash_cost
        )

    def allied_average_cash_cost(self) -> float:
        """Capacity-weighted cash cost of the allied producers in business, USD/kg."""
        book = self.producers
        weights = np.where(book.alive, book.capacity, 0.0)
        if weights.sum() == 0:
            return 0.0
        return float((book.cash_cost * weights).sum() / weights.sum())

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
            self.alliance["response"] == "coordinated"
            and self.response_group.active
            and any(g.in_force for g in self._gov_list)
        )

    def say(self, text: str) -> None:
        """Add a line to the event feed, stamped with the current quarter."""
        self.feed.append((self.steps, text))

    def describe_dumping(self) -> str:
        cost = self.allied_average_cash_cost()
        price = self.price_last["allied"]
        if cost > 0 and price < cost:
            return (
                f"dominant supplier prices {1 - price / cost:.0%} under allied cash cost "
                f"({price:.0f} vs {cost:.0f} USD/kg): dumping flagged"
            )
        return (
            f"dominant supplier sells under its own cash cost ({price:.0f} USD/kg): dumping flagged"
        )

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
        self.indicators = measure(self)
        self.datacollector.collect(self)
        self._history.append(self.indicators)
        self._record_agents()
        if quarter >= self.quarters:
            self.running = False

    def _firm_offers(self) -> tuple[np.ndarray, np.ndarray]:
        """Allied producers' then recyclers' offers (t, USD/kg), in book order."""
        support = np.array([g.floor_support() for g in self._gov_list])
        p_qty, p_ask = AlliedProducer.offers(self.producers, support[self.producers.country_idx])
        r_qty, r_ask = Recycler.offers(
            self.recyclers, self._scrap(), support[self.recyclers.country_idx]
        )
        return np.concatenate([p_qty, r_qty]), np.concatenate([p_ask, r_ask])

    def _scrap(self) -> np.ndarray:
        """End-of-life tonnes reaching each recycler: allied consumption `scrap_lag` ago; before
        the run, what demand was then given its growth."""
        book = self.recyclers
        when = self.steps - book.scrap_lag.astype(int)  # the quarter the scrap was consumed
        seen = len(self.consumption_allied)
        growth = (1.0 + self.demand.growth) ** 0.25
        consumed = np.where(
            when >= 1,
            self.consumption_allied[np.clip(when - 1, 0, max(seen - 1, 0))] if seen else 0.0,
            self._initial_allied * growth ** (when - 1.0),
        )
        return consumed / max(int(book.alive.sum()), 1)  # recyclers in business share the scrap

    def _settle(self, quarter: int, allied: Clearing, world: Clearing, duty: float) -> None:
        n_p, n_r = len(self.producers), len(self.recyclers)
        sold_allied = allied.accepted
        self.producers.sold = sold_allied[1 : 1 + n_p]
        self.recyclers.sold = sold_allied[1 + n_p : 1 + n_p + n_r]
        released = sold_allied[1 + n_p + n_r :]
        prices = {"allied": allied.price, "world": world.price}
        supplier_sold = {"allied": float(sold_allied[0]), "world": float(world.accepted[0])}
        market_total = allied.consumption + world.consumption + float(allied.filled.sum())
        self.supplier.settle(
            supplier_sold, prices, duty, float(self.observed[0].sum()), market_total
        )

        # Price floors: each government's contract for difference on its own firms' sales.
        rates = np.array([g.floor_rate(allied.price) for g in self._gov_list])
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
            gov.settle_stockpile(float(allied.filled[i]), float(released[i]), allied.price)
        self.producers.settle(allied.price, floor_p)
        self.recyclers.settle(allied.price, floor_r)

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
            "duty_revenue": supplier_sold["allied"] * allied.price * duty / (1 + duty) / 1000.0,
            "floor_paid": paid,
            "floor_received": float(floor_p.sum() + floor_r.sum()),
        }

    def _sell_assets(self, book: FirmBook, row: int, kind: str) -> None:
        """A bankrupt firm's plant goes to the dominant supplier unless review blocks the sale."""
        gov = self._gov_list[book.country_idx[row]]
        capacity = book.dispose(np.array([row]))
        name = book.ids[row]
        if capacity <= 0:
            self.say(f"{name} ({kind}) bankrupt")
        elif gov.blocks_asset_sale():
            self.say(
                f"{name} ({kind}) bankrupt; asset sale blocked by {gov.country} review, "
                f"{capacity:,.0f} t/yr mothballed"
            )
        else:
            self.supplier.acquire(capacity)
            self.say(
                f"{name} ({kind}) bankrupt; the dominant supplier buys its {capacity:,.0f} t/yr"
            )

    def _invest(self, quarter: int) -> None:
        financing = np.array([g.financing_in_force() for g in self._gov_list])
        rate, soft = self.finance["interest_rate"], self.finance["concessional_rate"]
        for book in (self.producers, self.recyclers):
            f = financing[book.country_idx]
            incentive = book.incentive_price(rate, soft, f, self.finance["asset_life"])
            for row in book.invest(quarter, incentive, rate, soft, f):
                self.say(
                    f"{book.ids[row]} invests in {book.building[row]:,.0f} t/yr "
                    f"(expects {book.expected_price[row]:.0f} USD/kg, needs "
                    f"{incentive[row]:.0f}); ready in Q{book.ready_quarter[row]}"
                )
            # The concessional loans cost each government the gap between the two rates.
            if book.soft_debt.any():  # written off when a firm goes bankrupt
                subsidy = np.bincount(book.country_idx, book.soft_debt, len(self._gov_list))
                for gov, debt in zip(self._gov_list, subsidy, strict=True):
                    gov.spent += float(debt) * (rate - soft) / 4.0

    def _complete_projects(self, quarter: int) -> None:
        for book in (self.producers, self.recyclers):
            for row in book.complete_projects(quarter):
                self.say(
                    f"{book.ids[row]}'s new capacity comes on stream "
                    f"({book.capacity[row]:,.0f} t/yr in all)"
                )

    # --- timeline and levers -----------------------------------------------------------------

    def _fire(self, event: Any) -> None:
        if event.quarter > self.quarters:
            return  # after the end of a run cut shorter than its timeline
        for path, value in event.changes.items():
            self.apply(path, value)
        if event.label:
            self.feed.append((event.quarter, event.label))

    def apply(self, path: str, value: Any) -> None:
        """Change one dotted parameter now; it takes effect from the next quarter.

        The same keys as everywhere else; a bad key or value raises ScenarioError and changes
        nothing.
        """
        self.spec.set(path, value)
        value = self.spec.get(path)
        head, *rest = path.split(".")
        if head == "quarters":
            self.quarters = value
            self.running = self.steps < value
        elif head == "supplier":
            setattr(self.supplier, rest[0], value)
        elif head == "alliance":
            self.alliance[rest[0]] = value
            setattr(self.response_group, rest[0], value)
        elif head == "finance":
            self.finance[rest[0]] = value
        elif head == "demand":
            if rest[0] in REGIONS:
                self.demand.base[rest[0]] = value / 4.0
            else:
                setattr(self.demand, rest[0], value)
        elif head == "governments":
            if rest[1] != "stockpile_initial_days":
                setattr(self.governments[rest[0]], rest[1], value)
        elif head in ("producers", "recyclers"):
            book = self.producers if head == "producers" else self.recyclers
            row = book.ids.index(rest[0])
            if rest[1] == "country":
                book.country[row] = value
                book.country_idx[row] = list(self.governments).index(value)
            else:
                getattr(book, rest[1])[row] = value
                if rest[1] == "debt":
                    book.interest[row] = value * self.finance["interest_rate"]

    # --- results -----------------------------------------------------------------------------

    def _record_agents(self) -> None:
        """Keep this quarter's per-agent numbers; `agent_table` builds the frame from them."""
        s = self.supplier
        firms = [
            np.stack([b.alive, b.capacity, b.sold, b.profit, b.cash], axis=1)
            for b in (self.producers, self.recyclers)
        ]
        others = [(1.0, s.capacity, sum(s.sold.values()), s.profit, s.budget, 0.0, s.sacrifice)]
        others += [
            (
                1.0,
                0.0,
                g.stockpile_released,
                0.0,
                g.floor_budget + g.stockpile_budget,
                g.stockpile,
                g.spent,
            )
            for g in self._gov_list
        ]
        self._agent_rows.append((firms, others))

    def agent_table(self) -> pd.DataFrame:
        """One row per agent per quarter (0 where a column does not apply to a kind).

        For the supplier `cash` is its state budget left and `spent` its sacrifice; for a
        government `sold` is stock released, `cash` its floor and stockpile budgets left.
        """
        books = (self.producers, self.recyclers)
        govs = self._gov_list
        names = [
            *self.producers.ids,
            *self.recyclers.ids,
            "dominant",
            *(f"gov-{g.country}" for g in govs),
        ]
        kinds = (
            ["producer"] * len(self.producers)
            + ["recycler"] * len(self.recyclers)
            + ["supplier"]
            + ["government"] * len(govs)
        )
        countries = [*(c for b in books for c in b.country), "CN", *(g.country for g in govs)]
        quarters = len(self._agent_rows)
        blocks = []
        for firms, others in self._agent_rows:
            for block in firms:  # firms hold no stockpile and spend nothing
                blocks.append(np.hstack([block, np.zeros((len(block), 2))]))
            blocks.append(np.array(others, float))
        values = np.vstack(blocks) if blocks else np.zeros((0, 7))
        frame = pd.DataFrame(values, columns=list(AGENT_COLUMNS[4:]))
        frame["alive"] = frame["alive"].astype(bool)
        frame["quarter"] = np.repeat(np.arange(1, quarters + 1), len(names))
        frame["agent"] = names * quarters
        frame["kind"] = kinds * quarters
        frame["country"] = countries * quarters
        return frame[list(AGENT_COLUMNS)]

    def timeseries(self) -> pd.DataFrame:
        """One row per quarter: `quarter` and every indicator and ledger column."""
        if not self._history:
            return pd.DataFrame(columns=list(COLUMNS))
        names = COLUMNS[1:]
        values = np.array([[row[n] for n in names] for row in self._history], dtype=float)
        columns: dict[str, np.ndarray] = {"quarter": np.arange(1, len(values) + 1)}
        for i, name in enumerate(names):
            kind = np.asarray(self._history[0][name]).dtype  # bool, int or float, as measured
            columns[name] = values[:, i].astype(kind, copy=False)
        return pd.DataFrame(columns, copy=False)

"""What every allied firm does alike: keep books, settle a quarter, invest, go bankrupt.

Firms of one kind share a `FirmBook`, one numpy array per quantity, and each rule is written
once as an array expression over all of them. A Mesa agent per firm is a view onto its row, so
the model keeps Mesa's agent sets while a step with 1,000 producers costs about what one with
10 does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import mesa
import numpy as np

_NONE = np.zeros(0, dtype=int)  # no rows
EQUITY_SHARE = 0.3  # share of an investment paid from the firm's own cash; the rest is borrowed
EXPECTATION_WEIGHT = 0.25  # weight of the latest realised price in the expected price


def capital_recovery(rate: float, years: int) -> float:
    """Share of an investment that must come back each year to pay it off over `years`."""
    paid_off = 1.0 - (1.0 + rate) ** -years if rate > 0 else 0.0
    if paid_off <= 0.0:  # no interest, or too little to show in a float: straight-line
        return 1.0 / years
    return rate / paid_off


class FirmBook:
    """Column store for one population of firms (money in USD m, output in t, prices USD/kg)."""

    COLUMNS = (
        "capacity",
        "cash_cost",
        "fixed_cost",
        "cash",
        "debt",
        "lead_time",
        "expansion",
        "capex",
    )

    def __init__(
        self,
        entries: Mapping[str, Mapping[str, Any]],
        reference_price: float,
        countries: list[str],
        finance: Any,
    ) -> None:
        self.ids = list(entries)
        self.reference_price = float(reference_price)  # USD/kg, where demand is as given
        self.countries = countries  # the governments, in order: country_idx indexes this
        self.finance = finance  # the market's rates (interest_rate: share a year)
        self.country = np.array([e["country"] for e in entries.values()], dtype=object)
        for name in self.COLUMNS:
            setattr(self, name, np.array([float(e[name]) for e in entries.values()]))
        n = len(self.ids)
        self.country_idx = np.array([countries.index(c) for c in self.country], dtype=int)
        self.interest = self.debt * finance.interest_rate  # USD m/yr owed on debt
        self.soft_debt = np.zeros(n)  # USD m of debt lent by governments at the concessional rate
        self.alive = np.ones(n, bool)
        self.bankrupt_quarter = np.full(n, -1)
        self.building = np.zeros(n)  # t/yr under construction
        self.ready_quarter = np.full(n, -1)
        self.expected_price = np.full(n, float(reference_price))
        self.offered = np.zeros(n)  # t this quarter
        self.sold = np.zeros(n)
        self.revenue = np.zeros(n)  # USD m this quarter, market sales
        self.floor_received = np.zeros(n)  # USD m this quarter, net of upside paid back
        self.profit = np.zeros(n)
        self.capital_committed = np.zeros(n)  # USD m of projects started this quarter

    def __len__(self) -> int:
        return len(self.ids)

    def set(self, row: int, attr: str, value: Any) -> None:
        """Change one firm's value of a column (the lever map's way in), with what follows
        from it: a firm moved to another country comes under that government's levers, and
        debt set anew is serviced at today's commercial rate."""
        getattr(self, attr)[row] = value
        if attr == "country":
            self.country_idx[row] = self.countries.index(value)
        elif attr == "debt":
            self.interest[row] = value * self.finance.interest_rate

    # --- what the others read of this population ---------------------------------------------

    def capacity_in_business(self) -> float:
        """t/yr of the firms not bankrupt."""
        return float(self.capacity[self.alive].sum())

    def lowest_cash_cost(self, otherwise: float) -> float:
        """Cash cost (USD/kg) of the cheapest firm in business with capacity; `otherwise` if
        none is."""
        running = self.alive & (self.capacity > 0)
        return float(self.cash_cost[running].min()) if running.any() else otherwise

    def average_cash_cost(self) -> float:
        """Capacity-weighted cash cost of the firms in business, USD/kg (0 when none is)."""
        weights = np.where(self.alive, self.capacity, 0.0)
        if weights.sum() == 0:
            return 0.0
        return float((self.cash_cost * weights).sum() / weights.sum())

    def incentive_price(
        self, interest_rate: float, concessional_rate: float, financing: np.ndarray, asset_life: int
    ) -> np.ndarray:
        """Price at which new capacity pays back: cash cost plus the annual capital charge.

        capex in USD m per kt/yr equals USD per kg/yr, so the charge comes out in USD/kg.
        Government financing replaces part of the commercial rate with the concessional one.
        """
        commercial = capital_recovery(interest_rate, asset_life)
        concessional = capital_recovery(concessional_rate, asset_life)
        return self.cash_cost + self.capex * (commercial + financing * (concessional - commercial))

    def settle(self, price: float, floor_paid: np.ndarray) -> None:
        """Book the quarter: sales at the market price, floor top-ups, costs and interest."""
        self.revenue = self.sold * price / 1000.0
        self.floor_received = floor_paid
        costs = self.sold * self.cash_cost / 1000.0 + (self.fixed_cost + self.interest) / 4.0
        self.profit = np.where(self.alive, self.revenue + floor_paid - costs, 0.0)
        self.cash = self.cash + self.profit
        realised = np.where(
            self.sold > 0, price + floor_paid * 1000.0 / np.maximum(self.sold, 1e-9), price
        )
        self.expected_price = (1 - EXPECTATION_WEIGHT) * self.expected_price + (
            EXPECTATION_WEIGHT * realised
        )

    def fail(self, quarter: int) -> np.ndarray:
        """Firms whose cash has run out are bankrupt; returns their rows."""
        broke = self.alive & (self.cash < 0)
        if not broke.any():
            return _NONE
        failed = np.flatnonzero(broke)
        self.alive[failed] = False
        self.bankrupt_quarter[failed] = quarter
        return failed

    def complete_projects(self, quarter: int) -> np.ndarray:
        ready = self.alive & (self.ready_quarter == quarter)
        if not ready.any():
            return _NONE
        done = np.flatnonzero(ready)
        self.capacity[done] += self.building[done]
        self.building[done] = 0.0
        self.ready_quarter[done] = -1
        return done

    def invest(
        self,
        quarter: int,
        incentive: np.ndarray,
        interest_rate: float,
        concessional_rate: float,
        financing: np.ndarray,
    ) -> np.ndarray:
        """Start a project where the expected price beats the incentive price and the firm can
        put up its equity share. Returns the rows that invested."""
        cost = self.expansion * self.capex / 1000.0  # USD m
        self.capital_committed = np.zeros(len(self))
        go = (
            self.alive
            & (self.ready_quarter < 0)
            & (self.expansion > 0)
            & (self.expected_price >= incentive)
            & (self.cash >= EQUITY_SHARE * cost)
        )
        if not go.any():
            return _NONE
        rows = np.flatnonzero(go)
        borrowed = (1 - EQUITY_SHARE) * cost[rows]
        self.cash[rows] -= EQUITY_SHARE * cost[rows]
        self.debt[rows] += borrowed
        self.soft_debt[rows] += borrowed * financing[rows]
        self.interest[rows] += borrowed * (
            (1 - financing[rows]) * interest_rate + financing[rows] * concessional_rate
        )
        self.building[rows] = self.expansion[rows]
        self.ready_quarter[rows] = quarter + self.lead_time[rows].astype(int)
        self.capital_committed[rows] = cost[rows]
        return rows

    def dispose(self, rows: np.ndarray) -> float:
        """Take a bankrupt firm's plant off its books; returns the capacity (t/yr) for sale."""
        capacity = float(self.capacity[rows].sum())
        self.soft_debt[rows] = 0.0  # written off with the firm
        self.capacity[rows] = 0.0
        self.building[rows] = 0.0
        self.ready_quarter[rows] = -1
        return capacity


class Column:
    """An agent attribute that lives in its kind's FirmBook."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: Firm, owner: type | None = None) -> Any:
        if agent is None:
            return self
        value = getattr(agent.book, self.name)[agent.row]
        return value.item() if hasattr(value, "item") else value


class Firm(mesa.Agent):
    """An allied firm; its numbers are read from its row of the shared book."""

    kind: ClassVar[str] = "firm"  # what the agent table and the feed call this kind

    capacity = Column()
    cash_cost = Column()
    fixed_cost = Column()
    cash = Column()
    debt = Column()
    alive = Column()
    bankrupt_quarter = Column()
    building = Column()
    expected_price = Column()
    sold = Column()
    profit = Column()
    country = Column()

    def __init__(self, model: mesa.Model, book: FirmBook, row: int) -> None:
        super().__init__(model)
        self.book = book
        self.row = row
        self.name = book.ids[row]

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"bankrupt in Q{self.bankrupt_quarter}"
        return f"<{type(self).__name__} {self.name} ({self.country}), {state}>"

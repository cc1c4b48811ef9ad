"""Allied producers: mines and refineries in the US, Australia, Japan, Malaysia and Thailand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.firm import _NONE, RUNNING, UNDISCOVERED, Firm, FirmBook, Rows, _rows

_NOTHING = np.zeros(0)  # no capacity lost


class ProducerBook(FirmBook):
    """The allied producers, one row each; a row may be a deposit not yet found (`found`
    false, no capacity) or a project whose delivery is uncertain (`success` under 1)."""

    COLUMNS = (*FirmBook.COLUMNS, "discovery_cost", "success")

    def __init__(
        self,
        entries: Mapping[str, Mapping[str, Any]],
        reference_price: float,
        countries: list[str],
        finance: Any,
    ) -> None:
        super().__init__(entries, reference_price, countries, finance)
        self.found = np.array([bool(e["found"]) for e in entries.values()])
        if not self.found.all():  # undiscovered deposits are not in business yet
            self.state[~self.found] = UNDISCOVERED
            self.alive[~self.found] = False

    def offers(self, floor_support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A running plant offers its capacity: (tonnes this quarter, ask in USD/kg) per
        producer. It sells at a price down to its hysteresis band under its cash cost, since
        stopping and starting again would cost it more (Dixit 1989).

        A floor (`floor_support`, USD/kg, 0 where none) that covers a producer's cash cost makes
        it produce whatever the market price, since the government pays it the gap."""
        quantity = np.where(self.running(), self.capacity / 4.0, 0.0)
        floor_backed = floor_support >= self.cash_cost
        ask = np.where(floor_backed, 0.0, self.least_ask())
        return quantity, ask

    def explore(self, quarter: int, mapping: np.ndarray, rng: np.random.Generator) -> Rows:
        """Geological mapping: each undiscovered deposit in a country that maps (`mapping`,
        USD m a year by government) is found this quarter with chance
        1 - exp(-mapping / 4 / discovery_cost), so the mapping spent until it is found is on
        average its `discovery_cost`. A found deposit is a firm in business with no capacity
        yet: it invests like any other (`invest`), and its first capacity comes a lead time
        later. Draws one number per deposit searched. Returns the rows found."""
        searched = self.state == UNDISCOVERED
        if not np.count_nonzero(searched):
            return _NONE
        rate = mapping[self.country_idx] / 4.0 / self.discovery_cost
        searched &= rate > 0
        if not np.count_nonzero(searched):
            return _NONE
        rows = np.flatnonzero(searched)
        hit = rng.random(len(rows)) < -np.expm1(-rate[rows])
        found = np.zeros(len(self), bool)
        found[rows[hit]] = True
        self.found |= found
        self._enter(found, RUNNING, quarter)
        self.alive |= found
        return _rows(found)

    def deliver(self, quarter: int, rng: np.random.Generator) -> tuple[Rows, np.ndarray]:
        """Projects due this quarter whose delivery is uncertain (`success` under 1: a seabed
        project) succeed with chance `success`, one draw each. A failed project adds no
        capacity: its capital is written off (the cash paid is gone; the loans stay owed and
        fall due as if it ran) and the firm may start another. Returns the rows that failed
        and the capacity (t/yr) each of their projects would have added."""
        due = self.ready_quarter == quarter
        if not np.count_nonzero(due):
            return _NONE, _NOTHING
        due &= self.alive & (self.success < 1.0)
        if not np.count_nonzero(due):
            return _NONE, _NOTHING
        rows = np.flatnonzero(due)
        failed = rows[rng.random(len(rows)) >= self.success[rows]]
        lost = self.building[failed].copy()
        self.building[failed] = 0.0
        self.building_debt[failed] = 0.0
        self.ready_quarter[failed] = -1
        return failed, lost


class AlliedProducer(Firm):
    """One allied producer, a view onto its row of the producers' book."""

    kind = "producer"

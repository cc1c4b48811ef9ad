"""Recyclers: recover NdPr from end-of-life magnets, limited by the scrap that comes back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.firm import Column, Firm, FirmBook

MAX_COLLECTION = 0.95  # no collection scheme recovers every scrapped magnet


class RecyclerBook(FirmBook):
    """The recyclers, one row each: firms whose input is the scrap that comes back."""

    COLUMNS = (*FirmBook.COLUMNS, "collection_rate", "collection_elasticity", "scrap_lag")

    def scrap(
        self, quarter: int, consumed: Sequence[float], initial: float, growth: float
    ) -> np.ndarray:
        """End-of-life tonnes reaching each recycler this quarter: what allied buyers consumed
        `scrap_lag` quarters ago (`consumed`, t a quarter, from quarter 1), or before the run
        what they consumed then given demand growth (`initial`, t a quarter at quarter 1,
        `growth` a year). Recyclers in business share it."""
        when = quarter - self.scrap_lag.astype(int)  # the quarter the scrap was consumed
        seen = len(consumed)
        quarterly = (1.0 + growth) ** 0.25
        before = when < 1
        if before.all():  # all of it consumed before the run
            amount = initial * quarterly ** (when - 1.0)
        else:
            amount = np.where(
                before,
                initial * quarterly ** (when - 1.0),
                np.asarray(consumed)[np.minimum(np.maximum(when - 1, 0), max(seen - 1, 0))]
                if seen
                else 0.0,
            )
        return amount / max(int(np.count_nonzero(self.alive)), 1)

    def offers(self, scrap: np.ndarray, floor_support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Recycle what can be collected: (tonnes, ask USD/kg) per recycler.

        Collection is the scrap each can reach times a collection rate that rises with the price
        it expects (or the floor it can count on), up to its capacity."""
        price_ratio = np.maximum(
            np.maximum(self.expected_price, floor_support) / self.reference_price, 0.0
        )
        collected = np.minimum(
            self.collection_rate * price_ratio**self.collection_elasticity, MAX_COLLECTION
        )
        quantity = np.where(self.running(), np.minimum(self.capacity / 4.0, collected * scrap), 0.0)
        ask = np.where(floor_support >= self.cash_cost, 0.0, self.least_ask())
        return quantity, ask


class Recycler(Firm):
    """One recycler, a view onto its row of the recyclers' book."""

    kind = "recycler"
    collection_rate = Column()
    scrap_lag = Column()

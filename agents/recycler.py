"""Recyclers: recover NdPr from end-of-life magnets, limited by the scrap that comes back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.firm import Column, Firm, FirmBook

MAX_COLLECTION = 0.95  # no collection scheme recovers every scrapped magnet


class RecyclerBook(FirmBook):
    COLUMNS = (*FirmBook.COLUMNS, "collection_rate", "collection_elasticity", "scrap_lag")

    def __init__(self, entries: Mapping[str, Mapping[str, Any]], reference_price: float) -> None:
        super().__init__(entries, reference_price)
        self.reference_price = float(reference_price)


class Recycler(Firm):
    """Recycles what it can collect: end-of-life scrap (consumption `scrap_lag` quarters ago)
    times a collection rate that rises with the price it expects, up to its capacity."""

    collection_rate = Column()
    scrap_lag = Column()

    @staticmethod
    def offers(
        book: RecyclerBook, scrap: np.ndarray, floor_support: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(tonnes, ask USD/kg) per recycler; scrap is the end-of-life volume (t) each can reach."""
        price_ratio = np.maximum(
            np.maximum(book.expected_price, floor_support) / book.reference_price, 0.0
        )
        collected = np.minimum(
            book.collection_rate * price_ratio**book.collection_elasticity, MAX_COLLECTION
        )
        quantity = np.where(book.alive, np.minimum(book.capacity / 4.0, collected * scrap), 0.0)
        ask = np.where(floor_support >= book.cash_cost, 0.0, book.cash_cost)
        return quantity, ask

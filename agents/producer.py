"""Allied producers: mines and refineries in the US, Australia, Japan, Malaysia and Thailand."""

from __future__ import annotations

import numpy as np

from agents.firm import Firm, FirmBook


class AlliedProducer(Firm):
    """Produces at full capacity whenever the price covers its cash cost; a price floor that
    covers its cash cost makes it produce whatever the market price (it is then paid the gap)."""

    @staticmethod
    def offers(book: FirmBook, floor_support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offers for the quarter: (tonnes, ask in USD/kg) per producer.

        floor_support is the floor price (USD/kg) each producer can count on, 0 where none.
        """
        quantity = np.where(book.alive, book.capacity / 4.0, 0.0)
        floor_backed = floor_support >= book.cash_cost
        ask = np.where(floor_backed, 0.0, book.cash_cost)
        return quantity, ask

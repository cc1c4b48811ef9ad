"""Allied producers: mines and refineries in the US, Australia, Japan, Malaysia and Thailand."""

from __future__ import annotations

import numpy as np

from agents.firm import Firm, FirmBook


class ProducerBook(FirmBook):
    """The allied producers, one row each."""

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

    def runway(
        self, price: float, floor_support: np.ndarray, floor_quarters: np.ndarray
    ) -> np.ndarray:
        """Quarters until each producer's cash runs out at `price` (USD/kg), inf if never.

        It sells its capacity only when the price, or a floor in force (`floor_support`,
        USD/kg, for `floor_quarters` more quarters while its budget lasts), covers its cash
        cost; its fixed costs and interest run on either way."""
        overhead = (self.fixed_cost + self.interest) / 4.0  # USD m a quarter

        def loss(paid: np.ndarray) -> np.ndarray:
            return overhead - np.maximum(paid - self.cash_cost, 0.0) * self.capacity / 4000.0

        with_floor, without = (
            loss(np.maximum(price, floor_support)),
            loss(np.full(len(self), price)),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            early = np.where(with_floor > 0, self.cash / with_floor, np.inf)
            left = self.cash - with_floor * floor_quarters
            later = floor_quarters + np.where(without > 0, left / without, np.inf)
        return np.where(early <= floor_quarters, early, later)


class AlliedProducer(Firm):
    """One allied producer, a view onto its row of the producers' book."""

    kind = "producer"

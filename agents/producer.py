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


class AlliedProducer(Firm):
    """One allied producer, a view onto its row of the producers' book."""

    kind = "producer"

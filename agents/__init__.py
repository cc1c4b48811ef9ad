"""The game's actors, one role per module. Agents read the market through `self.model`."""

from agents.government import Government, ResponseGroup
from agents.producer import AlliedProducer, ProducerBook
from agents.recycler import Recycler, RecyclerBook
from agents.supplier import DominantSupplier

__all__ = [
    "AlliedProducer",
    "DominantSupplier",
    "Government",
    "ProducerBook",
    "Recycler",
    "RecyclerBook",
    "ResponseGroup",
]

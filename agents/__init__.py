"""The game's actors, one role per module. Agents read the market through `self.model`."""

from agents.firm import EQUITY_SHARE
from agents.government import Government, ResponseGroup
from agents.producer import AlliedProducer, ProducerBook
from agents.recycler import Recycler, RecyclerBook
from agents.supplier import DominantSupplier

__all__ = [
    "EQUITY_SHARE",
    "AlliedProducer",
    "DominantSupplier",
    "Government",
    "ProducerBook",
    "Recycler",
    "RecyclerBook",
    "ResponseGroup",
]

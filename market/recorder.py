"""The one recorder: what every quarter did, recorded once, read by everything that reports.

Each quarter it keeps the indicators, ledger and series (`market.metrics`), each allied firm's
numbers (`FIRM_COLUMNS`) and the supplier's and governments' rows. The quarterly table, the
agent table, the game's charts, the history measures and sweep summaries are all read from
here; Mesa's DataCollector is fed from it too, for `mesa.batch_run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from market.metrics import COLUMNS, measure

if TYPE_CHECKING:
    import pandas as pd

    from market.model import MineralMarket

# Each allied firm's numbers a quarter (book columns; money in USD m, output in t a quarter).
FIRM_COLUMNS = (
    "alive",  # in business: running, idle or restarting
    "idle",  # its plant on care and maintenance, or restarting
    "bankrupt",  # out of business because cash and backers ran out (else closed: its choice)
    "capacity",  # t/yr
    "sold",  # t this quarter: a firm's output is what it sells
    "profit",
    "cash",
    "debt",
    "expected_price",  # USD/kg
    "building",  # t/yr under construction
    "capital_committed",  # USD m of projects started this quarter
)

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


class Recorder:
    """A model's record, one entry a quarter; `collect` is called once, at the end of a step."""

    def __init__(self, model: MineralMarket) -> None:
        self.model = model
        self.rows: list[dict[str, Any]] = []  # indicators, ledger and series by quarter
        self._firms: list[np.ndarray] = []  # (firms, FIRM_COLUMNS) by quarter
        self._books: list[list[np.ndarray]] = []  # quarters not yet joined: (columns, firms) a book
        self._others: list[list[tuple[float, ...]]] = []  # supplier then governments
        self._cache: dict[str, np.ndarray] = {}
        self._cached_at = 0

    def collect(self) -> None:
        model = self.model
        self.rows.append(measure(model))
        # Each book's columns as floats (copies); joined into one table when first read.
        self._books.append(
            [
                np.array([getattr(book, c) for c in FIRM_COLUMNS], dtype=float)
                for book in (model.producers, model.recyclers)
            ]
        )
        s = model.supplier
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
            for g in model.governments.values()
        ]
        self._others.append(others)

    # --- reading -------------------------------------------------------------------------------

    def _firm_tables(self) -> list[np.ndarray]:
        """Each quarter's (firms, FIRM_COLUMNS) table, in `firm_ids` order."""
        self._firms += [np.concatenate(books, axis=1).T for books in self._books]
        self._books.clear()
        return self._firms

    @property
    def quarters(self) -> int:
        return len(self.rows)

    @property
    def latest(self) -> dict[str, Any]:
        """The last quarter's indicators, ledger and series ({} before the first)."""
        return self.rows[-1] if self.rows else {}

    def series(self, name: str) -> np.ndarray:
        """One recorded quantity over quarters 1..n, as bool, int or float as it was measured
        (`quarter` gives the quarter numbers)."""
        if self._cached_at != len(self.rows):
            self._cache, self._cached_at = {}, len(self.rows)
        if name not in self._cache:
            if name == "quarter":
                values = np.arange(1, len(self.rows) + 1)
            else:
                values = np.array([row[name] for row in self.rows])
                if not self.rows:
                    values = values.astype(float)
            values.setflags(write=False)  # shared by every reader: nobody may write into it
            self._cache[name] = values
        return self._cache[name]

    def firm_ids(self) -> list[str]:
        m = self.model
        return [*m.producers.ids, *m.recyclers.ids]

    def firms(self, column: str) -> np.ndarray:
        """One of FIRM_COLUMNS for every allied firm: shape (quarters, firms), `firm_ids` order."""
        j = FIRM_COLUMNS.index(column)
        n = len(self.firm_ids())
        tables = self._firm_tables()
        if not tables:
            return np.zeros((0, n))
        return np.stack([block[:, j] for block in tables])

    def firm(self, agent: str, column: str) -> np.ndarray:
        return self.firms(column)[:, self.firm_ids().index(agent)]

    def timeseries(self, columns: tuple[str, ...] = COLUMNS) -> pd.DataFrame:
        """One row per quarter: `quarter` and the named columns (by default the indicators and
        the ledger, the table a run writes)."""
        import pandas as pd

        if not self.rows:
            return pd.DataFrame(columns=list(columns))
        return pd.DataFrame({name: self.series(name) for name in columns}, copy=True)

    def agent_table(self) -> pd.DataFrame:
        """One row per agent per quarter (0 where a column does not apply to a kind).

        For the supplier `cash` is its state budget left and `spent` its sacrifice; for a
        government `sold` is stock released, `cash` its floor and stockpile budgets left."""
        import pandas as pd

        m = self.model
        firms = [*m.producers.agents, *m.recyclers.agents]
        govs = list(m.governments.values())
        names = [*(f.name for f in firms), "dominant", *(f"gov-{g.country}" for g in govs)]
        kinds = [*(f.kind for f in firms), m.supplier.kind, *(g.kind for g in govs)]
        countries = [*(f.country for f in firms), "CN", *(g.country for g in govs)]
        blocks = []
        shown = [FIRM_COLUMNS.index(c) for c in AGENT_COLUMNS[4:9]]  # alive .. cash
        firm_tables = self._firm_tables()
        for firm_block, others in zip(firm_tables, self._others, strict=True):
            # firms hold no stockpile and spend nothing
            blocks.append(np.hstack([firm_block[:, shown], np.zeros((len(firm_block), 2))]))
            blocks.append(np.array(others, float))
        values = np.vstack(blocks) if blocks else np.zeros((0, 7))
        frame = pd.DataFrame(values, columns=list(AGENT_COLUMNS[4:]))
        frame["alive"] = frame["alive"].astype(bool)
        quarters = len(firm_tables)
        frame["quarter"] = np.repeat(np.arange(1, quarters + 1), len(names))
        frame["agent"] = names * quarters
        frame["kind"] = kinds * quarters
        frame["country"] = countries * quarters
        return frame[list(AGENT_COLUMNS)]

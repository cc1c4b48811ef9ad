"""What every allied firm does alike: keep books, run or idle or close, settle a quarter, invest,
go bankrupt.

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

# Whether a mask picks any firm is asked with np.count_nonzero, one call into numpy's C code:
# ndarray.any goes through a Python wrapper that costs more than the test on arrays this small.
Rows = np.ndarray | tuple[int, ...]  # row numbers: an index array, or the empty tuple
_NONE: Rows = ()  # no rows (an empty tuple: a loop over it costs nothing)
_QUIET = {"idle": _NONE, "restart": _NONE, "close": _NONE, "short": _NONE}  # a quarter of no moves
EQUITY_SHARE = 0.3  # share of an investment paid from the firm's own cash; the rest is borrowed
EXPECTATION_WEIGHT = 0.25  # weight of the latest realised price in the expected price
HORIZON = 4  # quarters of output over which a firm weighs what idling and restarting cost it
IDLE_BEFORE_CLOSING = 8  # quarters on care and maintenance without recovery before it closes

# A firm's state. In business: running, idle (care and maintenance), restarting. Out: closed
# (its own decision; the plant is sold) or bankrupt (cash and its backer's money are gone).
# Not yet in business: an undiscovered deposit, which mapping may find (`ProducerBook.explore`).
RUNNING, IDLE, RESTARTING, CLOSED, BANKRUPT, UNDISCOVERED = range(6)
STATES = ("running", "idle", "restarting", "closed", "bankrupt", "undiscovered")
IDLING = np.isin(np.arange(len(STATES)), (IDLE, RESTARTING))  # by state: in business, not producing


def _rows(mask: np.ndarray) -> Rows:
    """The rows a boolean mask picks (`_NONE` when it picks none)."""
    return np.flatnonzero(mask) if np.count_nonzero(mask) else _NONE


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
        "idle_cost",
        "restart_cost",
        "restart_lag",
        "salvage",
        "backer_cash",
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
        self.lender = np.full(n, -1)  # the government (index) that lent it, -1 none
        self.alive = np.ones(n, bool)  # in business: running, idle or restarting
        self.state = np.full(n, RUNNING)
        self.state_since = np.zeros(n, int)  # quarter it entered its state
        self.bankrupt_quarter = np.full(n, -1)  # quarter it left business, closed or bankrupt
        self.building = np.zeros(n)  # t/yr under construction
        self.ready_quarter = np.full(n, -1)
        self.restart_quarter = np.full(n, -1)
        self.repaid = np.zeros(n)  # USD m of debt repaid this quarter
        self.building_debt = np.zeros(n)  # USD m borrowed for a project not yet finished
        self.expected_price = np.full(n, float(reference_price))  # what a kg will fetch, floor in
        self.expected_market = np.full(n, float(reference_price))  # what the market alone pays
        self.sold = np.zeros(n)
        self.revenue = np.zeros(n)  # USD m this quarter, market sales
        self.floor_received = np.zeros(n)  # USD m this quarter, net of upside paid back
        self.profit = np.zeros(n)
        self.capital_committed = np.zeros(n)  # USD m of projects started this quarter
        self.closures = 0  # firms closed so far (a plant an allied buyer took over counts too)
        self.bankruptcies = 0  # firms gone bankrupt so far
        self.takeovers = np.zeros(n, int)  # times an allied buyer has taken the plant over
        self._experience: dict[str, Any] | None = None  # learning's record, from its first use
        self._kept: dict[str, np.ndarray] = {}  # `band`, `least_ask`: kept till inputs change

    def __len__(self) -> int:
        return len(self.ids)

    def set(self, row: int, attr: str, value: Any) -> None:
        """Change one firm's value of a column (the lever map's way in), with what follows
        from it: a firm moved to another country comes under that government's levers, and
        debt set anew is serviced at today's commercial rate."""
        getattr(self, attr)[row] = value
        self._kept.clear()  # capacity, cash cost, restart cost or capex may have changed
        if attr == "country":
            self.country_idx[row] = self.countries.index(value)
        elif attr == "debt":
            self.interest[row] = value * self.finance.interest_rate

    # --- what the others read of this population ---------------------------------------------

    def running(self) -> np.ndarray:
        return self.state == RUNNING

    @property
    def idle(self) -> np.ndarray:
        """In business with its plant not producing: on care and maintenance or restarting."""
        return IDLING[self.state]

    @property
    def bankrupt(self) -> np.ndarray:
        return self.state == BANKRUPT

    @property
    def closed(self) -> np.ndarray:
        return self.state == CLOSED

    def exits(self) -> tuple[int, int]:
        """How many firms have closed their plants, and how many have gone bankrupt, so far.

        Counted as they happen, not read from the states now: a plant an allied buyer took
        over (`take_over`) is back in business, and its old owner's failure still counts."""
        return self.closures, self.bankruptcies

    def idled_capacity(self) -> float:
        """t/yr of plants in business but not producing (idle or restarting)."""
        idle = self.idle
        return float(self.capacity[idle].sum()) if np.count_nonzero(idle) else 0.0

    def band(self) -> np.ndarray:
        """Half-width (USD/kg) of each firm's hysteresis band (Dixit 1989): what restarting
        would cost it after idling, spread over a year's output. It keeps running at a price
        this far under its cash cost, and restarts only when it expects this far over.

        It changes only with capacity, restart cost and capex, so it is kept until one of them
        changes (`set`, `complete_projects`, `dispose`); read-only, shared by every reader."""
        band = self._kept.get("band")
        if band is None:
            output = np.maximum(self.capacity / 4.0 * HORIZON, 1e-9)  # t over the horizon
            restart = self.restart_cost * self.capex * self.capacity / 1000.0  # USD m
            band = self._kept["band"] = restart * 1000.0 / output
            band.setflags(write=False)
        return band

    def least_ask(self) -> np.ndarray:
        """The lowest price (USD/kg) each firm sells at with no floor behind it: its cash cost
        less its band, and never under 0. Kept, as `band` is, until its inputs change."""
        ask = self._kept.get("least_ask")
        if ask is None:
            ask = self._kept["least_ask"] = np.maximum(self.cash_cost - self.band(), 0.0)
            ask.setflags(write=False)
        return ask

    def decide(self, quarter: int, floor_support: np.ndarray) -> dict[str, Rows]:
        """Run, idle, restart or close, from the price each firm expects (or a floor it can
        count on). Returns the rows that idled, restarted and closed (with why) this quarter."""
        expected = np.maximum(self.expected_price, floor_support)
        losing = (self.operating_loss(expected) > 0) & (self.capacity > 0)
        if not np.count_nonzero(losing) and (self.state == RUNNING).all():
            return _QUIET  # every plant runs and expects to cover its costs: nothing moves
        band = self.band()
        ready = self.state == RESTARTING
        if np.count_nonzero(ready):
            ready &= quarter >= self.restart_quarter
            self._enter(ready, RUNNING, quarter)
        idle = expected < self.cash_cost - band
        if np.count_nonzero(idle):
            idle &= (self.state == RUNNING) & (self.capacity > 0)
            self._enter(idle, IDLE, quarter)
        # Restart when it expects enough over its cash cost, and can pay for the restart and
        # its running costs until it sells again (the restart lag and a quarter) out of its own
        # or its backer's cash.
        restart = self.state == IDLE
        if np.count_nonzero(restart):
            cost = self.restart_cost * self.capex * self.capacity / 1000.0
            until_selling = (self.restart_lag + 1.0) * (self.fixed_cost + self.interest) / 4.0
            affordable = self.cash + self.backer_cash >= cost + until_selling
            restart &= (expected > self.cash_cost + band) & affordable
        if np.count_nonzero(restart):
            self.cash = np.where(restart, self.cash - cost, self.cash)
            self.restart_quarter = np.where(
                restart, quarter + self.restart_lag.astype(int), self.restart_quarter
            )
            self._enter(restart, RESTARTING, quarter)
        # Close (sell the plant) rather than wait to go bankrupt: the plant expected to lose
        # money (under its cash cost, or over it but short of its fixed costs) with less than
        # a year of cash to carry it, or long idle without recovery. A plant that covers its
        # costs but not its debt service is left to its creditors (`fail`).
        short = losing & self.alive
        if np.count_nonzero(short):
            short &= self.cash + self.backer_cash < self.year_of_costs(expected)
        # A backer with money left keeps an idle plant on care and maintenance.
        stale = self.state == IDLE
        if np.count_nonzero(stale):
            stale &= (quarter - self.state_since >= IDLE_BEFORE_CLOSING) & (self.backer_cash <= 0)
        close = (short | stale) & ~restart
        if np.count_nonzero(close):
            self.cash = np.where(
                close, self.cash + self.salvage * self.capex * self.capacity / 1000.0, self.cash
            )
            self._enter(close, CLOSED, quarter)
            self.bankrupt_quarter = np.where(close, quarter, self.bankrupt_quarter)
            self.closures += int(np.count_nonzero(close))
        self.alive = self.state < CLOSED
        return {
            "idle": _rows(idle),
            "restart": _rows(restart),
            "close": _rows(close),
            "short": _rows(close & short),
        }

    def operating_loss(self, price: np.ndarray, idle: np.ndarray | None = None) -> np.ndarray:
        """USD m a year a firm's plant loses at `price` before debt service: its fixed costs
        (or, idle, its care and maintenance cost) less what its output earns over its cash
        cost. `idle` says which firms are taken as idle (default: their state now)."""
        idle = self.state == IDLE if idle is None else idle
        fixed = np.where(idle, self.idle_cost * self.fixed_cost, self.fixed_cost)
        return fixed - np.where(idle, 0.0, (price - self.cash_cost) * self.capacity / 1000.0)

    def year_of_costs(self, price: np.ndarray, idle: np.ndarray | None = None) -> np.ndarray:
        """USD m a firm would burn in a year at `price`: its plant's operating loss plus
        interest and debt repayment (negative: it earns more than it spends)."""
        return (
            self.operating_loss(price, idle) + self.interest + self.debt / self.finance.asset_life
        )

    def runway(
        self, quarter: int, price: float, floor_support: np.ndarray, floor_quarters: np.ndarray
    ) -> np.ndarray:
        """Quarters after `quarter` until each firm leaves by its own rules (`decide`, `fail`)
        if the price (USD/kg) stays at `price`, inf if never: what a predator can read of its
        rivals.

        At a price under its cash cost a plant idles, and closes after IDLE_BEFORE_CLOSING
        quarters idle unless a backer carries it. A plant that loses money closes once its
        cash and its backer's fall under a year of what it burns; one that covers its costs
        but not its debt service goes bankrupt when they run out. A floor in force
        (`floor_support`, USD/kg, for `floor_quarters` more quarters while its budget lasts)
        pays it up to the floor."""

        def leaves(paid: np.ndarray, cash: np.ndarray) -> np.ndarray:
            idles = paid < self.cash_cost
            burn = self.year_of_costs(paid, idles) / 4.0  # USD m a quarter
            carried = np.where(self.operating_loss(paid, idles) > 0, 4.0, 0.0)  # quarters kept
            with np.errstate(divide="ignore", invalid="ignore"):
                short = np.where(
                    burn > 0, np.maximum((cash + self.backer_cash) / burn - carried, 0.0), np.inf
                )
            idle_for = np.where(self.state == IDLE, quarter - self.state_since, 0)
            stale = np.where(
                idles & (self.backer_cash <= 0),
                np.maximum(IDLE_BEFORE_CLOSING - idle_for, 0),
                np.inf,
            )
            return np.minimum(short, stale)

        price_now = np.full(len(self), float(price))
        supported = np.maximum(price_now, floor_support)
        early = leaves(supported, self.cash)
        burn = self.year_of_costs(supported, supported < self.cash_cost) / 4.0
        spent = burn * np.where(np.isfinite(floor_quarters), floor_quarters, 0.0)  # under it
        later = floor_quarters + leaves(price_now, self.cash - spent)
        return np.where(early <= floor_quarters, early, later)

    def _enter(self, rows: np.ndarray, state: int, quarter: int) -> None:
        if np.count_nonzero(rows):
            self.state = np.where(rows, state, self.state)
            self.state_since = np.where(rows, quarter, self.state_since)

    def capacity_in_business(self) -> float:
        """t/yr of the firms not bankrupt."""
        return float(self.capacity[self.alive].sum())

    def lowest_cash_cost(self, otherwise: float) -> float:
        """Cash cost (USD/kg) of the cheapest firm in business with capacity; `otherwise` if
        none is."""
        running = self.alive & (self.capacity > 0)
        return float(self.cash_cost[running].min()) if np.count_nonzero(running) else otherwise

    def average_cash_cost(self) -> float:
        """Capacity-weighted cash cost of the firms in business, USD/kg (0 when none is)."""
        weights = self.capacity if self.alive.all() else np.where(self.alive, self.capacity, 0.0)
        total = float(weights.sum())
        if total == 0:
            return 0.0
        return float((self.cash_cost * weights).sum()) / total

    def incentive_price(
        self, interest_rate: float, concessional_rate: float, financing: np.ndarray, asset_life: int
    ) -> np.ndarray:
        """Price at which new capacity pays back: cash cost plus the annual capital charge.

        capex in USD m per kt/yr equals USD per kg/yr, so the charge comes out in USD/kg.
        Government financing replaces part of the commercial rate with the concessional one.
        """
        commercial = capital_recovery(interest_rate, asset_life)
        if not np.count_nonzero(financing):  # no government financing: the commercial charge
            return self.cash_cost + self.capex * commercial
        concessional = capital_recovery(concessional_rate, asset_life)
        return self.cash_cost + self.capex * (commercial + financing * (concessional - commercial))

    def settle(self, price: float, floor_paid: np.ndarray) -> None:
        """Book the quarter: sales at the price its output nets (USD/kg), floor top-ups, costs
        by state (a running plant's fixed costs, an idle one's care and maintenance), interest
        and the quarter's debt repayment: 1 / (4 * `finance.asset_life`) of what it owes each
        quarter (a declining balance), once the plant the debt paid for runs."""
        self.revenue = self.sold * price / 1000.0
        self.floor_received = floor_paid
        fixed = self.fixed_cost
        idle = self.state == IDLE
        if np.count_nonzero(idle):  # on care and maintenance: its idle cost instead
            fixed = np.where(idle, self.idle_cost * self.fixed_cost, fixed)
        costs = self.sold * self.cash_cost / 1000.0 + (fixed + self.interest) / 4.0
        some_out = not self.alive.all()  # firms out of business book nothing
        self.profit = self.revenue + floor_paid - costs
        if some_out:
            self.profit = np.where(self.alive, self.profit, 0.0)
        # Project loans are repaid once the plant runs (a grace period while it is built).
        owed = self.debt - self.building_debt
        if not np.count_nonzero(owed) and not np.signbit(owed).any():  # owing none, repaying none
            self.repaid = np.zeros(len(self))
        else:
            due = owed / (4.0 * self.finance.asset_life)
            self.repaid = np.minimum(np.maximum(due, 0.0), owed)
            if some_out:
                self.repaid = np.where(self.alive, self.repaid, 0.0)
            kept = np.where(self.debt > 0, 1.0 - self.repaid / np.maximum(self.debt, 1e-12), 1.0)
            self.debt = self.debt - self.repaid
            self.interest = self.interest * kept
            self.soft_debt = self.soft_debt * kept
        self.cash = self.cash + self.profit - self.repaid
        if np.count_nonzero(floor_paid):  # a floor topped up, or took back some of, what a kg made
            realised = np.where(
                self.sold > 0, price + floor_paid * 1000.0 / np.maximum(self.sold, 1e-9), price
            )
        else:
            realised = price
        self.expected_price = (1 - EXPECTATION_WEIGHT) * self.expected_price + (
            EXPECTATION_WEIGHT * realised
        )
        self.expected_market = (1 - EXPECTATION_WEIGHT) * self.expected_market + (
            EXPECTATION_WEIGHT * price
        )

    def fail(self, quarter: int) -> tuple[Rows, np.ndarray | tuple[float, ...], Rows]:
        """Firms whose cash has run out call on their backer; those the backer cannot carry
        are bankrupt. Returns (rows a backer carried, what it put in, rows bankrupt)."""
        short = self.cash < 0
        if not np.count_nonzero(short):
            return _NONE, _NONE, _NONE
        short &= self.alive
        if not np.count_nonzero(short):
            return _NONE, _NONE, _NONE
        need = np.where(short, -self.cash + (self.fixed_cost + self.interest) / 4.0, 0.0)
        put = np.minimum(need, self.backer_cash)
        helped = np.flatnonzero(short & (put > 0))
        self.cash = self.cash + put
        self.backer_cash = self.backer_cash - put
        broke = self.alive & (self.cash < 0)
        failed = np.flatnonzero(broke)
        self.state[failed] = BANKRUPT
        self.state_since[failed] = quarter
        self.alive[failed] = False
        self.bankrupt_quarter[failed] = quarter
        self.bankruptcies += len(failed)
        return helped, put[helped], failed

    def complete_projects(self, quarter: int) -> Rows:
        ready = self.ready_quarter == quarter
        if not np.count_nonzero(ready):
            return _NONE
        ready &= self.alive
        if not np.count_nonzero(ready):
            return _NONE
        done = np.flatnonzero(ready)
        self.capacity[done] += self.building[done]
        self._kept.clear()
        self.building[done] = 0.0
        self.building_debt[done] = 0.0
        self.ready_quarter[done] = -1
        return done

    def invest(
        self,
        quarter: int,
        incentive: np.ndarray,
        interest_rate: float,
        concessional_rate: float,
        financing: np.ndarray,
        expected: np.ndarray | None = None,
    ) -> Rows:
        """Start a project where the price it expects over the plant's life (`expected`,
        USD/kg; default its expected price) beats the incentive price and the firm, running
        (not idle, nor paying for a restart), can put up its equity share. Returns the rows
        that invested."""
        self.capital_committed = np.zeros(len(self))
        expected = self.expected_price if expected is None else expected
        go = expected >= incentive  # first the test that rules most firms out
        if not np.count_nonzero(go):
            return _NONE
        cost = self.expansion * self.capex / 1000.0  # USD m
        go &= (
            (self.state == RUNNING)
            & (self.ready_quarter < 0)
            & (self.expansion > 0)
            & (self.cash >= EQUITY_SHARE * cost)
        )
        if not np.count_nonzero(go):
            return _NONE
        rows = np.flatnonzero(go)
        borrowed = (1 - EQUITY_SHARE) * cost[rows]
        self.cash[rows] -= EQUITY_SHARE * cost[rows]
        self.debt[rows] += borrowed
        self.building_debt[rows] += borrowed
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
        self._kept.clear()
        self.building[rows] = 0.0
        self.ready_quarter[rows] = -1
        return capacity

    def take_over(self, row: int, capacity: float, quarter: int) -> float:
        """An allied buyer takes over a plant whose sale to the dominant side review blocked:
        the same row, a new owner. The old owner's debts went with it (`dispose`), so the plant
        starts again free of debt, on care and maintenance, and the buyer puts in working
        capital: the restart and the plant's costs until it sells again (the restart lag and a
        quarter), what `decide` asks before a restart, and care and maintenance for as long as
        any owner waits for a recovery (IDLE_BEFORE_CLOSING quarters). `decide` restarts the
        plant when the price it expects beats its cash cost plus its band, and closes it again
        if that does not happen in time. Returns the working capital (USD m)."""
        self.capacity[row] = capacity
        self._kept.clear()
        self.debt[row] = self.interest[row] = self.building_debt[row] = self.soft_debt[row] = 0.0
        self.lender[row] = -1
        self.state[row], self.state_since[row], self.alive[row] = IDLE, quarter, True
        self.bankrupt_quarter[row] = self.restart_quarter[row] = -1
        restart = self.restart_cost[row] * self.capex[row] * capacity / 1000.0
        until_selling = (self.restart_lag[row] + 1.0) * self.fixed_cost[row] / 4.0
        waiting = IDLE_BEFORE_CLOSING * self.idle_cost[row] * self.fixed_cost[row] / 4.0
        self.cash[row] = restart + until_selling + waiting
        self.backer_cash[row] = 0.0  # the old owner's backer left with it
        self.takeovers[row] += 1
        return float(self.cash[row])

    def learn(self, rate: float, start_years: float, transfer: float, sharing: np.ndarray) -> None:
        """Wright's law: each firm's cash cost falls by `rate` with every doubling of the
        experience E (t of output) it draws on, `c *= (E_now / E_before) ** -b` with
        `b = -log2(1 - rate)`, so a cost set anew (an event, a shock) learns on from there.

        Every firm's cost today rests on what the allied industry has learned so far: a start
        stock S of `start_years` years of the book's capacity when learning began. What is
        learned after that stays in the country whose firms made the output, unless it is
        shared: a firm draws on S plus its own country's output since, and, in a country that
        shares (`sharing`, by government), `transfer` (a share) of the other sharing countries'
        output since. With every country sharing all of it the allied industry moves down one
        curve on its cumulative output; with none each country moves down it on its own."""
        n = len(self.countries)
        record = self._experience
        if record is None:  # learning starts: the industry's stock of experience
            stock = start_years * float(self.capacity[self.alive].sum())
            if stock <= 0:
                stock = start_years * float(self.expansion.sum())
            start = np.full(len(self), stock)
            record = self._experience = {"start": start, "made": np.zeros(n), "counted": start}
        made = record["made"] = record["made"] + np.bincount(self.country_idx, self.sold, n)
        counted = record["start"] + made[self.country_idx]
        if transfer > 0:
            shared = np.where(sharing, made, 0.0)
            others = shared.sum() - shared[self.country_idx]
            counted = counted + np.where(sharing[self.country_idx], transfer * others, 0.0)
        before = record["counted"]
        grown = np.where(before > 0, counted / np.maximum(before, 1e-300), 1.0)
        self.cash_cost = self.cash_cost * grown ** np.log2(1.0 - rate)
        record["counted"] = counted
        self._kept.clear()  # the least ask follows the cash cost


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
        state = STATES[self.book.state[self.row]]
        if self.book.state[self.row] in (CLOSED, BANKRUPT):
            state += f" in Q{self.bankrupt_quarter}"
        return f"<{type(self).__name__} {self.name} ({self.country}), {state}>"

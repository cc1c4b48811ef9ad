"""MineralMarket: the Mesa model. The quarterly step order is written once, in `step`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from agents import (
    EQUITY_SHARE,
    AlliedProducer,
    DominantSupplier,
    Government,
    ProducerBook,
    Recycler,
    RecyclerBook,
    ResponseGroup,
)
from market import lever_map
from market.clearing import DemandCurve, Routes, Trade, clear_regions
from market.demand import REGIONS, TRANCHES, Demand
from market.feed import FeedEntry, entry
from market.metrics import INDICATORS
from market.recorder import Recorder
from market.scenarios import Scenario, ScenarioError, load_scenario


@dataclass
class Finance:
    """The market's cost of capital, from the scenario's `finance` table."""

    interest_rate: float  # commercial, share a year
    concessional_rate: float  # on government project finance, share a year
    asset_life: int  # years over which new capacity must pay back


@dataclass
class Learning:
    """How allied costs learn, from the scenario's `learning` table."""

    rate: float  # share the cash cost falls by with each doubling of experience; 0 none
    start_years: float  # experience at the start, in years of the allied producers' capacity


@dataclass
class TradeCosts:
    """What moving goods between regions costs, from the scenario's `trade` table."""

    freight: float  # USD/kg on every route between two regions
    home_imports: bool  # allied firms may sell into the dominant country's market
    reroute_cost: float  # USD/kg more for the dominant side's goods sent through a third country


# Whose goods clear: the dominant side's plants, allied firms, allied governments' stockpiles,
# and consumers' and traders' stocks in each region. The first two ship anywhere (freight
# between regions); stocks are sold only where they are held.
ORIGINS = ("dominant", "allied", "reserve", *(f"stocks {r}" for r in REGIONS))
HOME_OF = (REGIONS.index("home"), REGIONS.index("allied"), REGIONS.index("allied"), 0, 1, 2)
TRADED = (True, True, False, False, False, False)
HOME, ALLIED, WORLD = (REGIONS.index(r) for r in ("home", "allied", "world"))


def _sum(values: list[float]) -> float:
    """What `np.sum` gives for `values`, to the last bit, without building an array for a short
    list: numpy adds fewer than eight numbers one by one from 0.0 (more, pairwise)."""
    if len(values) >= 8:
        return float(np.sum(values))
    total = 0.0
    for value in values:
        total += value
    return total


def _report(name: str, model: MineralMarket) -> Any:
    return model.recorder.rows[-1][name]  # collected after the recorder's row for the quarter


class MineralMarket(mesa.Model):
    """A critical-minerals market with a dominant supplier, allied producers, recyclers and
    allied governments. One step is one quarter.

    `scenario` is a named scenario, a path to a TOML file or a mapping; every other keyword is
    a dotted path into it (`**{"supplier.budget": 2000}`). Seeds go in `rng`.
    """

    def __init__(
        self,
        scenario: str | Scenario | dict[str, Any] = "baseline",
        rng: Any = None,
        **overrides: Any,
    ) -> None:
        if "seed" in overrides:
            raise ScenarioError("seed: pass the seed as rng=")
        super().__init__(rng=rng)
        self.spec = load_scenario(scenario, overrides)
        p = self.spec.params
        self.quarters: int = p["quarters"]
        self.finance = Finance(**p["finance"])
        self.trade = TradeCosts(**p["trade"])
        self.learning = Learning(**p["learning"])
        self.demand = Demand(p["demand"])
        reference = self.demand.reference_price

        self.governments = {cc: Government(self, cc, gp) for cc, gp in p["governments"].items()}
        self._gov_list = list(self.governments.values())
        # Where each bid buys (stockpiles in the allied market, holders in their own region)
        # and each origin's home region: fixed for the model's life.
        self._bid_region = np.array([REGIONS.index("allied")] * len(self._gov_list) + [0, 1, 2])
        self._home_of = np.array(HOME_OF)
        # The origin of each stockpile release, then of each region's holders' tranches.
        self._stocked_origin = [ORIGINS.index("reserve")] * len(self._gov_list) + [
            ORIGINS.index(f"stocks {r}") for r in REGIONS for _ in range(TRANCHES)
        ]
        self.response_group = ResponseGroup(self, p["alliance"])
        countries = list(self.governments)
        self.producers = ProducerBook(p["producers"], reference, countries, self.finance)
        self.recyclers = RecyclerBook(p["recyclers"], reference, countries, self.finance)
        for book, kind in ((self.producers, AlliedProducer), (self.recyclers, Recycler)):
            book.agents = kind.create_agents(self, len(book), book=book, row=list(range(len(book))))

        self.feed: list[FeedEntry] = []
        self.price_last = {r: reference for r in REGIONS}
        self.shortage_last = 0.0
        self.duty_last = 0.0
        self.allied_route_last = self.trade.freight  # USD/kg on the supplier's allied route
        self.consumption_allied: list[float] = []  # t per quarter so far, for recyclers' scrap
        self._initial_allied = self.demand.curves["allied"].reference_qty
        self.observed = self._firm_offers(
            self._floor_support()
        )  # what the supplier saw of the fringe last quarter
        self.routes_used: frozenset[tuple[int, int]] | None = None  # where the search starts
        self._use_last: dict[str, float] = {}  # t each region consumed last quarter
        allied_output = float(self.observed[0].sum())
        total_demand = sum(self.demand.curves[r].reference_qty for r in REGIONS)
        self.supplier = DominantSupplier(
            self, p["supplier"], share=1.0 - allied_output / max(total_demand, 1e-9)
        )

        # Each event takes effect from its quarter: it runs after the step before it. Mesa holds
        # events weakly, so the model keeps the callables.
        self._timeline = [partial(self._fire, event) for event in self.spec.events]
        for event, fire in zip(self.spec.events, self._timeline, strict=True):
            self.schedule_event(fire, at=event.quarter - 1, priority=mesa.time.Priority.LOW)

        self.quarter_result: dict[str, float] = {}
        self.recorder = Recorder(self)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_report, name) for name in INDICATORS}
        )
        self.running = True

    @property
    def scenario(self) -> None:
        """None: the game's scenario is `spec`, built from this model's keyword parameters.

        Mesa 3.5 keeps an experimental Scenario object here, and SolaraViz's Reset passes it
        back as `scenario=`, which would replace the scenario the user chose. Reporting none
        makes SolaraViz rebuild the model from its keyword parameters, as it does for any model.
        """
        return None

    @scenario.setter
    def scenario(self, value: Any) -> None:
        self._mesa_scenario = value

    # --- what agents read ------------------------------------------------------------------

    def demand_curve(self, region: str) -> DemandCurve:
        return self.demand.curves[region]

    def allied_duty(self) -> float:
        """Demand-weighted duty the members in force levy on the supplier's allied sales."""
        weight = sum([g.demand_share for g in self._gov_list])
        levied = sum([g.demand_share * g.duty_in_force() for g in self._gov_list])
        return levied / weight if weight > 0 else 0.0

    def allied_share_of_allied_market(self) -> float:
        """Allied firms' share of last quarter's allied sales; before the first quarter, what
        they offer against allied demand."""
        supply = self.quarter_result.get("supply_allied", 0.0)
        if supply <= 0:
            return float(self.observed[0].sum()) / max(
                self.demand_curve("allied").reference_qty, 1e-9
            )
        return self.quarter_result["firms_allied"] / supply

    def stock_price(self) -> float:
        """USD/kg a stockpile is worth now: the allied price (the last one paid when no one
        bought this quarter)."""
        price = self.price_last["allied"]
        return price if math.isfinite(price) else self.demand.reference_price

    def response_active(self) -> bool:
        """The rapid-response group's coordinated counter-moves are in force."""
        return (
            self.response_group.response == "coordinated"
            and self.response_group.active
            and any(g.in_force for g in self._gov_list)
        )

    @property
    def indicators(self) -> dict[str, Any]:
        """Last quarter's indicators, ledger and series ({} before the first quarter)."""
        return self.recorder.latest

    def say(self, kind: str, who: str = "", text: str = "", **data: Any) -> None:
        """Add an entry to the event feed, stamped with the current quarter."""
        self.feed.append(entry(self.steps, kind, who, text, **data))

    # --- the quarter -----------------------------------------------------------------------

    def step(self) -> None:
        quarter = self.steps
        if quarter > 1:
            self.demand.advance(self.price_last, self.rng)
        self._complete_projects(quarter)

        # 1. Governments read last quarter's market; the response group flags and activates.
        for gov in self._gov_list:
            gov.start_quarter()
        self.response_group.review(quarter)
        duty, wedge = self._allied_wedge(self.allied_duty())

        # 2. The dominant side chooses its campaign, its plants' offers and its routes.
        plant_qty, plant_ask = self.supplier.offers()
        adjust = self.supplier.route_adjustments(duty, wedge)

        # 3. Allied producers and recyclers run, idle, restart or close, and offer; governments
        # bid for or release stock.
        support = self._floor_support()
        self._firms_decide(quarter, support)
        firm_qty, firm_ask = self._firm_offers(support)
        self.observed = (firm_qty, firm_ask)
        stockpiles = [g.stockpile_bid() for g in self._gov_list]
        releases = [g.stockpile_offer() for g in self._gov_list]
        # Consumers and traders sell out of stock or restock against the price they expect.
        use = {r: self._use_last.get(r, self.demand.curves[r].reference_qty) for r in REGIONS}
        held = self.demand.stocks.offers()
        restock = self.demand.stocks.bids(use, self.demand.price_cap)
        stocked = releases + held  # (tonnes, ask) out of stockpiles and holders' stocks
        # Offers by origin (ORIGINS): the dominant side's plants, allied firms, then stocks.
        offers = (
            np.array(plant_qty.tolist() + firm_qty.tolist() + [q for q, _ in stocked]),
            np.array(plant_ask.tolist() + firm_ask.tolist() + [a for _, a in stocked]),
            np.array([0] * len(plant_qty) + [1] * len(firm_qty) + self._stocked_origin),
        )
        bids = (
            np.array([q for q, _ in stockpiles] + [q for q, _ in restock]),
            np.array([limit for _, limit in stockpiles] + [limit for _, limit in restock]),
        )

        # 4. The regions clear together; a campaign is also cleared without it, to book what
        # it gives up against market play with the same rivals.
        trade = self._clear(offers, bids, duty, wedge, adjust, self.supplier.export_cap())
        for _ in range(2):  # resize subsidies or levies on what its plants actually net
            if not any(adjust.values()):
                break
            adjust = self.supplier.route_adjustments(duty, wedge, float(trade.netbacks[0]))
            trade = self._clear(offers, bids, duty, wedge, adjust, self.supplier.export_cap())
        self.routes_used = trade.arcs
        market_play = None
        if self.supplier.mode == "dump" or self.supplier.named_price:
            plain = self._clear(offers, bids, duty, wedge, dict.fromkeys(REGIONS, 0.0), math.inf)
            market_play = self.supplier.earned(
                self._shipped(plain),
                self._paid(plain),
                duty,
                wedge,
                self.supplier.plant_cost(plain.accepted[: len(plant_qty)]),
            )

        # 5. Settlement.
        self._settle(quarter, trade, duty, wedge, len(plant_qty), market_play)

        # 6. Investment, then learning and exploration.
        self._invest(quarter)
        self._learn_and_explore(quarter)

        # 7. Collect.
        self.recorder.collect()
        self.datacollector.collect(self)
        if quarter >= self.quarters:
            self.running = False

    def _allied_wedge(self, duty: float) -> tuple[float, dict[str, float]]:
        """(duty the supplier pays, USD/kg its goods' routes cost into each region) this
        quarter. The share it reroutes through third countries (`supplier.reroute_share`)
        escapes the duty and the marketplace's charge, and pays `trade.reroute_cost` instead."""
        freight = self.trade.freight
        charge = self.response_group.marketplace_charge_in_force()
        leak = self.supplier.reroute_share
        if leak > 0:
            duty *= 1.0 - leak
            charge = (1.0 - leak) * charge + leak * self.trade.reroute_cost
        return duty, {"home": 0.0, "allied": freight + charge, "world": freight}

    def _floor_support(self) -> tuple[np.ndarray, np.ndarray]:
        """The floor (USD/kg) each allied producer and each recycler can count on this quarter
        from its government, 0 where none."""
        by_government = np.array([g.floor_support() for g in self._gov_list])
        return by_government[self.producers.country_idx], by_government[self.recyclers.country_idx]

    def _firms_decide(self, quarter: int, support: tuple[np.ndarray, np.ndarray]) -> None:
        books = ((self.producers, "producer"), (self.recyclers, "recycler"))
        for (book, kind), floor in zip(books, support, strict=True):
            moves = book.decide(quarter, floor)
            for row in moves["idle"]:
                self.say(
                    "idle",
                    book.ids[row],
                    capacity=book.capacity[row],
                    expected_price=book.expected_price[row],
                    cash_cost=book.cash_cost[row],
                )
            for row in moves["restart"]:
                self.say(
                    "restart",
                    book.ids[row],
                    capacity=book.capacity[row],
                    cost=book.restart_cost[row] * book.capex[row] * book.capacity[row] / 1000.0,
                    ready_quarter=book.restart_quarter[row],
                )
            for row in moves["close"]:
                why = (
                    "too little cash to carry its losses"
                    if row in moves["short"]
                    else "idle too long without recovery"
                )
                self._sell_assets(book, int(row), kind, closure=why)

    def _firm_offers(self, support: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Allied producers' then recyclers' offers (t, USD/kg), in book order, with the floor
        each can count on (`support`: producers', recyclers', USD/kg)."""
        p_qty, p_ask = self.producers.offers(support[0])
        scrap = self.recyclers.scrap(
            self.steps, self.consumption_allied, self._initial_allied, self.demand.growth
        )
        r_qty, r_ask = self.recyclers.offers(scrap, support[1])
        return np.concatenate([p_qty, r_qty]), np.concatenate([p_ask, r_ask])

    def _clear(
        self,
        offers: tuple[np.ndarray, np.ndarray, np.ndarray],
        bids: tuple[np.ndarray, np.ndarray],
        duty: float,
        wedge: dict[str, float],
        adjust: dict[str, float],
        export_cap: float,
    ) -> Trade:
        """Clear the three regions together: every route between two regions pays freight;
        the dominant side's allied sales pay the duty in force and any marketplace charge
        (`wedge`), and its routes carry its subsidies or levies; stockpiles are released only
        into the allied market."""
        cost = []
        for region, traded in zip(HOME_OF, TRADED, strict=True):
            row = [self.trade.freight if traded else math.inf] * len(REGIONS)
            row[region] = 0.0
            cost.append(row)
        if not self.trade.home_imports:
            cost[1][HOME] = math.inf
        for i, region in enumerate(REGIONS):
            cost[0][i] = wedge[region] + adjust[region]
        duties = np.zeros((len(ORIGINS), len(REGIONS)))
        duties[0, ALLIED] = duty
        qty, ask, origin = offers
        return clear_regions(
            qty,
            ask,
            origin,
            Routes(np.array(cost), duties),
            [self.demand.curves[r] for r in REGIONS],
            self.demand.price_cap,
            *bids,
            self._bid_region,
            export_cap=np.array([export_cap, *[math.inf] * (len(ORIGINS) - 1)]),
            home=self._home_of,
            arcs=self.routes_used,
        )

    @staticmethod
    def _shipped(trade: Trade) -> dict[str, float]:
        """Tonnes the dominant side shipped to each region."""
        return dict(zip(REGIONS, trade.flows[0].tolist(), strict=True))

    @staticmethod
    def _paid(trade: Trade) -> dict[str, float]:
        """What buyers paid in each region, USD/kg (0 where no one buys: no money moves)."""
        return {
            r: 0.0 if math.isnan(p) else p
            for r, p in zip(REGIONS, trade.prices.tolist(), strict=True)
        }

    def _settle(
        self,
        quarter: int,
        trade: Trade,
        duty: float,
        wedge: dict[str, float],
        n_plants: int,
        market_play: float | None,
    ) -> None:
        n_p, n_r, n_g = len(self.producers), len(self.recyclers), len(self._gov_list)
        # Offers run plants, producers, recyclers, stockpile releases, holders' stocks; bids
        # run stockpiles, then holders restocking.
        firms_end = n_plants + n_p + n_r
        accepted = trade.accepted
        self.producers.sold = accepted[n_plants : n_plants + n_p]
        self.recyclers.sold = accepted[n_plants + n_p : firms_end]
        released = accepted[firms_end : firms_end + n_g].tolist()
        from_stocks = accepted[firms_end + n_g :].tolist()
        filled = trade.filled.tolist()
        prices = dict(zip(REGIONS, trade.prices.tolist(), strict=True))  # NaN: no one buys
        consumption = trade.consumption.tolist()
        flows = trade.flows.tolist()
        shortage = trade.shortage.tolist()
        self.demand.stocks.settle(filled[n_g:], from_stocks, prices)
        at = self._paid(trade)
        shipped = dict(zip(REGIONS, flows[0], strict=True))
        # Allied firms net the same at their gate wherever they sell.
        firm_price = float(trade.netbacks[1])
        if not math.isfinite(firm_price):
            firm_price = at["allied"]
        stockpiled = _sum(filled[:n_g])
        market_total = _sum(consumption) + stockpiled
        self.supplier.settle(
            shipped,
            at,
            duty,
            wedge,
            accepted[:n_plants],
            market_play,
            float(self.observed[0].sum()),
            market_total,
        )

        # Price floors: each government's contract for difference on its own firms' sales.
        rates = [g.floor_rate(firm_price) for g in self._gov_list]
        p_idx, r_idx = self.producers.country_idx, self.recyclers.country_idx
        if any(rates):
            rate = np.array(rates)
            floor_p = self.producers.sold * rate[p_idx] / 1000.0
            floor_r = self.recyclers.sold * rate[r_idx] / 1000.0
            owed = np.bincount(p_idx, floor_p, n_g) + np.bincount(r_idx, floor_r, n_g)
            paid_share = np.array(
                [g.settle_floor(o) for g, o in zip(self._gov_list, owed.tolist(), strict=True)]
            )
            floor_p *= paid_share[p_idx]
            floor_r *= paid_share[r_idx]
            received = float(floor_p.sum() + floor_r.sum())
        else:  # no floor moves money this quarter
            for gov in self._gov_list:
                gov.settle_floor(0.0)
            floor_p, floor_r, received = np.zeros(n_p), np.zeros(n_r), 0.0
        paid = sum([g.floor_paid for g in self._gov_list])
        for gov, bought, out in zip(self._gov_list, filled[:n_g], released, strict=True):
            gov.settle_stockpile(bought, out, at["allied"])
        self._use_last = dict(zip(REGIONS, consumption, strict=True))
        self.producers.settle(firm_price, floor_p)
        self.recyclers.settle(firm_price, floor_r)

        for book, kind in ((self.producers, "producer"), (self.recyclers, "recycler")):
            helped, put, failed = book.fail(quarter)
            for row, cash in zip(helped, put, strict=True):
                self.say("backer", book.ids[row], cash=cash, left=book.backer_cash[row])
            for row in failed:
                self._sell_assets(book, int(row), kind)

        self.consumption_allied.append(consumption[ALLIED])
        self.price_last = prices
        self.shortage_last = _sum(shortage)
        self.duty_last = duty
        self.allied_route_last = wedge["allied"]
        duty_revenue = shipped["allied"] * at["allied"] * duty / (1 + duty) / 1000.0
        self._collect_duty(duty_revenue)
        self.quarter_result = {
            "price_home": prices["home"],
            "price_allied": prices["allied"],
            "price_world": prices["world"],
            "supplier_sold": sum(shipped.values()),
            "firms_allied": flows[1][ALLIED],
            "supply_home": _sum([flows[0][HOME], flows[1][HOME]]),
            "supply_allied": _sum([flows[0][ALLIED], flows[1][ALLIED]]),
            "supply_world": _sum([flows[0][WORLD], flows[1][WORLD]]),
            "consumption_home": consumption[HOME],
            "consumption_allied": consumption[ALLIED],
            "consumption_world": consumption[WORLD],
            "stockpile_change": stockpiled - _sum(released),
            "stocks_change": _sum(filled[n_g:]) - _sum(from_stocks),
            "shortage_home": shortage[HOME],
            "shortage_allied": shortage[ALLIED],
            "shortage_world": shortage[WORLD],
            "shortage_defence": self._defence_short(consumption[ALLIED], shortage[ALLIED]),
            "duty": duty,
            "duty_revenue": duty_revenue,
            "floor_paid": paid,
            "floor_received": received,
            "export_subsidy": self.supplier.subsidy,
        }

    def _collect_duty(self, revenue: float) -> None:
        """Each member collects the duty on its own buyers' imports: the allied total shared
        by demand share times the rate it levies."""
        weights = [g.demand_share * g.duty_in_force() for g in self._gov_list]
        total = _sum(weights)
        if revenue <= 0 or total <= 0:
            return
        for gov, weight in zip(self._gov_list, weights, strict=True):
            gov.collect_duty(revenue * weight / total)

    def _defence_short(self, taken: float, short: float) -> float:
        """Allied defence demand unmet, t, given what allied consumers took and went without.
        Rationing at the price cap serves defence first (priority rating of defence orders),
        so the civil buyers bear a shortage until there is not even enough for defence."""
        wanted = self.demand.defence_share * (taken + short)
        return max(wanted - taken, 0.0)

    def _sell_assets(
        self, book: ProducerBook | RecyclerBook, row: int, kind: str, closure: str = ""
    ) -> None:
        """A bankrupt or closing firm's plant goes to the dominant supplier unless review
        blocks the sale; then an allied buyer takes it over, on care and maintenance, to
        restart it when the price allows (`FirmBook.take_over`). `closure` says why a firm
        closed; empty for a bankruptcy."""
        gov = self._gov_list[book.country_idx[row]]
        lender, soft = int(book.lender[row]), float(book.soft_debt[row])
        if lender >= 0 and soft > 0:  # the concessional loan is lost as far as its cash falls short
            debt, cash = float(book.debt[row]), max(float(book.cash[row]), 0.0)
            recovered = min(cash / debt, 1.0) if debt > 0 else 1.0
            self._gov_list[lender].lose_loan(soft * (1.0 - recovered))
        capacity = book.dispose(np.array([row]))
        sale = "none" if capacity <= 0 else "blocked" if gov.blocks_asset_sale() else "dominant"
        data = {"firm_kind": kind, "capacity": capacity, "sale": sale, "reviewer": gov.country}
        if sale == "blocked":  # the plant stays in allied hands
            data["working_capital"] = book.take_over(row, capacity, self.steps)
        else:
            self.supplier.rival_gone(capacity)
        if sale == "dominant":
            self.supplier.acquire(capacity)
        if closure:
            self.say("closure", book.ids[row], why=closure, **data)
        else:
            self.say("bankruptcy", book.ids[row], **data)

    def _invest(self, quarter: int) -> None:
        rate, soft = self.finance.interest_rate, self.finance.concessional_rate
        for book in (self.producers, self.recyclers):
            lender, financing = self._lenders(book)
            incentive = book.incentive_price(rate, soft, financing, self.finance.asset_life)
            rows = book.invest(quarter, incentive, rate, soft, financing, self._counted(book))
            for row in rows:
                if financing[row] > 0:
                    book.lender[row] = lender[row]
                    self._gov_list[lender[row]].lend(
                        (1 - EQUITY_SHARE) * financing[row] * book.capital_committed[row]
                    )
                self.say(
                    "investment",
                    book.ids[row],
                    capacity=book.building[row],
                    expected_price=book.expected_price[row],
                    incentive_price=incentive[row],
                    ready_quarter=book.ready_quarter[row],
                    capital=book.capital_committed[row],
                )
            # The concessional loans cost each lender the gap between the two rates.
            if np.count_nonzero(book.soft_debt):  # written off when a firm goes bankrupt
                lent = book.lender >= 0
                owed = np.bincount(book.lender[lent], book.soft_debt[lent], len(self._gov_list))
                for gov, debt in zip(self._gov_list, owed.tolist(), strict=True):
                    if debt > 0:
                        gov.carry_loans(debt, rate - soft)

    def _lenders(self, book: ProducerBook | RecyclerBook) -> tuple[np.ndarray, np.ndarray]:
        """(lending government's index, share of a project it lends) for each firm: its own
        government while its framework has money, else a member that lends abroad (the one
        with most money left); the share is cut to what the lender has left."""
        shares = [g.financing_in_force() for g in self._gov_list]
        if not any(shares):
            return np.full(len(book), -1), np.zeros(len(book))
        abroad = [
            i for i, g in enumerate(self._gov_list) if g.finance_abroad and g.member and shares[i]
        ]
        abroad.sort(key=lambda i: -self._gov_list[i].finance_budget)
        own = np.array(shares)[book.country_idx]
        lender = np.where(own > 0, book.country_idx, -1)
        share = own
        if abroad:  # members' firms without money of their own draw on the richest lender abroad
            members = np.array([g.member for g in self._gov_list])[book.country_idx]
            reach = (own == 0) & members
            lender = np.where(reach, abroad[0], lender)
            share = np.where(reach, shares[abroad[0]], share)
        budget = np.array([g.finance_budget for g in self._gov_list] + [0.0])[lender]
        loan = (1 - EQUITY_SHARE) * book.expansion * book.capex / 1000.0  # USD m at a share of 1
        return lender, np.minimum(share, budget / np.maximum(loan, 1e-12))

    def _counted(self, book: ProducerBook | RecyclerBook) -> np.ndarray:
        """The price (USD/kg) a firm counts on over a new plant's life: what it expects the
        market to pay, topped up to its government's floor only for the share of the plant's
        life the floor's budget lasts at its current payout."""
        floors = [g.floor_support() for g in self._gov_list]
        if not any(floors):
            return book.expected_market
        life = 4.0 * self.finance.asset_life  # quarters
        cover = np.array(
            [
                min(g.floor_quarters_left() / life, 1.0) if f else 0.0
                for g, f in zip(self._gov_list, floors, strict=True)
            ]
        )[book.country_idx]
        floor = np.array(floors)[book.country_idx]
        market = book.expected_market
        return market + np.maximum(floor - market, 0.0) * cover

    def _complete_projects(self, quarter: int) -> None:
        book = self.producers
        failed, lost = book.deliver(quarter, self.rng)
        for row, capacity in zip(failed, lost, strict=True):
            capital = capacity * book.capex[row] / 1000.0
            self.say("project_failed", book.ids[row], capacity=capacity, capital=capital)
        for book in (self.producers, self.recyclers):
            for row in book.complete_projects(quarter):
                self.say("capacity_online", book.ids[row], capacity=book.capacity[row])

    def _learn_and_explore(self, quarter: int) -> None:
        """Allied producers' costs fall with experience (`learning.rate`), shared among the
        members under technology transfer; governments' mapping finds deposits. Transfer and
        mapping are levers of the alliance's frameworks: with `alliance.response = "none"`
        nobody shares or maps."""
        levers = self.response_group.response != "none"
        if self.learning.rate > 0:
            transfer = self.response_group.tech_transfer if levers else 0.0
            sharing = np.array([g.member for g in self._gov_list], bool)
            self.producers.learn(self.learning.rate, self.learning.start_years, transfer, sharing)
        mapping = [g.mapping for g in self._gov_list] if levers else ()
        if not any(mapping):
            return
        for gov, spend in zip(self._gov_list, mapping, strict=True):
            gov.spent += spend / 4.0  # a fiscal cost, found or not
        self.quarter_result["mapping_spent"] = _sum(mapping) / 4.0
        book = self.producers
        for row in book.explore(quarter, np.array(mapping), self.rng):
            self.say(
                "discovery",
                book.ids[row],
                country=book.country[row],
                expansion=book.expansion[row],
                lead_time=book.lead_time[row],
            )

    # --- timeline and levers -----------------------------------------------------------------

    def _fire(self, event: Any) -> None:
        if event.quarter > self.quarters:
            return  # after the end of a run cut shorter than its timeline
        for path, value in event.changes.items():
            self.apply(path, value)
        if event.label:
            self.feed.append(entry(event.quarter, "scenario", "scenario", event.label))

    def apply(self, path: str, value: Any) -> None:
        """Change one dotted parameter now; it takes effect from the next quarter.

        The same keys as everywhere else, reaching the attribute the lever map names; a bad
        key or value, or a key that cannot change during a run, raises ScenarioError and
        changes nothing.
        """
        lever_map.refuse_unless_settable(path)
        self.spec.set(path, value)
        lever_map.write(self, path, self.spec.get(path))
        if path == "quarters":
            self.running = self.steps < self.quarters

    # --- results -----------------------------------------------------------------------------

    def agent_table(self) -> pd.DataFrame:
        """One row per agent per quarter (`market.recorder.AGENT_COLUMNS`)."""
        return self.recorder.agent_table()

    def timeseries(self) -> pd.DataFrame:
        """One row per quarter: `quarter` and every indicator and ledger column."""
        return self.recorder.timeseries()

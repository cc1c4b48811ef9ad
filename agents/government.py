"""Allied governments and the rapid-response group that coordinates them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import mesa

if TYPE_CHECKING:
    from market.model import MineralMarket

DAYS_PER_QUARTER = 365.0 / 4.0
FILL_QUARTERS = 4  # a stockpile is built up over about a year
RELEASE_QUARTERS = 4  # and drawn down over about a year
REVIEW_QUARTERS = 4  # an anti-dumping order's rate is reviewed once a year (19 U.S.C. 1675(a))


class Government(mesa.Agent):
    """One allied country's policy levers: a price floor paid as a contract for difference, an
    anti-dumping duty, a strategic stockpile, project financing and asset-sale review.

    Whether a lever is in force depends on the alliance's mode: never (`none`), from the start
    (`standing`), or once the rapid-response group has activated and this country has joined
    and not defected (`coordinated`).
    """

    model: MineralMarket
    kind: ClassVar[str] = "government"

    # Its levers, set from its table of the scenario (`governments.<country>.<lever>`).
    member: bool  # member of the rapid-response group
    demand_share: float  # share of allied demand its buyers make up
    floor_price: float  # USD/kg, 0 = none
    floor_budget: float  # USD m left to pay out
    floor_upside_share: float  # share of the price above the floor it takes back
    duty: float  # ad valorem share on the dominant supplier's sales
    duty_term: int  # quarters an order runs before its sunset review; 0: while the response holds
    stockpile_days: float  # target, days of its buyers' consumption
    stockpile_initial_days: float  # held at the start
    stockpile_budget: float  # USD m left
    stockpile_buy_below: float  # USD/kg
    stockpile_release_above: float  # USD/kg
    stockpile_sell_off: float  # quarters to sell its stock over once its money is spent; 0 never
    financing: float  # share of its producers' new capacity financed at the concessional rate
    finance_budget: float  # USD m of concessional loans it may still make
    finance_abroad: bool  # lends to other members' producers too
    next_election: int  # quarter, 0 none
    election_every: int  # quarters between elections after the next, 0 none
    asset_review: bool  # blocks sales of bankrupt plants to the dominant supplier

    def __init__(self, model: MineralMarket, country: str, params: dict[str, Any]) -> None:
        super().__init__(model)
        self.country = country
        for lever, value in params.items():
            setattr(self, lever, value)
        self.stockpile = (
            self.stockpile_initial_days / DAYS_PER_QUARTER * self._consumption()
        )  # t held
        self.joined = False  # joined the coordinated response
        self.defected = False
        self.floor_exhausted = False
        self.spent = 0.0  # USD m, cumulative outlays net of receipts (duty apart)
        self.duty_collected = 0.0  # USD m, cumulative
        self.order_until = (
            0  # quarter its anti-dumping order lapses unless a sunset review renews it
        )
        self.next_review = 0  # quarter of the order's next annual review
        self.margin = math.inf  # the dumping margin its last review found (share)
        # This quarter's fiscal flows (USD m): the ledger's parts, `fiscal_flows`.
        self.stock_bought_value = self.stock_sold_value = 0.0
        self.finance_cost = self.loan_losses = self.duty_revenue = 0.0
        self.committed = 0.0  # USD m budgeted at activation, for budget pressure
        self.spent_at_activation = 0.0
        self.floor_paid = 0.0  # USD m this quarter, net of upside taken back
        self.stockpile_bought = 0.0  # t this quarter
        self.stockpile_released = 0.0
        self.sell_off_lot = 0.0  # t a quarter it sells once a support scheme's money is gone

    # --- which levers are pulled -------------------------------------------------------------

    @property
    def in_force(self) -> bool:
        response = self.model.response_group.response
        if response == "standing":
            return True
        if response == "coordinated":
            return self.model.response_group.active and self.joined and not self.defected
        return False

    def floor_support(self) -> float:
        """The floor (USD/kg) its producers can count on this quarter, 0 when none."""
        if self.in_force and self.floor_price > 0 and self.floor_budget > 0:
            return self.floor_price
        return 0.0

    def floor_quarters_left(self) -> float:
        """Quarters its floor budget lasts at last quarter's payout (inf while it pays none)."""
        return self.floor_budget / self.floor_paid if self.floor_paid > 0 else math.inf

    def duty_in_force(self) -> float:
        """The rate it levies this quarter. A standing alliance levies its duty as set. In a
        coordinated response a member imposes an order when it joins, which runs `duty_term`
        quarters whatever the response does after, at the margin its yearly reviews find (never
        above the rate it set); with `duty_term` 0 the duty holds only while the response does."""
        if self.model.response_group.response != "coordinated" or self.duty_term == 0:
            return self.duty if self.in_force else 0.0
        if self.order_until > self.model.steps:
            return min(self.duty, self.margin)
        return 0.0

    def review_order(self, quarter: int) -> None:
        """Impose, review, renew or end its anti-dumping order (coordinated response only).

        An order is imposed when it joins a response with a duty set; each year its rate is
        reset to the dumping margin found on the supplier's last quarter of allied sales (none
        sold: the rate stands); at its term a sunset review renews it only if dumping was
        flagged in the last year. Leaving the response revokes it."""
        m = self.model
        group = m.response_group
        if group.response != "coordinated" or self.duty_term == 0:
            return
        in_order = self.order_until > quarter
        if in_order and self.defected:
            self.order_until = 0
            m.say("duty_revoked", self.country)
        elif in_order and quarter >= self.next_review:
            self.next_review = quarter + REVIEW_QUARTERS
            if m.supplier.sold["allied"] > 0:
                before = self.duty_in_force()
                self.margin = group.dumping_margin()
                if self.duty_in_force() != before:
                    m.say("duty_review", self.country, rate=self.duty_in_force())
        elif self.order_until == quarter and self.order_until > 0:
            if group.flagged_within(REVIEW_QUARTERS):
                self.order_until = quarter + self.duty_term
                m.say("duty_renewed", self.country, until=self.order_until)
            else:
                self.order_until = 0
                m.say("duty_lapses", self.country)
        elif not in_order and self.in_force and self.duty > 0 and group.active:
            self.order_until = quarter + self.duty_term
            self.next_review = quarter + REVIEW_QUARTERS
            self.margin = math.inf

    def financing_in_force(self) -> float:
        """Share of a project it lends at the concessional rate this quarter (0 once its
        framework's money is lent)."""
        return self.financing if self.in_force and self.finance_budget > 0 else 0.0

    def lend(self, amount: float) -> None:
        """Book a concessional loan (USD m) against its framework's cap."""
        self.finance_budget = max(self.finance_budget - amount, 0.0)

    def carry_loans(self, outstanding: float, interest_gap: float) -> None:
        """The quarter's cost of its concessional loans (USD m outstanding): the interest it
        forgoes against the commercial rate (`interest_gap`, share a year)."""
        cost = outstanding * interest_gap / 4.0
        self.finance_cost += cost
        self.spent += cost

    def lose_loan(self, amount: float) -> None:
        """A borrower failed owing it `amount` (USD m) it will not recover: a fiscal cost."""
        self.loan_losses += amount
        self.spent += amount

    def collect_duty(self, amount: float) -> None:
        self.duty_revenue = amount
        self.duty_collected += amount

    def blocks_asset_sale(self) -> bool:
        """Asset-sale review is standing law, not an emergency measure: it applies whenever
        the alliance pulls levers at all."""
        return self.asset_review and self.model.response_group.response != "none"

    # --- stockpile ---------------------------------------------------------------------------

    def _consumption(self) -> float:
        """Its buyers' consumption, t per quarter (the stockpile target is days of this)."""
        return self.demand_share * self.model.demand_curve("allied").reference_qty

    def stockpile_target(self) -> float:
        return self.stockpile_days / DAYS_PER_QUARTER * self._consumption()

    def stockpile_bid(self) -> tuple[float, float]:
        """(tonnes, limit USD/kg) it will buy this quarter: fill toward the target when cheap."""
        m = self.model
        if not self.in_force or m.shortage_last > 0:
            return 0.0, self.stockpile_buy_below
        target = self.stockpile_target()
        gap = max(target - self.stockpile, 0.0)
        # Sized at the price it expects to pay (last quarter's, up to its limit), so its budget
        # runs out instead of shrinking by a share each quarter; a lot under 1 % of a quarter's
        # fill is not worth buying.
        expected = min(max(m.price_last["allied"], 0.0), self.stockpile_buy_below)
        if not expected > 0:
            expected = self.stockpile_buy_below
        affordable = self.stockpile_budget * 1000.0 / max(expected, 1e-9)
        lot = min(gap, target / FILL_QUARTERS, affordable)
        if lot < 0.01 * target / FILL_QUARTERS:
            lot = 0.0
        return lot, self.stockpile_buy_below

    def money_spent(self) -> bool:
        """Its stockpile money cannot buy even 1 % of a quarter's fill at its limit price."""
        lot = 0.01 * self.stockpile_target() / FILL_QUARTERS
        return self.stockpile_budget * 1000.0 < lot * self.stockpile_buy_below

    def stockpile_offer(self) -> tuple[float, float]:
        """(tonnes, ask USD/kg) to release: in a shortage or when the price is over its trigger;
        or, a support scheme whose money is spent, a share of its stock at any price: the stock
        overhang of a failed price support (Salant 1983) coming back onto the market."""
        m = self.model
        if not self.in_force or self.stockpile <= 0:
            return 0.0, self.stockpile_release_above
        if self.stockpile_sell_off > 0 and self.money_spent():
            if not self.sell_off_lot:
                self.sell_off_lot = self.stockpile / self.stockpile_sell_off
                m.say(
                    "sell_off",
                    self.country,
                    stock=self.stockpile,
                    quarters=self.stockpile_sell_off,
                )
            return min(self.stockpile, self.sell_off_lot), 0.0
        if (
            m.shortage_last > 0
            or m.response_group.restriction
            or m.price_last["allied"] > self.stockpile_release_above
        ):
            size = max(self.stockpile_target(), self.stockpile) / RELEASE_QUARTERS
            if not m.response_group.joint_stockpile:
                size = min(size, self.own_shortfall())
            return min(self.stockpile, size), self.stockpile_release_above
        return 0.0, self.stockpile_release_above

    def own_shortfall(self) -> float:
        """t its own buyers went without last quarter: their share of what allied buyers used
        under their reference use, and of what they were short. A national stock serves only
        them; a joint one (`alliance.joint_stockpile`) every member's."""
        m = self.model
        reference = m.demand_curve("allied").reference_qty
        used = m.consumption_allied[-1] if m.consumption_allied else reference
        short = m.quarter_result.get("shortage_allied", 0.0)
        return self.demand_share * (max(reference - used, 0.0) + short)

    def settle_stockpile(self, bought: float, released: float, price: float) -> None:
        self.stockpile += bought - released
        cost = bought * price / 1000.0
        self.stockpile_budget = max(self.stockpile_budget - cost, 0.0)
        self.stock_bought_value, self.stock_sold_value = cost, released * price / 1000.0
        self.spent += cost - self.stock_sold_value
        self.stockpile_bought, self.stockpile_released = bought, released

    # --- price floor -------------------------------------------------------------------------

    def floor_rate(self, price: float) -> float:
        """What the contract for difference moves per kg its producers sell (USD/kg): the gap
        up to the floor, paid to them, or its upside share of the price above the floor, paid
        back; 0 when no floor is in force."""
        floor = self.floor_support()
        if floor == 0.0:
            return 0.0
        gap = floor - price
        return gap if gap > 0 else gap * self.floor_upside_share

    def settle_floor(self, owed: float) -> float:
        """Pay what the floor owes this quarter (USD m; negative when it takes upside) out of
        its budget. Returns the share of it paid: less than 1 when the budget runs out."""
        paid = min(owed, self.floor_budget)
        share = paid / owed if owed > 0 else 1.0
        self.floor_budget -= max(paid, 0.0)
        self.floor_paid = paid
        self.spent += paid
        if owed > 0 and self.floor_budget <= 0 and not self.floor_exhausted:
            self.floor_exhausted = True
            self.model.say("floor_spent", self.country, floor_price=self.floor_price)
        return share

    def fiscal_cost(self) -> float:
        """USD m it has spent so far net of what it took in: floor payments and stock bought,
        less upside and stock sold, the cost of its concessional loans and their losses, less
        duty collected."""
        return self.spent - self.duty_collected

    def start_quarter(self) -> None:
        """Zero the quarter's fiscal flows that only some quarters book."""
        self.finance_cost = self.loan_losses = self.duty_revenue = 0.0

    def fiscal_pressure(self) -> float:
        """Share of what it committed to the response that is already spent (0..1)."""
        if self.committed <= 0:
            return 0.0
        return min((self.spent - self.spent_at_activation) / self.committed, 1.0)


class ResponseGroup(mesa.Agent):
    """The allies' rapid-response group: flags dumping from last quarter's market, waits the
    coordination delay, then switches the members' counter-moves on. Each member joins with
    probability `cohesion`; a member under budget pressure may later defect."""

    model: MineralMarket
    kind: ClassVar[str] = "response group"

    # Its settings, from the scenario's `alliance` table.
    response: str  # none, standing or coordinated
    coordination_delay: int  # quarters from the first flag to the response
    cohesion: float  # chance a member joins; how firmly it stays under budget pressure
    dumping_test: str  # areeda_turner, cash_cost or either
    flag_quarters: int  # quarters under allied cash cost before the cash-cost flag
    stand_down: int  # quiet quarters after which the response stands down; 0 never
    marketplace_charge: float  # USD/kg on supply from outside the standards into the allied market
    joint_stockpile: bool  # members' stocks serve every member's buyers, not just their own
    election_risk: float  # chance a member's new government leaves, at its burden share

    def __init__(self, model: MineralMarket, params: dict[str, Any]) -> None:
        super().__init__(model)
        for setting, value in params.items():
            setattr(self, setting, value)
        self.quarters_under_cost = 0
        self.quiet_quarters = 0  # quarters in a row with neither flag
        self.dumping = False
        self.restriction = False  # an export restriction or a shortage, flagged this quarter
        self.last_flag = -math.inf  # quarter dumping was last flagged
        self.first_flag: int | None = None
        self.active = False

    def review(self, quarter: int) -> None:
        """Read last quarter's market, flag dumping, and activate or keep the response."""
        m = self.model
        if quarter > 1:
            self.dumping = self._dumping_flagged()
            restriction = m.supplier.mode == "restrict" or m.shortage_last > 0
            if restriction and not self.restriction:
                m.say("restriction_flagged", "dominant", shortage=m.shortage_last)
            self.restriction = restriction
        if self.dumping:
            self.last_flag = quarter
        flagged = self.dumping or self.restriction
        self.quiet_quarters = 0 if flagged else self.quiet_quarters + 1
        if flagged and self.first_flag is None:
            self.first_flag = quarter
            if self.dumping:
                m.say(
                    "dumping_flagged",
                    "dominant",
                    price=m.price_last["allied"],
                    allied_cash_cost=m.producers.average_cash_cost(),
                )
        if self.response != "coordinated":
            return
        self._hold_elections(quarter)
        if (
            not self.active
            and self.first_flag is not None
            and quarter >= self.first_flag + self.coordination_delay
        ):
            self._activate()
        elif self.active and 0 < self.stand_down <= self.quiet_quarters:
            self._stand_down()
        elif self.active:
            self._check_defections()
        for gov in m.governments.values():
            gov.review_order(quarter)
        if not self.active and not flagged:
            self.first_flag = None  # a later attack is flagged, and waited for, afresh

    def flagged_within(self, quarters: int) -> bool:
        """Dumping was flagged in the last `quarters` quarters (a sunset review's question:
        would dumping recur if the order were lifted?)."""
        return self.model.steps - self.last_flag <= quarters

    def export_netback(self) -> float:
        """What the supplier netted a kg on last quarter's allied sales at its gate, USD/kg:
        the allied price less the duty, its route's cost and any marketplace charge."""
        m = self.model
        return m.price_last["allied"] / (1.0 + m.duty_last) - m.allied_route_last

    def dumping_margin(self) -> float:
        """Share by which the supplier's normal value (its average cost, the cost test of
        GATT Art. VI) exceeds its allied export netback; 0 when it sells above cost."""
        netback = self.export_netback()
        cost = self.model.supplier.average_cost
        if netback <= 0:
            return math.inf
        return max(cost / netback - 1.0, 0.0)

    def _dumping_flagged(self) -> bool:
        m = self.model
        supplier = m.supplier
        # What it nets on allied sales at its gate, against the cost of what it sold.
        areeda_turner = (
            supplier.sold["allied"] > 0 and self.export_netback() < supplier.average_cost
        )
        under_cost = m.price_last["allied"] < m.producers.average_cash_cost()
        self.quarters_under_cost = self.quarters_under_cost + 1 if under_cost else 0
        cash_cost = self.quarters_under_cost >= self.flag_quarters
        return {
            "areeda_turner": areeda_turner,
            "cash_cost": cash_cost,
            "either": areeda_turner or cash_cost,
        }[self.dumping_test]

    def _activate(self) -> None:
        m = self.model
        self.active = True
        for gov in m.governments.values():
            gov.joined = gov.member and (self.cohesion >= 1.0 or m.rng.random() < self.cohesion)
            gov.committed = gov.floor_budget + gov.stockpile_budget
            gov.spent_at_activation = gov.spent
        joined = [g for g in m.governments.values() if g.joined]
        moves = [f"{g.country} floor {g.floor_price:.0f} USD/kg" for g in joined if g.floor_price]
        duties = sorted({g.duty for g in joined if g.duty > 0})
        moves += [f"{d:.0%} duty" for d in duties]
        moves += [
            f"{g.country} stockpile {g.stockpile_days:.0f} days" for g in joined if g.stockpile_days
        ]
        moves += [
            f"{g.country} lends {g.financing:.0%} of projects" + (" abroad too" * g.finance_abroad)
            for g in joined
            if g.financing_in_force()
        ]
        if self.marketplace_charge:
            moves.append(f"marketplace charge {self.marketplace_charge:.0f} USD/kg")
        m.say("response_activates", "alliance", members=[g.country for g in joined], moves=moves)

    def _stand_down(self) -> None:
        self.active = False
        for gov in self.model.governments.values():
            gov.joined = gov.defected = False
        self.model.say("response_stands_down", "alliance", quiet_quarters=self.quiet_quarters)

    def marketplace_charge_in_force(self) -> float:
        """USD/kg the dominant side's goods pay into the allied market: the marketplace's
        charge while the allies' levers are in force (standing, or an active response)."""
        if self.marketplace_charge <= 0 or self.response == "none":
            return 0.0
        return self.marketplace_charge if self.response == "standing" or self.active else 0.0

    def burden_weight(self, gov: Government) -> float:
        """How its burden scales a member's chance of leaving: half for one that pays nothing,
        1 at its fair share, more above it (Olson and Zeckhauser 1966: the large members
        carry the alliance, and weigh whether it pays them)."""
        return (1.0 + self.burden(gov)) / 2.0

    def burden(self, gov: Government) -> float:
        """A member's share of what the members in the response have spent since it began,
        over its share of their demand (1: it pays its way; 2: twice its share)."""
        members = [g for g in self.model.governments.values() if g.joined and not g.defected]
        spent = [max(g.spent - g.spent_at_activation, 0.0) for g in members]
        demand = sum(g.demand_share for g in members)
        total = sum(spent)
        if total <= 0 or demand <= 0 or gov not in members:
            return 1.0
        return (max(gov.spent - gov.spent_at_activation, 0.0) / total) / (gov.demand_share / demand)

    def _hold_elections(self, quarter: int) -> None:
        """Members whose election falls this quarter: a new government may leave the response,
        the likelier the more of the burden it carries (`burden_weight`)."""
        m = self.model
        for gov in m.governments.values():
            if gov.next_election != quarter:  # 0, none: quarters count from 1
                continue
            gov.next_election = quarter + gov.election_every if gov.election_every else 0
            if not (self.active and gov.joined and not gov.defected) or self.election_risk <= 0:
                continue
            risk = min(self.election_risk * self.burden_weight(gov), 1.0)
            if m.rng.random() < risk:
                gov.defected = True
                m.say("election_exit", gov.country)
            else:
                m.say("election_stays", gov.country)

    def _check_defections(self) -> None:
        m = self.model
        for gov in m.governments.values():
            if gov.joined and not gov.defected:
                risk = (1.0 - self.cohesion) * gov.fiscal_pressure() * self.burden_weight(gov)
                if not gov.member or m.rng.random() < risk:
                    gov.defected = True
                    m.say("defection", gov.country)

"""Demand in the three regions: growth, a quarterly shock, and slow substitution at high prices."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from market.clearing import DemandCurve

REGIONS = ("home", "allied", "world")  # the dominant country, the allies, the rest of the world


class Demand:
    """Each region's demand curve for the quarter.

    Short-run demand is inelastic (`elasticity`); the long run comes from substitution: while a
    region's price stays above `substitution_threshold` times the reference price, buyers design
    the mineral out at up to `substitution_rate` of demand a year, and some of that returns at
    `substitution_recovery` a year once prices are back down.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.base = {r: params[r] / 4.0 for r in REGIONS}  # t per quarter at the reference price
        self.reference_price: float = params["reference_price"]
        self.elasticity: float = params["elasticity"]
        self.growth: float = params["growth"]
        self.substitution_rate: float = params["substitution_rate"]
        self.substitution_threshold: float = params["substitution_threshold"]
        self.substitution_recovery: float = params["substitution_recovery"]
        self.noise: float = params["noise"]
        self.price_cap: float = params["price_cap"]
        self.defence_share: float = params["defence_share"]  # of allied demand, served first
        self.retained = dict.fromkeys(REGIONS, 1.0)  # share of demand not substituted away
        self.shock = dict.fromkeys(REGIONS, 1.0)
        self.curves = {r: self._curve(r) for r in REGIONS}
        self.stocks = Stocks(
            params["stock_weeks"], params["stock_carry"], self.reference_price, self.base
        )

    # `demand.stock_weeks` and `demand.stock_carry` are the holders' settings.
    @property
    def stock_weeks(self) -> float:
        return self.stocks.weeks

    @stock_weeks.setter
    def stock_weeks(self, weeks: float) -> None:
        self.stocks.weeks = weeks

    @property
    def stock_carry(self) -> float:
        return self.stocks.carry

    @stock_carry.setter
    def stock_carry(self, carry: float) -> None:
        self.stocks.carry = carry

    # `demand.home`, `demand.allied` and `demand.world` (t/yr at the reference price): a change
    # applies to this quarter's base, growth included so far.
    @property
    def home(self) -> float:
        return self.base["home"] * 4.0

    @home.setter
    def home(self, tonnes_a_year: float) -> None:
        self.base["home"] = tonnes_a_year / 4.0

    @property
    def allied(self) -> float:
        return self.base["allied"] * 4.0

    @allied.setter
    def allied(self, tonnes_a_year: float) -> None:
        self.base["allied"] = tonnes_a_year / 4.0

    @property
    def world(self) -> float:
        return self.base["world"] * 4.0

    @world.setter
    def world(self, tonnes_a_year: float) -> None:
        self.base["world"] = tonnes_a_year / 4.0

    def _curve(self, region: str) -> DemandCurve:
        qty = self.base[region] * self.retained[region] * self.shock[region]
        return DemandCurve(qty, self.reference_price, self.elasticity)

    def advance(self, prices: dict[str, float], rng: np.random.Generator) -> None:
        """Move to the next quarter given last quarter's prices (USD/kg)."""
        quarterly_growth = (1.0 + self.growth) ** 0.25
        shocks = rng.normal(0.0, self.noise, size=len(REGIONS)) if self.noise > 0 else [0.0] * 3
        factors = np.exp(np.asarray(shocks) - self.noise**2 / 2.0).tolist()
        for region, factor in zip(REGIONS, factors, strict=True):
            self.base[region] *= quarterly_growth
            self.shock[region] = factor
            high = prices[region] > self.substitution_threshold * self.reference_price  # NaN: no
            if high:
                self.retained[region] *= 1.0 - self.substitution_rate / 4.0
            else:
                lost = 1.0 - self.retained[region]
                self.retained[region] += lost * self.substitution_recovery / 4.0
            self.curves[region] = self._curve(region)


RESTOCK_QUARTERS = 2  # holders rebuild a run-down stock over about half a year
TRANCHES = 4
TRANCHE_LEFT = tuple((TRANCHES - k - 0.5) / TRANCHES for k in range(TRANCHES))  # mid-tranche
STOCK_EXPECTATION_WEIGHT = 0.25  # as firms: the weight of the latest price in the expected one


class Stocks:
    """Consumers' and traders' working stocks in each region (competitive storage: Williams and
    Wright 1991; Deaton and Laroque 1992).

    Holders keep `weeks` of their consumption. They sell out of stock when the price is over
    the price they expect by more than `carry` (the cost of holding and the margin they want),
    and buy to restock when it is under by as much. The less they hold, the more they want for
    the next tonne, since they need stock to work with (the convenience yield of Kaldor 1939
    and Working 1949): each of `TRANCHES` equal parts of the stock asks the expected price
    times (1 + carry) over the share of the stock left once it is sold. A sudden cut is met
    first from stocks, and the price climbs over quarters as they run down; a glut fills them.

    Holders extrapolate: they expect next quarter's price to move as their expectation moved
    last quarter, and while they expect it to rise they want more cover, up to a year's worth
    of the expected rise in weeks (precautionary and speculative hoarding: the anchoring and
    adjustment stock rule behind the bullwhip effect, Sterman 1989). Hoarding amplifies a
    spike; a falling price empties warehouses.
    """

    def __init__(self, weeks: float, carry: float, reference_price: float, use: dict) -> None:
        self.weeks = weeks
        self.carry = carry
        self.expected = dict.fromkeys(REGIONS, float(reference_price))  # USD/kg
        self.trend = dict.fromkeys(REGIONS, 0.0)  # expected change of price next quarter
        self.held = {r: self.target(r, use[r]) for r in REGIONS}  # t

    def target(self, region: str, use_a_quarter: float) -> float:
        """Tonnes the region's holders want: their weeks of use, more while they expect a rise."""
        return self.weeks / 13.0 * use_a_quarter * (1.0 + 4.0 * max(self.trend[region], 0.0))

    def next_price(self, region: str) -> float:
        """The price holders expect next quarter, USD/kg."""
        return self.expected[region] * (1.0 + self.trend[region])

    def offers(self) -> list[tuple[float, float]]:
        """(tonnes, ask USD/kg) each region's holders sell out of stock: `TRANCHES` offers a
        region, in REGIONS order."""
        offers = []
        for r in REGIONS:
            tonnes, ask = self.held[r] / TRANCHES, self.next_price(r) * (1.0 + self.carry)
            offers += [(tonnes, ask / left) for left in TRANCHE_LEFT]
        return offers

    def bids(self, use: dict, price_cap: float) -> list[tuple[float, float]]:
        """(tonnes, limit USD/kg) each region's holders buy to restock, in REGIONS order; no
        holder restocks at the price cap (USD/kg), where buyers already go short."""
        below_cap = math.nextafter(price_cap, 0.0)
        return [
            (
                max(self.target(r, use[r]) - self.held[r], 0.0) / RESTOCK_QUARTERS,
                min(self.next_price(r) * max(1.0 - self.carry, 0.0), below_cap),
            )
            for r in REGIONS
        ]

    def settle(self, bought: list[float], sold: list[float], prices: dict) -> None:
        """Book what holders bought and sold, and move their expected prices toward the last
        price seen (adaptively, as firms do)."""
        for i, region in enumerate(REGIONS):
            self.held[region] = max(self.held[region] + bought[i] - sold[i], 0.0)
            price = prices[region]
            if price == price:  # a region nobody buys in keeps its expectation
                before = self.expected[region]
                self.expected[region] += STOCK_EXPECTATION_WEIGHT * (price - before)
                change = self.expected[region] / before - 1.0 if before > 0 else 0.0
                self.trend[region] = min(max(change, -0.5), 1.0)

    def weeks_held(self, use_a_quarter: float) -> float:
        """All holders' stocks in weeks of all regions' use."""
        return sum(self.held.values()) / max(use_a_quarter, 1e-9) * 13.0

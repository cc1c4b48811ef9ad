"""Demand in the two regions: growth, a quarterly shock, and slow substitution at high prices."""

from __future__ import annotations

from typing import Any

import numpy as np

from market.clearing import DemandCurve

REGIONS = ("allied", "world")


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
        self.retained = dict.fromkeys(REGIONS, 1.0)  # share of demand not substituted away
        self.shock = dict.fromkeys(REGIONS, 1.0)
        self.curves = {r: self._curve(r) for r in REGIONS}

    # `demand.allied` and `demand.world` (t/yr at the reference price): a change applies to
    # this quarter's base, growth included so far.
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
        shocks = rng.normal(0.0, self.noise, size=len(REGIONS)) if self.noise > 0 else (0.0, 0.0)
        for region, shock in zip(REGIONS, shocks, strict=True):
            self.base[region] *= quarterly_growth
            self.shock[region] = float(np.exp(shock - self.noise**2 / 2.0))
            high = prices[region] > self.substitution_threshold * self.reference_price
            if high:
                self.retained[region] *= 1.0 - self.substitution_rate / 4.0
            else:
                lost = 1.0 - self.retained[region]
                self.retained[region] += lost * self.substitution_recovery / 4.0
            self.curves[region] = self._curve(region)

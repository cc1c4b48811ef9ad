"""The one place that knows the indicator names, their units and how each is computed.

`INDICATORS` is the contract shared by the CLI, the browser game and sweeps. `LEDGER` adds the
per-quarter flows that let anyone check that the books close. `SERIES` adds what the charts and
the history measures read besides: the floor in force, the allied cost the price is read
against, capital committed, demand substituted away. The recorder (`market/recorder.py`)
records all three once a quarter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from market.model import MineralMarket

INDICATORS: dict[str, str] = {
    "price_allied": "allied-market price, USD/kg (what allied buyers pay, duty included)",
    "price_world": "rest-of-world price, USD/kg",
    "price_home": "price in the dominant country's own market, USD/kg",
    "dominant_share": "dominant supplier's share of all tonnes sold, all three regions",
    "allied_capacity": "capacity of allied producers still in business, t/yr",
    "allied_producers_active": "allied producers still in business",
    "bankruptcies": "allied producers and recyclers gone bankrupt so far (each failure counts, "
    "also of an owner that took over a plant another had lost)",
    "closures": "allied producers and recyclers that closed and sold their plants so far (each "
    "closure counts, also of an owner that took over a plant another had lost)",
    "idled_capacity": "allied capacity in business but not producing (idle or restarting), t/yr",
    "recycled_supply": "tonnes recycled and sold this quarter",
    "stockpile": "tonnes held in allied strategic stockpiles",
    "commercial_stocks": "consumers' and traders' working stocks, weeks of all regions' use",
    "shortage": "consumer demand unmet at the price cap this quarter, t",
    "dumping": "the rapid-response group flags dumping this quarter",
    "disruption": "the rapid-response group flags an export restriction or a shortage this quarter",
    "response_active": "the rapid-response group's coordinated counter-moves are in force",
    "fiscal_cost": "allied governments' net spending so far, USD m: floor payments, stockpile "
    "purchases, the cost of concessional loans and their losses, geological mapping, less floor "
    "upside, stockpile sales and duty collected (the value of the stock still held is "
    "stockpile_value)",
    "dominant_profit": "dominant supplier's operating profit this quarter, USD m",
    "dominant_sacrifice": "profit the dominant supplier has given up against market play with the "
    "same rivals, USD m, so far",
    "hhi": "Herfindahl-Hirschman index of all sellers' shares, 0-10,000",
    "campaign_running": "the dominant side is waging a price war (dumping) this quarter",
    "campaign_value": "the last price war's net value to the dominant side so far, USD m "
    "discounted to its first quarter: gains from the rivals' capacity gone, less its sacrifice",
}

LEDGER: dict[str, str] = {
    "allied_profit": "allied producers' and recyclers' operating profit this quarter, USD m "
    "(floor top-ups included)",
    "supply_home": "tonnes sold into the dominant country's own market",
    "supply_allied": "tonnes sold into the allied market by producers, recyclers and the supplier",
    "supply_world": "tonnes sold into the rest of the world",
    "consumption_home": "tonnes the dominant country's consumers took",
    "consumption_allied": "tonnes allied consumers took",
    "consumption_world": "tonnes rest-of-world consumers took",
    "stockpile_change": "tonnes bought into stockpiles less tonnes released",
    "stocks_change": "tonnes consumers and traders added to their stocks less tonnes they sold",
    "shortage_home": "home consumer demand unmet, t",
    "shortage_allied": "allied consumer demand unmet, t",
    "shortage_world": "rest-of-world consumer demand unmet, t",
    "shortage_defence": "allied defence demand unmet, t (defence is served first, so this is "
    "part of shortage_allied only when civil buyers get nothing)",
    "duty": "anti-dumping duty in force on the supplier's allied sales (share)",
    "duty_revenue": "duty collected this quarter, USD m",
    "floor_paid": "paid by governments under price floors this quarter (net of upside), USD m",
    "stockpile_bought_value": "what governments paid for stock bought this quarter, USD m",
    "stockpile_sold_value": "what governments took in for stock released this quarter, USD m",
    "finance_cost": "interest governments forgo this quarter on their concessional loans "
    "against the commercial rate, USD m",
    "loan_losses": "concessional loans lost this quarter to failed borrowers, USD m",
    "mapping_spent": "spent by governments on geological mapping this quarter, USD m",
    "stockpile_value": "allied strategic stockpiles at this quarter's allied price, USD m",
    "floor_received": "received by allied firms under price floors this quarter, USD m",
    "dominant_budget": "dominant supplier's state budget left, USD m",
    "export_subsidy": "export subsidies the dominant state paid this quarter, USD m (levies "
    "it collected count negative)",
}

SERIES: dict[str, str] = {
    "floor_in_force": "highest price floor a government has in force, USD/kg (0 when none)",
    "allied_cash_cost": "capacity-weighted cash cost of the allied producers in business, USD/kg",
    "allied_supply_share": "allied producers' and recyclers' share of allied-market sales",
    "capital_committed": "capital of the allied projects started this quarter, USD m",
    "market_size": "consumption in all three regions, t/yr (4 x the quarter's tonnes)",
    "retained_home": "share of home demand not yet substituted away",
    "retained_allied": "share of allied demand not yet substituted away",
    "retained_world": "share of rest-of-world demand not yet substituted away",
}

COLUMNS = ("quarter", *INDICATORS, *LEDGER)  # the quarterly table a run writes


def measure(model: MineralMarket) -> dict[str, float | int | bool]:
    """This quarter's indicators, ledger and series, from the model's state after settlement."""
    q = model.quarter_result
    producers, recyclers = model.producers, model.recyclers
    seller_tonnes = np.concatenate(
        [
            [q["supplier_sold"]],
            producers.sold,
            recyclers.sold,
        ]
    )
    total = float(seller_tonnes.sum())
    shares = seller_tonnes / total if total > 0 else np.zeros_like(seller_tonnes)
    governments = model.governments.values()
    closed, bankrupt = (a + b for a, b in zip(producers.exits(), recyclers.exits(), strict=True))
    held = bought = sold = finance = losses = fiscal = 0.0
    for g in governments:
        held += g.stockpile
        bought += g.stock_bought_value
        sold += g.stock_sold_value
        finance += g.finance_cost
        losses += g.loan_losses
        fiscal += g.fiscal_cost()
    return {
        "price_allied": q["price_allied"],
        "price_world": q["price_world"],
        "price_home": q["price_home"],
        "dominant_share": float(shares[0]),
        "allied_capacity": float(producers.capacity[producers.alive].sum()),
        "allied_producers_active": int(np.count_nonzero(producers.alive)),
        "bankruptcies": bankrupt,
        "closures": closed,
        "idled_capacity": producers.idled_capacity() + recyclers.idled_capacity(),
        "recycled_supply": float(recyclers.sold.sum()),
        "stockpile": held,
        "commercial_stocks": model.demand.stocks.weeks_held(
            q["consumption_home"] + q["consumption_allied"] + q["consumption_world"]
        ),
        "shortage": q["shortage_home"] + q["shortage_allied"] + q["shortage_world"],
        "dumping": bool(model.response_group.dumping),
        "disruption": bool(model.response_group.restriction),
        "response_active": model.response_active(),
        "fiscal_cost": fiscal,
        "dominant_profit": model.supplier.profit,
        "dominant_sacrifice": model.supplier.sacrifice,
        "hhi": float((shares**2).sum() * 10_000),
        "campaign_running": model.supplier.mode == "dump",
        "campaign_value": model.supplier.campaign_value,
        "allied_profit": float(producers.profit.sum() + recyclers.profit.sum()),
        "supply_home": q["supply_home"],
        "supply_allied": q["supply_allied"],
        "supply_world": q["supply_world"],
        "consumption_home": q["consumption_home"],
        "consumption_allied": q["consumption_allied"],
        "consumption_world": q["consumption_world"],
        "stockpile_change": q["stockpile_change"],
        "stocks_change": q["stocks_change"],
        "shortage_home": q["shortage_home"],
        "shortage_allied": q["shortage_allied"],
        "shortage_world": q["shortage_world"],
        "shortage_defence": q["shortage_defence"],
        "duty": q["duty"],
        "duty_revenue": q["duty_revenue"],
        "floor_paid": q["floor_paid"],
        "floor_received": q["floor_received"],
        "stockpile_bought_value": bought,
        "stockpile_sold_value": sold,
        "finance_cost": finance,
        "loan_losses": losses,
        "mapping_spent": q.get("mapping_spent", 0.0),
        "stockpile_value": held * model.stock_price() / 1000.0,
        "dominant_budget": model.supplier.budget,
        "export_subsidy": q["export_subsidy"],
        "floor_in_force": max([g.floor_support() for g in governments], default=0.0),
        "allied_cash_cost": producers.average_cash_cost(),
        "allied_supply_share": model.allied_share_of_allied_market(),
        "capital_committed": float(
            producers.capital_committed.sum() + recyclers.capital_committed.sum()
        ),
        "market_size": 4.0
        * (q["consumption_home"] + q["consumption_allied"] + q["consumption_world"]),
        "retained_home": model.demand.retained["home"],
        "retained_allied": model.demand.retained["allied"],
        "retained_world": model.demand.retained["world"],
    }


STATS = ("final", "mean", "min", "max")
FLAGS = ("dumping", "disruption", "response_active", "campaign_running")
TOTALS = ("shortage", "recycled_supply", "dominant_profit")

# Every run-level metric `summarise` reports, in its order: the names sweeps and analysis use.
METRICS: tuple[str, ...] = (
    *(f"{name}_{stat}" for name in INDICATORS for stat in STATS),
    *(f"{flag}_{what}" for flag in FLAGS for what in ("first_quarter", "quarters")),
    *(f"{name}_total" for name in TOTALS),
)


def summarise(table: Mapping[str, Any]) -> dict[str, float | int | None]:
    """Run-level metrics (`METRICS`) of a quarterly table (a DataFrame, or a mapping of column
    name to array such as a recorder's series): `<indicator>_<stat>` (final, mean, min, max),
    the quarter in which dumping was first flagged and the response first active (None if
    never) and how many quarters each was, and totals.

    A quarter with no value (a price in a region with no buyers) is left out; a metric with no
    quarter to read is None, not NaN: nothing happened, nothing to average."""
    out: dict[str, float | int | None] = {}
    for name in INDICATORS:
        series = np.asarray(table[name], dtype=float)
        series = series[~np.isnan(series)]
        empty = len(series) == 0
        out[f"{name}_final"] = None if empty else plain(series[-1])
        out[f"{name}_mean"] = None if empty else plain(series.mean())
        out[f"{name}_min"] = None if empty else plain(series.min())
        out[f"{name}_max"] = None if empty else plain(series.max())
    quarters = np.asarray(table["quarter"])
    for flag in FLAGS:
        hits = quarters[np.asarray(table[flag], dtype=bool)]
        out[f"{flag}_first_quarter"] = int(hits[0]) if len(hits) else None
        out[f"{flag}_quarters"] = len(hits)
    for name in TOTALS:
        out[f"{name}_total"] = plain(np.nansum(np.asarray(table[name], dtype=float)))
    return out


def plain(x: Any) -> float | int:
    """A number as JSON shows it best: a whole number as an int, anything else rounded to six
    decimals."""
    value = float(x)
    return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 6)

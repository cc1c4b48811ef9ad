"""Property tests: over random valid scenarios the books close and nothing goes negative."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market import MineralMarket

COUNTRIES = ("US", "AU", "JP", "MY", "TH")

lever = st.fixed_dictionaries(
    {
        "floor_price": st.sampled_from([0.0, 60.0, 80.0, 110.0]),
        "floor_budget": st.floats(0, 2000),
        "duty": st.floats(0, 2),
        "stockpile_days": st.floats(0, 180),
        "stockpile_budget": st.floats(0, 500),
        "financing": st.floats(0, 1),
        "asset_review": st.booleans(),
        "member": st.booleans(),
    }
)

scenarios = st.fixed_dictionaries(
    {
        "supplier.strategy": st.sampled_from(["market", "dump", "restrict", "adaptive"]),
        "supplier.budget": st.floats(0, 5000),
        "supplier.dump_depth": st.floats(0, 0.9),
        "supplier.quota_cut": st.floats(0, 1),
        "alliance.response": st.sampled_from(["none", "standing", "coordinated"]),
        "alliance.coordination_delay": st.integers(0, 8),
        "alliance.cohesion": st.floats(0, 1),
        "alliance.dumping_test": st.sampled_from(["areeda_turner", "cash_cost", "either"]),
        "demand.elasticity": st.floats(-1.0, -0.05),
        "demand.growth": st.floats(-0.1, 0.2),
        "demand.noise": st.floats(0, 0.2),
        "recyclers.JP-R.collection_rate": st.floats(0, 1),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios,
    st.dictionaries(st.sampled_from(COUNTRIES), lever, max_size=5),
    st.integers(0, 2**32 - 1),
)
def test_books_close_in_any_valid_scenario(overrides, levers, seed):
    for country, values in levers.items():
        overrides |= {f"governments.{country}.{k}": v for k, v in values.items()}
    model = MineralMarket("baseline", rng=seed, quarters=24, **overrides)
    while model.running:
        model.step()
    ts = model.timeseries()
    agents = model.agent_table()

    assert not ts.isna().any().any() and not agents.isna().any().any()
    flags = ["dumping", "response_active", "campaign_running"]
    assert np.isfinite(ts.drop(columns=flags).to_numpy(float)).all()
    regions = ("home", "allied", "world")
    supplied = sum(ts[f"supply_{r}"] for r in regions)
    used = sum(ts[f"consumption_{r}"] for r in regions)
    assert np.allclose(
        supplied, used + ts["stockpile_change"] + ts["stocks_change"], rtol=1e-9, atol=1e-6
    )
    assert np.allclose(ts["floor_paid"], ts["floor_received"], rtol=1e-9, atol=1e-9)
    assert (ts[["price_home", "price_allied", "price_world"]] > 0).all().all()
    assert (ts[["allied_capacity", "stockpile", "shortage", "hhi"]] >= -1e-9).all().all()
    assert (agents[["capacity", "stockpile", "sold"]] >= -1e-9).all().all()
    assert (ts["dominant_sacrifice"].diff().dropna() >= 0).all()
    assert ts["dominant_share"].between(0, 1).all()
    # Governments never pay out more than they budgeted for floors.
    for gov in model.governments.values():
        assert gov.floor_budget >= 0 and gov.stockpile_budget >= 0

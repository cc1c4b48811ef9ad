"""Property tests: over random valid scenarios the books close and nothing goes negative; over
random bad values and files the loader refuses each with a ScenarioError of one line."""

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments import cli
from market import MineralMarket
from market.scenarios import load_scenario
from market.schema import FIELDS, ScenarioError, field_for

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


# --- bad input: whatever it is, the loader refuses it with one line -----------------------------


ENTRY = {"governments": "US", "producers": "US-1", "recyclers": "JP-R"}  # in the baseline
NUMERIC = sorted(
    p.replace("*", ENTRY.get(p.split(".")[0], ""))
    for p, f in FIELDS.items()
    if f.kind in ("int", "float")
)
NON_NEGATIVE = [k for k in NUMERIC if field_for(k).low >= 0]
KNOWN = set(load_scenario("baseline").flat())


def refused(call) -> str:
    """`call()` raises ScenarioError with one non-empty line, and nothing else."""
    with pytest.raises(ScenarioError) as err:
        call()
    text = str(err.value)
    assert text and "\n" not in text and "\r" not in text
    return text


not_a_number = st.one_of(
    st.text(max_size=20),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(float("-inf")),
)
huge = st.integers(min_value=10**20, max_value=10**1200) | st.integers(max_value=-(10**20))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(NUMERIC), st.one_of(not_a_number, huge))
def test_a_numeric_key_refuses_a_value_that_is_not_a_number_in_range(key, value):
    refused(lambda: load_scenario("baseline", {key: value}))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(NON_NEGATIVE),
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
)
def test_a_negative_value_for_a_non_negative_key_is_refused(key, value):
    refused(lambda: load_scenario("baseline", {key: value}))


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=0, max_size=30), st.one_of(st.integers(), st.floats(), st.text()))
def test_an_unknown_key_is_refused(key, value):
    if key in KNOWN or key in ("name", "description", "preset", "mineral"):
        return
    refused(lambda: load_scenario("baseline", {key: value}))


def _load_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bad.toml"
        path.write_bytes(data)
        load_scenario(path)


toml_junk = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.integers(1, 4000).map(lambda n: ("a = " + "[" * n + "]" * n).encode()),
    st.integers(1, 4000).map(lambda n: ("a = " + "{b=" * n + "1" + "}" * n).encode()),
    st.integers(4301, 9000).map(lambda n: b'preset = "ndpr"\n[supplier]\nbudget = ' + b"7" * n),
    st.sampled_from([b"\x00", b"\xff\xfe", b"[[events]]\nquarter = 0", b"preset = 5"]),
)


@settings(max_examples=120, deadline=None)
@given(toml_junk)
def test_bad_files_are_refused_with_one_line(data):
    refused(lambda: _load_bytes(data))


bad_event = st.one_of(
    st.fixed_dictionaries(
        {
            "quarter": st.one_of(
                st.integers(max_value=0),
                st.integers(min_value=401),
                st.floats(),
                st.text(max_size=5),
                st.none(),
            ),
            "set": st.just({"supplier.budget": 100.0}),
        }
    ),
    st.fixed_dictionaries(  # two changes that clash: a buying bar above the new price cap
        {
            "quarter": st.integers(1, 400),
            "label": st.text(max_size=20),
            "set": st.tuples(st.floats(101, 1000), st.floats(71, 100)).map(
                lambda pair: {
                    "governments.US.stockpile_buy_below": pair[0],
                    "demand.price_cap": pair[1],
                }
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "quarter": st.integers(1, 400),
            "set": st.sampled_from(
                [
                    {"quarters": 10},
                    {"producers.US-1.found": False},
                    {"governments.US.demand_share": 0.9},
                    {"supplier.budget": float("nan")},
                    {"no.such": 1},
                    {},
                ]
            ),
        }
    ),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({"quarter": st.integers(1, 400), "set": st.just(
    {"supplier.budget": 500.0})}), max_size=3), bad_event)  # fmt: skip
def test_a_bad_event_is_refused_at_load_time(good, bad):
    tree = {"preset": "ndpr", "events": [*good, bad]}
    text = refused(lambda: load_scenario(tree))
    assert text.startswith("events")


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(NUMERIC), st.sampled_from(["nan", "inf", "-1e999", "9" * 500, "[1]"]))
def test_the_command_line_refuses_a_bad_set_in_one_line(key, value):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "o"
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = cli.main(["run", "--set", f"{key}={value}", "--out", str(out)])
        assert code == 2 and not out.exists()
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("minerals: error: ")
        assert "Traceback" not in err.getvalue()

"""Scenarios as data: loading, dotted overrides, events, and errors a user can act on."""

import subprocess
import sys
from pathlib import Path

import pytest

from market import MineralMarket, Scenario, ScenarioError, load_scenario, named_scenarios
from market.schema import field_for

ROOT = Path(__file__).resolve().parents[1]

REQUIRED_KEYS = [
    "quarters",
    "supplier.strategy",
    "supplier.budget",
    "alliance.response",
    "alliance.coordination_delay",
    "alliance.cohesion",
]
PER_COUNTRY = ["floor_price", "floor_budget", "duty", "stockpile_days", "asset_review"]
NAMED = [
    "baseline",
    "dumping",
    "dumping-vs-floor",
    "coordinated-response",
    "export-restriction",
    "alliance-fracture",
    "recycling-push",
    "asset-grab",
    "technology-transfer",
    "new-supply",
]


def test_every_required_scenario_exists_and_loads():
    assert set(NAMED) <= set(named_scenarios())
    for name in named_scenarios():
        spec = load_scenario(name)
        assert spec.name == name
        assert spec.params["description"]


@pytest.mark.parametrize(
    "key",
    REQUIRED_KEYS
    + [f"governments.{c}.{k}" for c in ("US", "AU", "JP", "MY", "TH") for k in PER_COUNTRY],
)
def test_required_keys_are_settable(key):
    assert field_for(key) is not None
    spec = load_scenario("baseline")
    spec.get(key)  # present in the default scenario


def test_dotted_overrides_reach_the_agents():
    m = MineralMarket(
        "dumping",
        rng=7,
        **{
            "supplier.budget": 2000,
            "governments.US.floor_price": 110,
            "producers.AU-1.cash_cost": 41.5,
            "alliance.coordination_delay": 5,
        },
    )
    assert m.supplier.budget == 2000.0
    assert m.governments["US"].floor_price == 110.0
    assert m.producers.cash_cost[m.producers.ids.index("AU-1")] == 41.5
    assert m.response_group.coordination_delay == 5


def test_a_scenario_file_merges_over_its_preset(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'preset = "ndpr"\nquarters = 8\n[supplier]\nbudget = 123.0\n'
        '[[events]]\nquarter = 3\nlabel = "switch"\nset = { "supplier.strategy" = "dump" }\n'
    )
    m = MineralMarket(str(path), rng=1)
    assert m.quarters == 8 and m.supplier.budget == 123.0
    assert m.supplier.cash_cost == load_scenario("ndpr").get("supplier.cash_cost")
    while m.running:
        m.step()
    assert (m.feed[0].quarter, m.feed[0].kind, m.feed[0].text) == (3, "scenario", "switch")
    assert m.supplier.strategy == "dump"


def test_a_file_edited_between_runs_is_read_again(tmp_path):
    """Loads are cached per file version: an edit shows, a run's overrides never stick."""
    path = tmp_path / "mine.toml"
    path.write_text('preset = "ndpr"\n[supplier]\nbudget = 100.0\n')
    assert load_scenario(path, {"supplier.budget": 7.0}).get("supplier.budget") == 7.0
    assert load_scenario(path).get("supplier.budget") == 100.0
    path.write_text('preset = "ndpr"\n[supplier]\nbudget = 250.0\n')
    assert load_scenario(path).get("supplier.budget") == 250.0
    path.write_text('preset = "ndpr"\n[supplier]\nbudget = -1.0\n')
    with pytest.raises(ScenarioError, match=r"supplier\.budget"):
        load_scenario(path)


def test_a_scenario_built_by_hand_is_checked_before_a_model_uses_it():
    good = load_scenario("dumping")
    bad = Scenario(good.name, {**good.params, "quarters": 0}, good.events, good.source)
    with pytest.raises(ScenarioError, match="quarters"):
        MineralMarket(bad, rng=1)
    again = MineralMarket(good, rng=1, **{"supplier.budget": 50.0})
    assert again.supplier.budget == 50.0 and good.get("supplier.budget") != 50.0


def test_events_take_effect_from_their_quarter():
    m = MineralMarket("dumping", rng=1)
    seen = {}
    while m.running:
        m.step()
        seen[m.steps] = m.supplier.mode
    assert seen[4] == "market" and seen[5] == "dump"


@pytest.mark.parametrize(
    ("source", "overrides", "message"),
    [
        ("nowhere", {}, "unknown scenario 'nowhere': choose one of"),
        (
            "baseline",
            {"supplier.budgt": 1},
            "supplier.budgt: unknown key (did you mean supplier.budget?)",
        ),
        ("baseline", {"supplier.budget": "lots"}, "supplier.budget: expected a number from 0 to"),
        (
            "baseline",
            {"supplier.budget": -1},
            "supplier.budget: expected a number from 0 to 1e+06 (USD m), got -1",
        ),
        (
            "baseline",
            {"supplier.strategy": "bluff"},
            "supplier.strategy: expected one of market, dump, restrict, adaptive",
        ),
        ("baseline", {"quarters": 2.5}, "quarters: expected a whole number from 1 to 400"),
        ("baseline", {"governments.FR.duty": 0.2}, "governments.FR.duty: unknown key"),
        ("baseline", {"producers.AU-1.country": "FR"}, "producers.AU-1.country: expected one of"),
        ("baseline", {"governments.US.asset_review": "yes"}, "expected true or false"),
        ("baseline", {"demand.elasticity": float("nan")}, "demand.elasticity: expected a number"),
    ],
)
def test_bad_input_is_one_line_naming_the_key_and_what_is_allowed(source, overrides, message):
    with pytest.raises(ScenarioError) as err:
        MineralMarket(source, rng=1, **overrides)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_malformed_toml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('preset = "ndpr"\n[supplier]\nbudget = = 3\n')
    with pytest.raises(ScenarioError, match=r"broken\.toml: malformed TOML: .*line 3"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            "quarter = 401\nset = { quarters = 3 }",
            "events[1].quarter: expected a whole number from 1 to 400, got 401",
        ),
        (
            'quarter = 2\nset = { "supplier.budgett" = 3 }',
            "events[1].set: supplier.budgett: unknown key",
        ),
        ("quarter = 2\nwhen = 3\nset = { quarters = 3 }", "events[1].when: unknown key"),
        ("quarter = 2", "events[1].set: expected a table"),
    ],
)
def test_bad_events_are_reported_with_their_position(tmp_path, event, message):
    path = tmp_path / "events.toml"
    path.write_text(f'preset = "ndpr"\n[[events]]\n{event}\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert message in str(err.value)


def test_events_past_the_end_of_a_shorter_run_never_fire():
    m = MineralMarket("dumping", rng=1, quarters=4)
    while m.running:
        m.step()
    assert m.steps == 4 and m.supplier.strategy == "market"


def test_a_price_cap_under_a_stockpile_buy_limit_is_refused_before_the_run():
    with pytest.raises(
        ScenarioError, match=r"demand\.price_cap: must be above every stockpile_buy_below"
    ):
        MineralMarket("baseline", rng=1, **{"demand.price_cap": 50.0})


def test_an_unnamed_file_is_named_after_itself_not_its_preset(tmp_path):
    path = tmp_path / "my-test.toml"
    path.write_text('preset = "ndpr"\nquarters = 3\n')
    assert load_scenario(path).name == "my-test"


def test_missing_keys_in_a_complete_file_are_named(tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text("quarters = 4\n")
    with pytest.raises(ScenarioError, match="missing"):
        load_scenario(path)


def test_docs_list_every_key_exactly_as_the_code_has_them():
    doc = (ROOT / "docs" / "scenarios.md").read_text()
    start, end = "<!-- keys:start -->\n", "\n<!-- keys:end -->"
    assert start in doc and end in doc
    block = doc.split(start, 1)[1].split(end, 1)[0]
    table = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "keys", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    assert block.strip() == table

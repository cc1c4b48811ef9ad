"""The lever catalog, the reasons a lever cannot act (market.inert), and `minerals levers`."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import pytest

from experiments.levers.report import CATALOG_END, CATALOG_START, catalog_table, check_out
from market import lever_map, load_scenario, named_scenarios
from market.inert import inert, set_again
from market.levers import CATALOG, catalog_row
from market.play import play
from market.schema import ScenarioError, field_for
from tests.conftest import minerals
from viz.levers import COALITION_LEVERS, COMPARE_LEVERS, SUPPLIER_LEVERS

ROOT = Path(__file__).resolve().parents[1]
NUMBERS = ("float", "int")


# --- the catalog --------------------------------------------------------------------------------


@pytest.mark.parametrize("row", CATALOG, ids=lambda r: r.key)
def test_every_catalog_lever_is_a_schema_key_the_lever_map_sets_during_a_run(row):
    spec = field_for(row.key)
    assert spec is not None, row.key
    assert lever_map.settable(row.key.replace("*", "US")), row.key
    low, high = (spec.check(row.key, end) for end in (row.low, row.high))  # allowed values
    assert low != high
    if spec.kind == "bool":
        assert (low, high) == (False, True)
    elif spec.kind in NUMBERS:
        assert low < high
    assert row.label


def test_catalog_keys_are_unique_and_a_countrys_key_finds_its_row():
    keys = [row.key for row in CATALOG]
    assert len(keys) == len(set(keys))
    assert catalog_row("governments.JP.duty").key == "governments.*.duty"
    with pytest.raises(KeyError, match="not in the lever catalog"):
        catalog_row("demand.noise")


@pytest.mark.parametrize(
    "lv",
    [lv for lv in (*COALITION_LEVERS, *SUPPLIER_LEVERS, *COMPARE_LEVERS) if lv.kind in NUMBERS],
    ids=lambda lv: lv.key,
)
def test_the_games_sliders_span_the_catalogs_ranges(lv):
    row = catalog_row(lv.key)
    assert lv.model_value(lv.low) == pytest.approx(row.low)
    assert lv.model_value(lv.high) == pytest.approx(row.high)


def test_docs_list_every_catalog_lever_as_the_catalog_has_it():
    """Adding a row to the catalog is not done until docs/levers.md is regenerated."""
    doc = (ROOT / "docs" / "levers.md").read_text()
    listed = doc.split(CATALOG_START + "\n", 1)[1].split("\n" + CATALOG_END, 1)[0]
    assert listed == catalog_table()
    for name in named_scenarios():
        assert f"### {name}\n" in doc
        assert (ROOT / "docs" / "levers" / f"{name}.png").is_file()
    assert "docs/levers.md" in (ROOT / "README.md").read_text()


# --- why a lever cannot act ---------------------------------------------------------------------


def test_with_the_response_off_no_government_lever_acts():
    dumping = load_scenario("dumping")
    for key in ("governments.*.duty", "governments.US.floor_price", "governments.*.asset_review"):
        assert inert(dumping, key) == (
            "the allies' response is off in this scenario (alliance.response = none)"
        )
    assert "only under a coordinated response" in inert(dumping, "alliance.cohesion")
    standing = load_scenario("dumping", {"alliance.response": "standing"})
    assert inert(standing, "governments.*.duty") is None
    assert inert(dumping, "alliance.response") is None  # the switch itself


def test_a_value_an_event_sets_counts():
    """A response off at the start but switched on by the timeline lets the levers act."""
    later = {
        "preset": "ndpr",
        "alliance": {"response": "none"},
        "events": [{"quarter": 10, "set": {"alliance.response": "standing"}}],
    }
    assert inert(load_scenario(later), "governments.*.duty") is None
    assert set_again(load_scenario(later), "alliance.response") == (
        "the scenario's event at Q10 sets it again"
    )


def test_a_countrys_levers_for_its_firms_need_a_firm_there():
    moved = {"producers.JP-1.country": "US", "recyclers.JP-R.country": "US"}
    spec = load_scenario("baseline", moved)
    assert inert(spec, "governments.JP.financing") == (
        "JP: no allied producer or recycler is there"
    )
    assert inert(spec, "governments.JP.duty") is None  # its buyers still pay the duty
    assert inert(load_scenario("baseline"), "governments.JP.financing") is None


def test_floors_need_a_price_and_a_budget_and_every_government_is_read():
    baseline = load_scenario("baseline")
    assert inert(baseline, "governments.*.floor_price") == (
        "every government: no floor budget (floor_budget = 0)"
    )
    assert inert(baseline, "governments.*.floor_budget") == (
        "every government: no price floor (floor_price = 0)"
    )
    one = load_scenario("baseline", {"governments.US.floor_budget": 500.0})
    assert inert(one, "governments.US.floor_price") is None
    assert inert(one, "governments.*.floor_price") is None  # the US floor can act
    assert inert(one, "governments.AU.floor_price") == "AU: no floor budget (floor_budget = 0)"


def test_a_budget_weighs_on_a_member_staying_under_a_shaky_coordinated_response():
    shaky = load_scenario("alliance-fracture")  # coordinated, cohesion 0.5
    assert inert(shaky, "governments.US.stockpile_budget") is None
    firm = load_scenario("alliance-fracture", {"alliance.cohesion": 1.0})
    assert inert(firm, "governments.US.stockpile_budget") == (
        "US: no stockpile target (stockpile_days = 0)"
    )


def test_what_the_runs_show_counts_only_when_every_run_shows_it():
    spec = load_scenario("baseline", {"alliance.response": "coordinated"})
    calm = [play(spec, seed, quarters=12).metrics() for seed in (1, 2)]
    assert inert(spec, "governments.*.duty") is None  # the scenario alone cannot say
    assert inert(spec, "governments.*.duty", calm) == (
        "the response group never comes into force in this scenario's runs"
    )
    assert "neither dumping nor a disruption" in inert(spec, "alliance.coordination_delay", calm)
    assert "no allied plant closes or fails" in inert(spec, "governments.*.asset_review", calm)
    attacked = load_scenario("asset-grab")
    assert inert(attacked, "governments.*.asset_review", [play(attacked, 1).metrics()]) is None
    flagged = [{**calm[0], "response_active_quarters": 3}, calm[1]]
    assert inert(spec, "governments.*.duty", flagged) is None


def test_the_suppliers_instruments_act_only_under_the_strategies_that_read_them():
    baseline, dumping = load_scenario("baseline"), load_scenario("dumping")
    assert "never restricts its exports" in inert(dumping, "supplier.quota_cut")
    assert "never dumps" in inert(baseline, "supplier.dump_depth")
    assert "budget pays for nothing" in inert(baseline, "supplier.budget")
    assert inert(dumping, "supplier.dump_depth") is None
    assert inert(dumping, "supplier.budget") is None
    named = load_scenario("baseline", {"supplier.price_allied": 40.0})
    assert inert(named, "supplier.budget") is None  # pricing under the market needs budget
    quota = load_scenario("export-restriction")  # restrict and a 40 % cut, both from Q8
    assert inert(quota, "supplier.quota_cut") == (
        "the event at Q8 sets it again by the time the supplier first restricts its exports "
        "(Q8), so the value it starts with is never used"
    )


def test_set_again_names_the_first_event_for_a_country_or_every_government():
    assert set_again(load_scenario("dumping"), "supplier.strategy").startswith(
        "the scenario's event at Q5 sets it again (dominant supplier starts"
    )
    fracture = load_scenario("alliance-fracture")  # Thailand cuts its floor budget at Q14
    assert "Q14" in set_again(fracture, "governments.*.floor_budget")
    assert "Q14" in set_again(fracture, "governments.TH.floor_budget")
    assert set_again(fracture, "governments.US.floor_budget") is None


@pytest.mark.parametrize("scenario", ["dumping", "export-restriction", "dumping-vs-floor"])
def test_a_lever_said_to_be_inert_changes_nothing_the_run_reports(scenario):
    """Every reason is checked against the model: at either end of its range, a lever the
    rules call inert leaves every run metric as it was."""
    spec = load_scenario(scenario, {"quarters": 20})  # past each scenario's events
    base = play(spec, 1).metrics()
    checked = 0
    for row in CATALOG:
        if inert(spec, row.key, [base]) is None:
            continue
        countries = list(spec.params["governments"]) if "*" in row.key else [""]
        for end in (row.low, row.high):
            overrides = {row.key.replace("*", c, 1): end for c in countries}
            assert play(spec, 1, overrides).metrics() == base, (row.key, end)
        checked += 1
    assert checked >= 2


# --- the command --------------------------------------------------------------------------------


def test_minerals_levers_writes_the_effects_and_marks_each_lever_with_none(tmp_path):
    out = tmp_path / "levers"
    result = minerals(
        "levers", "--scenario", "dumping", "--seeds", "1", "--jobs", "1", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "as_is.csv",
        "effects.csv",
        "levers.md",
        "tornado.png",
    ]
    with (out / "effects.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["key"], r["end"]) for r in rows] == [
        (row.key, end) for row in CATALOG for end in ("low", "high")
    ]
    by_key = {r["key"]: r for r in rows}
    floor = by_key["governments.*.floor_price"]
    assert floor["no_effect"] == "True"
    assert "alliance.response = none" in floor["note"]
    assert "the scenario's event at Q5 sets it again" in by_key["supplier.strategy"]["note"]
    depth = [r for r in rows if r["key"] == "supplier.dump_depth"]
    assert any(float(r["price_allied_mean"]) != 0 for r in depth)
    as_is = play("dumping", 1).metrics()
    with (out / "as_is.csv").open() as f:
        (base,) = list(csv.DictReader(f))
    assert float(base["dominant_profit_total"]) == pytest.approx(as_is["dominant_profit_total"])
    table = (out / "levers.md").read_text()
    assert "no effect: the allies' response is off in this scenario" in table
    assert (out / "tornado.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "dumping (seeds 1 to 1):" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nowhere"], "unknown scenario 'nowhere'"),
        (["--seeds", "0"], "argument --seeds: expected a whole number from 1, got 0"),
        (["--seeds", "-2"], "argument --seeds: expected a whole number from 1, got -2"),
        (["--update-docs", "--scenario", "dumping"], "not allowed with argument"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    result = minerals("levers", *args, "--out", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minerals: error:"), result.stderr
    assert message in lines[0]
    assert not out.exists()


def test_an_out_that_is_a_file_or_under_one_is_refused(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    for out, message in (
        (taken, f"--out {taken}: is a file; expected a folder to write into"),
        (
            taken / "sub",
            f"--out {taken / 'sub'}: {taken} is a file; expected a folder to write into",
        ),
    ):
        result = minerals("levers", "--seeds", "1", "--out", str(out))
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [f"minerals: error: {message}"]
    assert taken.read_text() == "keep me"
    docs = minerals("levers", "--update-docs", "--out", str(tmp_path / "x"))
    assert docs.returncode == 2 and "--out: not with --update-docs" in docs.stderr


def test_an_out_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked)
    with pytest.raises(ScenarioError, match=r"cannot write in .*locked \(permission denied\)"):
        check_out(locked / "levers")
    check_out(tmp_path / "fine")  # a folder that can be made


def test_the_effects_are_means_over_seeds_of_paired_differences():
    from experiments.executor import make_pool
    from experiments.levers.analysis import analyse
    from experiments.levers.design import make_design
    from experiments.levers.runner import run_design

    spec = load_scenario("dumping")
    design = make_design(spec, [1, 2], [catalog_row("supplier.dump_depth")])
    with make_pool(1, in_process=True) as pool:
        analysis = analyse(design, *run_design(design, pool))
    (effect,) = analysis.levers
    deep = [play(spec, s, {"supplier.dump_depth": 0.9}).metrics() for s in (1, 2)]
    base = [play(spec, s).metrics() for s in (1, 2)]
    pairs = zip(deep, base, strict=True)
    expected = sum(d["price_allied_mean"] - b["price_allied_mean"] for d, b in pairs) / 2
    assert effect.ends["high"].effect["price_allied_mean"] == pytest.approx(expected)
    assert analysis.as_is["price_allied_mean"] == pytest.approx(
        sum(b["price_allied_mean"] for b in base) / 2
    )
    assert not math.isnan(effect.size("allied_capacity_final"))

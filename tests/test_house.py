"""How the code is kept: one lever map, one recorder, one way to play, the feed as data, and
imports that point one way."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from agents import AlliedProducer, Recycler
from market import MineralMarket, ScenarioError, lever_map, load_scenario
from market.feed import KINDS, by_rank, entry
from market.play import play
from market.schema import FIELDS, TABLES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "market", "viz", "experiments")


def _keys(model: MineralMarket) -> list[str]:
    """Every dotted key of a model's scenario, keyed tables expanded."""
    keys = []
    for pattern in FIELDS:
        section = pattern.split(".")[0]
        if section in TABLES:
            entries = model.governments if section == "governments" else getattr(model, section).ids
            keys += [pattern.replace("*", name, 1) for name in entries]
        else:
            keys.append(pattern)
    return keys


def test_every_settable_key_reaches_an_attribute_that_exists_and_every_mapping_has_a_key():
    model = MineralMarket("coordinated-response", rng=1)
    assert set(lever_map.LEVER_MAP) <= set(FIELDS)
    reached = set()
    for key in _keys(model):
        target = lever_map.target(key)
        if target is None:
            assert key.startswith(lever_map.DESCRIPTIVE), f"{key} sets nothing"
            continue
        obj, attr, _ = lever_map.holder_of(model, key)
        assert hasattr(obj, attr), f"{key} -> {type(obj).__name__}.{attr} is missing"
        assert lever_map.read(model, key) == model.spec.get(key), key  # built from the spec
        reached.add(target)
    assert reached == set(lever_map.LEVER_MAP.values())  # every mapping has a key in use


def test_a_mapping_to_a_missing_attribute_fails_loudly(monkeypatch):
    model = MineralMarket("dumping", rng=1)
    broken = dict(lever_map.LEVER_MAP)
    broken["supplier.budget"] = lever_map.Target("supplier", "budgett")
    monkeypatch.setattr(lever_map, "LEVER_MAP", broken)
    with pytest.raises(LookupError, match="budgett"):
        model.apply("supplier.budget", 10.0)


def test_changing_the_alliance_response_mid_run_switches_the_levers_off():
    """`alliance.response` once set a dead attribute; now a standing response switched to
    none stops the floor payments from the next quarter."""
    standing = {
        "alliance.response": "standing",
        "governments.US.floor_price": 110.0,
        "governments.US.floor_budget": 5000.0,
    }
    kept = play("dumping", 1, standing, quarters=12)
    stopped = play("dumping", 1, standing, quarters=12, moves={7: [{"alliance.response": "none"}]})
    paid, cut = kept.series("floor_paid"), stopped.series("floor_paid")
    assert (paid[6:] > 0).all()
    assert (cut[:6] == paid[:6]).all() and (cut[6:] == 0).all()
    assert (stopped.series("floor_in_force")[6:] == 0).all()


def test_a_key_that_only_sets_the_start_is_refused_during_a_run_and_in_events(tmp_path):
    model = MineralMarket("dumping", rng=1)
    held = model.governments["JP"].stockpile
    with pytest.raises(ScenarioError, match="sets the start only"):
        model.apply("governments.JP.stockpile_initial_days", 10.0)
    with pytest.raises(ScenarioError, match="describes the scenario"):
        model.apply("calibration.price_low", 10.0)
    assert model.governments["JP"].stockpile == held
    assert model.spec.get("calibration.price_low") == load_scenario("dumping").get(
        "calibration.price_low"
    )
    path = tmp_path / "late.toml"
    path.write_text(
        'preset = "ndpr"\n[[events]]\nquarter = 3\nset = { "governments.JP.stockpile_initial_days" = 5.0 }\n'
    )
    with pytest.raises(ScenarioError, match=r"events\[1\]\.set: .*acts only when the run is built"):
        load_scenario(path)


def test_the_feed_is_data_its_text_rendered_from_its_numbers():
    run = play("asset-grab", 1)
    feed = run.model.feed
    assert feed and all(e.kind in KINDS for e in feed)
    failed = [e for e in feed if e.kind in ("bankruptcy", "closure")]
    assert failed and all(e.data["sale"] == "dominant" for e in failed)
    for e in failed:
        assert e.text == entry(e.quarter, e.kind, e.who, **e.data).text
        assert f"{e.data['capacity']:,.0f} t/yr" in e.text
    # Capital committed in a quarter is what that quarter's investment entries name.
    for e in (e for e in feed if e.kind == "investment"):
        started = [
            x.data["capital"] for x in feed if x.kind == "investment" and x.quarter == e.quarter
        ]
        assert run.series("capital_committed")[e.quarter - 1] == pytest.approx(sum(started))
    summary = json.loads(json.dumps(run.summary()))  # strict JSON as it stands
    assert [e["kind"] for e in summary["events"]] == [e.kind for e in feed]


def test_the_feed_reads_most_important_first_within_a_quarter():
    news = [
        entry(
            9,
            "investment",
            "US-1",
            capacity=1000,
            expected_price=90,
            incentive_price=80,
            ready_quarter=20,
            capital=50,
        ),
        entry(
            9,
            "bankruptcy",
            "TH-1",
            firm_kind="producer",
            capacity=600,
            sale="dominant",
            reviewer="TH",
        ),
        entry(8, "shock", "facilitator", text="export ban"),
    ]
    assert [e.kind for e in by_rank(news)] == ["bankruptcy", "investment", "shock"]


def test_the_floor_in_force_is_recorded_not_the_floor_configured():
    configured = {"governments.US.floor_price": 110.0, "governments.US.floor_budget": 5000.0}
    none = play("dumping", 1, {"alliance.response": "none", **configured}, quarters=8)
    standing = play("dumping", 1, {"alliance.response": "standing", **configured}, quarters=8)
    assert (none.series("floor_in_force") == 0).all()
    assert (standing.series("floor_in_force") == 110.0).all()


def test_firm_agents_are_views_the_agent_table_reads():
    run = play("dumping", 1)
    model = run.model
    views = [*model.agents_by_type[AlliedProducer], *model.agents_by_type[Recycler]]
    assert [a.name for a in views] == [*model.producers.ids, *model.recyclers.ids]
    last = run.agent_table().query(f"quarter == {run.quarters}").set_index("agent")
    for agent in views:
        assert last.loc[agent.name, "kind"] == agent.kind
        assert last.loc[agent.name, "capacity"] == agent.capacity
        assert bool(last.loc[agent.name, "alive"]) == agent.alive
    assert not all(a.alive for a in views)  # the dumping bankrupted some: the views show it
    panel = run.recorder.firm("US-1", "capacity")
    assert (
        len(panel) == run.quarters
        and panel[-1] == views[model.producers.ids.index("US-1")].capacity
    )


def _imports(path: Path) -> list[str]:
    """Modules a file imports when it runs (imports under `if TYPE_CHECKING:` do not count)."""
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


# package -> packages of the project it must never import at run time
FORBIDDEN = {
    "agents": ("market", "viz", "experiments"),
    "market": ("viz", "experiments"),
    "viz": ("experiments",),
    "experiments": ("viz",),
}
ALLOWED = {ROOT / "experiments" / "cli" / "ui.py"}  # the command that serves the game
# History as a game reads the validation's episode files with the validation's own loader, so
# the observed lines are the validation's numbers: that module, and only that package.
NARROW = {ROOT / "viz" / "history.py": ("experiments.history.episodes",)}


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package):
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path in ALLOWED:
            continue
        for module in _imports(path):
            if module in NARROW.get(path, ()):
                continue
            if module.split(".")[0] in FORBIDDEN[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_one_loop_plays_a_model_to_its_end():
    loops = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests", ".venv") or rel.parts[0].startswith("."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.While) and ".running" in ast.unparse(node.test):
                loops.append(f"{rel}:{node.lineno}")
    assert (
        loops == [loop for loop in loops if loop.startswith("market/play.py")] and len(loops) == 1
    ), loops


def test_same_seed_same_record():
    a, b = play("alliance-fracture", 4), play("alliance-fracture", 4)
    for column in ("capacity", "cash", "capital_committed"):
        assert np.array_equal(a.recorder.firms(column), b.recorder.firms(column))
    assert [e.as_dict() for e in a.model.feed] == [e.as_dict() for e in b.model.feed]


def test_a_reader_cannot_change_the_record():
    run = play("baseline", 1, quarters=4)
    table = run.timeseries()
    table.loc[0, "price_allied"] = -1.0
    assert run.timeseries().loc[0, "price_allied"] > 0
    with pytest.raises(ValueError, match="read-only"):
        run.series("price_allied")[0] = -1.0

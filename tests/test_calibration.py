"""Calibration: the preset stays inside the literature ranges written once in the calibration
file, holds exactly the committed fit, and the fit is reproducible."""

import copy
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from experiments.history.calibrate import (
    Fit,
    fit,
    fitted_path,
    load_calibration,
    out_of_range,
    record,
    sigma,
    write_preset,
)
from experiments.history.runner import Runner
from market import ScenarioError, load_scenario
from market.scenarios import PRESET_DIR
from market.schema import field_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spec():
    return load_calibration("ndpr")


def test_the_presets_calibrated_parameters_lie_inside_their_literature_ranges(spec):
    assert {p.key for p in spec.parameters} >= {"demand.elasticity", "demand.substitution_rate"}
    assert out_of_range(spec) == []
    for p in spec.parameters:
        assert p.source.strip(), f"{p.key} has no source for its range"
        field = field_for(p.key)
        assert field.low <= p.low < p.high <= field.high


def test_a_preset_that_drifts_outside_a_range_is_caught(spec, tmp_path):
    drifted = tmp_path / "ndpr.toml"
    drifted.write_text((PRESET_DIR / "ndpr.toml").read_text())
    write_preset(drifted, {"demand.elasticity": -0.05, "demand.substitution_rate": 0.2})
    found = out_of_range(spec, drifted)
    assert [line.split(" = ")[0] for line in found] == [
        "demand.elasticity",
        "demand.substitution_rate",
    ]
    assert "lies outside -0.3..-0.1" in found[0]


def test_the_preset_holds_the_committed_fit(spec):
    record = tomllib.loads(fitted_path("ndpr").read_text())
    preset = load_scenario("ndpr")
    assert set(record["fitted"]) == {p.key for p in spec.parameters}
    for key, value in record["fitted"].items():
        assert preset.get(key) == pytest.approx(value), key
    assert record["constraints_violated"] == []
    assert record["objective"] <= record["objective_at_preset_before"]
    assert all(t["in_band"] for t in record["targets"])
    assert record["seeds"] == spec.seeds


def test_the_fit_is_reproducible_and_never_leaves_the_ranges(spec):
    small = copy.deepcopy(spec)
    small.seeds = small.seeds[:2]
    first = fit(small, Runner(), samples=2, iterations=6, say=lambda _: None)
    second = fit(small, Runner(), samples=2, iterations=6, say=lambda _: None)
    assert first.fitted == second.fitted
    assert first.objective == second.objective
    for p in spec.parameters:
        assert p.low <= first.fitted[p.key] <= p.high
    assert first.evaluations >= 3


def test_write_preset_changes_only_the_fitted_values(tmp_path):
    path = tmp_path / "ndpr.toml"
    original = (PRESET_DIR / "ndpr.toml").read_text()
    path.write_text(original)
    write_preset(path, {"demand.elasticity": -0.2, "supplier.perceived_elasticity": 2.0})
    changed = [
        (a, b)
        for a, b in zip(original.splitlines(), path.read_text().splitlines(), strict=True)
        if a != b
    ]
    assert len(changed) == 2
    assert changed[0][1].startswith("elasticity = -0.2")
    assert load_scenario(path).get("supplier.perceived_elasticity") == 2.0
    with pytest.raises(ScenarioError, match=r"cannot find demand\.nothing"):
        write_preset(path, {"demand.nothing": 1.0})


def test_writing_the_committed_fit_again_changes_no_byte(spec, tmp_path):
    """The preset and the record come out byte for byte as committed when the same fitted
    values are written: tomlkit keeps every comment, space and untouched number."""
    committed = fitted_path("ndpr").read_text()
    saved = tomllib.loads(committed)
    preset = tmp_path / "ndpr.toml"
    preset.write_bytes((PRESET_DIR / "ndpr.toml").read_bytes())
    write_preset(preset, saved["fitted"])
    assert preset.read_bytes() == (PRESET_DIR / "ndpr.toml").read_bytes()

    again = Fit(
        spec=spec,
        start=saved["before"],
        fitted=saved["fitted"],
        objective_start=saved["objective_at_preset_before"],
        objective=saved["objective"],
        evaluations=saved["evaluations"],
        seconds=saved["seconds"],
        targets=saved["targets"],
        violated=saved["constraints_violated"],
        samples=spec.samples,
        iterations=spec.iterations,
    )
    assert record(again) == committed


def test_write_preset_round_trips_new_values_and_keeps_the_rest(tmp_path):
    path = tmp_path / "ndpr.toml"
    original = (PRESET_DIR / "ndpr.toml").read_text()
    path.write_text(original)
    values = {"demand.elasticity": -0.25, "demand.substitution_threshold": 2.5}
    write_preset(path, values)
    written = path.read_text()
    assert tomllib.loads(written)["demand"]["elasticity"] == -0.25
    for key, value in values.items():
        assert load_scenario(path).get(key) == value
    before, after = tomllib.loads(original), tomllib.loads(written)
    after["demand"]["elasticity"] = before["demand"]["elasticity"]
    after["demand"]["substitution_threshold"] = before["demand"]["substitution_threshold"]
    assert after == before  # nothing else changed
    comments = [line for line in original.splitlines() if "#" in line]
    assert comments == [line for line in written.splitlines() if "#" in line]
    write_preset(path, {k: load_scenario("ndpr").get(k) for k in values})  # and back
    assert path.read_text() == original


def test_a_target_scales_by_its_band():
    assert sigma((1.0, 2.0)) == pytest.approx(0.1733, abs=1e-4)
    assert sigma((8.5, 17.0)) == pytest.approx(sigma((0.15, 0.3)))


def test_calibrate_without_a_calibration_file_exits_2_with_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "calibrate", "--preset", "lithium"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no calibration file for preset 'lithium'" in lines[0]

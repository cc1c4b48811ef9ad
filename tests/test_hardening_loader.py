"""Bad input is refused cleanly: one line naming what is wrong and what is allowed, exit
status 2 on the command line, and nothing written or changed.

Each class of bad input is refused at its root: numbers too large to hold or not finite, keys
that were accepted and ignored, event changes found only when the event fired, and sweep
folders that could not be resumed or read."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import cli
from experiments.sweeps import driver
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.spec import SpecError, load_spec, parse_spec
from experiments.sweeps.store import read_attempts, read_runs
from market.scenarios import (
    BUILD_ONLY,
    load_scenario,
    parse_assignment,
    read_toml_bytes,
)
from market.schema import ScenarioError
from tests import faults
from viz.game import parse_upload

ROOT = Path(__file__).resolve().parents[1]
HUGE = "9" * 400  # holds in a Python int, not in a float
HUGER = "9" * 5000  # past Python's limit on digits in a number: tomllib raises ValueError

SPEC = """
scenario = "baseline"
quarters = 4
replications = 1
seed = 3
[parameters]
"supplier.budget" = [1000, 3000]
"alliance.coordination_delay" = [0, 2]
[outputs]
metrics = ["price_allied_mean"]
"""


def _with_parameter(line: str) -> str:
    return SPEC.replace("[parameters]\n", f"[parameters]\n{line}\n")


def one_line(err: BaseException | str) -> str:
    text = str(err)
    assert text and "\n" not in text and "\r" not in text
    return text


def refused(capsys, argv: list[str]) -> str:
    """Run the CLI in this process: exit 2, exactly one stderr line, no traceback."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n") and err.startswith("minerals: error: ")
    assert "Traceback" not in err
    return err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- 1. numbers too large to hold, and numbers that are not finite -----------------------------


@pytest.mark.parametrize("digits", [HUGE, HUGER, "-" + HUGE])
def test_set_a_huge_whole_number_is_one_line_and_writes_nothing(tmp_path, capsys, digits):
    out = tmp_path / "o"
    err = refused(capsys, ["run", "--set", f"supplier.budget={digits}", "--out", str(out)])
    assert "supplier.budget" in err and ("digit" in err or "1e+06" in err)
    assert not out.exists()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "+nan", "1e400"])
def test_set_a_number_that_is_not_finite_is_refused(tmp_path, capsys, value):
    out = tmp_path / "o"
    err = refused(capsys, ["run", "--set", f"supplier.budget={value}", "--out", str(out)])
    assert "supplier.budget: expected a number from 0 to 1e+06" in err
    assert not out.exists()


def test_parse_assignment_refuses_a_number_past_pythons_digit_limit():
    with pytest.raises(ScenarioError) as err:
        parse_assignment(f"quarters={HUGER}")
    assert one_line(err.value).startswith("--set quarters:") and "digits" in str(err.value)


@pytest.mark.parametrize("digits", [HUGE, HUGER])
@pytest.mark.parametrize("key", ["quarters", "supplier.budget", "governments.US.duty"])
def test_a_scenario_file_with_a_huge_number_is_refused(tmp_path, digits, key):
    section, _, leaf = key.rpartition(".")
    table = f"[{section}]\n" if section else ""
    path = tmp_path / "huge.toml"
    path.write_text(f'preset = "ndpr"\n{table}{leaf} = {digits}\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(path) in one_line(err.value) or key in str(err.value)


def test_huge_numbers_in_a_mapping_are_refused_without_overflow():
    for value in (10**400, -(10**400), float("inf"), float("nan")):
        with pytest.raises(ScenarioError) as err:
            load_scenario({"preset": "ndpr", "supplier": {"budget": value}})
        assert one_line(err.value).startswith("supplier.budget: expected a number")
    with pytest.raises(ScenarioError, match="digit number"):
        load_scenario("baseline", {"quarters": 10**400})


@pytest.mark.parametrize(
    "line",
    [f"seed = {HUGER}", f"seed = {HUGE}", f"quarters = {HUGE}", f'"supplier.budget" = {HUGE}'],
)
def test_a_sweep_spec_with_a_huge_number_is_refused(tmp_path, capsys, line):
    where = "[parameters]\n" if line.startswith('"') else ""
    text = SPEC.replace("[parameters]\n", "") if where else SPEC
    spec = tmp_path / "spec.toml"
    spec.write_text(f"{line}\n{text}" if not where else f"{text}\n{where}{line}\n")
    out = tmp_path / "o"
    refused(capsys, ["sweep", str(spec), "--out", str(out)])
    assert not out.exists()


def test_an_upload_with_a_huge_number_is_refused_by_the_one_loader():
    with pytest.raises(ScenarioError) as err:
        parse_upload("big.toml", f'preset = "ndpr"\n[supplier]\nbudget = {HUGE}\n'.encode())
    assert one_line(err.value).startswith("big.toml: supplier.budget: expected a number")
    # The 5,000-digit number is refused by the reader every file goes through, uploads too.
    for read in (read_toml_bytes, lambda data, name: parse_upload(name, data)):
        with pytest.raises(ScenarioError) as err:
            read(f"[supplier]\nbudget = {HUGER}\n".encode(), "big.toml")
        assert one_line(err.value).startswith("big.toml: a number has thousands of digits")


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ScenarioError, match="nested too deep"):
        load_scenario(path)
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(ScenarioError, match="nested too deep"):
        load_scenario(deep)


# --- 2. accepted but ignored ------------------------------------------------------------------


def test_set_preset_loads_that_preset_as_the_base():
    lithium = load_scenario("lithium")
    spec = load_scenario("baseline", {"preset": "lithium"})
    assert spec.params["preset"] == "lithium"
    assert spec.params["mineral"] == lithium.params["mineral"]
    assert spec.params["demand"] == lithium.params["demand"]
    assert spec.name == "baseline"  # the scenario keeps its own keys and name
    with pytest.raises(ScenarioError) as err:
        load_scenario("baseline", {"preset": "gold"})
    assert one_line(err.value) == (
        "preset: unknown preset 'gold'; choose one of gallium, graphite, lithium, ndpr"
    )


def test_set_name_names_the_run():
    assert load_scenario("baseline", {"name": "my-run"}).name == "my-run"
    with pytest.raises(ScenarioError, match=r"^name: expected a string"):
        load_scenario("baseline", {"name": 3})


def test_a_loaded_scenario_refuses_a_new_preset_rather_than_ignore_it():
    base = load_scenario("baseline")
    with pytest.raises(ScenarioError) as err:
        load_scenario(base, {"preset": "lithium"})
    assert one_line(err.value).startswith("preset: a loaded scenario ('baseline') keeps")


@pytest.mark.parametrize("key", ["preset", "name", "mineral", "calibration.price_low"])
def test_a_sweep_over_a_descriptive_key_is_refused(tmp_path, key):
    values = '["ndpr", "lithium"]' if key == "preset" else '["a", "b"]'
    if key.startswith("calibration"):
        values = "[1.0, 2.0]"
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, _with_parameter(f'"{key}" = {values}')))
    assert one_line(err.value).startswith(f"parameters.{key}:")


@pytest.mark.parametrize("key", BUILD_ONLY)
def test_an_event_may_not_change_a_build_time_key(key):
    path = key.replace("*", "US" if key.startswith("governments") else "US-1")
    value = 8 if key == "quarters" else (True if key.endswith("found") else 10.0)
    tree = {"preset": "ndpr", "events": [{"quarter": 3, "label": "cut", "set": {path: value}}]}
    with pytest.raises(ScenarioError) as err:
        load_scenario(tree)
    text = one_line(err.value)
    assert text.startswith(f"events[1].set: {path}: acts only when the run is built")
    assert ", ".join(BUILD_ONLY) in text and "quarter 3 ('cut')" in text


def test_demand_shares_must_sum_to_one():
    with pytest.raises(ScenarioError) as err:
        load_scenario("baseline", {"governments.US.demand_share": 0.9})
    assert one_line(err.value).startswith(
        "governments.*.demand_share: the shares must sum to 1 (within 0.001), got 1.6"
    )
    five = {c: {"demand_share": 1.0} for c in ("US", "AU", "JP", "MY", "TH")}
    with pytest.raises(ScenarioError, match=r"must sum to 1 .* got 5"):
        load_scenario({"preset": "ndpr", "governments": five})
    # Two overrides that together keep the sum are fine.
    moved = load_scenario(
        "baseline", {"governments.US.demand_share": 0.25, "governments.AU.demand_share": 0.10}
    )
    assert moved.get("governments.AU.demand_share") == 0.10


def test_a_sweep_over_one_demand_share_is_refused_as_it_is_read(tmp_path):
    with pytest.raises(ScenarioError, match="must sum to 1"):
        load_spec(_write(tmp_path, _with_parameter('"governments.US.demand_share" = [0.3, 0.5]')))


@pytest.mark.parametrize("entry", ["", " ", "a,b", "a/b", "../x", 'a"b', "a\nb", "x" * 40, "-a"])
@pytest.mark.parametrize("table", ["producers", "recyclers"])
def test_a_firm_id_that_would_break_a_file_is_refused(entry, table):
    firm = load_scenario("baseline").params[table]
    body = dict(next(iter(firm.values())))
    with pytest.raises(ScenarioError) as err:
        load_scenario({"preset": "ndpr", table: {entry: body}})
    assert "not an id; an id is 1 to 32 letters, digits" in one_line(err.value)


def test_an_id_used_by_a_producer_and_a_recycler_is_refused():
    base = load_scenario("baseline").params
    recycler = dict(next(iter(base["recyclers"].values())))
    with pytest.raises(ScenarioError) as err:
        load_scenario({"preset": "ndpr", "recyclers": {"US-1": recycler}})
    assert one_line(err.value).startswith("recyclers.US-1: the id names a producer too")


def test_a_scenario_file_with_a_bad_id_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "ids.toml"
    path.write_text('preset = "ndpr"\n[producers."a,b"]\ncapacity = 1\n')
    out = tmp_path / "o"
    err = refused(capsys, ["run", "--scenario", str(path), "--out", str(out)])
    assert "producers.'a,b': not an id" in err
    assert not out.exists()


# --- 3. validated too late ----------------------------------------------------------------------

CLASH = """
preset = "ndpr"
[[events]]
quarter = 5
label = "stockpile and cap"
set = { "governments.US.stockpile_buy_below" = 500.0, "demand.price_cap" = 400.0 }
"""


def test_two_changes_of_one_event_that_clash_are_refused_at_load_time(tmp_path):
    path = _write(tmp_path, CLASH, "clash.toml")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = one_line(err.value)
    assert text.startswith("events[1].set: demand.price_cap: must be above every")
    assert text.endswith("in the event at quarter 5 ('stockpile and cap')")


def test_events_are_checked_in_order_against_what_came_before():
    tree = {
        "preset": "ndpr",
        "events": [
            {"quarter": 9, "set": {"demand.price_cap": 400.0}},
            {"quarter": 4, "set": {"governments.US.stockpile_buy_below": 500.0}},
        ],
    }
    with pytest.raises(ScenarioError) as err:
        load_scenario(tree)  # Q4 raises the bar to 500, then Q9 caps the price under it
    assert one_line(err.value).startswith("events[1].set: demand.price_cap: must be above")
    assert "quarter 9" in str(err.value)


def test_an_override_that_clashes_with_a_later_event_is_refused(tmp_path):
    path = _write(
        tmp_path,
        'preset = "ndpr"\n[[events]]\nquarter = 3\nset = { "demand.price_cap" = 400.0 }\n',
        "later.toml",
    )
    with pytest.raises(ScenarioError, match="quarter 3"):
        load_scenario(path, {"governments.US.stockpile_buy_below": 500.0})


def test_a_clashing_event_from_the_command_line_runs_nothing(tmp_path, capsys):
    path = _write(tmp_path, CLASH, "clash.toml")
    out = tmp_path / "o"
    err = refused(capsys, ["run", "--scenario", str(path), "--out", str(out)])
    assert "quarter 5 ('stockpile and cap')" in err
    assert not out.exists()


# --- 4. sweeps ---------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """A small finished sweep: (spec file, --out folder); copy it before changing it."""
    root = tmp_path_factory.mktemp("finished")
    spec = _write(root, SPEC)
    run_sweep(load_spec(spec), root / "out", workers=1, progress=False)
    return spec, root / "out"


def _copy(finished: tuple[Path, Path], tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(finished[1], out)
    return out


def test_the_metadata_lands_before_anything_else(tmp_path, monkeypatch):
    """A sweep killed while its sweep.json is written leaves no runs/ (nor anything that makes
    the folder look foreign); run again, it starts, and --resume finishes it."""
    from experiments.sweeps import store

    spec = load_spec(_write(tmp_path, SPEC))
    out = tmp_path / "out"

    def killed(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_write_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, workers=1, progress=False)
    monkeypatch.undo()
    assert not (out / "runs").exists() and not (out / "sweep.json").exists()
    report = run_sweep(spec, out, workers=1, resume=True, progress=False)
    assert (report.total, report.ran, report.failed) == (4, 4, 0)
    assert json.loads((out / "sweep.json").read_text())["digest"] == spec.digest()


def test_a_folder_left_before_the_metadata_resumes(tmp_path):
    spec = load_spec(_write(tmp_path, SPEC))
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    (out / "timeseries").mkdir()
    (out / ".lock").write_bytes(b"")
    (out / ".sweep.json.1.tmp").write_bytes(b"{half")
    report = run_sweep(spec, out, workers=1, resume=True, progress=False)
    assert report.ran == 4 and len(read_runs(out)) == 4


def test_a_folder_with_other_files_is_still_refused(tmp_path):
    spec = load_spec(_write(tmp_path, SPEC))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SpecError, match="exists and is not a sweep folder"):
        run_sweep(spec, out, workers=1, resume=True, progress=False)
    assert snapshot(out) == {"notes.txt": b"mine"}


def test_resume_tries_failed_runs_again_and_keeps_each_error(tmp_path):
    always = functools.partial(
        faults.raise_at, point={"supplier.budget": 3000, "alliance.coordination_delay": 2}
    )
    spec = load_spec(_write(tmp_path, SPEC))
    out = tmp_path / "out"
    report = run_sweep(spec, out, workers=1, progress=False, player=always)
    assert (report.ran, report.failed) == (4, 1)
    for _ in range(2):  # attempts 2 and 3
        report = run_sweep(spec, out, workers=1, resume=True, progress=False, player=always)
        assert (report.before, report.ran, report.failed) == (3, 1, 1)
    report = run_sweep(spec, out, workers=1, resume=True, progress=False, player=always)
    assert (report.before, report.ran, report.failed) == (4, 0, 1)  # the limit: 3 attempts
    history = read_attempts(out)
    failed = history[history["status"] == "failed"]
    assert failed["attempt"].tolist() == [1, 2, 3] and failed["run_id"].nunique() == 1
    assert (failed["error"] == "RuntimeError: model blew up").all()
    runs = read_runs(out)
    assert len(runs) == 4 and runs["run_id"].is_unique
    # Given more retries, a run that now works replaces the failure as the run's result.
    report = run_sweep(spec, out, workers=1, resume=True, progress=False, retries=3)
    assert (report.ran, report.failed) == (1, 0)
    runs = read_runs(out)
    assert (runs["status"] == "ok").all() and runs["attempt"].max() == 4
    assert len(read_attempts(out)) == 7


def test_retries_from_the_command_line(tmp_path, capsys, finished):
    out = _copy(finished, tmp_path)
    assert cli.main(["sweep", str(finished[0]), "--out", str(out), "--resume", "--retries", "0",
                     "--no-progress"]) == 0  # fmt: skip
    assert "4 runs in" in capsys.readouterr().out
    refused(capsys, ["sweep", str(finished[0]), "--out", str(out), "--retries", "-1"])


def test_the_cost_is_printed_before_a_sweep_starts(tmp_path, capsys):
    spec = _write(tmp_path, SPEC)
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("4 runs x 4 quarters: about ") and "on disk" in first


def test_a_design_of_too_many_runs_needs_yes(tmp_path, capsys):
    text = SPEC.replace("[parameters]", '[design]\nmethod = "random"\nsamples = 200000\n'
                        "[parameters]").replace("[1000, 3000]", "{ low = 1000, high = 3000 }")  # fmt: skip
    text = text.replace("[0, 2]", "{ low = 0, high = 2 }")
    spec = _write(tmp_path, text)
    out = tmp_path / "o"
    err = refused(capsys, ["sweep", str(spec), "--out", str(out)])
    assert "200,000 runs x 4 quarters" in err and "add --yes to start it anyway" in err
    assert not out.exists()


def test_a_sweep_estimated_past_the_hour_needs_yes(tmp_path, monkeypatch):
    spec = load_spec(_write(tmp_path, SPEC))
    monkeypatch.setattr(driver, "MAX_SECONDS_UNASKED", 1e-6)
    out = tmp_path / "o"
    with pytest.raises(SpecError) as err:
        run_sweep(spec, out, workers=1, progress=False, yes=False)
    assert one_line(err.value).startswith("4 runs x 4 quarters: about ")
    assert one_line(err.value).endswith("add --yes to start it anyway")
    assert not out.exists()
    assert run_sweep(spec, out, workers=1, progress=False, yes=True).ran == 4


@pytest.mark.parametrize("damage", [b"{not json", b"", b"[]", b'{"digest": "x"}'])
def test_a_damaged_sweep_json_is_one_line_on_resume_and_analyze(tmp_path, capsys, finished,
                                                                 damage):  # fmt: skip
    out = _copy(finished, tmp_path)
    (out / "sweep.json").write_bytes(damage)
    before = snapshot(out)
    err = refused(capsys, ["sweep", str(finished[0]), "--out", str(out), "--resume"])
    assert f"{out / 'sweep.json'}: damaged" in err and "--resume" in err
    err = refused(capsys, ["analyze", str(out), "--no-plots"])
    assert f"{out / 'sweep.json'}: damaged" in err
    assert snapshot(out) == before


@pytest.mark.parametrize("folder", ["runs", "timeseries"])
def test_a_truncated_parquet_part_is_one_line_on_resume_and_analyze(tmp_path, capsys, finished,
                                                                    folder):  # fmt: skip
    out = _copy(finished, tmp_path)
    part = sorted((out / folder).glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:40])
    before = snapshot(out)
    if folder == "runs":
        err = refused(capsys, ["sweep", str(finished[0]), "--out", str(out), "--resume"])
        assert f"{part}: damaged Parquet part" in err and "delete it" in err
        err = refused(capsys, ["analyze", str(out), "--no-plots"])
        assert f"{part}: damaged Parquet part" in err
    else:
        from experiments.sweeps.store import read_timeseries

        with pytest.raises(SpecError) as err:
            read_timeseries(out)
        assert one_line(err.value).startswith(f"{part}: damaged Parquet part")
    assert snapshot(out) == before


# --- every message one line, through a real process --------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--set", f"supplier.budget={HUGER}"],
        ["run", "--set", "supplier.budget=nan"],
        ["run", "--set", "governments.US.demand_share=0.9"],
        ["run", "--set", "a\nb=3"],
    ],
)
def test_the_command_line_process_gives_one_line_and_no_traceback(tmp_path, argv):
    out = tmp_path / "o"
    done = subprocess.run(
        [sys.executable, "-m", "experiments.cli", *argv, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("minerals: error: ")
    assert not out.exists()


def test_a_spec_mapping_with_junk_is_refused_not_crashed():
    for tree in (
        {"seed": 10**400},
        {"design": {"method": ["grid"]}},
        {"outputs": {"metrics": [{"a": 1}]}},
        {"parameters": {"supplier.budget": {"low": float("nan"), "high": 3}}},
        {"scenario": {"x": 1}},
    ):
        with pytest.raises(SpecError if "scenario" not in tree else ScenarioError) as err:
            parse_spec(tree)
        one_line(err.value)


@pytest.mark.parametrize("name", ["../up", "a/b", "a\\b", ".hidden", "", "x" * 81, "a\tb"])
def test_set_a_name_that_cannot_name_a_folder_is_refused(tmp_path, capsys, name):
    err = refused(capsys, ["run", "--set", f'name="{name}"', "--out", str(tmp_path / "o")])
    assert "cannot name a folder; a name is 1 to 80 characters" in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "up").exists()


def test_resume_writes_a_deleted_sweep_json_again_from_the_spec(tmp_path, capsys, finished):
    out = _copy(finished, tmp_path)
    saved = (out / "sweep.json").read_bytes()
    (out / "sweep.json").unlink()
    argv = ["sweep", str(finished[0]), "--out", str(out), "--resume", "--no-progress"]
    other = _write(tmp_path, SPEC.replace("seed = 3", "seed = 4"), "other.toml")
    err = refused(capsys, ["sweep", str(other), "--out", str(out), "--resume"])
    assert "started from another spec" in err and not (out / "sweep.json").exists()
    assert cli.main(argv) == 0
    assert "(4 saved before, 0 run now" in capsys.readouterr().out
    assert json.loads((out / "sweep.json").read_bytes()) == json.loads(saved)

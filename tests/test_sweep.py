"""Sweeps: specs, deterministic runs on any executor, results that survive a killed driver."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import cli
from experiments.sweeps.driver import make_batches, run_sweep
from experiments.sweeps.spec import load_spec, run_seed
from experiments.sweeps.store import read_runs, read_timeseries
from market import INDICATORS, MineralMarket, summarise
from market.schema import ScenarioError
from tests import faults

ROOT = Path(__file__).resolve().parents[1]

GRID = """
scenario = "coordinated-response"
quarters = 10
replications = 2
seed = 7
[design]
method = "grid"
[parameters]
"alliance.coordination_delay" = [0, 3, 6]
"supplier.budget" = [1000, 3000]
"governments.US.floor_price" = 110
"supplier.campaign_review" = false  # the war goes on, so the response has something to answer
[outputs]
metrics = ["bankruptcies", "fiscal_cost", "price_allied_mean", "dumping_first_quarter"]
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def alone(run: pd.Series, spec_quarters: int, keys: list[str]) -> tuple[dict, pd.DataFrame]:
    """One run as a user would play it, with its seed and parameters, outside any sweep."""
    model = MineralMarket(
        "coordinated-response",
        rng=int(run["seed"]),
        quarters=spec_quarters,
        **{k: run[k].item() if hasattr(run[k], "item") else run[k] for k in keys},
    )
    while model.running:
        model.step()
    ts = model.timeseries()
    return summarise(ts), ts


# --- specs and designs ---------------------------------------------------------------------------


def test_runs_have_fixed_ids_and_seeds_from_the_spec(tmp_path):
    spec = load_spec(write(tmp_path, GRID))
    runs = spec.runs()
    assert len(runs) == 3 * 2 * 2
    assert [r.run_id for r in runs] == list(range(12))
    assert [r.seed for r in runs] == [run_seed(7, i) for i in range(12)]
    assert [r.seed for r in load_spec(write(tmp_path, GRID, "again.toml")).runs()] == [
        r.seed for r in runs
    ]
    assert len({r.seed for r in runs}) == 12
    other = load_spec(write(tmp_path, GRID.replace("seed = 7", "seed = 8"), "s8.toml"))
    assert not {r.seed for r in other.runs()} & {r.seed for r in runs}
    # replications of one point are neighbours; every run carries the fixed parameter too
    assert (
        runs[0].params
        == runs[1].params
        == {
            "alliance.coordination_delay": 0,
            "supplier.budget": 1000.0,
            "governments.US.floor_price": 110.0,
            "supplier.campaign_review": False,
        }
    )
    assert spec.factors == ("alliance.coordination_delay", "supplier.budget")
    assert spec.metrics == (
        "bankruptcies_final",
        "fiscal_cost_final",
        "price_allied_mean",
        "dumping_first_quarter",
    )


@pytest.mark.parametrize(
    ("method", "extra", "points"),
    [("random", "", 9), ("sobol", "", 8 * (2 * 2 + 2)), ("morris", "levels = 6", 5 * 3)],
)
def test_sampled_designs_are_seeded_and_stay_in_range(tmp_path, method, extra, points):
    samples = {"random": 9, "sobol": 8, "morris": 5}[method]
    text = f"""
scenario = "baseline"
quarters = 4
seed = 11
[design]
method = "{method}"
samples = {samples}
{extra}
[parameters]
"alliance.coordination_delay" = {{ low = 2, high = 9 }}
"supplier.budget" = {{ low = 500.0, high = 20000.0 }}
"""
    a = load_spec(write(tmp_path, text)).design()
    b = load_spec(write(tmp_path, text, "b.toml")).design()
    c = load_spec(write(tmp_path, text.replace("seed = 11", "seed = 12"), "c.toml")).design()
    assert len(a.points) == points
    assert a.points == b.points
    assert a.points != c.points
    delays = [p["alliance.coordination_delay"] for p in a.points]
    budgets = [p["supplier.budget"] for p in a.points]
    assert all(isinstance(d, int) and 2 <= d <= 9 for d in delays)
    assert all(isinstance(x, float) and 500 <= x <= 20000 for x in budgets)
    assert len(set(delays)) > 1 and len(set(budgets)) > 1


def test_batches_cover_every_run_once_and_shrink_towards_the_end(tmp_path):
    runs = load_spec(write(tmp_path, GRID.replace("replications = 2", "replications = 40"))).runs()
    batches = make_batches(runs, slots=2, quarters=10, fixed=None)
    flat = [r.run_id for b in batches for r in b]
    assert flat == [r.run_id for r in runs]
    sizes = [len(b) for b in batches]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 1 and sizes[-1] == 1
    assert [len(b) for b in make_batches(runs, 2, 10, fixed=50)] == [50, 50, 50, 50, 40]


# --- bad input: one line, status 2, before any run -------------------------------------------------

BAD = [
    (
        GRID.replace('"supplier.budget"', '"supplier.budgt"'),
        "supplier.budgt: unknown key (did you mean supplier.budget?)",
    ),
    (
        GRID.replace('"governments.US.floor_price"', '"governments.FR.floor_price"'),
        "governments.FR.floor_price: unknown key",
    ),
    (
        GRID.replace("[0, 3, 6]", "[0, 3, 60]"),
        "alliance.coordination_delay: expected a whole number from 0 to 40 (quarters), got 60",
    ),
    (
        GRID.replace('method = "grid"', 'method = "latin"'),
        "design.method: unknown method 'latin'; allowed: grid, random, sobol, morris",
    ),
    (
        GRID.replace('"fiscal_cost"', '"fiscal_costs"'),
        "outputs.metrics: unknown metric 'fiscal_costs' (did you mean fiscal_cost?)",
    ),
    (
        GRID.replace('method = "grid"', 'method = "sobol"\nsamples = 64'),
        "alliance.coordination_delay: sobol needs a range { low = ..., high = ... }, not a list",
    ),
    (
        GRID.replace('method = "grid"', 'method = "random"\nsamples = 8').replace(
            "[1000, 3000]", "{ low = 3000, high = 1000 }"
        ),
        "supplier.budget: low (3000) must be below high (1000)",
    ),
    (
        GRID.replace('method = "grid"', 'method = "random"\nsamples = 8').replace(
            "[1000, 3000]", "{ low = -5, high = 1000 }"
        ),
        "supplier.budget: expected a number from 0 to 1e+06 (USD m), got -5",
    ),
    (
        GRID.replace('method = "grid"', 'method = "sobol"\nsamples = 100').replace(
            "[0, 3, 6]", "{ low = 0, high = 6 }"
        ),
        "design.samples: sobol needs a power of 2",
    ),
    (GRID.replace("replications = 2", "replicates = 2"), "replicates: unknown key"),
    (GRID.replace("quarters = 10", "quarters = 0"), "quarters: expected a whole number from 1"),
    (GRID.replace('scenario = "coordinated-response"', 'scenario = "nope"'), "unknown scenario"),
    (
        GRID.replace("[outputs]", '"supplier.strategy" = "restrict"\n[outputs]'),
        "parameter supplier.strategy: scenario 'coordinated-response' sets it again at quarter 5",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_spec_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, text, message):
    out = tmp_path / "out"
    status = cli.main(["sweep", str(write(tmp_path, text)), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("minerals: error: ")
    assert message in err
    assert not out.exists()


def test_malformed_toml_names_the_file_and_line(tmp_path, capsys):
    spec = write(tmp_path, GRID.replace("seed = 7", "seed = = 7"))
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{spec}: malformed TOML" in err and "line 5" in err


def test_bad_flags_and_folders_exit_2(tmp_path, capsys, monkeypatch):
    spec = write(tmp_path, GRID)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--out", str(out), "--workers", "0"]) == 2
    assert "--workers: expected a whole number from 1, got 0" in capsys.readouterr().err
    assert not out.exists()

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "busy")]) == 2
    assert "exists and is not a sweep folder" in capsys.readouterr().err

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if dask were not installed
    assert cli.main(["sweep", str(spec), "--out", str(out), "--scheduler", "tcp://x:8786"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install minerals-game[cluster]" in err
    assert not out.exists()


def test_bad_spec_from_the_command_line_process(tmp_path):
    spec = write(tmp_path, GRID.replace('"supplier.budget"', '"supplier.budgt"'))
    done = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "sweep", str(spec), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "minerals: error: supplier.budgt: unknown key (did you mean supplier.budget?)\n"
    )
    assert not (tmp_path / "o").exists()


def test_a_swept_key_an_event_changes_is_refused_before_any_run(tmp_path, monkeypatch):
    """export-restriction sets supplier.quota_cut = 0.4 at Q8: each point would be reset to it
    there. Refused as the spec is read, with one line naming the parameter and the event."""
    text = """
scenario = "export-restriction"
quarters = 12
[parameters]
"supplier.quota_cut" = [0.1, 0.2, 0.3]
"""
    spec = write(tmp_path, text)
    done = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "sweep", str(spec), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        "minerals: error: parameter supplier.quota_cut: scenario 'export-restriction' sets it "
        "again at quarter 8 (dominant supplier imposes an export quota"
    )
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()

    def never(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr("experiments.sweeps.driver.run_sweep", never)
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_a_scenario_whose_event_changes_the_run_length_is_refused(tmp_path):
    """An event may not set quarters (the run's length is fixed when it starts), so a spec
    cannot meet a timeline that would cut its runs short."""
    (tmp_path / "short.toml").write_text(
        'name = "short"\npreset = "ndpr"\n[[events]]\nquarter = 6\nset = { quarters = 8 }\n'
    )
    text = 'scenario = "short.toml"\n[parameters]\n"supplier.budget" = [900, 1800]\n'
    with pytest.raises(ScenarioError, match=r"^events\[1\]\.set: quarters: acts only when"):
        load_spec(write(tmp_path, text))


# --- results ------------------------------------------------------------------------------------


def test_grid_sweep_gives_one_row_per_run_identical_to_each_run_alone(tmp_path):
    spec = load_spec(write(tmp_path, GRID))
    report = run_sweep(spec, tmp_path / "out", workers=2, batch=3, progress=False)
    assert (report.total, report.ran, report.failed) == (12, 12, 0)
    runs = read_runs(tmp_path / "out")
    assert len(runs) == 12 and runs["run_id"].tolist() == list(range(12))
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    assert list(runs.columns) == [
        "run_id",
        "point",
        "replication",
        "seed",
        "alliance.coordination_delay",
        "supplier.budget",
        "governments.US.floor_price",
        "supplier.campaign_review",
        *spec.metrics,
        "status",
        "error",
        "attempt",
    ]
    ts = read_timeseries(tmp_path / "out")
    assert list(ts.columns) == ["run_id", "quarter", *INDICATORS]
    assert len(ts) == 12 * 10 and not ts.duplicated(["run_id", "quarter"]).any()

    keys = [p.key for p in spec.parameters]
    for _, run in runs.iterrows():
        metrics, alone_ts = alone(run, 10, keys)
        for name in spec.metrics:
            expected = np.nan if metrics[name] is None else metrics[name]
            np.testing.assert_equal(run[name], expected)
        mine = ts[ts["run_id"] == run["run_id"]].drop(columns="run_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone_ts[["quarter", *INDICATORS]])
    # The grid really varies the outcome, so the comparison above is not trivially true.
    assert runs["fiscal_cost_final"].nunique() > 6


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    flaky = functools.partial(
        faults.raise_at, point={"alliance.coordination_delay": 3, "supplier.budget": 3000}
    )
    spec = load_spec(write(tmp_path, GRID))
    report = run_sweep(spec, tmp_path / "out", workers=2, batch=4, progress=False, player=flaky)
    assert (report.ran, report.failed) == (12, 2)
    runs = read_runs(tmp_path / "out")
    bad = runs[runs["status"] == "failed"]
    assert bad["run_id"].tolist() == [6, 7]
    assert (bad["error"] == "RuntimeError: model blew up").all()
    assert bad[list(spec.metrics)].isna().all().all()
    assert (runs.drop(bad.index)["status"] == "ok").all()
    ts = read_timeseries(tmp_path / "out")
    assert sorted(ts["run_id"].unique()) == [i for i in range(12) if i not in (6, 7)]

    # A resume with no retries keeps them as they are (tests/test_hardening_loader.py tries
    # them again).
    report = run_sweep(spec, tmp_path / "out", workers=2, resume=True, progress=False, retries=0)
    assert (report.before, report.ran, report.failed) == (12, 0, 2)


@pytest.mark.parametrize("dies", ["once", "always"])
def test_a_dead_worker_is_replaced_and_its_runs_rerun(tmp_path, dies):
    marker = tmp_path / "died"
    deadly = functools.partial(
        faults.die_at,
        point={"alliance.coordination_delay": 6, "supplier.budget": 1000},
        marker=str(marker),
        always=dies == "always",
    )
    spec = load_spec(write(tmp_path, GRID.replace("quarters = 10", "quarters = 4")))
    report = run_sweep(spec, tmp_path / "out", workers=2, batch=3, progress=False, player=deadly)
    runs = read_runs(tmp_path / "out")
    assert runs["run_id"].tolist() == list(range(12)) and marker.exists()
    failed = runs[runs["status"] == "failed"]
    if dies == "once":
        assert report.failed == 0 and failed.empty
    else:
        # runs 8 and 9 (point 4) kill their worker each time; nobody else is blamed
        assert failed["run_id"].tolist() == [8, 9]
        assert failed["error"].str.startswith("WorkerDied: the worker process died").all()


def _descendants(pid: int) -> list[int]:
    """Children, grandchildren, ...: the fork server and the workers it forked."""
    kids = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += [int(k) for k in (task / "children").read_text().split()]
    except FileNotFoundError:
        return []
    return kids + [d for k in kids for d in _descendants(k)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_killed_driver_resumes_with_no_run_lost_or_repeated(tmp_path):
    # 120 runs of 100 quarters: seconds of work left after the fourth part, so that the kill
    # lands part-way even when the machine is busy and this test is slow to look.
    text = GRID.replace("quarters = 10", "quarters = 100").replace(
        "replications = 2", "replications = 20"
    )
    spec_path = write(tmp_path, text)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "experiments.cli", "sweep", str(spec_path), "--out", str(out)]
    driver = subprocess.Popen(
        [*args, "--workers", "2", "--batch-size", "2", "--no-progress"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    workers: list[int] = []
    deadline = time.monotonic() + 120
    try:
        while len(list(out.glob("runs/part-*.parquet"))) < 4:
            assert driver.poll() is None, driver.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep never saved a part"
            workers = _descendants(driver.pid) or workers
            time.sleep(0.02)
        workers = _descendants(driver.pid) or workers
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        driver.stderr.close()
    assert driver.returncode == -signal.SIGKILL
    # The workers (and the fork server) die with their driver rather than wait for work forever.
    deadline = time.monotonic() + 30
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = [w for w in workers if _alive(w)]
    for pid in orphans:  # do not leave them behind if the check below fails
        os.kill(pid, signal.SIGKILL)
    assert workers and not orphans

    saved = {p.name: p.stat().st_mtime_ns for p in out.glob("runs/part-*.parquet")}
    before = read_runs(out)
    assert 0 < len(before) < 120
    # What a driver killed mid-write leaves: a temporary file, a timeseries part without runs.
    (out / "runs" / ".part-0000998-0000999.parquet.123.tmp").write_bytes(b"half a file")
    (out / "timeseries" / "part-0000998-0000999.parquet").write_bytes(b"orphan")

    done = subprocess.run(
        [*args, "--resume", "--workers", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"({len(before)} saved before, {120 - len(before)} run now" in done.stdout
    runs = read_runs(out)
    assert runs["run_id"].tolist() == list(range(120))  # all there, each once
    assert (runs["status"] == "ok").all()
    again = runs.set_index("run_id").loc[before["run_id"]].reset_index()
    pd.testing.assert_frame_equal(again, before)  # saved rows are kept exactly as they were
    for name, mtime in saved.items():  # parts saved before the kill were not rewritten
        assert (out / "runs" / name).stat().st_mtime_ns == mtime
    assert not list(out.rglob("*.tmp"))
    assert not (out / "timeseries" / "part-0000998-0000999.parquet").exists()
    ts = read_timeseries(out)
    assert len(ts) == 120 * 100 and not ts.duplicated(["run_id", "quarter"]).any()


def test_resume_refuses_another_spec_and_a_second_start(tmp_path, capsys):
    spec = write(tmp_path, GRID.replace("quarters = 10", "quarters = 3"))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    parts = sorted(p.name for p in out.rglob("*"))

    assert cli.main(["sweep", str(spec), "--out", str(out)]) == 2
    assert "already holds a sweep; add --resume" in capsys.readouterr().err

    changed = write(tmp_path, GRID.replace("quarters = 10", "quarters = 4"), "changed.toml")
    assert cli.main(["sweep", str(changed), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was started from a different spec" in err
    assert sorted(p.name for p in out.rglob("*")) == parts

    # The same spec, reformatted and commented, is the same sweep.
    same = write(tmp_path, "# comment\n" + spec.read_text().replace(" = ", "="), "same.toml")
    assert cli.main(["sweep", str(same), "--out", str(out), "--resume", "--no-progress"]) == 0
    assert "(12 saved before, 0 run now" in capsys.readouterr().out


def test_the_same_sweep_on_a_dask_cluster(tmp_path, monkeypatch, capsys):
    distributed = pytest.importorskip("distributed")
    spec = load_spec(write(tmp_path, GRID))
    run_sweep(spec, tmp_path / "pool", workers=2, progress=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        status = cli.main(["sweep", str(tmp_path / "spec.toml"), "--out", str(tmp_path / "dask")])
    assert status == 0
    assert f"on dask {cluster.scheduler_address}" in capsys.readouterr().out
    meta = (tmp_path / "dask" / "sweep.json").read_text()
    assert meta == (tmp_path / "pool" / "sweep.json").read_text()
    pool_runs, dask_runs = read_runs(tmp_path / "pool"), read_runs(tmp_path / "dask")
    assert len(dask_runs) == 12
    pd.testing.assert_frame_equal(dask_runs, pool_runs)
    pd.testing.assert_frame_equal(
        read_timeseries(tmp_path / "dask"), read_timeseries(tmp_path / "pool")
    )


@pytest.mark.parametrize(
    "path", sorted((ROOT / "experiments" / "specs").glob("*.toml")), ids=lambda p: p.name
)
def test_example_specs_are_valid(path):
    spec = load_spec(path)
    assert spec.n_runs() == len(spec.runs()) > 0

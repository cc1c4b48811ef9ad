"""`minerals analyze`: tables per design point, SALib indices that find the parameter that
matters, and the plots."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import cli
from experiments.sweeps.analysis import analyze
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.spec import load_spec
from experiments.sweeps.store import read_runs
from tests import faults

GRID = """
scenario = "coordinated-response"
quarters = 12
replications = 3
seed = 2
[design]
method = "grid"
[parameters]
"alliance.coordination_delay" = [0, 4, 8]
"supplier.budget" = [1000, 3000]
[outputs]
metrics = ["fiscal_cost", "bankruptcies", "dumping_first_quarter"]
"""

# In the baseline (no attack), Japan's opening stockpile is what sets the stockpile held;
# Thailand's floor upside share does nothing (Thailand has no floor) and the asset life
# barely matters in eight quarters. A sensitivity analysis must see that.
SENSITIVITY = """
scenario = "baseline"
quarters = 8
seed = 5
[design]
method = "{method}"
samples = {samples}
{extra}
[parameters]
"governments.JP.stockpile_initial_days" = {{ low = 0, high = 180 }}
"governments.TH.floor_upside_share" = {{ low = 0.0, high = 1.0 }}
"finance.asset_life" = {{ low = 5, high = 30 }}
"demand.noise" = 0.0
[outputs]
metrics = ["stockpile_mean", "price_allied_final"]
"""


def sweep(tmp_path: Path, text: str, **options) -> Path:
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(text)
    out = tmp_path / "out"
    run_sweep(load_spec(spec_path), out, workers=2, progress=False, **options)
    return out


def test_grid_tables_plots_and_summary(tmp_path, capsys):
    out = sweep(tmp_path, GRID)
    assert cli.main(["analyze", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "grid design of 6 points x 3 replications" in printed
    assert "runs: 18 of 18 saved, 18 ok, 0 failed" in printed
    assert "alliance.coordination_delay=4, supplier.budget=3000: " in printed

    points = pd.read_csv(out / "analysis" / "points.csv")
    assert list(points.columns) == [
        "point",
        "alliance.coordination_delay",
        "supplier.budget",
        "metric",
        "n",
        "mean",
        "std",
        "min",
        "max",
        "failed",
    ]
    assert len(points) == 6 * 3  # points x metrics
    runs = read_runs(out)
    for row in points[points["metric"] == "fiscal_cost_final"].itertuples():
        values = runs.loc[runs["point"] == row.point, "fiscal_cost_final"]
        assert row.n == 3 and row.failed == 0
        assert row.mean == pytest.approx(values.mean())
        assert row.std == pytest.approx(values.std())
        assert (row.min, row.max) == (values.min(), values.max())
    # a response eight quarters late never starts within the 12 quarters: no money moves;
    # one at once collects more in duty than its floors and loans cost
    cost = (
        points[points["metric"] == "fiscal_cost_final"]
        .groupby("alliance.coordination_delay")["mean"]
        .mean()
    )
    assert cost[8] == 0 and cost[0] < 0

    plots = sorted(p.name for p in (out / "analysis" / "plots").iterdir())
    for metric in ("fiscal_cost_final", "bankruptcies_final"):
        assert f"{metric}-vs-alliance.coordination_delay.png" in plots
        assert f"{metric}-vs-supplier.budget.png" in plots
        assert f"{metric}-heatmap.png" in plots
    for name in plots:
        assert (out / "analysis" / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "analysis" / "indices.csv").exists()  # no indices for a grid

    # Analysing again replaces the folder whole; one metric only is allowed.
    assert cli.main(["analyze", str(out), "--metric", "fiscal_cost", "--no-plots"]) == 0
    assert set(pd.read_csv(out / "analysis" / "points.csv")["metric"]) == {"fiscal_cost_final"}
    assert not (out / "analysis" / "plots").exists()


@pytest.mark.parametrize(
    ("method", "samples", "extra", "runs"),
    [("sobol", 32, "second_order = false", 32 * 5), ("morris", 12, "", 12 * 4)],
)
def test_sensitivity_ranks_the_parameter_that_drives_the_metric(
    tmp_path, method, samples, extra, runs
):
    out = sweep(tmp_path, SENSITIVITY.format(method=method, samples=samples, extra=extra))
    result = analyze(out)
    assert result.ok == runs
    table = pd.read_csv(out / "analysis" / "indices.csv")
    stock = table[table["metric"] == "stockpile_mean"].set_index("parameter")
    driver = "governments.JP.stockpile_initial_days"
    if method == "sobol":
        assert list(table.columns) == ["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
        assert stock["ST"].idxmax() == driver
        assert stock.loc[driver, "ST"] > 0.8 and stock.loc[driver, "S1"] > 0.7
        assert stock.loc["governments.TH.floor_upside_share", "ST"] == pytest.approx(0, abs=1e-9)
        assert (stock["ST_conf"] >= 0).all() and (stock["S1_conf"] >= 0).all()
    else:
        assert list(table.columns) == [
            "metric",
            "parameter",
            "mu",
            "mu_star",
            "mu_star_conf",
            "sigma",
        ]
        assert stock["mu_star"].idxmax() == driver
        assert stock.loc["governments.TH.floor_upside_share", "mu_star"] == pytest.approx(0)
    plots = out / "analysis" / "plots"
    assert (plots / f"stockpile_mean-{method}.png").exists()
    assert (plots / "stockpile_mean-heatmap.png").exists()
    assert f"{method} stockpile_mean: {driver}" in result.summary
    # The bootstrap is seeded: the same folder gives the same indices.
    again = analyze(out, out=tmp_path / "again", plots=False)
    pd.testing.assert_frame_equal(
        again.indices.reset_index(drop=True), result.indices.reset_index(drop=True)
    )
    assert np.isfinite(table.select_dtypes("number")).all().all()


def test_analyze_reports_failed_runs_and_metrics_it_cannot_index(tmp_path):
    flaky = functools.partial(faults.raise_above, key="finance.asset_life", limit=25)
    text = SENSITIVITY.format(method="sobol", samples=8, extra="second_order = false")
    text = text.replace('"price_allied_final"', '"dumping_first_quarter"')
    out = sweep(tmp_path, text, player=flaky)
    result = analyze(out, plots=False)
    assert result.failed > 0 and result.ok + result.failed == 40
    assert "design points have no value" in result.skipped["stockpile_mean"]
    assert "failed" in result.summary
    points = result.points
    assert (points.groupby("point")["failed"].first() > 0).any()


def test_analyze_bad_input_exits_2(tmp_path, capsys):
    assert cli.main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a sweep folder" in err
    out = sweep(tmp_path, GRID.replace("quarters = 12", "quarters = 3"))
    assert cli.main(["analyze", str(out), "--metric", "hhi_mean"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--metric hhi_mean: this sweep did not record it" in err


def test_analyze_refuses_runs_that_do_not_match_the_saved_design(tmp_path, capsys):
    import json

    out = sweep(tmp_path, GRID.replace("quarters = 12", "quarters = 3"))
    meta = json.loads((out / "sweep.json").read_text())
    meta["spec"]["parameters"][0]["values"] = [0, 4, 9]
    (out / "sweep.json").write_text(json.dumps(meta))
    assert cli.main(["analyze", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "differs from the parameters in runs/" in err

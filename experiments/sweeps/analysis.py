"""Analyse a sweep folder: tables per design point, sensitivity indices, plots, a short summary.

Everything is computed from DIR/sweep.json (the spec the sweep ran) and DIR/runs/. The tables
are tidy CSV files; the Sobol and Morris indices come from SALib, computed on each design
point's mean over its replications, with their bootstrap drawn from a generator seeded by the
spec's seed, so the same folder always gives the same numbers. The plots are drawn by
`experiments/sweeps/plots.py`, only when asked for.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.sweeps.designs import salib_problem
from experiments.sweeps.spec import ANALYSIS_STREAM, SpecError, SweepSpec, resolve_metric, stream
from experiments.sweeps.store import load_sweep, read_runs

CONF_LEVEL = 0.95
RESAMPLES = 200  # bootstrap resamples for the confidence intervals


@dataclass
class Analysis:
    """What `analyze` found and wrote; `summary` is the text printed by the CLI."""

    spec: SweepSpec
    out: Path
    runs: int
    ok: int
    failed: int
    points: pd.DataFrame
    indices: pd.DataFrame | None
    second_order: pd.DataFrame | None
    skipped: dict[str, str] = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)
    summary: str = ""


def analyze(
    folder: str | Path,
    out: str | Path | None = None,
    metrics: list[str] | None = None,
    plots: bool = True,
) -> Analysis:
    """Write points.csv, indices.csv (sobol, morris), second_order.csv (sobol) and PNG plots
    into `out` (default DIR/analysis), replacing what an earlier analysis left there."""
    folder = Path(folder)
    spec = load_sweep(folder)
    chosen = _choose_metrics(spec, metrics)
    runs = read_runs(folder)
    _check_design(spec, runs)
    ok = runs[runs["status"] == "ok"]
    points = point_table(spec, runs, chosen)
    result = Analysis(
        spec=spec,
        out=Path(out) if out is not None else folder / "analysis",
        runs=len(runs),
        ok=len(ok),
        failed=len(runs) - len(ok),
        points=points,
        indices=None,
        second_order=None,
    )
    if spec.method in ("sobol", "morris"):
        result.indices, result.second_order = sensitivity(spec, runs, chosen, result.skipped)
    _write(result, chosen, runs, plots)
    result.summary = summarise_text(result, chosen, folder)
    return result


def _choose_metrics(spec: SweepSpec, metrics: list[str] | None) -> list[str]:
    if not metrics:
        return list(spec.metrics)
    chosen = []
    for name in metrics:
        resolved = resolve_metric(name)
        if resolved not in spec.metrics:
            raise SpecError(
                f"--metric {name}: this sweep did not record it; recorded: "
                + ", ".join(spec.metrics)
            )
        chosen.append(resolved)
    return list(dict.fromkeys(chosen))


def _check_design(spec: SweepSpec, runs: pd.DataFrame) -> None:
    """The design is rebuilt from the saved spec; make sure it is the one the runs used (a
    different SALib could sample differently), since the indices depend on the point order."""
    keys = [p.key for p in spec.parameters]
    if not keys:
        return
    saved = runs.groupby("point")[keys].first()
    design = spec.design().points
    if saved.index.max() >= len(design):
        raise SpecError(f"runs/ holds design point {saved.index.max()}; the spec has {len(design)}")
    rebuilt = pd.DataFrame([design[i] for i in saved.index], index=saved.index)[keys]
    if not saved.astype(object).equals(rebuilt.astype(object)):
        raise SpecError(
            "the design rebuilt from sweep.json differs from the parameters in runs/ (was the "
            "sweep made with another SALib version?); indices would be wrong"
        )


# --- tables --------------------------------------------------------------------------------------


def point_table(spec: SweepSpec, runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per design point and metric: the varying parameters, then n (replications with
    a value), mean, std (sample standard deviation), min and max over replications, and how
    many of the point's runs failed."""
    factors = list(spec.factors)
    failed = (runs["status"] != "ok").groupby(runs["point"]).sum().rename("failed")
    keys = runs.groupby("point")[factors].first() if factors else None
    frames = []
    for metric in metrics:
        stats = runs.groupby("point")[metric].agg(["count", "mean", "std", "min", "max"])
        stats = stats.rename(columns={"count": "n"})
        stats.insert(0, "metric", metric)
        frames.append(stats.join(failed))
    table = pd.concat(frames)
    if keys is not None:
        table = keys.join(table)
    return table.reset_index().sort_values(["metric", "point"], kind="stable", ignore_index=True)


def sensitivity(
    spec: SweepSpec, runs: pd.DataFrame, metrics: list[str], skipped: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sobol S1 and ST (and S2) or Morris mu, mu*, sigma per metric, from SALib, on the mean
    of each design point over its replications. Metrics that cannot be analysed are listed in
    `skipped` with the reason."""
    from SALib.analyze import morris, sobol

    design = spec.design()
    factors = design.factors
    problem = salib_problem(factors)
    n_points = len(design.points)
    rows, pairs = [], []
    for k, metric in enumerate(metrics):
        y = runs.groupby("point")[metric].mean().reindex(range(n_points)).to_numpy(float)
        missing = int(np.isnan(y).sum())
        if missing:
            skipped[metric] = (
                f"{missing} of {n_points} design points have no value (failed or missing runs, "
                "or a metric that is empty such as a first quarter that never came)"
            )
            continue
        if np.ptp(y) == 0:
            skipped[metric] = f"constant ({y[0]:g}) over the whole design"
            continue
        seed = int(stream(spec.seed, ANALYSIS_STREAM).integers(2**31 - 1)) + k
        if spec.method == "sobol":
            res = sobol.analyze(
                problem,
                y,
                calc_second_order=spec.second_order,
                num_resamples=RESAMPLES,
                conf_level=CONF_LEVEL,
                seed=seed,
            )
            for i, name in enumerate(factors):
                rows.append(
                    {
                        "metric": metric,
                        "parameter": name,
                        "S1": res["S1"][i],
                        "S1_conf": res["S1_conf"][i],
                        "ST": res["ST"][i],
                        "ST_conf": res["ST_conf"][i],
                    }
                )
            if spec.second_order:
                for a, b in itertools.combinations(range(len(factors)), 2):
                    pairs.append(
                        {
                            "metric": metric,
                            "parameter_1": factors[a],
                            "parameter_2": factors[b],
                            "S2": res["S2"][a, b],
                            "S2_conf": res["S2_conf"][a, b],
                        }
                    )
        else:
            assert design.unit is not None
            res = morris.analyze(
                problem,
                design.unit,
                y,
                num_resamples=RESAMPLES,
                conf_level=CONF_LEVEL,
                num_levels=spec.levels,
                seed=seed,
            )
            for i, name in enumerate(factors):
                rows.append(
                    {
                        "metric": metric,
                        "parameter": name,
                        "mu": res["mu"][i],
                        "mu_star": res["mu_star"][i],
                        "mu_star_conf": res["mu_star_conf"][i],
                        "sigma": res["sigma"][i],
                    }
                )
    columns = (
        ["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
        if spec.method == "sobol"
        else ["metric", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"]
    )
    indices = pd.DataFrame(rows, columns=columns)
    second = (
        pd.DataFrame(pairs, columns=["metric", "parameter_1", "parameter_2", "S2", "S2_conf"])
        if spec.method == "sobol" and spec.second_order
        else None
    )
    return indices, second


# --- files ---------------------------------------------------------------------------------------


def _write(result: Analysis, metrics: list[str], runs: pd.DataFrame, plots: bool) -> None:
    """Write into a fresh folder beside `out` and swap it in whole."""
    out = result.out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result.points.to_csv(staging / "points.csv", index=False)
        if result.indices is not None:
            result.indices.to_csv(staging / "indices.csv", index=False)
        if result.second_order is not None:
            result.second_order.to_csv(staging / "second_order.csv", index=False)
        made = []
        if plots:
            from experiments.sweeps.plots import write_plots

            made = write_plots(result, metrics, runs, staging / "plots")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            os.replace(out, old)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        result.plots = [out / "plots" / p.name for p in made]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def value_label(value: Any) -> str:
    """A parameter's value as tables and plots label it."""
    numeric = isinstance(value, int | float | np.integer | np.floating)
    return f"{value:.4g}" if numeric and not isinstance(value, bool) else str(value)


# --- the printed summary -------------------------------------------------------------------------


def summarise_text(result: Analysis, metrics: list[str], folder: Path) -> str:
    spec = result.spec
    design = spec.design()
    factors = list(spec.factors)
    total = spec.n_runs()
    lines = [
        f"{folder}: {spec.method} design of {len(design.points)} points x {spec.replications} "
        f"replications over {', '.join(factors) or 'no varying parameter'} "
        f"({spec.scenario.name}, {spec.quarters} quarters)",
        f"  runs: {result.runs} of {total} saved, {result.ok} ok, {result.failed} failed",
    ]
    if result.runs < total:
        lines.append(f"  incomplete: finish it with `minerals sweep SPEC --out {folder} --resume`")
    table = result.points
    if spec.method == "grid" and len(design.points) <= 30:
        for metric in metrics:
            lines.append(f"  {metric}: mean ± sd over replications (min..max)")
            for row in table[table["metric"] == metric].itertuples(index=False):
                values = dict(zip(table.columns, row, strict=True))
                where = ", ".join(f"{f}={value_label(values[f])}" for f in factors) or "all runs"
                if values["n"] == 0:
                    lines.append(f"    {where}: no value")
                    continue
                sd = 0.0 if math.isnan(values["std"]) else values["std"]
                lines.append(
                    f"    {where}: {values['mean']:.4g} ± {sd:.2g} "
                    f"({values['min']:.4g}..{values['max']:.4g})"
                )
    else:
        for metric in metrics:
            part = table[table["metric"] == metric]
            lines.append(
                f"  {metric}: point means from {part['mean'].min():.4g} to {part['mean'].max():.4g}"
            )
    if result.indices is not None:
        key = "ST" if spec.method == "sobol" else "mu_star"
        for metric in metrics:
            rows = result.indices[result.indices["metric"] == metric]
            if rows.empty:
                continue
            ranked = rows.sort_values(key, ascending=False).head(5)
            if spec.method == "sobol":
                cells = [
                    f"{r.parameter} ST {r.ST:.2f}±{r.ST_conf:.2f} S1 {r.S1:.2f}±{r.S1_conf:.2f}"
                    for r in ranked.itertuples()
                ]
            else:
                cells = [
                    f"{r.parameter} mu* {r.mu_star:.3g}±{r.mu_star_conf:.2g} sigma {r.sigma:.3g}"
                    for r in ranked.itertuples()
                ]
            lines.append(f"  {spec.method} {metric}: " + "; ".join(cells))
    for metric, reason in result.skipped.items():
        lines.append(f"  no {spec.method} indices for {metric}: {reason}")
    written = ["points.csv"]
    if result.indices is not None:
        written.append("indices.csv")
    if result.second_order is not None:
        written.append("second_order.csv")
    lines.append(f"  wrote {result.out}: {', '.join(written)}, {len(result.plots)} plots in plots/")
    return "\n".join(lines)

"""Analyse a sweep folder: tables per design point, sensitivity indices, plots, a short summary.

Everything is computed from DIR/sweep.json (the spec the sweep ran) and DIR/runs/. The tables
are tidy CSV files; the Sobol and Morris indices come from SALib, computed on each design
point's mean over its replications, with their bootstrap drawn from a generator seeded by the
spec's seed, so the same folder always gives the same numbers.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.design import (
    ANALYSIS_STREAM,
    SpecError,
    SweepSpec,
    resolve_metric,
    salib_problem,
    stream,
)
from experiments.sweep import META_FILE, read_runs

STATS = ("n", "mean", "std", "min", "max")
CONF_LEVEL = 0.95
RESAMPLES = 200  # bootstrap resamples for the confidence intervals
MAX_LINES = 8  # a grid's second parameter gets one line per value up to this many
MAX_GROUPS = 25  # more distinct x values than this are binned for the bands
BINS = 12


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


def load_sweep(folder: str | Path) -> SweepSpec:
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not meta_path.exists():
        raise SpecError(
            f"{folder}: not a sweep folder (no {META_FILE}); run `minerals sweep` first"
        )
    meta = json.loads(meta_path.read_text())
    return SweepSpec.from_canonical(meta["spec"], source=str(meta.get("source", "")))


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
        made = _plots(result, metrics, runs, staging / "plots") if plots else []
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


# --- plots ---------------------------------------------------------------------------------------


def _plots(result: Analysis, metrics: list[str], runs: pd.DataFrame, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir()
    spec = result.spec
    factors = list(spec.factors)
    ok = runs[runs["status"] == "ok"]
    made = []
    for metric in metrics:
        if ok[metric].notna().sum() == 0:
            continue
        for factor in factors:
            made.append(_line_plot(spec, ok, metric, factor, folder))
        pair = _heat_pair(result, metric, factors)
        if pair is not None:
            made.append(_heat_map(ok, metric, pair, folder))
        if result.indices is not None and (result.indices["metric"] == metric).any():
            made.append(_index_bars(spec, result.indices, metric, folder))
    return made


def _figure(width: float = 7.0, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _groups(x: pd.Series) -> tuple[pd.Series, bool]:
    """Group x by value, or by quantile bin when it takes too many values."""
    if x.nunique() <= MAX_GROUPS:
        return x, False
    edges = np.unique(np.quantile(x, np.linspace(0, 1, BINS + 1)))
    bins = pd.cut(x, edges, include_lowest=True)
    centres = x.groupby(bins, observed=True).transform("mean")
    return centres, True


def _band(ax: Any, frame: pd.DataFrame, x: str, metric: str, label: str | None) -> None:
    keys, _ = _groups(frame[x])
    stats = frame[metric].groupby(keys).agg(["mean", "std"]).sort_index()
    sd = stats["std"].fillna(0.0)
    line = ax.plot(stats.index, stats["mean"], marker="o", ms=3, label=label)[0]
    ax.fill_between(
        stats.index, stats["mean"] - sd, stats["mean"] + sd, color=line.get_color(), alpha=0.18
    )


def _line_plot(spec: SweepSpec, ok: pd.DataFrame, metric: str, factor: str, folder: Path) -> Path:
    """The metric against one parameter: mean over runs at each value (or bin), with a band of
    plus or minus one standard deviation. In a grid with one other varying parameter of few
    values, one line per value of it; otherwise the other parameters are averaged over."""
    fig = _figure()
    ax = fig.add_subplot()
    ok, ticks = _numeric_axis(ok, factor)
    if ticks is not None:
        ax.set_xticks(range(len(ticks)), ticks)
    others = [f for f in spec.factors if f != factor]
    if spec.method == "grid" and len(others) == 1 and ok[others[0]].nunique() <= MAX_LINES:
        other = others[0]
        for value, part in ok.groupby(other, sort=True):
            _band(ax, part, factor, metric, f"{other} = {value:g}" if _num(value) else str(value))
        ax.legend(fontsize=8, title="bands: mean ± 1 sd", title_fontsize=8)
    else:
        if spec.method != "grid":
            ax.scatter(ok[factor], ok[metric], s=4, alpha=0.25, color="grey", label="runs")
        _band(ax, ok, factor, metric, "mean ± 1 sd")
        ax.legend(fontsize=8)
    ax.set_xlabel(factor)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {factor}", fontsize=10)
    ax.grid(alpha=0.3)
    path = folder / f"{metric}-vs-{factor}.png"
    fig.savefig(path, dpi=90)
    return path


def _numeric_axis(frame: pd.DataFrame, key: str) -> tuple[pd.DataFrame, list[str] | None]:
    """Choices and true/false keys are drawn at positions 0, 1, ... with their values as
    tick labels; numeric keys as they are."""
    column = frame[key]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return frame, None
    values = sorted(column.unique(), key=str)
    frame = frame.assign(**{key: column.map({v: i for i, v in enumerate(values)})})
    return frame, [str(v) for v in values]


def _heat_pair(result: Analysis, metric: str, factors: list[str]) -> tuple[str, str] | None:
    """Which two parameters a heat map shows: a grid's first two, else the two that matter
    most by ST (sobol) or mu* (morris), else the first two."""
    if len(factors) < 2:
        return None
    if result.indices is not None and (result.indices["metric"] == metric).any():
        key = "ST" if result.spec.method == "sobol" else "mu_star"
        ranked = result.indices[result.indices["metric"] == metric].sort_values(
            key, ascending=False
        )
        top = list(ranked["parameter"][:2])
        return top[0], top[1]
    return factors[0], factors[1]


def _heat_map(ok: pd.DataFrame, metric: str, pair: tuple[str, str], folder: Path) -> Path:
    """Mean of the metric over two parameters (binned when they take many values)."""
    a, b = pair
    ka, binned_a = _groups(ok[a])
    kb, binned_b = _groups(ok[b])
    table = ok[metric].groupby([kb, ka]).mean().unstack()
    fig = _figure(7.0, 5.0)
    ax = fig.add_subplot()
    image = ax.imshow(table.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label=f"mean {metric}")
    ax.set_xticks(range(len(table.columns)), [_label(v) for v in table.columns], rotation=45)
    ax.set_yticks(range(len(table.index)), [_label(v) for v in table.index])
    ax.set_xlabel(a + (" (bin means)" if binned_a else ""))
    ax.set_ylabel(b + (" (bin means)" if binned_b else ""))
    if table.shape[1] <= 12 and table.size <= 96:  # numbers only where they fit in the cells
        for (i, j), value in np.ndenumerate(table.to_numpy(float)):
            if not math.isnan(value):
                ax.text(j, i, _short(value), ha="center", va="center", fontsize=7, color="w")
    ax.set_title(f"mean {metric} over {a} and {b}", fontsize=10)
    path = folder / f"{metric}-heatmap.png"
    fig.savefig(path, dpi=90)
    return path


def _index_bars(spec: SweepSpec, indices: pd.DataFrame, metric: str, folder: Path) -> Path:
    rows = indices[indices["metric"] == metric]
    fig = _figure(7.0, 0.9 + 0.45 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    if spec.method == "sobol":
        rows = rows.sort_values("ST")
        ax.barh(y + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], label="ST (total)", capsize=2)
        ax.barh(y - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], label="S1 (first order)", capsize=2)
        ax.set_xlabel(f"Sobol index ({CONF_LEVEL:.0%} confidence interval)")
        name = "sobol"
    else:
        rows = rows.sort_values("mu_star")
        ax.barh(y + 0.2, rows["mu_star"], 0.4, xerr=rows["mu_star_conf"], label="mu*", capsize=2)
        ax.barh(y - 0.2, rows["sigma"], 0.4, label="sigma")
        ax.set_xlabel(f"{metric} per whole range of the parameter (Morris elementary effects)")
        name = "morris"
    ax.set_yticks(y, list(rows["parameter"]))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(f"{name.capitalize()} indices of {metric}", fontsize=10)
    path = folder / f"{metric}-{name}.png"
    fig.savefig(path, dpi=90)
    return path


def _num(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _short(value: float) -> str:
    return f"{value / 1000:.3g}k" if abs(value) >= 1000 else f"{value:.3g}"


def _label(value: Any) -> str:
    return f"{value:.4g}" if _num(value) else str(value)


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
                where = ", ".join(f"{f}={_label(values[f])}" for f in factors) or "all runs"
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

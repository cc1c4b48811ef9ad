"""Calibration: fit a preset's uncertain parameters to the calibration episodes.

What is fitted, inside which literature ranges, and to which observed figures is data: the
calibration file `market/scenarios/history/calibration/<preset>.toml`. The method:

1. a Latin-hypercube sample of the parameter box (scipy's `qmc.LatinHypercube`, seeded); the
   preset's current values are scored too, for the record, but do not seed the search;
2. Nelder-Mead (scipy, bounded to the box) from each of the best few samples, sharing one budget
   of evaluations; the best point found wins;
3. the result rounded to the decimals the calibration file asks for and evaluated once more.

The objective is the sum over the target figures of ((ln simulated - ln observed) / sigma)^2,
where simulated is the median over the fixed calibration seeds (so every evaluation sees the same
demand shocks and the search is deterministic) and sigma is a quarter of the figure's acceptance
band in logs (a tightly observed figure counts more). The ranges are never left. The fitted values,
their ranges and the fit quality go to a record file; `--write` also puts the values into the
preset and the committed record. Both files are written with tomlkit, so the preset keeps its
comments and layout and only the fitted numbers change. The command is `minerals calibrate`
(`experiments/cli/calibrate.py`).
"""

from __future__ import annotations

import math
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.history.episodes import HISTORY_DIR, Episode, episode_from_doc, load_episode
from experiments.history.runner import FigureResult, Runner, play_episode
from market.scenarios import load_scenario, presets
from market.schema import ScenarioError, field_for, flatten

CALIBRATION_DIR = HISTORY_DIR / "calibration"
RANGES_NOTE = "from the calibration file, with their sources there"  # the record's [ranges]
PENALTY = 100.0  # charged for a target a run cannot produce (never, n/a) and per broken constraint


def sigma(band: tuple[float, float]) -> float:
    """The scale of a target's log error: a quarter of its band's width in logs, so the band
    reads as two standard deviations either side and a well-measured figure counts more."""
    low, high = band
    return math.log(high / low) / 4.0


# --- the calibration file -------------------------------------------------------------------------


@dataclass(frozen=True)
class FittedParameter:
    """A fitted key, the range the literature allows for it, and where that range comes from."""

    key: str
    low: float
    high: float
    decimals: int
    source: str


@dataclass(frozen=True)
class FigureRef:
    """A figure of an episode, as a calibration file names it: "episode/figure"."""

    episode: str  # episode file stem
    figure: str  # figure id


@dataclass
class Calibration:
    """A preset's calibration file, checked: what is fitted, to what, and how to search."""

    path: Path
    preset: str
    parameters: list[FittedParameter]
    episodes: list[Path]
    targets: list[FigureRef]
    constraints: list[FigureRef]
    design: list[Episode]  # one-figure episodes on named scenarios: what they must keep showing
    design_seeds: list[int]
    seeds: list[int]
    samples: int
    iterations: int
    sample_seed: int
    starts: int


def calibration_path(preset: str) -> Path:
    return CALIBRATION_DIR / f"{preset}.toml"


def fitted_path(preset: str) -> Path:
    return CALIBRATION_DIR / f"{preset}-fitted.toml"


def load_calibration(preset: str) -> Calibration:
    """Read a preset's calibration file; problems are one-line ScenarioErrors."""
    path = calibration_path(preset)
    if preset not in presets():
        raise ScenarioError(
            f"--preset: unknown preset {preset!r}; choose one of {', '.join(presets())}"
        )
    if not path.is_file():
        raise ScenarioError(f"{path}: no calibration file for preset {preset!r}")
    where = str(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{where}: malformed TOML: {err}") from None
    try:
        return _calibration(doc, path, preset)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ScenarioError):
            raise
        raise ScenarioError(f"{where}: missing or malformed entry: {err}") from None


def _calibration(doc: Mapping[str, Any], path: Path, preset: str) -> Calibration:
    where = str(path)
    params = []
    tree = load_scenario(preset)
    for key, body in doc.get("parameters", {}).items():
        spec = field_for(key)
        try:
            tree.get(key)
        except (KeyError, TypeError):
            spec = None
        if spec is None or spec.kind != "float":
            raise ScenarioError(f"{where}: parameters.{key}: not a number key of preset {preset!r}")
        low, high = float(body["low"]), float(body["high"])
        if not (spec.low <= low < high <= spec.high):
            raise ScenarioError(
                f"{where}: parameters.{key}: range {low:g}..{high:g} must lie inside "
                f"{spec.allowed()}"
            )
        if not str(body.get("source", "")).strip():
            raise ScenarioError(f"{where}: parameters.{key}.source: say where the range comes from")
        params.append(
            FittedParameter(key, low, high, int(body.get("decimals", 3)), str(body["source"]))
        )
    if not params:
        raise ScenarioError(f"{where}: parameters: nothing to fit")
    episodes = [(path.parent / e).resolve() for e in doc["episodes"]]
    targets = [FigureRef(*str(item["figure"]).partition("/")[::2]) for item in doc["targets"]]
    constraints = [
        FigureRef(*str(item["figure"]).partition("/")[::2]) for item in doc.get("constraints", [])
    ]
    design = [_design(item, i, path) for i, item in enumerate(doc.get("design", []), start=1)]
    search = doc.get("search", {})
    first, count = int(search.get("first_seed", 101)), int(search.get("seeds", 8))
    return Calibration(
        path=path,
        preset=preset,
        parameters=params,
        episodes=episodes,
        targets=targets,
        constraints=constraints,
        design=design,
        design_seeds=[int(x) for x in search.get("design_seeds", [1])],
        seeds=list(range(first, first + count)),
        samples=int(search.get("samples", 24)),
        iterations=int(search.get("iterations", 60)),
        sample_seed=int(search.get("sample_seed", 2025)),
        starts=max(int(search.get("starts", 1)), 1),
    )


_DESIGN_KEYS = {"scenario", "claim"}


def _design(item: Mapping[str, Any], i: int, path: Path) -> Episode:
    """A design constraint: a figure (the keys of an episode figure) that a named scenario must
    keep showing, as the model's own tests say it does. `claim` says what in words."""
    where = f"{path}: design[{i}]"
    if not isinstance(item.get("scenario"), str) or not isinstance(item.get("claim"), str):
        raise ScenarioError(f"{where}: needs scenario (a named scenario) and claim (its words)")
    figure = {k: v for k, v in item.items() if k not in _DESIGN_KEYS}
    band = figure.get("band") or [0.0, 0.0]
    figure.setdefault("observed", band[0])
    figure["observed_text"] = item["claim"]
    doc = {
        "episode": {
            "title": f"{item['scenario']}: {item['claim']}",
            "role": "calibration",
            "scenario": item["scenario"],
        },
        "figures": [figure],
    }
    episode = episode_from_doc(doc, path, where)
    episode.name = f"design:{item['scenario']}/{figure.get('id')}"
    return episode


# --- the objective --------------------------------------------------------------------------------


class Objective:
    """The fit's score as a function of the fitted values: scaled squared log errors of the
    target figures plus penalties for broken constraints. Calling it plays every calibration
    episode and design constraint once."""

    def __init__(self, spec: Calibration, runner: Runner) -> None:
        self.spec = spec
        self.runner = runner
        self.episodes = {p.stem: load_episode(p) for p in spec.episodes}
        for t in [*spec.targets, *spec.constraints]:
            ep = self.episodes.get(t.episode)
            if ep is None or t.figure not in {f.id for f in ep.figures}:
                raise ScenarioError(f"{spec.path}: targets: no figure {t.episode}/{t.figure}")
            if ep.role != "calibration":
                raise ScenarioError(
                    f"{spec.path}: targets: {t.episode} is a {ep.role} episode; only calibration "
                    "episodes may be fitted to"
                )
            fig = next(f for f in ep.figures if f.id == t.figure)
            if t in spec.constraints:
                continue
            if fig.observed <= 0 or fig.band[0] <= 0 or fig.stat != "median":
                raise ScenarioError(
                    f"{spec.path}: targets: {t.episode}/{t.figure} needs a positive observed "
                    "value and band and the median statistic to be fitted in logs"
                )
        self._check_episodes_leave_parameters_free()
        self.evaluations = 0

    def _check_episodes_leave_parameters_free(self) -> None:
        """An episode that sets a fitted key itself would be silently overridden: refuse."""
        keys = {p.key for p in self.spec.parameters}
        for ep in [*self.episodes.values(), *self.spec.design]:
            for name, variant in ep.variants.items():
                tree = {k: v for k, v in variant.tree.items() if k != "events"}
                own = set(flatten(tree)) | set(variant.changes)
                for event in variant.tree.get("events", []):
                    own |= set(flatten(event.get("set", {})))
                clash = sorted(keys & own)
                if clash:
                    raise ScenarioError(
                        f"{ep.path}: {name}: sets {clash[0]}, which {self.spec.path.name} "
                        "fits; leave fitted keys to the preset"
                    )

    def values(self, x: Sequence[float]) -> dict[str, float]:
        return {p.key: float(v) for p, v in zip(self.spec.parameters, x, strict=True)}

    def figures(self, x: Sequence[float]) -> dict[tuple[str, str], FigureResult]:
        """Every figure of the calibration episodes over the calibration seeds."""
        overrides = self.values(x)
        out = {}
        for name, ep in self.episodes.items():
            result = play_episode(ep, self.spec.seeds, self.runner, overrides)
            for fr in result.figures:
                out[(name, fr.figure.id)] = fr
        for ep in self.spec.design:
            result = play_episode(ep, self.spec.design_seeds, self.runner, overrides)
            out[(ep.name, result.figures[0].figure.id)] = result.figures[0]
        self.runner.cache.clear()
        return out

    def errors(self, simulated: Mapping[tuple[str, str], FigureResult]) -> list[float]:
        """Each target's log error (median over seeds against observed) over its sigma."""
        errs = []
        for t in self.spec.targets:
            sim = simulated[(t.episode, t.figure)].simulated
            obs = next(f for f in self.episodes[t.episode].figures if f.id == t.figure).observed
            fig = next(f for f in self.episodes[t.episode].figures if f.id == t.figure)
            if not (math.isfinite(sim) and sim > 0):
                errs.append(math.sqrt(PENALTY))
            else:
                errs.append(math.log(sim / obs) / sigma(fig.band))
        return errs

    def _constraint_keys(self) -> list[tuple[str, str]]:
        keys = [(t.episode, t.figure) for t in self.spec.constraints]
        return keys + [(ep.name, ep.figures[0].id) for ep in self.spec.design]

    def shortfalls(self, simulated: Mapping[tuple[str, str], FigureResult]) -> dict[str, float]:
        """How far each constraint (an observed fact) or design claim falls outside its band in
        its worst seed, relative to the band's edge; only the broken ones. A fact must hold
        whatever the demand shocks."""
        out = {}
        for key in self._constraint_keys():
            result = simulated[key]
            low, high = result.figure.band
            worst = 0.0
            for v in result.values:
                v = v if math.isfinite(v) else (high if v > 0 else low) * 10.0
                edge = low if v < low else high if v > high else None
                if edge is not None:
                    worst = max(worst, abs(v - edge) / max(abs(edge), 1e-9))
            if worst > 0:
                out[key[0] if key[0].startswith("design:") else "/".join(key)] = worst
        return out

    def violations(self, simulated: Mapping[tuple[str, str], FigureResult]) -> list[str]:
        return list(self.shortfalls(simulated))

    def score(self, simulated: Mapping[tuple[str, str], FigureResult]) -> float:
        """Sum of squared scaled errors, plus for each broken constraint PENALTY times one plus
        its relative shortfall, so the search is led back inside rather than only fenced out."""
        errors = self.errors(simulated)
        penalty = sum(PENALTY * (1.0 + 10.0 * gap) for gap in self.shortfalls(simulated).values())
        return float(sum(e * e for e in errors) + penalty)

    def __call__(self, x: Sequence[float]) -> float:
        self.evaluations += 1
        return self.score(self.figures(x))


# --- the search -----------------------------------------------------------------------------------


@dataclass
class Fit:
    spec: Calibration
    start: dict[str, float]
    fitted: dict[str, float]
    objective_start: float
    objective: float
    evaluations: int
    seconds: float
    targets: list[dict[str, Any]]
    violated: list[str]
    samples: int
    iterations: int


def fit(
    spec: Calibration,
    runner: Runner,
    samples: int | None = None,
    iterations: int | None = None,
    say: Callable[[str], None] = print,
) -> Fit:
    """Latin hypercube, then bounded Nelder-Mead from the best point, then rounding."""
    from scipy.optimize import minimize
    from scipy.stats import qmc

    started = time.perf_counter()
    objective = Objective(spec, runner)
    low = np.array([p.low for p in spec.parameters])
    high = np.array([p.high for p in spec.parameters])
    preset = load_scenario(spec.preset)
    start = np.array([float(preset.get(p.key)) for p in spec.parameters])
    outside = [
        p.key for p, v in zip(spec.parameters, start, strict=True) if not p.low <= v <= p.high
    ]
    if outside:
        say(
            f"note: the preset's {', '.join(outside)} lies outside its range; the fit starts inside"
        )
    start_in = np.clip(start, low, high)

    def to_unit(x: np.ndarray) -> np.ndarray:
        return (x - low) / (high - low)

    def from_unit(u: np.ndarray) -> np.ndarray:
        return low + np.clip(u, 0.0, 1.0) * (high - low)

    def f_unit(u: np.ndarray) -> float:
        return objective(from_unit(np.asarray(u, float)))

    objective_start = f_unit(to_unit(start_in))
    say(f"  the preset's values: objective {objective_start:.4f}")
    # The search starts from the sample alone, so a rerun on the fitted preset finds the same.
    n = max(samples if samples is not None else spec.samples, 1)  # at least one point
    sampler = qmc.LatinHypercube(d=len(low), seed=spec.sample_seed)
    candidates = list(sampler.random(n))
    scores = []
    for i, u in enumerate(candidates):
        scores.append(f_unit(u))
        say(f"  sample {i + 1}/{len(candidates)}: objective {scores[-1]:.4f}")
    best = candidates[int(np.argmin(scores))]
    say(f"best sample {min(scores):.4f}; Nelder-Mead from the best {spec.starts}")

    # Nelder-Mead from each of the best few samples in turn, sharing the evaluation budget:
    # the constraints make the surface rugged, and one start can stall at a fence.
    budget = iterations if iterations is not None else spec.iterations
    starts = [candidates[i] for i in np.argsort(scores, kind="stable")[: spec.starts]]
    chosen, chosen_score = best, min(scores)
    for k, start_u in enumerate(starts):
        share = budget // len(starts) + (1 if k < budget % len(starts) else 0)
        if share <= 0:
            continue
        result = minimize(
            f_unit,
            start_u,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * len(low),
            options={
                "maxfev": share,
                "xatol": 1e-3,
                "fatol": 1e-4,
                "initial_simplex": _simplex(start_u),
            },
        )
        say(f"  Nelder-Mead from start {k + 1}/{len(starts)}: objective {result.fun:.4f}")
        if result.fun < chosen_score:
            chosen, chosen_score = np.clip(result.x, 0.0, 1.0), float(result.fun)
    fitted = np.array(
        [round(v, p.decimals) for p, v in zip(spec.parameters, from_unit(chosen), strict=True)]
    )
    fitted = np.clip(fitted, low, high)
    simulated = objective.figures(fitted)
    errors = objective.errors(simulated)
    final = objective.score(simulated)
    violated = objective.violations(simulated)
    targets = []
    for t, err in zip(spec.targets, errors, strict=True):
        result = simulated[(t.episode, t.figure)]
        fig = result.figure
        targets.append(
            {
                "figure": f"{t.episode}/{t.figure}",
                "label": fig.label,
                "observed": fig.observed,
                "simulated": round(result.simulated, 4),
                "log_error": round(err * sigma(fig.band), 4),
                "scaled_error": round(err, 4),
                "band": list(fig.band),
                "in_band": result.passed,
            }
        )
    return Fit(
        spec=spec,
        start=dict(zip([p.key for p in spec.parameters], map(float, start), strict=True)),
        fitted=objective.values(fitted),
        objective_start=round(objective_start, 6),
        objective=round(final, 6),
        evaluations=objective.evaluations,
        seconds=time.perf_counter() - started,
        targets=targets,
        violated=violated,
        samples=n,
        iterations=budget,
    )


def _simplex(u: np.ndarray, step: float = 0.15) -> np.ndarray:
    """A starting simplex around `u` inside the unit box: one vertex per axis, stepped inward."""
    vertices = [u.copy()]
    for i in range(len(u)):
        v = u.copy()
        v[i] = v[i] + step if v[i] + step <= 1.0 else v[i] - step
        vertices.append(v)
    return np.array(vertices)


# --- output ---------------------------------------------------------------------------------------


def record(fit_: Fit) -> str:
    """The fit record as TOML: values, ranges, fit quality and the method, for people and tests."""
    import tomlkit

    spec = fit_.spec
    doc = tomlkit.document()
    doc.add(
        tomlkit.comment(
            f"Written by `minerals calibrate --preset {spec.preset} --write`; the preset holds "
            "the same values."
        )
    )
    doc.add(
        tomlkit.comment(
            "Method, targets and literature ranges: "
            f"{spec.path.relative_to(HISTORY_DIR.parents[2])}."
        )
    )
    doc.add("preset", spec.preset)
    doc.add(
        "method",
        f"Latin hypercube ({fit_.samples} points, seed {spec.sample_seed}), then bounded "
        f"Nelder-Mead from the best {spec.starts} ({fit_.iterations} evaluations in all), "
        "minimising the sum of squared log errors of the target figures (medians over the seeds), "
        "each over a quarter of its band in logs, plus a penalty for each broken constraint",
    )
    doc.add("seeds", list(spec.seeds))
    doc.add("evaluations", fit_.evaluations)
    doc.add("objective_at_preset_before", _rounded(fit_.objective_start))
    doc.add("objective", _rounded(fit_.objective))
    doc.add("seconds", _commented(round(fit_.seconds), "wall-clock on the machine that ran it"))
    doc.add("constraints", [f"{c.episode}/{c.figure}" for c in spec.constraints])
    doc.add("design", [ep.name for ep in spec.design])
    doc.add("design_seeds", list(spec.design_seeds))
    doc.add("constraints_violated", list(fit_.violated))
    sections = (
        ("fitted", fit_.fitted, ""),
        ("ranges", {p.key: [p.low, p.high] for p in spec.parameters}, RANGES_NOTE),
        ("before", fit_.start, ""),
    )
    for name, values, note in sections:
        section = tomlkit.table()
        for key, value in values.items():
            section.add(key, _rounded(value))
        if note:
            _commented(section, note)
        doc.add(tomlkit.nl())
        doc.add(name, section)
    targets = tomlkit.aot()
    for target in fit_.targets:
        entry = tomlkit.table()
        for key, value in target.items():
            entry.add(key, _rounded(value))
        targets.append(entry)
    doc.add(tomlkit.nl())
    doc.add("targets", targets)
    return tomlkit.dumps(doc)


def _rounded(value: Any) -> Any:
    """Floats to six decimals, as the record keeps them; lists element by element."""
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def _commented(value: Any, note: str) -> Any:
    """A TOML item (or table header) with `  # note` after it."""
    import tomlkit
    from tomlkit.items import Item

    item = value if isinstance(value, Item) else tomlkit.item(value)
    item.comment(note)
    item.trivia.comment_ws = "  "
    return item


def write_preset(path: Path, values: Mapping[str, float]) -> None:
    """Put fitted values into a preset file with tomlkit, which keeps the file's comments and
    layout: only the fitted numbers change. The file must still load afterwards, with the
    values in it, or it is left as it was."""
    import tomlkit

    path = Path(path)
    before = path.read_text()
    doc = tomlkit.parse(before)
    for key, value in values.items():
        *tables, leaf = key.split(".")
        container: Any = doc
        for name in tables:
            container = container.get(name) if isinstance(container, Mapping) else None
        if not isinstance(container, Mapping) or leaf not in container:
            raise ScenarioError(f"{path}: cannot find {key} to write its fitted value")
        container[leaf] = _rounded(float(value))
    path.write_text(tomlkit.dumps(doc))
    try:
        written = load_scenario(path)
        if any(written.get(k) != _rounded(float(v)) for k, v in values.items()):
            raise ScenarioError(f"{path}: a fitted value did not land")
    except ScenarioError:
        path.write_text(before)
        raise ScenarioError(f"{path}: the fitted values would not load; left as it was") from None


def out_of_range(spec: Calibration, source: str | Path | None = None) -> list[str]:
    """Fitted keys whose value in the preset (or in `source`) lies outside its literature range;
    each entry says the key, the value and the range."""
    scenario = load_scenario(source if source is not None else spec.preset)
    out = []
    for p in spec.parameters:
        value = float(scenario.get(p.key))
        if not p.low <= value <= p.high:
            out.append(f"{p.key} = {value:g} lies outside {p.low:g}..{p.high:g} ({p.source})")
    return out


def format_fit(fit_: Fit) -> str:
    """The fit for a terminal: objective before and after, values against ranges, targets."""
    lines = [
        f"{fit_.spec.preset}: objective {fit_.objective_start:.4f} at the preset's values -> "
        f"{fit_.objective:.4f} fitted ({fit_.evaluations} evaluations, {fit_.seconds:.0f} s)",
        "  parameter                        range              before      fitted",
    ]
    for p in fit_.spec.parameters:
        lines.append(
            f"  {p.key:<32} {p.low:>7g} .. {p.high:<7g} {fit_.start[p.key]:>10.4g}  "
            f"{fit_.fitted[p.key]:>10.4g}"
        )
    lines.append("  target                                observed   simulated  log error")
    if fit_.violated:
        lines.append(f"  constraints broken: {', '.join(fit_.violated)}")
    for t in fit_.targets:
        lines.append(
            f"  {t['figure']:<36} {t['observed']:>9.3g}  {t['simulated']:>10.3g}  "
            f"{t['log_error']:>+9.3f}{'' if t['in_band'] else '  (outside its band)'}"
        )
    return "\n".join(lines)

"""Sweep specs: read and check a TOML spec, and turn it into runs with fixed ids and seeds.

A spec names a scenario, a design method (grid, random, sobol, morris; the designs are in
`experiments/sweeps/designs.py`) and the dotted keys to vary. Everything here is checked before
any run starts, with the scenario loader and schema that every other entry point uses, so a bad
key or value gets the same one-line message everywhere. Run ids and seeds are pure functions of
the spec: the same spec gives the same runs on any machine.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.sweeps.designs import DESIGNS, Design
from market.metrics import INDICATORS, METRICS
from market.scenarios import (
    Event,
    Scenario,
    check_tree_rules,
    load_scenario,
    named_scenarios,
    presets,
    read_toml_bytes,
    refuse_event_overrides,
)
from market.schema import TABLES, ScenarioError, field_for, show

METHODS = tuple(DESIGNS)  # grid, random, sobol, morris
TOP_KEYS = ("scenario", "quarters", "replications", "seed", "design", "parameters", "outputs")
DESIGN_KEYS = ("method", "samples", "levels", "second_order")
RANGE_KEYS = ("low", "high")
MAX_RUNS = 10_000_000  # a typo such as samples = 5120000 should not start a week of work

# SeedSequence spawn keys keep the streams apart: design sampling, run seeds, analysis bootstrap.
DESIGN_STREAM, RUN_STREAM, ANALYSIS_STREAM = 0, 1, 2


class SpecError(ScenarioError):
    """A sweep spec or sweep option that cannot be used; the message is one line for a user.

    A subclass of ScenarioError so that the CLI reports it like any bad scenario: one stderr line
    and exit status 2."""


@dataclass(frozen=True)
class Parameter:
    """One dotted key of the design.

    kind "fixed": one value for every run; "values": a list (grid axis, or drawn uniformly from
    it by `random`); "range": low..high, sampled by random, sobol or morris."""

    key: str
    kind: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def from_unit(self, u: float) -> Any:
        """Map a coordinate in [0, 1] onto the range. Whole-number keys take each integer in
        low..high with equal probability (floor of u * (high - low + 1))."""
        assert self.low is not None and self.high is not None
        if self.integer:
            lo, hi = int(self.low), int(self.high)
            return min(hi, lo + math.floor(u * (hi - lo + 1)))
        return float(self.low + u * (self.high - self.low))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "kind": self.kind, "integer": self.integer}
        if self.kind == "range":
            out |= {"low": self.low, "high": self.high}
        else:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: `market.play.play(spec.scenario, seed, params)`, as any run is
    played."""

    run_id: int
    point: int
    replication: int
    seed: int
    params: dict[str, Any]


@dataclass
class SweepSpec:
    """A checked sweep spec. `scenario` is the resolved scenario (its `quarters` already set);
    `text` is the spec file as written, kept beside the results."""

    scenario: Scenario
    scenario_ref: str
    quarters: int
    replications: int
    seed: int
    method: str
    samples: int | None
    levels: int
    second_order: bool
    parameters: tuple[Parameter, ...]
    metrics: tuple[str, ...]
    source: str = "<mapping>"
    text: str = ""
    _design: Design | None = field(default=None, repr=False, compare=False)

    # --- what the spec describes ---------------------------------------------------------

    @property
    def factors(self) -> tuple[str, ...]:
        """Keys that vary between design points, in spec order."""
        return tuple(
            p.key
            for p in self.parameters
            if p.kind == "range" or (p.kind == "values" and len(p.values) > 1)
        )

    def design(self) -> Design:
        """The design points in order (the point index is part of the run id)."""
        if self._design is None:
            self._design = DESIGNS[self.method](self, stream(self.seed, DESIGN_STREAM))
        return self._design

    def runs(self) -> list[RunSpec]:
        """Every run: run id = point * replications + replication, seed from (seed, run id)."""
        out = []
        for point, params in enumerate(self.design().points):
            for rep in range(self.replications):
                run_id = point * self.replications + rep
                out.append(RunSpec(run_id, point, rep, run_seed(self.seed, run_id), dict(params)))
        return out

    def n_runs(self) -> int:
        return len(self.design().points) * self.replications

    def count_runs(self) -> int:
        """The number of runs, counted without building the design."""
        return _count_points(self) * self.replications

    # --- identity and storage ------------------------------------------------------------

    def canonical(self) -> dict[str, Any]:
        """Everything that decides the results, as plain JSON data: two specs with the same
        canonical form give the same runs, whatever their formatting or comments."""
        return {
            "scenario": self.scenario_ref,
            "scenario_tree": {
                "name": self.scenario.name,
                "params": self.scenario.params,
                "events": [
                    {"quarter": e.quarter, "label": e.label, "set": e.changes}
                    for e in self.scenario.events
                ],
            },
            "quarters": self.quarters,
            "replications": self.replications,
            "seed": self.seed,
            "design": {
                "method": self.method,
                "samples": self.samples,
                "levels": self.levels,
                "second_order": self.second_order,
            },
            "parameters": [p.as_dict() for p in self.parameters],
            "metrics": list(self.metrics),
        }

    def digest(self) -> str:
        """sha256 of the canonical form; --resume refuses a folder whose digest differs. The
        scenario counts by its content, so a moved or renamed scenario file still matches."""
        content = self.canonical()
        del content["scenario"]  # where the file was is not what it says: the tree is kept
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any], source: str = "", text: str = "") -> SweepSpec:
        """Rebuild a spec saved by a sweep (DIR/sweep.json), without reading the scenario again."""
        tree = data["scenario_tree"]
        events = [Event(e["quarter"], e["label"], dict(e["set"])) for e in tree["events"]]
        scenario = load_scenario(Scenario(tree["name"], tree["params"], events, source))
        params = tuple(
            Parameter(
                p["key"],
                p["kind"],
                tuple(p.get("values", ())),
                p.get("low"),
                p.get("high"),
                p.get("integer", False),
            )
            for p in data["parameters"]
        )
        d = data["design"]
        return cls(
            scenario=scenario,
            scenario_ref=data["scenario"],
            quarters=data["quarters"],
            replications=data["replications"],
            seed=data["seed"],
            method=d["method"],
            samples=d["samples"],
            levels=d["levels"],
            second_order=d["second_order"],
            parameters=params,
            metrics=tuple(data["metrics"]),
            source=source,
            text=text,
        )


def run_seed(base_seed: int, run_id: int) -> int:
    """The seed of one run: a 32-bit integer from numpy's SeedSequence of (base seed, run id).

    Independent of the executor, the batch a run lands in and the order runs finish in."""
    seq = np.random.SeedSequence(base_seed, spawn_key=(RUN_STREAM, run_id))
    return int(seq.generate_state(1, np.uint32)[0])


def stream(base_seed: int, which: int) -> np.random.Generator:
    """A seeded generator for the design sampling or the analysis bootstrap."""
    return np.random.default_rng(np.random.SeedSequence(base_seed, spawn_key=(which,)))


def resolve_metric(name: Any) -> str:
    """A metric as written in a spec -> its column name. A bare indicator means its final value:
    "bankruptcies" -> "bankruptcies_final"."""
    if isinstance(name, str):
        if name in METRICS:
            return name
        if name in INDICATORS:
            return f"{name}_final"
    known = [*METRICS, *INDICATORS]
    hint = difflib.get_close_matches(str(name), known, n=1)
    suffix = f" (did you mean {hint[0]}?)" if hint else ""
    raise SpecError(
        f"outputs.metrics: unknown metric {show(name)}{suffix}; allowed: an indicator name (its "
        "final value) or <indicator>_final, _mean, _min, _max, dumping_first_quarter, "
        "dumping_quarters, response_active_first_quarter, response_active_quarters, "
        "shortage_total, recycled_supply_total, dominant_profit_total (docs/sweeps.md)"
    )


# --- reading a spec --------------------------------------------------------------------------


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a spec file. Raises SpecError naming the file, key or line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except OSError as err:
        raise SpecError(f"{path}: cannot read: {err.strerror}") from None
    try:  # the scenario loader's reader: huge numbers and deep nesting are refused there too
        tree = read_toml_bytes(data, str(path))
    except ScenarioError as err:
        raise SpecError(str(err)) from None
    return parse_spec(tree, source=str(path), base_dir=path.parent, text=data.decode())


def parse_spec(
    tree: Mapping[str, Any],
    source: str = "<mapping>",
    base_dir: Path | None = None,
    text: str = "",
) -> SweepSpec:
    """Check a spec given as a mapping (what `load_spec` reads from TOML)."""
    _no_unknown(tree, TOP_KEYS, "")
    scenario_ref = _scenario_ref(tree.get("scenario", "baseline"), base_dir)
    base = load_scenario(scenario_ref)
    quarters = tree.get("quarters", base.params["quarters"])
    base = load_scenario(scenario_ref, {"quarters": quarters})
    quarters = base.params["quarters"]
    if "quarters" in tree:
        _refuse_timeline_key(base, "quarters", "the spec's")
    replications = _whole(tree.get("replications", 1), "replications", 1, 100_000)
    seed = _whole(tree.get("seed", 1), "seed", 0, 2**63 - 1)

    design = _as_table(tree.get("design", {}), "design")
    _no_unknown(design, DESIGN_KEYS, "design.")
    method = design.get("method", "grid")
    if method not in METHODS:
        hint = difflib.get_close_matches(str(method), METHODS, n=1)
        suffix = f" (did you mean {hint[0]}?)" if hint else ""
        raise SpecError(
            f"design.method: unknown method {show(method)}{suffix}; allowed: {', '.join(METHODS)}"
        )
    samples = None
    if method != "grid":
        if "samples" not in design:
            raise SpecError(f"design.samples: missing; {method} needs the number of samples")
        samples = _whole(design["samples"], "design.samples", 1, MAX_RUNS)
        if method == "sobol" and samples & (samples - 1):
            lower = 1 << (samples.bit_length() - 1)
            raise SpecError(
                f"design.samples: sobol needs a power of 2 (its sequence is balanced only "
                f"then), got {samples}; try {lower} or {lower * 2}"
            )
    levels = 4
    if "levels" in design:
        if method != "morris":
            raise SpecError(f"design.levels: only morris uses levels, not {method}")
        levels = _whole(design["levels"], "design.levels", 2, 100)
        if levels % 2:
            raise SpecError(f"design.levels: morris needs an even number of levels, got {levels}")
    second_order = True
    if "second_order" in design:
        if method != "sobol":
            raise SpecError(f"design.second_order: only sobol uses second_order, not {method}")
        second_order = design["second_order"]
        if not isinstance(second_order, bool):
            raise SpecError(
                f"design.second_order: expected true or false, got {show(second_order)}"
            )

    raw_params = _as_table(tree.get("parameters", {}), "parameters")
    parameters = tuple(_parameter(base, key, value, method) for key, value in raw_params.items())
    if method in ("sobol", "morris") and not any(p.kind == "range" for p in parameters):
        raise SpecError(
            f"parameters: {method} needs at least one range, such as "
            '"supplier.budget" = { low = 500, high = 20000 }'
        )

    outputs = _as_table(tree.get("outputs", {}), "outputs")
    _no_unknown(outputs, ("metrics",), "outputs.")
    raw_metrics = outputs.get("metrics", list(METRICS))
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise SpecError("outputs.metrics: expected a non-empty list of metric names")
    metrics = tuple(dict.fromkeys(resolve_metric(m) for m in raw_metrics))

    spec = SweepSpec(
        scenario=base,
        scenario_ref=scenario_ref,
        quarters=quarters,
        replications=replications,
        seed=seed,
        method=method,
        samples=samples,
        levels=levels,
        second_order=second_order,
        parameters=parameters,
        metrics=metrics,
        source=source,
        text=text,
    )
    runs = _count_points(spec) * replications  # counted before the design is built
    if runs > MAX_RUNS:
        raise SpecError(f"the design has {runs:,} runs, more than the {MAX_RUNS:,} a sweep allows")
    return spec


def _count_points(spec: SweepSpec) -> int:
    ranges = sum(p.kind == "range" for p in spec.parameters)
    if spec.method == "grid":
        return math.prod(len(p.values) for p in spec.parameters if p.kind == "values")
    assert spec.samples is not None
    if spec.method == "sobol":
        return spec.samples * (2 * ranges + 2 if spec.second_order else ranges + 2)
    if spec.method == "morris":
        return spec.samples * (ranges + 1)
    return spec.samples


def _scenario_ref(value: Any, base_dir: Path | None) -> str:
    """A scenario name stays a name; a relative path is read from the spec file's folder."""
    if not isinstance(value, str) or not value:
        raise SpecError(
            f"scenario: expected a scenario name or a path to a TOML file, got {show(value)}"
        )
    if value in named_scenarios() or value in presets():
        return value
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return str(path.resolve()) if path.exists() else str(path)


def _parameter(base: Scenario, key: str, value: Any, method: str) -> Parameter:
    if key == "quarters":
        raise SpecError("parameters.quarters: set the run length at the top of the spec")
    if key == "preset":
        raise SpecError(
            "parameters.preset: a sweep runs one scenario, so it cannot vary the preset; give "
            'the preset as the scenario (scenario = "lithium") and run one sweep per preset'
        )
    if key in ("name", "description", "mineral") or key.startswith("calibration."):
        raise SpecError(
            f"parameters.{key}: describes the scenario and changes no run; sweep a key that "
            "acts on the market (minerals keys)"
        )
    _require_key(base, key)
    _refuse_timeline_key(base, key, "parameter")
    spec_field = field_for(key)
    assert spec_field is not None
    integer = spec_field.kind == "int"
    check = functools.partial(_check_value, base, key)
    if isinstance(value, dict):
        _no_unknown(value, RANGE_KEYS, f"parameters.{key}.")
        if method == "grid":
            raise SpecError(
                f"{key}: grid needs a list of values, such as [0, 2, 4]; a range "
                "{ low, high } is for random, sobol and morris"
            )
        if spec_field.kind not in ("int", "float"):
            raise SpecError(
                f"{key}: a range needs a numeric key, and this one takes {spec_field.allowed()}; "
                "give a list of values instead"
            )
        if set(value) != set(RANGE_KEYS):
            raise SpecError(f"{key}: a range needs both low and high, got {sorted(value)}")
        low, high = check(value["low"]), check(value["high"])
        if not low < high:
            raise SpecError(f"{key}: low ({low:g}) must be below high ({high:g})")
        return Parameter(key, "range", low=low, high=high, integer=integer)
    if isinstance(value, list):
        if method in ("sobol", "morris"):
            raise SpecError(
                f"{key}: {method} needs a range {{ low = ..., high = ... }}, not a list; give one "
                "value to hold it fixed"
            )
        if not value:
            raise SpecError(f"{key}: the list of values is empty")
        values = tuple(check(v) for v in value)
        if len(set(map(repr, values))) != len(values):
            raise SpecError(f"{key}: the list repeats a value; use replications for repeats")
        return Parameter(key, "values", values, integer=integer)
    return Parameter(key, "fixed", (check(value),), integer=integer)


def _require_key(base: Scenario, key: str) -> None:
    """Raise the loader's own "unknown key (did you mean ...)" error for a key the scenario
    does not have, such as a misspelt key or a government it has no table for."""
    parts = key.split(".")
    known = field_for(key) is not None and (
        parts[0] not in TABLES or parts[1] in (base.params.get(parts[0]) or {})
    )
    if not known:
        _check_value(base, key, 0)  # an unknown key fails before its value is looked at
        raise SpecError(f"{key}: unknown key")  # the loader always raises above


def _refuse_timeline_key(base: Scenario, key: str, how: str) -> None:
    """A key an event of the scenario changes is refused: the event would replace the sweep's
    value at its quarter in every run, so the points would differ only until then."""
    try:
        refuse_event_overrides(base, [key], how=how)
    except ScenarioError as err:
        raise SpecError(str(err)) from None


def _check_value(base: Scenario, key: str, value: Any) -> Any:
    """The value in its schema type, checked by the scenario loader itself, with its messages
    (the allowed range and unit, or the rule that ties it to another value)."""
    trial = Scenario(base.name, copy.deepcopy(base.params), [], base.source)
    trial.set(key, value)
    check_tree_rules(trial.params)  # rules over several keys: demand shares summing to 1
    return trial.get(key)


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(
            f"{name}: expected a whole number from {low:,} to {high:,}, got {show(value)}"
        )
    return value


def _as_table(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{name}: expected a table [{name}], got {show(value)}")
    return value


def _no_unknown(tree: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
    for key in tree:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            suffix = f" (did you mean {prefix}{hint[0]}?)" if hint else ""
            raise SpecError(
                f"{prefix}{key}: unknown key{suffix}; allowed: "
                + ", ".join(f"{prefix}{a}" for a in allowed)
            )

"""Designs: a checked sweep spec -> its design points, in a fixed order.

One function a method, as SALib keeps one method a module: `grid` (every combination of the
listed values), `random` (uniform draws from the ranges and lists), `sobol` (Saltelli's
sampling, scrambled) and `morris` (elementary-effect trajectories), the last two from SALib.
Sampling draws from the generator it is given, the spec's own seeded stream
(`SweepSpec.design`), so the same spec gives the same points.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from experiments.sweeps.spec import Parameter, SweepSpec


@dataclass(frozen=True)
class Design:
    """The design points in order. `unit` holds the range parameters' coordinates in [0, 1]
    (one column per entry of `factors`) for the methods whose analysis needs them."""

    points: list[dict[str, Any]]
    factors: tuple[str, ...] = ()
    unit: np.ndarray | None = None


def salib_problem(factors: tuple[str, ...]) -> dict[str, Any]:
    """SALib's problem over the unit cube: designs are sampled in [0, 1] and mapped onto each
    range here, so Morris effects are per whole range and integer keys stay whole numbers."""
    return {"num_vars": len(factors), "names": list(factors), "bounds": [[0.0, 1.0]] * len(factors)}


def grid(spec: SweepSpec, rng: np.random.Generator) -> Design:
    """Every combination of the listed values, the first key varying slowest."""
    axes = [p for p in spec.parameters if p.kind == "values"]
    points = [
        _fixed(spec) | dict(zip((p.key for p in axes), combo, strict=True))
        for combo in itertools.product(*(p.values for p in axes))
    ]
    return Design(_ordered(spec, points))


def random(spec: SweepSpec, rng: np.random.Generator) -> Design:
    """`samples` points: each range drawn uniformly, each list drawn from uniformly."""
    ranges = _ranges(spec)
    assert spec.samples is not None
    unit = rng.random((spec.samples, len(ranges)))
    choices = {
        p.key: rng.integers(len(p.values), size=spec.samples)
        for p in spec.parameters
        if p.kind == "values"
    }
    points = []
    for i in range(spec.samples):
        point = _fixed(spec)
        point |= {p.key: p.from_unit(float(u)) for p, u in zip(ranges, unit[i], strict=True)}
        point |= {
            p.key: p.values[int(choices[p.key][i])] for p in spec.parameters if p.kind == "values"
        }
        points.append(point)
    return Design(_ordered(spec, points), _factors(ranges), unit)


def sobol(spec: SweepSpec, rng: np.random.Generator) -> Design:
    """Saltelli's sampling for Sobol indices (scrambled Sobol' sequence), from SALib:
    samples x (2 k + 2) points with second order, samples x (k + 2) without."""
    from SALib.sample import sobol as saltelli

    ranges = _ranges(spec)
    unit = saltelli.sample(
        salib_problem(_factors(ranges)),
        spec.samples,
        calc_second_order=spec.second_order,
        scramble=True,
        seed=rng,
    )
    return _sampled(spec, ranges, unit)


def morris(spec: SweepSpec, rng: np.random.Generator) -> Design:
    """Morris trajectories on a grid of `levels` levels, from SALib: samples x (k + 1) points."""
    from SALib.sample import morris as trajectories

    ranges = _ranges(spec)
    unit = trajectories.sample(
        salib_problem(_factors(ranges)),
        spec.samples,
        num_levels=spec.levels,
        seed=rng,
    )
    return _sampled(spec, ranges, unit)


# method -> design; each draws from `rng`, the spec's design stream (grid draws nothing).
DESIGNS: dict[str, Callable[[SweepSpec, np.random.Generator], Design]] = {
    "grid": grid,
    "random": random,
    "sobol": sobol,
    "morris": morris,
}


def _fixed(spec: SweepSpec) -> dict[str, Any]:
    return {p.key: p.values[0] for p in spec.parameters if p.kind == "fixed"}


def _ranges(spec: SweepSpec) -> list[Parameter]:
    return [p for p in spec.parameters if p.kind == "range"]


def _factors(ranges: list[Parameter]) -> tuple[str, ...]:
    return tuple(p.key for p in ranges)


def _sampled(spec: SweepSpec, ranges: list[Parameter], unit: Any) -> Design:
    points = [
        _fixed(spec) | {p.key: p.from_unit(float(u)) for p, u in zip(ranges, row, strict=True)}
        for row in unit
    ]
    return Design(_ordered(spec, points), _factors(ranges), np.asarray(unit))


def _ordered(spec: SweepSpec, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameters in spec order in every point, so tables list them as the spec does."""
    keys = [p.key for p in spec.parameters]
    return [{k: point[k] for k in keys} for point in points]

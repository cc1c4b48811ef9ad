"""What the runs say: each lever's effect on six outcomes, and why a lever had none.

An effect is the mean over seeds of (the run with the lever at one end) minus (the run of the
scenario as it is, same seed), read from the run metrics (`market.metrics.summarise`). A lever
whose runs differ from the scenario as it is by nothing measurable is marked with the reason
`market.inert.inert` gives, or "no measurable effect" where no rule there explains it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from experiments.levers.design import ENDS, Design, keys_of
from experiments.levers.runner import Metrics
from market.inert import inert, set_again
from market.levers import LeverRange

# The outcomes, by run metric (`market.metrics.METRICS`): (what it is, its unit).
OUTCOMES: dict[str, tuple[str, str]] = {
    "price_allied_mean": ("allied price (mean)", "USD/kg"),
    "shortage_total": ("shortage (total)", "t"),
    "bankruptcies_final": ("bankruptcies (final)", "firms"),
    "allied_capacity_final": ("allied capacity (final)", "t/yr"),
    "fiscal_cost_final": ("fiscal cost (final, cumulative)", "USD m"),
    "dominant_profit_total": ("supplier's profit (total)", "USD m"),
}
RELATIVE_TOLERANCE = 1e-6  # a difference smaller than this share of the value is rounding
NO_MEASURABLE_EFFECT = "no measurable effect"


@dataclass
class EndEffect:
    """One end of a lever: its value and, if it was played, the mean effect on each outcome."""

    end: str
    value: Any
    own: bool  # the scenario's own value: not played, no effect by construction
    effect: dict[str, float] = field(default_factory=dict)  # outcome -> mean difference
    measurable: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class LeverEffect:
    lever: LeverRange
    keys: list[str]  # the scenario's keys it sets (one a government for governments.*)
    as_is: list[Any]  # the scenario's own values of those keys
    ends: dict[str, EndEffect]
    reason: str | None  # why it cannot act (market.inert), when the tool found no effect
    notes: list[str]

    @property
    def failed(self) -> bool:
        return any(e.errors for e in self.ends.values())

    @property
    def no_effect(self) -> bool:
        return not self.failed and not any(e.measurable for e in self.ends.values())

    def size(self, outcome: str) -> float:
        """The larger of its two effects on `outcome`, in absolute value (0 when none)."""
        sizes = [abs(e.effect.get(outcome, 0.0)) for e in self.ends.values()]
        return max([s for s in sizes if math.isfinite(s)], default=0.0)


@dataclass
class Analysis:
    scenario: str
    description: str
    seeds: list[int]
    as_is: dict[str, float]  # outcome -> mean over seeds
    levers: list[LeverEffect]
    warnings: list[str]  # a rule of market/inert.py the runs contradict


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _differs(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) != math.isnan(b)
    return abs(a - b) > RELATIVE_TOLERANCE * max(1.0, abs(b))


def analyse(
    design: Design,
    results: Mapping[tuple[int, int], Metrics],
    errors: Mapping[tuple[int, int], str],
) -> Analysis:
    """Each lever's effects, notes and, where it had none, the reason."""
    spec, seeds = design.spec, design.seeds
    base = {s: results[(0, s)] for s in seeds if (0, s) in results}
    if not base:
        first = next(iter(errors.values()), "no run finished")
        raise RuntimeError(f"{spec.name}: the scenario as it is failed to run: {first}")
    seen = [base[s] for s in seeds if s in base]
    warnings = []
    if len(base) < len(seeds):
        first = next(errors[(0, s)] for s in seeds if (0, s) in errors)
        warnings.append(
            f"{spec.name}: {len(seeds) - len(base)} of {len(seeds)} runs of the scenario as it "
            f"is failed ({first}); effects are over the other seeds"
        )
    index = {(st.lever.key, st.end): i for i, st in enumerate(design.settings) if st.lever}
    effects = []
    for lever in design.levers:
        keys = keys_of(spec, lever)
        ends = {}
        for end in ENDS:
            value = lever.low if end == "low" else lever.high
            i = index.get((lever.key, end))
            if i is None:
                ends[end] = EndEffect(end, value, own=True, effect=dict.fromkeys(OUTCOMES, 0.0))
                continue
            ends[end] = _end_effect(end, value, i, base, results, errors)
        effect = LeverEffect(lever, keys, [spec.get(k) for k in keys], ends, None, [])
        reason = inert(spec, lever.key, seen)
        if effect.no_effect:
            effect.reason = reason
            effect.notes.append(f"no effect: {reason}" if reason else NO_MEASURABLE_EFFECT)
        elif reason and not effect.failed:
            warnings.append(f"{spec.name}: {lever.key} changed the runs although {reason}")
            effect.notes.append(f"the runs differ although {reason} (market/inert.py)")
        for end in ENDS:
            if ends[end].errors:
                failed = ends[end].errors
                effect.notes.append(
                    f"{end} end: {len(failed)} of {len(seeds)} runs failed: {failed[0]}"
                )
            elif ends[end].own and not effect.no_effect:
                effect.notes.append(f"the {end} end is the scenario's own value")
        again = set_again(spec, lever.key)
        if again:
            effect.notes.append(again)
        effects.append(effect)
    means = {o: _mean([_number(m[o]) for m in seen]) for o in OUTCOMES}
    description = str(spec.params.get("description", ""))
    return Analysis(spec.name, description, list(seeds), means, effects, warnings)


def _end_effect(
    end: str,
    value: Any,
    i: int,
    base: Mapping[int, Metrics],
    results: Mapping[tuple[int, int], Metrics],
    errors: Mapping[tuple[int, int], str],
) -> EndEffect:
    """Mean differences from the scenario as it is over the seeds both ran with."""
    out = EndEffect(end, value, own=False)
    out.errors = [errors[(i, s)] for s in sorted({s for (j, s) in errors if j == i})]
    paired = [(results[(i, s)], base[s]) for s in base if (i, s) in results]
    for outcome in OUTCOMES:
        diffs = []
        for run, ref in paired:
            a, b = _number(run[outcome]), _number(ref[outcome])
            out.measurable |= _differs(a, b)
            diffs.append(a - b)
        out.effect[outcome] = _mean(diffs)
    return out


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


PERCENT_UNITS = ("share", "probability")


def shown(lever: LeverRange, value: Any) -> str:
    """A lever's value as a reader takes it: '200 USD/kg', '90 %', 'on', 'dump'."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return value
    unit = lever.unit
    if unit in PERCENT_UNITS:
        return f"{value * 100:,.4g} %"
    return f"{value:,.6g} {unit}".strip()


def shown_as_is(effect: LeverEffect) -> str:
    """The scenario's own value of a lever: one value, or the governments that differ from
    the most common value and then 'others'."""
    values = [shown(effect.lever, v) for v in effect.as_is]
    common = max(values, key=values.count)
    if values.count(common) == len(values):
        return common
    odd = [
        f"{k.split('.')[1]} {v}" for k, v in zip(effect.keys, values, strict=True) if v != common
    ]
    return ", ".join([*odd, f"others {common}"])


def number(x: float) -> str:
    """A value for a reader: '58.6', '8,000', 'n/a'."""
    if math.isnan(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.3g}"

"""Speed of MineralMarket beside Mesa's own Boltzmann wealth example, in one process.

What it measures (wall-clock, `time.perf_counter`, median of many repetitions):

  default run      `play("baseline", seed)`: the model built (scenario files read and
                   validated) and played to its end, 40 quarters, as every tool plays it.
  boltzmann        the yardstick: Mesa's example `BoltzmannWealth(BoltzmannScenario(n=100,
                   width=10, height=10, rng=seed))` built and stepped 40 times.
  step N=10/100/1000
                   one `model.step()` alone, after a few warm-up quarters, on the NdPr preset
                   with its allied producers replaced by N copies ("P-0001", ...) cycled from the
                   preset's five; each copy keeps its country and every other number, and the
                   capacities are scaled so that total allied capacity equals the preset's.
                   Each sample is a freshly built model (construction and warm-up not timed),
                   so every sample times the same quarter.

Every repetition is one round over all the alternatives (the starting alternative rotates
from round to round), so machine noise falls on all of them alike; each round uses its own
seed, the same for every alternative. One untimed round warms caches first; the objects
left from imports are then frozen out of the garbage collector (`gc.freeze`) and a
collection runs between rounds, so a sample does not pay for sweeping pandas' import.

It prints a table in milliseconds and two ratios with their targets:

  default run / boltzmann      target <= 1.0
  step(1000)   / step(10)      target <= 5.0

each marked PASS or MISS. The script reports; it does not assert: it exits 0 unless it
crashes.

Run from the repository root:

    .venv/bin/python benchmarks/bench_model.py               # 150 rounds, about 25 s on 2 cores
    .venv/bin/python benchmarks/bench_model.py --quick       # ~15 rounds, a few seconds
    .venv/bin/python benchmarks/bench_model.py --repeat 300 --json /tmp/bench.json
"""

from __future__ import annotations

import argparse
import copy
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python benchmarks/bench_model.py` puts benchmarks/ first

import mesa  # noqa: E402
import numpy as np  # noqa: E402
from mesa.examples.basic.boltzmann_wealth_model.model import (  # noqa: E402
    BoltzmannScenario,
    BoltzmannWealth,
)

from market.model import MineralMarket  # noqa: E402
from market.play import play  # noqa: E402
from market.scenarios import PRESET_DIR  # noqa: E402

DEFAULT_REPEAT = 150
QUICK_REPEAT = 15
WARMUP_STEPS = 3  # quarters stepped, untimed, before the timed step
RUN_STEPS = 40  # Boltzmann steps, to match the default run's 40 quarters
PRODUCER_COUNTS = (10, 100, 1000)
TARGET_RUN_RATIO = 1.0
TARGET_STEP_RATIO = 5.0


# --- the scenarios ------------------------------------------------------------------------------


def load_preset() -> dict[str, Any]:
    with open(PRESET_DIR / "ndpr.toml", "rb") as f:
        return tomllib.load(f)


def with_producers(preset: dict[str, Any], n: int) -> dict[str, Any]:
    """The preset with its `producers` table replaced by n copies of its producers, cycled in
    order, ids P-0001...; capacities scaled so that total allied capacity is unchanged."""
    originals = list(preset["producers"].values())
    total = sum(float(p["capacity"]) for p in originals)
    copies = [copy.deepcopy(p) for p in itertools.islice(itertools.cycle(originals), n)]
    scale = total / sum(float(p["capacity"]) for p in copies)
    for p in copies:
        p["capacity"] = float(p["capacity"]) * scale
    tree = copy.deepcopy(preset)
    tree["producers"] = {f"P-{i:04d}": p for i, p in enumerate(copies, start=1)}
    return tree


# --- the measurements: each returns seconds ----------------------------------------------------


def default_run(seed: int) -> float:
    t0 = time.perf_counter()
    run = play("baseline", seed)
    elapsed = time.perf_counter() - t0
    default_run.quarters = run.quarters  # type: ignore[attr-defined]
    return elapsed


def boltzmann_run(seed: int) -> float:
    t0 = time.perf_counter()
    model = BoltzmannWealth(BoltzmannScenario(n=100, width=10, height=10, rng=seed))
    for _ in range(RUN_STEPS):
        model.step()
    return time.perf_counter() - t0


def one_step(tree: dict[str, Any]) -> Callable[[int], float]:
    def measure(seed: int) -> float:
        model = MineralMarket(tree, rng=seed)
        for _ in range(WARMUP_STEPS):
            model.step()
        t0 = time.perf_counter()
        model.step()
        return time.perf_counter() - t0

    return measure


# --- reporting ----------------------------------------------------------------------------------


def summary(samples_s: list[float]) -> dict[str, Any]:
    ms = sorted(s * 1000.0 for s in samples_s)
    q1, _, q3 = statistics.quantiles(ms, n=4) if len(ms) > 1 else (ms[0], ms[0], ms[0])
    return {
        "median": statistics.median(ms),
        "min": ms[0],
        "q1": q1,
        "q3": q3,
        "max": ms[-1],
        "n": len(ms),
        "samples": [round(x, 6) for x in ms],
    }


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=None, help=f"rounds (default {DEFAULT_REPEAT})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPEAT} rounds")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first round (default 0)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (QUICK_REPEAT if args.quick else DEFAULT_REPEAT)
    if repeat < 1 or args.seed < 0:
        parser.error("--repeat must be at least 1 and --seed non-negative")

    preset = load_preset()
    trees = {n: with_producers(preset, n) for n in PRODUCER_COUNTS}
    preset_capacity = sum(float(p["capacity"]) for p in preset["producers"].values())
    alternatives: dict[str, Callable[[int], float]] = {
        "default run": default_run,
        "boltzmann": boltzmann_run,
        **{f"step N={n}": one_step(trees[n]) for n in PRODUCER_COUNTS},
    }
    names = list(alternatives)

    started = time.perf_counter()
    for name in names:  # untimed round (a seed no timed round uses): first calls, file caches
        alternatives[name](args.seed + repeat)
    gc.collect()
    gc.freeze()

    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        seed = args.seed + r
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(alternatives[name](seed))
        gc.collect()
    wall = time.perf_counter() - started

    figures = {name: summary(samples[name]) for name in names}
    med = {name: figures[name]["median"] for name in names}
    run_ratio = med["default run"] / med["boltzmann"]
    step_ratio = med[f"step N={PRODUCER_COUNTS[-1]}"] / med[f"step N={PRODUCER_COUNTS[0]}"]

    what = {
        "default run": f'play("baseline"): build + {default_run.quarters} quarters',  # type: ignore[attr-defined]
        "boltzmann": f"BoltzmannWealth n=100 10x10: build + {RUN_STEPS} steps",
        **{
            f"step N={n}": f"one step (Q{WARMUP_STEPS + 1}), {n} allied producers"
            for n in PRODUCER_COUNTS
        },
    }
    print(
        f"bench_model: {repeat} interleaved rounds in {wall:.1f} s; python "
        f"{platform.python_version()}, mesa {mesa.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs"
    )
    print()
    width = max(len(w) for w in what.values())
    header = (
        f"{'measurement':<14} {'what':<{width}} {'median ms':>10} {'min ms':>9} "
        f"{'q1 ms':>9} {'q3 ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        f = figures[name]
        print(
            f"{name:<14} {what[name]:<{width}} {f['median']:>10.3f} {f['min']:>9.3f} "
            f"{f['q1']:>9.3f} {f['q3']:>9.3f}"
        )
    print()
    print(
        f"default run / boltzmann  = {run_ratio:5.2f}  (target <= {TARGET_RUN_RATIO:.1f})  "
        f"{verdict(run_ratio, TARGET_RUN_RATIO)}"
    )
    print(
        f"step(1000) / step(10)    = {step_ratio:5.2f}  (target <= {TARGET_STEP_RATIO:.1f})  "
        f"{verdict(step_ratio, TARGET_STEP_RATIO)}"
    )
    print(
        f"(allied capacity is {preset_capacity:,.0f} t/yr in the preset and in every N-producer "
        "scenario; only capacity is scaled, so each small copy keeps its original's fixed cost "
        "and cash)"
    )

    if args.json:
        report = {
            "unit": "ms",
            "statistic": "median",
            "repeat": repeat,
            "seed": args.seed,
            "warmup_steps": WARMUP_STEPS,
            "wall_s": wall,
            "environment": {
                "python": platform.python_version(),
                "mesa": mesa.__version__,
                "numpy": np.__version__,
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "figures": {name: {"what": what[name], **figures[name]} for name in names},
            "ratios": {
                "default_run_over_boltzmann": {
                    "value": run_ratio,
                    "target": TARGET_RUN_RATIO,
                    "verdict": verdict(run_ratio, TARGET_RUN_RATIO),
                },
                "step_1000_over_step_10": {
                    "value": step_ratio,
                    "target": TARGET_STEP_RATIO,
                    "verdict": verdict(step_ratio, TARGET_STEP_RATIO),
                },
            },
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run a sweep: every run of a checked spec, in batches on the executor, saved in the store.

The driver (this process) turns the spec into runs, skips those the folder already holds,
splits the rest into batches and hands them to `experiments.executor.execute`; each finished
batch is one pair of part files (`experiments/sweeps/store.py`). A worker plays each run of its
batch with `market.play.play`, exactly as `minerals run` would: a sweep adds nothing to a run.
A run that raises is recorded as failed with its error; a run that kills its worker is found
by the executor's quarantine and recorded as failed too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.executor import batches, error_text, execute, make_pool
from experiments.sweeps.spec import RunSpec, SpecError, SweepSpec
from experiments.sweeps.store import Store
from market.metrics import INDICATORS
from market.play import play

MAX_RUNS_UNASKED = 100_000  # a sweep past this many runs, or
MAX_SECONDS_UNASKED = 3600.0  # this long by the estimate, starts only with --yes
RETRIES = 2  # a failed run is tried again this many times by --resume (3 attempts in all)
ROW_BYTES = 200  # a run's row in runs/ beside its metrics, about (measured, Parquet)
TASK_SECONDS = 1.0  # aim for about this much work per task, so scheduling costs stay small
QUARTER_SECONDS = 0.0007  # rough cost of one quarter of the default model on one core, s

# How a worker plays one run: (scenario, seed, params) -> market.play.Run. `play` itself,
# unless a test or tool passes another (a module-level function, so that it pickles).
Player = Callable[..., Any]


# --- a batch of runs (what a worker executes) ----------------------------------------------------


def run_batch(
    runs: Sequence[RunSpec], scenario: Any, metrics: Sequence[str], player: Player = play
) -> dict[str, Any]:
    """Play runs one after another; never raises for a run's error.

    Returns plain arrays, cheap to send back: run ids, status, error text, a (runs x metrics)
    float matrix (NaN where a metric is empty or the run failed) and the quarterly indicators
    of the runs that finished, one column per indicator."""
    ids, status, errors = [], [], []
    values = np.full((len(runs), len(metrics)), np.nan)
    frames = []
    for i, spec in enumerate(runs):
        ids.append(spec.run_id)
        try:
            run = player(scenario, spec.seed, spec.params)
            summary = run.metrics()
        except Exception as err:  # a failed run is data: record it and go on
            status.append("failed")
            errors.append(error_text(err))
            continue
        status.append("ok")
        errors.append(None)
        values[i] = [np.nan if summary[m] is None else summary[m] for m in metrics]
        frame = {"run_id": np.full(run.quarters, spec.run_id, dtype=np.int64)}
        frame["quarter"] = run.series("quarter").astype(np.int64)
        frame |= {name: run.series(name) for name in INDICATORS}
        frames.append(frame)
    columns = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]} if frames else {}
    return {
        "run_id": ids,
        "status": status,
        "error": errors,
        "metrics": values,
        "timeseries": columns,
    }


def failed_result(runs: Sequence[RunSpec], n_metrics: int, error: str) -> dict[str, Any]:
    """What a batch returns when the driver, not the run, saw it fail (its worker died)."""
    return {
        "run_id": [r.run_id for r in runs],
        "status": ["failed"] * len(runs),
        "error": [error] * len(runs),
        "metrics": np.full((len(runs), n_metrics), np.nan),
        "timeseries": {},
    }


# --- the driver -----------------------------------------------------------------------------------


@dataclass
class Cost:
    """What the runs still to do will cost, estimated before they start."""

    runs: int
    quarters: int
    seconds: float  # wall time on `slots` processes
    slots: int
    disk: int  # bytes, at most about

    def line(self) -> str:
        return (
            f"{self.runs:,} runs x {self.quarters} quarters: about {_duration(self.seconds)} on "
            f"{self.slots} process{'es' if self.slots != 1 else ''} and {_size(self.disk)} "
            "on disk"
        )

    def too_big(self) -> bool:
        return self.runs > MAX_RUNS_UNASKED or self.seconds > MAX_SECONDS_UNASKED


def estimate(spec: SweepSpec, runs: int, slots: int, player: Player = play) -> Cost:
    """Time one short run of the spec's scenario (a few quarters) and scale it up: runs x
    quarters, shared among `slots` processes; disk from the columns each run saves."""
    quarters = spec.quarters
    if runs == 0:
        return Cost(0, quarters, 0.0, slots, 0)
    trial_quarters = min(quarters, 8)
    scenario = spec.scenario
    if trial_quarters != quarters:
        from market.scenarios import load_scenario

        scenario = load_scenario(spec.scenario, {"quarters": trial_quarters})
    with contextlib.suppress(Exception):  # a failing run: the sweep records it, not this
        player(scenario, 0, {})  # the first run in a process pays for its imports: untimed
    start = time.perf_counter()
    with contextlib.suppress(Exception):
        player(scenario, 0, {})
    per_quarter = max((time.perf_counter() - start) / trial_quarters, 1e-5)
    seconds = runs * quarters * per_quarter / max(slots, 1)
    row = ROW_BYTES + 8 * (len(spec.parameters) + len(spec.metrics))
    series = quarters * 8 * (len(INDICATORS) + 2)
    return Cost(runs, quarters, seconds, slots, runs * (row + series))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


@dataclass
class SweepReport:
    out: Path
    total: int  # runs in the design
    before: int  # runs already saved when this sweep started (resume)
    ran: int  # runs saved by this sweep
    failed: int  # failed runs in the folder, including earlier ones
    seconds: float  # wall time of this sweep's runs, s
    executor: str


def batch_size(n_runs: int, slots: int, quarters: int) -> int:
    """The largest batch: about TASK_SECONDS of work, and at least four batches a slot."""
    by_time = max(1, round(TASK_SECONDS / (QUARTER_SECONDS * max(quarters, 1))))
    by_share = max(1, -(-n_runs // (4 * slots)))
    return min(by_time, by_share)


def make_batches(
    runs: Sequence[RunSpec], slots: int, quarters: int, fixed: int | None
) -> list[list[RunSpec]]:
    """Split runs into batches in run id order: `fixed` runs each, or, by default, batches
    that shrink towards the end (guided scheduling) so that no worker is left with a long tail
    alone."""
    if fixed is not None:
        return [list(runs[i : i + fixed]) for i in range(0, len(runs), fixed)]
    return batches(runs, slots, batch_size(len(runs), slots, quarters))


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    batch: int | None = None,
    progress: bool = True,
    player: Player = play,
    retries: int = RETRIES,
    yes: bool = True,
    announce: Callable[[str], None] | None = None,
) -> SweepReport:
    """Run every run of `spec` that DIR does not hold yet, and save it there; with `resume`,
    also each run whose last attempt failed, up to `retries` attempts after its first.

    With `announce`, the cost of the runs to do is estimated and passed to it before any
    starts; with `yes` false, a sweep past MAX_RUNS_UNASKED runs or MAX_SECONDS_UNASKED is
    refused. Raises SpecError (nothing written) for that, for a folder that holds another
    sweep or a spec that differs from the one it was started with."""
    if workers is not None and workers < 1:
        raise SpecError(f"--workers: expected a whole number from 1, got {workers}")
    if batch is not None and batch < 1:
        raise SpecError(f"--batch-size: expected a whole number from 1, got {batch}")
    if retries < 0:
        raise SpecError(f"--retries: expected a whole number from 0, got {retries}")
    store = Store(out)
    store.check(spec, resume)
    n_runs = spec.count_runs()
    if n_runs > MAX_RUNS_UNASKED and not yes:  # before the design of millions is built
        raise SpecError(
            f"the sweep has {n_runs:,} runs x {spec.quarters} quarters, more than the "
            f"{MAX_RUNS_UNASKED:,} a sweep starts without --yes; add --yes to start it anyway"
        )
    latest = store.done() if resume else {}
    runs = spec.runs()
    todo = [
        r
        for r in runs
        if r.run_id not in latest
        or (latest[r.run_id][1] == "failed" and latest[r.run_id][0] <= retries)
    ]
    attempts = {r.run_id: latest[r.run_id][0] + 1 for r in todo if r.run_id in latest}
    failed_before = sum(
        1 for i, (_, state) in latest.items() if state == "failed" and i not in attempts
    )
    if announce is not None or not yes:
        slots = workers or (os.cpu_count() or 1) if not scheduler else (workers or 1)
        cost = estimate(spec, len(todo), slots, player)
        if cost.too_big() and not yes:
            raise SpecError(
                f"{cost.line()}: more than {MAX_RUNS_UNASKED:,} runs or "
                f"{_duration(MAX_SECONDS_UNASKED)}; add --yes to start it anyway"
            )
        if announce is not None:
            announce(cost.line())
    metrics = list(spec.metrics)
    pool = make_pool(workers, scheduler)
    try:
        store.open(spec)
        pool.start()
        store.clean()
        done = {i for i in latest if i not in attempts}
        failed = 0
        start = time.perf_counter()
        with _progress(len(runs), len(done), failed_before, progress) as bar:

            def save(batch: list[RunSpec], result: dict[str, Any]) -> None:
                nonlocal failed
                store.write(spec, batch, result, attempts)
                failed += result["status"].count("failed")
                bar.update(len(batch), failed)

            def fail(batch: list[RunSpec], error: str) -> None:
                save(batch, failed_result(batch, len(metrics), error))

            execute(
                pool,
                run_batch,
                make_batches(todo, pool.slots, spec.quarters, batch),
                (spec.scenario, metrics, player),
                on_result=save,
                on_failure=fail,
            )
        seconds = time.perf_counter() - start
        pool.close()
    except BaseException:
        pool.close(cancel=True)
        raise
    finally:
        store.close()
    return SweepReport(
        Path(out), len(runs), len(done), len(todo), failed_before + failed, seconds, pool.name
    )


class _Bar:
    """tqdm on stderr: runs done out of all, failed so far, rate and time left."""

    def __init__(self, total: int, done: int, failed: int, enabled: bool) -> None:
        from tqdm import tqdm

        self._failed = failed
        self._bar = tqdm(
            total=total,
            initial=done,
            unit="run",
            file=sys.stderr,
            disable=not enabled,
            dynamic_ncols=True,
            mininterval=0.25,
            smoothing=0.1,
        )
        self._bar.set_postfix_str(f"failed {failed}", refresh=False)

    def update(self, n: int, failed: int) -> None:
        self._bar.set_postfix_str(f"failed {self._failed + failed}", refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


@contextlib.contextmanager
def _progress(total: int, done: int, failed: int, enabled: bool) -> Iterator[_Bar]:
    bar = _Bar(total, done, failed, enabled)
    try:
        yield bar
    finally:
        bar.close()

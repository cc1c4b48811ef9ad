"""How to run a design: every (setting, seed) played by `market.play.play` on the one executor
(`experiments.executor`), its run metrics (`Run.metrics()`) kept; a run that raises is kept as
its error and the rest go on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from experiments.executor import Pool, batches, execute
from experiments.levers.design import Design
from market.play import play
from market.scenarios import Scenario

TASK_RUNS = 8  # runs a task at most: about a second of work, results sent back together

Item = tuple[int, dict[str, Any], int]  # setting index, overrides, seed
Metrics = dict[str, float | int | None]


def play_items(batch: Sequence[Item], spec: Scenario) -> list[Metrics]:
    """What a worker does: play each run of a batch and return its run metrics."""
    return [play(spec, seed, overrides).metrics() for _, overrides, seed in batch]


def run_design(
    design: Design, pool: Pool, progress: Callable[[int], None] | None = None
) -> tuple[dict[tuple[int, int], Metrics], dict[tuple[int, int], str]]:
    """Play every run of `design` on `pool`: ({(setting index, seed): metrics}, {(setting
    index, seed): error} for the runs that raised)."""
    items: list[Item] = [(i, design.settings[i].overrides, seed) for i, seed in design.runs()]
    results: dict[tuple[int, int], Metrics] = {}
    errors: dict[tuple[int, int], str] = {}

    def keep(batch: list[Item], metrics: list[Metrics]) -> None:
        for (i, _, seed), m in zip(batch, metrics, strict=True):
            results[(i, seed)] = m
        if progress:
            progress(len(batch))

    def fail(batch: list[Item], error: str) -> None:
        i, _, seed = batch[0]
        errors[(i, seed)] = error
        if progress:
            progress(1)

    execute(
        pool,
        play_items,
        batches(items, pool.slots, TASK_RUNS),
        (design.spec,),
        on_result=keep,
        on_failure=fail,
    )
    return results, errors

"""Playing episodes: the runs they need, played once each, and their figures over the seeds.

Every run is `market.play.play(scenario tree, seed, overrides)`; a `Runner` plays the ones it
has not played yet on the one executor (`experiments.executor`: worker processes, or this
process) and keeps them by (scenario, overrides, seed), so episodes that share a scenario share
its runs. `play_episode` reduces an episode's runs to one simulated value per figure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.executor import InlinePool, Pool, batches, execute
from experiments.history.episodes import Episode, Figure
from market.play import Run, play

Job = tuple[dict[str, Any], dict[str, Any], int]  # scenario tree, overrides, seed
TASK_RUNS = 4  # runs a task at most: a few seconds of work, results sent back together


def play_jobs(batch: Sequence[tuple[str, Job]]) -> list[Run]:
    """What a worker does: play each (key, job) of a batch."""
    return [play(tree, seed, overrides) for _, (tree, overrides, seed) in batch]


def _key(tree: Mapping[str, Any], overrides: Mapping[str, Any]) -> str:
    blob = json.dumps([tree, overrides], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Runner:
    """Plays (scenario tree, overrides, seed) jobs once each on a pool (this process by
    default) and keeps the runs in `cache`."""

    def __init__(self, pool: Pool | None = None) -> None:
        self.pool = pool or InlinePool()
        self.cache: dict[tuple[str, int], Run] = {}

    def play(self, jobs: Sequence[Job], progress: Callable[[int], None] | None = None) -> list[Run]:
        """The runs of `jobs`, in order, playing those not in the cache."""
        keys = [(_key(t, o), s) for t, o, s in jobs]
        todo: dict[tuple[str, int], Job] = {}
        for key, job in zip(keys, jobs, strict=True):
            if key not in self.cache:
                todo.setdefault(key, job)
        if todo:
            items = list(todo.items())

            def keep(batch: list[tuple[tuple[str, int], Job]], runs: list[Run]) -> None:
                for (key, _job), run in zip(batch, runs, strict=True):
                    self.cache[key] = run
                if progress:
                    progress(len(batch))

            def fail(batch: list[tuple[tuple[str, int], Job]], error: str) -> None:
                tree, overrides, seed = batch[0][1]
                name = tree.get("name", "the scenario")
                raise RuntimeError(f"{name} (seed {seed}, overrides {overrides}): {error}")

            execute(
                self.pool,
                play_jobs,
                batches(items, self.pool.slots, TASK_RUNS),
                on_result=keep,
                on_failure=fail,
            )
        return [self.cache[k] for k in keys]


# --- episodes -------------------------------------------------------------------------------------


@dataclass
class FigureResult:
    figure: Figure
    values: list[float]  # one per seed

    @property
    def simulated(self) -> float:
        """The median over seeds (never-events count as infinite), or the share of seeds in
        which the measure was non-zero."""
        values = np.asarray(self.values, float)
        if self.figure.stat == "share":
            return float(np.mean(np.nan_to_num(values, nan=0.0) > 0))
        return float(np.median(np.where(np.isnan(values), np.inf, values)))

    @property
    def low(self) -> float:
        return float(np.min(np.where(np.isnan(self.values), np.inf, self.values)))

    @property
    def high(self) -> float:
        return float(np.max(np.where(np.isnan(self.values), np.inf, self.values)))

    @property
    def passed(self) -> bool:
        lo, hi = self.figure.band
        return bool(lo <= self.simulated <= hi)


@dataclass
class EpisodeResult:
    episode: Episode
    seeds: list[int]
    figures: list[FigureResult]
    runs: dict[str, list[Run]]  # variant -> one run per seed

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.figures if f.figure.scored)


def episode_jobs(
    episode: Episode, seeds: Sequence[int], overrides: Mapping[str, Any] | None = None
) -> list[tuple[str, Job]]:
    """(variant, job) pairs for every run the episode needs; `overrides` go on top of all."""
    out = []
    for name in episode.runs_needed():
        variant = episode.variants[name]
        changes = {**variant.changes, **dict(overrides or {})}
        for seed in seeds:
            out.append((name, (variant.tree, changes, int(seed))))
    return out


def play_episode(
    episode: Episode,
    seeds: Sequence[int],
    runner: Runner | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> EpisodeResult:
    """Play every run an episode needs over `seeds` and compute its figures."""
    runner = runner or Runner()
    jobs = episode_jobs(episode, seeds, overrides)
    played = runner.play([job for _, job in jobs], progress)
    runs: dict[str, list[Run]] = {}
    for (name, _job), run in zip(jobs, played, strict=True):
        runs.setdefault(name, []).append(run)
    figures = [
        FigureResult(fig, [fig.value(run) for run in runs[fig.run]]) for fig in episode.figures
    ]
    return EpisodeResult(episode, list(seeds), figures, runs)

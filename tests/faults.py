"""Tasks and runs that fail on purpose, for the executor and sweep tests.

They are module-level functions, passed to the executor as `functools.partial`s, because a
worker imports code afresh (experiments/executor.py): it never sees a test's monkeypatching.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from market.play import Run, play


def _at(params: dict[str, Any], point: dict[str, Any]) -> bool:
    return all(params[key] == value for key, value in point.items())


def raise_at(scenario: Any, seed: int, params: dict[str, Any], *, point: dict[str, Any]) -> Run:
    """`play`, but a run at the design point `point` raises."""
    if _at(params, point):
        raise RuntimeError("model blew up")
    return play(scenario, seed, params)


def raise_above(scenario: Any, seed: int, params: dict[str, Any], *, key: str, limit: float) -> Run:
    """`play`, but a run whose `key` is above `limit` raises."""
    if params[key] > limit:
        raise ValueError("no")
    return play(scenario, seed, params)


def die_at(
    scenario: Any,
    seed: int,
    params: dict[str, Any],
    *,
    point: dict[str, Any],
    marker: str,
    always: bool,
) -> Run:
    """`play`, but a run at `point` kills its worker process: every time, or only the first
    time (`marker` is the file that remembers it)."""
    if _at(params, point) and (always or not Path(marker).exists()):
        Path(marker).touch()
        os._exit(9)  # the worker process dies: the pool breaks
    return play(scenario, seed, params)


def squares(batch: list[int], bad: int = -1, deadly: int = -1) -> list[int]:
    """A task for the executor's own tests: the squares of a batch; `bad` raises, `deadly`
    kills the worker."""
    if deadly in batch:
        os._exit(9)
    if bad in batch:
        raise ValueError(f"{bad} is bad")
    return [x * x for x in batch]

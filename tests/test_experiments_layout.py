"""experiments/ by job: the command line loads only what a command needs, and the one executor
keeps going past a task that raises, for sweeps and for the history episodes alike."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.executor import WORKER_DIED, execute, make_pool
from experiments.history.episodes import load_episode
from experiments.history.validate import validate
from tests import faults

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("SALib", "pyarrow", "dask", "distributed", "experiments.history.calibrate")


@pytest.mark.parametrize("argv", [["run", "--help"], ["--help"], ["sweep", "--help"]])
def test_help_loads_no_heavy_library(argv):
    """Building the parser imports every command module, and none of them may pull in a
    library its job needs only once it runs."""
    probe = (
        "import sys; from experiments.cli import main; "
        f"status = main({argv!r}); "
        f"print(status, sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def _collect(pool, work, fn):
    results, failures = {}, {}

    def keep(batch, squares):
        results.update(zip(batch, squares, strict=True))

    def fail(batch, error):
        failures[batch[0]] = error

    with pool:
        execute(pool, fn, work, on_result=keep, on_failure=fail)
    return results, failures


@pytest.mark.parametrize("workers", [1, 2])
def test_a_task_that_raises_is_recorded_failed_and_the_rest_complete(workers):
    work = [[1, 2], [3, 4], [5], [6, 7, 8]]
    pool = make_pool(workers, in_process=workers == 1)
    results, failures = _collect(pool, work, functools.partial(faults.squares, bad=3))
    assert results == {x: x * x for x in (1, 2, 4, 5, 6, 7, 8)}
    assert failures == {3: "ValueError: 3 is bad"}


def test_a_task_that_kills_its_worker_is_quarantined_and_recorded_failed():
    work = [[1, 2], [3, 4], [5, 6]]
    results, failures = _collect(make_pool(2), work, functools.partial(faults.squares, deadly=3))
    assert results == {x: x * x for x in (1, 2, 4, 5, 6)}
    assert failures == {3: WORKER_DIED}


def test_episodes_on_two_processes_give_the_figures_of_one():
    episodes = [
        load_episode(ROOT / "market/scenarios/history/quota-2010.toml"),
        load_episode(ROOT / "market/scenarios/history/boom-entrant.toml"),
    ]
    one = validate(episodes, [1, 2], jobs=1)
    two = validate(episodes, [1, 2], jobs=2)
    for a, b in zip(one, two, strict=True):
        assert [f.figure.id for f in a.figures] == [f.figure.id for f in b.figures]
        for fa, fb in zip(a.figures, b.figures, strict=True):
            np.testing.assert_array_equal(fa.values, fb.values, err_msg=fa.figure.id)
        assert a.passed == b.passed

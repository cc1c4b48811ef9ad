"""Run a sweep: many model runs on any `concurrent.futures` executor, saved as Parquet parts.

The driver (this process) turns a checked spec into runs, hands them out in batches, and writes
each finished batch as one part file in DIR/runs/ and DIR/timeseries/. A part is written under a
temporary name and renamed when complete, and the runs part is renamed last, so a run counts as
done exactly when its row is in DIR/runs/. That is what makes `--resume` safe after the driver
is killed at any moment: it runs only the ids missing from DIR/runs/ and throws away temporary
files and time series whose runs part never landed.

Executors: a process pool on this machine (workers forked from the driver on Linux, so they
start with the model already imported), or a Dask cluster through `distributed.Client(address)
.get_executor()`. A run that raises is recorded as failed with its error. A worker that dies
breaks a process pool: the pool is replaced, and the runs it held are re-run one at a time so
that a run which kills its worker every time is found and recorded as failed, not retried
forever.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import signal
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.design import Run, SpecError, SweepSpec
from market.metrics import INDICATORS
from market.scenarios import Scenario
from market.schema import field_for

FORMAT_VERSION = 1
META_FILE = "sweep.json"
SPEC_FILE = "spec.toml"
LOCK_FILE = ".lock"
TASK_SECONDS = 1.0  # aim for about this much work per task, so scheduling costs stay small
QUARTER_SECONDS = 0.0007  # rough cost of one quarter of the default model on one core, s
QUARANTINE_TRIES = 2  # a run alone in a pool that dies this often is recorded as failed


# --- one run, and a batch of them (what a worker executes) -------------------------------------


def simulate(scenario: Scenario | str, seed: int, params: dict[str, Any]) -> tuple[dict, Any]:
    """Play one run to its end: its metrics (`summarise`) and its quarterly table.

    Exactly what a user gets from `MineralMarket(scenario, rng=seed, **params)` stepped until
    it stops; a sweep adds nothing to a run."""
    from market import MineralMarket, summarise

    model = MineralMarket(scenario, rng=seed, **params)
    while model.running:
        model.step()
    timeseries = model.timeseries()
    return summarise(timeseries), timeseries


def run_batch(
    scenario: Scenario, runs: Sequence[tuple[int, int, dict[str, Any]]], metrics: Sequence[str]
) -> dict[str, Any]:
    """Run (run id, seed, params) triples one after another; never raises for a run's error.

    Returns plain arrays, cheap to send back: run ids, status, error text, a (runs x metrics)
    float matrix (NaN where a metric is empty or the run failed) and the quarterly indicators
    of the runs that finished, one column per indicator."""
    ids, status, errors = [], [], []
    values = np.full((len(runs), len(metrics)), np.nan)
    frames = []
    with _collection_deferred():
        for i, (run_id, seed, params) in enumerate(runs):
            ids.append(run_id)
            try:
                summary, timeseries = simulate(scenario, seed, params)
            except Exception as err:  # a failed run is data: record it and go on
                status.append("failed")
                errors.append(f"{type(err).__name__}: {err}".strip())
                continue
            status.append("ok")
            errors.append(None)
            values[i] = [np.nan if summary[m] is None else summary[m] for m in metrics]
            frame = {"run_id": np.full(len(timeseries), run_id, dtype=np.int64)}
            frame["quarter"] = timeseries["quarter"].to_numpy(np.int64)
            frame |= {name: timeseries[name].to_numpy() for name in INDICATORS}
            frames.append(frame)
    columns = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]} if frames else {}
    return {
        "run_id": ids,
        "status": status,
        "error": errors,
        "metrics": values,
        "timeseries": columns,
    }


_POOL_WORKER = False  # set in our own pool's worker processes, never in a shared process


@contextlib.contextmanager
def _collection_deferred() -> Iterator[None]:
    """In our own pool workers, run a batch with the cyclic garbage collector off and collect
    once after it: a finished model is freed in one pass instead of being traced again and
    again while the next runs allocate (about 5-10 % of a run's time). A batch is about a
    second of work, so the garbage held meanwhile stays small. Elsewhere (a Dask worker
    thread, a user's process) the collector is left alone: it is process-wide."""
    if not _POOL_WORKER or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _failed_result(runs: Sequence[Run], n_metrics: int, error: str) -> dict[str, Any]:
    """What a batch returns when the driver, not the run, saw it fail (its worker died)."""
    return {
        "run_id": [r.run_id for r in runs],
        "status": ["failed"] * len(runs),
        "error": [error] * len(runs),
        "metrics": np.full((len(runs), n_metrics), np.nan),
        "timeseries": {},
    }


# --- the results folder ------------------------------------------------------------------------


class Store:
    """DIR: spec.toml and sweep.json beside runs/ and timeseries/ part files.

    Part files of one batch carry the same name in both folders; the timeseries part is renamed
    into place first and the runs part last, so the runs part marks the batch as done."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.ts_dir = self.root / "timeseries"
        self._lock: int | None = None

    @property
    def meta_path(self) -> Path:
        return self.root / META_FILE

    def meta(self) -> dict[str, Any] | None:
        if not self.meta_path.exists():
            return None
        return json.loads(self.meta_path.read_text())

    def check(self, spec: SweepSpec, resume: bool) -> None:
        """Refuse, before anything is written, a folder that holds something else."""
        meta = self.meta()
        if meta is None:
            if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
                raise SpecError(
                    f"--out {self.root}: exists and is not a sweep folder; choose a new or "
                    "empty folder"
                )
            return
        if not resume:
            raise SpecError(
                f"--out {self.root}: already holds a sweep; add --resume to finish it, or choose "
                "another folder"
            )
        if meta.get("digest") != spec.digest():
            raise SpecError(
                f"--resume: {self.root} was started from a different spec (saved as "
                f"{self.root / SPEC_FILE}); resume with that spec or choose another --out"
            )

    def open(self, spec: SweepSpec) -> None:
        """Create the folder, take its lock and save the spec (first time only)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(exist_ok=True)
        self.ts_dir.mkdir(exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SpecError(f"--out {self.root}: another sweep is writing there now") from None
        self._lock = fd
        if self.meta() is None:
            if spec.text:
                _write_atomic(self.root / SPEC_FILE, spec.text.encode())
            meta = {
                "format": FORMAT_VERSION,
                "digest": spec.digest(),
                "runs": spec.n_runs(),
                "source": spec.source,
                "spec": spec.canonical(),
            }
            _write_atomic(self.meta_path, (json.dumps(meta, indent=1) + "\n").encode())

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def clean(self) -> int:
        """Remove what a killed driver left: temporary files, and timeseries parts whose runs
        part was never renamed into place (their runs are not done and will run again)."""
        removed = 0
        for folder in (self.runs_dir, self.ts_dir):
            for path in folder.glob(".*.tmp"):
                path.unlink()
                removed += 1
        committed = {p.name for p in self.runs_dir.glob("part-*.parquet")}
        for path in self.ts_dir.glob("part-*.parquet"):
            if path.name not in committed:
                path.unlink()
                removed += 1
        return removed

    def done(self) -> tuple[set[int], int]:
        """Run ids already saved, and how many of them failed."""
        import pyarrow.parquet as pq

        ids: set[int] = set()
        failed = 0
        for path in sorted(self.runs_dir.glob("part-*.parquet")):
            table = pq.read_table(path, columns=["run_id", "status"])
            part_ids = table.column("run_id").to_pylist()
            if ids.intersection(part_ids):
                raise SpecError(f"{path}: repeats run ids saved in another part; folder damaged")
            ids.update(part_ids)
            failed += table.column("status").to_pylist().count("failed")
        return ids, failed

    def write(self, spec: SweepSpec, runs: Sequence[Run], result: dict[str, Any]) -> None:
        """Save one finished batch: timeseries part, then runs part, each renamed when whole."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        by_id = {r.run_id: r for r in runs}
        name = f"part-{min(by_id):07d}-{max(by_id):07d}.parquet"
        if (self.runs_dir / name).exists():
            raise RuntimeError(f"{self.runs_dir / name} exists already; refusing to overwrite")
        ts = result["timeseries"]
        if ts:
            table = pa.table({k: _column(v) for k, v in ts.items()})
            _write_parquet(pq, table, self.ts_dir / name)

        ordered = [by_id[i] for i in result["run_id"]]
        columns: dict[str, Any] = {
            "run_id": pa.array([r.run_id for r in ordered], pa.int64()),
            "point": pa.array([r.point for r in ordered], pa.int64()),
            "replication": pa.array([r.replication for r in ordered], pa.int64()),
            "seed": pa.array([r.seed for r in ordered], pa.int64()),
        }
        for param in spec.parameters:
            columns[param.key] = pa.array(
                [r.params[param.key] for r in ordered], _arrow_type(param.key)
            )
        values = result["metrics"]
        for j, metric in enumerate(spec.metrics):
            columns[metric] = pa.array(values[:, j], pa.float64(), from_pandas=True)
        columns["status"] = pa.array(result["status"], pa.string())
        columns["error"] = pa.array(result["error"], pa.string())
        _write_parquet(pq, pa.table(columns), self.runs_dir / name)


def _arrow_type(key: str) -> Any:
    import pyarrow as pa

    kind = field_for(key).kind
    return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}.get(kind, pa.string())


def _column(values: np.ndarray) -> Any:
    """One timeseries column in a stable Arrow type (bool, int64 or float64)."""
    import pyarrow as pa

    if values.dtype.kind == "b":
        return pa.array(values, pa.bool_())
    if values.dtype.kind in "iu":
        return pa.array(values, pa.int64())
    return pa.array(values.astype(np.float64), pa.float64())


def _write_parquet(pq: Any, table: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_runs(out: str | Path) -> Any:
    """DIR/runs as one DataFrame, one row per run, in run id order."""
    import pandas as pd

    parts = sorted(Path(out, "runs").glob("part-*.parquet"))
    if not parts:
        raise SpecError(f"{out}: no runs saved (is it a sweep's --out folder?)")
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values("run_id", ignore_index=True)


def read_timeseries(out: str | Path) -> Any:
    """DIR/timeseries as one DataFrame: run_id, quarter and every indicator."""
    import pandas as pd

    parts = sorted(Path(out, "timeseries").glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=["run_id", "quarter", *INDICATORS])
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values(["run_id", "quarter"], ignore_index=True)


# --- executors ----------------------------------------------------------------------------------


class Pool:
    """An executor and how many tasks to keep in flight on it; a process pool can be replaced
    when one of its workers dies."""

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self.in_flight = workers + 1  # one queued task per pool keeps every worker busy
        self.replaceable = True
        self._executor = self._new()

    def _new(self) -> Executor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Fork on Linux: workers start with the model imported and share the driver's memory
        # until they write to it. Elsewhere fork is unsafe or missing, and spawn is used.
        method = "fork" if sys.platform == "linux" else "spawn"
        return ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=multiprocessing.get_context(method),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        with warnings.catch_warnings():
            # Python 3.12 warns when forking a process with threads. The driver's only other
            # threads are numpy's BLAS and Arrow's pools, idle and fork-aware; the workers run
            # pure Python and numpy on new objects.
            warnings.filterwarnings("ignore", ".*multi-threaded.*fork", DeprecationWarning)
            return self._executor.submit(fn, *args)

    def start(self) -> None:
        """Start the workers now (fork starts them all at the first task), with the model
        imported but before the driver imports Arrow: forked workers share the one and carry
        none of the other."""
        import market.model  # noqa: F401  (Mesa, pandas and SciPy: imported once, here)

        self.submit(os.getpid).result()

    def replace(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = self._new()

    def close(self, cancel: bool = False) -> None:
        self._executor.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskPool(Pool):
    """A Dask cluster seen as a concurrent.futures executor. Dask replaces dead workers and
    retries their tasks itself; a task that keeps killing workers raises KilledWorker."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SpecError(
                f"--scheduler {address}: needs dask.distributed, which is not installed; "
                "pip install minerals-game[cluster]"
            ) from None
        try:
            self._client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:
            raise SpecError(f"--scheduler {address}: cannot connect: {err}") from None
        self.slots = max(1, sum(self._client.nthreads().values()))
        self.in_flight = 2 * self.slots  # the next task is already there when one finishes
        self.replaceable = False
        self._executor = self._client.get_executor(pure=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executor.submit(fn, *args)

    def start(self) -> None:
        """Nothing to start: the cluster's workers are running."""

    def replace(self) -> None:
        raise RuntimeError("a Dask cluster replaces its own workers")

    def close(self, cancel: bool = False) -> None:
        with contextlib.suppress(Exception):
            self._executor.shutdown(wait=not cancel)
        self._client.close()


def _worker_init(driver_pid: int) -> None:
    """Set up a pool worker: leave Ctrl-C to the driver, die with the driver, and keep the
    garbage collector off the objects inherited from it."""
    global _POOL_WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(driver_pid)
    gc.freeze()  # inherited objects are never scanned, so their pages stay shared
    _POOL_WORKER = True


def _die_with(driver_pid: int) -> None:
    """A worker must not outlive a driver killed with SIGKILL (it would wait for work forever)."""
    if sys.platform == "linux":
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel kills us with the driver
        if os.getppid() != driver_pid:  # the driver died before prctl took effect
            os._exit(1)
        return

    def watch() -> None:
        while os.getppid() == driver_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def scheduler_address(flag: str | None) -> str | None:
    """--scheduler, else DASK_SCHEDULER_ADDRESS, else None (a local process pool)."""
    return flag or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


# --- the driver ---------------------------------------------------------------------------------


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


def make_batches(runs: Sequence[Run], slots: int, quarters: int, fixed: int | None) -> list:
    """Split runs into batches in run id order. Without a fixed size, batches shrink towards
    the end (guided scheduling) so that no worker is left with a long tail alone."""
    if fixed is not None:
        return [list(runs[i : i + fixed]) for i in range(0, len(runs), fixed)]
    largest = batch_size(len(runs), slots, quarters)
    batches, i = [], 0
    while i < len(runs):
        size = min(largest, max(1, -(-(len(runs) - i) // (2 * slots))))
        batches.append(list(runs[i : i + size]))
        i += size
    return batches


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    batch: int | None = None,
    progress: bool = True,
) -> SweepReport:
    """Run every run of `spec` that DIR does not hold yet, and save it there.

    Raises SpecError (nothing written) for a folder that holds another sweep or a spec that
    differs from the one it was started with."""
    if workers is not None and workers < 1:
        raise SpecError(f"--workers: expected a whole number from 1, got {workers}")
    if batch is not None and batch < 1:
        raise SpecError(f"--batch-size: expected a whole number from 1, got {batch}")
    store = Store(out)
    store.check(spec, resume)
    runs = spec.runs()
    pool: Pool = DaskPool(scheduler) if scheduler else Pool(workers or os.cpu_count() or 1)
    try:
        store.open(spec)
        pool.start()
        store.clean()
        done, failed_before = store.done()
        todo = [r for r in runs if r.run_id not in done]
        batches = make_batches(todo, pool.slots, spec.quarters, batch)
        start = time.perf_counter()
        with _progress(len(runs), len(done), failed_before, progress) as bar:
            failed = _drive(pool, batches, spec, store, bar)
        pool.close()
    except BaseException:
        pool.close(cancel=True)
        raise
    finally:
        store.close()
    plural = "es" if pool.slots > 1 else ""
    name = f"dask {scheduler}" if scheduler else f"{pool.slots} local process{plural}"
    return SweepReport(
        Path(out),
        len(runs),
        len(done),
        len(todo),
        failed_before + failed,
        time.perf_counter() - start,
        name,
    )


def _drive(pool: Pool, batches: list[list[Run]], spec: SweepSpec, store: Store, bar: Any) -> int:
    """Keep the executor busy until every batch is saved; returns how many runs failed.

    When a worker dies and breaks a process pool, every batch in flight is lost with it. Those
    runs come back as single runs under quarantine: each is run alone in a fresh pool, so a
    run that kills its worker QUARANTINE_TRIES times is recorded as failed and no other run is
    blamed for it."""
    pending: deque[list[Run]] = deque(batches)
    quarantine: deque[list[Run]] = deque()
    tries: dict[int, int] = {}
    in_flight: dict[Future, list[Run]] = {}
    failed = 0
    metrics = list(spec.metrics)

    def submit(runs: list[Run]) -> None:
        triples = [(r.run_id, r.seed, r.params) for r in runs]
        in_flight[pool.submit(run_batch, spec.scenario, triples, metrics)] = runs

    def save(runs: list[Run], result: dict[str, Any]) -> None:
        nonlocal failed
        store.write(spec, runs, result)
        failed += result["status"].count("failed")
        bar.update(len(runs), failed)

    while pending or quarantine or in_flight:
        if quarantine:
            if not in_flight:
                submit(quarantine.popleft())
        else:
            while pending and len(in_flight) < pool.in_flight:
                submit(pending.popleft())
        finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        lost: list[list[Run]] = []
        alone = len(in_flight) == 1
        for future in finished:
            runs = in_flight.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                lost.append(runs)
            except Exception as err:  # the task itself failed (Dask: KilledWorker, ...)
                if len(runs) > 1:
                    pending.extendleft([r] for r in reversed(runs))
                else:
                    save(runs, _failed_result(runs, len(metrics), _describe(err)))
            else:
                save(runs, result)
        if lost and pool.replaceable:
            # The pool is broken: wait for its other futures to settle, keep what finished.
            for future in list(in_flight):
                runs = in_flight.pop(future)
                try:
                    save(runs, future.result())
                except BrokenProcessPool:
                    lost.append(runs)
            pool.replace()
            if alone and len(lost) == 1 and len(lost[0]) == 1:
                run = lost[0][0]
                tries[run.run_id] = tries.get(run.run_id, 0) + 1
                if tries[run.run_id] >= QUARANTINE_TRIES:
                    error = (
                        f"WorkerDied: the worker process died running this run alone "
                        f"{QUARANTINE_TRIES} times (killed, out of memory or crashed)"
                    )
                    save(lost[0], _failed_result(lost[0], len(metrics), error))
                else:
                    quarantine.appendleft(lost[0])
            else:
                quarantine.extend([r] for runs in lost for r in runs)
        elif lost:
            raise BrokenProcessPool("the executor broke and cannot be replaced")
    return failed


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".strip()


class _Bar:
    """tqdm on stderr: runs done out of all, failed so far, rate and time left."""

    def __init__(self, total: int, done: int, failed: int, enabled: bool) -> None:
        from tqdm import tqdm

        class Quiet(tqdm):
            monitor_interval = 0  # no monitor thread: workers may be forked later

        self._failed = failed
        self._bar = Quiet(
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

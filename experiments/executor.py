"""The one executor for many runs: worker processes on this machine or a Dask cluster, with the
failure handling that sweeps, `minerals validate` and `minerals calibrate` all need.

A job hands its work over as batches (lists of items) and a module-level function:
`execute(pool, fn, batches, args, on_result=..., on_failure=...)` calls `fn(batch, *args)` in a
worker for each batch and gives each result back, in this process, to `on_result(batch,
result)`, in the order the batches finish. What a job can count on:

- **A task that raises.** A batch of several items is split and its items are run one at a
  time; an item that raises alone is given to `on_failure(batch, "Type: message")` and the rest
  goes on. (A sweep's batch catches each run's error itself, so one run that raises costs no
  other run its work.)
- **A worker that dies** (killed, out of memory, a crash in C) breaks a local pool. The results
  of tasks that had finished are kept, the pool is replaced, and every item that was in flight
  is run again alone, one at a time, in quarantine: an item that kills its worker
  QUARANTINE_TRIES times alone goes to `on_failure` as "WorkerDied: ..." and nothing else is
  blamed for it.
- **Ctrl-C and a killed driver.** Workers ignore SIGINT (the driver handles it and cancels what
  is queued) and exit as soon as the driver process is gone, even when it was killed with
  SIGKILL: each watches the driver's pid (a pidfd on Linux, which becomes readable the moment
  the driver exits; polling elsewhere).
- **Dask** (`make_pool(scheduler=ADDRESS)`; the CLI takes `--scheduler` or
  DASK_SCHEDULER_ADDRESS): `distributed.Client(ADDRESS).get_executor()`, a concurrent.futures
  executor like the local pool. The cluster replaces dead workers and retries their tasks
  itself; a task it gives up on (KilledWorker) is split and reported like a task that raised.
- **In this process** (`make_pool(1, in_process=True)`, what `--jobs 1` means for validate and
  calibrate): tasks run one at a time in the caller, with no pickling; a task that raises is
  handled as above, one that kills the process kills the caller.

How local workers start: the "forkserver" method, with the model preloaded. Forking the driver
itself (what sweeps used to do) gives workers the imported model for free, but is safe only
while the driver has no other thread: a thread holding a lock (malloc's, logging's, the import
lock) at the moment of the fork leaves that lock held forever in the child. A driver seldom
stays single-threaded: tqdm's monitor thread, Arrow's and BLAS's thread pools, the pool's own
management thread (alive when a broken pool is replaced), a web server embedding a sweep or a
validation. Python 3.12 warns about it and 3.14 no longer forks by default. Spawning instead is
safe but makes every worker import Mesa, pandas and SciPy again (about a second and 140 MiB
each). The forkserver is both: a single-threaded server process, started from a fresh
interpreter the first time a pool is made, imports the model once (`PRELOAD`) and forks every
worker from itself; workers start in milliseconds with the model imported, share its pages
(the garbage collector is kept off them, `gc.freeze`), and no thread of the driver can reach
them. One server serves every pool of the process (a replaced pool, validate's, calibrate's).
Where there is no forkserver (Windows), workers are spawned.

What follows for a job: a worker sees the code as imported afresh, never the driver's objects
or patches. A task is a module-level function, or a `functools.partial` of one, and arguments
that pickle; its result is pickled back.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from market.schema import ScenarioError

PRELOAD = ("market.model",)  # imported once by the fork server: Mesa, pandas, SciPy, the model
QUARANTINE_TRIES = 2  # an item alone in a pool that dies this often is reported as failed

Batch = list[Any]


class PoolError(ScenarioError):
    """An executor that cannot be had (a missing library, an unreachable scheduler); one line
    for a user, reported by the CLI like any bad input."""


# --- where tasks run --------------------------------------------------------------------------


class Pool:
    """Somewhere to run tasks. `slots`: tasks that run at once; `in_flight`: tasks to keep
    submitted so that no slot waits; `replaceable`: whether a broken pool can be replaced."""

    name = "this process"
    slots = 1
    in_flight = 1
    replaceable = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        raise NotImplementedError

    def start(self) -> None:
        """Have the workers ready before the first task is timed."""

    def replace(self) -> None:
        raise RuntimeError(f"{self.name} cannot be replaced")

    def close(self, cancel: bool = False) -> None:
        """Shut down; with `cancel`, drop the tasks not started yet and do not wait."""

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        self.close(cancel=kind is not None)


class InlinePool(Pool):
    """Tasks run in this process, one at a time, when submitted."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as err:  # handled by execute like a task that raised in a worker
            future.set_exception(err)
        return future


class ProcessPool(Pool):
    """Worker processes on this machine, forked from the fork server (see the module's
    docstring); replaced whole when one of them dies."""

    replaceable = True

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self.in_flight = workers + 1  # one queued task keeps every worker busy
        plural = "es" if workers > 1 else ""
        self.name = f"{workers} local process{plural}"
        self._executor = self._new()

    def _new(self) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=_context(),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executor.submit(fn, *args)

    def start(self) -> None:
        """Start the fork server (it imports the model, about a second, once a process) and a
        first worker; the others fork from the server as tasks arrive, in milliseconds."""
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
            raise PoolError(
                f"--scheduler {address}: needs dask.distributed, which is not installed; "
                "pip install minerals-game[cluster]"
            ) from None
        try:
            self._client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:
            raise PoolError(f"--scheduler {address}: cannot connect: {err}") from None
        self.name = f"dask {address}"
        self.slots = max(1, sum(self._client.nthreads().values()))
        self.in_flight = 2 * self.slots  # the next task is already there when one finishes
        self._executor = self._client.get_executor(pure=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executor.submit(fn, *args)

    def close(self, cancel: bool = False) -> None:
        with contextlib.suppress(Exception):
            self._executor.shutdown(wait=not cancel)
        self._client.close()


def make_pool(
    workers: int | None = None, scheduler: str | None = None, *, in_process: bool = False
) -> Pool:
    """A Dask cluster when given a scheduler address; else this process when `in_process`;
    else `workers` local processes (default: one per core)."""
    if scheduler:
        return DaskPool(scheduler)
    if in_process:
        return InlinePool()
    return ProcessPool(workers or os.cpu_count() or 1)


def scheduler_address(flag: str | None) -> str | None:
    """--scheduler, else DASK_SCHEDULER_ADDRESS, else None (local processes)."""
    return flag or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


def start_fork_server() -> None:
    """Start the fork server now: it imports the model in its own process while this one
    goes on (reading a spec, loading episodes), so the first pool finds it ready. Commands call
    it first thing when they will use local processes; without it the first pool starts it."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))  # no effect once the server runs
        return context
    return multiprocessing.get_context("spawn")


# --- in a worker ------------------------------------------------------------------------------

_IN_WORKER = False  # set in our own pool's workers, never in a shared process (a Dask worker)


def _worker_init(driver_pid: int) -> None:
    """Leave Ctrl-C to the driver, exit with the driver, keep the garbage collector off the
    objects inherited from the fork server."""
    global _IN_WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with(driver_pid)
    gc.freeze()  # inherited objects are never scanned, so their pages stay shared
    _IN_WORKER = True


def _exit_with(driver_pid: int) -> None:
    """A worker must not outlive its driver (it would wait for work forever): a thread waits
    for the driver to exit and ends the process. A driver that is already gone, or a zombie,
    ends it at once."""
    try:
        fd = os.pidfd_open(driver_pid)  # Linux 5.3+: readable once the process has exited
    except (AttributeError, OSError):
        fd = None
        if not _pid_alive(driver_pid):
            os._exit(1)

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _pid_alive(driver_pid):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-driver", daemon=True).start()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _call(fn: Callable[..., Any], batch: Batch, args: tuple[Any, ...]) -> Any:
    """Run one task. In our own pool workers, with the cyclic garbage collector off and one
    collection after: a finished model is freed in one pass instead of being traced again and
    again while the next runs allocate (about 5-10 % of a run's time). Elsewhere (a Dask
    worker thread, this process) the collector is left alone: it is process-wide."""
    if not _IN_WORKER or not gc.isenabled():
        return fn(batch, *args)
    gc.disable()
    try:
        return fn(batch, *args)
    finally:
        gc.enable()
        gc.collect()


# --- many tasks -------------------------------------------------------------------------------


def batches(items: Sequence[Any], slots: int, largest: int) -> list[Batch]:
    """Split items, in order, into batches of at most `largest` that shrink towards the end
    (guided scheduling), so that no worker is left with a long tail alone."""
    out, i = [], 0
    while i < len(items):
        size = min(largest, max(1, -(-(len(items) - i) // (2 * slots))))
        out.append(list(items[i : i + size]))
        i += size
    return out


def error_text(err: BaseException) -> str:
    """An error as a result records it: "Type: message"."""
    return f"{type(err).__name__}: {err}".strip()


WORKER_DIED = (
    f"WorkerDied: the worker process died running this alone {QUARANTINE_TRIES} times "
    "(killed, out of memory or crashed)"
)


def execute(
    pool: Pool,
    fn: Callable[..., Any],
    work: Sequence[Batch],
    args: Sequence[Any] = (),
    *,
    on_result: Callable[[Batch, Any], None],
    on_failure: Callable[[Batch, str], None],
) -> None:
    """Run `fn(batch, *args)` for every batch of `work` on `pool` until each batch has gone to
    `on_result` or its items, alone, to `on_failure` (see the module's docstring)."""
    pending: deque[Batch] = deque(list(b) for b in work if b)
    quarantine: deque[Batch] = deque()
    deaths: dict[int, int] = {}  # id(item) -> times it died alone
    in_flight: dict[Future, Batch] = {}
    args = tuple(args)

    def submit(batch: Batch) -> None:
        in_flight[pool.submit(_call, fn, batch, args)] = batch

    def settle(batch: Batch, future: Future) -> bool:
        """Hand a finished task's outcome on; False when it was lost with a broken pool."""
        try:
            result = future.result()
        except BrokenProcessPool:
            return False
        except Exception as err:  # the task raised (Dask: KilledWorker, ...)
            if len(batch) > 1:
                pending.extendleft([item] for item in reversed(batch))
            else:
                on_failure(batch, error_text(err))
        else:
            on_result(batch, result)
        return True

    while pending or quarantine or in_flight:
        if quarantine:
            if not in_flight:
                submit(quarantine.popleft())
        else:
            while pending and len(in_flight) < pool.in_flight:
                submit(pending.popleft())
        alone = len(in_flight) == 1
        finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        lost = [batch for f in finished if not settle(batch := in_flight.pop(f), f)]
        if not lost:
            continue
        if not pool.replaceable:
            raise BrokenProcessPool(f"{pool.name} broke and cannot be replaced")
        for future in list(in_flight):  # the pool is broken: keep whatever else finished
            batch = in_flight.pop(future)
            if not settle(batch, future):
                lost.append(batch)
        pool.replace()
        if alone and len(lost) == 1 and len(lost[0]) == 1:
            item = lost[0][0]
            deaths[id(item)] = deaths.get(id(item), 0) + 1
            if deaths[id(item)] >= QUARANTINE_TRIES:
                on_failure(lost[0], WORKER_DIED)
            else:
                quarantine.appendleft(lost[0])
        else:
            quarantine.extend([item] for batch in lost for item in batch)

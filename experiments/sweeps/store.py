"""A sweep's results folder: what is saved where, how it is made safe to resume, how it is read.

DIR holds spec.toml (the spec as written) and sweep.json (the checked spec, its digest and run
count) beside runs/ and timeseries/, which hold Parquet part files, one pair a finished batch.
sweep.json is written first, whole (a temporary file renamed), before any other file, so a
folder is either empty or a sweep that `--resume` can finish. A run that failed is tried again
by `--resume` (up to `--retries` more attempts): each attempt is a row of its own, with its
`attempt` number and error, so the failure history stays; readers take each run's last attempt.
A part is written under a temporary name and renamed when complete, and the runs part is
renamed last, so a run counts as done exactly when its row is in DIR/runs/. That is what makes
`--resume` safe after the driver is killed at any moment: it runs only the ids missing from
DIR/runs/ and throws away temporary files and time series whose runs part never landed.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.sweeps.spec import RunSpec, SpecError, SweepSpec
from market.metrics import INDICATORS
from market.schema import field_for

FORMAT_VERSION = 1
META_FILE = "sweep.json"
SPEC_FILE = "spec.toml"
LOCK_FILE = ".lock"


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
        return read_meta(self.meta_path, "--resume")

    def leftovers_only(self) -> bool:
        """The folder holds nothing but what a sweep killed before its sweep.json landed can
        leave (a lock, temporary files, empty runs/ and timeseries/, spec.toml)."""
        for path in self.root.iterdir():
            if path.name in (LOCK_FILE, SPEC_FILE) or (
                path.name.startswith(".") and path.name.endswith(".tmp")
            ):
                continue
            if path in (self.runs_dir, self.ts_dir) and path.is_dir():
                if any(not p.name.endswith(".tmp") for p in path.iterdir()):
                    return False
                continue
            return False
        return True

    def sweep_like(self) -> bool:
        """The folder holds only what a sweep writes (its sweep.json lost or deleted)."""
        names = {LOCK_FILE, SPEC_FILE, "runs", "timeseries", "analysis"}
        return any(self.root.iterdir()) and all(
            p.name in names or (p.name.startswith(".") and p.name.endswith(".tmp"))
            for p in self.root.iterdir()
        )

    def _check_rebuild(self, spec: SweepSpec) -> None:
        """--resume on a sweep folder without sweep.json: only with the spec it was started
        from (its spec.toml, and the parameter columns of its runs)."""
        saved = self.root / SPEC_FILE
        if saved.exists() and spec.text and saved.read_text() != spec.text:
            raise SpecError(
                f"--resume: {self.root} has no {META_FILE} and was started from another spec "
                f"(saved as {saved}); resume with that spec or choose another --out"
            )
        import pyarrow.parquet as pq

        keys = {p.key for p in spec.parameters}
        for path in sorted(self.runs_dir.glob("part-*.parquet"))[:1]:
            try:
                names = set(pq.read_schema(path).names)
            except (OSError, ValueError):
                _read_part(path)  # raises the one-line message naming the part
                raise
            if not keys <= names:
                raise SpecError(
                    f"--resume: {self.root} has no {META_FILE} and its runs vary other keys "
                    "than this spec; resume with the spec it was started from"
                )

    def check(self, spec: SweepSpec, resume: bool) -> None:
        """Refuse, before anything is written, a folder that holds something else."""
        meta = self.meta()
        if meta is None:
            if not self.root.exists() or (self.root.is_dir() and self.leftovers_only()):
                return
            if resume and self.root.is_dir() and self.sweep_like():
                self._check_rebuild(spec)  # open() writes sweep.json again from this spec
                return
            raise SpecError(
                f"--out {self.root}: exists and is not a sweep folder (no {META_FILE}); "
                "choose a new or empty folder"
            )
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
        """Create the folder, take its lock and save the spec (first time only) before the
        folders the runs go in."""
        self.root.mkdir(parents=True, exist_ok=True)
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
        self.runs_dir.mkdir(exist_ok=True)
        self.ts_dir.mkdir(exist_ok=True)

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

    def done(self) -> dict[int, tuple[int, str]]:
        """Each saved run's last attempt: run id -> (attempt, status)."""
        latest: dict[int, tuple[int, str]] = {}
        if not self.runs_dir.is_dir():
            return latest
        for path in sorted(self.runs_dir.glob("part-*.parquet")):
            table = _read_part(path, ["run_id", "status", "attempt"])
            ids = table.column("run_id").to_pylist()
            status = table.column("status").to_pylist()
            attempts = (
                table.column("attempt").to_pylist()
                if "attempt" in table.column_names
                else [1] * len(ids)
            )
            for run_id, state, attempt in zip(ids, status, attempts, strict=True):
                if run_id in latest and latest[run_id][0] == attempt:
                    raise SpecError(
                        f"{path}: repeats run ids saved in another part; folder damaged (delete "
                        "this part and finish with --resume)"
                    )
                if run_id not in latest or latest[run_id][0] < attempt:
                    latest[run_id] = (attempt, state)
        return latest

    def write(
        self,
        spec: SweepSpec,
        runs: Sequence[RunSpec],
        result: dict[str, Any],
        attempts: dict[int, int] | None = None,
    ) -> None:
        """Save one finished batch: timeseries part, then runs part, each renamed when whole."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        by_id = {r.run_id: r for r in runs}
        attempt = attempts or {}
        tries = max((attempt.get(i, 1) for i in by_id), default=1)
        retry = f"-a{tries}" if tries > 1 else ""
        name = f"part-{min(by_id):07d}-{max(by_id):07d}{retry}.parquet"
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
        columns["attempt"] = pa.array([attempt.get(r.run_id, 1) for r in ordered], pa.int64())
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


# --- reading a folder -----------------------------------------------------------------------------


FIX_HINT = "finish the sweep with `minerals sweep SPEC --out DIR --resume`"


def read_meta(path: Path, how: str) -> dict[str, Any]:
    """DIR/sweep.json, or SpecError naming it and what to do when it is damaged."""
    try:
        meta = json.loads(path.read_text())
    except OSError as err:
        raise SpecError(f"{path}: cannot read: {err.strerror}") from None
    except (ValueError, RecursionError):
        meta = None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("spec"), dict)
        or not isinstance(meta.get("digest"), str)
    ):
        raise SpecError(
            f"{path}: damaged (not the JSON a sweep writes); delete it and run "
            f"`minerals sweep SPEC --out {path.parent} --resume` with the sweep's spec "
            f"({path.parent / SPEC_FILE}) to write it again"
            + ("" if how == "--resume" else ", then analyze again")
        )
    return meta


def _read_part(path: Path, columns: list[str] | None = None) -> Any:
    """One Parquet part as an Arrow table, or SpecError naming it (a truncated or damaged part:
    delete it and --resume runs its runs again)."""
    import pyarrow.parquet as pq

    try:
        if columns is not None:
            names = pq.read_schema(path).names
            columns = [c for c in columns if c in names]
        return pq.read_table(path, columns=columns)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        detail = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise SpecError(
            f"{path}: damaged Parquet part ({detail}); delete it, then {FIX_HINT} to run its "
            "runs again"
        ) from None


def load_sweep(folder: str | Path) -> SweepSpec:
    """The spec a sweep ran, from DIR/sweep.json (the scenario is not read again)."""
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not meta_path.exists():
        raise SpecError(
            f"{folder}: not a sweep folder (no {META_FILE}); run `minerals sweep` first"
        )
    meta = read_meta(meta_path, "analyze")
    try:
        return SweepSpec.from_canonical(meta["spec"], source=str(meta.get("source", "")))
    except SpecError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise SpecError(
            f"{meta_path}: damaged (its spec lacks {err}); delete it and run `minerals sweep "
            f"SPEC --out {folder} --resume` with the sweep's spec to write it again"
        ) from None


def latest_attempts(frame: Any) -> Any:
    """Each run's last attempt (a run tried again by --resume has a row per attempt)."""
    if "attempt" not in frame.columns:
        frame["attempt"] = 1
    frame = frame.sort_values(["run_id", "attempt"], ignore_index=True)
    return frame.drop_duplicates("run_id", keep="last", ignore_index=True)


def read_attempts(out: str | Path) -> Any:
    """Every attempt of every run (the failure history), in run id and attempt order."""
    import pandas as pd

    parts = sorted(Path(out, "runs").glob("part-*.parquet"))
    if not parts:
        raise SpecError(f"{out}: no runs saved (is it a sweep's --out folder?)")
    frame = pd.concat([_read_part(p).to_pandas() for p in parts], ignore_index=True)
    if "attempt" not in frame.columns:
        frame["attempt"] = 1
    return frame.sort_values(["run_id", "attempt"], ignore_index=True)


def read_runs(out: str | Path) -> Any:
    """DIR/runs as one DataFrame, one row per run (its last attempt), in run id order."""
    return latest_attempts(read_attempts(out))


def read_timeseries(out: str | Path) -> Any:
    """DIR/timeseries as one DataFrame: run_id, quarter and every indicator."""
    import pandas as pd

    parts = sorted(Path(out, "timeseries").glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=["run_id", "quarter", *INDICATORS])
    frame = pd.concat([_read_part(p).to_pandas() for p in parts], ignore_index=True)
    return frame.sort_values(["run_id", "quarter"], ignore_index=True)

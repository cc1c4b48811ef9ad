"""A sweep's results folder: what is saved where, how it is made safe to resume, how it is read.

DIR holds spec.toml (the spec as written) and sweep.json (the checked spec, its digest and run
count) beside runs/ and timeseries/, which hold Parquet part files, one pair a finished batch.
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

    def write(self, spec: SweepSpec, runs: Sequence[RunSpec], result: dict[str, Any]) -> None:
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


# --- reading a folder -----------------------------------------------------------------------------


def load_sweep(folder: str | Path) -> SweepSpec:
    """The spec a sweep ran, from DIR/sweep.json (the scenario is not read again)."""
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not meta_path.exists():
        raise SpecError(
            f"{folder}: not a sweep folder (no {META_FILE}); run `minerals sweep` first"
        )
    meta = json.loads(meta_path.read_text())
    return SweepSpec.from_canonical(meta["spec"], source=str(meta.get("source", "")))


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

"""`minerals sweep` beside `mesa.batch_run` on the same grid, and a large Sobol design.

Part 1, the same 200-run grid both ways (2 processes each), run from a fresh interpreter as a
user runs them, alternating between the two for --rounds rounds (median reported):

  grid         scenario `coordinated-response`, 40 quarters, `alliance.coordination_delay`
               0..19 x `supplier.budget` 1000 or 3000 USD m x 5 seeds = 200 runs.
  sweep        `python -m experiments.cli sweep SPEC --out DIR --workers 2`: Parquet parts for
               the runs (4 metrics) and every run's quarterly indicators.
  batch_run    a script the way Mesa's documentation writes one: `mesa.batch_run(MineralMarket,
               parameters, rng=[5 seeds], number_processes=2, data_collection_period=1,
               max_steps=1000, display_progress=False)`, then, as users keep their results,
               `pandas.DataFrame(results).to_parquet(...)`. Mesa collects every quarter's
               indicators (data_collection_period=1), so both keep the same quarterly data.

  wall time    from starting the command to its exit (time.perf_counter), interpreter start
               and imports included.
  CPU time     user + system CPU seconds of the command and all its descendants
               (getrusage(RUSAGE_CHILDREN) before and after): the work done, which other
               load on the machine disturbs much less than it disturbs wall time. This script
               makes itself the subreaper of what the command leaves (PR_SET_CHILD_SUBREAPER)
               and reaps it, so a process the command did not wait for counts too: the
               sweep's fork server, which reaps the workers it forked.
  peak memory  the highest sum of resident memory over the process tree (the command and all
               its descendants: the sweep's fork server and pool workers, Mesa's
               spawned workers and their resource tracker), sampled from /proc every 50 ms:
               VmRSS from /proc/PID/status, which
               counts a page shared by several processes once in each, and Pss from
               /proc/PID/smaps_rollup, which splits a shared page between its sharers.

Part 1b, what comes before any run: the same two commands on a 2-run grid, and a process that
only imports the model. From these the script derives each tool's CPU time per run (the extra
198 runs' CPU time / 198), the most the sweep could gain over batch_run if runs cost nothing
(the ratio of the two 2-run wall times), how cheap runs would have to become for the sweep to
be twice as fast on the 200-run grid, and the least memory a process that runs the model holds.
For the second: if both tools' run time (200-run wall time less 2-run wall time, R_sweep and
R_batch) shrank by the same factor x, batch_run / sweep = (B2 + x R_batch) / (S2 + x R_sweep),
which reaches 2 only for x <= (B2 - 2 S2) / (2 R_sweep - R_batch), B2 and S2 the 2-run times.

Part 1c, with --large SEEDS: the same grid with SEEDS seeds a point, once each way, for how each
tool's peak memory grows with the number of runs.

Part 2, the Sobol design of experiments/specs/levers-sobol.toml: 8 parameters with N = 512
(second order: N * (2 * 8 + 2) = 9,216 runs of 40 quarters) through `minerals sweep
--workers 2`, then `minerals analyze` on it: runs per second over the sweep's own run time
and over its whole wall time.

The script reports; it asserts nothing and exits 0 unless it crashes. Run from the repository
root:

    .venv/bin/python benchmarks/bench_sweep.py                 # both parts, ~4 minutes
    .venv/bin/python benchmarks/bench_sweep.py --skip-sobol    # part 1 only, ~1 minute
    .venv/bin/python benchmarks/bench_sweep.py --rounds 5 --json /tmp/bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SAMPLE_SECONDS = 0.05
TARGET_SPEED = 2.0  # batch_run wall time / sweep wall time
TARGET_MEMORY = 0.1  # sweep peak memory / batch_run peak memory
DELAYS = list(range(20))
BUDGETS = [1000.0, 3000.0]
SEEDS = 5
QUARTERS = 40
METRICS = '["bankruptcies", "fiscal_cost", "price_allied_mean", "dominant_share_final"]'
SMALL = ([0], [1000.0], 2)  # delays, budgets, seeds: 2 runs, to measure what comes before any run
# Python, Mesa (which brings pandas and SciPy) and the model, then a pause long enough for the
# 50 ms sampler to see the process at its peak.
IMPORT_ONLY = "import time, market.model; time.sleep(0.5)"


def grid_spec(delays: list[int], budgets: list[float], seeds: int) -> str:
    return f"""
scenario = "coordinated-response"
quarters = {QUARTERS}
replications = {seeds}
seed = 1
[design]
method = "grid"
[parameters]
"alliance.coordination_delay" = {delays}
"supplier.budget" = {budgets}
[outputs]
metrics = {METRICS}
"""


SOBOL_SPEC = ROOT / "experiments" / "specs" / "levers-sobol.toml"  # N = 512, 8 levers


def batch_run_script(delays: list[int], budgets: list[float], seeds: int) -> str:
    return f"""
import sys
import time

sys.path.insert(0, {str(ROOT)!r})
import mesa
import pandas as pd

from market import MineralMarket

if __name__ == "__main__":
    start = time.perf_counter()
    results = mesa.batch_run(
        MineralMarket,
        parameters={{
            "scenario": "coordinated-response",
            "quarters": {QUARTERS},
            "alliance.coordination_delay": {delays},
            "supplier.budget": {budgets},
        }},
        rng=list(range(1, {seeds + 1})),
        number_processes=2,
        data_collection_period=1,
        max_steps=1000,
        display_progress=False,
    )
    pd.DataFrame(results).to_parquet(sys.argv[1])
    runs = len({{row["RunId"] for row in results}})
    print(f"{{runs}} runs, {{len(results)}} rows in {{time.perf_counter() - start:.2f}} s")
"""


# --- measuring a process tree ---------------------------------------------------------------------


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def _kib(path: str, field: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """Peak summed RSS and PSS of a process and its descendants, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_kib = 0
        self.peak_pss_kib = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _descendants(self.pid)
            rss = sum(_kib(f"/proc/{p}/status", "VmRSS:") for p in pids)
            pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.peak_processes = max(self.peak_processes, len(pids))
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Measure:
    name: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    peak_pss_mib: float
    processes: int
    output: str


def _adopt_orphans() -> None:
    """Become the subreaper of the commands' descendants (Linux), so that a process a command
    leaves behind, such as the fork server its workers came from, is reparented here when the
    command exits and its CPU time is counted once `_reap_orphans` waits for it."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans(timeout: float = 30.0) -> None:
    """Wait for every child left after a command (they exit once it has: the fork server
    sees its driver gone), so their CPU time lands in RUSAGE_CHILDREN."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, args: list[str]) -> Measure:
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    memory = TreeMemory(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    _reap_orphans()
    cpu = _children_cpu() - cpu
    memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{err.decode()}")
    return Measure(
        name,
        wall,
        cpu,
        memory.peak_rss_kib / 1024,
        memory.peak_pss_kib / 1024,
        memory.peak_processes,
        out.decode().strip(),
    )


# --- the two parts -------------------------------------------------------------------------------


def sweep_args(spec: Path, out: Path) -> list[str]:
    return [
        PYTHON,
        "-m",
        "experiments.cli",
        "sweep",
        str(spec),
        "--out",
        str(out),
        "--workers",
        "2",
        "--no-progress",
    ]


def grid(rounds: int, work: Path, delays: list, budgets: list, seeds: int) -> dict[str, list]:
    """Both tools on one grid, alternating which goes first; and, in the small grid's rounds,
    a process that only imports the model: the least memory any process running it holds."""
    tag = f"{len(delays) * len(budgets) * seeds}runs"
    spec = work / f"grid-{tag}.toml"
    spec.write_text(grid_spec(delays, budgets, seeds))
    script = work / f"batch_run-{tag}.py"
    script.write_text(batch_run_script(delays, budgets, seeds))
    small = (delays, budgets, seeds) == SMALL
    results: dict[str, list[Measure]] = {"sweep": [], "batch_run": []}
    if small:
        results["import"] = []
    for i in range(rounds):
        order = ["sweep", "batch_run"] if i % 2 == 0 else ["batch_run", "sweep"]
        for name in order + (["import"] if small else []):
            target = work / f"{name}-{tag}-{i}"
            if name == "sweep":
                m = measure(name, sweep_args(spec, target))
            elif name == "import":
                m = measure(name, [PYTHON, "-c", IMPORT_ONLY])
            else:
                m = measure(name, [PYTHON, str(script), str(target) + ".parquet"])
            results[name].append(m)
            print(
                f"  round {i + 1} {name:<9} {m.wall_s:6.2f} s  CPU {m.cpu_s:6.2f} s  "
                f"RSS {m.peak_rss_mib:6.0f} MiB  "
                f"PSS {m.peak_pss_mib:6.0f} MiB  ({m.processes} processes)",
                flush=True,
            )
    return results


def medians(rows: dict[str, list[Measure]]) -> dict[str, dict[str, float]]:
    fields = ("wall_s", "cpu_s", "peak_rss_mib", "peak_pss_mib")
    return {
        name: {f: statistics.median(getattr(m, f) for m in ms) for f in fields}
        for name, ms in rows.items()
    }


def sobol(samples: int, work: Path) -> dict[str, float | int | str]:
    spec = work / "sobol.toml"
    text = SOBOL_SPEC.read_text()
    spec.write_text(re.sub(r"(?m)^samples = \d+", f"samples = {samples}", text))
    out = work / "sobol"
    m = measure("sobol sweep", sweep_args(spec, out))
    reported = re.search(r"(\d+) run now on .* in ([\d.]+) s", m.output)
    runs = int(reported.group(1)) if reported else 0
    run_s = float(reported.group(2)) if reported else float("nan")
    start = time.perf_counter()
    analysis = subprocess.run(
        [PYTHON, "-m", "experiments.cli", "analyze", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    analyze_s = time.perf_counter() - start
    return {
        "runs": runs,
        "wall_s": m.wall_s,
        "run_s": run_s,
        "runs_per_s": runs / run_s,
        "runs_per_s_wall": runs / m.wall_s,
        "peak_rss_mib": m.peak_rss_mib,
        "peak_pss_mib": m.peak_pss_mib,
        "analyze_s": analyze_s,
        "analysis": analysis.stdout,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of part 1 (default 3)")
    parser.add_argument("--skip-sobol", action="store_true", help="part 1 only")
    parser.add_argument("--skip-grid", action="store_true", help="part 2 only")
    parser.add_argument("--samples", type=int, default=512, help="Sobol N (default 512)")
    parser.add_argument(
        "--large",
        type=int,
        metavar="SEEDS",
        help="also run the grid once each way with this many seeds (50: 2,000 runs), to see "
        "how peak memory grows with the number of runs",
    )
    parser.add_argument("--keep", type=Path, help="keep the results in this folder")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at the start"
    )
    _adopt_orphans()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if not args.skip_grid:
            n_runs = len(DELAYS) * len(BUDGETS) * SEEDS
            print(f"Part 1: the same {n_runs}-run grid, 2 processes each")
            rows = grid(args.rounds, work, DELAYS, BUDGETS, SEEDS)
            n_small = len(SMALL[0]) * len(SMALL[1]) * SMALL[2]
            print(f"\nPart 1b: the same tools on a {n_small}-run grid, and an import alone")
            floor_rows = grid(args.rounds, work, *SMALL)
            med, floor = medians(rows), medians(floor_rows)
            speed = med["batch_run"]["wall_s"] / med["sweep"]["wall_s"]
            cpu_ratio = med["batch_run"]["cpu_s"] / med["sweep"]["cpu_s"]
            rss = med["sweep"]["peak_rss_mib"] / med["batch_run"]["peak_rss_mib"]
            pss = med["sweep"]["peak_pss_mib"] / med["batch_run"]["peak_pss_mib"]
            print(
                f"\n  median of {args.rounds}      wall time    CPU time   peak RSS (sum)   "
                "peak PSS (sum)"
            )
            for label, table in ((f"{n_runs} runs", med), (f"{n_small} runs", floor)):
                for name, r in table.items():
                    print(
                        f"  {name + ' ' + label:<22} {r['wall_s']:6.2f} s {r['cpu_s']:8.2f} s "
                        f"{r['peak_rss_mib']:11.0f} MiB {r['peak_pss_mib']:12.0f} MiB"
                    )
            verdict = "PASS" if speed >= TARGET_SPEED else "MISS"
            print(f"  speed: batch_run / sweep wall time = {speed:.2f}x  (target >= 2)  {verdict}")
            print(f"  work: batch_run / sweep CPU time = {cpu_ratio:.2f}x")
            for label, ratio in (("RSS", rss), ("PSS", pss)):
                verdict = "PASS" if ratio <= TARGET_MEMORY else "MISS"
                print(
                    f"  memory: sweep / batch_run peak {label} = {ratio:.2f}  (target <= 0.1)  "
                    f"{verdict}"
                )
            per_run = {
                name: (med[name]["cpu_s"] - floor[name]["cpu_s"]) / (n_runs - n_small)
                for name in ("sweep", "batch_run")
            }
            bound = floor["batch_run"]["wall_s"] / floor["sweep"]["wall_s"]
            tenth = med["batch_run"]["peak_rss_mib"] * TARGET_MEMORY
            print(
                f"  per run: {per_run['sweep'] * 1000:.1f} ms CPU in the sweep, "
                f"{per_run['batch_run'] * 1000:.1f} ms in batch_run (the extra runs' CPU time / "
                f"{n_runs - n_small})"
            )
            print(
                f"  before any run: batch_run {floor['batch_run']['wall_s']:.2f} s, sweep "
                f"{floor['sweep']['wall_s']:.2f} s: {bound:.2f}x is the most the sweep could "
                "gain if runs cost nothing"
            )
            run_s = {n: med[n]["wall_s"] - floor[n]["wall_s"] for n in ("sweep", "batch_run")}
            spare = floor["batch_run"]["wall_s"] - TARGET_SPEED * floor["sweep"]["wall_s"]
            needed = spare / (TARGET_SPEED * run_s["sweep"] - run_s["batch_run"])
            if spare <= 0:
                print("  2x on this grid: out of reach even if runs cost nothing")
            else:
                print(
                    f"  2x on this grid would need runs at {needed:.0%} of their cost, about "
                    f"{needed * per_run['sweep'] * 1000:.1f} ms of CPU a run"
                )
            print(
                f"  importing the model alone: {floor['import']['peak_rss_mib']:.0f} MiB RSS in "
                f"one process; a tenth of batch_run's peak is {tenth:.0f} MiB"
            )
            report["grid"] = {
                "median": med,
                "small_grid_median": floor,
                "speed_ratio": speed,
                "cpu_ratio": cpu_ratio,
                "rss_ratio": rss,
                "pss_ratio": pss,
                "cpu_per_run_s": per_run,
                "speed_bound_without_runs": bound,
                "run_cost_share_for_target": max(needed, 0.0) if spare > 0 else 0.0,
                "rounds": {k: [asdict(m) for m in v] for k, v in rows.items()},
                "small_rounds": {k: [asdict(m) for m in v] for k, v in floor_rows.items()},
            }
        if args.large:
            n_large = len(DELAYS) * len(BUDGETS) * args.large
            print(f"\nPart 1c: the grid with {args.large} seeds, {n_large:,} runs, once each way")
            large = medians(grid(1, work, DELAYS, BUDGETS, args.large))
            for name in ("sweep", "batch_run"):
                print(
                    f"  {name:<9} peak RSS {large[name]['peak_rss_mib']:.0f} MiB, PSS "
                    f"{large[name]['peak_pss_mib']:.0f} MiB"
                )
            report["large_grid"] = {"seeds": args.large, "runs": n_large, "median": large}
        if not args.skip_sobol:
            n = args.samples * (2 * 8 + 2)
            print(
                f"\nPart 2: Sobol design, 8 parameters, N = {args.samples}: {n:,} runs of "
                f"{QUARTERS} quarters"
            )
            s = sobol(args.samples, work)
            print(
                f"  {s['runs']:,} runs in {s['run_s']:.1f} s of running ({s['runs_per_s']:.1f} "
                f"runs/s); {s['wall_s']:.1f} s wall from the command's start "
                f"({s['runs_per_s_wall']:.1f} runs/s); peak RSS {s['peak_rss_mib']:.0f} MiB, "
                f"PSS {s['peak_pss_mib']:.0f} MiB; analyze {s['analyze_s']:.1f} s"
            )
            print("  " + str(s["analysis"]).strip().replace("\n", "\n  "))
            report["sobol"] = s
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

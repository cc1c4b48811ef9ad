"""`minerals sweep SPEC --out DIR`: run a sweep spec on local processes or a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.cli.options import whole
from experiments.cli.paths import out_folder

RETRIES = 2  # experiments.sweeps.driver.RETRIES, kept here so that --help needs no import

HELP = "run a parameter sweep (grid, random, sobol, morris) and save its runs as Parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the sweep spec, a TOML file (docs/sweeps.md)")
    parser.add_argument("--out", type=out_folder, required=True, help="folder for the results")
    parser.add_argument(
        "--workers",
        type=whole(1),
        help="local worker processes (default: one per core); ignored with a Dask scheduler",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler such as tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS, "
        "else local processes)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="finish a sweep in --out: run only the runs it does not hold yet",
    )
    parser.add_argument(
        "--batch-size",
        type=whole(1),
        metavar="N",
        help="runs per task (default: about a second of work per task, fewer near the end)",
    )
    parser.add_argument(
        "--retries",
        type=whole(0),
        default=RETRIES,
        metavar="N",
        help=f"with --resume, try each failed run again up to N times (default: {RETRIES}); "
        "every attempt's error stays in runs/",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="start a sweep past 100,000 runs or an hour by the estimate printed first",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from experiments.cli.paths import check_out
    from experiments.executor import scheduler_address, start_fork_server

    scheduler = scheduler_address(args.scheduler)
    if not scheduler:
        start_fork_server()  # the workers' model is imported while the spec is read

    from experiments.sweeps.driver import run_sweep
    from experiments.sweeps.spec import load_spec

    spec = load_spec(args.spec)
    check_out(args.out)  # before any run: a file, no room, not writable
    try:
        report = run_sweep(
            spec,
            args.out,
            workers=args.workers,
            scheduler=scheduler,
            resume=args.resume,
            batch=args.batch_size,
            progress=not args.no_progress,
            retries=args.retries,
            yes=args.yes,
            announce=lambda line: print(line, flush=True),
        )
    except KeyboardInterrupt:
        print(
            f"minerals: interrupted; the runs saved so far are in {args.out}; finish with --resume",
            file=sys.stderr,
        )
        return 130
    rate = report.ran / report.seconds if report.seconds > 0 else 0.0
    print(
        f"{report.total} runs in {report.out} ({report.before} saved before, {report.ran} run "
        f"now on {report.executor} in {report.seconds:.1f} s, {rate:.1f} runs/s); "
        f"{report.failed} failed"
    )
    if report.failed:
        print(
            "  failed runs have status 'failed' and their error in runs/ (minerals analyze); "
            f"--resume tries them again (up to {args.retries} more attempts each)"
        )
    return 0

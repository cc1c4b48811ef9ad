"""`minerals analyze DIR`: tables, sensitivity indices and plots from a sweep's results."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "summarise a sweep: tables per design point, Sobol or Morris indices, plots"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="the sweep's --out folder")
    parser.add_argument(
        "--out", type=Path, help="folder for the tables and plots (default: DIR/analysis)"
    )
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help="analyse only this metric (repeatable; default: every metric the sweep recorded)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write the tables only")


def run(args: argparse.Namespace) -> int:
    from experiments.sweeps.analysis import analyze

    result = analyze(args.dir, out=args.out, metrics=args.metric, plots=not args.no_plots)
    print(result.summary)
    return 0

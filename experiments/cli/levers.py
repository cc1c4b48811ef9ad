"""`minerals levers`: every lever of the catalog at the low and the high end of its range,
against the scenario as it is, over the same seeds; the effects as a table and a tornado chart,
and each lever with no effect marked with the reason. The logic is in `experiments/levers/`;
docs/levers.md is the guide.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.cli.options import add_jobs, whole
from experiments.cli.paths import out_folder

HELP = "play each lever at the ends of its range and tabulate what it does to six outcomes"
DEFAULT_SCENARIO = "baseline"  # as `minerals run`
DEFAULT_SEEDS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help="a name (see `minerals scenarios`) or a path to a TOML file "
        f"(default: {DEFAULT_SCENARIO})",
    )
    what.add_argument(
        "--update-docs",
        action="store_true",
        help="every named scenario, written into docs/levers.md and docs/levers/*.png",
    )
    parser.add_argument(
        "--seeds",
        type=whole(1),
        default=DEFAULT_SEEDS,
        help=f"play seeds 1..N of every setting (default: {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--out",
        type=out_folder,
        help="folder for effects.csv, as_is.csv, levers.md and tornado.png, replaced whole "
        "(default: runs/levers/SCENARIO)",
    )
    add_jobs(parser)


def run(args: argparse.Namespace) -> int:
    from experiments.cli.paths import slug
    from experiments.levers.report import check_out
    from market.scenarios import load_scenario, named_scenarios
    from market.schema import ScenarioError

    if args.update_docs and args.out is not None:
        raise ScenarioError("--out: not with --update-docs, which writes docs/levers.md")
    names = list(named_scenarios()) if args.update_docs else [args.scenario]
    specs = [load_scenario(name) for name in names]
    out = None
    if not args.update_docs:
        out = args.out or Path("runs") / "levers" / slug(specs[0].name)
        check_out(out)

    from experiments.executor import make_pool, start_fork_server

    if args.jobs > 1:
        start_fork_server()  # the workers' model is imported while the designs are made
    from tqdm import tqdm

    from experiments.levers.analysis import analyse
    from experiments.levers.design import make_design
    from experiments.levers.report import text_summary, update_docs, write_report
    from experiments.levers.runner import run_design

    seeds = list(range(1, args.seeds + 1))
    designs = [make_design(spec, seeds) for spec in specs]
    total = sum(len(d.runs()) for d in designs)
    bar = tqdm(total=total, desc="levers", unit="run", file=sys.stderr, delay=2, leave=False)
    analyses = []
    try:
        with make_pool(args.jobs, in_process=args.jobs <= 1) as pool:
            for design in designs:
                bar.set_postfix_str(design.spec.name, refresh=False)
                analyses.append(analyse(design, *run_design(design, pool, bar.update)))
    finally:
        bar.close()
    for analysis in analyses:
        for warning in analysis.warnings:
            print(f"minerals: warning: {warning}", file=sys.stderr)
    if out is None:
        update_docs(analyses, f"minerals levers --update-docs --seeds {args.seeds}")
        where = "docs/levers.md and docs/levers/"
    else:
        write_report(analyses[0], out)
        where = str(out)
    for analysis in analyses:
        print(text_summary(analysis))
    print(f"table and tornado chart in {where}")
    return 0

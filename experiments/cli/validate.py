"""`minerals validate`: play the historical episodes and set the model beside history.

Each episode file (`market/scenarios/history/*.toml`; format in docs/validation.md) is played
over the same fixed seeds. The exit status is 0 only when every scored figure of every episode
passes, 1 when one fails and 2 for a bad episode file. The table goes to `--out` as Markdown
beside one chart per episode; `--update-docs` also refreshes docs/validation.md and
docs/validation/. The logic is in `experiments/history/validate.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.cli.options import add_jobs, whole
from experiments.cli.paths import out_folder

HELP = "play the historical episodes and compare the model with what was observed"
DEFAULT_SEEDS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="episode files to play (default: every file in market/scenarios/history/)",
    )
    parser.add_argument(
        "--seeds",
        type=whole(1),
        default=DEFAULT_SEEDS,
        help=f"play seeds 1..N (default: {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--out",
        type=out_folder,
        default=Path("runs") / "validate",
        help="folder for the table and charts",
    )
    add_jobs(parser)
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help="also write the table into docs/validation.md and the charts into docs/validation/",
    )


def run(args: argparse.Namespace) -> int:
    from experiments.cli.paths import check_out, reason
    from experiments.executor import start_fork_server

    if args.jobs > 1:
        start_fork_server()  # the workers' model is imported while the episodes load

    from experiments.history.episodes import episode_paths, load_episode
    from experiments.history.validate import (
        text_table,
        update_docs,
        validate,
        validation_table,
        write_report,
    )
    from market.schema import ScenarioError

    episodes = [load_episode(p) for p in episode_paths(args.paths)]
    if not episodes:
        raise ScenarioError("no episode files found in market/scenarios/history/")
    if not args.paths:  # calibration episodes first, then those the model was not fitted to
        episodes.sort(key=lambda e: (e.role != "calibration", e.name))
    check_out(args.out)  # before the episodes are played, not after
    seeds = list(range(1, args.seeds + 1))
    results = validate(episodes, seeds, args.jobs)
    table = validation_table(results)
    print(text_table(results))
    try:
        write_report(results, table, args.out)
    except OSError as err:
        why = reason(err)
        raise ScenarioError(f"--out {args.out}: could not write the report ({why})") from None
    if args.update_docs:
        update_docs(results, table)
    passed = all(r.passed for r in results)
    print(
        f"\n{'every episode passes' if passed else 'some episodes fail'}; table and charts in "
        f"{args.out}"
    )
    return 0 if passed else 1

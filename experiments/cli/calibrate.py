"""`minerals calibrate`: fit a preset's uncertain parameters to the calibration episodes.

The method, the calibration file and the record are described in
`experiments/history/calibrate.py` and docs/calibration.md ("Fitted by minerals calibrate").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.cli.options import add_jobs, whole
from experiments.cli.paths import out_folder

HELP = "fit a preset's uncertain parameters to the calibration episodes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset", default="ndpr", help="the preset to fit (its calibration file must exist)"
    )
    parser.add_argument(
        "--samples", type=whole(1), help="Latin-hypercube points (default: the file's)"
    )
    parser.add_argument(
        "--iterations", type=whole(0), help="Nelder-Mead evaluations (default: the file's)"
    )
    add_jobs(parser)
    parser.add_argument(
        "--out",
        type=out_folder,
        default=Path("runs") / "calibrate",
        help="folder for the fit record (default: runs/calibrate)",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="also write the fitted values into the preset and the committed fit record",
    )


def run(args: argparse.Namespace) -> int:
    from experiments.cli.paths import check_out, reason
    from experiments.executor import make_pool, start_fork_server

    if args.jobs > 1:
        start_fork_server()  # the workers' model is imported while the calibration loads
    from experiments.history.calibrate import (
        fit,
        fitted_path,
        format_fit,
        load_calibration,
        record,
        write_preset,
    )
    from experiments.history.runner import Runner
    from market.scenarios import PRESET_DIR
    from market.schema import ScenarioError

    spec = load_calibration(args.preset)
    check_out(args.out)  # before the fit, which takes minutes, not after it

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    say(
        f"calibrate {spec.preset}: {len(spec.parameters)} parameters, {len(spec.targets)} targets, "
        f"{len(spec.seeds)} seeds"
    )
    with make_pool(args.jobs, in_process=args.jobs <= 1) as pool:
        result = fit(spec, Runner(pool), args.samples, args.iterations, say)
    text = record(result)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / fitted_path(spec.preset).name).write_text(text)
    except OSError as err:
        raise ScenarioError(f"--out {out}: could not write the record ({reason(err)})") from None
    print(format_fit(result))
    if args.write:
        preset = PRESET_DIR / f"{spec.preset}.toml"
        write_preset(preset, result.fitted)
        fitted_path(spec.preset).write_text(text)
        print(f"wrote {preset} and {fitted_path(spec.preset)}")
    return 0

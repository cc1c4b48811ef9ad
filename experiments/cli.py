"""The `minerals` command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import NoReturn

from market.scenarios import describe, named_scenarios, parse_assignment, presets
from market.schema import ScenarioError


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"minerals: error: {message} (see {self.prog} --help)\n")


# Commands that live in their own module: name -> module. Each module has HELP (one line),
# add_arguments(parser) and run(args) -> int, and imports its heavy libraries inside run().
COMMANDS: dict[str, str] = {
    "sweep": "experiments.sweep_cli",
    "analyze": "experiments.analyze_cli",
    "validate": "experiments.validate",
    "calibrate": "experiments.calibrate",
    "ui": "experiments.ui",
}


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="minerals", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    commands.add_parser("scenarios", help="list the named scenarios and mineral presets")
    keys = commands.add_parser("keys", help="list every parameter key, its range and meaning")
    keys.add_argument("--markdown", action="store_true", help="as the table in docs/scenarios.md")

    run = commands.add_parser("run", help="play one scenario headless and write its results")
    run.add_argument(
        "--scenario",
        default="baseline",
        help="a name (see `minerals scenarios`) or a path to a TOML file (default: baseline)",
    )
    run.add_argument("--quarters", type=int, help="length of the run in quarters")
    run.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one parameter by its dotted name; repeatable",
    )
    run.add_argument("--out", type=Path, help="folder for the results (default: runs/SCENARIO)")

    modules = {name: importlib.import_module(path) for name, path in COMMANDS.items()}
    for name, module in modules.items():
        module.add_arguments(commands.add_parser(name, help=module.HELP))

    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a bad flag (one line, status 2): return the status
        return done.code if isinstance(done.code, int) else 0
    try:
        if args.command == "scenarios":
            return list_scenarios()
        if args.command == "keys":
            return list_keys(args.markdown)
        if args.command in modules:
            return modules[args.command].run(args)
        return run_command(args)
    except ScenarioError as err:
        print(f"minerals: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def list_scenarios() -> int:
    named = named_scenarios()
    width = max(len(n) for n in [*named, *presets()])
    print("Scenarios:")
    for name in named:
        print(f"  {name:<{width}}  {describe(name)}")
    print("Mineral presets (also runnable as scenarios):")
    for name, path in presets().items():
        from market.scenarios import load_scenario

        print(f"  {name:<{width}}  {load_scenario(path).params.get('description', '')}")
    return 0


def list_keys(markdown: bool) -> int:
    from market.schema import FIELDS, markdown_table

    if markdown:
        print(markdown_table())
        return 0
    width = max(len(k) for k in FIELDS)
    for path, spec in FIELDS.items():
        print(f"{path:<{width}}  {spec.allowed()}: {spec.doc}")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from experiments.run import run_scenario, write_outputs

    overrides = dict(parse_assignment(text) for text in args.set)
    if args.quarters is not None:
        overrides["quarters"] = args.quarters
    result = run_scenario(args.scenario, seed=args.seed, overrides=overrides)
    out = args.out or Path("runs") / result.summary["scenario"]
    write_outputs(result, out)
    print(format_summary(result.summary, out))
    return 0


def format_summary(summary: dict, out: Path) -> str:
    m = summary["metrics"]
    first_dump, first_resp = m["dumping_first_quarter"], m["response_active_first_quarter"]
    lines = [
        f"{summary['scenario']} (seed {summary['seed']}, {summary['quarters']} quarters) -> {out}",
        f"  allied price    mean {m['price_allied_mean']:.1f}, min {m['price_allied_min']:.1f}, "
        f"max {m['price_allied_max']:.1f} USD/kg",
        f"  world price     mean {m['price_world_mean']:.1f}, min {m['price_world_min']:.1f}, "
        f"max {m['price_world_max']:.1f} USD/kg",
        f"  dominant share  {m['dominant_share_final']:.0%} at the end "
        f"(from {m['dominant_share_min']:.0%} to {m['dominant_share_max']:.0%})",
        f"  bankruptcies    {m['bankruptcies_final']}",
        "  dumping         "
        + (
            f"flagged in {m['dumping_quarters']} quarters, first Q{first_dump}"
            if first_dump
            else "never flagged"
        ),
        "  response        "
        + (
            f"active in {m['response_active_quarters']} quarters, first Q{first_resp}"
            if first_resp
            else "never active"
        ),
        f"  fiscal cost     {m['fiscal_cost_final']:,.0f} USD m; dominant supplier's sacrifice "
        f"{m['dominant_sacrifice_final']:,.0f} USD m",
        f"  shortage        {m['shortage_total']:,.0f} t in all",
    ]
    events = summary["events"]
    if events:
        lines.append("  events:")
        lines += [f"    Q{e['quarter']:<3} {e['text']}" for e in events[:12]]
        if len(events) > 12:
            lines.append(f"    ... {len(events) - 12} more in summary.json")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

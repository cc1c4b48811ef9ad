"""`minerals run`: play one scenario headless and write its four files."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "play one scenario headless and write its results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default="baseline",
        help="a name (see `minerals scenarios`) or a path to a TOML file (default: baseline)",
    )
    parser.add_argument("--quarters", type=int, help="length of the run in quarters")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one parameter by its dotted name; repeatable",
    )
    parser.add_argument("--out", type=Path, help="folder for the results (default: runs/SCENARIO)")


def run(args: argparse.Namespace) -> int:
    from experiments.outputs import write_outputs
    from market.play import play
    from market.scenarios import parse_assignment

    overrides = dict(parse_assignment(text) for text in args.set)
    if args.quarters is not None:
        overrides["quarters"] = args.quarters
    played = play(args.scenario, seed=args.seed, overrides=overrides)
    summary = played.summary()
    out = args.out or Path("runs") / summary["scenario"]
    write_outputs(played, out)
    print(format_summary(summary, out))
    return 0


def format_summary(summary: dict, out: Path) -> str:
    """What `minerals run` prints: the run's headline numbers and its first events."""
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

"""`minerals run`: play one scenario headless and write its four files."""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.cli.paths import out_folder
from market.schema import ScenarioError

HELP = "play one scenario headless and write its results"
# The seeds a run takes: numpy seeds from any whole number from 0 up; the bound is the largest a
# 64-bit signed integer holds, as a sweep's Parquet records store seeds.
SEED_MAX = 2**63 - 1


def seed(text: str) -> int:
    """An argparse type: a seed, a whole number from 0 to SEED_MAX."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to {SEED_MAX} (2**63 - 1), got {text}"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--scenario",
        default="baseline",
        help="a name (see `minerals scenarios`) or a path to a TOML file (default: baseline)",
    )
    what.add_argument(
        "--episode",
        type=Path,
        metavar="PATH",
        help="a history episode file (market/scenarios/history/*.toml): play its scenario as "
        "validation plays it",
    )
    parser.add_argument(
        "--variant",
        metavar="NAME",
        help="with --episode: one of the episode's variants (default: base, the scenario as "
        "the episode names it)",
    )
    parser.add_argument("--quarters", type=int, help="length of the run in quarters")
    parser.add_argument("--seed", type=seed, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one parameter by its dotted name; repeatable; refused for a key an "
        "event of the scenario changes",
    )
    parser.add_argument(
        "--out",
        type=out_folder,
        help="folder for the results, replaced whole by each run (default: runs/SCENARIO, the "
        "scenario's name made a folder name)",
    )


def run(args: argparse.Namespace) -> int:
    from experiments.cli.paths import check_out, reason, slug
    from experiments.outputs import OUTPUT_FILES, write_outputs
    from market.play import play
    from market.scenarios import load_scenario, parse_assignment, refuse_event_overrides

    given = dict(parse_assignment(text) for text in args.set)
    if args.quarters is not None:
        given["quarters"] = args.quarters
    scenario, changes, name = args.scenario, {}, None
    if args.episode is not None:
        scenario, changes, name = episode_scenario(args.episode, args.variant)
    elif args.variant is not None:
        raise ScenarioError("--variant: goes with --episode PATH")
    overrides = {**changes, **given}
    # A value given here for a key the timeline changes would hold only until that event fires:
    # refused before anything runs. An episode variant's own changes are part of the episode.
    spec = load_scenario(scenario, overrides)
    refuse_event_overrides(spec, given)
    # A scenario's name is a title from a file: the default folder is a slug of it, always
    # directly in runs/ (a name such as "../../x" or "Quota 2010/11" cannot reach elsewhere).
    out = args.out or Path("runs") / slug(name or spec.name)
    check_out(out, whole=OUTPUT_FILES)  # before the run, not after it
    played = play(scenario, seed=args.seed, overrides=overrides)
    summary = played.summary()
    try:
        write_outputs(played, out)
    except OSError as err:  # a disk that filled up during the run: nothing was written
        raise ScenarioError(
            f"--out {out}: could not write the results ({reason(err)}); nothing was written"
        ) from None
    print(format_summary(summary, out))
    return 0


def episode_scenario(path: Path, variant: str | None) -> tuple[dict, dict, str]:
    """(scenario tree, dotted changes, name for the folder) of an episode's variant, as
    `minerals validate` plays it. Raises ScenarioError naming what is allowed."""
    from experiments.history.episodes import BASE, load_episode

    episode = load_episode(path)
    chosen = variant or BASE
    if chosen not in episode.variants:
        allowed = ", ".join(episode.variants)
        raise ScenarioError(f"--variant {chosen}: {path} has no such variant; one of {allowed}")
    body = episode.variants[chosen]
    return body.tree, dict(body.changes), f"{episode.name}-{chosen}"


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

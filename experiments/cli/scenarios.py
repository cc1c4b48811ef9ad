"""`minerals scenarios`: the named scenarios and mineral presets, one line each."""

from __future__ import annotations

import argparse

HELP = "list the named scenarios and mineral presets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    from market.scenarios import describe, load_scenario, named_scenarios, presets

    named = named_scenarios()
    width = max(len(n) for n in [*named, *presets()])
    print("Scenarios:")
    for name in named:
        print(f"  {name:<{width}}  {describe(name)}")
    print("Mineral presets (also runnable as scenarios):")
    for name, path in presets().items():
        print(f"  {name:<{width}}  {load_scenario(path).params.get('description', '')}")
    return 0

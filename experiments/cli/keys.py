"""`minerals keys`: every parameter key of a scenario, its allowed values and meaning."""

from __future__ import annotations

import argparse

HELP = "list every parameter key, its range and meaning"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--markdown", action="store_true", help="as the table in docs/scenarios.md")


def run(args: argparse.Namespace) -> int:
    from market.schema import FIELDS, markdown_table

    if args.markdown:
        print(markdown_table())
        return 0
    width = max(len(k) for k in FIELDS)
    for path, spec in FIELDS.items():
        print(f"{path:<{width}}  {spec.allowed()}: {spec.doc}")
    return 0

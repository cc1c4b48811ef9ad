"""Command-line options that several `minerals` commands share, checked as argparse reads them:
a bad value is one line naming the flag and what is allowed, exit status 2."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable


def whole(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `least` up."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(f"expected a whole number from {least}, got {text}")
        return value

    return parse


def add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs",
        type=whole(1),
        default=min(2, os.cpu_count() or 1),
        help="processes to play runs in (default: 2, or 1 on a one-core machine)",
    )

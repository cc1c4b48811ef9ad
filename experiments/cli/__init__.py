"""The `minerals` command line: one module a command.

Each command module in this package has HELP (one line), add_arguments(parser) and
run(args) -> int, and imports at module level only what building its parser needs: the job's
logic and its heavy libraries (Mesa, pandas, Arrow, SALib, Dask, SciPy) load inside run(), so
`minerals --help` and the listing commands answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from market.schema import ScenarioError

# In the order `minerals --help` lists them: command -> its module in this package.
COMMANDS = (
    "scenarios",
    "keys",
    "run",
    "sweep",
    "analyze",
    "levers",
    "validate",
    "calibrate",
    "ui",
)


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"minerals: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="minerals", description="The `minerals` command line.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    modules = {name: importlib.import_module(f"{__name__}.{name}") for name in COMMANDS}
    for name, module in modules.items():
        module.add_arguments(commands.add_parser(name, help=module.HELP))
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a bad flag (one line, status 2): return the status
        return done.code if isinstance(done.code, int) else 0
    try:
        return modules[args.command].run(args)
    except ScenarioError as err:
        print(f"minerals: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

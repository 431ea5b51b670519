"""The `netdrift` command: a thin layer over the engine and storage functions."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from netdrift.cli.errors import cli_message
from netdrift.engine.errors import InputError

__all__ = ["main", "build_parser"]

# Each module defines register(subparsers) and sets a `func(args) -> int` default.
_COMMAND_MODULES = (
    "netdrift.cli.topology_cmd",
    "netdrift.cli.simulate_cmd",
    "netdrift.cli.sweep_cmd",
    "netdrift.cli.plan_cmd",
    "netdrift.cli.run_cmd",
    "netdrift.cli.deduce_cmd",
    "netdrift.cli.history_cmd",
    "netdrift.cli.paper_cmd",
    "netdrift.cli.dashboard_cmd",
    "netdrift.cli.exporter_cmd",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit code 2
        self.exit(2, f"netdrift: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="netdrift", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "paper":  # `run` does it itself once its input is checked (torch takes seconds to load)
        from netdrift.engine.forecasting.torch_utils import configure_threads

        configure_threads()
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        print(f"netdrift: error: {cli_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("netdrift: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `netdrift ... | head`: the reader has what it wanted
        from netdrift.cli.common import silence_stdout

        silence_stdout()
        return 0


if __name__ == "__main__":
    sys.exit(main())

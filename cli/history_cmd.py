"""`netdrift history` (being written)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("history", help="(not yet available)").set_defaults(func=lambda args: 1)

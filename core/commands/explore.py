"""python -m core explore: what the cells of a trained run learned, as CSV files (core/explore/)."""
from __future__ import annotations

import argparse

from .common import quiet_tensorflow


def explore_command(args: argparse.Namespace) -> int:
    from ..explore import cli as explore_cli

    quiet_tensorflow()
    return explore_cli.command(args)

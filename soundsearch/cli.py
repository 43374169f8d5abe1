"""Command line entry point: ``soundsearch <command> ...``; no command opens the desktop app.

The parser is assembled from ``soundsearch.commands.*`` modules, one per area (library, model,
search), each with a ``register(subparsers)`` function. Heavy imports (torch, Qt) happen inside
the handlers so that ``soundsearch --help`` and the library commands start fast.
"""

from __future__ import annotations

import argparse
import logging
import sys

from soundsearch import __version__
from soundsearch.commands import COMMAND_MODULES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soundsearch",
        description="Offline sound-library search: scan folders, index them, search by description.",
    )
    parser.add_argument("--version", action="version", version=f"soundsearch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        from soundsearch.gui import launch  # the desktop app is the default job

        return launch()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def gui_main() -> int:
    from soundsearch.gui import launch

    return launch()

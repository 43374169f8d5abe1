"""Command line entry point: ``soundsearch <command> ...``; no command opens the desktop app.

The parser is assembled from ``soundsearch.commands.*`` modules, one per area (library, model,
search), each with a ``register(subparsers)`` function. Heavy imports (torch, Qt) happen inside
the handlers so that ``soundsearch --help`` and the library commands start fast.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys

from soundsearch import __version__
from soundsearch.commands import COMMAND_MODULES
from soundsearch.library.schema import CatalogError


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
    except CatalogError as exc:  # damaged, or from a newer soundsearch: a sentence, no traceback
        print(f"soundsearch: {exc}", file=sys.stderr)
        return 3
    except sqlite3.DatabaseError as exc:  # damage SQLite found only now, in the middle of the job
        print(f"soundsearch: the catalog is damaged ({exc}): run `soundsearch repair` to rebuild it "
              "(your folders are rescanned, stored vectors, collections and your own data kept)",
              file=sys.stderr)
        return 3


def gui_main() -> int:
    from soundsearch.gui import launch

    return launch()

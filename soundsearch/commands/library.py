"""Library commands: scan, roots, remove-root, info, stats, errors."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from soundsearch import paths
from soundsearch.commands.terminal import clean, json_text


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the CLI parser."""
    p = sub.add_parser("scan", help="add folders to the library and scan them (no folder: rescan all)",
                       description="Add DIRs to the library and scan them; later runs only read what "
                                   "changed. Without DIR, rescan every library folder.")
    p.add_argument("dirs", nargs="*", metavar="DIR", type=Path)
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes reading files (default: automatic)")
    p.add_argument("--follow-links", action="store_true",
                   help="also follow symlinked folders that lead outside the library folders")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("roots", help="list the library folders")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_roots)

    p = sub.add_parser("remove-root", help="forget a library folder (its files are not touched)")
    p.add_argument("dir", metavar="DIR", type=Path)
    p.set_defaults(func=cmd_remove_root)

    p = sub.add_parser("info", help="properties and metadata of one sound file",
                       description="Show a file's audio properties, every metadata field with its source, "
                                   "and the metadata text. Works for any file; a catalogued one shows "
                                   "what the catalog holds unless --fresh.")
    p.add_argument("file", metavar="FILE", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--fresh", action="store_true", help="read the file now even if it is catalogued")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("stats", help="summary of the library")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("repair", help="rebuild a damaged catalog: rescan the library folders, keep "
                                      "stored vectors, collections and your own data",
                       description="Check the catalog; if it is damaged (or with --force), move it aside, "
                                   "rescan the library folders into a new one and give back every stored "
                                   "vector and user entry whose file is found again unchanged. "
                                   "Collections are relinked to the new catalog.")
    p.add_argument("--force", action="store_true", help="rebuild even if the catalog looks whole")
    p.add_argument("--follow-links", action="store_true",
                   help="also follow symlinked folders that lead outside the library folders")
    p.set_defaults(func=cmd_repair)

    p = sub.add_parser("errors", help="files and folders that could not be read, with the reason")
    p.add_argument("--json", action="store_true")
    p.add_argument("--warnings", action="store_true",
                   help="also list usable files with a problem (truncated, wrong extension, metadata only)")
    p.set_defaults(func=cmd_errors)


def _catalog():
    from soundsearch.library.catalog import Catalog

    return Catalog(paths.catalog_path())


def _safe(text: str) -> str:
    """Lone surrogates (from undecodable names) would make print() raise: show them escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # (values are clean()ed before)


def _out(text: str) -> None:
    try:
        print(_safe(text))
        sys.stdout.flush()
    except BrokenPipeError:  # `soundsearch info … | head`: the reader left; leave quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None


def _err(message: str) -> None:
    print(_safe(f"soundsearch: {message}"), file=sys.stderr)


class _Printer:
    """Progress on stderr, at most every ~0.5 s (a whole line each time when not a terminal)."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream, self.tty, self.last, self.width = stream, stream.isatty(), 0.0, 0
        self.reading_since: float | None = None
        self.waiting = ""

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if progress.stage == "wait":  # another soundsearch writes: say so once, whatever the rate
            if progress.message != self.waiting:
                self.waiting = progress.message
                self.stream.write(progress.message + "\n")
                self.stream.flush()
            return
        if progress.stage == "scan" and self.reading_since is None:
            self.reading_since = now
        if now - self.last < (0.5 if self.tty else 2.0) and progress.stage != "done":
            return
        self.last = now
        if progress.stage == "walk":
            text = f"looking for sounds: {progress.done:,} found"
        elif progress.stage == "scan" and progress.total:
            rate = progress.done / max(now - (self.reading_since or now), 1e-6)
            text = f"reading new and changed files: {progress.done:,}/{progress.total:,} ({rate:,.0f}/s)"
        else:
            return
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def cmd_scan(args: argparse.Namespace) -> int:
    from soundsearch.jobs import CancelToken, run
    from soundsearch.library.scanner import scan
    from soundsearch.settings import load_settings

    for folder in args.dirs:
        if not folder.is_dir():
            _err(f"not a folder: {clean(folder)}")
            return 2
    with _catalog() as catalog:
        if not args.dirs and not catalog.roots():
            _err("no library folders yet: soundsearch scan DIR...")
            return 2
        printer, cancel = _Printer(), CancelToken()
        try:
            follow = args.follow_links or load_settings().follow_links
            result = run(scan(catalog, args.dirs or None, cancel, processes=args.processes,
                              follow_links=follow), printer)
        except KeyboardInterrupt:
            printer.end()
            _err("interrupted: what was read so far is saved; run the scan again to go on")
            return 130
        printer.end()
        total_errors = len(catalog.errors())
        n_files = catalog.count()
    _out(f"{result.seen:,} sound files in {result.seconds:.1f} s ({result.files_per_second:,.0f} files/s): "
          f"{len(result.added):,} new, {len(result.changed):,} changed, {len(result.moved):,} moved, "
          f"{len(result.deleted):,} deleted, {result.unchanged:,} unchanged, {result.errors:,} errors")
    if result.retagged:
        _out(f"metadata read again for {len(result.retagged):,} files (sidecar files changed)")
    errors = f", {total_errors:,} errors (soundsearch errors)" if total_errors else ""
    _out(f"library: {n_files:,} files{errors}")
    return 0


def cmd_roots(args: argparse.Namespace) -> int:
    from soundsearch.library.catalog import display_path

    with _catalog() as catalog:
        rows = [{"path": display_path(root), "files": catalog.count(root), "exists": root.is_dir()}
                for root in catalog.roots()]
    if args.json:
        _out(json_text(rows, indent=2))
    elif not rows:
        _out("no library folders yet: soundsearch scan DIR...")
    for row in [] if args.json else rows:
        _out(f"{clean(row['path'])}  ({row['files']:,} files{'' if row['exists'] else ', folder not found'})")
    return 0


def cmd_remove_root(args: argparse.Namespace) -> int:
    with _catalog() as catalog:
        try:
            removed = catalog.remove_root(args.dir)
        except KeyError as exc:
            _err(f"{exc.args[0]} (see soundsearch roots)")
            return 2
    _out(f"removed {clean(args.dir)} from the library ({len(removed):,} files forgotten; "
         "nothing deleted on disk)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from soundsearch.commands.library_info import file_info, format_info

    if not os.path.isfile(args.file):
        _err(f"not a file: {clean(args.file)}")
        return 2
    with _catalog() as catalog:
        info = file_info(catalog, args.file, fresh=args.fresh)
    _out(json_text(info, indent=2) if args.json else format_info(info))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from soundsearch.commands.library_info import format_stats

    with _catalog() as catalog:
        stats = catalog.stats()
    _out(json_text(stats, indent=2) if args.json else format_stats(stats))
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from soundsearch.collections import Collections
    from soundsearch.jobs import run
    from soundsearch.library.catalog import display_path, norm_path
    from soundsearch.library.repair import check, repair

    catalog_path = paths.catalog_path()
    problem = check(catalog_path)
    if problem is None and not args.force:
        _out("the catalog is whole: nothing to repair (--force rebuilds it anyway)")
        return 0
    _out(f"catalog damaged: {problem}" if problem else "rebuilding the catalog (--force)")
    printer = _Printer()
    try:
        result = run(repair(catalog_path, paths.index_dir(), follow_links=args.follow_links), printer)
    except KeyboardInterrupt:
        printer.end()
        _err("interrupted: run `soundsearch repair --force` again to finish (the old catalog is kept)")
        return 130
    printer.end()
    collections = Collections()
    relinked = collections.relink(lambda p: result.id_of_path.get(norm_path(p)))
    if result.kept_as is not None:
        _out(f"the old catalog is kept as {clean(display_path(result.kept_as))}")
    if not result.roots:
        _err("no library folders could be found in the old catalog: add them again with "
             "`soundsearch scan DIR...`")
    for root in result.roots:
        _out(f"library folder: {clean(display_path(root))}")
    _out(f"catalog rebuilt: {result.files:,} files; {result.vectors_reused:,} stored vectors reused, "
         f"{result.user_data_kept:,} files' own data kept, {relinked:,} collection entries relinked"
         + (f"; {result.lost_rows:,} unreadable rows lost" if result.lost_rows else ""))
    _out("run `soundsearch index` to embed what is new or was lost")
    if collections.problem:
        _out(collections.problem)
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    from soundsearch.library.catalog import display_path

    with _catalog() as catalog:
        rows = [{"path": display_path(p), "reason": r, "severity": "error"} for p, r in catalog.errors()]
        if args.warnings:
            rows += [{"path": display_path(p), "reason": r, "severity": "warning"}
                     for p, r in catalog.warnings()]
    if args.json:
        _out(json_text(rows, indent=2))
        return 0
    for row in rows:
        # one line per file, whatever its name holds (escape sequences, newlines)
        severity = "" if row["severity"] == "error" else "warning: "
        _out(f"{clean(row['path'])}: {severity}{clean(row['reason'])}")
    if not rows:
        _out("no errors" + ("" if args.warnings else " (--warnings lists usable files with problems)"))
    return 0

"""The duplicates command: exact copies (same content) and, with --near, the same sounds in other
files (re-encoded, resampled, trimmed, gain-changed)."""

from __future__ import annotations

import argparse
import json
import sys

from soundsearch import paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("duplicates", help="list duplicate sounds: identical copies, and with --near the "
                                          "same sound re-encoded, resampled, trimmed or louder",
                       description="Groups of duplicate files in the library. Without --near: files "
                                   "with the same content. With --near: also the same recording in "
                                   "other files, decided by listening (audio fingerprints, cached).")
    p.add_argument("--near", action="store_true", help="also near-duplicates (decodes each new sound once)")
    p.add_argument("--json", action="store_true", help="one JSON object: {groups: [{reason, files}]}")
    p.set_defaults(func=cmd_duplicates)


def cmd_duplicates(args) -> int:
    from soundsearch.jobs import run
    from soundsearch.library.catalog import Catalog, CatalogError
    from soundsearch.library.duplicates import exact_groups, near_groups

    try:
        catalog = Catalog(paths.catalog_path())
    except CatalogError as exc:
        print(f"soundsearch: {exc}", file=sys.stderr)
        return 2
    with catalog:
        if not catalog.count():
            print("soundsearch: the library is empty: `soundsearch scan DIR` first", file=sys.stderr)
            return 1
        if args.near:
            from soundsearch.commands.search import ProgressLine

            line = ProgressLine()
            groups = run(near_groups(catalog, paths.cache_dir() / "fingerprints"), line)
            line.close()
        else:
            groups = exact_groups(catalog)
    if args.json:
        print(json.dumps({"groups": [g.to_json() for g in groups]}, ensure_ascii=False))
        return 0
    if not groups:
        print("no duplicates")
    extra = sum(len(g.copies) - 1 for g in groups)
    for g in groups:
        print(f"{g.reason}, {len(g.copies)} files:")
        for c in g.copies:
            detail = f"  ({c.note}, similarity {c.similarity:.2f})" if c.note and c.note != "identical copy" \
                else ("  (identical copy)" if c.note else "")
            print(f"  {c.path}{detail}")
    if groups:
        print(f"{len(groups)} groups, {extra} extra copies")
    return 0

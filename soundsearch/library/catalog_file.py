"""The catalog file itself: cheap signs of damage, checked at every open, and the list of library
folders kept beside it so that a damaged catalog never makes soundsearch forget them.

SQLite takes a 0-byte file for a new, empty database: a catalog emptied by a crash or a bad copy
used to open as an empty library, every folder forgotten and no word said. A file cut short opened
too, and failed later, in the middle of a command. Both are caught here before anything is
written; ``soundsearch repair`` (:mod:`~soundsearch.library.repair`) rebuilds from what is left.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from soundsearch.atomic import atomic_write_text

log = logging.getLogger(__name__)

_MAGIC = b"SQLite format 3\x00"


def roots_path(catalog_path: str | os.PathLike) -> Path:
    path = Path(catalog_path)
    return path.with_name(path.name + ".roots.json")


def save_roots(catalog_path: str | os.PathLike, roots: list[bytes]) -> None:
    """Mirror the library folders beside the catalog (atomic; a failure is logged, not raised)."""
    if str(catalog_path) == ":memory:":
        return
    data = {"roots": [os.fsdecode(r) for r in roots]}
    try:
        atomic_write_text(roots_path(catalog_path), json.dumps(data, ensure_ascii=False, indent=1))
    except (OSError, UnicodeEncodeError) as exc:
        log.warning("could not keep the list of library folders beside the catalog: %s", exc)


def load_roots(catalog_path: str | os.PathLike) -> list[Path]:
    """The folders last mirrored beside the catalog ([] when none, or the file is unreadable)."""
    try:
        data = json.loads(roots_path(catalog_path).read_text(encoding="utf-8", errors="surrogateescape"))
        return [Path(r) for r in data.get("roots", []) if isinstance(r, str) and r]
    except (OSError, ValueError, AttributeError):
        return []


def damage(catalog_path: str | os.PathLike) -> str | None:
    """What is visibly wrong with the catalog file, or None (also for a new or missing one).
    Reads 100 bytes: no full check (``PRAGMA quick_check`` reads every page; repair runs it)."""
    if str(catalog_path) == ":memory:":
        return None
    path = Path(catalog_path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            header = fh.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if size == 0:
        # new (created, nothing written yet) unless it once held a library
        return "empty (0 bytes)" if load_roots(path) else None
    if not header.startswith(_MAGIC):
        return "not a SQLite database"
    if len(header) < 100:
        return f"cut short ({size} bytes)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the page count is valid only with this match
    if page_size < 512 or page_size & (page_size - 1):
        return "damaged header"
    if valid and pages and size < pages * page_size:
        return f"cut short ({size:,} of {pages * page_size:,} bytes)"
    return None

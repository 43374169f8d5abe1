"""``Catalog.stats()``: a summary of the library, computed in SQL (fast on 100,000 files)."""

from __future__ import annotations

import os
import sqlite3


def _counts(db: sqlite3.Connection, column: str) -> dict[str, int]:
    rows = db.execute(f"SELECT {column}, count(*) FROM files "
                      f"WHERE status != 'error' AND {column} IS NOT NULL "
                      f"GROUP BY {column} ORDER BY count(*) DESC, {column}")
    return {str(value): n for value, n in rows}


def catalog_stats(db: sqlite3.Connection) -> dict:
    """files, hours, bytes, formats, sample_rates, channels, untagged, errors, metadata_only, roots.

    "untagged" counts usable files whose metadata gives no text: the audio branch must carry them."""
    files, seconds, size, untagged, errors, meta_only = db.execute(
        "SELECT count(*), coalesce(sum(duration), 0), coalesce(sum(size), 0), "
        "coalesce(sum(meta_text = '' AND status != 'error'), 0), coalesce(sum(status = 'error'), 0), "
        "coalesce(sum(status = 'metadata_only'), 0) FROM files").fetchone()
    folder_errors = db.execute("SELECT count(*) FROM scan_errors").fetchone()[0]
    # Usable files whose audio the indexer could not embed (silent, NaN samples, odd rates, gone):
    # searchable by their metadata alone. The indexer records why, per model, in embeddings.error.
    not_embedded = db.execute(
        "SELECT count(DISTINCT f.id) FROM files f JOIN embeddings e ON e.file_id = f.id "
        "WHERE f.status = 'ok' AND e.error IS NOT NULL AND e.content_hash IS f.content_hash").fetchone()[0]
    roots = []
    for path, n, secs, nbytes, untag, errs in db.execute(
            "SELECT r.path, count(f.id), coalesce(sum(f.duration), 0), coalesce(sum(f.size), 0), "
            "coalesce(sum(f.meta_text = '' AND f.status != 'error'), 0), "
            "coalesce(sum(f.status = 'error'), 0) "
            "FROM roots r LEFT JOIN files f ON f.root_id = r.id GROUP BY r.id ORDER BY r.path").fetchall():
        roots.append({"path": os.fsencode(path).decode("utf-8", "backslashreplace"), "files": n,
                      "hours": secs / 3600, "bytes": nbytes, "untagged": untag, "errors": errs})
    return {
        "files": files,
        "hours": seconds / 3600,
        "bytes": size,
        "formats": _counts(db, "format"),
        "sample_rates": _counts(db, "sample_rate"),
        "channels": _counts(db, "channels"),
        "untagged": untagged,
        "errors": errors + folder_errors,
        "file_errors": errors,
        "folder_errors": folder_errors,
        "metadata_only": meta_only,
        "not_embedded": not_embedded,
        "roots": roots,
    }

"""``soundsearch repair``: rebuild a damaged catalog from the library folders and what is left of it.

The damaged catalog (with its -wal and -shm files) is moved aside, never deleted: the user may want
it, or send it with a bug report. From a copy of it everything still readable is salvaged, row by
row where whole tables fail: the library folders (else the list kept beside the catalog), each
file's content hash and the user's own data, and the stored vectors. A new catalog is made, the
folders scanned, and a file found again with the same content gets its user data and vectors back,
so indexing afterwards re-embeds only what was lost. The index files, keyed by the old ids, are
removed: the next search or index rebuilds them from the stored vectors without decoding anything.
Collections are the caller's (they hold paths as well as ids, see soundsearch.collections).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundsearch.jobs import CancelToken, Job, Progress
from soundsearch.library.catalog import Catalog, EmbeddingRow, norm_path
from soundsearch.library.catalog_file import damage, load_roots
from soundsearch.library.lock import hold
from soundsearch.library.predicted import Prediction
from soundsearch.library.scanner import ScanResult, scan

log = logging.getLogger(__name__)

WINDOW = 256  # ids read per query; a window that fails is read again one id at a time
MAX_EMPTY_WINDOWS = 64  # when the highest id is unreadable too: stop after this many empty windows


@dataclass
class Salvage:
    roots: list[Path] = field(default_factory=list)
    files: dict[bytes, tuple[str | None, dict]] = field(default_factory=dict)  # path → (hash, user)
    vectors: dict[bytes, list[tuple]] = field(default_factory=dict)  # path → [(model, audio, …)]
    # path → {source: (scores blob, content hash, [(tag, score)])}: what a tagger heard, kept with
    # the vectors (a file whose vectors come back is not embedded again, so its tags would be lost)
    predicted: dict[bytes, dict[str, tuple]] = field(default_factory=dict)
    lost_rows: int = 0  # rows that could not be read
    source: str = ""  # where the roots came from


@dataclass
class RepairResult:
    problem: str  # what was wrong ("" when the catalog looked whole and was rebuilt anyway)
    kept_as: Path | None = None
    roots: list[Path] = field(default_factory=list)
    files: int = 0
    vectors_reused: int = 0
    user_data_kept: int = 0
    lost_rows: int = 0
    scan: ScanResult | None = None
    id_of_path: dict[bytes, int] = field(default_factory=dict)  # for relinking collections


def check(catalog_path: Path) -> str | None:
    """What is wrong with the catalog (a full ``PRAGMA quick_check``), or None when it is whole."""
    problem = damage(catalog_path)
    if problem is not None or not Path(catalog_path).exists():
        return problem
    try:
        db = sqlite3.connect(f"file:{Path(catalog_path).as_posix()}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows)


def _windows(db: sqlite3.Connection, table: str, key: str, sql: str, salvage: Salvage):
    """Rows of ``sql`` (with ``{where}`` to fill) window by window over ``key``; rows that fail alone
    are counted as lost."""
    try:
        top = db.execute(f"SELECT max({key}) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        top = None
    low, empty = 0, 0
    while (top is not None and low <= top) or (top is None and empty < MAX_EMPTY_WINDOWS):
        high = low + WINDOW - 1
        try:
            rows = db.execute(sql.format(where=f"{key} BETWEEN ? AND ?"), (low, high)).fetchall()
        except sqlite3.DatabaseError:
            rows = []
            for one in range(low, high + 1):
                try:
                    rows += db.execute(sql.format(where=f"{key} = ?"), (one,)).fetchall()
                except sqlite3.DatabaseError:
                    salvage.lost_rows += top is not None  # else: perhaps no row was ever there
        empty = 0 if rows else empty + 1
        yield from rows
        low = high + 1


def salvage(catalog_path: Path, home: Path | None = None) -> Salvage:
    """Everything still readable in a (damaged) catalog (or a copy of it: ``home`` is where the
    catalog lives, whose list of folders is the fallback); never raises for damage."""
    found = Salvage()
    try:
        db = sqlite3.connect(str(catalog_path))
    except sqlite3.DatabaseError:
        db = None
    if db is not None:
        try:
            found.roots = [Path(os.fsdecode(p)) for (p,) in db.execute("SELECT path FROM roots")]
            found.source = "catalog"
        except sqlite3.DatabaseError:
            pass
        try:
            # the user column comes last in a row: it may lie on a lost overflow page when the
            # path and hash do not, so it is read on its own
            users: dict[int, dict] = {}
            sql = "SELECT id, user FROM files WHERE {where}"
            for fid, user in _windows(db, "files", "id", sql, Salvage()):
                try:
                    data = json.loads(user) if user else {}
                except ValueError:
                    data = {}
                if isinstance(data, dict) and data:
                    users[fid] = data
            sql = "SELECT id, path, content_hash FROM files WHERE {where}"
            for fid, path, digest in _windows(db, "files", "id", sql, found):
                found.files[bytes(path)] = (digest, users.get(fid, {}))
            sql = ("SELECT f.path, e.model_id, e.audio, e.meta, e.content_hash, e.meta_text, e.error "
                   "FROM embeddings e JOIN files f ON f.id = e.file_id WHERE e.{where}")
            for path, *row in _windows(db, "embeddings", "file_id", sql, found):
                found.vectors.setdefault(bytes(path), []).append(tuple(row))
            _salvage_predicted(db, found)
        except sqlite3.DatabaseError as exc:  # no table at all: nothing more to read
            log.info("salvage: %s", exc)
        finally:
            db.close()
    if not found.roots:
        found.roots, found.source = load_roots(home or catalog_path), "the list kept beside the catalog"
    return found


def _salvage_predicted(db: sqlite3.Connection, found: Salvage) -> None:
    """Predicted tags (schema migration 2): absent from older catalogs, so their loss is quiet."""
    try:
        sql = ("SELECT f.path, p.source, p.scores, p.content_hash FROM predicted_scores p "
               "JOIN files f ON f.id = p.file_id WHERE p.{where}")
        for path, source, scores, digest in _windows(db, "predicted_scores", "file_id", sql, found):
            found.predicted.setdefault(bytes(path), {})[source] = (bytes(scores), digest, [])
        sql = ("SELECT f.path, t.source, t.tag, t.score FROM predicted_tags t "
               "JOIN files f ON f.id = t.file_id WHERE t.{where}")
        for path, source, tag, score in _windows(db, "predicted_tags", "file_id", sql, found):
            entry = found.predicted.get(bytes(path), {}).get(source)
            if entry is not None:
                entry[2].append((tag, float(score)))
    except sqlite3.DatabaseError as exc:
        log.info("salvage: no predicted tags: %s", exc)


def _mend_header(copy: Path) -> None:
    """In a copy cut short, make the header's page count match what is there and forget tables and
    indexes whose first page is gone: SQLite otherwise refuses the whole schema, and no row at all
    could be read."""
    size = copy.stat().st_size
    with open(copy, "r+b") as fh:
        header = fh.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3"):
            return
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = size // page_size if page_size else 0
        if not pages or pages >= int.from_bytes(header[28:32], "big"):
            return
        fh.truncate(pages * page_size)
        fh.seek(28)
        fh.write(pages.to_bytes(4, "big"))
    try:
        db = sqlite3.connect(str(copy))
        try:
            db.execute("PRAGMA writable_schema = ON")
            db.execute("DELETE FROM sqlite_master WHERE rootpage > ?", (pages,))
            db.commit()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        log.info("repair: schema not mended: %s", exc)


def _set_aside(catalog_path: Path) -> Path | None:
    """Move the catalog and its -wal/-shm files to ``<name>.damaged-<time>``; returns that path."""
    if not catalog_path.exists():
        return None
    kept = catalog_path.with_name(f"{catalog_path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("-wal", "-shm", ""):
        part = Path(str(catalog_path) + suffix)
        if part.exists():
            os.replace(part, Path(str(kept) + suffix))
    return kept


def _vector(blob: bytes | None, dim: int | None) -> np.ndarray | None:
    if blob is None or len(blob) % 4 or (dim is not None and len(blob) != 4 * dim):
        return None
    vec = np.frombuffer(blob, np.float32)
    return vec if np.isfinite(vec).all() else None


def repair(catalog_path: Path, index_dir: Path | None = None, cancel: CancelToken | None = None,
           follow_links: bool = False) -> Job[RepairResult]:
    """Set the catalog aside, salvage it, scan the folders into a new one and give back what is
    still valid. Yields Progress; returns a RepairResult."""
    catalog_path = Path(catalog_path)
    lock = yield from hold(catalog_path, "repair", None if cancel is None else cancel.check)
    try:
        return (yield from _repair(catalog_path, index_dir, cancel, follow_links))
    finally:
        if lock is not None:
            lock.release()


def _repair(catalog_path: Path, index_dir: Path | None, cancel, follow_links: bool) -> Job[RepairResult]:
    started = time.monotonic()
    yield Progress("repair", 0, None, "checking the catalog", started=started)
    result = RepairResult(check(catalog_path) or "")
    with tempfile.TemporaryDirectory(prefix="soundsearch-repair-") as tmp:
        # salvage from a copy: opening the kept file itself could change it (WAL recovery)
        copy = Path(tmp) / "catalog.sqlite3"
        for suffix in ("", "-wal"):
            if Path(str(catalog_path) + suffix).exists():
                shutil.copyfile(str(catalog_path) + suffix, str(copy) + suffix)
        yield Progress("repair", 0, None, "reading what is left of the catalog", started=started)
        if copy.exists():
            _mend_header(copy)
        found = salvage(copy, catalog_path) if copy.exists() else Salvage(roots=load_roots(catalog_path))
    result.kept_as = _set_aside(catalog_path)
    result.roots, result.lost_rows = found.roots, found.lost_rows
    if index_dir is not None:  # keyed by the old ids: rebuilt from the stored vectors on next use
        for name in ("items", "sounds", "meta"):
            for ext in (".hnsw", ".json"):
                (Path(index_dir) / f"{name}{ext}").unlink(missing_ok=True)
    with Catalog(catalog_path) as catalog:
        for root in found.roots:
            catalog.add_root(root)
        if found.roots:
            result.scan = yield from scan(catalog, None, cancel, follow_links=follow_links)
        _give_back(catalog, found, result)
        result.files = catalog.count()
    yield Progress("done", result.files, result.files, "repaired", started=started)
    return result


def _give_back(catalog: Catalog, found: Salvage, result: RepairResult) -> None:
    """User data and vectors of every file found again with the same content."""
    by_model: dict[str, list[EmbeddingRow]] = {}
    dims: dict[str, int] = {}
    predictions: list[tuple[int, str | None, Prediction]] = []
    with catalog.transaction() as db:
        for record in catalog.iter_files():
            key = norm_path(record.path)
            old = found.files.get(key)
            if old is None or old[0] != record.content_hash:
                continue
            if old[1]:
                db.execute("UPDATE files SET user = ? WHERE id = ?", (json.dumps(old[1]), record.id))
                catalog._index_files([record.id])  # the user's edits are searched words
                result.user_data_kept += 1
            result.id_of_path[key] = record.id
            for model_id, audio, meta, digest, meta_text, error in found.vectors.get(key, []):
                if digest != record.content_hash:
                    continue
                a = _vector(audio, dims.get(model_id))
                m = _vector(meta, dims.get(model_id) or (len(a) if a is not None else None))
                if a is None and audio is not None or m is None and meta is not None:
                    continue  # a damaged vector: this file is embedded again
                dims.setdefault(model_id, len(a) if a is not None else len(m) if m is not None else 0)
                row = EmbeddingRow(record.id, a, m, digest, meta_text, error)
                by_model.setdefault(model_id, []).append(row)
            for source, (blob, digest, tags) in found.predicted.get(key, {}).items():
                if digest == record.content_hash and len(blob) % 2 == 0:
                    scores = np.frombuffer(blob, np.float16).astype(np.float32)
                    predictions.append((record.id, digest, Prediction(source, scores, tags)))
        catalog._write_predictions(db, predictions)
    for model_id, rows in by_model.items():
        catalog.store_embeddings(model_id, rows)
        result.vectors_reused += len(rows)
    # every file keeps its place in collections: path → new id, also for files without old data
    result.id_of_path.update((norm_path(r.path), r.id) for r in catalog.iter_files())

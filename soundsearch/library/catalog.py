"""The catalog: every sound file of the library, its audio properties, metadata and errors (SQLite).

One :class:`Catalog` holds one SQLite connection, usable only from the thread that opened it
(sqlite3's default ``check_same_thread``): **each thread opens its own Catalog** on the same path
(the GUI opens one per worker). WAL mode lets readers go on while a scan writes; a writer waits up
to ``timeout`` seconds for another. Writes happen in :meth:`Catalog.transaction` blocks, one per
scan batch, so a killed process loses at most the batch in flight.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch.audio.probe import AudioInfo
from soundsearch.library.catalog_file import damage, roots_path, save_roots
from soundsearch.library.catalog_stats import catalog_stats
from soundsearch.library.edit_log import EditLog
from soundsearch.library.metadata import Metadata
from soundsearch.library.pathkeys import display_path, norm_path
from soundsearch.library.predicted import PredictedTagStore
from soundsearch.library.schema import CatalogDamaged, CatalogError, migrate
from soundsearch.library.search_tables import SearchTableStore
from soundsearch.library.user_edits import apply_edits, effective_text
from soundsearch.library.vectors import EmbeddingRow, EmbeddingStore

__all__ = ["Catalog", "CatalogDamaged", "CatalogError", "EmbeddingRow", "FileRecord", "display_path",
           "norm_path"]

_SEP = os.fsencode(os.sep)
_COLUMNS = ("f.id, f.path, r.path, f.size, f.mtime_ns, f.content_hash, f.duration, f.sample_rate, "
            "f.channels, f.bit_depth, f.format, f.metadata, f.status, f.error, f.frames, f.subtype, "
            "f.note, f.user, f.meta_text")
SELECT_FILES = f"SELECT {_COLUMNS} FROM files f JOIN roots r ON r.id = f.root_id"


def _under(prefix: bytes) -> tuple[bytes, bytes]:
    """A BLOB range holding every path below folder ``prefix`` (uses the path index)."""
    start = prefix if prefix.endswith(_SEP) else prefix + _SEP
    return start, start[:-1] + bytes([start[-1] + 1])


@dataclass
class FileRecord:
    id: int
    path: Path
    root: Path
    size: int
    mtime_ns: int
    content_hash: str | None
    duration: float | None
    sample_rate: int | None
    channels: int | None
    bit_depth: int | None
    format: str | None
    metadata: Metadata
    status: str  # "ok" | "error" | "metadata_only"
    error: str | None
    frames: int | None = None
    subtype: str = ""
    note: str = ""  # usable, but worth knowing (truncated, wrong extension …)
    user: dict = field(default_factory=dict)
    # (source, tag, confidence) heard in the audio by a tagger; filled for search hits, kept apart
    # from ``metadata`` (the file's own words)
    predicted: list = field(default_factory=list)
    # what the file itself says; ``metadata`` is this with the user's edits applied
    scanned: Metadata | None = None

    @property
    def edits(self) -> dict[str, str]:
        """The user's edited fields (name → value; "" hides the file's own value)."""
        return dict(self.user.get("edits") or {})

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def folder(self) -> Path:
        """The parent folder relative to the root ("." for files directly in the root)."""
        try:
            return self.path.parent.relative_to(self.root)
        except ValueError:
            return self.path.parent

    @property
    def untagged(self) -> bool:
        return self.metadata.untagged

    @classmethod
    def from_row(cls, row: tuple) -> FileRecord:
        (fid, path, root, size, mtime, chash, duration, sr, channels, depth, fmt, meta, status, error,
         frames, subtype, note, user, meta_text) = row
        scanned, user = _metadata(meta), _json_dict(user)
        edits = user.get("edits")
        metadata = apply_edits(scanned, edits, meta_text) if edits else scanned
        return cls(fid, Path(os.fsdecode(path)), Path(os.fsdecode(root)), size, mtime, chash, duration, sr,
                   channels, depth, fmt, metadata, status, error, frames, subtype or "", note or "", user,
                   scanned=scanned)


def _json_dict(text) -> dict:
    """A stored JSON object; {} for a damaged one (a damaged catalog page must not stop a listing)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _metadata(text) -> Metadata:
    data = _json_dict(text)
    try:
        return Metadata.from_json(data) if data else Metadata(errors=["catalog: stored metadata damaged "
                                                                      "(soundsearch repair reads it again)"])
    except (TypeError, KeyError, ValueError, AttributeError):
        return Metadata(errors=["catalog: stored metadata damaged (soundsearch repair reads it again)"])


class Catalog(EmbeddingStore, PredictedTagStore, EditLog, SearchTableStore):
    _select_files = SELECT_FILES  # for the mixins' own queries

    def __init__(self, path: str | Path, timeout: float = 30.0) -> None:
        self.path = path
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        problem = damage(path)
        if problem is not None:
            raise CatalogDamaged(f"the catalog {display_path(path)} is damaged ({problem}): run "
                                 "`soundsearch repair` to rebuild it (your folders are rescanned, "
                                 "stored vectors, collections and your own data kept)")
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (one transaction per batch)
        self._db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        self._depth = 0
        try:
            if str(path) != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode; a power cut may lose the
            # last commits, which a rescan redoes.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            migrate(self._db)
            if str(path) != ":memory:" and not roots_path(path).exists():
                save_roots(path, [p for _, p in self._root_rows()])
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CatalogDamaged(f"cannot open catalog {display_path(path)}: {exc}: run `soundsearch repair` "
                                 "to rebuild it") from exc
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together or not at all. Nested blocks join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # roots -------------------------------------------------------------------------------------
    def _root_rows(self) -> list[tuple[int, bytes]]:
        return self._db.execute("SELECT id, path FROM roots ORDER BY path").fetchall()

    def roots(self) -> list[Path]:
        return [Path(os.fsdecode(p)) for _, p in self._root_rows()]

    def root_of(self, path: str | Path) -> tuple[int, Path] | None:
        """The root (id, path) holding ``path`` (or equal to it), None when outside the library."""
        key = norm_path(path)
        for rid, root in self._root_rows():
            if key == root or key.startswith(_under(root)[0]):
                return rid, Path(os.fsdecode(root))
        return None

    def add_root(self, path: str | Path) -> Path:
        """Add a folder to the library; returns the root that covers it. A folder inside an existing
        root adds nothing (it is already covered); a folder holding existing roots absorbs them,
        their files keeping their ids."""
        key = norm_path(path)
        covering = self.root_of(os.fsdecode(key))
        if covering is not None:
            return covering[1]
        with self.transaction() as db:
            rid = db.execute("INSERT INTO roots (path, added_at) VALUES (?, ?)", (key, time.time())).lastrowid
            lo, hi = _under(key)
            for old, _ in db.execute("SELECT id, path FROM roots WHERE path >= ? AND path < ?",
                                     (lo, hi)).fetchall():
                for table in ("files", "scan_errors", "folders"):
                    db.execute(f"UPDATE {table} SET root_id = ? WHERE root_id = ?", (rid, old))
                db.execute("DELETE FROM roots WHERE id = ?", (old,))
            # their library folder's name is one of their filter words
            moved = db.execute("SELECT id FROM files WHERE root_id = ?", (rid,)).fetchall()
            self._index_files(i for (i,) in moved)
        save_roots(self.path, [p for _, p in self._root_rows()])
        return Path(os.fsdecode(key))

    def remove_root(self, path: str | Path) -> list[int]:
        """Forget a root and its files (their vectors go with them). Returns the removed file ids.
        The folder itself is not touched."""
        key = norm_path(path)
        row = self._db.execute("SELECT id FROM roots WHERE path = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(f"not a library root: {display_path(key)}")
        with self.transaction() as db:
            ids = [i for (i,) in db.execute("SELECT id FROM files WHERE root_id = ?", row)]
            db.execute("DELETE FROM roots WHERE id = ?", row)
        save_roots(self.path, [p for _, p in self._root_rows()])
        return ids

    # reading -----------------------------------------------------------------------------------
    def _records(self, sql: str, params: Iterable = ()) -> Iterator[FileRecord]:
        for row in self._db.execute(sql, tuple(params)):
            yield FileRecord.from_row(row)

    def get(self, file_id: int) -> FileRecord | None:
        """One file, with what the taggers heard in it (``predicted``)."""
        return self._heard(next(self._records(f"{SELECT_FILES} WHERE f.id = ?", (int(file_id),)), None))

    def _heard(self, record: FileRecord | None) -> FileRecord | None:
        if record is not None:
            record.predicted = self.predicted_tags(record.id)
        return record

    def get_many(self, ids: Iterable[int]) -> list[FileRecord]:
        """Records for ``ids`` in the same order, each with its ``predicted`` tags; ids no longer in
        the catalog are skipped."""
        ids = [int(i) for i in ids]
        found: dict[int, FileRecord] = {}
        for start in range(0, len(ids), 500):  # stay below SQLite's bound-parameter limit
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update((r.id, r) for r in self._records(f"{SELECT_FILES} WHERE f.id IN ({marks})", chunk))
            heard = self.predicted_tags_of(chunk)
            for i in chunk:
                if i in found:
                    found[i].predicted = heard.get(i, [])
        return [found[i] for i in ids if i in found]

    def get_by_path(self, path: str | Path) -> FileRecord | None:
        return self._heard(next(self._records(f"{SELECT_FILES} WHERE f.path = ?", (norm_path(path),)), None))

    def iter_files(self, root: str | Path | None = None) -> Iterator[FileRecord]:
        if root is None:
            return self._records(f"{SELECT_FILES} ORDER BY f.id")
        return self._records(f"{SELECT_FILES} WHERE r.path = ? ORDER BY f.id", (norm_path(root),))

    def paths(self) -> list[str]:
        """Every file's path (as text), without reading their rows: the folder tree's input."""
        return [os.fsdecode(p) for (p,) in self._db.execute("SELECT path FROM files")]

    def count(self, root: str | Path | None = None) -> int:
        if root is None:
            return self._db.execute("SELECT count(*) FROM files").fetchone()[0]
        return self._db.execute("SELECT count(*) FROM files f JOIN roots r ON r.id = f.root_id "
                                "WHERE r.path = ?", (norm_path(root),)).fetchone()[0]

    def errors(self) -> list[tuple[Path, str]]:
        """Every file that could not be used and every folder or link that could not be read."""
        rows = self._db.execute(
            "SELECT path, error FROM files WHERE status = 'error' "
            "UNION ALL SELECT path, reason FROM scan_errors ORDER BY 1").fetchall()
        return [(Path(os.fsdecode(p)), reason or "unknown error") for p, reason in rows]

    def warnings(self) -> list[tuple[Path, str]]:
        """Files that are usable but not quite right: truncated, wrong extension, metadata only,
        audio the indexer could not embed, metadata sources that failed or hit a cap."""
        rows = self._db.execute(
            "SELECT path, CASE WHEN status = 'metadata_only' THEN coalesce(error, note) ELSE note END "
            "FROM files WHERE status = 'metadata_only' OR (status = 'ok' AND note != '') "
            "UNION ALL SELECT DISTINCT f.path, 'audio not indexed: ' || e.error || ' (found by its metadata "
            "alone)' FROM files f JOIN embeddings e ON e.file_id = f.id WHERE f.status = 'ok' "
            "AND e.error IS NOT NULL AND e.content_hash IS f.content_hash "
            "UNION ALL SELECT f.path, 'metadata: ' || j.value "
            "FROM files f, json_each(f.metadata, '$.errors') j WHERE f.status != 'error' ORDER BY 1")
        return [(Path(os.fsdecode(p)), reason) for p, reason in rows]

    def index_errors(self, file_id: int) -> dict[str, str]:
        """model id → why the indexer could not embed this file's audio (for its current content)."""
        rows = self._db.execute(
            "SELECT e.model_id, e.error FROM embeddings e JOIN files f ON f.id = e.file_id "
            "WHERE f.id = ? AND e.error IS NOT NULL AND e.content_hash IS f.content_hash", (int(file_id),))
        return dict(rows.fetchall())

    def stats(self) -> dict:
        """files, hours, bytes, formats, sample_rates, channels, untagged, errors, roots …"""
        return catalog_stats(self._db)

    def set_user_data(self, file_id: int, data: dict) -> None:
        """Replace the file's user data (rating …); its metadata edits stay unless ``data`` has
        "edits" (which :meth:`set_edits` is for)."""
        with self.transaction() as db:
            row = db.execute("SELECT user FROM files WHERE id = ?", (int(file_id),)).fetchone()
            if row is None:
                return
            edits = json.loads(row[0]).get("edits")
            if edits and "edits" not in data:
                data = {**data, "edits": edits}
            db.execute("UPDATE files SET user = ? WHERE id = ?", (json.dumps(data), int(file_id)))

    def _edits_of(self, file_id: int | None) -> dict[str, str]:
        if file_id is None:
            return {}
        row = self._db.execute("SELECT user FROM files WHERE id = ?", (int(file_id),)).fetchone()
        return (json.loads(row[0]).get("edits") or {}) if row else {}

    def _text(self, file_id: int | None, metadata: Metadata) -> str:
        """The metadata text stored for a row: the file's fields with the user's edits applied."""
        return effective_text(metadata, self._edits_of(file_id))

    # writing (the scanner's side) --------------------------------------------------------------
    def snapshot(self, root_id: int, under: bytes | None = None) -> dict[bytes, tuple]:
        """path → (id, size, mtime_ns, content_hash) for the files of a root (below ``under``):
        one query, so an unchanged rescan compares stat results against a dict."""
        sql, params = "SELECT path, id, size, mtime_ns, content_hash FROM files WHERE root_id = ?", [root_id]
        if under is not None:
            sql += " AND path >= ? AND path < ?"
            params += _under(under)
        return {row[0]: row[1:] for row in self._db.execute(sql, params)}

    def write_file(self, file_id: int | None, root_id: int, path: bytes, size: int, mtime_ns: int,
                   content_hash: str | None, info: AudioInfo | None, error: str | None,
                   metadata: Metadata) -> int:
        """Insert (file_id None) or overwrite a file's row with freshly probed values."""
        if info is None:
            status, props, note = "error", (None,) * 7, ""
        else:
            status = "ok" if info.decodable else "metadata_only"
            props = (info.duration, info.sample_rate, info.channels, info.bit_depth, info.format,
                     info.frames, info.subtype)
            # metadata-only: the note is the reason it cannot be decoded, kept as its error
            note, error = (info.note, None) if info.decodable else ("", info.note)
        values = (root_id, path, size, mtime_ns, content_hash, *props, status, error, note,
                  json.dumps(metadata.to_json(), ensure_ascii=False), self._text(file_id, metadata),
                  time.time())
        cols = ("root_id, path, size, mtime_ns, content_hash, duration, sample_rate, channels, bit_depth, "
                "format, frames, subtype, status, error, note, metadata, meta_text, scanned_at")
        if file_id is None:
            marks = ",".join("?" * len(values))
            file_id = self._db.execute(f"INSERT INTO files ({cols}) VALUES ({marks})", values).lastrowid
            # a new row has no edits: its record is what we hold (no need to read and parse it back)
            root = self._db.execute("SELECT path FROM roots WHERE id = ?", (root_id,)).fetchone()[0]
            duration, sample_rate, channels, depth, fmt, frames, subtype = props
            record = FileRecord(file_id, Path(os.fsdecode(path)), Path(os.fsdecode(root)), size, mtime_ns,
                                content_hash, duration, sample_rate, channels, depth, fmt, metadata, status,
                                error, frames, subtype or "", note or "", scanned=metadata)
            self._index_records([record])
            return file_id
        sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
        self._db.execute(f"UPDATE files SET {sets} WHERE id = ?", (*values, file_id))
        self._index_files([file_id])
        return file_id

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        self._db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, file_id))

    def move_file(self, file_id: int, root_id: int, path: bytes, size: int, mtime_ns: int,
                  metadata: Metadata) -> None:
        """Same content at a new path: the row (id, user data, vectors) stays, names may say more."""
        self._db.execute("UPDATE files SET root_id = ?, path = ?, size = ?, mtime_ns = ?, metadata = ?, "
                         "meta_text = ? WHERE id = ?",
                         (root_id, path, size, mtime_ns, json.dumps(metadata.to_json(), ensure_ascii=False),
                          self._text(file_id, metadata), file_id))
        self._index_files([file_id])

    def set_metadata(self, file_id: int, metadata: Metadata) -> None:
        self._db.execute("UPDATE files SET metadata = ?, meta_text = ? WHERE id = ?",
                         (json.dumps(metadata.to_json(), ensure_ascii=False), self._text(file_id, metadata),
                          file_id))
        self._index_files([file_id])

    def delete_files(self, ids: Iterable[int]) -> None:
        self._db.executemany("DELETE FROM files WHERE id = ?", ((int(i),) for i in ids))

    def replace_scan_errors(self, root_id: int, under: bytes, errors: list[tuple[bytes, str]]) -> None:
        """Forget old problems below ``under`` (inclusive) and record this scan's."""
        self._db.execute("DELETE FROM scan_errors WHERE root_id = ? AND "
                         "(path = ? OR (path >= ? AND path < ?))", (root_id, under, *_under(under)))
        now = time.time()
        self._db.executemany("INSERT OR REPLACE INTO scan_errors (path, root_id, reason, seen_at) "
                             "VALUES (?, ?, ?, ?)", ((p, root_id, r, now) for p, r in errors))

    def folder_signatures(self, root_id: int, under: bytes) -> dict[bytes, str]:
        rows = self._db.execute("SELECT path, sidecar_sig FROM folders WHERE root_id = ? AND "
                                "(path = ? OR (path >= ? AND path < ?))", (root_id, under, *_under(under)))
        return dict(rows.fetchall())

    def replace_folder_signatures(self, root_id: int, under: bytes, sigs: dict[bytes, str]) -> None:
        self._db.execute("DELETE FROM folders WHERE root_id = ? AND (path = ? OR (path >= ? AND path < ?))",
                         (root_id, under, *_under(under)))
        self._db.executemany("INSERT OR REPLACE INTO folders (path, root_id, sidecar_sig) VALUES (?, ?, ?)",
                             ((p, root_id, s) for p, s in sigs.items()))

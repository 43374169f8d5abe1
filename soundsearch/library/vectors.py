"""The catalog's bookkeeping of embedding vectors, used by the indexer.

Audio and metadata vectors are stored separately per (file, model) so that a tag edit or a new
fusion weight re-fuses without decoding audio again. Vectors are raw float32 bytes; rows go with
their file (ON DELETE CASCADE) and stay with a moved file, whose id does not change.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class EmbeddingRow:
    file_id: int
    audio: np.ndarray | None  # [D] float32; None when the audio could not be embedded
    meta: np.ndarray | None  # [D] float32; None for an untagged file
    content_hash: str | None  # the content the audio vector was computed from
    meta_text: str | None  # the metadata text the meta vector was computed from
    error: str | None = None
    predictions: list = field(default_factory=list)  # predicted.Prediction per tagger, stored alongside
    # [k, D] one metadata vector per segment of meta_text (metadata.text.text_fields); an empty
    # [0, D] array when the text is one segment; None when not computed (re-embedded later)
    fields: np.ndarray | None = None


def _blob(vec: np.ndarray | None) -> bytes | None:
    if vec is None:
        return None
    vec = np.asarray(vec)
    if vec.ndim != 1:
        raise ValueError(f"an embedding must be one vector, got shape {vec.shape}")
    return np.ascontiguousarray(vec, dtype=np.float32).tobytes()


def _fields_blob(vecs: np.ndarray | None) -> bytes | None:
    """int8, each row scaled to ±127: only their directions are used (cosines), and a file's fields
    cost ~0.8 KB instead of 3 KB as float32."""
    if vecs is None:
        return None
    vecs = np.asarray(vecs, np.float32)
    if vecs.ndim != 2:
        raise ValueError(f"field vectors must be [k, D], got shape {vecs.shape}")
    scale = 127.0 / np.maximum(np.abs(vecs).max(axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(np.rint(vecs * scale), dtype=np.int8).tobytes()


# Current rows of one model with words but no field vectors (stored before field vectors existed)
_MISSING_FIELDS = ("FROM embeddings e JOIN files f ON f.id = e.file_id WHERE e.model_id = ? "
                   "AND e.fields IS NULL AND e.meta IS NOT NULL AND e.meta_text IS f.meta_text")


class EmbeddingStore:
    """Mixed into :class:`~soundsearch.library.catalog.Catalog`, which provides the connection, the
    query that reads file rows and the records it turns them into (this module does not import the
    catalog: the catalog imports it)."""

    _db: sqlite3.Connection
    _select_files: str  # SELECT ... FROM files f JOIN roots r ...

    def pending_embeddings(self, model_id: str, limit: int | None = None,
                           tag_sources: Sequence[str] = ()) -> list:
        """Usable files (ok or metadata_only) with no row for ``model_id``, or whose row was computed
        from other content, then (after every new file) embedded files that a tagger in
        ``tag_sources`` has not heard yet: a tagger switched on later (YAMNet) tags the library that
        is already indexed. A row with an error and the same content is not retried."""
        untagged = " OR ".join("NOT EXISTS (SELECT 1 FROM predicted_scores p WHERE p.file_id = f.id "
                               "AND p.source = ?)" for _ in tag_sources)
        sql = (f"{self._select_files} LEFT JOIN embeddings e ON e.file_id = f.id AND e.model_id = ? "
               "WHERE f.status IN ('ok', 'metadata_only') "
               "AND (e.file_id IS NULL OR e.content_hash IS NOT f.content_hash"
               + (f" OR (e.audio IS NOT NULL AND e.error IS NULL AND ({untagged}))" if untagged else "")
               + ") ORDER BY e.file_id IS NOT NULL, f.id")
        params: tuple = (model_id, *tag_sources)
        if limit is not None:
            sql += " LIMIT ?"
            params += (int(limit),)
        return list(self._records(sql, params))  # type: ignore[attr-defined]

    def stale_metadata(self, model_id: str) -> list:
        """FileRecords of the files whose audio vector is current but whose metadata text changed
        since (re-embed the text and re-fuse; no decoding needed)."""
        sql = (f"{self._select_files} JOIN embeddings e ON e.file_id = f.id AND e.model_id = ? "
               "WHERE e.content_hash IS f.content_hash AND e.meta_text IS NOT f.meta_text ORDER BY f.id")
        return list(self._records(sql, (model_id,)))  # type: ignore[attr-defined]

    def store_embeddings(self, model_id: str, rows: Iterable[EmbeddingRow]) -> None:
        """Insert or replace the rows in one transaction (a killed indexer loses only this batch)."""
        now = time.time()
        rows = list(rows)
        values = [(int(r.file_id), model_id, _blob(r.audio), _blob(r.meta), r.content_hash, r.meta_text,
                   r.error, now, _fields_blob(r.fields)) for r in rows]
        with self.transaction() as db:  # type: ignore[attr-defined]
            # files deleted meanwhile (a concurrent scan) are skipped rather than failing the batch
            db.executemany(
                "INSERT OR REPLACE INTO embeddings (file_id, model_id, audio, meta, content_hash, meta_text, "
                "error, updated_at, fields) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM files WHERE id = ?1)", values)
            self._write_predictions(db, [(int(r.file_id), r.content_hash, p)  # type: ignore[attr-defined]
                                         for r in rows for p in r.predictions])

    def load_embeddings(self, model_id: str, since: float | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(ids int64[N], audio float32[N, D], meta float32[N, D], has_meta bool[N])`` for the files
        still in the catalog that have an audio vector (rows without one are skipped); ``meta`` is
        zero where ``has_meta`` is False. ``since``: only rows stored after this time.time()."""
        sql = ("SELECT e.file_id, e.audio, e.meta FROM embeddings e JOIN files f ON f.id = e.file_id "
               "WHERE e.model_id = ? AND e.audio IS NOT NULL")
        params: tuple = (model_id,)
        if since is not None:
            sql += " AND e.updated_at > ?"
            params += (float(since),)
        rows = self._db.execute(sql + " ORDER BY e.file_id", params).fetchall()
        if rows:  # a vector of another length is damage (or a bug): skipped, the file re-embedded later
            dim = max(set(len(r[1]) for r in rows), key=[len(r[1]) for r in rows].count) // 4
            rows = [r for r in rows if len(r[1]) == 4 * dim and (r[2] is None or len(r[2]) == 4 * dim)]
        if not rows:
            empty = np.zeros((0, 0), np.float32)
            return np.zeros(0, np.int64), empty, empty.copy(), np.zeros(0, bool)
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        audio = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), dim).copy()
        has_meta = np.fromiter((r[2] is not None for r in rows), bool, len(rows))
        zero = bytes(4 * dim)
        meta = np.frombuffer(b"".join(r[2] if r[2] is not None else zero for r in rows), np.float32)
        return ids, audio, meta.reshape(len(rows), dim).copy(), has_meta

    def missing_fields(self, model_id: str, limit: int = 256) -> list[tuple[int, str]]:
        """(file id, metadata text) of current rows with words but no field vectors: stored before
        field vectors existed. Only the text is embedded again; the vectors and indexes stay."""
        return self._db.execute(f"SELECT e.file_id, e.meta_text {_MISSING_FIELDS} ORDER BY e.file_id LIMIT ?",
                                (model_id, int(limit))).fetchall()

    def count_missing_fields(self, model_id: str) -> int:
        """How many rows :meth:`missing_fields` would give in all."""
        return self._db.execute(f"SELECT count(*) {_MISSING_FIELDS}", (model_id,)).fetchone()[0]

    def store_fields(self, model_id: str, rows: Iterable[tuple[int, np.ndarray]]) -> None:
        """Field vectors [k, D] of rows already stored, in one transaction."""
        values = [(_fields_blob(vecs), model_id, int(file_id)) for file_id, vecs in rows]
        with self.transaction() as db:  # type: ignore[attr-defined]
            db.executemany("UPDATE embeddings SET fields = ? WHERE model_id = ? AND file_id = ?", values)

    def candidate_vectors(self, model_id: str, ids: Sequence[int]
                          ) -> dict[int, tuple[np.ndarray | None, np.ndarray | None]]:
        """Per id with a row: (its unit field vectors — [k, D] where the metadata text has several
        segments, else its one metadata vector [1, D] — or None without metadata; its unit audio
        vector [D], or None where the audio was not embedded).
        Read per search for its candidates only (a few hundred rows by primary key)."""
        out: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._db.execute(
                f"SELECT file_id, meta, fields, audio FROM embeddings WHERE model_id = ? "
                f"AND file_id IN ({','.join('?' * len(chunk))})", (model_id, *chunk)).fetchall()
            for file_id, meta, fields, audio in rows:
                vecs = sound = None
                if meta is not None:
                    dim = len(meta) // 4
                    if fields and len(fields) % dim == 0:
                        vecs = np.frombuffer(fields, np.int8).reshape(-1, dim).astype(np.float32)
                    else:
                        vecs = np.frombuffer(meta, np.float32).reshape(1, dim)
                    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
                if audio is not None:
                    a = np.frombuffer(audio, np.float32)
                    norm = float(np.linalg.norm(a))
                    sound = a / norm if norm > 0 else None  # a metadata-only row stores zeros
                out[int(file_id)] = (vecs, sound)
        return out

    def count_embeddings(self, model_id: str) -> int:
        """Files with a usable vector (audio or metadata) for ``model_id``: what the items index holds."""
        return self._db.execute(
            "SELECT count(*) FROM embeddings e JOIN files f ON f.id = e.file_id "
            "WHERE e.model_id = ? AND e.audio IS NOT NULL", (model_id,)).fetchone()[0]

    def delete_embeddings(self, model_id: str | None = None) -> int:
        """Drop the vectors of one model (None: of every model). Returns the number of rows."""
        with self.transaction() as db:  # type: ignore[attr-defined]
            if model_id is None:
                return db.execute("DELETE FROM embeddings").rowcount
            return db.execute("DELETE FROM embeddings WHERE model_id = ?", (model_id,)).rowcount

    def drop_file_embeddings(self, file_id: int) -> None:
        """The file's content changed: its vectors describe audio that is gone."""
        self._db.execute("DELETE FROM embeddings WHERE file_id = ?", (int(file_id),))
        self.drop_predictions(file_id)  # type: ignore[attr-defined]

    def embedding_models(self) -> list[str]:
        return [m for (m,) in self._db.execute("SELECT DISTINCT model_id FROM embeddings ORDER BY 1")]

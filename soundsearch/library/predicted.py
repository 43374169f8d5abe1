"""The catalog's store of predicted tags: what a label-bearing audio model heard in each file.

Two tables (schema migration 2): ``predicted_scores`` keeps every class probability of a tagger
(float16, in the tagger's class order) for the search engine's label bridge, and ``predicted_tags``
the few vocabulary words a file gets shown and filtered by (``tag:footsteps``), with their
confidence. Both go with their file (ON DELETE CASCADE), are written in the indexer's batch
transaction, and are dropped when the file's content changes. They are never mixed into the file's
own metadata.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Prediction:
    """One tagger's output for one file."""

    source: str
    scores: np.ndarray  # [C] class probabilities
    tags: list[tuple[str, float]] = field(default_factory=list)  # (word, confidence), best first


class PredictedTagStore:
    """Mixed into :class:`~soundsearch.library.catalog.Catalog`."""

    _db: sqlite3.Connection

    def _write_predictions(self, db: sqlite3.Connection,
                           rows: Iterable[tuple[int, str | None, Prediction]]) -> None:
        """Inside the caller's transaction: replace the predictions of each (file, source)."""
        for file_id, content_hash, pred in rows:
            db.execute("DELETE FROM predicted_tags WHERE file_id = ? AND source = ?", (file_id, pred.source))
            db.execute("INSERT OR REPLACE INTO predicted_scores (file_id, source, scores, content_hash) "
                       "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM files WHERE id = ?1)",
                       (file_id, pred.source, np.asarray(pred.scores, np.float16).tobytes(), content_hash))
            db.executemany("INSERT OR REPLACE INTO predicted_tags (file_id, source, tag, score) "
                           "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM files WHERE id = ?1)",
                           [(file_id, pred.source, tag.lower(), float(score)) for tag, score in pred.tags])

    def predicted_tags(self, file_id: int) -> list[tuple[str, str, float]]:
        """(source, tag, confidence) of one file, most confident first."""
        return [(s, t, float(c)) for s, t, c in self._db.execute(
            "SELECT source, tag, score FROM predicted_tags WHERE file_id = ? ORDER BY score DESC, tag",
            (int(file_id),))]

    def predicted_tags_of(self, file_ids: list[int]) -> dict[int, list[tuple[str, str, float]]]:
        """:meth:`predicted_tags` of many files in one query (at most 500 ids)."""
        out: dict[int, list[tuple[str, str, float]]] = {}
        if not file_ids:
            return out
        marks = ",".join("?" * len(file_ids))
        for fid, s, t, c in self._db.execute(
                f"SELECT file_id, source, tag, score FROM predicted_tags WHERE file_id IN ({marks}) "
                "ORDER BY file_id, score DESC, tag", [int(i) for i in file_ids]):
            out.setdefault(fid, []).append((s, t, float(c)))
        return out

    def predicted_sources(self) -> list[str]:
        return [s for (s,) in self._db.execute("SELECT DISTINCT source FROM predicted_scores ORDER BY 1")]

    def load_predicted_scores(self, source: str) -> tuple[np.ndarray, np.ndarray]:
        """``(ids int64[N], scores float32[N, C])`` of every file the tagger ``source`` has seen."""
        rows = self._db.execute(
            "SELECT p.file_id, p.scores FROM predicted_scores p JOIN files f ON f.id = p.file_id "
            "WHERE p.source = ? ORDER BY p.file_id", (source,)).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        width = len(rows[0][1]) // 2
        rows = [r for r in rows if len(r[1]) == 2 * width]  # a vocabulary change mid-way: keep one shape
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        scores = np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(len(rows), width)
        return ids, scores.astype(np.float32)

    def files_with_predicted_tag(self, tag: str, min_score: float = 0.0) -> np.ndarray:
        """Ids of the files a tagger gave ``tag`` (a word or its start: 'foot' finds 'footsteps')."""
        word = tag.strip().lower()
        rows = self._db.execute(
            "SELECT DISTINCT file_id FROM predicted_tags WHERE (tag = ? OR tag LIKE ? ESCAPE '\\') "
            "AND score >= ? ORDER BY 1",
            (word, word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", min_score))
        return np.array([r[0] for r in rows], np.int64)

    def drop_predictions(self, file_id: int) -> None:
        """The file's content changed: what was heard in it is gone too."""
        self._db.execute("DELETE FROM predicted_scores WHERE file_id = ?", (int(file_id),))
        self._db.execute("DELETE FROM predicted_tags WHERE file_id = ?", (int(file_id),))

"""The catalog's search tables: the ranked lexical index (FTS5), the filter words and the facets.

Three tables (schema migration 4), keyed by the file's id and written in the same transaction as its
``files`` row, so a search engine reads nothing at start and a killed scan leaves them in step:

- ``search_text`` (FTS5): :func:`~soundsearch.library.terms.doc_terms`, ranked with FTS5's
  ``bm25()`` (k1 1.2, b 0.75, the same document lengths as the terms). The terms are tokenized in
  Python (our stemmer, camelCase split, whole-name ``=name`` terms) and stored space-separated, so
  FTS5's ``ascii`` tokenizer (with ``=`` a word character) only splits them again.
- ``search_words`` (FTS5): :func:`~soundsearch.library.terms.filter_terms`, for ``+word`` / ``-word``.
- ``search_facets``: duration, sample rate, channels, format, folder, lowercase name, category words
  and keywords, the values filters and browse sorting compare, so that loading one is a SELECT of
  two narrow columns with no JSON to parse.

A trigger drops a file's FTS rows with its ``files`` row (roots removed, files deleted); facets go
by ON DELETE CASCADE.

Measured (tests/benchmarks/bench_index.py --parts start, synthetic rows, 2 shared cores, so ±50%
from run to run): the engine used to read every row and build BM25 before its first worded result
(8.9 s at 100k rows, 92 s and 1.9 GB RSS at 1M); now it reads nothing at start: first results in
0.08 s at 100k and 0.84 s at 1M (RSS +1 MiB), the first filter reads its facets in 0.2 s / 1.6 s
(RSS +10 MiB). The price is per query: FTS5 scores every file matching any query word, so a query
of very common words costs 9 ms (p50; p99 56 ms) at 100k and 89 ms (p99 0.6 s) at 1M, where the
in-memory BM25 took 0.5 / 3.9 ms. Lexical MAP on the held-out files is unchanged
(bench_retrieval.py --lexical-only). Opening an older catalog fills the tables once (migration 4:
12 s at 100k rows, 2 min at 1M); a scan writes ~0.2 ms more per new file.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterable

import numpy as np

from soundsearch.library.terms import doc_terms, facet_values, filter_terms

log = logging.getLogger(__name__)

TABLES = (
    """CREATE VIRTUAL TABLE search_text USING fts5(terms, tokenize = "ascii tokenchars '='")""",
    "CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_text, row)",
    # membership only (+word / -word): no positions, no lengths, a quarter of the writing
    """CREATE VIRTUAL TABLE search_words USING fts5(words, tokenize = "ascii tokenchars '='", detail = none,
        columnsize = 0)""",
    # the audio properties again beside the words' facets: one narrow table to read, in id order
    """CREATE TABLE search_facets (
        id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
        duration REAL,
        sample_rate INTEGER,
        channels INTEGER,
        format TEXT NOT NULL,
        parent BLOB NOT NULL,     -- os.fsencode(folder of the file)
        name BLOB NOT NULL,       -- os.fsencode(lowercase file name)
        category TEXT NOT NULL,   -- category, subcategory and CatID words, lowercase
        keywords TEXT NOT NULL    -- the file's keywords, lowercase
    )""",
    """CREATE TRIGGER files_search_delete AFTER DELETE ON files BEGIN
        DELETE FROM search_text WHERE rowid = old.id;
        DELETE FROM search_words WHERE rowid = old.id;
    END""",
)


def create_tables(db: sqlite3.Connection) -> None:
    """Migration 4: the tables, filled from every existing row (inside the migration's transaction)."""
    from soundsearch.library.catalog import SELECT_FILES, FileRecord

    for statement in TABLES:
        db.execute(statement)
    total = db.execute("SELECT count(*) FROM files").fetchone()[0]
    started, done = time.monotonic(), 0
    rows = db.execute(f"{SELECT_FILES} ORDER BY f.id")
    while chunk := rows.fetchmany(5000):
        _write(db, [FileRecord.from_row(r) for r in chunk])
        done += len(chunk)
        if done % 100_000 < len(chunk):  # a million rows take about two minutes
            log.info("catalog: search tables for %d of %d files (%.0f s)", done, total,
                     time.monotonic() - started)


def _write(db: sqlite3.Connection, records) -> None:
    text, words, facets = [], [], []
    for r in records:
        text.append((r.id, " ".join(doc_terms(r))))
        words.append((r.id, " ".join(sorted(filter_terms(r)))))
        fmt, parent, name, category, keywords = facet_values(r)
        facets.append((r.id, r.duration, r.sample_rate, r.channels, fmt, os.fsencode(parent),
                       os.fsencode(name), category, keywords))
    db.executemany("INSERT INTO search_text (rowid, terms) VALUES (?, ?)", text)
    db.executemany("INSERT INTO search_words (rowid, words) VALUES (?, ?)", words)
    db.executemany("INSERT OR REPLACE INTO search_facets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", facets)


FACETS = ("duration", "sample_rate", "channels", "format", "parent", "name", "category", "keywords")


def _phrase(term: str, prefix: bool = False) -> str:
    return '"' + term.replace('"', "") + '"' + ("*" if prefix else "")


def _ids(rows) -> np.ndarray:
    return np.fromiter((r[0] for r in rows), np.int64)


class SearchTableStore:
    """Mixed into :class:`~soundsearch.library.catalog.Catalog`."""

    _db: sqlite3.Connection
    _count_key: tuple | None = None
    _count_value = 0

    # writing: inside the caller's transaction ----------------------------------------------------
    def _index_files(self, ids: Iterable[int]) -> None:
        """(Re)write the search rows of ``ids`` from their ``files`` rows (after an update, a move or
        an edit)."""
        from soundsearch.library.catalog import SELECT_FILES, FileRecord

        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for table in ("search_text", "search_words"):
                self._db.execute(f"DELETE FROM {table} WHERE rowid IN ({marks})", chunk)
            rows = self._db.execute(f"{SELECT_FILES} WHERE f.id IN ({marks})", chunk).fetchall()
            _write(self._db, [FileRecord.from_row(r) for r in rows])

    def _index_records(self, records) -> None:
        """The search rows of rows just inserted (FileRecords as they were written)."""
        _write(self._db, records)

    # reading -------------------------------------------------------------------------------------
    def file_count(self) -> int:
        """How many files the catalog (and the lexical index) holds, counted again only after a
        write (a count of a million rows costs tens of milliseconds)."""
        key = (self._db.execute("PRAGMA data_version").fetchone()[0], self._db.total_changes)
        if key != self._count_key:
            self._count_value = self._db.execute("SELECT count(*) FROM files").fetchone()[0]
            self._count_key = key
        return self._count_value

    def _df(self, term: str, prefix: bool = False) -> int:
        if prefix:
            row = self._db.execute("SELECT sum(doc) FROM search_vocab WHERE term >= ? AND term < ?",
                                   (term, term + "\uffff")).fetchone()
        else:
            row = self._db.execute("SELECT doc FROM search_vocab WHERE term = ?", (term,)).fetchone()
        return int(row[0] or 0) if row else 0

    def lexical(self, terms: list[str], n: int, prefix: str | None = None
                ) -> tuple[np.ndarray, np.ndarray, float]:
        """The best ``n`` files for ``terms`` by BM25: (ids, scores, ideal), best first. ``ideal`` is the
        score of an average-length file holding each term once (a word the library never uses
        counts too), what the search blend divides by. ``prefix``: the query's last word as typed so
        far; when no file has that word whole, it matches as a prefix ("footste" → footstep)."""
        terms = list(dict.fromkeys(terms))
        if not terms:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), 0.0
        total = self.file_count()
        phrases, common, ideal = [], [], 0.0
        for term in terms:
            df = self._df(term)
            as_prefix = term == prefix and df == 0 and len(term) >= 2
            if as_prefix:
                df = min(total, self._df(term, prefix=True))
            idf = math.log((total - df + 0.5) / (df + 0.5)) if total else 0.0
            ideal += idf if idf > 0 else 1e-6  # as FTS5's bm25() floors a very common word's idf
            if df:
                (phrases if idf > 0 else common).append(_phrase(term, as_prefix))
        # A word in more than half the files adds next to nothing to any score but would make FTS5
        # score every one of those files: it is matched only when the query has nothing rarer.
        phrases = phrases or common
        if not phrases:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), ideal
        # ORDER BY bm25() rather than FTS5's "rank": SQLite keeps only the best n while sorting, where
        # FTS5 sorts every match (a third faster at a million rows)
        rows = self._db.execute("SELECT rowid, -bm25(search_text) FROM search_text WHERE search_text MATCH ? "
                                "ORDER BY bm25(search_text), rowid LIMIT ?",
                                (" OR ".join(phrases), int(n))).fetchall()
        return (np.fromiter((r[0] for r in rows), np.int64, len(rows)),
                np.fromiter((r[1] for r in rows), np.float32, len(rows)), ideal)

    def files_with_term(self, term: str) -> np.ndarray:
        """Ids (sorted) whose lexical terms hold ``term``: a whole name ("=doorwoodslam03") or a word."""
        return _ids(self._db.execute("SELECT rowid FROM search_text WHERE search_text MATCH ?",
                                     (_phrase(term),)))

    def files_saying(self, term: str) -> np.ndarray:
        """Ids (sorted) whose name, folders, library folder or tags hold ``term`` (tokenized): what a
        ``+word`` / ``-word`` filter matches."""
        return _ids(self._db.execute("SELECT rowid FROM search_words WHERE search_words MATCH ?",
                                     (_phrase(term),)))

    def facet_columns(self, names: Iterable[str] = FACETS) -> dict[str, np.ndarray]:
        """The ids of every file (sorted) and the facets ``names`` as arrays in that order: one narrow
        SELECT, no metadata JSON to parse."""
        names = [n for n in names if n in FACETS]
        rows = self._db.execute(f"SELECT id{''.join(', ' + n for n in names)} FROM search_facets "
                                "ORDER BY id").fetchall()
        out = {"ids": np.fromiter((r[0] for r in rows), np.int64, len(rows))}
        for j, name in enumerate(names, 1):
            if name in ("duration", "sample_rate", "channels"):  # None (unknown) → nan
                values = np.array([r[j] for r in rows], np.float64)
                out[name] = values if name == "duration" else np.nan_to_num(values).astype(np.int64)
            elif name == "parent":  # folders repeat: each decoded once
                seen: dict[bytes, str] = {}
                out[name] = np.array([seen.get(r[j]) or seen.setdefault(r[j], os.fsdecode(r[j]))
                                      for r in rows], dtype=object)
            elif name == "name":
                out[name] = np.array([os.fsdecode(r[j]) for r in rows], dtype=object)
            else:
                out[name] = np.array([r[j] for r in rows], dtype=object)
        return out

    def content_copies(self) -> dict[int, tuple[int, ...]]:
        """id → every id with the same content (itself too), for files that have copies."""
        # The hashes that repeat come from the hash index alone (narrow); only their rows are read
        # for the status: reading every row first took 3.9 s at a million files, this 0.3 s.
        rows = self._db.execute(
            "SELECT group_concat(id) FROM files WHERE content_hash IN (SELECT content_hash FROM files "
            "WHERE content_hash IS NOT NULL GROUP BY content_hash HAVING count(*) > 1) "
            "AND status != 'error' GROUP BY content_hash HAVING count(*) > 1")
        out: dict[int, tuple[int, ...]] = {}
        for (group,) in rows:
            ids = tuple(sorted(int(i) for i in group.split(",")))
            out.update((i, ids) for i in ids)
        return out

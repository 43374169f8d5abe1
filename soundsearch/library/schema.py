"""The catalog's SQLite schema and its migrations.

The schema version is SQLite's ``PRAGMA user_version``: the number of migrations applied. To change
the schema, append a migration (never edit an old one); a catalog opened by an older soundsearch
than the one that wrote it is refused rather than damaged.

Paths are BLOBs holding ``os.fsencode(path)``: file names are bytes on POSIX and need not be UTF-8,
so text columns would lose some of them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

log = logging.getLogger(__name__)

_V1 = """
CREATE TABLE roots (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    added_at REAL NOT NULL
);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    path BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT,
    duration REAL,
    sample_rate INTEGER,
    channels INTEGER,
    bit_depth INTEGER,
    format TEXT,
    frames INTEGER,
    subtype TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'metadata_only')),
    error TEXT,                          -- why status is 'error' (or 'metadata_only')
    note TEXT NOT NULL DEFAULT '',       -- usable but worth knowing: truncated, wrong extension …
    metadata TEXT NOT NULL DEFAULT '{}', -- Metadata.to_json()
    meta_text TEXT NOT NULL DEFAULT '',  -- Metadata.text, the text the model embeds ('' = untagged)
    user TEXT NOT NULL DEFAULT '{}',     -- the user's own data (rating, favourite …): survives moves
    scanned_at REAL NOT NULL
);
CREATE INDEX files_root ON files(root_id);
CREATE INDEX files_hash ON files(content_hash);
-- Problems that belong to no file row: unreadable folders, broken links, roots that are gone.
CREATE TABLE scan_errors (
    path BLOB PRIMARY KEY,
    root_id INTEGER REFERENCES roots(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    seen_at REAL NOT NULL
);
-- Per folder, a signature of its non-audio files (sidecars, CSV sheets): when it changes, the
-- metadata of the audio below is read again even though the audio files themselves did not change.
CREATE TABLE folders (
    path BLOB PRIMARY KEY,
    root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    sidecar_sig TEXT NOT NULL
);
CREATE INDEX folders_root ON folders(root_id);
-- Vectors' bookkeeping for the indexer: one row per (file, model).
CREATE TABLE embeddings (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    audio BLOB,              -- float32 vector, NULL when the audio could not be embedded
    meta BLOB,               -- float32 vector of the metadata text, NULL when untagged
    content_hash TEXT,       -- the file content the audio vector was computed from
    meta_text TEXT,          -- the metadata text the meta vector was computed from
    error TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (file_id, model_id)
);
CREATE INDEX embeddings_model ON embeddings(model_id);
"""

Migration = Callable[[sqlite3.Connection], None]


def _v1(db: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            db.execute(statement)


def _v2_predicted_tags(db: sqlite3.Connection) -> None:
    """Tags predicted from the audio by a label-bearing model (kept apart from the file's own
    metadata: they never enter ``files.metadata`` or ``meta_text``)."""
    db.execute("""
        CREATE TABLE predicted_scores (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            source TEXT NOT NULL,        -- the tagger, e.g. 'aisfx-ucsMixed'
            scores BLOB NOT NULL,        -- float16 class probabilities in the tagger's class order
            content_hash TEXT,           -- the content they were computed from
            PRIMARY KEY (file_id, source)
        )""")
    db.execute("""
        CREATE TABLE predicted_tags (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            tag TEXT NOT NULL,           -- a vocabulary word, lowercase ('footsteps', 'doors')
            score REAL NOT NULL,         -- the tagger's confidence, 0..1
            PRIMARY KEY (file_id, source, tag)
        )""")
    db.execute("CREATE INDEX predicted_tags_tag ON predicted_tags(tag)")


def _v3_edit_log(db: sqlite3.Connection) -> None:
    # The undo history of the user's own changes: metadata edits (the values themselves live in
    # files.user) and renames. ``changes`` is JSON: [[file_id, before, after], ...]; undone entries
    # are the redo stack, dropped when a new change is made.
    db.execute("""CREATE TABLE edit_log (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('edit', 'rename')),
        label TEXT NOT NULL,
        changes TEXT NOT NULL,
        undone INTEGER NOT NULL DEFAULT 0,
        at REAL NOT NULL
    )""")


def _v4_search_tables(db: sqlite3.Connection) -> None:
    """The lexical index (FTS5), the filter words and the facets, kept with the rows instead of being
    rebuilt by every search engine at start; filled here from the existing rows."""
    from soundsearch.library.search_tables import create_tables

    create_tables(db)


def _v5_failed_embeddings(db: sqlite3.Connection) -> None:
    # The library summary (app start, `stats`, `errors --warnings`) asks which files' audio could
    # not be embedded: without this index that read every embeddings row, vectors and all (0.25 s a
    # query at 100,000 files); with it, only the few failed ones (0.04 s).
    db.execute("CREATE INDEX IF NOT EXISTS embeddings_failed "
               "ON embeddings(file_id, model_id, content_hash, error) WHERE error IS NOT NULL")


def _v6_field_vectors(db: sqlite3.Connection) -> None:
    # One metadata vector per segment of the metadata text (metadata.text.text_fields), int8
    # [k, D] (directions only); b'' when the text has a single segment; NULL = not computed yet (the
    # next index job embeds the text's segments, no decoding). Search adds the best segment's cosine.
    if "fields" not in {row[1] for row in db.execute("PRAGMA table_info(embeddings)")}:
        db.execute("ALTER TABLE embeddings ADD COLUMN fields BLOB")


MIGRATIONS: list[Migration] = [_v1, _v2_predicted_tags, _v3_edit_log, _v4_search_tables,
                               _v5_failed_embeddings, _v6_field_vectors]
SCHEMA_VERSION = len(MIGRATIONS)


class CatalogError(Exception):
    """The catalog file cannot be used (written by a newer version, not a catalog, corrupt)."""


class CatalogDamaged(CatalogError):
    """The catalog file is damaged: ``soundsearch repair`` rebuilds it."""


def migrate(db: sqlite3.Connection, migrations: list[Migration] | None = None) -> int:
    """Bring ``db`` to the newest schema, each migration in its own transaction. Returns the version."""
    migrations = MIGRATIONS if migrations is None else migrations
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise CatalogDamaged(f"not a soundsearch catalog or corrupt: {exc}: run `soundsearch repair` "
                             "to rebuild it") from exc
    if version > len(migrations):
        raise CatalogError(f"this catalog has schema version {version}, newer than this soundsearch "
                           f"understands ({len(migrations)}); please update soundsearch")
    for number in range(version, len(migrations)):
        db.execute("BEGIN IMMEDIATE")
        try:
            # read again under the write lock: another process opening the same new catalog may
            # have applied this migration while we waited (both saw version 0 before)
            if db.execute("PRAGMA user_version").fetchone()[0] > number:
                db.execute("COMMIT")
                continue
            log.info("catalog: migrating schema %d → %d", number, number + 1)
            migrations[number](db)
            db.execute(f"PRAGMA user_version = {number + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(migrations)

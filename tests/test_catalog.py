"""The SQLite catalog: schema and migrations, roots, records, lossless paths, vectors' bookkeeping."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from soundsearch.audio.probe import AudioInfo
from soundsearch.library import schema
from soundsearch.library.catalog import Catalog, CatalogError, EmbeddingRow, display_path
from soundsearch.library.metadata import Field, Metadata

INFO = AudioInfo(1.5, 44100, 2, 24, "wav", 66150, True, "", "PCM_24")


@pytest.fixture
def catalog():
    cat = Catalog(":memory:")
    yield cat
    cat.close()


def add_file(cat: Catalog, path: str | bytes, root: str = "/lib", info: AudioInfo | None = INFO,
             text: str = "door slam", content_hash: str = "h", error: str | None = None) -> int:
    cat.add_root(root)
    rid = cat.root_of(os.fsdecode(path))[0]
    meta = Metadata([Field("description", text, "test")], text) if text else Metadata()
    with cat.transaction():
        return cat.write_file(None, rid, os.fsencode(path), 100, 1, content_hash, info, error, meta)


def test_file_catalog_uses_wal_foreign_keys_and_a_schema_version(tmp_path):
    with Catalog(tmp_path / "c.sqlite3") as cat:
        db = cat._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    with Catalog(tmp_path / "c.sqlite3") as again:  # reopening migrates nothing and keeps data
        assert again.count() == 0


def test_migrations_run_in_order_and_a_newer_catalog_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    schema.migrate(db)
    db.execute("INSERT INTO roots (path, added_at) VALUES (?, 0)", (b"/lib",))

    def v2(conn):
        conn.execute("ALTER TABLE files ADD COLUMN rating INTEGER")

    assert schema.migrate(db, schema.MIGRATIONS + [v2]) == schema.SCHEMA_VERSION + 1
    assert "rating" in [row[1] for row in db.execute("PRAGMA table_info(files)")]
    assert db.execute("SELECT count(*) FROM roots").fetchone()[0] == 1  # data survives
    db.close()
    with pytest.raises(CatalogError, match="newer"):
        Catalog(tmp_path / "old.sqlite3")


def test_a_file_that_is_not_a_catalog_is_refused_clearly(tmp_path):
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match="is damaged .not a SQLite database.*soundsearch repair"):
        Catalog(bogus)


def test_roots_nest_without_duplicates_and_removal_cascades(catalog):
    assert catalog.add_root("/lib/sfx/doors") == Path("/lib/sfx/doors")
    inner = add_file(catalog, "/lib/sfx/doors/a.wav", root="/lib/sfx/doors")
    assert catalog.add_root("/lib/sfx/doors/wood") == Path("/lib/sfx/doors")  # already covered
    assert catalog.add_root("/lib/sfx/") == Path("/lib/sfx")  # absorbs the inner root
    assert catalog.roots() == [Path("/lib/sfx")]
    assert catalog.get(inner).root == Path("/lib/sfx") and catalog.get(inner).folder == Path("doors")
    catalog.store_embeddings("m", [EmbeddingRow(inner, np.ones(3, np.float32), None, "h", "")])
    assert catalog.remove_root("/lib/sfx") == [inner]
    assert catalog.count() == 0 and catalog.get(inner) is None
    assert catalog._db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0
    with pytest.raises(KeyError, match="not a library root"):
        catalog.remove_root("/elsewhere")


def test_records_round_trip_and_keep_order(catalog):
    a = add_file(catalog, "/lib/doors/a.wav")
    b = add_file(catalog, "/lib/b.flac", info=None, error="empty file (0 bytes)", text="")
    c = add_file(catalog, "/lib/c.m4a", info=AudioInfo(2.0, 44100, 2, None, "m4a", 88200, False,
                                                         "metadata only: no AAC decoder", "mp4a.40.2"))
    rec = catalog.get(a)
    assert (rec.path, rec.root, rec.folder, rec.name) == (Path("/lib/doors/a.wav"), Path("/lib"),
                                                          Path("doors"), "a.wav")
    assert (rec.duration, rec.sample_rate, rec.channels, rec.bit_depth, rec.format, rec.frames, rec.subtype,
            rec.status, rec.error) == (1.5, 44100, 2, 24, "wav", 66150, "PCM_24", "ok", None)
    assert rec.metadata.get("description") == ["door slam"] and not rec.untagged
    assert [r.id for r in catalog.get_many([c, 999, a, b])] == [c, a, b]
    assert catalog.get_by_path("/lib/doors/../doors/a.wav").id == a  # normalised
    assert catalog.get(b).status == "error" and catalog.get(b).untagged
    assert catalog.get(c).status == "metadata_only" and "AAC" in catalog.get(c).error
    assert catalog.errors() == [(Path("/lib/b.flac"), "empty file (0 bytes)")]
    assert catalog.warnings() == [(Path("/lib/c.m4a"), "metadata only: no AAC decoder")]
    assert [r.id for r in catalog.iter_files("/lib")] == [a, b, c] and catalog.count("/lib") == 3


def test_get_many_beyond_the_sqlite_parameter_limit(catalog):
    ids = [add_file(catalog, f"/lib/{n}.wav") for n in range(1200)]
    assert [r.id for r in catalog.get_many(reversed(ids))] == ids[::-1]


def test_non_utf8_paths_survive_a_round_trip(catalog):
    raw = b"/lib/caf\xe9/\xff take.wav"
    fid = add_file(catalog, raw)
    rec = catalog.get(fid)
    assert os.fsencode(rec.path) == raw and catalog.get_by_path(rec.path).id == fid
    assert display_path(rec.path) == "/lib/caf\\xe9/\\xff take.wav"


def test_stats_summarise_the_library(catalog):
    add_file(catalog, "/lib/a.wav")
    add_file(catalog, "/lib/b.wav", text="")
    add_file(catalog, "/lib/bad.wav", info=None, error="corrupt")
    s = catalog.stats()
    assert (s["files"], s["untagged"], s["errors"], s["formats"], s["sample_rates"]) == (
        3, 1, 1, {"wav": 2}, {"44100": 2})
    assert s["hours"] == pytest.approx(3.0 / 3600)
    assert s["roots"] == [{"path": "/lib", "files": 3, "hours": pytest.approx(3.0 / 3600), "bytes": 300,
                           "untagged": 1, "errors": 1}]


def test_a_failed_transaction_writes_nothing(catalog):
    catalog.add_root("/lib")
    with pytest.raises(RuntimeError), catalog.transaction():
        catalog.write_file(None, 1, b"/lib/a.wav", 1, 1, "h", INFO, None, Metadata())
        raise RuntimeError("killed mid-batch")
    assert catalog.count() == 0


def test_embedding_bookkeeping(catalog):
    a, b, c = (add_file(catalog, f"/lib/{n}.wav", content_hash=n) for n in "abc")
    bad = add_file(catalog, "/lib/bad.wav", info=None, error="corrupt")
    assert [r.id for r in catalog.pending_embeddings("m")] == [a, b, c]  # never the broken file
    assert [r.id for r in catalog.pending_embeddings("m", limit=1)] == [a]
    catalog.store_embeddings("m", [
        EmbeddingRow(a, np.full(4, 1, np.float32), np.full(4, 2, np.float32), "a", "door slam"),
        EmbeddingRow(b, np.full(4, 3, np.float32), None, "b", ""),
        EmbeddingRow(c, None, None, "c", "door slam", error="silence only"),
        EmbeddingRow(bad + 100, np.ones(4, np.float32), None, "x", ""),  # a file deleted meanwhile
    ])
    assert catalog.pending_embeddings("m") == []
    assert [r.id for r in catalog.pending_embeddings("other")] == [a, b, c]
    ids, audio, meta, has_meta = catalog.load_embeddings("m")
    assert ids.tolist() == [a, b] and audio.dtype == np.float32 and audio.shape == (2, 4)
    assert meta[0].tolist() == [2] * 4 and meta[1].tolist() == [0] * 4 and has_meta.tolist() == [True, False]
    # metadata edited (same content): stale; content changed: pending again
    with catalog.transaction():
        catalog.set_metadata(a, Metadata([Field("description", "oak door", "t")], "oak door"))
        catalog.write_file(b, 1, b"/lib/b.wav", 100, 2, "b2", INFO, None, Metadata())
    assert [r.id for r in catalog.stale_metadata("m")] == [a]
    assert [r.id for r in catalog.pending_embeddings("m")] == [b]
    with catalog.transaction():
        catalog.delete_files([a])
    assert catalog.load_embeddings("m")[0].tolist() == [b]  # cascaded
    assert catalog.embedding_models() == ["m"]
    assert catalog.delete_embeddings("m") == 2 and catalog.load_embeddings("m")[1].shape == (0, 0)


def test_each_thread_opens_its_own_catalog(tmp_path):
    path = tmp_path / "c.sqlite3"
    with Catalog(path) as main:
        add_file(main, "/lib/a.wav")
        seen: list = []

        def worker():
            try:
                main.count()
            except sqlite3.ProgrammingError:  # a connection belongs to the thread that opened it
                seen.append("refused")
            with Catalog(path) as own:
                seen.append(own.count())
                add_file(own, "/lib/b.wav")

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert seen == ["refused", 1] and main.count() == 2


def test_the_summary_reads_only_failed_embeddings(catalog):
    """stats() and warnings() run at every app start: the files whose audio could not be embedded
    are found through a partial index, not by reading every stored vector."""
    plans = [row[-1] for row in catalog._db.execute(
        "EXPLAIN QUERY PLAN SELECT count(DISTINCT f.id) FROM files f JOIN embeddings e "
        "ON e.file_id = f.id WHERE f.status = 'ok' AND e.error IS NOT NULL "
        "AND e.content_hash IS f.content_hash")]
    assert any("embeddings_failed" in p for p in plans), plans


def test_content_copies_group_identical_usable_files(catalog):
    a = add_file(catalog, "/lib/a/rain.ogg", content_hash="same")
    b = add_file(catalog, "/lib/b/rain.ogg", content_hash="same")
    add_file(catalog, "/lib/c/rain.ogg", info=None, error="corrupt", content_hash="same")  # unusable
    add_file(catalog, "/lib/d/wind.ogg", content_hash="other")
    lone = add_file(catalog, "/lib/e/fire.ogg", content_hash="fire")
    add_file(catalog, "/lib/e/fire_bad.ogg", info=None, error="corrupt", content_hash="fire")
    assert catalog.content_copies() == {a: (a, b), b: (a, b)}  # fire: one usable file, no group
    assert lone not in catalog.content_copies()

"""Damaged user state is detected, kept aside and named, never silently replaced: collections.json,
the catalog (empty, cut short), and ``soundsearch repair`` rebuilding a catalog with its folders,
stored vectors, the user's own data and collections."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from search_helpers import by_name, index

from soundsearch import paths
from soundsearch.cli import main
from soundsearch.collections import FAVOURITES, Collections, Member
from soundsearch.library.catalog import Catalog, CatalogDamaged

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed


# ---- collections.json ----------------------------------------------------------------------------
def _kept(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".damaged-*"))


def test_a_truncated_collections_file_is_kept_aside_and_named(tmp_path):
    path = tmp_path / "collections.json"
    good = Collections(path)
    good.add("Doors", [Member(1, Path("/lib/door.wav")), Member(2, Path("/lib/slam.wav"))])
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    damaged = path.read_text()
    again = Collections(path)
    assert again.problem and "damaged" in again.problem and "kept as" in again.problem
    assert again.names() == [FAVOURITES]
    again.add(FAVOURITES, [Member(3, Path("/lib/x.wav"))])  # a save does not touch the kept file
    kept = _kept(path)
    assert len(kept) == 1 and kept[0].read_text() == damaged and str(kept[0]) in again.problem


@pytest.mark.parametrize("content", ["[]", "null", '{"collections": []}', "\xff\xfe garbage"])
def test_a_collections_file_of_the_wrong_shape_does_not_crash(tmp_path, content):
    path = tmp_path / "collections.json"
    path.write_bytes(content.encode("latin-1"))
    c = Collections(path)
    assert c.names() == [FAVOURITES] and c.problem and _kept(path)


def test_bad_entries_are_left_out_and_the_rest_kept(tmp_path):
    path = tmp_path / "collections.json"
    path.write_text(json.dumps({"schema_version": 1, "collections": {
        "Favourites": [{"id": 1, "path": "/a.wav"}, {"id": 2, "path": None}, "junk",
                       {"id": "x", "path": "/b.wav"}],
        "Hits": None}}))
    c = Collections(path)
    assert c.members(FAVOURITES) == [Member(1, Path("/a.wav")), Member(None, Path("/b.wav"))]
    assert "Hits" in c and c.members("Hits") == []
    assert c.problem and "3 unreadable entries" in c.problem


# ---- the catalog -----------------------------------------------------------------------------------
def _close_and_cut(fraction: float) -> Path:
    """The catalog file cut to ``fraction`` of its size (its WAL checkpointed first)."""
    path = paths.catalog_path()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with open(path, "r+b") as fh:
        fh.truncate(int(os.path.getsize(path) * fraction))
    return path


def test_an_emptied_catalog_is_not_taken_for_a_new_library(indexed):
    catalog, _, _ = indexed
    catalog.close()
    path = _close_and_cut(0.0)
    with pytest.raises(CatalogDamaged, match=r"empty \(0 bytes\).*soundsearch repair"):
        Catalog(path)
    assert path.stat().st_size == 0  # nothing was written into it


@pytest.mark.parametrize("argv", [["scan"], ["stats"], ["errors"], ["roots"], ["info", "FILE"]])
def test_commands_on_a_cut_catalog_say_so_without_a_traceback(indexed, argv, capsys):
    catalog, _, lib = indexed
    catalog.close()
    _close_and_cut(0.5)
    argv = [str(next(lib.rglob("*.wav"))) if a == "FILE" else a for a in argv]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "damaged" in err and "soundsearch repair" in err and "Traceback" not in err


def test_repair_gives_back_vectors_user_data_and_collections(indexed, tiny_model, capsys):
    """--force rebuilds a whole catalog: every file comes back with its vectors (nothing to embed
    again), its user data, and its place in collections under its new id."""
    catalog, model, lib = indexed
    ids = by_name(catalog)
    catalog.set_user_data(ids["dog_bark_loud.wav"], {"rating": 5})
    collections = Collections()
    door = catalog.get(ids["door_wood_slam.wav"])
    collections.add("Doors", [Member(door.id, door.path)])
    n = catalog.count()
    heard = catalog.predicted_tags(ids["dog_bark_loud.wav"])
    assert heard  # the tiny model's tagger heard something in it
    catalog.close()
    assert main(["repair", "--force"]) == 0
    out = capsys.readouterr().out
    assert f"{n} stored vectors reused, 1 files' own data kept" in out
    with Catalog(paths.catalog_path()) as fresh:
        new_ids = by_name(fresh)
        assert fresh.count() == n and fresh.roots() == [lib]
        assert fresh.get(new_ids["dog_bark_loud.wav"]).user == {"rating": 5}
        kept = fresh.predicted_tags(new_ids["dog_bark_loud.wav"])  # not embedded again: kept
        assert [(s, t) for s, t, _ in kept] == [(s, t) for s, t, _ in heard]
        result = index(fresh, tiny_model)
        assert result.files == 0 and result.items == n  # nothing embedded again
    assert Collections().members("Doors") == [Member(new_ids["door_wood_slam.wav"], door.path)]


@pytest.mark.parametrize("damage", ["cut", "page"])
def test_repair_of_a_damaged_catalog(indexed, tiny_model, damage, capsys):
    catalog, model, lib = indexed
    n = catalog.count()
    catalog.close()
    if damage == "cut":
        path = _close_and_cut(0.6)
    else:
        path = _close_and_cut(1.0)
        data = bytearray(path.read_bytes())
        data[4096 * 3:4096 * 5] = bytes(range(256)) * 32  # two pages of the tables overwritten
        path.write_bytes(bytes(data))
    assert main(["stats"]) == 3 or damage == "page"  # page damage may only show on reading rows
    capsys.readouterr()
    assert main(["repair"]) == 0
    out = capsys.readouterr().out
    assert "catalog damaged" in out and "kept as" in out and str(lib) in out
    assert len(list(path.parent.glob("catalog.sqlite3.damaged-*[0-9]"))) == 1  # (and its -wal, -shm)
    with Catalog(path) as fresh:
        assert fresh.count() == n and fresh.roots() == [lib]
        assert index(fresh, tiny_model).items == n
    assert main(["stats"]) == 0


def test_repair_of_an_emptied_catalog_finds_the_folders_kept_beside_it(indexed, capsys):
    catalog, _, lib = indexed
    n = catalog.count()
    catalog.close()
    _close_and_cut(0.0)
    assert main(["repair"]) == 0
    assert "catalog rebuilt: 10 files" in capsys.readouterr().out
    with Catalog(paths.catalog_path()) as fresh:
        assert fresh.count() == n and fresh.roots() == [lib]


def test_repair_on_a_whole_catalog_changes_nothing(indexed, capsys):
    assert main(["repair"]) == 0
    assert "nothing to repair" in capsys.readouterr().out

"""The catalog's search tables (FTS5 lexical index, filter words, facets): ranking on hand-made rows,
kept in step by scans, moves, deletes and the user's edits, filled by the migration from an older
catalog, and searched before anything is embedded."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
from search_helpers import make_library, scan, write_sound

from soundsearch import paths
from soundsearch.audio.probe import AudioInfo
from soundsearch.library.catalog import Catalog
from soundsearch.library.metadata import Field, Metadata
from soundsearch.library.search_tables import TABLES
from soundsearch.library.terms import name_terms, tokenize
from soundsearch.search import Filters, SearchEngine
from soundsearch.settings import Settings

pytest_plugins = ["search_fixtures"]  # fixtures: catalog, library, tiny_model, indexed

INFO = AudioInfo(1.0, 48000, 1, 24, "wav", 48000, True)


def add_rows(catalog: Catalog, rows: dict[str, Metadata]) -> dict[str, int]:
    """Hand-made rows (no audio behind them): file name → id."""
    root = catalog.add_root("/hand-made")
    root_id = catalog.root_of(root)[0]
    out = {}
    with catalog.transaction():
        for name, md in rows.items():
            out[name] = catalog.write_file(None, root_id, f"/hand-made/fx/{name}".encode(), 10, 0, name, INFO,
                                           None, md)
    return out


def ranked(catalog: Catalog, query: str, n: int = 10) -> list[int]:
    terms = tokenize(query) + name_terms(query)
    return catalog.lexical(terms, n)[0].tolist()


def in_step(catalog: Catalog) -> None:
    """Every files row has its search rows and no search row outlives its file."""
    db = catalog._db
    files = {i for (i,) in db.execute("SELECT id FROM files")}
    for table, key in (("search_text", "rowid"), ("search_words", "rowid"), ("search_facets", "id")):
        assert {i for (i,) in db.execute(f"SELECT {key} FROM {table}")} == files, table


def test_a_rare_word_outranks_a_common_one(catalog):
    # "door" in 21 of 52 files (FTS5's bm25() gives a word in more than half the files no weight)
    rows = {f"common_{i}.wav": Metadata(text=f"wooden door slam take {i}") for i in range(20)}
    rows.update({f"rain_{i}.wav": Metadata(text=f"rain on a roof take {i}") for i in range(30)})
    rows["odd.wav"] = Metadata(text="theremin wobble")
    rows["both.wav"] = Metadata(text="door creak with a theremin")
    ids = add_rows(catalog, rows)
    top = ranked(catalog, "door theremin")
    assert top[:2] == [ids["both.wav"], ids["odd.wav"]]  # both words, then the rare word alone
    assert set(top[2:]) == {ids[f"common_{i}.wav"] for i in range(8)}
    # the blend's normalisation: a file with every query word once scores about its ideal
    found, scores, ideal = catalog.lexical(tokenize("door theremin"), 5)
    assert 0.7 < scores[0] / ideal <= 1.3
    # a word in most files ranks nothing above a rarer one, but alone it still finds its files
    assert set(ranked(catalog, "take theremin")[:2]) == {ids["both.wav"], ids["odd.wav"]}
    assert len(catalog.lexical(["take"], 5)[0]) == 5
    # a word no file has still counts in the ideal: "all the words I typed are there" is the scale
    assert catalog.lexical(tokenize("door theremin zzyzx"), 5)[2] > ideal


def test_an_exact_name_and_a_catid_come_first(catalog):
    door = Metadata(fields=[Field("catid", "DOORWood", "test")], text="door wood slam heavy")
    ids = add_rows(catalog, {
        **{f"door_wood_slam_{i:02d}.wav": Metadata(text="door wood slam heavy") for i in range(10)},
        "DOORWood_Slam_Big.wav": door,
    })
    assert ranked(catalog, "door_wood_slam_03")[0] == ids["door_wood_slam_03.wav"]
    assert catalog.files_with_term(name_terms("DOORWood")[0]).tolist() == [ids["DOORWood_Slam_Big.wav"]]
    assert ranked(catalog, "DOORWood")[0] == ids["DOORWood_Slam_Big.wav"]


def test_the_last_word_typed_matches_as_a_prefix(catalog):
    ids = add_rows(catalog, {"steps.wav": Metadata(text="footsteps on gravel"),
                             "rain.wav": Metadata(text="rain on a roof")})
    assert catalog.lexical(["footste"], 10)[0].tolist() == []  # not a word of any file
    assert catalog.lexical(["footste"], 10, prefix="footste")[0].tolist() == [ids["steps.wav"]]
    # a whole word is not widened ("rain" does not also find "rainstick")
    assert catalog.lexical(["rain"], 10, prefix="rain")[0].tolist() == [ids["rain.wav"]]


def test_scans_moves_deletes_and_edits_keep_the_tables_in_step(catalog, library):
    scan(catalog, library)
    in_step(catalog)
    slam = catalog.get_by_path(library / "doors/door_wood_slam.wav")
    assert catalog.files_with_term("=doorwoodslam").tolist() == [slam.id]

    # a move (same content, new name): same id, the new name's words, the old ones gone
    os.rename(library / "doors/door_wood_slam.wav", library / "doors/gate_latch_clack.wav")
    scan(catalog, library)
    assert catalog.files_with_term("=gatelatchclack").tolist() == [slam.id]
    assert catalog.files_with_term("=doorwoodslam").tolist() == []
    assert slam.id in catalog.files_saying("latch").tolist()
    in_step(catalog)

    # a sidecar read again on a rescan
    (library / "doors" / "gate_latch_clack.txt").write_text("Description: zorblat hinge squeal\n")
    scan(catalog, library)
    assert catalog.files_with_term("zorblat").tolist() == [slam.id]

    # the user's edit changes the searched words at once; undo brings the file's own back
    catalog.set_edits({slam.id: {"description": "quantum flux capacitor"}})
    assert catalog.lexical(tokenize("flux capacitor"), 5)[0].tolist() == [slam.id]
    assert catalog.files_with_term("zorblat").tolist() == []
    catalog.undo()
    assert catalog.files_with_term("flux").tolist() == []
    assert catalog.files_with_term("zorblat").tolist() == [slam.id]

    # new content at a known path: its row and words are written again
    write_sound(library / "doors/door_metal_creak.wav", 0.3, 44100, 1, 999.0, seed=9)  # was 48 kHz stereo
    scan(catalog, library)
    in_step(catalog)
    creak = catalog.get_by_path(library / "doors/door_metal_creak.wav").id
    cols = catalog.facet_columns(["sample_rate", "channels"])
    row = cols["ids"].tolist().index(creak)
    assert (cols["sample_rate"][row], cols["channels"][row]) == (44100, 1)

    # deleted files leave every search table
    (library / "glass/glass_clink.flac").unlink()
    scan(catalog, library)
    assert catalog.files_with_term("=glassclink").tolist() == []
    in_step(catalog)
    catalog.remove_root(library)
    assert catalog.count() == 0
    in_step(catalog)


def test_facets_filter_without_reading_the_metadata(catalog, library):
    scan(catalog, library)
    cols = catalog.facet_columns()
    by_id = {r.id: r for r in catalog.iter_files()}
    assert cols["ids"].tolist() == sorted(by_id)
    for i, fid in enumerate(cols["ids"].tolist()):
        r = by_id[fid]
        assert cols["name"][i] == r.path.name.lower() and cols["parent"][i] == str(r.path.parent)
        assert cols["sample_rate"][i] == r.sample_rate and cols["channels"][i] == r.channels
        assert cols["format"][i] == r.format.lower()


def test_an_older_catalog_gets_its_search_tables_on_opening(home, library):
    path = paths.catalog_path()
    with Catalog(path) as catalog:
        scan(catalog, library)
        catalog.set_edits({catalog.get_by_path(library / "ZOOM0001.wav").id: {"keywords": "zorblat"}})
        want = {r.id for r in catalog.iter_files()}
    db = sqlite3.connect(path)  # back to schema 3: what an older soundsearch wrote
    db.execute("DROP TRIGGER files_search_delete")
    db.execute("DROP INDEX embeddings_failed")  # (migration 5)
    db.execute("ALTER TABLE embeddings DROP COLUMN fields")  # (migration 6)
    for name in ("search_vocab", "search_text", "search_words", "search_facets"):
        db.execute(f"DROP TABLE {name}")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    assert len(TABLES) == 5
    with Catalog(path) as catalog:
        in_step(catalog)
        assert {int(i) for i in catalog.facet_columns()["ids"]} == want
        zoom = catalog.get_by_path(library / "ZOOM0001.wav").id
        assert catalog.files_with_term("zorblat").tolist() == [zoom]  # the user's edit, too
        assert catalog.files_with_term("=dogbarkloud").tolist() == [
            catalog.get_by_path(library / "nature/dog_bark_loud.wav").id]


def test_scanned_files_are_found_by_name_before_they_are_embedded(catalog, library, tiny_model):
    scan(catalog, library)  # no index job yet
    engine = SearchEngine(catalog, tiny_model, Settings())
    assert len(engine) == 0
    hits = engine.search("glass_clink.flac", k=3)
    assert hits and hits[0].path.name == "glass_clink.flac"
    assert {h.path.name for h in engine.search("door slam", k=5)} >= {"door_wood_slam.wav",
                                                                      "DOORWood_Heavy Slam_JD_Lib.wav"}
    assert [h.path.name for h in engine.search("dog bar", k=1)] == ["dog_bark_loud.wav"]  # as typed
    assert engine.search("door slam +wood", k=5)
    assert {h.path.name for h in engine.search("door -metal", k=10)} & {"door_metal_creak.wav"} == set()
    # a file scanned while the engine is open is found too
    write_sound(library / "doors/gate_squeak.wav", 0.3, 44100, 1, 400.0)
    scan(catalog, library)
    assert engine.search("gate_squeak", k=1)[0].path.name == "gate_squeak.wav"
    assert np.isin(engine._allowed(Filters(formats=("flac",))), catalog.files_with_term("=glassclink")).all()


def test_a_new_root_holding_an_old_one_gives_its_files_its_name(catalog, tmp_path):
    inner = make_library(tmp_path / "Ambiences" / "inner", {"x_take.wav": (0.2, 44100, 1, 300.0)})
    scan(catalog, inner)
    fid = next(catalog.iter_files()).id
    assert fid not in catalog.files_saying(tokenize("Ambiences")[0]).tolist()
    catalog.add_root(tmp_path / "Ambiences")
    assert fid in catalog.files_saying(tokenize("Ambiences")[0]).tolist()


def test_facets_are_read_when_a_filter_needs_them(catalog, library):
    from soundsearch.index.facets import LibraryTable

    scan(catalog, library)
    records = {r.id: r for r in catalog.iter_files()}
    table = LibraryTable.build(catalog)
    assert table.ids.tolist() == sorted(records) and "duration" not in vars(table)
    short = table.allowed(Filters(max_duration=0.5)).tolist()
    assert short == sorted(i for i, r in records.items() if r.duration <= 0.5)
    assert "duration" in vars(table) and "parent" not in vars(table)
    # a file scanned between two filters: the next read realigns every column with the ids
    write_sound(library / "doors/gate_squeak.wav", 0.3, 44100, 1, 400.0)
    scan(catalog, library)
    new = catalog.get_by_path(library / "doors/gate_squeak.wav").id
    assert new in table.allowed(Filters(formats=("wav",), folder="doors")).tolist()
    assert len(table.duration) == len(table.parent) == len(table.ids) == len(records) + 1
    assert new in table.allowed(Filters(max_duration=0.5)).tolist()

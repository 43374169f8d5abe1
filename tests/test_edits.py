"""The user's metadata edits in the catalog: batch edit, undo/redo, searchable text, rescans, moves;
UCS rename preview, undo and the catalog following the files."""

from __future__ import annotations

import os

import pytest
from library_fixtures import build_library

from soundsearch import paths
from soundsearch.index.facets import Filters, LibraryTable
from soundsearch.jobs import run
from soundsearch.library.catalog import Catalog
from soundsearch.library.rename import apply_rename, plan_rename
from soundsearch.library.scanner import scan
from soundsearch.library.user_edits import BatchOp, EditError, plan_batch

DOOR = "Doors/door_wood_slam_01.wav"
SIDECAR, SIDECAR_UCS = "Doors/door_wood_slam_01.txt", "Doors/DOORWood_Heavy Slam_JD_Home.txt"
CREAK = "Doors/Metal/door_metal_creak.aiff"
CREAK_UCS = "Doors/Metal/DOORMetl_Rusty Gate Creak Slow_JD_Home.aiff"


@pytest.fixture
def library(tmp_path):
    lib = build_library(tmp_path / "library")
    yield lib
    lib.verify()  # edits live in the catalog: no byte of the user's files changes


@pytest.fixture
def catalog(home):
    cat = Catalog(paths.catalog_path())
    yield cat
    cat.close()


def renamed(library, src: str, dst: str) -> None:
    """Record that the app renamed ``src`` to ``dst`` (same bytes, new name)."""
    library.expected[os.fsencode(dst)] = library.expected.pop(os.fsencode(src))


def scanned(catalog, library):
    run(scan(catalog, [str(library.root)]))
    return {r.path: r for r in catalog.iter_files()}


def test_edit_replaces_file_fields_and_reaches_the_search_text(catalog, library):
    records = scanned(catalog, library)
    door = records[library.path(DOOR)]
    assert "oak" in door.metadata.text  # from the sidecar
    entry = catalog.set_edits({door.id: {"description": "zorblat chamber latch", "keywords": "latch; metal"}})
    assert entry is not None and entry.files == 1
    now = catalog.get(door.id)
    assert now.metadata.get("description") == ["zorblat chamber latch"]
    assert now.metadata.get("keywords") == ["latch, metal"]
    assert "zorblat" in now.metadata.text and "oak" not in now.metadata.text
    assert now.scanned.get("description") and "zorblat" not in now.scanned.text
    # the index job re-embeds rows whose text changed; the lexical index has the new words at once
    assert door.id in catalog.files_with_term("zorblat").tolist()
    assert door.id in catalog.lexical(["zorblat"], 10)[0].tolist()


def test_batch_set_append_replace_then_undo_and_redo(catalog, library):
    records = list(scanned(catalog, library).values())
    ten = records[:8]
    ops = [BatchOp("set", "description", "field recording by the river"),
           BatchOp("append", "keywords", "water, take")]
    changes = plan_batch(ten, ops)
    assert set(changes) == {r.id for r in ten}
    catalog.set_edits(changes, "batch")
    again = catalog.get_many([r.id for r in ten])
    assert all(r.metadata.get("description") == ["field recording by the river"] for r in again)
    assert all("water" in r.metadata.get("keywords")[0] for r in again)
    catalog.set_edits(plan_batch(again, [BatchOp("replace", "description", "lake", find="RIVER")]), "replace")
    assert all(r.metadata.get("description") == ["field recording by the lake"]
               for r in catalog.get_many([r.id for r in ten]))

    undone = catalog.undo()
    assert undone.label == "replace" and undone.files == len(ten)
    assert catalog.get(ten[0].id).metadata.get("description") == ["field recording by the river"]
    catalog.undo()
    assert all(r.edits == {} and r.metadata.to_json() == r.scanned.to_json()
               for r in catalog.get_many([r.id for r in ten]))
    assert catalog.undo() is None and not catalog.can_undo() and catalog.can_redo()
    catalog.redo()
    assert catalog.get(ten[-1].id).metadata.get("description") == ["field recording by the river"]
    # a new change ends the redo stack
    catalog.set_edits({ten[0].id: {"library": "My Lib"}})
    assert not catalog.can_redo()


def test_bad_batch_operations_are_refused():
    with pytest.raises(EditError):
        BatchOp("set", "duration", "3")
    with pytest.raises(EditError):
        BatchOp("replace", "description", "x", find="")


def test_catid_edit_brings_its_ucs_category(catalog, library):
    records = scanned(catalog, library)
    rain = records[library.path("Ambience/rain_light.ogg")]
    catalog.set_edits({rain.id: {"catid": "DOORWood"}})
    now = catalog.get(rain.id)
    assert now.metadata.get("category") == ["DOORS"] and now.metadata.get("subcategory") == ["WOOD"]
    assert LibraryTable.build(catalog).allowed(Filters(ucs_category="doorwood")).tolist() == [rain.id]


def test_edits_survive_rescan_content_change_and_move(catalog, library):
    records = scanned(catalog, library)
    door = records[library.path(DOOR)]
    catalog.set_edits({door.id: {"description": "my own words"}})
    library.tone(DOOR, seconds=0.35)  # new content: re-probed, metadata read again
    run(scan(catalog))
    assert catalog.get(door.id).metadata.get("description") == ["my own words"]
    library.move(DOOR, "Elsewhere/renamed.wav")
    run(scan(catalog))
    moved = catalog.get(door.id)
    assert moved.path == library.path("Elsewhere/renamed.wav")
    assert moved.metadata.get("description") == ["my own words"] and "my own words" in moved.metadata.text


def test_ucs_rename_preview_apply_and_undo(catalog, library):
    records = scanned(catalog, library)
    door, creak = records[library.path(DOOR)], records[library.path(CREAK)]
    bird = records[library.path("Ambience/forest birds.flac")]
    catalog.set_edits({door.id: {"catid": "DOORWood", "fxname": "Heavy Slam"},
                       creak.id: {"catid": "DOORMetl", "description": "rusty gate creak, slow"}})
    plans = plan_rename(catalog.get_many([door.id, creak.id, bird.id]), creator_id="JD", source_id="Home")
    by_id = {p.file_id: p for p in plans}
    assert by_id[door.id].new.name == "DOORWood_Heavy Slam_JD_Home.wav"
    assert by_id[creak.id].new.name == "DOORMetl_Rusty Gate Creak Slow_JD_Home.aiff"
    assert by_id[bird.id].new is None and "CatID" in by_id[bird.id].problem
    assert library.path(DOOR).exists()  # a preview touches nothing

    assert by_id[door.id].sidecars == [(library.path(SIDECAR), library.path(SIDECAR_UCS))]
    entry, failures = apply_rename(catalog, plans)
    assert failures == [] and entry.files == 3  # two sounds and the door's description file
    renamed(library, DOOR, "Doors/DOORWood_Heavy Slam_JD_Home.wav")
    renamed(library, SIDECAR, SIDECAR_UCS)
    renamed(library, CREAK, CREAK_UCS)
    library.verify()
    now = catalog.get(door.id)
    assert now.path == library.path("Doors/DOORWood_Heavy Slam_JD_Home.wav")
    assert now.metadata.get("creator_id") == ["JD"]  # the new name is read as UCS
    assert "oak" in now.scanned.text  # the sidecar went along: its words still describe the sound
    assert run(scan(catalog)).moved == []  # the catalog already followed: nothing to find

    catalog.undo()
    renamed(library, "Doors/DOORWood_Heavy Slam_JD_Home.wav", DOOR)
    renamed(library, SIDECAR_UCS, SIDECAR)
    renamed(library, CREAK_UCS, CREAK)
    library.verify()
    assert catalog.get(door.id).path == library.path(DOOR) and "oak" in catalog.get(door.id).scanned.text
    catalog.redo()
    renamed(library, DOOR, "Doors/DOORWood_Heavy Slam_JD_Home.wav")
    renamed(library, SIDECAR, SIDECAR_UCS)
    renamed(library, CREAK, CREAK_UCS)
    assert "oak" in catalog.get(door.id).scanned.text


def test_rename_never_replaces_an_existing_file(catalog, library):
    records = scanned(catalog, library)
    door = records[library.path(DOOR)]
    catalog.set_edits({door.id: {"catid": "DOORWood", "fxname": "Slam"}})
    library.tone("Doors/DOORWood_Slam_USER_SRC.wav")  # the name it would get is taken
    plan = plan_rename([catalog.get(door.id)])[0]
    assert plan.new.name == "DOORWood_Slam 2_USER_SRC.wav"
    os.symlink("nowhere", library.path("Doors/DOORWood_Slam 2_USER_SRC.wav"))  # taken after the preview
    library.expected[b"Doors/DOORWood_Slam 2_USER_SRC.wav"] = "link:nowhere"
    entry, failures = apply_rename(catalog, [plan])
    assert entry is None and len(failures) == 1
    assert catalog.get(door.id).path == library.path(DOOR)

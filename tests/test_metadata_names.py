"""File and folder names, UCS names, meaningless names, the metadata text and read_metadata itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_metadata_helpers import unchanged, write_audio

from soundsearch import paths
from soundsearch.library import metadata
from soundsearch.library.metadata import Field, Metadata, ReadContext, read_metadata
from soundsearch.library.metadata.text import MAX_WORDS, build_text
from soundsearch.library.metadata.ucs import parse_name, table
from soundsearch.library.metadata.words import name_words, split_words


@pytest.mark.parametrize("name,words", [
    ("Door_Slam_01", ["door", "slam"]),
    ("HeavyDoorSlam_Take3", ["heavy", "door", "slam"]),
    ("DOORWood-metal.v2", ["door", "wood", "metal"]),
    ("select7", ["select"]),
    ("bed01", ["bed"]),  # a word with a take number is not a hex id
    ("default_gravel_dig.2", ["default", "gravel", "dig"]),
    ("New_York_Traffic", ["new", "york", "traffic"]),
    ("ÉcoleBruit cour", ["école", "bruit", "cour"]),
    ("rain (copy) [2]", ["rain"]),
    ("0ad_theme", ["0ad", "theme"]),
])
def test_name_words(name, words):
    assert name_words(name) == words


@pytest.mark.parametrize("name", [
    "ZOOM0001", "ZOOM0001_LR", "ZOOM0003_Tr1", "DR-0001", "TASCAM_0042", "STE-001", "Audio 12",
    "Take 3", "Track 01", "untitled", "Untitled 7", "New Recording 5", "1234567", "a3f9c2e1",
    "550e8400-e29b-41d4-a716-446655440000", "X7K2Q9", "0x1F2E", "REC_0001_02",
])
def test_meaningless_names_give_no_words(name):
    assert name_words(name) == []


def test_split_keeps_ids_whole():
    assert split_words("a3f9c2e1_DoorSlam") == ["a3f9c2e1", "Door", "Slam"]


def test_meaningless_file_is_untagged(tmp_path):
    lib = tmp_path / "lib"
    paths_ = [write_audio(lib / n) for n in ("ZOOM0001.wav", "DR-0001.wav", "TASCAM_0042.wav",
                                              "Audio 12.wav", "Take 3.wav", "4f3a9c2d7e.wav")]
    with unchanged(lib):
        metas = [read_metadata(p, ReadContext(root=lib)) for p in paths_]
    for meta in metas:
        assert meta.untagged and meta.text == "" and meta.errors == []


def test_folder_words_relative_to_root(tmp_path):
    root = tmp_path / "My Library"
    wav = write_audio(root / "Foley" / "SFX" / "DoorsWood" / "Take 2" / "ZOOM0004.wav")
    meta = read_metadata(wav, ReadContext(root=root))
    # Nearest folder first; the root's own name, generic folders and take folders give nothing.
    assert meta.get("folder_words") == ["doors wood foley"]
    assert meta.get("name_words") == []
    assert meta.text == "doors wood foley"
    # Without a root, the nearest two folders count.
    loose = read_metadata(wav)
    assert loose.get("folder_words") == ["doors wood"]


def test_ucs_name_expands_from_table(tmp_path):
    lib = tmp_path / "lib"
    wav = write_audio(lib / "DOORWood_Slam Heavy_JD_Foley.wav")
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
    got = {f.name: f.value for f in meta.fields if f.source == "ucs"}
    assert got["catid"] == "DOORWood"
    assert got["category"] == "DOORS" and got["subcategory"] == "WOOD"
    assert got["fxname"] == "Slam Heavy"
    assert got["creator_id"] == "JD" and got["source_id"] == "Foley"
    assert "closet" in got["ucs_synonyms"]
    # FXName leads; the creator and source codes are not words of the sound.
    assert meta.text.startswith("Slam Heavy, DOORS, WOOD")
    assert " JD" not in meta.text
    assert len(meta.text.split(",")[-1].split()) <= 8  # synonyms last and few


def test_ucs_user_category_and_user_data():
    parsed = parse_name("AMBForst-Night_Owls Distant_AB_Woods_Mic2 Spaced")
    assert parsed.entry.category == "AMBIENCE"
    assert parsed.user_category == "Night" and parsed.fxname == "Owls Distant"
    assert parsed.user_data == "Mic2 Spaced"


@pytest.mark.parametrize("stem", [
    "Door_Slam_01",  # "Door" is not a CatID
    "AMB_xyz",  # unknown CatID
    "MUSCTest",  # no FXName
    "doorwood_slam",  # CatIDs are case-sensitive
    "DOORWood_01",  # a take number is not an FXName
    "DOORWood_",  # empty FXName
    "RAIN",
])
def test_non_ucs_names_are_not_misread(tmp_path, stem):
    assert parse_name(stem) is None
    wav = write_audio(tmp_path / f"{stem}.wav")
    meta = read_metadata(wav, ReadContext(root=tmp_path))
    assert not any(f.source.startswith("ucs") for f in meta.fields)


def test_ucs_table_ships_with_licence():
    folder = paths.resources_dir() / "ucs"
    assert (folder / "LICENSE").read_text().startswith("Creative Commons")
    assert len(table()) == 752 and table()["RAIN"].category == "RAIN"


def test_text_order_dedupe_and_bound():
    fields = [
        Field("folder_words", "doors foley", "folder"),
        Field("name_words", "door slam heavy", "filename"),
        Field("keywords", "door, slam; wood, " + ", ".join(f"kw{i}" for i in range(80)), "sheet"),
        Field("description", "A heavy wooden door slams shut.", "bext:Description"),
        Field("title", "Track 01", "id3:TIT2"),
        Field("fxname", "Door Slam", "ixml:USER/FXNAME"),
        Field("designer", "Jane Doe", "ixml:USER/DESIGNER"),
    ]
    text = build_text(fields)
    assert text.startswith("Door Slam, A heavy wooden door slams shut, wood kw0 kw1")
    assert text.endswith("kw23, doors foley")  # keywords capped; all name words were said already
    assert "Track" not in text and "Jane" not in text
    assert len(text.split()) <= MAX_WORDS
    assert build_text(list(reversed(fields))) == text  # the order fields were read in does not matter
    assert build_text([Field("title", "Audio 12", "x"), Field("comment", "the a of", "y")]) == ""


def test_json_round_trip_and_by_source(tmp_path):
    lib = tmp_path / "lib"
    wav = write_audio(lib / "Birds" / "DOORWood_Creak Slow_JD_Foley.wav")
    meta = read_metadata(wav, ReadContext(root=lib))
    again = Metadata.from_json(json.loads(json.dumps(meta.to_json())))
    assert again == meta
    groups = meta.by_source()
    assert set(groups) == {"ucs", "filename", "folder"}
    assert [f.value for f in groups["folder"]] == ["birds"]


def test_failing_reader_is_recorded_and_others_run(tmp_path, monkeypatch):
    def broken(path, ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(metadata.READERS, "broken", broken)
    wav = write_audio(tmp_path / "Wind_Gust.wav")
    meta = read_metadata(wav, ReadContext(root=tmp_path))
    assert meta.errors == ["broken: boom"]
    assert meta.text == "wind gust"


def test_dev_library_shape_and_determinism(tmp_path):
    lib = tmp_path / "lib"
    wav = write_audio(lib / "0ad-data" / "audio" / "attack" / "impact" / "arrow_wood_06.wav")
    ctx = ReadContext(root=lib)
    first = read_metadata(wav, ctx)
    assert first.text == "arrow wood, impact attack 0ad"
    assert read_metadata(wav, ctx) == first == read_metadata(wav, ReadContext(root=lib))


def test_non_utf8_and_very_long_names(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    raw = os.fsencode(lib) + b"/Porte_ch\xeane_01"  # a Latin-1 name, not valid UTF-8
    with open(raw + b".wav", "wb") as f:
        f.write(write_audio(tmp_path / "src.wav").read_bytes())
    with open(raw + b".txt", "wb") as f:
        f.write(b"Vieille porte en ch\xeane")
    path = Path(os.fsdecode(raw + b".wav"))
    long_path = write_audio(lib / ("Wind_" + "Howl" * 55 + ".wav"))
    with unchanged(lib):
        meta = read_metadata(path, ReadContext(root=lib))
        long_meta = read_metadata(long_path, ReadContext(root=lib))
    assert meta.get("name_words") == ["porte chêne"]
    assert meta.get("description") == ["Vieille porte en chêne"]
    assert json.dumps(meta.to_json(), ensure_ascii=False).encode("utf-8")  # storable as UTF-8
    assert any(f.source == "sidecar:Porte_chêne_01.txt" for f in meta.fields)
    assert long_meta.get("name_words")[0].startswith("wind howl")
    assert len(long_meta.text.split()) <= MAX_WORDS


def test_boilerplate_comments_stay_out_of_the_text():
    fields = [
        Field("comment", "Made with Sonic Foundry ACID 4", "info:ICMT"),
        Field("comment", "released under GPL", "vorbis:COMMENTS"),
        Field("comment", "Portion of the file found at <https://example.org/1>. Rain on a tin roof.", "x"),
        Field("description", "Metal clank made with a hammer. Copyright (C) 2001 Someone", "y"),
    ]
    assert build_text(fields) == "Metal clank made with a hammer, Rain on a tin roof"

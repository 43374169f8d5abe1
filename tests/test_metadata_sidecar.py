"""Sidecar files: same-stem .txt/.json/.xml/.yaml, folder description files, CSV/TSV sheets."""

from __future__ import annotations

import time

import pytest
from test_metadata_helpers import unchanged, write_audio

from soundsearch.library.metadata import ReadContext, read_metadata, sheets


def fields_from(meta, prefix: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in meta.fields:
        if f.source.startswith(prefix):
            out.setdefault(f.name, []).append(f.value)
    return out


@pytest.fixture
def lib(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    return root


def test_same_stem_txt_and_double_extension_json(lib):
    wav = write_audio(lib / "ZOOM0007.wav")
    (lib / "ZOOM0007.txt").write_text("Kettle whistling on a gas stove\n", encoding="utf-8")
    (lib / "ZOOM0007.wav.json").write_text(
        '{"tags": ["kettle", "steam", "kitchen"], "metadata": {"Category": "Food & Drink", "id": 7},'
        ' "name": "Kettle Whistle", "duration": 12.5}', encoding="utf-8")
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
    assert fields_from(meta, "sidecar:ZOOM0007.txt") == {"description": ["Kettle whistling on a gas stove"]}
    js = fields_from(meta, "sidecar:ZOOM0007.wav.json")
    assert js == {"keywords": ["kettle, steam, kitchen"], "category": ["Food & Drink"],
                  "title": ["Kettle Whistle"]}
    assert meta.text == "Kettle Whistle, Kettle whistling on a gas stove, Food Drink, steam kitchen"
    assert meta.errors == []


def test_xml_sidecar_elements_and_attributes(lib):
    wav = write_audio(lib / "clip.wav")
    (lib / "clip.xml").write_text(
        '<?xml version="1.0"?><sound description="Chain rattle on concrete">'
        "<keywords>chain, metal</keywords><FXNAME>Chain Drop</FXNAME><samplerate>48000</samplerate>"
        "</sound>", encoding="utf-8")
    meta = read_metadata(wav, ReadContext(root=lib))
    got = fields_from(meta, "sidecar:clip.xml")
    assert got == {"description": ["Chain rattle on concrete"], "keywords": ["chain, metal"],
                   "fxname": ["Chain Drop"]}


def test_yaml_sidecar(lib):
    wav = write_audio(lib / "x1.flac", fmt="FLAC")
    (lib / "x1.yaml").write_text("title: Thunder clap\nkeywords: [storm, thunder]\n"
                                 "description: 'Close thunder strike'\nrate: 44100\n", encoding="utf-8")
    meta = read_metadata(wav, ReadContext(root=lib))
    assert fields_from(meta, "sidecar:x1.yaml") == {
        "title": ["Thunder clap"], "keywords": ["storm, thunder"], "description": ["Close thunder strike"]}


def test_yaml_alias_bomb_is_harmless(lib):
    wav = write_audio(lib / "bomb.wav")
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
              f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
    lines += ["keywords: *i", "title: Safe"]
    (lib / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    meta = read_metadata(wav, ReadContext(root=lib))
    assert time.perf_counter() - start < 1.0
    assert meta.get("title") == ["Safe"]


def test_xml_sidecar_entity_attack_refused(lib):
    wav = write_audio(lib / "evil.wav")
    (lib / "evil.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        "<r><description>&b;</description></r>", encoding="utf-8")
    (lib / "evil.txt").write_text("Still read", encoding="utf-8")
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("description") == ["Still read"]
    assert any("bad sidecar evil.xml" in e and "entity" in e for e in meta.errors)


def test_bad_json_sidecar_keeps_other_sources(lib):
    wav = write_audio(lib / "Rain_Roof.wav")
    (lib / "Rain_Roof.json").write_text("{not json", encoding="utf-8")
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("name_words") == ["rain roof"]
    assert len(meta.errors) == 1 and meta.errors[0].startswith("sidecar: bad sidecar Rain_Roof.json")


def test_folder_description_file(lib):
    folder = lib / "Pack"
    wav = write_audio(folder / "ZOOM0001.wav")
    (folder / "README.txt").write_text("# Winter forest\n\nRecorded in deep snow.\n\nLicence: CC0\n",
                                       encoding="utf-8")
    meta = read_metadata(wav, ReadContext(root=lib))
    assert fields_from(meta, "sidecar:README.txt") == {"folder_description": ["Winter forest"]}
    assert meta.text == "pack, Winter forest"


def test_csv_sheet_in_parent_folder(lib):
    wav = write_audio(lib / "Vehicles" / "Cars" / "car_03.wav")
    other = write_audio(lib / "Vehicles" / "Cars" / "car_04.wav")
    (lib / "Vehicles" / "metadata.csv").write_bytes(
        "File Name;Description;Keywords;Category;Duration\n"
        "Cars/car_03.wav;Old diesel engine start\xe9;diesel, engine;VEHICLES;3.2\n"
        'car_04;"Tyres screech, long";tyres;VEHICLES;1.0\n'.encode("cp1252"))
    (lib / "Vehicles" / "prices.csv").write_text("sku,price\nA1,10\n", encoding="utf-8")  # not a sheet
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
        other_meta = read_metadata(other, ReadContext(root=lib))
    got = fields_from(meta, "sheet:metadata.csv")
    assert got == {"description": ["Old diesel engine starté"], "keywords": ["diesel, engine"],
                   "category": ["VEHICLES"]}
    assert [f.source for f in meta.fields if f.name == "description"] == ["sheet:metadata.csv:Description"]
    assert fields_from(other_meta, "sheet:")["description"] == ["Tyres screech, long"]  # matched by stem
    assert meta.errors == []


def test_tsv_sheet_and_cache(lib, monkeypatch):
    folder = lib / "Whooshes"
    files = [write_audio(folder / f"whoosh_{i}.wav") for i in range(5)]
    (folder / "sheet.tsv").write_text(
        "filename\tdescription\tsubcategory\n"
        + "".join(f"whoosh_{i}.wav\tFast whoosh number {i}\tFAST\n" for i in range(5)), encoding="utf-8")
    calls = []
    real = sheets.parse_sheet
    monkeypatch.setattr(sheets, "parse_sheet", lambda p: calls.append(p) or real(p))
    ctx = ReadContext(root=lib)
    metas = [read_metadata(p, ctx) for p in files]
    assert len(calls) == 1  # parsed once per scan, not per file
    assert [m.get("description") for m in metas] == [[f"Fast whoosh number {i}"] for i in range(5)]
    assert metas[0].get("subcategory") == ["FAST"]


def test_broken_sheet_is_reported_and_others_kept(lib):
    wav = write_audio(lib / "x" / "Bell_Ring.wav")
    (lib / "x" / "Bell_Ring.txt").write_text("Church bell, single strike", encoding="utf-8")
    (lib / "x" / "bad.csv").write_bytes(b"filename,description\nBell_Ring.wav,\"" + b"a" * 200_000 + b"\"\n")
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("description") == ["Church bell, single strike"]
    assert any(e.startswith("sidecar: bad sheet bad.csv") for e in meta.errors)


def test_no_sidecars_costs_nothing_and_changes_nothing(lib):
    wav = write_audio(lib / "a" / "b" / "Gravel_Step.wav")
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
    assert not any(f.source.startswith(("sidecar", "sheet")) for f in meta.fields)
    assert meta.errors == []

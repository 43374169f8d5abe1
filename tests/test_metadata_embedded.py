"""Embedded tags through mutagen: ID3 on MP3, Vorbis comments on FLAC/Ogg, MP4 atoms on M4A."""

from __future__ import annotations

import struct

import mutagen
import pytest
from mutagen.id3 import COMM, TALB, TCON, TIT2, TPE1, TXXX
from mutagen.mp4 import MP4, MP4FreeForm, MP4Tags
from test_metadata_helpers import unchanged, write_audio

from soundsearch.library.metadata import ReadContext, read_metadata
from soundsearch.library.metadata.embedded import mp4_fields


def by_source(meta) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in meta.fields:
        out.setdefault(f.source, []).append(f.value)
    return out


def test_id3_on_mp3(tmp_path):
    mp3 = write_audio(tmp_path / "lib" / "DR-0001.mp3", fmt="MP3", subtype="MPEG_LAYER_III")
    audio = mutagen.File(mp3)
    audio.add_tags()
    for frame in (TIT2(encoding=3, text="Cicadas at dusk"), TPE1(encoding=3, text="Field Recordist"),
                  TALB(encoding=3, text="Summer Nights"), TCON(encoding=3, text="Nature"),
                  COMM(encoding=3, lang="eng", desc="", text="loud chorus, close"),
                  COMM(encoding=3, lang="eng", desc="iTunNORM", text="00000 00000"),
                  TXXX(encoding=3, desc="DESCRIPTION", text="Insects buzzing in the olive trees"),
                  TXXX(encoding=3, desc="KEYWORDS", text="insects, cicada, summer"),
                  TXXX(encoding=3, desc="replaygain_track_gain", text="-3.2 dB"),
                  TXXX(encoding=3, desc="Shooting Date", text="2023-07-01")):
        audio.tags.add(frame)
    audio.save()
    lib = tmp_path / "lib"
    with unchanged(lib):
        meta = read_metadata(mp3, ReadContext(root=lib))
    src = by_source(meta)
    assert src["id3:TIT2"] == ["Cicadas at dusk"]
    assert src["id3:TPE1"] == ["Field Recordist"]
    assert src["id3:TALB"] == ["Summer Nights"]
    assert src["id3:TCON"] == ["Nature"]
    assert src["id3:COMM"] == ["loud chorus, close"]  # iTunNORM numbers are not a comment
    assert src["id3:TXXX:DESCRIPTION"] == ["Insects buzzing in the olive trees"]
    assert src["id3:TXXX:KEYWORDS"] == ["insects, cicada, summer"]
    assert not any("replaygain" in s for s in src)
    assert meta.get("shooting_date") == ["2023-07-01"]  # kept for the detail pane, not the text
    assert "2023" not in meta.text
    assert meta.errors == []
    assert meta.text.startswith("Cicadas at dusk, Insects buzzing in the olive trees")
    assert "Field Recordist" not in meta.text  # who made it is not what it sounds like


@pytest.mark.parametrize("fmt,subtype,ext", [("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"),
                                             ("OGG", "OPUS", "opus")])
def test_vorbis_comments(tmp_path, fmt, subtype, ext):
    lib = tmp_path / "lib"
    path = write_audio(lib / f"Track 01.{ext}", fmt=fmt, subtype=subtype,
                       sr=48000 if subtype == "OPUS" else 8000)
    audio = mutagen.File(path)
    audio["TITLE"] = "Sword unsheathe"
    audio["DESCRIPTION"] = "Metal blade drawn from a leather scabbard"
    audio["KEYWORDS"] = "sword, blade, metal"
    audio["CATEGORY"] = "WEAPONS"
    audio["ENCODER"] = "libsndfile"
    audio.save()
    with unchanged(lib):
        meta = read_metadata(path, ReadContext(root=lib))
    src = by_source(meta)
    assert src["vorbis:TITLE"] == ["Sword unsheathe"]
    assert src["vorbis:DESCRIPTION"] == ["Metal blade drawn from a leather scabbard"]
    assert src["vorbis:KEYWORDS"] == ["sword, blade, metal"]
    assert meta.get("category") == ["WEAPONS"]
    assert "vorbis:ENCODER" not in src
    assert meta.get("name_words") == []  # "Track 01" is a DAW default, not words
    assert meta.errors == []


def _minimal_m4a(path):
    """ftyp + moov(mvhd) + empty mdat: enough for mutagen to read and write MP4 atoms."""
    def atom(name: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + name + body

    mvhd = atom(b"mvhd", bytes(4) + bytes(8) + struct.pack(">II", 1000, 500) + bytes(80))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(atom(b"ftyp", b"M4A \0\0\0\0M4A mp42isom") + atom(b"moov", mvhd) + atom(b"mdat", b""))
    return path


def test_mp4_atoms_in_a_file(tmp_path):
    lib = tmp_path / "lib"
    m4a = _minimal_m4a(lib / "untitled.m4a")
    audio = MP4(m4a)
    audio.add_tags()
    audio.tags["\xa9nam"] = ["Helicopter flyby"]
    audio.tags["\xa9cmt"] = ["low pass, left to right"]
    audio.tags["desc"] = ["A helicopter passes overhead"]
    audio.tags["\xa9gen"] = ["Vehicles"]
    audio.tags["----:com.apple.iTunes:KEYWORDS"] = [MP4FreeForm(b"helicopter, rotor")]
    audio.tags["----:com.apple.iTunes:iTunSMPB"] = [MP4FreeForm(b"00000000 00000840")]
    audio.save()
    with unchanged(lib):
        meta = read_metadata(m4a, ReadContext(root=lib))
    src = by_source(meta)
    assert src["mp4:©nam"] == ["Helicopter flyby"]
    assert src["mp4:©cmt"] == ["low pass, left to right"]
    assert src["mp4:desc"] == ["A helicopter passes overhead"]
    assert src["mp4:©gen"] == ["Vehicles"]
    assert src["mp4:KEYWORDS"] == ["helicopter, rotor"]
    assert not any("iTunSMPB" in s for s in src)
    assert meta.text.startswith("Helicopter flyby, A helicopter passes overhead")


def test_mp4_atom_mapping_function():
    tags = MP4Tags()
    tags["\xa9ART"] = ["Someone"]
    tags["keyw"] = ["rain"]
    tags["catg"] = ["WEATHER"]
    tags["----:com.apple.iTunes:FXNAME"] = [MP4FreeForm(b"Rain On Roof")]
    names = {(f.name, f.value) for f in mp4_fields(tags)}
    assert names == {("artist", "Someone"), ("keywords", "rain"), ("category", "WEATHER"),
                     ("fxname", "Rain On Roof")}


@pytest.mark.parametrize("ext", ["mp3", "flac", "ogg", "m4a"])
@pytest.mark.parametrize("content", [b"", b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f garbage", bytes(range(256)) * 4,
                                     b"fLaC\x00\x00\x00\x22" + bytes(10), b"OggS" + bytes(30)])
def test_corrupt_tagged_files_do_not_raise(tmp_path, content, ext):
    lib = tmp_path / "lib"
    lib.mkdir()
    path = lib / f"Glass_Break.{ext}"
    path.write_bytes(content)
    with unchanged(lib):
        meta = read_metadata(path, ReadContext(root=lib))
    assert meta.get("name_words") == ["glass break"]  # the other sources still count
    assert all(e.startswith("embedded: ") and str(lib) not in e for e in meta.errors)
    if not content:
        assert meta.errors == []  # an empty file has no tags; the audio probe reports it


def test_truncated_id3_is_reported(tmp_path):
    path = tmp_path / "x.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f garbage")
    assert read_metadata(path).errors == ["embedded: truncated or unreadable tags"]


def test_missing_file_is_reported_not_raised(tmp_path):
    meta = read_metadata(tmp_path / "gone.flac", ReadContext(root=tmp_path))
    assert any(e.startswith("embedded: ") for e in meta.errors)
    assert meta.get("name_words") == ["gone"]

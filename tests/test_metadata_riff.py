"""WAV/AIFF chunks: LIST/INFO, BWF bext, iXML (USER and ASWG blocks), ID3 chunks, RF64, and bad
input — truncated and corrupt chunks, entity attacks, Latin-1 text, a header that claims hours."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import mutagen.aiff
import mutagen.wave
import numpy as np
import pytest
import soundfile as sf
from mutagen.id3 import COMM, TIT2, TXXX
from test_metadata_helpers import (
    add_aiff_chunks,
    add_chunks,
    aiff_chunk,
    bext,
    chunk,
    comt,
    info_list,
    ixml,
    rf64,
    unchanged,
    write_audio,
)

from soundsearch.audio.probe import read_ends
from soundsearch.library.metadata import FileBytes, ReadContext, read_metadata

read_metadata_opened = read_metadata

USER_IXML = """<?xml version="1.0" encoding="UTF-8"?>
<BWFXML>
  <IXML_VERSION>2.10</IXML_VERSION>
  <PROJECT>Feature X</PROJECT><SCENE>12A</SCENE><TAKE>3</TAKE>
  <NOTE>recorded with the door half open</NOTE>
  <USER>
    <CATID>DOORWood</CATID>
    <CATEGORY>DOORS</CATEGORY>
    <SUBCATEGORY>WOOD</SUBCATEGORY>
    <FXNAME>Barn Door Slam</FXNAME>
    <DESCRIPTION>Heavy wooden barn door slams shut, long creaky tail</DESCRIPTION>
    <KEYWORDS>door, barn, slam, creak</KEYWORDS>
    <LIBRARY>Rural Foley</LIBRARY>
    <DESIGNER>Jane Doe</DESIGNER>
    <MICROPHONE>MKH 416</MICROPHONE>
    <LOCATION>Old farm, Austria</LOCATION>
  </USER>
  <ASWG>
    <category>Doors</category>
    <fxName>Barn Door</fxName>
    <notes>slammed by hand</notes>
    <isDesigned>false</isDesigned>
  </ASWG>
</BWFXML>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<BWFXML><USER><DESCRIPTION>&lol9;</DESCRIPTION></USER></BWFXML>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE BWFXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<BWFXML><USER><DESCRIPTION>&secret;</DESCRIPTION></USER></BWFXML>"""


@pytest.fixture(autouse=True, params=["opened", "held"])
def bytes_source(request, monkeypatch):
    """Every test twice: the reader opening the file itself, and the reader given the bytes a scan
    already read for the content hash (ReadContext.file), which must change nothing."""
    if request.param == "held":
        def with_held(path, ctx=None):
            ends = read_ends(path)
            ctx = ctx or ReadContext()
            held = FileBytes(str(Path(path)), ends.size, ends.head, ends.tail)
            return read_metadata_opened(path, ReadContext(ctx.root, ctx.cache, held))
        monkeypatch.setitem(globals(), "read_metadata", with_held)


def test_chunks_in_the_middle_and_at_the_end_of_a_long_file(lib):
    lib.mkdir(parents=True)
    path = lib / "x.wav"
    sf.write(str(path), np.zeros(200_000, dtype=np.float32), 8000, subtype="PCM_16")  # 400 KB
    add_chunks(path, bext(b"Truck pass by"), before_data=True)
    # after the data: iXML past the first 64 KiB but before the last (read from the file), then
    # 100 KB of padding and an INFO list in the last 64 KiB
    add_chunks(path, ixml(USER_IXML), chunk(b"JUNK", bytes(100_000)), info_list({b"INAM": b"Truck"}))
    meta = read_metadata(path, ReadContext(root=lib))
    assert meta.get("description")[:1] == ["Truck pass by"] and meta.get("title") == ["Truck"]
    assert meta.get("fxname")[0] == "Barn Door Slam" and meta.errors == []


def sources(meta) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in meta.fields:
        out.setdefault(f.source, []).append(f.value)
    return out


@pytest.fixture
def lib(tmp_path):
    return tmp_path / "lib"


@pytest.mark.parametrize("before_data", [False, True])
def test_ixml_user_and_aswg_blocks(lib, before_data):
    wav = add_chunks(write_audio(lib / "ZOOM0001.wav"), ixml(USER_IXML), before_data=before_data)
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.errors == []
    src = sources(meta)
    assert src["ixml:USER/FXNAME"] == ["Barn Door Slam"]
    assert src["ixml:USER/DESCRIPTION"] == ["Heavy wooden barn door slams shut, long creaky tail"]
    assert src["ixml:USER/KEYWORDS"] == ["door, barn, slam, creak"]
    assert meta.get("library") == ["Rural Foley"]
    assert meta.get("designer") == ["Jane Doe"]
    assert meta.get("microphone") == ["MKH 416"]
    assert meta.get("location") == ["Old farm, Austria"]
    assert src["ixml:ASWG/fxName"] == ["Barn Door"]
    assert src["ixml:ASWG/notes"] == ["slammed by hand"]
    assert meta.get("scene") == ["12A"] and meta.get("take") == ["3"]
    # The CATID written in the tags expands from the UCS table although the name is not UCS.
    assert "closet" in meta.get("ucs_synonyms")[0]
    assert "ucs:ixml:USER/CATID" in sources(meta)
    # The text leads with the most specific words; production data (scene, take) stays out of it.
    assert meta.text.startswith("Barn Door Slam, Heavy wooden barn door slams shut")
    assert "12A" not in meta.text and "Jane" not in meta.text
    assert "ixml" in meta.by_source() and "ucs" in meta.by_source()


def test_info_chunk_latin1_text(lib):
    items = {b"INAM": b"Porte en ch\xeane", b"ICMT": b"claqu\xe9e fort", b"IKEY": b"door; wood; slam",
             b"IGNR": b"Foley", b"ISBJ": b"Une porte en bois", b"ISFT": b"Lavf58.76.100"}
    wav = add_chunks(write_audio(lib / "a3f9c2e1.wav"), info_list(items))
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
    src = sources(meta)
    assert src["info:INAM"] == ["Porte en chêne"]
    assert src["info:ICMT"] == ["claquée fort"]
    assert src["info:IKEY"] == ["door; wood; slam"]
    assert src["info:ISBJ"] == ["Une porte en bois"]
    assert meta.get("genre") == ["Foley"]
    assert "chêne" in meta.text and "slam" in meta.text and "Lavf" not in meta.text


def test_bext_description_and_recorder_lines(lib):
    plain = add_chunks(write_audio(lib / "one.wav"),
                       bext(b"Thunder rolling over hills, distant", b"SoundDesignerCo", b"USID0001"))
    recorder = add_chunks(write_audio(lib / "TASCAM_0042.wav"),
                          bext(b"sSPEED=023.976-ND\r\nsTAKE=01\r\nsNOTE=rain on tin roof\r\nzTRK1=MixL\r\n"))
    with unchanged(lib):
        meta = read_metadata(plain, ReadContext(root=lib))
        rec = read_metadata(recorder, ReadContext(root=lib))
    assert meta.get("description") == ["Thunder rolling over hills, distant"]
    assert sources(meta)["bext:Originator"] == ["SoundDesignerCo"]
    assert meta.text.startswith("Thunder rolling")
    assert "SoundDesignerCo" not in meta.text
    # Only the recorder's note survives; sSPEED/sTAKE lines are not a description.
    assert rec.get("description") == [] and rec.get("comment") == ["rain on tin roof"]
    assert rec.text == "rain on tin roof"


def test_id3_chunk_in_wav_and_aiff(lib):
    wav = write_audio(lib / "w.wav")
    tagged = mutagen.wave.WAVE(wav)
    tagged.add_tags()
    tagged.tags.add(TIT2(encoding=3, text="Glass shatter"))
    tagged.tags.add(TXXX(encoding=3, desc="KEYWORDS", text="glass, break"))
    tagged.save()
    aif = write_audio(lib / "a.aiff", fmt="AIFF")
    tagged = mutagen.aiff.AIFF(aif)
    tagged.add_tags()
    tagged.tags.add(COMM(encoding=3, lang="eng", desc="", text="metal clang"))
    tagged.save()
    add_aiff_chunks(aif, aiff_chunk(b"NAME", b"Anvil hit"), aiff_chunk(b"ANNO", b"hammer on anvil"),
                    comt(b"forge ambience"))
    with unchanged(lib):
        w = read_metadata(wav, ReadContext(root=lib))
        a = read_metadata(aif, ReadContext(root=lib))
    assert sources(w)["id3:TIT2"] == ["Glass shatter"]
    assert sources(w)["id3:TXXX:KEYWORDS"] == ["glass, break"]
    assert sources(a)["id3:COMM"] == ["metal clang"]
    assert sources(a)["aiff:NAME"] == ["Anvil hit"]
    assert sources(a)["aiff:ANNO"] == ["hammer on anvil"]
    assert sources(a)["aiff:COMT"] == ["forge ambience"]
    assert w.errors == [] and a.errors == []


def test_rf64_chunks_after_data(lib):
    path = rf64(lib / "long.wav", info_list({b"INAM": b"Wind howling"}))
    with unchanged(lib):
        meta = read_metadata(path, ReadContext(root=lib))
    assert meta.get("title") == ["Wind howling"] and meta.errors == []


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_ixml_entity_attacks_are_refused(lib, attack):
    wav = add_chunks(write_audio(lib / "x.wav"), info_list({b"INAM": b"Safe title"}), ixml(attack))
    start = time.perf_counter()
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
    assert time.perf_counter() - start < 1.0
    assert any(e.startswith("riff: iXML refused") for e in meta.errors), meta.errors
    assert meta.get("title") == ["Safe title"]  # the other chunks still count
    assert "lol" not in meta.text and "root:" not in meta.text


def test_bad_ixml_keeps_other_chunks(lib):
    wav = add_chunks(write_audio(lib / "x.wav"), bext(b"Bird chirp"), ixml("<BWFXML><USER><FXNAME>oops"))
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("description") == ["Bird chirp"]
    assert any("bad iXML" in e for e in meta.errors)


def test_ixml_latin1_bytes_in_utf8_document(lib):
    xml = (b'<?xml version="1.0" encoding="UTF-8"?>'
           b"<BWFXML><USER><FXNAME>Caf\xe9 ambiance</FXNAME></USER></BWFXML>")
    wav = add_chunks(write_audio(lib / "x.wav"), ixml(xml))
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("fxname") == ["Café ambiance"] and meta.errors == []


def test_truncated_chunk(lib):
    wav = add_chunks(write_audio(lib / "x.wav"), info_list({b"INAM": b"Cat purr"}), ixml(USER_IXML))
    data = wav.read_bytes()
    wav.write_bytes(data[:-200])  # cut inside the iXML chunk
    with unchanged(lib):
        meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("title") == ["Cat purr"]
    assert any("iXML chunk truncated" in e for e in meta.errors)


def test_corrupt_chunk_header(lib):
    wav = add_chunks(write_audio(lib / "x.wav"), info_list({b"INAM": b"Dog bark"}), b"\x01\xff\x80\x02" * 4)
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("title") == ["Dog bark"]
    assert any("corrupt chunk header" in e for e in meta.errors)


def test_header_claiming_hours_is_not_read(lib):
    wav = add_chunks(write_audio(lib / "x.wav"), bext(b"Engine idle"), before_data=True)
    data = bytearray(wav.read_bytes())
    at = data.index(b"data", 12)
    data[at + 4:at + 8] = struct.pack("<I", 0xFFFFFFF0)  # ~4 GB of audio that is not there
    wav.write_bytes(bytes(data))
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("description") == ["Engine idle"] and meta.errors == []


def test_odd_chunk_without_pad_byte(lib):
    unpadded = b"junk" + struct.pack("<I", 3) + b"abc"  # a writer that forgot the pad byte
    wav = add_chunks(write_audio(lib / "x.wav"), unpadded, info_list({b"INAM": b"Owl hoot"}))
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("title") == ["Owl hoot"] and meta.errors == []


@pytest.mark.parametrize("content", [b"", b"RIFF", b"RIFF\x10\x00\x00\x00WAVEfmt ", b"\x00" * 100])
def test_tiny_and_empty_files(lib, content):
    lib.mkdir(parents=True)
    path = lib / "Rain_Heavy.wav"
    path.write_bytes(content)
    meta = read_metadata(path, ReadContext(root=lib))
    assert meta.get("name_words") == ["rain heavy"]  # the name still counts


def test_mp3_named_wav_is_read_by_mutagen(lib):
    mp3 = write_audio(lib / "x.mp3", fmt="MP3", subtype="MPEG_LAYER_III")
    tags = mutagen.File(mp3)
    tags.add_tags()
    tags.tags.add(TIT2(encoding=3, text="Crow caw"))
    tags.save()
    wrong = mp3.rename(lib / "crow.wav")
    meta = read_metadata(wrong, ReadContext(root=lib))
    assert meta.get("title") == ["Crow caw"]


def test_unknown_chunks_are_skipped_without_reading_audio(lib):
    big = chunk(b"JUNK", bytes(4096)) + chunk(b"LIST", b"adtl" + bytes(16))
    wav = add_chunks(write_audio(lib / "x.wav"), big, info_list({b"INAM": b"Frog croak"}))
    meta = read_metadata(wav, ReadContext(root=lib))
    assert meta.get("title") == ["Frog croak"] and meta.errors == []

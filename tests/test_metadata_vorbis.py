"""The direct Ogg Vorbis comment reader answers what mutagen answers, or steps aside (None)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen._vorbis import VCommentDict
from mutagen.oggvorbis import OggVorbis
from test_metadata_helpers import write_audio

from soundsearch.audio.probe import read_ends
from soundsearch.library.metadata import FileBytes, ReadContext, read_metadata
from soundsearch.library.metadata.vorbis import ogg_vorbis_comments, parse_comments

TAGS = [
    {},
    {"TITLE": ["Sword unsheathe"], "DESCRIPTION": ["Metal blade drawn from a scabbard"]},
    {"title": ["Door"], "Title": ["Gate"], "KEYWORDS": ["wood", "creak"], "ENCODER": ["x"]},
    {"COMMENT": ["Grüße aus Köln – ça va? 雨"], "Artist": ["Zoë"], "catid": ["DOORWood"]},
]


def mutagen_view(tags) -> dict[str, list[str]]:
    return {key: tags[key] for key in tags.keys()}  # noqa: SIM118 — iterating gives (key, value) pairs


def write_ogg(path: Path, tags: dict[str, list[str]], seconds: float = 0.05) -> Path:
    """A real Ogg Vorbis file (noise, so that a long one is not squeezed under 128 KiB), tagged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, int(seconds * 44100)).astype(np.float32)
    sf.write(str(path), noise, 44100, format="OGG", subtype="VORBIS")
    audio = OggVorbis(path)
    for key, values in tags.items():
        audio.tags[key] = values
    audio.save()
    return path


def held(path: Path) -> FileBytes:
    ends = read_ends(path)
    return FileBytes(str(path), ends.size, ends.head, ends.tail)


@pytest.mark.parametrize("seconds", [0.05, 15.0])
@pytest.mark.parametrize("index", range(len(TAGS)))
def test_agrees_with_mutagen_on_real_files(tmp_path, index, seconds):
    path = write_ogg(tmp_path / "lib" / "sword_draw.ogg", TAGS[index], seconds)
    fb = held(path)
    assert seconds < 1 or fb.tail  # the long file really is read as head + tail
    got = ogg_vorbis_comments(fb.head, fb.tail or fb.head)
    assert got == mutagen_view(OggVorbis(path).tags)
    # and through the reader: the same fields whether the bytes are handed over or mutagen reads
    fast = read_metadata(path, ReadContext(root=tmp_path / "lib", file=fb))
    slow = read_metadata(path, ReadContext(root=tmp_path / "lib"))
    assert sorted((f.name, f.value, f.source) for f in fast.fields) == \
        sorted((f.name, f.value, f.source) for f in slow.fields)
    assert fast.errors == slow.errors == []


def packet(*entries: bytes, framing: int = 1) -> bytes:
    vendor = b"Xiph.Org libVorbis I 20020717"
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    body += b"".join(struct.pack("<I", len(e)) + e for e in entries)
    return b"\x03vorbis" + body + bytes([framing])


def test_odd_entries_follow_mutagens_rules():
    # no "=" (Sony's encoder writes its name so), a non-ASCII key, an invalid key, broken UTF-8
    data = packet(b"Sony Ogg Vorbis 1.0 Final", "TÏTLE=door".encode(), b"K~Y=skipped",
                  b"TITLE=door \xff slam", b"title=second")
    assert parse_comments(data) == mutagen_view(VCommentDict(data[7:]))
    assert parse_comments(data)["unknown0"] == ["Sony Ogg Vorbis 1.0 Final"]


@pytest.mark.parametrize("data", [packet(b"TITLE=x", framing=0), packet(b"TITLE=x")[:-6],
                                  b"\x03vorbis\x05\x00", b"\x01vorbis"])
def test_malformed_comment_packets_are_left_to_mutagen(data):
    assert parse_comments(data) is None


def test_what_it_does_not_know_goes_to_mutagen(tmp_path):
    lib = tmp_path / "lib"
    # a comment header far bigger than the bytes held (cover art, long lyrics)
    big = write_ogg(lib / "big.ogg", {"TITLE": ["Rain on a tin roof"], "NOTES": ["x" * 100_000]}, 15.0)
    # a chained file: two streams one after the other
    one = write_ogg(lib / "one.ogg", {"TITLE": ["first"]})
    two = write_ogg(lib / "two.ogg", {"TITLE": ["second"]})
    chained = lib / "chained.ogg"
    chained.write_bytes(one.read_bytes() + two.read_bytes())
    # cut short: the last page is gone
    cut = lib / "cut.ogg"
    cut.write_bytes(one.read_bytes()[:-20])
    opus = write_audio(lib / "voice.ogg", fmt="OGG", subtype="OPUS", sr=48000)
    for path in (big, chained, cut, opus):
        fb = held(path)
        assert ogg_vorbis_comments(fb.head, fb.tail or fb.head) is None, path.name
    meta = read_metadata(big, ReadContext(root=lib, file=held(big)))
    assert meta.get("title") == ["Rain on a tin roof"]  # mutagen read it
    fast = read_metadata(cut, ReadContext(root=lib, file=held(cut)))
    slow = read_metadata(cut, ReadContext(root=lib))
    assert (fast.fields, fast.errors) == (slow.fields, slow.errors)


def test_bytes_of_another_file_are_not_used(tmp_path):
    lib = tmp_path / "lib"
    a = write_ogg(lib / "a.ogg", {"TITLE": ["Thunder"]})
    b = write_ogg(lib / "b.ogg", {"TITLE": ["Birdsong"]})
    meta = read_metadata(b, ReadContext(root=lib, file=held(a)))
    assert meta.get("title") == ["Birdsong"]

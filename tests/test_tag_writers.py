"""Writing tags into files: each writer's round trip (our reader gives the new fields back, the audio
decodes to the same samples), an interrupted write, refusals, the catalog after a write, and a
fuzz pass over odd files in which no original may change unless the write verified."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from library_fixtures import bad_files, build_library, minimal_m4a, wav_bytes, write_tone
from test_metadata_helpers import add_chunks, bext, chunk, info_list, ixml, rf64, write_audio

from soundsearch import paths
from soundsearch.jobs import run
from soundsearch.library.catalog import Catalog, EmbeddingRow
from soundsearch.library.metadata import read_metadata
from soundsearch.library.scanner import scan
from soundsearch.library.tagging import TagWriteError, safe_write, write_record
from soundsearch.library.tagging.verify import audio_bytes_digest

FIELDS = {"description": "Heavy oak door slams shut, big hall — take 2", "keywords": "door, oak, slam",
          "category": "DOORS", "subcategory": "WOOD", "catid": "DOORWood", "fxname": "Oak Door Slam",
          "designer": "Zoë Ruiz", "recordist": "Sam Field", "library": "Home Foley"}


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def decoded(path: Path) -> tuple[np.ndarray, int]:
    with sf.SoundFile(os.fsencode(path)) as f:
        dtype = "int32" if f.subtype.startswith("PCM") else "float32"
        return f.read(dtype=dtype, always_2d=True), f.samplerate


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "soundsearch-tmp" in p.name]


def _wav24_with_chunks(path: Path) -> Path:
    write_audio(path, subtype="PCM_24")
    xml = ("<BWFXML><IXML_VERSION>2.10</IXML_VERSION><PROJECT>Feature X</PROJECT><TAKE>3</TAKE>"
           "<USER><MICROPHONE>MKH 416</MICROPHONE><DESCRIPTION>old words</DESCRIPTION></USER></BWFXML>")
    return add_chunks(path, bext(b"old words", b"OldOrig", b"REF1"), ixml(xml), before_data=True)


MAKERS = {
    "plain.wav": lambda p: write_audio(p),
    "chunky24.wav": _wav24_with_chunks,
    "rf64.wav": lambda p: rf64(p, info_list({b"INAM": b"Wind"})),
    "tone.flac": lambda p: write_tone(p, 0.2),
    "tone.ogg": lambda p: write_tone(p, 0.2),
    "tone.opus": lambda p: write_tone(p, 0.2, sr=48000),
    "tone.mp3": lambda p: write_tone(p, 0.2),
    "tone.aiff": lambda p: write_tone(p, 0.2),
    "loop.m4a": lambda p: p.write_bytes(minimal_m4a()) and p,
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_round_trip(tmp_path, name):
    path = tmp_path / name
    MAKERS[name](path)
    original = tmp_path / "original" / name
    original.parent.mkdir()
    shutil.copy2(path, original)
    outcome = safe_write(path, FIELDS)
    got = read_metadata(path)
    for field, value in FIELDS.items():
        assert value in got.get(field), (field, got.get(field))
    assert got.errors == []
    if name == "loop.m4a":  # no AAC decoder: the audio bytes themselves are compared
        assert outcome.verified == "audio bytes"
        assert audio_bytes_digest(path) == audio_bytes_digest(original)
    else:
        assert outcome.verified == "decoded"
        (a, sra), (b, srb) = decoded(original), decoded(path)
        assert sra == srb and a.shape == b.shape and np.array_equal(a, b)
    assert leftovers(tmp_path) == []
    # writing again replaces the values, it does not pile up copies
    safe_write(path, {"description": "second version"})
    assert read_metadata(path).get("description")[:1] == ["second version"]


def test_wav_keeps_what_it_does_not_own(tmp_path):
    path = _wav24_with_chunks(tmp_path / "x.wav")
    safe_write(path, {"description": "new words", "library": "Lib"})
    data = path.read_bytes()
    assert data.count(b"bext") == 1 and data.count(b"iXML") == 1
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    got = read_metadata(path)
    assert got.get("description") == ["new words"] and "old words" not in str(got.to_json())
    assert got.get("originator") == ["OldOrig"] and got.get("originator_reference") == ["REF1"]
    assert got.get("project") == ["Feature X"] and got.get("microphone") == ["MKH 416"]
    assert b"A=PCM,F=8000" in data  # the coding history stays


def test_a_writer_that_touches_the_audio_is_caught(tmp_path, monkeypatch):
    import soundsearch.library.tagging as tagging

    real = tagging.write_wav_tags

    def clumsy(src, dst, fields):
        real(src, dst, fields)
        data = bytearray(Path(dst).read_bytes())
        data[-3] ^= 0x01  # one bit of one sample
        Path(dst).write_bytes(bytes(data))

    monkeypatch.setattr(tagging, "write_wav_tags", clumsy)
    path = write_audio(tmp_path / "x.wav")
    before = sha(path)
    with pytest.raises(TagWriteError, match="samples differ"):
        safe_write(path, FIELDS)
    assert sha(path) == before and leftovers(tmp_path) == []


def test_keep_timestamps(tmp_path):
    path = write_audio(tmp_path / "x.wav")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    safe_write(path, {"description": "kept time"}, keep_times=True)
    assert path.stat().st_mtime_ns == 1_600_000_000_000_000_000
    safe_write(path, {"description": "new time"})
    assert path.stat().st_mtime_ns > 1_600_000_000_000_000_000


@pytest.mark.parametrize("stop", [RuntimeError("power cut"), KeyboardInterrupt()])
def test_interrupted_before_the_replace_leaves_the_original(tmp_path, stop):
    path = _wav24_with_chunks(tmp_path / "x.wav")
    before, mode = sha(path), path.stat().st_mode

    def interrupt(copy: Path) -> None:
        assert copy.exists() and copy.parent == path.parent  # verified copy, beside the file
        raise stop

    with pytest.raises((TagWriteError, KeyboardInterrupt)):
        safe_write(path, FIELDS, before_replace=interrupt)
    assert sha(path) == before and path.stat().st_mode == mode
    assert leftovers(tmp_path) == []


def test_refusals(tmp_path):
    ro = write_audio(tmp_path / "ro.wav")
    ro.chmod(0o444)
    changed = write_audio(tmp_path / "changed.wav")
    st = changed.stat()
    mislabelled = tmp_path / "mp3.wav"
    write_tone(tmp_path / "x.mp3")
    (tmp_path / "x.mp3").rename(mislabelled)
    linked = write_audio(tmp_path / "linked.wav")
    os.link(linked, tmp_path / "other-link.wav")
    cases = [(ro, {}, "read-only"), (changed, {"expect": (st.st_size, st.st_mtime_ns - 1)}, "changed since"),
             (mislabelled, {}, "does not match"), (linked, {}, "hard links")]
    for path, kw, reason in cases:
        before = sha(path)
        with pytest.raises(TagWriteError, match=reason):
            safe_write(path, FIELDS, **kw)
        assert sha(path) == before
    assert leftovers(tmp_path) == []


def test_write_record_updates_the_catalog_without_re_embedding(home, tmp_path):
    lib = build_library(tmp_path / "library")
    with Catalog(paths.catalog_path()) as catalog:
        run(scan(catalog, [str(lib.root)]))
        rec = catalog.get_by_path(lib.path("Doors/door_wood_slam_01.wav"))
        catalog.store_embeddings("m", [EmbeddingRow(
            rec.id, np.ones(4, np.float32), None, rec.content_hash, rec.metadata.text)])
        catalog.set_edits({rec.id: {"description": "zorblat door", "keywords": "zorblat"}})
        rec = catalog.get(rec.id)
        outcome = write_record(catalog, rec, keep_times=False)
        assert "zorblat door" in read_metadata(outcome.path).get("description")
        now = catalog.get(rec.id)
        assert (now.size, now.mtime_ns) == (outcome.size, outcome.mtime_ns)
        assert now.scanned.get("description")[0] == "zorblat door"  # the file itself says it now
        assert rec.id not in [r.id for r in catalog.pending_embeddings("m")]  # same audio: same vectors
        result = run(scan(catalog))
        assert result.changed == [] and result.unchanged == result.seen
        # a second write of a file changed behind our back is refused
        os.utime(outcome.path, ns=(1, 1))
        with pytest.raises(TagWriteError, match="changed since"):
            write_record(catalog, catalog.get(rec.id))


# -- fuzz: odd files ------------------------------------------------------------------------------
def _odd_files() -> dict[str, bytes]:
    good = wav_bytes(0.2)
    fmt_at, data_at = good.index(b"fmt "), good.index(b"data")
    fmt_chunk = good[fmt_at:data_at]
    data_chunk = good[data_at:]
    riff = lambda body: b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body  # noqa: E731
    huge = b"JUNK" + struct.pack("<I", 0xFFFFFFF0) + b"x" * 64
    files = dict(bad_files())
    files.update({
        "odd/data_before_fmt.wav": riff(data_chunk + fmt_chunk),
        "odd/list_after_data.wav": riff(fmt_chunk + data_chunk + info_list({b"INAM": b"after"})),
        "odd/odd_chunk_no_pad.wav": riff(fmt_chunk + b"abcd" + struct.pack("<I", 3) + b"xyz" + data_chunk),
        "odd/huge_chunk_after_data.wav": riff(fmt_chunk + data_chunk + huge),
        "odd/huge_chunk_before_data.wav": riff(fmt_chunk + huge + data_chunk),
        "odd/trailing_garbage.wav": good + b"\0" * 7 + b"garbage!",
        "odd/riff_size_zero.wav": good[:4] + b"\0\0\0\0" + good[8:],
        "odd/two_bext.wav": riff(fmt_chunk + bext(b"one") + bext(b"two") + data_chunk),
        "odd/bad_ixml.wav": riff(fmt_chunk + ixml("<BWFXML><USER><FXNAME>oops") + data_chunk),
        "odd/empty_ixml.wav": riff(fmt_chunk + chunk(b"iXML", b"") + data_chunk),
        "odd/truncated.flac": b"fLaC" + bytes(30),
        "odd/garbage.ogg": b"OggS" + bytes(100),
        "odd/empty.m4a": b"",
        "odd/cut.m4a": minimal_m4a()[:200],
    })
    return files


def test_fuzz_odd_files_no_original_changed_every_failure_reported(tmp_path):
    report = []
    for name, content in _odd_files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        before = sha(path)
        try:
            outcome = safe_write(path, FIELDS)
        except TagWriteError as exc:
            assert str(exc), name
            assert sha(path) == before, f"{name}: original changed by a failed write"
            report.append((name, "refused", str(exc)))
            continue
        # a write that went through verified the audio and the fields
        got = read_metadata(path)
        assert FIELDS["fxname"] in got.get("fxname"), name
        report.append((name, "written", outcome.verified))
    for folder in {p.parent for p in tmp_path.rglob("*") if p.is_file()}:
        assert leftovers(folder) == []
    print("\n".join(f"{n}: {what} ({why})" for n, what, why in report))
    refused = {n for n, what, _ in report if what == "refused"}
    written = {n for n, what, _ in report if what == "written"}
    assert {"bad/empty.wav", "bad/noise.wav", "bad/picture.wav", "bad/really_a_wav.mp3",
            "odd/bad_ixml.wav", "odd/truncated.flac", "odd/empty.m4a"} <= refused
    assert {"odd/data_before_fmt.wav", "odd/list_after_data.wav", "odd/trailing_garbage.wav",
            "odd/two_bext.wav", "odd/huge_chunk_after_data.wav"} <= written


def test_a_wavs_id3_chunk_is_updated_too(tmp_path):
    """Many tools write an ``id3 `` chunk into WAVs and some players read it first: the old words
    must not stay there beside the new bext/iXML ones."""
    import io

    from mutagen.id3 import ID3, TIT2, TIT3

    tag = ID3()
    tag.add(TIT2(encoding=3, text=["Kept title"]))
    tag.add(TIT3(encoding=3, text=["old subject"]))
    body = io.BytesIO()
    tag.save(body, v2_version=3, padding=lambda _info: 0)
    path = add_chunks(write_audio(tmp_path / "x.wav"), chunk(b"id3 ", body.getvalue()))
    safe_write(path, {"description": "new words", "designer": "JD"})
    got = read_metadata(path)
    assert got.get("description") == ["new words"] and got.get("title") == ["Kept title"]
    assert b"old subject" not in path.read_bytes() and got.errors == []
    data = path.read_bytes()
    at = data.index(b"id3 ")
    size = struct.unpack("<I", data[at + 4:at + 8])[0]
    again = ID3(io.BytesIO(data[at + 8:at + 8 + size]))
    assert str(again["TIT3"]) == "new words" and str(again["TCOM"]) == "JD" and again.version[1] == 3


def test_wav_info_items_saying_the_same_are_updated(tmp_path):
    path = add_chunks(write_audio(tmp_path / "x.wav"),
                      info_list({b"INAM": b"Kept title", b"ISBJ": b"old subject", b"IKEY": b"old; words"}))
    safe_write(path, {"description": "new words", "keywords": "fresh, tags"})
    got = read_metadata(path)
    assert got.get("description") == ["new words"] and got.get("keywords") == ["fresh, tags"]
    assert got.get("title") == ["Kept title"] and got.errors == []
    assert b"old subject" not in path.read_bytes()

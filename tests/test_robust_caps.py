"""One small file must not exhaust time or memory: tags, ID3 frames, channels, decode time and
sheet rows are capped where they are read, and the file that hit a cap carries a warning.

The hostile files are generated here, small: tags written as bytes, multichannel WAVs as sparse
files (a header and a hole)."""

from __future__ import annotations

import struct
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from library_fixtures import write_tone

from soundsearch.audio import decode
from soundsearch.audio.decode import load
from soundsearch.audio.errors import AudioError
from soundsearch.audio.probe import probe
from soundsearch.library.metadata import ReadContext, embedded, read_metadata, sheets


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3_tag(frames: int) -> bytes:
    """An ID3v2.4 tag of ``frames`` TXXX frames, built as bytes (mutagen would take seconds)."""
    body = bytearray()
    for i in range(frames):
        payload = b"\x03" + f"key{i}".encode() + b"\x00" + f"value {i} ".encode() * 3
        body += b"TXXX" + _syncsafe(len(payload)) + b"\x00\x00" + payload
    return b"ID3\x04\x00\x00" + _syncsafe(len(body)) + bytes(body)


@pytest.fixture
def tagged_mp3(tmp_path):
    path = tmp_path / "plain.mp3"
    t = np.arange(int(3.5 * 44100)) / 44100
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100, format="MP3")
    big = tmp_path / "many_frames.mp3"
    big.write_bytes(id3_tag(12_000) + path.read_bytes())
    return big


def test_an_mp3_with_a_huge_id3_tag_is_read_fast_and_whole(tagged_mp3):
    assert tagged_mp3.stat().st_size > 400_000
    started = time.monotonic()
    info = probe(tagged_mp3)
    wave, _ = load(tagged_mp3, 16000)
    meta = read_metadata(tagged_mp3)
    assert time.monotonic() - started < 3.0  # libsndfile crawled through the tag for seconds before
    assert info.duration == pytest.approx(3.5, abs=0.1)
    assert len(wave) == pytest.approx(3.5 * 16000, abs=2000) and np.abs(wave).max() > 0.1
    assert len(meta.fields) <= embedded.MAX_TAGS
    assert "embedded: only the first 1,000 of 12,000 ID3 frames read" in meta.errors


def test_thousands_of_vorbis_comments_are_capped(tmp_path):
    from mutagen.flac import FLAC

    path = write_tone(tmp_path / "comments.flac")
    flac = FLAC(path)
    for i in range(4000):
        flac.tags.append((f"NOTE{i}", f"value {i}"))
    flac.save()
    started = time.monotonic()
    meta = read_metadata(path)
    assert time.monotonic() - started < 3.0  # quadratic tag access: 10+ s before
    assert "embedded: only the first 1,000 of 4,000 tags read" in meta.errors
    assert any(e.startswith("metadata: only the first 500 of") for e in meta.errors)
    assert len(meta.fields) == 500


def sparse_wav(path, channels: int, sr: int, seconds: float) -> None:
    """A 16-bit WAV header for ``channels`` × ``seconds`` and a hole where the samples would be."""
    frames = int(sr * seconds)
    data = frames * channels * 2
    header = (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " +
              struct.pack("<IHHIIHH", 16, 1, channels, sr, sr * channels * 2, channels * 2, 16) +
              b"data" + struct.pack("<I", data))
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + data)


def test_a_sparse_64_channel_wav_decodes_in_bounded_memory(tmp_path):
    path = tmp_path / "sixty_four.wav"
    sparse_wav(path, 64, 96000, 30.0)
    assert path.stat().st_blocks * 512 < 1_000_000  # next to nothing on disk, 369 MB claimed
    tracemalloc.start()
    try:
        wave, sr = load(path, 16000, max_seconds=30.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sr == 16000 and len(wave) == 30 * 16000
    assert peak < 100_000_000, peak  # all channels at once: 737 MB


def test_too_many_channels_are_refused_with_a_reason(tmp_path):
    path = tmp_path / "forged.wav"
    sparse_wav(path, 300, 8000, 1.0)
    with pytest.raises(AudioError, match="300 channels: more than 256"):
        load(path, 16000)


def test_a_slow_decode_stops_at_its_budget(tmp_path, monkeypatch):
    path = tmp_path / "long.wav"
    sparse_wav(path, 2, 48000, 120.0)
    monkeypatch.setattr(decode, "DECODE_BUDGET_S", 0.0)
    with pytest.raises(AudioError, match="decoding took longer than 0 s"):
        load(path, 16000)


def test_a_sheet_past_its_row_cap_says_so_for_the_files_it_lost(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 100)
    lib = tmp_path / "lib"
    lib.mkdir()
    rows = ["filename,description"] + [f"snd_{i:03d}.wav,described sound {i}" for i in range(300)]
    (lib / "sheet.csv").write_text("\n".join(rows))
    early, late = write_tone(lib / "snd_005.wav"), write_tone(lib / "snd_250.wav")
    ctx = ReadContext(root=lib)
    assert "described sound 5" in read_metadata(early, ctx).text
    meta = read_metadata(late, ctx)
    assert "described sound" not in meta.text
    assert any("sheet.csv: only its first 100 rows were read (200 more)" in e for e in meta.errors)
    sheet = sheets.parse_sheet(lib / "sheet.csv")
    assert all(len(cells) == 1 for cells in sheet.rows.values())  # only the used column is kept


def test_a_large_id3_tag_does_not_stretch_an_mp3s_length(tmp_path):
    """Without a Xing/Info frame libsndfile estimates the length from the byte count: a large tag
    counted as audio made a 3.5 s sound last 208 s."""
    t = np.arange(int(3.5 * 44100)) / 44100
    plain = tmp_path / "plain.mp3"
    sf.write(str(plain), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100, format="MP3")
    data = bytearray(plain.read_bytes())
    for marker in (b"Xing", b"Info", b"LAME"):
        if (at := data.find(marker)) >= 0:
            data[at:at + 4] = bytes(4)
    plain.write_bytes(bytes(data))
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(id3_tag(20_000) + bytes(data))
    assert probe(tagged).duration == pytest.approx(probe(plain).duration, abs=0.05)

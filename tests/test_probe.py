"""Audio properties from headers (probe), decoding (load) and resampling, on tiny real files."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
import soundfile as sf
from library_fixtures import bad_files, minimal_m4a, wav_bytes, write_tone

from soundsearch.audio import headers
from soundsearch.audio.decode import load
from soundsearch.audio.errors import AudioError
from soundsearch.audio.probe import probe, read_ends
from soundsearch.audio.resample import resample

# name, subtype, sample rate, channels → (format, bit depth)
FILES = [
    ("a.wav", "PCM_16", 44100, 1, "wav", 16),
    ("b.wav", "PCM_24", 48000, 2, "wav", 24),
    ("c.wav", "PCM_32", 96000, 1, "wav", 32),
    ("d.wav", "FLOAT", 22050, 2, "wav", 32),
    ("e.wav", "DOUBLE", 8000, 1, "wav", 64),
    ("f.wav", "PCM_U8", 11025, 1, "wav", 8),
    ("g.wav", "PCM_24", 44100, 6, "wav", 24),  # written as WAVE_FORMAT_EXTENSIBLE
    ("h.aiff", "PCM_16", 44100, 2, "aiff", 16),
    ("i.aif", "PCM_24", 96000, 1, "aiff", 24),
    ("j.flac", "PCM_16", 44100, 2, "flac", 16),
    ("k.flac", "PCM_24", 48000, 1, "flac", 24),
    ("l.ogg", "VORBIS", 44100, 2, "ogg", None),
    ("m.opus", "OPUS", 48000, 2, "opus", None),
    ("n.opus", "OPUS", 16000, 1, "opus", None),
    ("o.mp3", "MPEG_LAYER_III", 44100, 1, "mp3", None),
]


@pytest.mark.parametrize(("name", "subtype", "sr", "channels", "fmt", "depth"), FILES)
def test_probe_agrees_with_libsndfile(tmp_path, name, subtype, sr, channels, fmt, depth):
    path = write_tone(tmp_path / name, 0.37, sr, channels, 500.0, subtype=subtype)
    info, ref = probe(path), sf.info(str(path))
    assert (info.format, info.bit_depth, info.decodable, info.note) == (fmt, depth, True, "")
    assert (info.sample_rate, info.channels, info.frames) == (ref.samplerate, ref.channels, ref.frames)
    assert info.duration == pytest.approx(ref.duration) and info.subtype == ref.subtype


def test_fast_parsers_cover_the_common_formats(tmp_path):
    """WAV, AIFF, FLAC and Ogg never need libsndfile to be opened (that is what makes scans fast)."""
    for name, subtype, sr, channels, fmt, _ in FILES:
        if fmt != "mp3":
            path = write_tone(tmp_path / name, 0.2, sr, channels, subtype=subtype)
            ends = read_ends(path)
            assert headers.parse(ends.head, ends.tail or ends.head, ends.size, ends.whole) is not None, name


def test_header_chunks_beyond_the_first_64k_fall_back_to_libsndfile(tmp_path):
    wav = wav_bytes(0.5, 44100)
    junk = b"JUNK" + struct.pack("<I", 100_000) + bytes(100_000)  # e.g. a huge pre-roll pad chunk
    data = wav[:12] + junk + wav[12:]
    data = data[:4] + struct.pack("<I", len(data) - 8) + data[8:]
    (tmp_path / "padded.wav").write_bytes(data)
    info = probe(tmp_path / "padded.wav")
    assert (info.frames, info.sample_rate, info.format) == (22050, 44100, "wav")


def test_m4a_is_metadata_only_with_a_reason(tmp_path):
    (tmp_path / "song.m4a").write_bytes(minimal_m4a(2.0, 48000, 2))
    info = probe(tmp_path / "song.m4a")
    assert (info.format, info.sample_rate, info.channels, info.decodable) == ("m4a", 48000, 2, False)
    assert info.duration == pytest.approx(2.0) and "cannot decode" in info.note and info.bit_depth is None
    with pytest.raises(AudioError, match="no AAC"):
        load(tmp_path / "song.m4a")


@pytest.mark.parametrize(("name", "reason"), [
    ("empty.wav", "empty file (0 bytes)"),
    ("header_cut.wav", "truncated WAV: the file ends inside its header (30 bytes)"),
    ("noise.wav", "not a recognised audio format"),
    ("picture.wav", "not an audio file: the content is a PNG image"),
    ("zero_channels.wav", "corrupt WAV header: 0 channels"),
])
def test_unusable_files_raise_a_clear_reason(tmp_path, name, reason):
    path = tmp_path / name
    path.write_bytes(bad_files()[f"bad/{name}"])
    with pytest.raises(AudioError) as err:
        probe(path)
    assert err.value.reason.startswith(reason)


def test_truncated_file_is_usable_with_a_note(tmp_path):
    path = tmp_path / "cut_short.wav"
    path.write_bytes(bad_files()["bad/cut_short.wav"])
    info = probe(path)
    assert info.decodable and "truncated: the header claims 0.10 s" in info.note
    x, sr = load(path)
    assert len(x) == info.frames == sf.info(str(path)).frames


def test_header_claiming_hours_reads_only_the_header(tmp_path):
    path = tmp_path / "claims_hours.wav"
    path.write_bytes(bad_files()["bad/claims_hours.wav"])
    started = time.monotonic()
    info = probe(path)
    x, _ = load(path)
    assert time.monotonic() - started < 1.0
    assert info.duration == pytest.approx(0.1) and "claims 37.3 h" in info.note and len(x) == 800


def test_empty_data_chunk_and_other_zero_length_audio(tmp_path):
    wav = bytearray(wav_bytes(0.1))
    at = wav.find(b"data")
    wav[at + 4:at + 8] = bytes(4)
    (tmp_path / "zero_data.wav").write_bytes(bytes(wav))
    with pytest.raises(AudioError, match="data chunk is empty .*recording interrupted"):
        probe(tmp_path / "zero_data.wav")
    (tmp_path / "silent.flac").write_bytes(b"")
    with pytest.raises(AudioError, match="empty file"):
        probe(tmp_path / "silent.flac")


@pytest.mark.parametrize(("name", "real", "note"), [
    ("wav_named.mp3", "wav", "a .mp3 file holding WAV audio"),
    ("flac_named.ogg", "flac", "a .ogg file holding FLAC audio"),
    ("ogg_named.wav", "ogg", "a .wav file holding OGG audio"),
])
def test_wrong_extension_reports_the_real_format(tmp_path, name, real, note):
    source = write_tone(tmp_path / f"source.{real}", 0.2)
    path = tmp_path / name
    path.write_bytes(source.read_bytes())
    info = probe(path)
    assert info.format == real and info.note == f"wrong extension: {note}"
    assert len(load(path)[0]) == info.frames


def test_non_utf8_names_probe_and_decode(tmp_path):
    path = write_tone(tmp_path / b"caf\xe9.wav".decode("utf-8", "surrogateescape"), 0.25, 8000)
    assert probe(path).frames == 2000 and load(path)[0].shape == (2000,)


def test_load_reads_only_the_frames_asked_for(tmp_path):
    path = write_tone(tmp_path / "stereo.wav", 2.0, 8000, 2)
    x, sr = load(path, mono=False)
    assert (x.shape, x.dtype, sr) == ((16000, 2), np.float32, 8000)
    part, _ = load(path, start=0.5, max_seconds=0.25)
    assert part.shape == (2000,)
    np.testing.assert_allclose(part, x[4000:6000].mean(axis=1), atol=1e-6)
    assert load(path, start=5.0)[0].shape == (0,)  # past the end: nothing, not an error


def test_load_resamples(tmp_path):
    path = write_tone(tmp_path / "tone.flac", 1.0, 48000, 1, 1000.0)
    x, sr = load(path, sample_rate=16000)
    assert sr == 16000 and x.dtype == np.float32 and abs(len(x) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(x))
    assert np.argmax(spectrum) == pytest.approx(1000, abs=2)  # the tone stays at 1 kHz


def test_load_of_a_broken_file_names_the_problem(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(bad_files()["bad/noise.wav"])
    with pytest.raises(AudioError, match="not a recognised audio format"):
        load(path)
    with pytest.raises(AudioError, match="cannot read"):
        load(tmp_path / "missing.wav")


def test_resample_shapes():
    x = np.zeros((4410, 2), np.float32)
    assert resample(x, 44100, 22050).shape == (2205, 2)
    assert resample(x[:, 0], 44100, 44100) is not None
    with pytest.raises(ValueError):
        resample(x, 0, 16000)

"""Waveform peaks (min/max per bucket, cached) and region export (exact samples, same format)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from soundsearch.audio.peaks import RESOLUTION, compute_peaks, load_peaks
from soundsearch.audio.region import region_frames, write_region, write_region_frames


def test_peaks_are_min_and_max_per_bucket():
    x = np.array([0.1, -0.2, 0.3, 0.9, -0.9, 0.0, 0.5, -0.5], np.float32)
    p = compute_peaks(x, sample_rate=8, buckets=4)
    assert np.allclose(p.lo, [-0.2, 0.3, -0.9, -0.5]) and np.allclose(p.hi, [0.1, 0.9, 0.0, 0.5])
    assert p.duration == 1.0
    folded = p.fold(2)
    assert np.allclose(folded.lo, [-0.2, -0.9]) and np.allclose(folded.hi, [0.9, 0.5])
    assert p.fold(100) is p  # more buckets than stored are not invented


def test_peaks_cover_all_channels():
    x = np.stack([np.full(100, 0.2, np.float32), np.full(100, -0.7, np.float32)], axis=1)
    p = compute_peaks(x, 100, buckets=10)
    assert np.allclose(p.lo, -0.7) and np.allclose(p.hi, 0.2)


def test_load_peaks_caches_under_the_cache_dir(home, make_wav, tmp_path):
    wav = make_wav(tmp_path / "tone.wav", seconds=1.0, sr=44100)
    calls = []

    def decoder(path):
        calls.append(path)
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return data, sr

    first = load_peaks(wav, decoder=decoder)
    again = load_peaks(wav, decoder=decoder)
    assert len(calls) == 1, "the second call must come from the cache"
    assert len(first) == RESOLUTION and np.array_equal(first.lo, again.lo)
    assert abs(first.hi.max() - 0.5) < 1e-3 and abs(first.duration - 1.0) < 1e-6
    assert list((home / "cache" / "peaks").rglob("*.npz"))
    sf.write(str(wav), np.zeros(4410, np.float32), 44100)  # edited file: new peaks
    assert load_peaks(wav, decoder=decoder).hi.max() == 0.0 and len(calls) == 2


@pytest.mark.parametrize("subtype,dtype", [("PCM_16", "int16"), ("PCM_24", "int32"), ("FLOAT", "float32"),
                                           ("PCM_U8", "int16")])
def test_region_holds_exactly_the_selected_samples(home, tmp_path, subtype, dtype):
    rng = np.random.default_rng(1)
    src = tmp_path / f"src {subtype}.wav"
    sf.write(str(src), (0.4 * rng.standard_normal((48000, 2))).clip(-1, 1).astype(np.float32), 48000,
             subtype=subtype)
    out = write_region(src, 0.25, 0.5)
    a, b, sr = region_frames(src, 0.25, 0.5)
    assert (a, b, sr) == (12000, 24000, 48000)
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (48000, 2, subtype, 12000)
    assert np.array_equal(sf.read(str(out), dtype=dtype)[0], sf.read(str(src), dtype=dtype)[0][a:b])
    assert out.parent == home / "cache" / "regions" and out.name == f"src {subtype} 0.250-0.500s.wav"


def test_region_of_a_lossy_or_flac_file(home, tmp_path):
    src = tmp_path / "take.flac"
    sf.write(str(src), np.linspace(-0.5, 0.5, 44100, dtype=np.float32), 44100, subtype="PCM_24")
    out = write_region_frames(src, 100, 1100)
    assert sf.info(str(out)).format == "WAV" and sf.info(str(out)).subtype == "PCM_24"
    assert np.array_equal(sf.read(str(out), dtype="int32")[0], sf.read(str(src), dtype="int32")[0][100:1100])
    with pytest.raises(ValueError):
        write_region_frames(src, 10, 10)


def test_region_is_clamped_to_the_file(home, make_wav, tmp_path):
    src = make_wav(tmp_path / "short.wav", seconds=0.5, sr=8000)
    out = write_region(src, 0.4, 9.0)
    assert sf.info(str(out)).frames == 800

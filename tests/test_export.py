"""Export with conversion: sample rate and length, bit depth with TPDF dither only when the depth goes
down, channels, regions with handles and fades, bit-exact copies, metadata carried, mode 0644."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from library_fixtures import write_tone

from soundsearch.audio.convert import ConvertOptions, convert
from soundsearch.jobs import run
from soundsearch.library.export import ExportItem, export_files, export_one
from soundsearch.library.metadata import Field, Metadata, read_metadata


def ints(path: Path) -> tuple[np.ndarray, sf._SoundFileInfo]:
    info = sf.info(str(path))
    return sf.read(str(path), dtype="int32", always_2d=True)[0], info


def source(tmp_path, name="src.wav", seconds=0.5, sr=44100, channels=2, subtype="PCM_24") -> Path:
    return write_tone(tmp_path / name, seconds, sr, channels, 440.0, subtype=subtype)


def test_unconverted_copy_is_bit_exact(tmp_path):
    src = source(tmp_path)
    out = convert(src, tmp_path / "out.wav", ConvertOptions())
    assert out.exact and not out.dithered
    assert np.array_equal(ints(src)[0], ints(out.path)[0]) and ints(out.path)[1].subtype == "PCM_24"


@pytest.mark.parametrize("rate", [48000, 22050, 96000])
def test_sample_rate_and_length(tmp_path, rate):
    src = source(tmp_path, sr=44100, seconds=0.5)
    out = convert(src, tmp_path / "out.wav", ConvertOptions(sample_rate=rate))
    info = sf.info(str(out.path))
    assert info.samplerate == rate and abs(info.frames - round(0.5 * rate)) <= 1
    x, _ = sf.read(str(out.path), dtype="float64")
    t = np.arange(len(x)) / rate
    want = 0.3 * np.sin(2 * np.pi * 440 * t)
    mid = slice(len(x) // 10, -len(x) // 10)
    assert np.max(np.abs(x[mid, 0] - want[mid])) < 1e-3  # the same sine, at the new rate
    assert not out.dithered  # 24 → 24: no dither


def test_dither_only_when_the_depth_goes_down(tmp_path):
    src24 = source(tmp_path, "a.wav", subtype="PCM_24")
    src16 = source(tmp_path, "b.wav", subtype="PCM_16")
    down = convert(src24, tmp_path / "down.wav", ConvertOptions(bits="16"), seed=1)
    plain = convert(src24, tmp_path / "plain.wav", ConvertOptions(bits="16", dither=False))
    up = convert(src16, tmp_path / "up.wav", ConvertOptions(bits="24"))
    same = convert(src24, tmp_path / "same.wav", ConvertOptions(bits="24", sample_rate=48000))
    assert down.dithered and not plain.dithered and not up.dithered and not same.dithered
    x24 = ints(src24)[0].astype(np.float64) / 2**31
    rounded = np.clip(np.rint(x24 * 32768), -32768, 32767)
    d = sf.read(str(down.path), dtype="int16")[0].astype(np.float64)
    p = sf.read(str(plain.path), dtype="int16")[0].astype(np.float64)
    assert np.array_equal(p, rounded)  # no dither: plain rounding
    err = d - x24 * 32768
    assert np.abs(err).max() <= 1.5 and 0.3 < err.std() < 0.7  # TPDF: ±1 LSB peak, σ ≈ 0.41 + rounding
    # going up is exact: every 16-bit sample is the same value in 24 bits
    assert np.array_equal(sf.read(str(up.path), dtype="int32")[0], sf.read(str(src16), dtype="int32")[0])


def test_channels(tmp_path):
    src = source(tmp_path, channels=2, subtype="PCM_16")
    mono = convert(src, tmp_path / "mono.wav", ConvertOptions(channels=1))
    x = sf.read(str(src), dtype="float64")[0]
    y = sf.read(str(mono.path), dtype="float64")[0]
    assert mono.channels == 1 and np.max(np.abs(y - x.mean(axis=1))) <= 1 / 32768
    stereo = convert(mono.path, tmp_path / "st.wav", ConvertOptions(channels=2))
    z = sf.read(str(stereo.path), dtype="int16")[0]
    assert z.shape[1] == 2 and np.array_equal(z[:, 0], z[:, 1])


def test_region_with_handles_and_fades(tmp_path):
    src = source(tmp_path, seconds=1.0, sr=44100, channels=1, subtype="PCM_16")
    out = convert(src, tmp_path / "r.wav", ConvertOptions(start=0.4, end=0.6, handles=0.1))
    x = sf.read(str(src), dtype="int16")[0]
    y = sf.read(str(out.path), dtype="int16")[0]
    a, b = round(0.3 * 44100), round(0.7 * 44100)
    assert len(y) == b - a
    fade = round(0.005 * 44100)
    assert np.array_equal(y[fade:-fade], x[a + fade:b - fade])  # untouched between the fades
    assert y[0] == 0 and y[-1] == 0 and abs(int(y[fade // 2])) < abs(int(x[a + fade // 2])) + 1
    # handles stop at the file's ends; a region from the start needs no fade in
    head = convert(src, tmp_path / "h.wav", ConvertOptions(start=0.0, end=0.1, handles=0.5))
    yh = sf.read(str(head.path), dtype="int16")[0]
    assert len(yh) == round(0.6 * 44100) and np.array_equal(yh[:100], x[:100])


def test_ogg_exports_as_48k_24bit_wav_with_metadata(tmp_path):
    src = write_tone(tmp_path / "rain.ogg", 0.4, 44100, 1, 900.0)
    meta = Metadata([Field("description", "light rain on leaves", "user"),
                     Field("keywords", "rain, leaves", "user"), Field("catid", "RAINGen", "user")])
    out = tmp_path / "session"
    path = export_one(ExportItem(src, meta), out, ConvertOptions(sample_rate=48000, bits="24"))
    assert path == out / "rain.wav"
    info = sf.info(str(path))
    assert (info.format, info.samplerate, info.subtype) == ("WAV", 48000, "PCM_24")
    assert abs(info.frames - round(0.4 * 48000)) <= 2  # 0.4 s at the new rate
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    got = read_metadata(path)
    assert "light rain on leaves" in got.get("description") and got.get("catid") == ["RAINGen"]
    assert any(f.source.startswith("bext") for f in got.fields) and any(f.source.startswith("ixml:USER")
                                                                          for f in got.fields)
    # a second export never replaces the first
    again = export_one(ExportItem(src, meta), out, ConvertOptions(sample_rate=48000, bits="24"))
    assert again == out / "rain 2.wav" and [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_flac_and_aiff_targets_carry_tags(tmp_path):
    src = source(tmp_path, subtype="FLOAT")
    meta = Metadata([Field("description", "metal clank", "user")])
    flac = export_one(ExportItem(src, meta), tmp_path / "o", ConvertOptions(format="flac"))
    aiff = export_one(ExportItem(src, meta), tmp_path / "o", ConvertOptions(format="aiff", bits="16"))
    assert sf.info(str(flac)).subtype == "PCM_24"  # FLAC cannot hold float: 24-bit
    assert sf.info(str(aiff)).subtype == "PCM_16"
    for p in (flac, aiff):
        assert read_metadata(p).get("description") == ["metal clank"]


def test_batch_reports_failures_and_goes_on(tmp_path):
    good = source(tmp_path, "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\0\0\0\0WAVEjunk")
    result = run(export_files([ExportItem(bad), ExportItem(good)], tmp_path / "out",
                              ConvertOptions(format="flac"), pattern="{n}_{stem}"))
    assert [p.name for p in result.written] == ["002_good.flac"]
    assert [p for p, _ in result.failed] == [bad] and result.failed[0][1]


def test_block_by_block_gives_the_same_result(tmp_path, monkeypatch):
    """Long files are converted in blocks (bounded memory): tiny blocks must give what one block gives,
    fades included where a region cuts in and out."""
    import soundsearch.audio.convert as convert_mod

    src = source(tmp_path, seconds=1.0, sr=44100, channels=2, subtype="PCM_24")
    opts = ConvertOptions(sample_rate=48000, bits="24", start=0.2, end=0.8, handles=0.05, fade=0.01)
    whole = convert(src, tmp_path / "whole.wav", opts)
    monkeypatch.setattr(convert_mod, "BLOCK", 997)
    blocks = convert(src, tmp_path / "blocks.wav", opts)
    a = sf.read(str(whole.path), dtype="float64")[0]
    b = sf.read(str(blocks.path), dtype="float64")[0]
    assert whole.frames == blocks.frames == len(a) == len(b) == round(0.7 * 48000)
    assert np.max(np.abs(a - b)) < 1e-5
    assert np.abs(b[0]).max() < 1e-6 and np.abs(b[-1]).max() < 1e-6  # faded in and out
    exact = convert(src, tmp_path / "exact.wav", ConvertOptions())
    assert exact.exact and np.array_equal(ints(exact.path)[0], ints(src)[0])  # copied block by block too

"""Converted copies of a sound for a DAW session: format, sample rate, bit depth, channels, region.

- Nothing to change (same rate, depth and channels, whole file or a region without fades): the
  samples are copied as integers, bit for bit.
- Otherwise the work is done in float64: the region with its handles, channels mixed, sample rate
  converted with soxr ("VHQ"), short fades where a region cuts into the sound, then quantised.
- Dither: TPDF (±1 LSB triangular) noise is added only when the bit depth goes *down* (24 → 16,
  float or a lossy codec → 24/16). Keeping the depth rounds; going up is exact.

The source is only ever read. Output goes through a temp file and an atomic rename, mode 0644.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from soundsearch.atomic import atomic_path
from soundsearch.audio.errors import AudioError

log = logging.getLogger(__name__)

FORMATS = {"wav": "WAV", "aiff": "AIFF", "flac": "FLAC"}
EXTENSIONS = {"wav": ".wav", "aiff": ".aif", "flac": ".flac"}
BITS = ("16", "24", "32f")
# libsndfile subtype → its precision in bits (lossy and float formats count as more than 24)
_PRECISION = {"PCM_U8": 8, "PCM_S8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "ULAW": 14, "ALAW": 13}
_SUBTYPE = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
_INT_READ = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32"}
FADE_S = 0.005


@dataclass
class ConvertOptions:
    format: str = "original"  # original | wav | aiff | flac  ("original": wav for ogg/mp3/m4a)
    sample_rate: int | None = None  # None: as the source
    bits: str = "original"  # original | 16 | 24 | 32f
    channels: int | None = None  # None: as the source; 1 = mixed to mono; 2 = stereo
    start: float | None = None  # region, seconds (None: the whole file)
    end: float | None = None
    handles: float = 0.0  # seconds added on both sides of the region, where the file has them
    fade: float = FADE_S  # fade in/out where the exported part cuts into the sound
    dither: bool = True

    @property
    def converts(self) -> bool:
        return (self.format != "original" or self.sample_rate is not None or self.bits != "original"
                or self.channels is not None)


@dataclass
class Converted:
    path: Path
    sample_rate: int
    channels: int
    frames: int
    subtype: str
    dithered: bool
    exact: bool  # samples copied bit for bit


def out_format(source_suffix: str, options: ConvertOptions) -> str:
    if options.format != "original":
        if options.format not in FORMATS:
            raise ValueError(f"format must be one of original, {', '.join(FORMATS)}")
        return options.format
    suffix = source_suffix.lower()
    return {".aif": "aiff", ".aiff": "aiff", ".aifc": "aiff", ".flac": "flac"}.get(suffix, "wav")


def _out_subtype(src_subtype: str, fmt: str, bits: str) -> str:
    if bits != "original":
        if bits not in BITS:
            raise ValueError(f"bits must be one of original, {', '.join(BITS)}")
        subtype = _SUBTYPE[bits]
    elif src_subtype in ("PCM_16", "PCM_24", "FLOAT") or (src_subtype == "PCM_32" and fmt != "flac"):
        subtype = src_subtype
    elif src_subtype in ("PCM_U8", "PCM_S8", "ULAW", "ALAW"):
        subtype = "PCM_16"
    else:  # lossy or double: a DAW takes 24-bit everywhere
        subtype = "PCM_24"
    if fmt == "flac" and subtype not in ("PCM_16", "PCM_24"):
        subtype = "PCM_24"  # FLAC holds integers up to 24 bits
    return subtype


def _bits_of(subtype: str) -> int:
    return {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(subtype, 0)


def tpdf(shape, rng: np.random.Generator) -> np.ndarray:
    """Triangular noise of ±1 LSB peak (the sum of two uniform ±½ LSB)."""
    return rng.uniform(-0.5, 0.5, shape) + rng.uniform(-0.5, 0.5, shape)


def quantise(x: np.ndarray, bits: int, dither: bool, rng: np.random.Generator) -> np.ndarray:
    """float64 in [-1, 1) → integers of ``bits`` bits (int16 for 16, int32 left-aligned otherwise,
    as libsndfile expects for PCM_24/PCM_32)."""
    scale = float(1 << (bits - 1))
    y = x * scale
    if dither:
        y = y + tpdf(y.shape, rng)
    y = np.clip(np.rint(y), -scale, scale - 1)
    if bits == 16:
        return y.astype(np.int16)
    return (y.astype(np.int64) << (32 - bits)).astype(np.int32)


def _mix(x: np.ndarray, channels: int | None) -> np.ndarray:
    if channels is None or channels == x.shape[1]:
        return x
    if channels == 1:
        return x.mean(axis=1, keepdims=True)
    if channels == 2:
        return np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x[:, :2]
    raise ValueError("channels must be 1 or 2 (or as the source)")


def _ramp(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))  # raised cosine: no click


BLOCK = 1 << 17  # frames per block: a long file is converted in bounded memory


def convert(source: str | Path, target: str | Path, options: ConvertOptions,
            seed: int | None = None) -> Converted:
    """Write ``source`` converted by ``options`` to ``target`` (replaced atomically). Works block by
    block (soxr's streaming resampler), so an hour-long recording needs no more memory than a clip."""
    source, target = Path(source), Path(target)
    fmt = out_format(source.suffix, options)
    try:
        f = sf.SoundFile(os.fsencode(source))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot decode {source.name}: {exc}") from None
    with f:
        sr, src_channels, src_subtype, total = f.samplerate, f.channels, f.subtype, f.frames
        first, stop = 0, total
        if options.start is not None or options.end is not None:
            a = int(round((options.start or 0.0) * sr))
            b = total if options.end is None else int(round(options.end * sr))
            h = int(round(max(options.handles, 0.0) * sr))
            first, stop = max(0, min(a - h, total)), max(0, min(b + h, total))
            if stop <= first:
                raise ValueError("empty region")
        subtype = _out_subtype(src_subtype, fmt, options.bits)
        rate = options.sample_rate or sr
        channels = options.channels or src_channels
        if channels not in (1, 2, src_channels):
            raise ValueError("channels must be 1 or 2 (or as the source)")
        cut_start, cut_end = first > 0, stop < total
        expected = int(round((stop - first) * rate / sr))
        fade_n = min(int(round(options.fade * rate)), expected // 4) if options.fade > 0 else 0
        fade_in = fade_n if cut_start else 0
        fade_out = fade_n if cut_end else 0
        exact = (rate == sr and channels == src_channels and subtype == src_subtype
                 and src_subtype in (*_INT_READ, "FLOAT") and not (fade_in or fade_out))
        bits = _bits_of(subtype)
        dithered = not exact and bool(bits) and options.dither and bits < _PRECISION.get(src_subtype, 99)
        sample_bytes = {"PCM_16": 2, "PCM_24": 3}.get(subtype, 4)
        sf_format = FORMATS[fmt]
        if fmt == "wav" and expected * channels * sample_bytes > 0xFFFF0000:
            sf_format = "RF64"  # the plain RIFF size field would overflow
        f.seek(first)
        with atomic_path(target) as tmp:
            with sf.SoundFile(str(tmp), "w", samplerate=rate, channels=channels, subtype=subtype,
                              format=sf_format) as out:
                written = _stream(f, out, stop - first, exact, options, src_subtype, sr, rate, channels,
                                  subtype, bits, dithered, fade_in, fade_out, np.random.default_rng(seed))
            os.chmod(tmp, 0o644)  # a temp file is private; a copy for a DAW is an ordinary file
    log.info("converted %s → %s (%s, %d Hz, %d ch, %s%s)", source.name, target, fmt, rate, channels,
             subtype, ", dithered" if dithered else "")
    return Converted(target, rate, channels, written, subtype, dithered, exact)


def _stream(f, out, count: int, exact: bool, options: ConvertOptions, src_subtype: str, sr: int, rate: int,
            channels: int, subtype: str, bits: int, dithered: bool, fade_in: int, fade_out: int,
            rng: np.random.Generator) -> int:
    """Read ``count`` frames from ``f`` block by block, convert, write to ``out``; returns frames written."""
    if exact:
        dtype, left, written = _INT_READ.get(src_subtype, "float32"), count, 0
        while left > 0:
            block = f.read(min(BLOCK, left), dtype=dtype, always_2d=True)
            if not len(block):
                break
            out.write(block)
            left -= len(block)
            written += len(block)
        return written
    stream = soxr.ResampleStream(sr, rate, channels, dtype="float64", quality="VHQ") if rate != sr else None
    ramp_in, ramp_out = _ramp(fade_in), _ramp(fade_out)[::-1]
    held = np.zeros((0, channels))  # the last frames, kept back until we know they end the file
    produced = written = 0
    left = count
    while True:
        block = f.read(min(BLOCK, left), dtype="float64", always_2d=True) if left > 0 else np.zeros((0, 1))
        left -= len(block)
        last = left <= 0 or not len(block)
        y = _mix(block, channels) if len(block) else np.zeros((0, channels))
        if stream is not None:
            y = np.asarray(stream.resample_chunk(y, last=last), np.float64).reshape(-1, channels)
        if fade_in and produced < fade_in:
            n = min(fade_in - produced, len(y))
            y = y.copy()
            y[:n] *= ramp_in[produced:produced + n, None]
        produced += len(y)
        y = np.concatenate([held, y]) if len(held) else y
        if last:
            if fade_out:
                n = min(fade_out, len(y))
                y = y.copy()
                y[len(y) - n:] *= ramp_out[fade_out - n:, None]
            held = np.zeros((0, channels))
        else:
            keep = min(fade_out, len(y))
            y, held = y[:len(y) - keep], y[len(y) - keep:]
        if len(y):
            out.write(y.astype(np.float32) if subtype == "FLOAT" else quantise(y, bits, dithered, rng))
            written += len(y)
        if last:
            return written

"""Decode (part of) an audio file to float32 samples with libsndfile, reading only the frames asked for."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from soundsearch.audio.errors import AudioError
from soundsearch.audio.probe import failure_reason, read_ends, sniff
from soundsearch.audio.resample import resample
from soundsearch.audio.sndfile import open_sound

# Caps, so that one small file cannot take the machine: a sparse 64-channel 96 kHz WAV (no bytes on
# disk) needed 744 MB to decode a 30 s window when all channels were read at once; now a block of
# at most BLOCK_SAMPLES samples is read and averaged to mono before the next one.
MAX_CHANNELS = 256  # more is no recording (7th-order ambisonics has 64); 65,535 is a forged header
BLOCK_SAMPLES = 1 << 21  # per read, all channels together (8 MB of float32)
DECODE_BUDGET_S = 60.0  # per file: a decoder this slow on one file is stopped between blocks


def load(path: str | Path, sample_rate: int | None = None, mono: bool = True, start: float = 0.0,
         max_seconds: float | None = None, budget_s: float | None = None) -> tuple[np.ndarray, int]:
    """Samples of ``path`` from ``start`` seconds, at most ``max_seconds`` long.

    Returns ``(x, sr)``: x is float32, shape (frames,) when ``mono`` (channels averaged while
    reading) else (frames, channels); sr is ``sample_rate`` when given (resampled with soxr) else
    the file's rate. Raises AudioError with a clear reason when the file cannot be decoded, has
    more than MAX_CHANNELS channels (mono), or takes longer than ``budget_s`` (default
    DECODE_BUDGET_S) to decode."""
    budget_s = DECODE_BUDGET_S if budget_s is None else budget_s
    if start < 0 or (max_seconds is not None and max_seconds < 0):
        raise ValueError("start and max_seconds must not be negative")
    began = time.monotonic()
    try:
        with open_sound(path) as f:
            sr, channels = f.samplerate, f.channels
            if mono and channels > MAX_CHANNELS:
                raise AudioError(f"{channels} channels: more than {MAX_CHANNELS}, not decoded")
            first = min(int(round(start * sr)), f.frames)
            count = f.frames - first
            if max_seconds is not None:
                count = min(count, int(round(max_seconds * sr)))
            if first:
                f.seek(first)
            block = max(1, BLOCK_SAMPLES // max(1, channels))
            parts, left = [], max(count, 0)
            while left > 0:
                x = f.read(min(block, left), dtype="float32", always_2d=True)
                if not len(x):
                    break
                left -= len(x)
                parts.append((x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]) if mono else x)
                if time.monotonic() - began > budget_s:
                    raise AudioError(f"decoding took longer than {budget_s:.0f} s: stopped (a damaged "
                                     "or unusual file?)")
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(_reason(path, exc)) from exc
    except OSError as exc:
        raise AudioError(f"cannot read: {exc.strerror or exc}") from exc
    if parts:
        x = np.concatenate(parts) if len(parts) > 1 else parts[0]
    else:
        x = np.zeros(0 if mono else (0, channels), np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if sample_rate and sample_rate != sr:
        return resample(x, sr, sample_rate), int(sample_rate)
    return x, sr


def _reason(path: str | Path, exc: Exception) -> str:
    try:
        ends = read_ends(path)
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    kind = sniff(ends.head)
    if kind == "m4a":
        return "cannot decode MP4/M4A audio: libsndfile has no AAC/ALAC decoder (metadata only)"
    return failure_reason(ends, kind, exc, ext)

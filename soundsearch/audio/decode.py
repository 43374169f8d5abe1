"""Decode (part of) an audio file to float32 samples with libsndfile, reading only the frames asked for."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from soundsearch.audio.errors import AudioError
from soundsearch.audio.probe import failure_reason, read_ends, sniff
from soundsearch.audio.resample import resample
from soundsearch.userfiles import check_regular


def load(path: str | Path, sample_rate: int | None = None, mono: bool = True, start: float = 0.0,
         max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Samples of ``path`` from ``start`` seconds, at most ``max_seconds`` long.

    Returns ``(x, sr)``: x is float32, shape (frames,) when ``mono`` (channels averaged) else
    (frames, channels); sr is ``sample_rate`` when given (resampled with soxr) else the file's
    rate. Raises AudioError with a clear reason when the file cannot be decoded."""
    if start < 0 or (max_seconds is not None and max_seconds < 0):
        raise ValueError("start and max_seconds must not be negative")
    try:
        check_regular(path)  # the file may have become a pipe since the scan
        # bytes path: soundfile encodes str paths strictly, which fails on non-UTF-8 names
        with sf.SoundFile(os.fsencode(path)) as f:
            sr = f.samplerate
            first = min(int(round(start * sr)), f.frames)
            count = f.frames - first
            if max_seconds is not None:
                count = min(count, int(round(max_seconds * sr)))
            if first:
                f.seek(first)
            x = f.read(max(count, 0), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(_reason(path, exc)) from exc
    except OSError as exc:
        raise AudioError(f"cannot read: {exc.strerror or exc}") from exc
    if mono:
        x = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
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

"""Waveform peaks: min/max per pixel bucket, for table thumbnails and the waveform view.

A file is decoded once into :data:`RESOLUTION` buckets (or one per sample for very short files) and
the result is cached under ``paths.cache_dir()/peaks`` keyed by path, size and mtime; any width a
widget asks for is then folded from that array in microseconds (min of mins, max of maxes), so
resizing the window or scrolling the table never decodes audio again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundsearch import paths
from soundsearch.atomic import atomic_path

log = logging.getLogger(__name__)

RESOLUTION = 4096  # buckets kept per file: enough for a full-screen waveform on a 4K display
CACHE_VERSION = 1


@dataclass(frozen=True)
class Peaks:
    """``lo``/``hi``: float32 [buckets], the min and max sample (over all channels) per bucket."""

    lo: np.ndarray
    hi: np.ndarray
    duration: float  # seconds the buckets span
    sample_rate: int

    def __len__(self) -> int:
        return len(self.lo)

    def fold(self, width: int) -> Peaks:
        """The same waveform in ``width`` buckets (≤ the stored resolution; more are not invented)."""
        n = len(self.lo)
        if width <= 0 or n == 0:
            return Peaks(self.lo[:0], self.hi[:0], self.duration, self.sample_rate)
        if width >= n:
            return self
        edges = np.linspace(0, n, width + 1).astype(np.int64)
        starts = edges[:-1]
        # reduceat over non-empty, increasing starts gives min/max of each [start, next start) run
        return Peaks(np.minimum.reduceat(self.lo, starts), np.maximum.reduceat(self.hi, starts),
                     self.duration, self.sample_rate)


def compute_peaks(audio: np.ndarray, sample_rate: int, buckets: int = RESOLUTION) -> Peaks:
    """Peaks of decoded audio (frames, or frames × channels)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        lo_s, hi_s = x.min(axis=1), x.max(axis=1)
    else:
        lo_s = hi_s = x
    n = len(lo_s)
    duration = n / float(sample_rate) if sample_rate else 0.0
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Peaks(empty, empty, duration, sample_rate)
    buckets = max(1, min(buckets, n))
    starts = np.linspace(0, n, buckets + 1).astype(np.int64)[:-1]
    lo = np.minimum.reduceat(lo_s, starts).astype(np.float32)
    hi = np.maximum.reduceat(hi_s, starts).astype(np.float32)
    return Peaks(lo, hi, duration, int(sample_rate))


def _cache_file(path: Path) -> Path:
    st = path.stat()
    key = f"{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{RESOLUTION}"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()
    return paths.cache_dir() / "peaks" / digest[:2] / f"{digest}.npz"


def load_peaks(path: str | Path, decoder=None) -> Peaks:
    """Peaks of the file at ``path``, from the cache or decoded now (call it off the UI thread).

    ``decoder(path) -> (frames × channels float32, sr)`` defaults to the audition decoder.
    Raises the decoder's error (e.g. ``AudioError``, ``RuntimeError`` from libsndfile).
    """
    path = Path(path)
    cache = _cache_file(path)
    try:
        with np.load(cache) as data:
            return Peaks(data["lo"], data["hi"], float(data["duration"]), int(data["sample_rate"]))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError) as exc:  # a torn or foreign file: recompute
        log.debug("peaks cache %s unreadable: %s", cache, exc)
    if decoder is None:
        from soundsearch.audio.audiocache import decode as decoder
    audio, sr = decoder(path)
    peaks = compute_peaks(audio, sr)
    try:
        with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, lo=peaks.lo, hi=peaks.hi, duration=peaks.duration, sample_rate=peaks.sample_rate)
    except OSError as exc:  # a read-only or full cache disk only costs speed
        log.warning("cannot cache peaks for %s: %s", path, exc)
    return peaks

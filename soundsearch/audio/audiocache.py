"""An LRU cache of decoded audio, ready for the output stream (its rate and channel count).

Auditioning jumps back and forth between a handful of hits; decoding each again would cost more
than the 50 ms a keypress may take to be heard. Entries are keyed by path, size and mtime (an edited
file is decoded again) and bounded by bytes, not count, because one long field recording can weigh
as much as a thousand footsteps.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from soundsearch.audio.decode import load

log = logging.getLogger(__name__)

# Beyond this, auditioning decodes only the first part: an hour of 96 kHz stereo float is 2.7 GB,
# ten minutes at 48 kHz stereo is 230 MB of the cache.
MAX_SECONDS = 10 * 60


def decode(path: Path, max_seconds: float | None = MAX_SECONDS) -> tuple[np.ndarray, int]:
    """Decode ``path`` as float32 frames × channels at its own rate (raises ``AudioError``)."""
    audio, sr = load(path, sample_rate=None, mono=False, max_seconds=max_seconds)
    return audio, int(sr)


def to_channels(audio: np.ndarray, sr_in: int, sr_out: int, channels: int) -> np.ndarray:
    """Resample to ``sr_out`` and map to ``channels`` (mono is copied to both sides; extra channels
    beyond two are dropped, which is what a quick audition of a surround file wants)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if sr_in != sr_out and len(x):
        import soxr

        x = soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)
        if x.ndim == 1:
            x = x[:, None]
    have = x.shape[1]
    if have == channels:
        out = x
    elif have == 1:
        out = np.repeat(x, channels, axis=1)
    elif channels == 1:
        out = x.mean(axis=1, keepdims=True)
    else:
        out = x[:, :channels]
    return np.ascontiguousarray(out, dtype=np.float32)


class AudioCache:
    """Thread-safe LRU of decoded audio (the GUI warms it from worker threads)."""

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _key(path: Path, sr: int, channels: int) -> tuple:
        st = path.stat()
        return (str(path), st.st_size, st.st_mtime_ns, sr, channels)

    def get(self, path: Path, sr: int, channels: int) -> np.ndarray:
        key = self._key(path, sr, channels)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
        self.misses += 1
        audio, file_sr = decode(path)
        buf = to_channels(audio, file_sr, sr, channels)
        buf.setflags(write=False)  # shared between the audio thread and callers
        with self._lock:
            if key not in self._items:
                self._items[key] = buf
                self._bytes += buf.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes
        return buf

    def has(self, path: Path, sr: int, channels: int) -> bool:
        try:
            key = self._key(path, sr, channels)
        except OSError:
            return False
        with self._lock:
            return key in self._items

    def __contains__(self, path: object) -> bool:
        with self._lock:
            return any(k[0] == str(path) for k in self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

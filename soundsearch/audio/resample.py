"""Sample-rate conversion with soxr: no torch on this path (torchaudio is not usable beside the CPU
torch wheel, and scanning must not wait for torch to import)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(x: np.ndarray, sr_in: int, sr_out: int, quality: str = "HQ") -> np.ndarray:
    """Resample ``x`` (frames, or frames × channels) from ``sr_in`` to ``sr_out`` Hz; float32 out.

    "HQ" is soxr's high quality preset: transparent for listening and embedding, and several times
    faster than "VHQ", which matters when a whole library is indexed."""
    x = np.asarray(x, dtype=np.float32)
    if sr_in <= 0 or sr_out <= 0:
        raise ValueError(f"sample rates must be positive, got {sr_in} → {sr_out}")
    if sr_in == sr_out or len(x) == 0:
        return x
    return np.ascontiguousarray(soxr.resample(x, sr_in, sr_out, quality=quality), dtype=np.float32)

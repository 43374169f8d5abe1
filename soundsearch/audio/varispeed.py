"""Tape-style varispeed and reverse for audition: the sound is played faster and higher (or slower
and lower) together, as a tape machine or a sampler without time-stretch does. +12 semitones is
twice the speed: an octave up, half as long.

The playback buffer is resampled once per (sound, speed) with soxr, which does a minute of stereo
48 kHz in a few milliseconds, so a change of speed is heard within a keypress; the audio callback
itself stays a plain copy.
"""

from __future__ import annotations

import numpy as np

MAX_SEMITONES = 12.0


def speed_ratio(semitones: float) -> float:
    """Playback speed for a pitch shift: 2 ** (semitones / 12)."""
    return float(2.0 ** (clamp(semitones) / 12.0))


def clamp(semitones: float) -> float:
    return float(min(MAX_SEMITONES, max(-MAX_SEMITONES, semitones)))


def transform(buf: np.ndarray, sample_rate: int, semitones: float = 0.0, reverse: bool = False) -> np.ndarray:
    """``buf`` (frames × channels) as it sounds at ``semitones`` and, with ``reverse``, backwards:
    played at ``sample_rate``, it lasts duration / speed_ratio(semitones)."""
    out = buf[::-1] if reverse else buf
    ratio = speed_ratio(semitones)
    if abs(ratio - 1.0) > 1e-6 and len(out):
        import soxr

        # Read as if recorded at sr·ratio and played back at sr: fewer frames, the same pitch ratio.
        out = soxr.resample(np.ascontiguousarray(out), sample_rate * ratio, sample_rate, quality="HQ")
        if out.ndim == 1:
            out = out[:, None]
    out = np.ascontiguousarray(out, dtype=np.float32)
    out.setflags(write=False)
    return out

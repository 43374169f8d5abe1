"""Write a selected region of a sound to a fresh WAV, for dragging into a DAW.

The region keeps the file's sample rate and channels and, where WAV can hold it, its sample format
(16-bit stays 16-bit, 24-bit stays 24-bit), read as integers so the samples are copied bit for bit.
Formats WAV cannot hold as they are (lossy codecs, 8-bit signed) are written as 32-bit float of
exactly the decoded samples. The source file is only ever read.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import soundfile as sf

from soundsearch import paths
from soundsearch.atomic import atomic_path
from soundsearch.userfiles import check_regular

log = logging.getLogger(__name__)

# subtype of the source → (dtype to read it losslessly, subtype to write into WAV)
_LOSSLESS = {
    "PCM_U8": ("int16", "PCM_U8"),
    "PCM_S8": ("int16", "PCM_16"),
    "PCM_16": ("int16", "PCM_16"),
    "PCM_24": ("int32", "PCM_24"),
    "PCM_32": ("int32", "PCM_32"),
    "FLOAT": ("float32", "FLOAT"),
    "DOUBLE": ("float64", "DOUBLE"),
    "ULAW": ("int16", "ULAW"),
    "ALAW": ("int16", "ALAW"),
}


def regions_dir() -> Path:
    """Where region WAVs go: the app's cache, not /tmp, because a DAW may keep referring to the file
    after the drop and /tmp is emptied at reboot."""
    return paths.cache_dir() / "regions"


def region_frames(path: str | Path, start: float, end: float) -> tuple[int, int, int]:
    """(first frame, end frame exclusive, sample rate) of [start, end) seconds, clamped to the file."""
    info = sf.info(os.fsencode(path))
    a = max(0, min(int(round(start * info.samplerate)), info.frames))
    b = max(a, min(int(round(end * info.samplerate)), info.frames))
    return a, b, int(info.samplerate)


def write_region(path: str | Path, start: float, end: float, out_dir: Path | None = None) -> Path:
    """Write [start, end) seconds of ``path`` to a new WAV and return its path."""
    path = Path(path)
    a, b, sr = region_frames(path, start, end)
    return write_region_frames(path, a, b, out_dir)


def write_region_frames(path: str | Path, first: int, stop: int, out_dir: Path | None = None) -> Path:
    """Write frames [first, stop) of ``path`` to a new WAV named after the file and the region."""
    path = Path(path)
    if stop <= first:
        raise ValueError("empty region")
    check_regular(path)
    with sf.SoundFile(os.fsencode(path)) as f:  # bytes: non-UTF-8 names too
        sr, channels, subtype = f.samplerate, f.channels, f.subtype
        dtype, out_subtype = _LOSSLESS.get(subtype, ("float32", "FLOAT"))
        f.seek(first)
        data = f.read(stop - first, dtype=dtype, always_2d=True)
    folder = paths.ensure(out_dir or regions_dir())
    stem = re.sub(r"[^\w\-. ]+", "_", path.stem)[:80] or "region"
    target = folder / f"{stem} {first / sr:.3f}-{stop / sr:.3f}s.wav"
    # RF64 only when the plain RIFF size field would overflow (files over 4 GB)
    fmt = "RF64" if data.nbytes > 0xFFFF0000 else "WAV"
    with atomic_path(target) as tmp:
        sf.write(str(tmp), data, sr, subtype=out_subtype, format=fmt)
        os.chmod(tmp, 0o644)  # temp files are private (0600); a DAW's file is an ordinary one
    log.info("wrote region %s [%d, %d) of %s (%d ch, %s)", target.name, first, stop, path, channels,
             out_subtype)
    return target

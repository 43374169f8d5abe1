"""Is the audio of two files the same, sample for sample? Used before a tagged copy may replace
the original.

Files libsndfile decodes (WAV, AIFF, FLAC, Ogg, MP3) are decoded block by block — integers for
PCM, so every bit is compared — and must agree in rate, channels, frame count and every sample.
What it cannot decode (AAC in M4A, a WAV in a codec libsndfile lacks) is compared as the bytes of
its audio container (the MP4 ``mdat`` boxes, the RIFF ``data`` chunk): tags live elsewhere, so
those bytes must not move by one bit either.
"""

from __future__ import annotations

import hashlib
import os
import struct

import numpy as np
import soundfile as sf

BLOCK = 1 << 16


class AudioMismatch(ValueError):
    """The copy's audio differs from the original's (or cannot be compared)."""


def _dtype(subtype: str) -> str:
    return {"PCM_16": "int16", "PCM_S8": "int16", "PCM_U8": "int16", "PCM_24": "int32",
            "PCM_32": "int32", "DOUBLE": "float64"}.get(subtype, "float32")


def _decodable(path) -> bool:
    try:
        with sf.SoundFile(os.fsencode(path)) as f:
            f.read(1)
        return True
    except (sf.LibsndfileError, RuntimeError, OSError):
        return False


def same_audio(original, copy) -> str:
    """How the audio was found identical ("decoded" or "audio bytes"); raises AudioMismatch."""
    if _decodable(original):
        _compare_decoded(original, copy)
        return "decoded"
    a, b = audio_bytes_digest(original), audio_bytes_digest(copy)
    if a is None:
        raise AudioMismatch("the audio can neither be decoded nor located in the file to compare it")
    if a != b:
        raise AudioMismatch("the audio bytes of the copy differ from the original's")
    return "audio bytes"


def _compare_decoded(original, copy) -> None:
    try:
        fa, fb = sf.SoundFile(os.fsencode(original)), sf.SoundFile(os.fsencode(copy))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioMismatch(f"the copy cannot be decoded: {exc}") from None
    with fa, fb:
        for attr in ("samplerate", "channels", "frames", "subtype"):
            if getattr(fa, attr) != getattr(fb, attr):
                raise AudioMismatch(f"{attr} differs: {getattr(fa, attr)} vs {getattr(fb, attr)}")
        dtype = _dtype(fa.subtype)
        frames = 0
        while True:
            a = fa.read(BLOCK, dtype=dtype, always_2d=True)
            b = fb.read(BLOCK, dtype=dtype, always_2d=True)
            if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                raise AudioMismatch(f"samples differ after frame {frames}")
            frames += len(a)
            if len(a) < BLOCK:
                break


def audio_bytes_digest(path) -> str | None:
    """SHA-256 of the audio payload bytes of an MP4 (mdat boxes) or RIFF (data chunk) file."""
    with open(path, "rb") as f:
        head = f.read(12)
        size = os.fstat(f.fileno()).st_size
        h = hashlib.sha256()
        if head[:4] in (b"RIFF", b"RF64", b"BW64"):
            from soundsearch.library.tagging.riff_tags import walk_chunks

            _m, _s, chunks, _stop = walk_chunks(f, size)
            ranges = [(c.body, min(c.size, size - c.body)) for c in chunks if c.cid == b"data"]
        elif head[4:8] == b"ftyp":
            ranges = list(_mdat_ranges(f, size))
        else:
            return None
        if not ranges:
            return None
        for start, length in ranges:
            f.seek(start)
            left = length
            while left > 0:
                block = f.read(min(left, 1 << 20))
                if not block:
                    break
                h.update(block)
                left -= len(block)
        return h.hexdigest()


def _mdat_ranges(f, size: int):
    pos = 0
    for _ in range(100_000):
        if pos + 8 > size:
            return
        f.seek(pos)
        header = f.read(16)
        box, kind = struct.unpack(">I", header[:4])[0], header[4:8]
        body = pos + 8
        if box == 1 and len(header) >= 16:
            box, body = struct.unpack(">Q", header[8:16])[0], pos + 16
        elif box == 0:
            box = size - pos
        if box < body - pos:
            return
        if kind == b"mdat":
            yield body, min(pos + box, size) - body
        pos += box

"""Helpers for the metadata tests (no tests here): byte-level RIFF/AIFF chunk writers and a guard
that the library's files are byte-identical after reading them.

The chunk writers build what field recorders and library tools write — LIST/INFO, BWF bext, iXML
with USER/ASWG blocks — into real WAVs made by soundfile, fixing the RIFF size as a tool would.
"""

from __future__ import annotations

import hashlib
import struct
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float = 0.05, sr: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def write_audio(path: Path, fmt: str | None = None, subtype: str | None = None, sr: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(sr=sr), sr, format=fmt, subtype=subtype)
    return path


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """(size, mtime_ns, sha256) of every file under root."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            out[str(p)] = (st.st_size, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@contextmanager
def unchanged(root: Path):
    """Assert that nothing under root was modified, added or removed inside the block."""
    before = snapshot(root)
    yield
    assert snapshot(root) == before, "the library's files changed while reading metadata"


# --- RIFF (little-endian) --------------------------------------------------------------------------

def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def info_list(items: dict[bytes, bytes]) -> bytes:
    """A LIST/INFO chunk from {b"INAM": b"text"} (values written raw, NUL-terminated)."""
    return chunk(b"LIST", b"INFO" + b"".join(chunk(k, v + b"\0") for k, v in items.items()))


def bext(description: bytes = b"", originator: bytes = b"", reference: bytes = b"",
         history: bytes = b"A=PCM,F=8000,W=16,M=mono\r\n") -> bytes:
    body = (description.ljust(256, b"\0") + originator.ljust(32, b"\0") + reference.ljust(32, b"\0")
            + b"2024-01-02" + b"10:11:12" + bytes(8) + struct.pack("<H", 2) + bytes(64) + bytes(10)
            + bytes(180) + history)
    return chunk(b"bext", body)


def ixml(xml: str | bytes) -> bytes:
    return chunk(b"iXML", xml.encode("utf-8") if isinstance(xml, str) else xml)


def add_chunks(path: Path, *chunks: bytes, before_data: bool = False) -> Path:
    """Add chunks to a soundfile-written WAV (after the data, or between fmt and data) and fix the
    RIFF size field."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    extra = b"".join(chunks)
    if before_data:
        at = data.index(b"data", 12)
        data = data[:at] + extra + data[at:]
    else:
        data = data + extra
    data = data[:4] + struct.pack("<I", len(data) - 8) + data[8:]
    path.write_bytes(data)
    return path


def rf64(path: Path, *chunks: bytes) -> Path:
    """A minimal RF64 file: ds64 holds the real sizes, data's own size field is 0xFFFFFFFF."""
    frames = (tone() * 32767).astype("<i2").tobytes()
    fmt = chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16))
    ds64_len = 8 + 28
    riff_size = 4 + ds64_len + len(fmt) + 8 + len(frames) + sum(len(c) for c in chunks)
    ds64 = chunk(b"ds64", struct.pack("<QQQI", riff_size, len(frames), len(frames) // 2, 0))
    body = ds64 + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF) + frames + b"".join(chunks)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + body)
    return path


# --- AIFF (big-endian) -----------------------------------------------------------------------------

def aiff_chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack(">I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def add_aiff_chunks(path: Path, *chunks: bytes) -> Path:
    data = path.read_bytes()
    assert data[:4] == b"FORM"
    data = data + b"".join(chunks)
    data = data[:4] + struct.pack(">I", len(data) - 8) + data[8:]
    path.write_bytes(data)
    return path


def comt(*texts: bytes) -> bytes:
    body = struct.pack(">H", len(texts))
    for text in texts:
        body += struct.pack(">IhH", 0, 0, len(text)) + text + (b"\0" if len(text) % 2 else b"")
    return aiff_chunk(b"COMT", body)

"""A small real sound library for the catalog/scanner/CLI tests, and a guard on its bytes.

:func:`build_library` writes tiny files of every supported format (numpy → soundfile; an m4a
built box by box, since nothing here encodes AAC), hidden and system folders the scanner must
skip, a sidecar and a non-UTF-8 name. :class:`Library` remembers the hash of every file; the
tests change files only through its methods, which update that record, and the ``library``
fixtures call :meth:`Library.verify` after each test: the app itself must never change a byte.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

NON_UTF8 = b"caf\xe9 ambience.wav"  # Latin-1 "café": not valid UTF-8


_FORMATS = {".wav": ("WAV", None), ".aif": ("AIFF", None), ".aiff": ("AIFF", None), ".flac": ("FLAC", None),
            ".ogg": ("OGG", "VORBIS"), ".opus": ("OGG", "OPUS"), ".mp3": ("MP3", "MPEG_LAYER_III")}


def write_tone(path: Path, seconds: float = 0.2, sr: int = 44100, channels: int = 1, freq: float = 440.0,
               subtype: str | None = None) -> Path:
    """A sine tone in the format the extension names (channels slightly different in level)."""
    t = np.arange(int(seconds * sr)) / sr
    x = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    if channels > 1:
        x = np.stack([x * (1 - 0.2 * c) for c in range(channels)], axis=1)
    path = Path(path)
    fmt, default_subtype = _FORMATS[path.suffix.lower()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:  # a file object: soundfile cannot open non-UTF-8 str names itself
        sf.write(fh, x, sr, format=fmt, subtype=subtype or default_subtype)
    return path


def _box(kind: bytes, *payload: bytes) -> bytes:
    data = b"".join(payload)
    return struct.pack(">I", 8 + len(data)) + kind + data


def _full(kind: bytes, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", flags), *payload)


def minimal_m4a(seconds: float = 0.5, sr: int = 44100, channels: int = 2) -> bytes:
    """An MP4 with one AAC track description and no samples: enough for mutagen to read its
    properties, which is all soundsearch can do with AAC (libsndfile cannot decode it)."""
    n = int(seconds * sr)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full(b"mvhd", 0, struct.pack(">IIIIIH", 0, 0, sr, n, 0x10000, 0x100), b"\0" * 10, matrix,
                 b"\0" * 24, struct.pack(">I", 2))
    tkhd = _full(b"tkhd", 7, struct.pack(">IIIII", 0, 0, 1, 0, n), b"\0" * 8,
                 struct.pack(">HHHH", 0, 0, 0x100, 0), matrix, b"\0" * 8)
    mdhd = _full(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, sr, n, 0x55C4, 0))
    hdlr = _full(b"hdlr", 0, b"\0" * 4, b"soun", b"\0" * 12, b"SoundHandler\0")
    rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000]
    config = struct.pack(">H", 2 << 11 | rates.index(sr) << 7 | channels << 3)  # AAC LC AudioSpecificConfig
    esds = _full(b"esds", 0, bytes([3, 25, 0, 1, 0, 4, 17, 0x40, 0x15, 0, 0, 0]),
                 struct.pack(">II", 128000, 128000), bytes([5, 2]) + config + bytes([6, 1, 2]))
    mp4a = _box(b"mp4a", b"\0" * 6, struct.pack(">H", 1), b"\0" * 8, struct.pack(">HHHHI", channels, 16, 0, 0,
                                                                                 sr << 16), esds)
    stbl = _box(b"stbl", _full(b"stsd", 0, struct.pack(">I", 1), mp4a), _full(b"stts", 0, b"\0" * 4),
                _full(b"stsc", 0, b"\0" * 4), _full(b"stsz", 0, b"\0" * 8), _full(b"stco", 0, b"\0" * 4))
    moov = _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr,
                                                        _box(b"minf", _full(b"smhd", 0, b"\0" * 4), stbl))))
    return _box(b"ftyp", b"M4A ", b"\0" * 4, b"M4A mp42isom") + moov + _box(b"mdat")


# relative path → (seconds, sample rate, channels, frequency)
SOUNDS = {
    "Doors/door_wood_slam_01.wav": (0.3, 44100, 1, 180.0),
    "Doors/Metal/door_metal_creak.aiff": (0.25, 48000, 2, 240.0),
    "Ambience/forest birds.flac": (0.4, 44100, 2, 5000.0),
    "Ambience/rain_light.ogg": (0.5, 44100, 1, 9000.0),
    "Voices/shout_male.opus": (0.3, 48000, 1, 700.0),
    "UI/click.mp3": (0.2, 44100, 1, 2000.0),
    "Field/ZOOM0001.wav": (0.2, 22050, 1, 1200.0),
}
# never catalogued: hidden, system, AppleDouble and non-audio files
SKIPPED = {
    ".hidden/secret.wav": "tone", "__MACOSX/Doors/door.wav": "tone", "$RECYCLE.BIN/old.wav": "tone",
    "Doors/._door_wood_slam_01.wav": b"\0\x05\x16\x07AppleDouble junk", "cover.jpg": b"\xff\xd8\xff\xe0jpeg",
}


class Library:
    """A library folder and the hashes its files must still have at the end of the test."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.expected: dict[bytes, str] = {}

    def path(self, rel: str | bytes) -> Path:
        return Path(os.fsdecode(os.path.join(os.fsencode(self.root), os.fsencode(rel))))

    def snapshot(self) -> dict[bytes, str]:
        """relative path → content hash (or link target) of everything below the root."""
        out: dict[bytes, str] = {}
        top = os.fsencode(self.root)
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, top)
                if os.path.islink(full):
                    out[rel] = "link:" + os.fsdecode(os.readlink(full))
                elif name in files:
                    with open(full, "rb") as fh:
                        out[rel] = hashlib.sha256(fh.read()).hexdigest()
        return out

    def record(self) -> None:
        self.expected = self.snapshot()

    def verify(self) -> None:
        now = self.snapshot()
        changed = sorted(k for k in self.expected.keys() | now.keys() if self.expected.get(k) != now.get(k))
        assert not changed, f"library files changed by the app: {changed}"

    # changes a test makes on purpose: each updates the record of what must be there ----------------
    def _rel(self, path: Path) -> bytes:
        return os.path.relpath(os.fsencode(path), os.fsencode(self.root))

    def _rehash(self, path: Path) -> None:
        with open(path, "rb") as fh:
            self.expected[self._rel(path)] = hashlib.sha256(fh.read()).hexdigest()

    def write(self, rel: str | bytes, data: bytes) -> Path:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._rehash(path)
        return path

    def tone(self, rel: str | bytes, **kw) -> Path:
        path = write_tone(self.path(rel), **kw)
        self._rehash(path)
        return path

    def _below(self, rel: bytes) -> list[bytes]:
        return [k for k in self.expected if k == rel or k.startswith(rel + os.fsencode(os.sep))]

    def move(self, src: str | bytes, dst: str | bytes) -> Path:
        source, target = self.path(src), self.path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)
        old, new = self._rel(source), self._rel(target)
        for key in self._below(old):
            self.expected[new + key[len(old):]] = self.expected.pop(key)
        return target

    def delete(self, rel: str | bytes) -> None:
        path = self.path(rel)
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        for key in self._below(self._rel(path)):
            del self.expected[key]

    def link(self, rel: str, target: str | Path) -> Path:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
        self.expected[self._rel(path)] = "link:" + os.fsdecode(target)
        return path


def build_library(root: Path) -> Library:
    lib = Library(root)
    for rel, (seconds, sr, channels, freq) in SOUNDS.items():
        write_tone(lib.path(rel), seconds, sr, channels, freq)
    lib.path("Music").mkdir()
    lib.path("Music/loop.m4a").write_bytes(minimal_m4a())
    write_tone(lib.path(NON_UTF8), 0.2, 44100, 1, 330.0)
    lib.path("Doors/door_wood_slam_01.txt").write_text("A heavy oak door slams shut, reverberant hall\n")
    lib.path("notes.txt").write_text("recorded 2024\n")
    for rel, content in SKIPPED.items():
        if content == "tone":
            write_tone(lib.path(rel), 0.1, 8000, 1, 100.0)
        else:
            lib.path(rel).parent.mkdir(parents=True, exist_ok=True)
            lib.path(rel).write_bytes(content)
    lib.record()
    return lib


CATALOGUED = len(SOUNDS) + 2  # + the m4a and the non-UTF-8 name


def wav_bytes(seconds: float = 0.1, sr: int = 8000, freq: float = 440.0) -> bytes:
    buf = io.BytesIO()
    t = np.arange(int(seconds * sr)) / sr
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def bad_files() -> dict[str, bytes]:
    """Broken and odd files, by name, and what each is."""
    good = wav_bytes(0.1)
    data = good.find(b"data")
    hours = bytearray(good)
    hours[data + 4:data + 8] = struct.pack("<I", 0x7FFF0000)  # ≈ 37 h of 8 kHz 16-bit mono
    no_channels = bytearray(good)
    no_channels[22:24] = b"\0\0"
    return {
        "bad/empty.wav": b"",
        "bad/header_cut.wav": good[:30],
        "bad/cut_short.wav": good[:len(good) // 2],
        "bad/claims_hours.wav": bytes(hours),
        "bad/noise.wav": np.random.default_rng(0).bytes(3000),
        "bad/picture.wav": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "bad/really_a_wav.mp3": good,
        "bad/zero_channels.wav": bytes(no_channels),
    }

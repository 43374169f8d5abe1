"""Chunks of WAV (RIFF, RF64/BW64) and AIFF/AIFC files that carry words: RIFF LIST/INFO, BWF
``bext``, ``iXML`` and ``id3 `` chunks; AIFF NAME/AUTH/ANNO/COMT and its ID3 chunk.

Why not a library: wavinfo (the maintained choice) parses every chunk eagerly, needs lxml, parses
iXML with entity resolution left on and does not read the USER/ASWG blocks; what we need is a
bounded walk of chunk headers. The walker opens the file once, reads its first 64 KiB (where these
chunks usually sit) and seeks only to the few chunks it wants, never reading audio data. Truncated
or corrupt files end the walk; what was read so far is kept.
"""

from __future__ import annotations

import io
import os
import re
import struct
from pathlib import Path

from mutagen.id3 import ID3

from soundsearch.library.metadata import Field, FileBytes, ReadContext, ReaderError, register
from soundsearch.library.metadata.embedded import CHUNK_EXTENSIONS, id3_fields, read_with_mutagen
from soundsearch.library.metadata.ixml import ixml_fields
from soundsearch.library.metadata.names import decode
from soundsearch.library.metadata.safexml import UnsafeXML
from soundsearch.userfiles import open_binary

HEAD_BYTES = 64 * 1024
MAX_CHUNKS = 1024
# Most bytes read from one chunk; beyond these a "metadata" chunk is not worth reading.
_CAPS = {b"LIST": 256 * 1024, b"bext": 256 * 1024, b"iXML": 4 * 1024 * 1024, b"id3 ": 1024 * 1024,
         b"ID3 ": 1024 * 1024, b"ds64": 4096, b"NAME": 4096, b"AUTH": 4096, b"ANNO": 64 * 1024,
         b"(c) ": 4096, b"COMT": 64 * 1024}
_RIFF_WANTED = frozenset({b"LIST", b"bext", b"iXML", b"id3 ", b"ID3 ", b"ds64"})
_AIFF_WANTED = frozenset({b"NAME", b"AUTH", b"ANNO", b"(c) ", b"COMT", b"ID3 ", b"id3 "})
_FOURCC = re.compile(rb"[\x20-\x7e]{4}")

_INFO = {b"INAM": "title", b"ISBJ": "description", b"ICMT": "comment", b"IKEY": "keywords",
         b"IGNR": "genre", b"IART": "artist", b"IPRD": "album", b"IENG": "designer",
         b"ITCH": "designer", b"ISRC": "source", b"ICOP": "copyright", b"ISFT": "software",
         b"ICRD": "date", b"ILOC": "location"}
_AIFF_TEXT = {b"NAME": "title", b"AUTH": "artist", b"ANNO": "comment", b"(c) ": "copyright"}
# Field recorders (Sound Devices, Zoom) fill bext Description with "sTAKE=01"-style lines.
_RECORDER_LINE = re.compile(r"^\s*[a-z]{0,2}[A-Z][A-Z0-9_]*=(.*)$")


class _Source:
    """Byte access by offset: served from the head buffer, or from bytes the scanner already read
    (``held``), when possible; the file is opened only for what lies elsewhere."""

    def __init__(self, path: Path, held: FileBytes | None = None):
        self.path, self.held, self.f = path, held, None
        if held is not None:
            self.size, self.head = held.size, held.head[:HEAD_BYTES]
        else:
            self._open()
            self.head = self.f.read(HEAD_BYTES)

    def _open(self) -> None:
        self.f = open_binary(self.path)  # closed by close(); never a pipe
        self.size = os.fstat(self.f.fileno()).st_size

    def get(self, offset: int, n: int) -> bytes:
        if offset + n <= len(self.head):
            return self.head[offset:offset + n]
        if self.held is not None and (data := self.held.get(offset, n)) is not None:
            return data
        if self.f is None:
            size = self.size
            self._open()
            self.size = size  # keep one view of the file: the size the held bytes belong to
        self.f.seek(offset)
        return self.f.read(n)

    def close(self) -> None:
        if self.f is not None:
            self.f.close()


def walk(src: _Source) -> tuple[str, dict[bytes, list[bytes]], list[str]]:
    """(container kind, wanted chunk bodies by id, problems) for a RIFF/RF64/AIFF file."""
    magic, form = src.head[:4], src.head[8:12]
    if magic in (b"RIFF", b"RF64", b"BW64") and form == b"WAVE":
        kind, fmt, wanted = "riff", "<I", _RIFF_WANTED
    elif magic == b"FORM" and form in (b"AIFF", b"AIFC"):
        kind, fmt, wanted = "aiff", ">I", _AIFF_WANTED
    else:
        return "", {}, []
    chunks: dict[bytes, list[bytes]] = {}
    problems: list[str] = []
    pos, odd_before = 12, False
    for _ in range(MAX_CHUNKS):
        header = src.get(pos, 8)
        if len(header) < 8:
            break
        cid, size = header[:4], struct.unpack(fmt, header[4:])[0]
        if not _FOURCC.fullmatch(cid):
            # Some writers forget the pad byte after an odd-sized chunk: try one byte back.
            if odd_before and _FOURCC.fullmatch(src.get(pos - 1, 4)):
                pos, odd_before = pos - 1, False
                continue
            if cid.strip(b"\x00"):  # zero padding at the end is common and harmless
                problems.append(f"corrupt chunk header at offset {pos}")
            break
        if size == 0xFFFFFFFF and kind == "riff" and cid == b"data":
            size = _ds64_data_size(chunks)  # RF64: the real size lives in ds64
        body = pos + 8
        if cid in wanted:
            data = src.get(body, min(size, _CAPS[cid], max(src.size - body, 0)))
            if len(data) < min(size, _CAPS[cid]):
                problems.append(f"{cid.decode('ascii').strip()} chunk truncated")
            chunks.setdefault(cid, []).append(data)
        pos, odd_before = body + size + (size & 1), bool(size & 1)
        if pos >= src.size:
            break
    return kind, chunks, problems


def _ds64_data_size(chunks: dict[bytes, list[bytes]]) -> int:
    ds64 = chunks.get(b"ds64", [b""])[0]
    if len(ds64) >= 16:
        return struct.unpack("<Q", ds64[8:16])[0]
    return 1 << 62  # unknown: the data runs to the end, so the walk ends there


def info_fields(body: bytes) -> list[Field]:
    """Sub-chunks of a LIST/INFO chunk (text often Latin-1 / Windows-1252)."""
    if body[:4] != b"INFO":
        return []
    fields: list[Field] = []
    pos = 4
    while pos + 8 <= len(body):
        sid, size = body[pos:pos + 4], struct.unpack("<I", body[pos + 4:pos + 8])[0]
        if not _FOURCC.fullmatch(sid):
            break
        if sid in _INFO and (text := decode(body[pos + 8:pos + 8 + size]).strip()):
            fields.append(Field(_INFO[sid], text, f"info:{sid.decode('ascii')}"))
        pos += 8 + size + (size & 1)
    return fields


def bext_fields(body: bytes) -> list[Field]:
    fields: list[Field] = []
    description = decode(body[:256])
    kept, notes = [], []
    for line in description.splitlines():
        m = _RECORDER_LINE.match(line)
        if m is None:
            kept.append(line)
        elif line.lstrip().startswith(("sNOTE=", "NOTE=")) and m.group(1).strip():
            notes.append(m.group(1).strip())
    if text := " ".join(kept).strip():
        fields.append(Field("description", text, "bext:Description"))
    fields += [Field("comment", n, "bext:Description/NOTE") for n in notes]
    for name, start, end in (("originator", 256, 288), ("originator_reference", 288, 320),
                             ("date", 320, 330)):
        if text := decode(body[start:end]).strip():
            fields.append(Field(name, text, f"bext:{name.title().replace('_', '')}"))
    return fields


def _comt_fields(body: bytes) -> list[Field]:
    """AIFF COMT: count, then (timestamp, marker, length, text) records."""
    fields: list[Field] = []
    count = struct.unpack(">H", body[:2])[0] if len(body) >= 2 else 0
    pos = 2
    for _ in range(count):
        if pos + 8 > len(body):
            break
        length = struct.unpack(">H", body[pos + 6:pos + 8])[0]
        if text := decode(body[pos + 8:pos + 8 + length]).strip():
            fields.append(Field("comment", text, "aiff:COMT"))
        pos += 8 + length + (length & 1)
    return fields


def chunk_fields(kind: str, chunks: dict[bytes, list[bytes]], problems: list[str]) -> list[Field]:
    fields: list[Field] = []
    for cid, bodies in chunks.items():
        for body in bodies:
            try:
                if cid == b"LIST":
                    fields += info_fields(body)
                elif cid == b"bext":
                    fields += bext_fields(body)
                elif cid == b"iXML":
                    fields += ixml_fields(body)
                elif cid in (b"id3 ", b"ID3 "):
                    fields += id3_fields(ID3(io.BytesIO(body)))
                elif cid == b"COMT":
                    fields += _comt_fields(body)
                elif cid in _AIFF_TEXT and (text := decode(body).strip()):
                    fields.append(Field(_AIFF_TEXT[cid], text, f"aiff:{cid.decode('ascii').strip()}"))
            except UnsafeXML as exc:
                problems.append(f"iXML refused: {exc}")
            except Exception as exc:  # noqa: BLE001 — one bad chunk must not lose the others
                name = cid.decode("ascii", "replace").strip()
                problems.append(f"bad {name} chunk: {exc or type(exc).__name__}")
    return fields


@register("riff")
def read(path: Path, ctx: ReadContext) -> list[Field]:
    if path.suffix.lower() not in CHUNK_EXTENSIONS:
        return []
    src = _Source(path, ctx.bytes_of(path))
    try:
        kind, chunks, problems = walk(src)
    finally:
        src.close()
    if not kind:
        # Not a chunk container despite its name (an MP3 called .wav): let mutagen try.
        return read_with_mutagen(path) if src.size else []
    fields = chunk_fields(kind, chunks, problems)
    if problems:
        raise ReaderError("; ".join(problems), fields)
    return fields

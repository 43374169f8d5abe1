"""Write BWF ``bext`` and ``iXML`` chunks into a WAV (RIFF, RF64/BW64) file.

The file is rewritten chunk by chunk into another file: every chunk we do not own is copied byte
for byte in its place (audio included, streamed, never decoded); the first ``bext`` and ``iXML``
chunks are replaced (their other fields kept: a bext's time reference, UMID and coding history,
an iXML's production data and every USER field we do not set), later copies of them dropped, and
missing ones inserted before ``data`` (where Pro Tools and recorders put them). The RIFF size
moves by exactly the bytes added, so trailing bytes outside the RIFF stay as they were. A chunk
that runs past the end of the file (a truncated recording) ends the walk and is copied as is.

The USER block is the one Soundminer and BaseHead write and the reader understands (FXNAME,
DESCRIPTION, KEYWORDS, CATEGORY, SUBCATEGORY, CATID, DESIGNER, RECORDIST, LIBRARY).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import time
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

from soundsearch.library.metadata.safexml import local, parse

MAX_CHUNKS = 10_000
_FOURCC = re.compile(rb"[\x20-\x7e]{4}")
USER_KEYS = {"fxname": "FXNAME", "description": "DESCRIPTION", "keywords": "KEYWORDS",
             "category": "CATEGORY", "subcategory": "SUBCATEGORY", "catid": "CATID",
             "designer": "DESIGNER", "recordist": "RECORDIST", "library": "LIBRARY"}
BEXT_DESCRIPTION = 256
_BEXT_SIZE = 602  # version 1 fixed part (no coding history)
_KV_LINE = re.compile(r"^\s*([A-Za-z][\w .-]{0,40}?)\s*[=:]\s*(.+?)\s*$")


class RiffWriteError(ValueError):
    """The file's structure does not allow a safe rewrite (the reason says why)."""


@dataclass
class Chunk:
    cid: bytes
    offset: int  # of the header
    size: int  # as the header says
    end: int  # offset after the body and its pad byte, clamped to the file

    @property
    def body(self) -> int:
        return self.offset + 8


def walk_chunks(f, file_size: int) -> tuple[bytes, int, list[Chunk], int]:
    """(magic, RIFF size field, chunks, offset where the walk stopped)."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
        raise RiffWriteError("not a RIFF WAVE file")
    magic, riff_size = head[:4], struct.unpack("<I", head[4:8])[0]
    chunks: list[Chunk] = []
    pos = 12
    ds64_data = None
    while pos + 8 <= file_size and len(chunks) < MAX_CHUNKS:
        f.seek(pos)
        header = f.read(8)
        cid, size = header[:4], struct.unpack("<I", header[4:])[0]
        if not _FOURCC.fullmatch(cid):
            break  # padding or garbage after the last chunk: kept as trailing bytes
        if cid == b"ds64":
            f.seek(pos + 8)
            body = f.read(min(size, 28))
            if len(body) >= 16:
                ds64_data = struct.unpack("<Q", body[8:16])[0]
        if cid == b"data" and size == 0xFFFFFFFF and ds64_data is not None:
            size = ds64_data
        end = pos + 8 + size + (size & 1)
        chunks.append(Chunk(cid, pos, size, min(end, file_size)))
        if end > file_size:
            break  # truncated: this chunk runs to the end of the file
        pos = end
    else:
        if len(chunks) >= MAX_CHUNKS:
            raise RiffWriteError(f"more than {MAX_CHUNKS} chunks")
    stop = chunks[-1].end if chunks else 12
    return magic, riff_size, chunks, stop


def _read(f, chunk: Chunk, cap: int = 8 * 1024 * 1024) -> bytes:
    if chunk.size > cap:
        name = chunk.cid.decode("ascii").strip()
        raise RiffWriteError(f"{name} chunk too large to rewrite ({chunk.size} bytes)")
    f.seek(chunk.body)
    return f.read(chunk.size)


def _utf8_prefix(text: str, limit: int) -> bytes:
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", "ignore").encode("utf-8")


def new_bext(old: bytes | None, fields: dict[str, str], made: float | None = None) -> bytes:
    """A bext body: ``old`` with new Description/Originator, or a fresh version-1 chunk whose
    origination date and time are ``made`` (the file's modification time, the best guess there is)."""
    body = bytearray(old if old is not None and len(old) >= _BEXT_SIZE else bytes(_BEXT_SIZE))
    if old is None or len(old) < _BEXT_SIZE:
        body[:len(old or b"")] = old or b""
        body[346:348] = struct.pack("<H", 1)  # version 1
        if made is not None and not any(body[320:338]):
            stamp = time.localtime(made)
            body[320:338] = time.strftime("%Y-%m-%d%H:%M:%S", stamp).encode("ascii")
    if "description" in fields:
        body[0:BEXT_DESCRIPTION] = _utf8_prefix(fields["description"], BEXT_DESCRIPTION).ljust(
            BEXT_DESCRIPTION, b"\0")
    if "designer" in fields:
        body[256:288] = _utf8_prefix(fields["designer"], 32).ljust(32, b"\0")
    return bytes(body)


def new_ixml(old: bytes | None, fields: dict[str, str]) -> bytes:
    root = None
    if old is not None and old.strip(b"\0 \r\n\t"):
        try:
            root = parse(old)
        except ValueError as exc:  # UnsafeXML included: never rewrite what we did not understand
            raise RiffWriteError(f"the file's iXML chunk cannot be read ({exc}); not rewritten") from None
    if root is None or local(root.tag).upper() != "BWFXML":
        root = Element("BWFXML")
        SubElement(root, "IXML_VERSION").text = "2.10"
    user = next((c for c in root if local(c.tag).upper() == "USER"), None)
    if user is None:
        user = SubElement(root, "USER")
    elif not list(user) and (user.text or "").strip():
        # "KEY=value" lines (some tools write USER so): turn them into elements, keeping them all
        for line in (user.text or "").splitlines():
            if m := _KV_LINE.match(line):
                SubElement(user, m.group(1).strip().upper().replace(" ", "_")).text = m.group(2)
        user.text = None
    for name, value in fields.items():
        key = USER_KEYS[name]
        found = [c for c in user if local(c.tag).upper() == key]
        for extra in found[1:]:
            user.remove(extra)
        if value:
            elem = found[0] if found else SubElement(user, key)
            elem.text = value
        elif found:
            user.remove(found[0])
    body = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


# LIST/INFO items that say the same as a field we write: updated when the file has them (never
# added), so that no tool reads the old text beside the new one.
_INFO_ITEMS = {b"ISBJ": "description", b"IKEY": "keywords", b"IENG": "designer"}


def update_info(body: bytes, fields: dict[str, str]) -> bytes | None:
    """A LIST body with the INFO items above updated (removed when the field is cleared), or None
    when it is not an INFO list or holds none of them."""
    if body[:4] != b"INFO":
        return None
    items, pos, touched = [b"INFO"], 4, False
    while pos + 8 <= len(body):
        sid, size = body[pos:pos + 4], struct.unpack("<I", body[pos + 4:pos + 8])[0]
        if not _FOURCC.fullmatch(sid):
            break
        raw = body[pos:pos + 8 + size + (size & 1)]
        name = _INFO_ITEMS.get(sid)
        if name in fields:
            touched = True
            if fields[name]:
                items.append(_chunk_bytes(sid, fields[name].encode("utf-8") + b"\0"))
        else:
            items.append(raw)
        pos += 8 + size + (size & 1)
    return b"".join(items) + body[pos:] if touched else None


def _chunk_bytes(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def _copy(src, dst, start: int, length: int) -> None:
    src.seek(start)
    remaining = length
    while remaining > 0:
        block = src.read(min(remaining, 1 << 20))
        if not block:
            raise RiffWriteError("the file ended while copying it")
        dst.write(block)
        remaining -= len(block)


def write_wav_tags(src_path, dst_path, fields: dict[str, str]) -> None:
    """Write ``src_path`` with new bext/iXML chunks to ``dst_path`` (a new file); LIST/INFO items
    and an ``id3 `` chunk the file already has are updated to say the same."""
    from soundsearch.library.tagging.mutagen_tags import id3_chunk_body  # it imports USER_KEYS from here
    file_size = os.path.getsize(src_path)
    with open(src_path, "rb") as src:
        magic, riff_size, chunks, stop = walk_chunks(src, file_size)
        if not any(c.cid == b"fmt " for c in chunks):
            raise RiffWriteError("no fmt chunk: not a WAV file this can rewrite")
        bext = next((c for c in chunks if c.cid == b"bext"), None)
        ixml = next((c for c in chunks if c.cid == b"iXML"), None)
        bext_body = new_bext(_read(src, bext) if bext else None, fields, os.fstat(src.fileno()).st_mtime)
        ixml_body = new_ixml(_read(src, ixml) if ixml else None, fields)
        # where missing chunks go: before data, else before a chunk that runs past the end
        anchor = next((c for c in chunks if c.cid == b"data"), None)
        if anchor is None:
            anchor = next((c for c in chunks if c.offset + 8 + c.size > file_size), None)
        pieces: list[tuple[str, object]] = []  # ("bytes", b"...") or ("copy", Chunk)
        pending = [] if bext else [_chunk_bytes(b"bext", bext_body)]
        pending += [] if ixml else [_chunk_bytes(b"iXML", ixml_body)]
        for c in chunks:
            if c is anchor:
                pieces += [("bytes", p) for p in pending]
                pending = []
            if c is bext:
                pieces.append(("bytes", _chunk_bytes(b"bext", bext_body)))
            elif c is ixml:
                pieces.append(("bytes", _chunk_bytes(b"iXML", ixml_body)))
            elif c.cid in (b"bext", b"iXML"):
                continue  # a second copy would bring the old values back when read
            elif c.cid == b"LIST" and c.size <= 1 << 20 and (info := update_info(_read(src, c), fields)):
                pieces.append(("bytes", _chunk_bytes(b"LIST", info)))
            elif c.cid in (b"id3 ", b"ID3 ") and c.size <= 1 << 20 and \
                    (tag := id3_chunk_body(_read(src, c), fields)):  # players read it beside bext
                pieces.append(("bytes", _chunk_bytes(c.cid, tag)))
            else:
                pieces.append(("copy", c))
        pieces += [("bytes", p) for p in pending]
        old_len = stop - 12
        new_len = sum(len(p) if kind == "bytes" else p.end - p.offset for kind, p in pieces)
        delta = new_len - old_len
        with open(dst_path, "wb") as dst:
            if magic == b"RIFF":
                new_size = riff_size + delta
                if not 0 <= new_size <= 0xFFFFFFFF:
                    raise RiffWriteError("the file would pass the 4 GB limit of RIFF")
                header = magic + struct.pack("<I", new_size) + b"WAVE"
            else:
                header = magic + struct.pack("<I", riff_size) + b"WAVE"  # RF64: the size is in ds64
            dst.write(header)
            for kind, piece in pieces:
                if kind == "bytes":
                    dst.write(piece)
                elif piece.cid == b"ds64" and magic != b"RIFF":
                    body = bytearray(_read(src, piece))
                    if len(body) >= 8:
                        body[0:8] = struct.pack("<Q", struct.unpack("<Q", body[0:8])[0] + delta)
                    dst.write(piece.cid + struct.pack("<I", piece.size) + bytes(body))
                    _copy(src, dst, piece.body + len(body), piece.end - piece.body - len(body))
                else:
                    _copy(src, dst, piece.offset, piece.end - piece.offset)
            if stop < file_size:
                shutil.copyfileobj(_Range(src, stop, file_size - stop), dst)


class _Range:
    """A file-like view of ``length`` bytes from ``start`` (for copyfileobj)."""

    def __init__(self, f, start: int, length: int) -> None:
        self.f, self.left = f, length
        f.seek(start)

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data

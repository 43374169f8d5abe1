"""Vorbis comments of an Ogg Vorbis file, read straight from bytes the scanner already holds.

Why: mutagen's OggVorbis costs ~240 µs per file (page objects, a second open, a seek to the end
for the length it also computes), a quarter of a first scan's budget on a library that is mostly
Ogg. The comment header sits in the first pages, which the scanner has read anyway for the
content hash. This parser handles the plain case — one logical Vorbis stream whose identification
and comment headers lie in ``head`` and whose last page (in ``tail``) ends the stream — and
returns None for anything else (Opus, chained or multiplexed streams, malformed comments, a
comment header past ``head``), so the caller falls back to mutagen. When it answers, it answers
what mutagen would: tests compare both on real files.
"""

from __future__ import annotations

import struct

_PAGE = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, sequence, crc, segments
_FIRST, _LAST = 0x02, 0x04


def _pages(data: bytes, pos: int):
    """(flags, granule, serial, lacing values, body offset, next page offset) of each whole page."""
    while pos + 27 <= len(data):
        capture, version, flags, granule, serial, _seq, _crc, count = _PAGE.unpack_from(data, pos)
        if capture != b"OggS" or version != 0 or pos + 27 + count > len(data):
            return
        lacing = data[pos + 27:pos + 27 + count]
        body = pos + 27 + count
        end = body + sum(lacing)
        if end > len(data):
            return
        yield flags, granule, serial, lacing, body, end
        pos = end


def _header_packets(head: bytes) -> tuple[int, int, bytes, bytes] | None:
    """(serial, sample rate, identification packet, comment packet) of the first stream, or None."""
    packets: list[bytes] = []
    current: list[bytes] = []
    serial = None
    for flags, _granule, page_serial, lacing, body, _end in _pages(head, 0):
        if serial is None:
            if not flags & _FIRST:
                return None
            serial = page_serial
        elif page_serial != serial or flags & _FIRST:
            return None  # multiplexed or chained: mutagen knows how to pick the right pages
        pos = body
        for size in lacing:
            current.append(head[pos:pos + size])
            pos += size
            if size < 255:  # a lacing value under 255 ends the packet
                packets.append(b"".join(current))
                current = []
                if len(packets) == 2:
                    ident, comment = packets
                    if len(ident) < 28 or not ident.startswith(b"\x01vorbis"):
                        return None
                    rate = struct.unpack_from("<I", ident, 12)[0]
                    return (serial, rate, ident, comment) if rate else None
    return None


def _ends_stream(tail: bytes, serial: int) -> bool:
    """True when the last page in ``tail`` is our stream's final page with a finished packet
    (where mutagen finds the length without reading the whole file)."""
    last = next(_pages(tail, max(tail.rfind(b"OggS"), 0)), None)  # None: cut short or not a page
    if last is None:
        return False
    flags, granule, page_serial, _lacing, _body, _end = last
    return page_serial == serial and granule != -1 and bool(flags & _LAST)


def _valid_key(key: str) -> bool:
    return bool(key) and all(" " <= c <= "}" and c != "=" for c in key)


def parse_comments(packet: bytes) -> dict[str, list[str]] | None:
    """KEY=value pairs of a comment packet, grouped by lower-cased key in order of appearance
    (mutagen's VCommentDict view, with its errors="replace" rules); None when malformed."""
    if not packet.startswith(b"\x03vorbis"):
        return None
    try:
        pos = 7
        (vendor,) = struct.unpack_from("<I", packet, pos)
        pos += 4 + vendor
        (count,) = struct.unpack_from("<I", packet, pos)
        pos += 4
        tags: dict[str, list[str]] = {}
        for i in range(count):
            (length,) = struct.unpack_from("<I", packet, pos)
            pos += 4
            if pos + length > len(packet):
                return None
            text = packet[pos:pos + length].decode("utf-8", "replace")
            pos += length
            key, sep, value = text.partition("=")
            if not sep:  # as mutagen does: "Sony Ogg Vorbis 1.0 Final" becomes unknown0=…
                key, value = f"unknown{i}", text
            elif not key.isascii():
                key = key.encode("ascii", "replace").decode("ascii")
            if _valid_key(key):
                tags.setdefault(key.lower(), []).append(value)
    except struct.error:
        return None
    if pos >= len(packet) or not packet[pos] & 1:
        return None  # framing bit missing: mutagen raises
    return tags


def ogg_vorbis_comments(head: bytes, tail: bytes) -> dict[str, list[str]] | None:
    """The comments of an Ogg Vorbis file from its first bytes ``head`` and last bytes ``tail``
    (``tail`` is ``head`` when it holds the whole file); None: ask mutagen."""
    found = _header_packets(head)
    if found is None:
        return None
    serial, _rate, _ident, comment = found
    if not _ends_stream(tail, serial):
        return None
    return parse_comments(comment)

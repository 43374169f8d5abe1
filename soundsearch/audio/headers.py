"""Fast header parsers for the common formats, working on bytes already read.

Why not just ``soundfile.info``: opening an Ogg Vorbis file in libsndfile sets up the whole
decoder (codebooks) and costs ~1.3 ms, a WAV ~0.15 ms — more than the rest of a first scan's
per-file budget (≥ 1,000 files/s). The scanner reads each file's first and last 64 KiB anyway
for the content hash; WAV/AIFF/FLAC/Ogg headers live in those bytes, so parsing them here costs
microseconds and no second open. Anything unusual (compressed WAV codecs, chunks past the first
64 KiB, chained Ogg streams …) returns None and the caller asks libsndfile, which stays the
reference: tests check that both agree.

Each parser returns a :class:`Header`, None (not sure: ask libsndfile) or raises AudioError
(certainly broken: truncated inside the header, zero channels …).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from soundsearch.audio.errors import AudioError

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass(frozen=True)
class Header:
    format: str  # wav, aiff, flac, ogg, opus
    subtype: str  # libsndfile's names: PCM_16, FLOAT, VORBIS, OPUS …
    sample_rate: int
    channels: int
    frames: int
    bit_depth: int | None
    note: str = ""


def _seconds(frames: int, sr: int) -> str:
    s = frames / sr if sr else 0.0
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 60:.1f} min" if s >= 120 else f"{s:.2f} s"


def _length_check(fmt: str, claimed: int | None, available: int, sr: int) -> tuple[int, str]:
    """Frames to use and a note when the header's length disagrees with the bytes present.

    libsndfile plays what is there when a header over-states the length (a copy cut short, a
    recorder that crashed before patching the header), so such a file stays usable: we report the
    length actually present and say why, rather than rejecting audio a user can still hear."""
    if claimed is None:
        return available, f"{fmt.upper()} header gives no length (recording interrupted?); " \
                          f"using the {_seconds(available, sr)} present"
    if claimed <= available:
        return claimed, ""
    if available <= 0:
        raise AudioError(f"truncated: the header claims {_seconds(claimed, sr)} of audio "
                         f"but the file holds none")
    return available, f"truncated: the header claims {_seconds(claimed, sr)}, " \
                      f"the file holds {_seconds(available, sr)}"


def parse_wav(head: bytes, size: int, whole: bool) -> Header | None:
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(head):
        cid, csize = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            if body + 16 > len(head):
                break
            fmt = struct.unpack_from("<HHIIHH", head, body)
            if fmt[0] == 0xFFFE and csize >= 40 and body + 26 <= len(head):
                fmt = (struct.unpack_from("<H", head, body + 24)[0],) + fmt[1:]  # extensible subformat
        elif cid == b"data":
            data = (body, csize)
            break
        pos = body + csize + (csize & 1)
    if fmt is None or data is None:
        if data is not None:
            return None  # a 'fmt ' chunk after the data (rare but legal enough): libsndfile copes
        if whole and pos < len(head):
            raise AudioError(f"truncated WAV: the file ends inside its header ({size} bytes)")
        if whole:
            missing = "fmt" if fmt is None else "data"
            raise AudioError(f"corrupt WAV: no '{missing}' chunk in its {size} bytes")
        return None  # header chunks continue past what we read: let libsndfile seek
    tag, channels, sr, _byte_rate, block_align, bits = fmt
    if channels == 0 or sr == 0 or block_align == 0:
        raise AudioError(f"corrupt WAV header: {channels} channels, {sr} Hz, block size {block_align}")
    if tag == 1 and bits in (8, 16, 24, 32):
        subtype, depth = ("PCM_U8" if bits == 8 else f"PCM_{bits}"), bits
    elif tag == 3 and bits in (32, 64):
        subtype, depth = ("FLOAT" if bits == 32 else "DOUBLE"), bits
    else:
        return None  # ADPCM, µ-law, MP3-in-WAV …: libsndfile knows them
    offset, data_size = data
    available = max(0, size - offset) // block_align
    if data_size == 0:
        # libsndfile trusts a zero length and decodes nothing, so the file is unusable as it is.
        raise AudioError("no audio: the WAV data chunk is empty"
                         + (f" (but {size - offset} bytes follow it: recording interrupted?)"
                            if size > offset else ""))
    claimed = None if data_size == 0xFFFFFFFF else data_size // block_align
    frames, note = _length_check("wav", claimed, available, sr)
    return Header("wav", subtype, sr, channels, frames, depth, note)


def _ext80(b: bytes) -> float:
    """IEEE 754 80-bit extended (AIFF sample rates); 0.0 for one no sample rate could have (a
    damaged header's exponent overflowed a float, which raised OverflowError)."""
    exp = int.from_bytes(b[:2], "big") & 0x7FFF
    mant = int.from_bytes(b[2:10], "big")
    if (exp == 0 and mant == 0) or exp - 16383 > 64:  # > 2**64 Hz: damage
        return 0.0
    return mant * 2.0 ** (exp - 16383 - 63)


_AIFC_CODECS = {b"NONE": "PCM", b"twos": "PCM", b"sowt": "PCM", b"fl32": "FLOAT", b"FL32": "FLOAT",
                b"fl64": "DOUBLE", b"FL64": "DOUBLE"}


def parse_aiff(head: bytes, size: int, whole: bool) -> Header | None:
    if len(head) < 12 or head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
        return None
    pos, comm, ssnd = 12, None, None
    while pos + 8 <= len(head) and (comm is None or ssnd is None):
        cid, csize = head[pos:pos + 4], struct.unpack_from(">I", head, pos + 4)[0]
        body = pos + 8
        if cid == b"COMM" and body + 18 <= len(head):
            channels, frames, bits = struct.unpack_from(">hIh", head, body)
            codec = head[body + 18:body + 22] if head[8:12] == b"AIFC" else b"NONE"
            comm = (channels, frames, bits, round(_ext80(head[body + 8:body + 18])), codec)
        elif cid == b"SSND" and body + 8 <= len(head):
            ssnd = body + 8 + struct.unpack_from(">I", head, body)[0]
        pos = body + csize + (csize & 1)
    if comm is None or ssnd is None:
        if whole and pos < len(head):
            raise AudioError(f"truncated AIFF: the file ends inside its header ({size} bytes)")
        if whole:
            missing = "COMM" if comm is None else "SSND"
            raise AudioError(f"corrupt AIFF: no '{missing}' chunk in its {size} bytes")
        return None
    channels, claimed, bits, sr, codec = comm
    kind = _AIFC_CODECS.get(codec)
    if kind is None or bits not in (8, 16, 24, 32, 64):
        return None
    if channels <= 0 or sr <= 0:
        raise AudioError(f"corrupt AIFF header: {channels} channels, {sr} Hz")
    subtype = f"PCM_{'S8' if bits == 8 else bits}" if kind == "PCM" else kind
    available = max(0, size - ssnd) // (channels * ((bits + 7) // 8))
    frames, note = _length_check("aiff", claimed, available, sr)
    if frames == 0:
        raise AudioError("no audio: the AIFF has 0 sample frames")
    return Header("aiff", subtype, sr, channels, frames, bits, note)


def skip_id3(head: bytes) -> int:
    """Offset past an ID3v2 tag at the start (some FLAC and most MP3 files have one)."""
    if len(head) >= 10 and head[:3] == b"ID3":
        n = head[6:10]
        return 10 + ((n[0] & 0x7F) << 21 | (n[1] & 0x7F) << 14 | (n[2] & 0x7F) << 7 | (n[3] & 0x7F))
    return 0


def parse_flac(head: bytes, size: int, whole: bool) -> Header | None:
    pos = skip_id3(head)
    if head[pos:pos + 4] != b"fLaC":
        return None
    if pos + 42 > len(head):
        if whole:
            raise AudioError(f"truncated FLAC: the file ends inside its header ({size} bytes)")
        return None
    if head[pos + 4] & 0x7F != 0:
        return None  # STREAMINFO must come first; let libsndfile judge
    x = int.from_bytes(head[pos + 18:pos + 26], "big")
    sr, channels, bits, total = x >> 44, ((x >> 41) & 7) + 1, ((x >> 36) & 31) + 1, x & ((1 << 36) - 1)
    if sr == 0 or total == 0 or bits not in (8, 16, 24):
        return None  # unknown length (streamed FLAC) or unusual depth
    subtype = "PCM_S8" if bits == 8 else f"PCM_{bits}"
    return Header("flac", subtype, sr, channels, total, bits)


def parse_ogg(head: bytes, end: bytes, size: int, whole: bool) -> Header | None:
    if len(head) < 28 or head[:4] != b"OggS":
        return None
    serial = head[14:18]
    packet = 27 + head[26]
    ident = head[packet:packet + 19]
    if ident[:7] == b"\x01vorbis" and len(ident) >= 16:
        fmt, channels, sr = "ogg", ident[11], struct.unpack_from("<I", ident, 12)[0]
        pre_skip, subtype = 0, "VORBIS"
    elif ident[:8] == b"OpusHead" and len(ident) >= 16:
        channels, pre_skip, input_sr = ident[9], *struct.unpack_from("<HI", ident, 10)
        if input_sr not in OPUS_RATES:
            return None  # libsndfile picks a rate of its own: ask it
        fmt, sr, subtype = "opus", input_sr, "OPUS"
    else:
        return None  # Ogg FLAC, Speex, Theora …
    if channels == 0 or sr == 0:
        raise AudioError(f"corrupt Ogg header: {channels} channels, {sr} Hz")
    granule = _last_granule(end, serial)
    if granule is None:
        return None
    if fmt == "opus":
        granule = (granule - pre_skip) * sr // 48000  # Opus granules count 48 kHz samples
    if granule <= 0:
        raise AudioError("no audio: the Ogg stream holds no samples")
    return Header(fmt, subtype, sr, channels, granule, None)


def _last_granule(end: bytes, serial: bytes) -> int | None:
    """Granule position of the last page of our stream: its total sample count."""
    pos = len(end)
    while True:
        pos = end.rfind(b"OggS", 0, pos)
        if pos < 0 or pos + 27 > len(end):
            return None
        if end[pos + 4] == 0 and end[pos + 14:pos + 18] == serial:
            granule = struct.unpack_from("<q", end, pos + 6)[0]
            if granule >= 0:  # -1: no packet ends on this page
                return granule
        elif end[pos + 4] == 0:
            return None  # another logical stream (chained or multiplexed file)


def parse(head: bytes, end: bytes, size: int, whole: bool) -> Header | None:
    """Try every fast parser on a file's first bytes (and last bytes ``end``)."""
    magic = head[:4]
    if magic == b"RIFF":
        return parse_wav(head, size, whole)
    if magic == b"FORM":
        return parse_aiff(head, size, whole)
    if magic == b"OggS":
        return parse_ogg(head, end, size, whole)
    if magic == b"fLaC" or magic[:3] == b"ID3":
        return parse_flac(head, size, whole)
    return None

"""Audio properties of a file from its header only — never decoding the audio.

``probe(path)`` reads the first and last 64 KiB (:func:`read_ends`), parses the header with the
fast parsers of :mod:`soundsearch.audio.headers`, asks libsndfile (``soundfile``) when those are
not sure, and mutagen for containers libsndfile cannot read (m4a: metadata only). A file that
cannot be used raises :class:`AudioError` with a reason naming what the file really is.
Because only headers are read, a header claiming hours costs the same as any other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from soundsearch.audio import headers
from soundsearch.audio.errors import AudioError
from soundsearch.userfiles import open_fd

END_BYTES = 64 * 1024

# extension → the format family it promises (wrong-extension notes compare against this)
EXTENSIONS = {
    ".wav": "wav", ".wave": "wav", ".bwf": "wav", ".rf64": "wav",
    ".aif": "aiff", ".aiff": "aiff", ".aifc": "aiff",
    ".flac": "flac", ".ogg": "ogg", ".oga": "ogg", ".opus": "ogg", ".mp3": "mp3", ".m4a": "m4a",
}
_FAMILY = {"opus": "ogg"}
_SF_FORMATS = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "W64": "w64", "AIFF": "aiff", "FLAC": "flac",
               "MP3": "mp3", "CAF": "caf"}
_DEPTHS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64,
           "ULAW": 8, "ALAW": 8}


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds
    sample_rate: int
    channels: int
    bit_depth: int | None  # None for lossy codecs
    format: str  # wav, aiff, flac, ogg (Vorbis), opus, mp3, m4a …
    frames: int
    decodable: bool  # False: properties and tags only (e.g. AAC in m4a: libsndfile has no decoder)
    note: str = ""  # e.g. "truncated: …", "wrong extension: …", "metadata only: …"
    subtype: str = ""  # libsndfile's subtype name (PCM_24, FLOAT, VORBIS …) when known


MIDDLE_BLOCK = 4096


@dataclass(frozen=True)
class FileEnds:
    """The bytes a scan reads from a file: all of it when small, else the first and last 64 KiB
    (and, for files over 256 KiB, four 4 KiB samples of the middle, for the content hash)."""

    size: int
    mtime_ns: int
    head: bytes
    tail: bytes  # b"" when ``head`` is the whole file
    middle: bytes = b""

    @property
    def whole(self) -> bool:
        return not self.tail


def _read(fd: int, offset: int, n: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    parts = []
    while n > 0:
        part = os.read(fd, n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def read_ends(path: str | Path) -> FileEnds:
    """One open, a few reads. Raises OSError (FileNotFoundError if it vanished).

    Plain os.open/os.read: half the cost of a buffered open() per file (measured 55 vs 115 µs on
    the dev library), which is a good part of a first scan's budget."""
    fd, st = open_fd(path)  # a pipe named take.wav must not hang the scan
    try:
        size = st.st_size
        if size <= 2 * END_BYTES:
            return FileEnds(size, st.st_mtime_ns, _read(fd, 0, size), b"")
        head = _read(fd, 0, END_BYTES)
        middle = b"".join(_read(fd, size * k // 5, MIDDLE_BLOCK) for k in (1, 2, 3, 4)) \
            if size > 4 * END_BYTES else b""
        return FileEnds(size, st.st_mtime_ns, head, _read(fd, size - END_BYTES, END_BYTES), middle)
    finally:
        os.close(fd)


def probe(path: str | Path) -> AudioInfo:
    try:
        ends = read_ends(path)
    except OSError as exc:
        raise AudioError(f"cannot read: {exc.strerror or exc}") from exc
    return probe_ends(path, ends)


def probe_ends(path: str | Path, ends: FileEnds) -> AudioInfo:
    """:func:`probe` on bytes already read (the scanner reads them once for hash and header)."""
    if ends.size == 0:
        raise AudioError("empty file (0 bytes)")
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    header = headers.parse(ends.head, ends.tail or ends.head, ends.size, ends.whole)
    if header is not None:
        info = AudioInfo(header.frames / header.sample_rate, header.sample_rate, header.channels,
                         header.bit_depth, header.format, header.frames, True, header.note, header.subtype)
    else:
        info = _probe_libsndfile(path, ends, ext)
    return _with_extension_note(info, ext)


def _probe_libsndfile(path: str | Path, ends: FileEnds, ext: str) -> AudioInfo:
    kind = sniff(ends.head)
    if kind == "m4a":
        return _probe_mp4(path)
    # imported here: soundfile pulls in numpy and cffi (~0.3 s of CPU in each scan worker process),
    # and the fast header parsers answer for most files
    import soundfile as sf

    from soundsearch.audio.sndfile import open_sound

    try:
        with open_sound(path) as f:
            frames, sr, channels, fmt, subtype = f.frames, f.samplerate, f.channels, f.format, f.subtype
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(failure_reason(ends, kind, exc, ext)) from exc
    except OSError as exc:
        raise AudioError(f"cannot read: {exc.strerror or exc}") from exc
    if frames <= 0 or sr <= 0:
        raise AudioError("no audio: the file holds 0 sample frames")
    name = _SF_FORMATS.get(fmt, fmt.lower())
    if fmt == "OGG":
        name = "opus" if subtype == "OPUS" else "ogg"
    return AudioInfo(frames / sr, sr, channels, _DEPTHS.get(subtype), name, frames, True, "", subtype)


def _probe_mp4(path: str | Path) -> AudioInfo:
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    try:
        info = MP4(path).info
    except (MutagenError, OSError) as exc:
        raise AudioError(f"corrupt or truncated MP4/M4A file: {exc}") from exc
    sr, channels = int(info.sample_rate or 0), int(info.channels or 0)
    if not info.length or not sr:
        raise AudioError("no audio: the MP4 container holds no audio track")
    codec = getattr(info, "codec_description", "") or getattr(info, "codec", "") or "audio"
    note = f"metadata only: libsndfile cannot decode {codec} in MP4/M4A files"
    codec_id = str(getattr(info, "codec", ""))
    depth = int(getattr(info, "bits_per_sample", 0) or 0) if codec_id == "alac" else 0  # lossy: no depth
    return AudioInfo(float(info.length), sr, channels, depth or None, "m4a", round(info.length * sr), False,
                     note, codec_id)


def _with_extension_note(info: AudioInfo, ext: str) -> AudioInfo:
    promised = EXTENSIONS.get(ext)
    actual = _FAMILY.get(info.format, info.format)
    if promised is None or promised == actual:
        return info
    note = f"wrong extension: a {ext} file holding {info.format.upper()} audio"
    return replace(info, note="; ".join(n for n in (info.note, note) if n))


_NON_AUDIO = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
              (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"), (b"\x7fELF", "a program"),
              (b"<?xml", "XML text"), (b"{\\rtf", "an RTF document"), (b"<!DOCTYPE", "HTML"),
              (b"<html", "HTML"))


def sniff(head: bytes) -> str | None:
    """What the bytes really are: an audio family name ("wav", "mp3" …), a description of
    something else ("a PNG image", "text"), or None when unknown."""
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head[:200] else "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    pos = headers.skip_id3(head)
    if head[pos:pos + 4] == b"fLaC":
        return "flac"
    if pos or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"
    for magic, what in _NON_AUDIO:
        if head[:len(magic)] == magic:
            return what
    sample = head[:512]
    if sample and all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
        return "text"
    return None


def failure_reason(ends: FileEnds, kind: str | None, exc: Exception, ext: str) -> str:
    """A reason a user can act on, naming what the file really holds."""
    detail = str(exc).split(": ", 1)[-1].strip().rstrip(".")
    if "possibly a pipe" in detail:
        # libsndfile says this of any file whose format it cannot make out; ours are regular files
        # (checked before opening), so the useful part is that no audio could be found
        detail = "no readable audio frames found"
    if ends.size == 0:
        return "empty file (0 bytes)"
    if kind is None:
        return f"not a recognised audio format (libsndfile: {detail})"
    if kind in ("wav", "aiff", "flac", "ogg", "opus", "mp3", "m4a"):
        wrong = f" (named {ext})" if EXTENSIONS.get(ext) not in (kind, _FAMILY.get(kind)) else ""
        return f"corrupt or truncated {kind.upper()} file{wrong}: {detail} ({ends.size} bytes)"
    return f"not an audio file: the content is {kind}"

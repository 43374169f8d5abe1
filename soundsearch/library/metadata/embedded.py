"""Embedded tags read by mutagen: ID3 (MP3, and the ID3 chunks of WAV/AIFF), Vorbis comments (FLAC,
Ogg Vorbis/Opus/FLAC), MP4 atoms (M4A), APEv2 and ASF.

WAV and AIFF files are walked by :mod:`riff`, which opens them once and hands their ID3 chunk to
:func:`id3_fields`; this reader leaves them alone unless their content is not a chunk container
(a mislabelled MP3, say), in which case riff calls :func:`read_with_mutagen`. Ogg Vorbis comments
come from :mod:`vorbis` when the scanner hands over the file's bytes (mutagen is the fallback).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import mutagen
from mutagen.aac import AAC
from mutagen.apev2 import APEv2
from mutagen.asf import ASF, ASFTags
from mutagen.flac import FLAC
from mutagen.id3 import ID3, ID3NoHeaderError
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Tags
from mutagen.musepack import Musepack
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggvorbis import OggVorbis
from mutagen.wavpack import WavPack

from soundsearch.library.metadata import Field, ReadContext, ReaderError, register
from soundsearch.library.metadata.names import field_name, known
from soundsearch.library.metadata.vorbis import ogg_vorbis_comments
from soundsearch.userfiles import check_regular, open_binary

# One file's tags are read up to here: 50,000 Vorbis comments or ID3 frames cost minutes and a 4 MB
# catalog row, and no person writes more than a few dozen.
MAX_TAGS = 1000
# An ID3v2 tag larger than this is walked frame by frame before mutagen sees it (to cut it at
# MAX_TAGS frames); smaller ones cannot hold enough frames to matter. Cover art makes tags of a
# few MB, which mutagen reads fast: only the frame count is capped.
ID3_WALK_BYTES = 256 * 1024
MAX_ID3_BYTES = 64 * 1024 * 1024

CHUNK_EXTENSIONS = frozenset({".wav", ".wave", ".bwf", ".rf64", ".w64", ".aif", ".aiff", ".aifc"})

# Scoring every format mutagen knows costs more than reading the tags; try the extension's own
# formats first and fall back to full detection only when none of them claims the file.
_OGG = [OggVorbis, OggOpus, OggFLAC, OggSpeex]
_KINDS_BY_EXTENSION = {
    ".ogg": _OGG, ".oga": _OGG, ".opus": [OggOpus], ".spx": [OggSpeex], ".flac": [FLAC],
    ".mp3": [MP3], ".mp2": [MP3], ".m4a": [MP4], ".mp4": [MP4], ".m4b": [MP4], ".aac": [AAC, MP4],
    ".wma": [ASF], ".asf": [ASF], ".ape": [MonkeysAudio], ".wv": [WavPack], ".mpc": [Musepack],
}

_ID3_FRAMES = {
    "TIT2": "title", "TIT1": "category", "TIT3": "description", "TPE1": "artist", "TPE2": "artist",
    "TALB": "album", "TCON": "genre", "TCOM": "designer", "GRP1": "keywords", "TKEY": "musical_key",
}
_MP4_ATOMS = {
    "\xa9nam": "title", "\xa9ART": "artist", "aART": "artist", "\xa9alb": "album",
    "\xa9cmt": "comment", "\xa9gen": "genre", "desc": "description", "ldes": "description",
    "keyw": "keywords", "catg": "category", "\xa9grp": "keywords", "\xa9wrt": "designer",
}
_ASF_KEYS = {"Title": "title", "Author": "artist", "Description": "description",
             "WM/AlbumTitle": "album", "WM/Genre": "genre", "WM/Category": "category"}


# Free-form keys written by encoders and taggers, not by people describing the sound.
_TECHNICAL = ("replaygain", "r128", "musicbrainz", "acoustid", "itun", "encode", "vendor", "waveformat",
              "cover", "metadata_block_picture", "lyrics", "tracknumber", "tracktotal", "discnumber")


def _technical(key: str) -> bool:
    return not known(key) and key.strip().casefold().replace(" ", "_").startswith(_TECHNICAL)


def _text(value: object) -> list[str]:
    if isinstance(value, bytes):
        return []  # binary frames (pictures, private data) carry no words
    if isinstance(value, list | tuple):
        return [t for v in value for t in _text(v)]
    text = str(value).strip()
    return [text] if text else []


def id3_fields(tags: ID3, prefix: str = "id3") -> list[Field]:
    fields: list[Field] = []
    for frame in tags.values():
        fid = frame.FrameID
        if fid == "TXXX":
            if _technical(frame.desc):
                continue
            name, src = field_name(frame.desc), f"{prefix}:TXXX:{frame.desc}"
        elif fid == "COMM":
            if frame.desc.startswith("iTun"):  # iTunNORM/iTunSMPB: encoder numbers, no words
                continue
            name, src = "comment", f"{prefix}:COMM"
        elif fid in _ID3_FRAMES:
            name, src = _ID3_FRAMES[fid], f"{prefix}:{fid}"
        else:
            continue
        fields += [Field(name, t, src) for t in _text(getattr(frame, "text", []))]
    return fields


def vorbis_fields(tags: object, prefix: str = "vorbis") -> list[Field]:
    """Vorbis comments (FLAC, Ogg) and APEv2 items: free-form KEY=value pairs, at most MAX_TAGS
    (a ReaderError keeps them and says how many more there were)."""
    if isinstance(tags, list):  # mutagen's VComment: (key, value) pairs. Its dict view looks each
        # key up by a scan of the whole list: 50,000 comments took 107 s that way. Grouped here by
        # lower-cased key in order of appearance, as parse_comments does.
        total = len(tags)
        grouped: dict[str, list] = {}
        for key, value in list.__getitem__(tags, slice(0, MAX_TAGS)):
            grouped.setdefault(key.lower(), []).append(value)
        items = list(grouped.items())
    else:
        items = list(tags.items())
        total = sum(len(v) if isinstance(v, list) else 1 for _, v in items)
    fields: list[Field] = []
    for key, value in items:
        if _technical(key):
            continue
        fields += [Field(field_name(key), t, f"{prefix}:{key.upper()}") for t in _text(value)][:MAX_TAGS]
        if len(fields) >= MAX_TAGS:
            break
    if total > MAX_TAGS:
        raise ReaderError(f"only the first {MAX_TAGS:,} of {total:,} tags read", fields[:MAX_TAGS])
    return fields


def mp4_fields(tags: MP4Tags) -> list[Field]:
    fields: list[Field] = []
    for atom, value in tags.items():
        if atom.startswith("----:"):  # freeform atoms: ----:com.apple.iTunes:DESCRIPTION
            key = atom.rsplit(":", 1)[-1]
            if not known(key):
                continue
            texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value]
            fields += [Field(field_name(key), t.strip(), f"mp4:{key}") for t in texts if t.strip()]
        elif atom in _MP4_ATOMS:
            src = "mp4:" + atom.replace("\xa9", "©")
            fields += [Field(_MP4_ATOMS[atom], t, src) for t in _text(value)]
    return fields


def asf_fields(tags: ASFTags) -> list[Field]:
    fields: list[Field] = []
    for key, values in tags.items():
        if key in _ASF_KEYS:
            fields += [Field(_ASF_KEYS[key], t, f"asf:{key}") for v in values for t in _text(v.value)]
    return fields


def tag_fields(tags: object) -> list[Field]:
    if tags is None:
        return []
    if isinstance(tags, ID3):
        return id3_fields(tags)
    if isinstance(tags, MP4Tags):
        return mp4_fields(tags)
    if isinstance(tags, ASFTags):
        return asf_fields(tags)
    if isinstance(tags, APEv2):
        return vorbis_fields(tags, prefix="ape")
    if hasattr(tags, "items"):  # VComment and friends
        return vorbis_fields(tags)
    return []


def _syncsafe(b: bytes) -> int:
    return (b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F)


def capped_id3(path: Path) -> tuple[ID3, int] | None:
    """When ``path`` starts with an ID3v2 tag too large to hand to mutagen as it is: (the tag cut
    to its first MAX_TAGS frames, the frames it holds). None when mutagen may read the file as is.
    Raises ReaderError for a tag that cannot be walked cheaply (over MAX_ID3_BYTES, or
    unsynchronised / with an extended header and over ID3_WALK_BYTES)."""
    with open_binary(path) as fh:
        header = fh.read(10)
        if len(header) < 10 or header[:3] != b"ID3" or header[3] not in (3, 4):
            return None
        size = _syncsafe(header[6:10])
        if size <= ID3_WALK_BYTES or size > os.fstat(fh.fileno()).st_size:
            return None  # small, or cut short (mutagen reports that)
        if size > MAX_ID3_BYTES or header[5] & 0xC0:
            raise ReaderError(f"ID3 tag of {size:,} bytes not read (too large or unusual)")
        data = fh.read(size)
    pos, count, cut = 0, 0, None
    while pos + 10 <= len(data) and data[pos] != 0:
        frame = data[pos + 4:pos + 8]
        pos += 10 + (_syncsafe(frame) if header[3] == 4 else int.from_bytes(frame, "big"))
        count += 1
        if count == MAX_TAGS:
            cut = min(pos, len(data))
    if cut is None:
        return None
    body = data[:cut]
    n = len(body)
    head = header[:5] + b"\0" + bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
    return ID3(io.BytesIO(head + body)), count


def read_with_mutagen(path: Path) -> list[Field]:
    kinds = _KINDS_BY_EXTENSION.get(path.suffix.lower())
    check_regular(path)  # mutagen opens the path itself: a pipe must be refused before
    capped = capped_id3(path)
    if capped is not None:
        tags, frames = capped
        raise ReaderError(f"only the first {MAX_TAGS:,} of {frames:,} ID3 frames read", id3_fields(tags))
    try:
        audio = mutagen.File(path, options=kinds) if kinds else None
        if audio is None:
            audio = mutagen.File(path)
    except mutagen.MutagenError as exc:
        if kinds and kinds[0] in (MP3, AAC):
            # Frames mutagen cannot sync to are the audio probe's business; the tags may be fine.
            return _id3_only(path)
        if path.stat().st_size == 0:
            return []  # an empty file has no tags; the audio probe reports it
        raise ReaderError(_mutagen_reason(exc)) from exc
    if audio is None:
        return []
    return tag_fields(audio.tags)


def _id3_only(path: Path) -> list[Field]:
    try:
        return id3_fields(ID3(path))
    except ID3NoHeaderError:
        return []
    except mutagen.MutagenError as exc:
        raise ReaderError(_mutagen_reason(exc)) from exc


def _mutagen_reason(exc: mutagen.MutagenError) -> str:
    causes = [exc.__cause__, exc.__context__, *exc.args]
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
    text = str(exc).strip()
    if not text or text.casefold() in ("error", "oserror()") or any(isinstance(c, OSError) for c in causes):
        return "truncated or unreadable tags"  # mutagen hit the end of the file mid-structure
    return text


@register("embedded")
def read(path: Path, ctx: ReadContext) -> list[Field]:
    suffix = path.suffix.lower()
    if suffix in CHUNK_EXTENSIONS:
        return []
    if suffix in (".ogg", ".oga") and (held := ctx.bytes_of(path)) is not None:
        # the common case without mutagen (see vorbis.py); anything unusual still goes to mutagen
        tags = ogg_vorbis_comments(held.head, held.tail or held.head)
        if tags is not None:
            return vorbis_fields(tags)
    return read_with_mutagen(path)

"""Tags written with mutagen, on a copy of the file: Vorbis comments (FLAC, Ogg Vorbis/Opus), ID3
(MP3 and the ID3 chunk of AIFF) and MP4 atoms (M4A).

Each field goes where :mod:`soundsearch.library.metadata.embedded` reads it back from, so a
round trip gives the same fields: Vorbis ``DESCRIPTION``/``KEYWORDS``/``CATID``… comments; ID3
TIT3 (description), TIT1 (category), TCOM (designer) and ``TXXX`` frames named as Soundminer
names its fields; MP4 ``desc`` and ``----:com.apple.iTunes:<FIELD>`` freeform atoms. Other tags
the file has are kept.
"""

from __future__ import annotations

import io
from pathlib import Path

import mutagen
from mutagen import MutagenError
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TCOM, TIT1, TIT3, TXXX, ID3NoHeaderError
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from soundsearch.library.tagging.riff_tags import USER_KEYS

_ID3_FRAMES = {"description": ("TIT3", TIT3), "category": ("TIT1", TIT1), "designer": ("TCOM", TCOM)}
_VORBIS = {".flac": [FLAC], ".ogg": [OggVorbis, OggOpus], ".oga": [OggVorbis, OggOpus], ".opus": [OggOpus]}
FORMATS = frozenset({*_VORBIS, ".mp3", ".m4a", ".mp4", ".aif", ".aiff", ".aifc"})


class TagWriteFailed(ValueError):
    """mutagen could not write the tags (the reason says why)."""


def write_with_mutagen(path: Path, fields: dict[str, str]) -> None:
    """Write ``fields`` into ``path`` in place (the caller passes a copy)."""
    suffix = path.suffix.lower()
    try:
        if suffix in _VORBIS:
            _vorbis(path, fields, _VORBIS[suffix])
        elif suffix == ".mp3":
            _id3(path, fields)
        elif suffix in (".m4a", ".mp4"):
            _mp4(path, fields)
        elif suffix in (".aif", ".aiff", ".aifc"):
            _aiff(path, fields)
        else:
            raise TagWriteFailed(f"cannot write tags into {suffix or 'extension-less'} files")
    except mutagen.MutagenError as exc:
        raise TagWriteFailed(str(exc) or type(exc).__name__) from exc


def _vorbis(path: Path, fields: dict[str, str], kinds) -> None:
    audio = mutagen.File(path, options=kinds)
    if audio is None:
        raise TagWriteFailed("not a FLAC or Ogg Vorbis/Opus file")
    if audio.tags is None:
        audio.add_tags()
    for name, value in fields.items():
        key = USER_KEYS[name]
        # keys(): iterating a VComment yields (key, value) pairs, not keys
        for existing in [k for k in audio.tags.keys() if k.upper() == key]:  # noqa: SIM118
            del audio.tags[existing]
        if value:
            audio.tags[key] = [value]
    audio.save()


def _set_id3(tags: ID3, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        key = USER_KEYS[name]
        tags.delall(f"TXXX:{key}")
        for frame in [f for f in tags.getall("TXXX") if f.desc.upper() == key]:
            tags.delall(frame.HashKey)
        if name in _ID3_FRAMES:
            fid, cls = _ID3_FRAMES[name]
            tags.delall(fid)
            if value:
                tags.add(cls(encoding=3, text=[value]))
        elif value:
            tags.add(TXXX(encoding=3, desc=key, text=[value]))


def id3_chunk_body(body: bytes, fields: dict[str, str]) -> bytes | None:
    """A WAV's ``id3 `` chunk with the fields set (in its own ID3 version), or None when it holds
    no ID3 tag mutagen can read (then it is copied as it is: no reader can see it either)."""
    try:
        tags = ID3(io.BytesIO(body))
    except (ID3NoHeaderError, MutagenError, ValueError):
        return None
    _set_id3(tags, fields)
    out = io.BytesIO()
    tags.save(out, v2_version=4 if tags.version[1] >= 4 else 3, padding=lambda _info: 0)
    return out.getvalue()


def _id3(path: Path, fields: dict[str, str]) -> None:
    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        tags = ID3()
    _set_id3(tags, fields)
    # ID3v2.3: what Windows, older DAWs and Soundminer read; text frames are UTF-16 there
    tags.save(path, v2_version=3)


def _aiff(path: Path, fields: dict[str, str]) -> None:
    audio = AIFF(path)
    if audio.tags is None:
        audio.add_tags()
    _set_id3(audio.tags, fields)
    audio.save(v2_version=3)


def _mp4(path: Path, fields: dict[str, str]) -> None:
    audio = MP4(path)
    if audio.tags is None:
        audio.add_tags()
    for name, value in fields.items():
        atom = "desc" if name == "description" else f"----:com.apple.iTunes:{USER_KEYS[name]}"
        audio.tags.pop(atom, None)
        if value:
            audio.tags[atom] = [value] if atom == "desc" else [MP4FreeForm(value.encode("utf-8"))]
    audio.save()

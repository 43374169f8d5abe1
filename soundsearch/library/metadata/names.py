"""Normalised field names and text decoding shared by every source.

Tag vocabularies differ per tool (Soundminer's ``FXNAME``, ASWG's ``fxName``, a vendor sheet's
"FX Name", a JSON sidecar's "tags"); :func:`field_name` maps them onto the names of the contract
(``description``, ``keywords``, ``category`` ...). Unknown keys keep their lowercased name so the
detail pane can still show them; only known names feed the metadata text.
"""

from __future__ import annotations

import re

# key (lowercased, without spaces, "_" and "-") -> normalised field name
_ALIASES: dict[str, str] = {
    # what the sound is
    "description": "description", "desc": "description", "caption": "description",
    "longdescription": "description", "ldes": "description", "subject": "description",
    "fxdescription": "description", "sounddescription": "description",
    "title": "title", "tracktitle": "title", "soundname": "title", "songtitle": "title",
    "fxname": "fxname", "fx": "fxname",
    "keywords": "keywords", "keyword": "keywords", "tags": "keywords", "tag": "keywords",
    "keyw": "keywords",
    "category": "category", "cat": "category", "categoryfull": "category", "catg": "category",
    "subcategory": "subcategory", "subcat": "subcategory",
    "catid": "catid", "categoryid": "catid",
    "usercategory": "user_category", "vendorcategory": "vendor_category",
    "comment": "comment", "comments": "comment", "notes": "comment", "note": "comment",
    "genre": "genre", "subgenre": "genre",
    "location": "location", "recordinglocation": "location", "place": "location",
    # who and where it comes from
    "library": "library", "lib": "library", "show": "library", "collection": "library",
    "designer": "designer", "sounddesigner": "designer", "recordist": "recordist",
    "recengineer": "designer", "engineer": "designer", "creator": "designer",
    "originator": "originator", "artist": "artist", "author": "artist", "album": "album",
    "creatorid": "creator_id", "sourceid": "source_id", "userdata": "user_data",
    "microphone": "microphone", "mic": "microphone", "micperspective": "perspective",
    "perspective": "perspective", "rectype": "rec_type", "manufacturer": "manufacturer",
    "url": "url", "copyright": "copyright", "license": "license", "licence": "license",
}

_KEY_JUNK = re.compile(r"[\s_\-.]+")


def field_name(key: str) -> str:
    """Normalised field name for a tag key from any vocabulary (case and separators ignored)."""
    compact = _KEY_JUNK.sub("", key.strip().casefold())
    if compact in _ALIASES:
        return _ALIASES[compact]
    return _KEY_JUNK.sub("_", key.strip().casefold()).strip("_") or "unknown"


def known(key: str) -> bool:
    return _KEY_JUNK.sub("", key.strip().casefold()) in _ALIASES


def decode(data: bytes) -> str:
    """Bytes from a chunk or sidecar as text: UTF-8 when valid, else Windows-1252 / Latin-1 (what
    RIFF INFO and bext text written on Windows usually is). Never raises; NULs end the string."""
    data = data.split(b"\x00", 1)[0]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def decode_file_text(data: bytes) -> str:
    """Like :func:`decode` for whole text files (keeps NULs out but does not stop at them); honours
    UTF-16 byte-order marks, which some Windows tools write."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").replace("\x00", "")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding).replace("\x00", "")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1").replace("\x00", "")


def fix_surrogates(text: str) -> str:
    """Text that can be stored as UTF-8. Non-UTF-8 file names reach Python as lone surrogates
    ("caf\\udce9"); their bytes are decoded again (Latin-1 names become "café")."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return decode_file_text(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # surrogates that did not come from bytes (e.g. "\\ud83d" in JSON)
        return text.encode("utf-8", "replace").decode("utf-8")

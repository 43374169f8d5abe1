"""Splitting names into words, and telling words from noise (take numbers, ids, recorder defaults).

Shared by the file-name reader and the metadata text (a title tag of "Track 01" says nothing).
No imports from the package, so any module may use it.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s_\-.,+()\[\]{}#~=&!'\"`@$%^*;:<>?|\\/]+")
_HEX = re.compile(r"[0-9a-f]+", re.IGNORECASE)

# Words that only recorders, DAWs and export dialogs put in names. A name made of nothing but these,
# numbers and ids carries no words ("ZOOM0001", "TASCAM_0042", "Take 3", "New Recording 5").
_DEFAULT_WORDS = frozenset((
    "zoom", "tascam", "dr", "ste", "mono", "stereo", "ms", "lr", "xy", "ch", "audio", "track", "trk",
    "tr", "take", "tk", "tke", "untitled", "unnamed", "new", "recording", "rec", "record", "bounce",
    "clip", "file", "sound", "snd", "sample", "smp", "mic", "voice", "memo", "copy", "final", "edit",
    "export", "render", "mixdown", "wav", "wave", "mp3", "flac", "ogg", "aif", "aiff", "ls", "pcm",
    "sd", "sr", "h4n", "h5", "h6", "f8", "mixpre"
))
# Words that are noise wherever they appear in a name (take and channel markers, versions).
_ALWAYS_DROP = frozenset((
    "take", "tk", "tke", "untitled", "unnamed", "copy", "wav", "wave", "mp3", "flac", "ogg", "aif",
    "aiff"
))
def split_words(text: str) -> list[str]:
    """Split a name into raw tokens: separators, then camelCase and letter→digit boundaries.
    Hex and numeric ids are kept whole here (so "a3f9c2e1" is not cut into letters)."""
    tokens: list[str] = []
    for part in _SEPARATORS.split(text):
        if not part:
            continue
        if is_id(part):
            tokens.append(part)
            continue
        tokens.extend(_camel_split(part))
    return tokens


# camelCase and letter→digit boundaries: doorSlam, DOORWood, HTTPServer, select7, ZOOM0001 (but not
# digit→letter: "0ad", "2nd", "3d" stay whole). Latin-1 letters count as cased letters too.
_LOWER, _UPPER = "a-zß-öø-ÿ", "A-ZÀ-ÖØ-Þ"
_CAMEL = re.compile(
    rf"(?<=[{_LOWER}])(?=[{_UPPER}])|(?<=[{_UPPER}])(?=[{_UPPER}][{_LOWER}])|(?<=[^\W\d_])(?=\d)"
)


def _camel_split(token: str) -> list[str]:
    return _CAMEL.split(token)


def _transitions(token: str) -> int:
    kinds = [c.isdigit() for c in token if c.isalnum()]
    return sum(a != b for a, b in zip(kinds, kinds[1:]))


def is_id(token: str) -> bool:
    """Hashes, UUID parts and digit/letter soups ("a3f9c2e1", "550e8400", "X7K2Q9"). Letters and
    digits must interleave, so a word followed by a take number ("bed01", "door2001") is not one."""
    if token.isalpha():
        return False
    if token.isdigit():
        return True
    turns = _transitions(token)
    if _HEX.fullmatch(token) and len(token) >= 4 and (turns >= 2 or (len(token) >= 12 and turns >= 1)):
        return True
    return len(token) >= 5 and token.isalnum() and turns >= 3


def _is_noise(token: str) -> bool:
    return len(token) < 2 or is_id(token)


def name_words(text: str) -> list[str]:
    """Meaningful lowercased words of a file or folder name; [] when the name is a recorder
    default, an id or a number."""
    tokens = [t.casefold() for t in split_words(text)]
    words = [t for t in tokens if not _is_noise(t)]
    if all(w in _DEFAULT_WORDS for w in words):
        return []
    return [w for w in words if w not in _ALWAYS_DROP]


def meaningful(text: str) -> bool:
    """Whether a title-like value says anything ("Track 01" and "Audio 12" do not)."""
    return bool(name_words(text))




def stem(name: str) -> str:
    """File name without its extension: "door.wav" -> "door"; "gravel_dig.2.ogg" -> "gravel_dig.2"
    (the dotted part is split as words later); ".hidden" stays whole."""
    return name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name

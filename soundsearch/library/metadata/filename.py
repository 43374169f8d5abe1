"""Words from the file's name and the folders it sits in (relative to the library root).

Sound libraries encode meaning in names ("Door_Slam_Heavy_03.wav", "Foley/Doors/Wood/") but also
noise: take numbers, hex ids, recorder defaults ("ZOOM0001", "DR-0001", "Audio 12"). Names split on
separators and camelCase; noise is dropped, so a file named by a recorder yields no words at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from soundsearch.library.metadata import Field, ReadContext, register
from soundsearch.library.metadata.words import name_words, stem

# Folder names that say nothing about the sound inside ("Sounds", "SFX", "Audio Files").
_GENERIC_FOLDERS = frozenset((
    "audio", "sound", "sounds", "sfx", "fx", "data", "sample", "samples", "file", "files", "media",
    "assets", "asset", "wav", "wavs", "ogg", "mp3", "flac", "aif", "aiff", "share", "usr", "local",
    "home", "library", "libraries", "content", "resources", "res", "misc", "various", "other", "stuff",
    "new", "disc", "cd", "dvd", "vol", "volume", "part"
))


def folder_parts(path: Path, root: Path | None) -> list[str]:
    """The folder names between the library root and the file, nearest first."""
    parent = path.parent
    if root is not None:
        try:
            rel = parent.relative_to(root)
        except ValueError:
            rel = None
        if rel is not None:
            return list(reversed(rel.parts))
    # Outside any root (e.g. `soundsearch info` on a loose file): the nearest two folders.
    return [p for p in (parent.name, parent.parent.name) if p]


def _dedupe(words: list[str]) -> list[str]:
    seen: set[str] = set()
    return [w for w in words if not (w in seen or seen.add(w))]


@register("filename")
def read(path: Path, ctx: ReadContext) -> list[Field]:
    fields: list[Field] = []
    words = _dedupe(name_words(stem(path.name)))
    if words:
        fields.append(Field("name_words", " ".join(words), "filename"))
    key = ("folder-words", os.path.dirname(path), ctx.root)  # str, not Path: hashed for every file
    folder = ctx.cache.get(key)
    if folder is None:  # the same for every file of the folder: work it out once per scan
        words = []
        for part in folder_parts(path, ctx.root):
            words.extend(w for w in name_words(part) if w not in _GENERIC_FOLDERS)
        folder = ctx.cache[key] = " ".join(_dedupe(words))
    if folder:
        fields.append(Field("folder_words", folder, "folder"))
    return fields

"""How the catalog spells a path: the key it stores, and the text it shows.

Apart from catalog.py so that the catalog's parts (the edit log) use them without importing it.
"""

from __future__ import annotations

import os


def norm_path(path: str | bytes | os.PathLike) -> bytes:
    """The catalog's key for a path: absolute, normalised, as the file system's bytes."""
    return os.fsencode(os.path.abspath(os.fsdecode(path)))


def display_path(path: str | bytes | os.PathLike) -> str:
    """A path for people and JSON: bytes that are not UTF-8 show as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")

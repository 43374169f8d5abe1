"""Walking a library folder: fast (os.scandir, one stat per audio file), loop-proof, forgiving.

- symlinked folders are followed while they stay inside the folder being walked (``inside``), and
  each folder (st_dev, st_ino) is entered once, so a link loop ends and a folder reached twice is
  not listed twice; a link leading elsewhere (to ``/``, whose ``/proc`` and ``/sys`` never end, or
  to a whole other drive) is recorded, not followed, unless the user asks (``inside=None``);
- hidden (``.name``) and system folders (recycle bins, ``__MACOSX`` …) are skipped;
- a folder that cannot be read is recorded and the walk goes on; what it held is *unknown*, not
  deleted (the scanner keeps those files' rows);
- files and folders that vanish while we walk are simply not listed.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from soundsearch.audio.probe import EXTENSIONS

AUDIO_EXTENSIONS = frozenset(EXTENSIONS)
# Compared lower-case. Names starting with "." (.Trash-1000, .AppleDouble, .Spotlight-V100 …) are
# skipped as hidden anyway.
SYSTEM_FOLDERS = frozenset({"$recycle.bin", "recycler", "system volume information", "__macosx", "lost+found",
                            "@eadir", "#recycle", "#snapshot", "$windows.~bt", "$windows.~ws"})
# Files whose change can change a sound's metadata (sidecars, description files, CSV sheets). DAW
# peak/analysis files (.asd, .reapeaks, .pkf) are left out on purpose: they change all the time.
SIDECAR_EXTENSIONS = frozenset({".txt", ".json", ".xml", ".yaml", ".yml", ".csv", ".tsv", ".md", ".nfo",
                                ".ixml", ".rtf", ""})  # "": README
_HIDDEN = 2  # FILE_ATTRIBUTE_HIDDEN (Windows)


@dataclass
class WalkResult:
    files: list[tuple[str, int, int]] = field(default_factory=list)  # (path, size, mtime_ns)
    errors: list[tuple[bytes, str]] = field(default_factory=list)  # (path, reason)
    unreadable: list[bytes] = field(default_factory=list)  # folders whose content is unknown
    sidecar_sigs: dict[bytes, str] = field(default_factory=dict)  # folder → signature of its sidecars
    top_missing: bool = False  # the folder to walk is not there (an unplugged drive?)


def _reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)


def _skip(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_FOLDERS


def _outside(path: str, inside: tuple[str, ...]) -> str | None:
    """Where the symlinked folder ``path`` really is, when that is outside every ``inside`` folder."""
    real = os.path.realpath(path)
    if any(real == top or real.startswith(top.rstrip(os.sep) + os.sep) for top in inside):
        return None
    return real


def walk(top: str, result: WalkResult, visited: set[tuple[int, int]],
         every: float = 0.1, inside: tuple[str, ...] | None = ()) -> Iterator[int]:
    """Walk ``top`` into ``result``; yields the number of files found so far about every
    ``every`` seconds (the scanner's chance to report progress and to be cancelled).

    ``inside``: the real folders symlinked folders may lead into (() means ``top`` itself; None
    follows every link)."""
    if inside == ():
        inside = (os.path.realpath(top),)
    stack, last = [top], time.monotonic()
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)  # stable order: stable progress and ids
        except FileNotFoundError:
            continue  # removed while we walk
        except OSError as exc:
            result.errors.append((os.fsencode(folder), f"cannot read folder: {_reason(exc)}"))
            result.unreadable.append(os.fsencode(folder))
            continue
        sidecars, subdirs = [], []
        for entry in entries:
            name = entry.name
            if _skip(name):
                continue
            try:
                is_dir = entry.is_dir()  # free unless a symlink: d_type comes with the listing
                if is_dir:
                    st = entry.stat()
                elif os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                    st = entry.stat()
                    if stat.S_ISREG(st.st_mode):
                        result.files.append((entry.path, st.st_size, st.st_mtime_ns))
                    continue
                elif os.path.splitext(name)[1].lower() in SIDECAR_EXTENSIONS and entry.is_file():
                    st = entry.stat()
                    sidecars.append(f"{name}\0{st.st_size}\0{st.st_mtime_ns}")
                    continue
                else:
                    continue
            except FileNotFoundError:
                if entry.is_symlink() and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                    result.errors.append((os.fsencode(entry.path), "broken symbolic link"))
                continue  # otherwise: vanished while we walk
            except OSError as exc:
                result.errors.append((os.fsencode(entry.path), f"cannot read: {_reason(exc)}"))
                continue
            if getattr(st, "st_file_attributes", 0) & _HIDDEN:
                continue
            key = (st.st_dev, st.st_ino)
            if inside is not None and key not in visited and entry.is_symlink() and \
                    (real := _outside(entry.path, inside)) is not None:
                visited.add(key)  # reported once, however many links lead there
                result.errors.append((os.fsencode(entry.path), f"link to a folder outside the library "
                                      f"({real}): not followed (scan with --follow-links to follow it)"))
                continue
            if key not in visited:  # else a symlink loop, or a folder already walked by another way
                visited.add(key)
                subdirs.append(entry.path)
        if sidecars:
            digest = hashlib.blake2b("\n".join(sidecars).encode("utf-8", "surrogateescape"), digest_size=12)
            result.sidecar_sigs[os.fsencode(folder)] = digest.hexdigest()
        stack.extend(reversed(subdirs))  # depth-first, in name order
        now = time.monotonic()
        if now - last >= every:
            last = now
            yield len(result.files)

"""Opening the user's files for reading: regular files only, never blocking.

A library folder may hold anything: a named pipe called ``notes.txt`` or ``take.wav`` (opening one
for reading waits for a writer that never comes, and hung the scan forever), a device node, a
socket. Every reader of library files (audio headers, decoders, tags, sidecars, folder notes,
sheets) goes through here: the open never blocks (O_NONBLOCK), and anything but a regular file is
refused with a plain reason before a byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class NotRegularFile(OSError):
    """The path is a pipe, device, socket or folder: nothing soundsearch reads."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_fd(path: str | bytes | os.PathLike) -> tuple[int, os.stat_result]:
    """(descriptor, its stat) of a regular file; raises NotRegularFile (an OSError) otherwise."""
    fd = os.open(path, _FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{_kind(st.st_mode)}, not a file")
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: str | bytes | os.PathLike) -> None:
    """Raise NotRegularFile unless ``path`` is (a link to) a regular file — before handing the path
    to a library that opens it itself (libsndfile, mutagen)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"{_kind(mode)}, not a file")


def read_bytes(path: str | bytes | os.PathLike, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file (``limit + 1`` tells the caller it is longer)."""
    fd, _ = open_fd(path)
    try:
        parts, left = [], limit
        while left > 0:
            part = os.read(fd, min(left, 1 << 20))
            if not part:
                break
            parts.append(part)
            left -= len(part)
        return b"".join(parts)
    finally:
        os.close(fd)


def open_binary(path: str | bytes | os.PathLike | Path):
    """A buffered binary file object of a regular file (for readers that seek around)."""
    fd, _ = open_fd(path)
    return os.fdopen(fd, "rb")

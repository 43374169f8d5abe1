"""Opening a sound with libsndfile (soundfile), safely: regular files only, and MP3s past their ID3 tag.

libsndfile's MP3 reader (mpg123) crawls through a large ID3v2 tag byte by byte: an MP3 whose tag
held 50,000 frames took 10 s to open and 13 s to decode, and big tags also threw its length
estimate off (durations of minutes for a 3.5 s sound). The tag is metadata, read by mutagen;
libsndfile gets a view of the file that starts after it (0.004 s for the same file).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import soundfile as sf

from soundsearch.audio.headers import skip_id3
from soundsearch.userfiles import check_regular, open_fd


class _After(io.RawIOBase):
    """The bytes of a file from ``start`` on, as a seekable binary file (libsndfile's virtual IO)."""

    def __init__(self, fd: int, start: int, size: int) -> None:
        super().__init__()
        self._f = os.fdopen(fd, "rb", buffering=0)
        self._start, self._size = start, size - start
        self._f.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._f.tell() - self._start

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self._size}[whence]
        return self._f.seek(self._start + max(0, base + pos)) - self._start

    def readinto(self, buffer) -> int:
        return self._f.readinto(buffer)

    def close(self) -> None:
        self._f.close()
        super().close()


@contextlib.contextmanager
def open_sound(path: str | Path) -> Iterator[sf.SoundFile]:
    """``with open_sound(path) as f``: a SoundFile reading ``path``. Raises OSError
    (NotRegularFile for a pipe or device) or soundfile's errors, as ``sf.SoundFile`` does."""
    view = _view_past_id3(path)
    if view is None:
        check_regular(path)
        # bytes path: soundfile encodes str paths strictly, which fails on non-UTF-8 names
        with sf.SoundFile(os.fsencode(path)) as f:
            yield f
        return
    try:
        with sf.SoundFile(view) as f:
            yield f
    finally:
        view.close()  # soundfile leaves a file object it was given open


def _view_past_id3(path: str | Path) -> _After | None:
    """The file after a large ID3v2 tag (not for FLAC, which libsndfile skips well), else None."""
    fd, st = open_fd(path)
    try:
        head = os.read(fd, 10)
        start = skip_id3(head) if head[:3] == b"ID3" else 0
        if start < 4096 or start >= st.st_size:
            return None
        os.lseek(fd, start, os.SEEK_SET)
        if os.read(fd, 4).startswith(b"fLaC"):
            return None
        view = _After(fd, start, st.st_size)
        fd = -1  # the view owns it now
        return view
    finally:
        if fd >= 0:
            os.close(fd)

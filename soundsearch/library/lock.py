"""One writer at a time per library: an advisory lock file beside the catalog.

The app and the command line run together on a user's machine. Two scans of a new library both
inserted the same paths (one died on a UNIQUE constraint), and an index job that was paused while
another added files saved its older index over theirs. So every job that writes the catalog or
the index files (scan, index, repair) holds this lock for its whole run; a second writer waits,
and says for whom. Readers (search, info, stats, the app's result list) never take it: SQLite's
WAL and the index files' atomic replacement serve them a consistent state at any moment.

The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows), held by an
open file: a killed process (kill -9, a crash, a power cut) releases it, so it can never go stale.
The file itself holds who took it (pid, job, time), only for the waiting message.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

from soundsearch.jobs import Progress

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


POLL_S = 0.2

# flock belongs to an open file, not a thread: two threads of one process would both "hold" it
# through one descriptor, or deadlock through two. One entry per lock file per process, then; the
# thread holding it may take it again (repair runs a scan inside its own hold).
class _Held:
    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.count = 0
        self.fd: int | None = None


_HELD: dict[str, _Held] = {}
_HELD_GUARD = threading.Lock()


def lock_path(catalog_path: str | os.PathLike) -> Path | None:
    """The lock file of the catalog at ``catalog_path`` (None for an in-memory catalog)."""
    if str(catalog_path) == ":memory:":
        return None
    path = Path(catalog_path)
    return path.with_name(path.name + ".lock")


def holder(path: Path) -> str:
    """Who holds (or last held) the lock, as written by them: "pid 1234, index, since 09:12:03"."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(200).strip()
    except OSError:
        text = ""
    return text or "another soundsearch"


class WriterLock:
    """``acquire()`` / ``release()`` the writer lock of one catalog; see :func:`writer`."""

    def __init__(self, path: Path, job: str) -> None:
        self.path, self.job = Path(path), job
        self._held: _Held | None = None

    def try_acquire(self) -> bool:
        key = os.path.abspath(self.path)
        with _HELD_GUARD:
            held = _HELD.setdefault(key, _Held())
        if not held.thread_lock.acquire(blocking=False):
            return False  # another thread of this process writes
        if held.count:  # this thread holds it already
            held.count += 1
            self._held = held
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        except OSError:
            held.thread_lock.release()
            raise
        if not _try_lock(fd):
            os.close(fd)
            held.thread_lock.release()
            return False
        held.fd, held.count, self._held = fd, 1, held
        try:  # only informative: a failure here must not cost the lock
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"pid {os.getpid()}, {self.job}, since {time.strftime('%H:%M:%S')}".encode())
        except OSError:
            pass
        return True

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        held.count -= 1
        try:
            if held.count == 0 and held.fd is not None:
                fd, held.fd = held.fd, None
                try:
                    _unlock(fd)
                finally:
                    os.close(fd)
        finally:
            held.thread_lock.release()


def hold(catalog_path: str | os.PathLike, job: str,
         check: Callable[[], None] | None = None) -> Generator[Progress, None, WriterLock | None]:
    """Take the library's writer lock, inside a job: ``lock = yield from hold(path, "scan", check)``,
    then ``lock.release()`` in a ``finally``. While another writer holds it, yields a "wait"
    Progress saying for whom, and calls ``check()`` (which may raise Cancelled) every POLL_S.
    Returns None for an in-memory catalog (nothing to share)."""
    path = lock_path(catalog_path)
    if path is None:
        return None
    lock = WriterLock(path, job)
    started = time.monotonic()
    while not lock.try_acquire():
        yield Progress("wait", 0, None, f"waiting for another soundsearch to finish ({holder(path)})",
                       started=started)
        if check is not None:
            check()
        time.sleep(POLL_S)
    return lock


@contextlib.contextmanager
def writer(catalog_path: str | os.PathLike, job: str,
           waiting: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the writer lock for the block (outside a job); ``waiting(message)`` is called once if
    another writer holds it."""
    told = False
    gen = hold(catalog_path, job)
    try:
        while True:
            progress = next(gen)
            if not told and waiting is not None:
                waiting(progress.message)
                told = True
    except StopIteration as stop:
        lock = stop.value
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def is_free(catalog_path: str | os.PathLike) -> bool:
    """Whether no writer holds the lock right now (nothing is kept held)."""
    path = lock_path(catalog_path)
    if path is None:
        return True
    lock = WriterLock(path, "probe")
    if lock.try_acquire():
        lock.release()
        return True
    return False

"""Reading one new or changed file for a scan: content hash, audio properties, metadata.

This is the part of a scan that costs CPU (metadata parsing is pure Python, mostly mutagen), so a
big scan runs it in worker *processes*: threads would queue on the GIL (measured on the dev
library: 2 threads no faster than 1), while 2 processes cost only ~10% more CPU in all than one
(1,060 vs 1,159 files per CPU-second) and so nearly double the rate on two idle cores. Nothing here
touches the catalog: outcomes go back to the scanner, which writes them in one transaction per batch.

Each file is opened once: the bytes read for the content hash serve the header probe and, through
``ReadContext.file``, the metadata readers (RIFF chunks, Ogg Vorbis comments).
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch.audio.errors import AudioError
from soundsearch.audio.probe import AudioInfo, FileEnds, probe_ends, read_ends
from soundsearch.library.metadata import Field, FileBytes, Metadata, ReadContext, read_metadata
from soundsearch.library.scan_plan import Task

log = logging.getLogger(__name__)


def content_hash(ends: FileEnds) -> str:
    """SHA-256 (first 128 bits) over the size, the first and last 64 KiB and, for files over
    256 KiB, four 4 KiB samples spread over the middle.

    Why not whole files: a first scan would read the whole library (hundreds of GB of field
    recordings); the ends are read anyway for the header. Any edit that changes the length, the
    header, the tags (stored at the start or the end) or the whole sound (gain, fade, resampling)
    changes these bytes. The middle samples catch what the ends alone would not: two takes of the
    same length with silent heads and tails (a re-rendered region), which would otherwise look
    identical; an edit confined to a few milliseconds of a long file's middle can still be missed,
    which we accept. Why SHA-256: with the CPU's SHA extensions it hashes 128 KiB ~2x faster than
    blake2b here (measured 0.18 vs 0.39 ms), and this is on every new file's path."""
    h = hashlib.sha256(ends.size.to_bytes(8, "little"))
    h.update(ends.head)
    h.update(ends.middle)
    h.update(ends.tail)
    return h.hexdigest()[:32]


@dataclass
class Outcome:
    task: Task
    kind: str  # vanished | touch (same content, new mtime) | full | retag
    size: int = 0
    mtime_ns: int = 0
    content_hash: str | None = None
    info: AudioInfo | None = None
    error: str | None = None
    metadata: Metadata = field(default_factory=Metadata)


def _metadata(path: str, ctx: ReadContext, ends: FileEnds | None = None) -> Metadata:
    file = Path(path)
    if ends is not None:  # the readers use the bytes read for the hash instead of opening the file
        ctx = ReadContext(ctx.root, ctx.cache, FileBytes(str(file), ends.size, ends.head, ends.tail))
    try:
        return read_metadata(file, ctx)
    except Exception as exc:  # read_metadata contains reader failures; this is a last guard
        log.exception("metadata of %r", path)
        return Metadata(errors=[f"metadata: {exc}"])


# Reading one file (hash, header, tags) takes ~1 ms. Tags, channels and sheets are capped where they
# are read, so no known file takes long any more; one that still does is named as a warning, so a
# user can tell which file slowed a scan.
SLOW_FILE_S = 10.0


def examine(task: Task, ctx: ReadContext) -> Outcome:
    """Hash the file; unless only its mtime changed, probe it and read its metadata."""
    started = time.monotonic()
    outcome = _examine(task, ctx)
    took = time.monotonic() - started
    if took > SLOW_FILE_S and outcome.kind in ("full", "retag"):
        outcome.metadata.errors.append(f"scan: reading this file took {took:.0f} s")
    return outcome


def _examine(task: Task, ctx: ReadContext) -> Outcome:
    if task.kind == "retag":
        return Outcome(task, "retag", metadata=_metadata(task.path, ctx))
    try:
        ends = read_ends(task.path)
    except FileNotFoundError:
        return Outcome(task, "vanished")
    except OSError as exc:
        reason = f"cannot read: {exc.strerror.lower() if exc.strerror else exc}"
        return Outcome(task, "full", task.size, task.mtime_ns, None, None, reason, _metadata(task.path, ctx))
    digest = content_hash(ends)
    if task.kind == "changed" and digest == task.old_hash:
        return Outcome(task, "touch", ends.size, ends.mtime_ns, digest)
    try:
        info, error = probe_ends(task.path, ends), None
    except AudioError as exc:
        info, error = None, exc.reason
    return Outcome(task, "full", ends.size, ends.mtime_ns, digest, info, error,
                   _metadata(task.path, ctx, ends))


# Outcomes cross from the workers as plain tuples: pickling dataclasses (Outcome, AudioInfo, one
# Field per tag) cost ~90 µs per file on both sides together, a tenth of the per-file budget.
def _pack(outcome: Outcome) -> tuple:
    info, meta = outcome.info, outcome.metadata
    return (outcome.kind, outcome.size, outcome.mtime_ns, outcome.content_hash,
            None if info is None else tuple(vars(info).values()), outcome.error,
            [(f.name, f.value, f.source) for f in meta.fields], meta.text, meta.errors)


def _unpack(task: Task, row: tuple) -> Outcome:
    kind, size, mtime_ns, digest, info, error, fields, text, errors = row
    metadata = Metadata([Field(*f) for f in fields], text, errors)
    return Outcome(task, kind, size, mtime_ns, digest, None if info is None else AudioInfo(*info), error,
                   metadata)


# In a worker process: one ReadContext per root, one cache for the life of the pool (one scan).
_CACHE: dict = {}
_CONTEXTS: dict[str, ReadContext] = {}


def _examine_chunk(tasks: list[Task], roots: list[str]) -> list[tuple]:
    out = []
    for task, root in zip(tasks, roots):
        ctx = _CONTEXTS.get(root)
        if ctx is None:
            ctx = _CONTEXTS[root] = ReadContext(root=Path(root), cache=_CACHE)
        out.append(_pack(examine(task, ctx)))
    return out


def _start_method() -> multiprocessing.context.BaseContext:
    """fork where it is safe, else spawn.

    A spawned worker starts a fresh interpreter and imports the readers (and the caller's main
    module): ~0.3 s of CPU each, and seconds of waiting for the first results on a busy machine. A
    forked one is ready at once with all of that inherited. But forking a process with other
    threads running (the GUI scans on a worker thread) can deadlock the child on a lock some
    thread held, and macOS frameworks are not fork-safe at all: there, spawn."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: let the scanner alone handle it (it stops the pool)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A scanner killed outright (kill -9, a crash) cannot stop its pool, and a worker waiting for
    # its next task waits forever: two were left blocked after each such kill. A worker whose
    # parent is gone leaves by itself.
    parent = os.getppid()
    threading.Thread(target=_leave_when_orphaned, args=(parent,), daemon=True, name="orphan-watch").start()


def _leave_when_orphaned(parent: int, every: float = 1.0) -> None:
    while True:
        time.sleep(every)
        if os.getppid() != parent:
            os._exit(0)


class Examiner:
    """Runs :func:`examine` on batches, here or in ``processes`` worker processes.

    ``submit(batch)`` starts a batch and returns a function that waits for its outcomes, so the
    scanner can write one batch while the workers read the next ones."""

    def __init__(self, roots: dict[int, str], processes: int = 0) -> None:
        self._roots = roots
        cache: dict = {}
        self._contexts = {rid: ReadContext(root=Path(root), cache=cache) for rid, root in roots.items()}
        self._pool = None
        if processes > 1:
            self._pool = ProcessPoolExecutor(processes, mp_context=_start_method(), initializer=_worker_init)
            self._processes = processes

    def submit(self, batch: list[Task]) -> Callable[[], list[Outcome]]:
        if self._pool is None:
            return lambda: [examine(t, self._contexts[t.root_id]) for t in batch]
        # a few chunks per worker and batch: big enough that each crossing carries many files,
        # small enough that both workers stay busy to the end of the batch
        size = max(1, -(-len(batch) // (2 * self._processes)))
        chunks = [batch[i:i + size] for i in range(0, len(batch), size)]
        futures = [self._pool.submit(_examine_chunk, c, [self._roots[t.root_id] for t in c]) for c in chunks]

        def wait() -> list[Outcome]:
            return [_unpack(t, row) for chunk, fut in zip(chunks, futures)
                    for t, row in zip(chunk, fut.result())]

        return wait

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def default_processes() -> int:
    """Worker processes for a big scan: one per core, at most 4 (beyond that the disk and the
    single writer are the limit). A frozen app must call multiprocessing.freeze_support()."""
    return max(1, min(4, os.cpu_count() or 1))

"""Scanning: bring the catalog in step with the library folders, incrementally.

``scan(catalog)`` is a job (a generator of Progress, see :mod:`soundsearch.jobs`). For each root it walks the
folders (:mod:`~soundsearch.library.walk`), compares every audio file's size and mtime with one
snapshot of the catalog, and only opens the files that are new or changed:

- unchanged (same size and mtime_ns): skipped without opening the file;
- changed: re-hashed; same content → only the mtime is updated; else probed and its metadata read
  again, and its vectors dropped;
- new: hashed; if the content equals a file that disappeared in this scan it is that file moved or
  renamed (its row, id, user data and vectors stay; only the path and name-derived metadata change);
  else probed and its metadata read;
- deleted: rows of files no longer found are removed at the end of a complete scan (a cancelled
  scan deletes nothing; files in a folder that could not be read, or under a root that is not
  there (an unplugged drive), are kept);
- files under a folder whose sidecars (.txt, .csv, …) changed get their metadata read again.

Writes are committed every ``batch_size`` files, so a killed scan loses at most one batch and the
next run goes on from there.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from soundsearch.jobs import CancelToken, Job, Progress
from soundsearch.library.catalog import Catalog, display_path, norm_path
from soundsearch.library.examine import Examiner, Outcome, default_processes
from soundsearch.library.lock import hold
from soundsearch.library.scan_plan import ScanPlan, Target, plan_scan
from soundsearch.library.walk import WalkResult, walk

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # files per transaction: a kill loses at most this many files' work
PROCESS_MIN_TASKS = 1000
AHEAD = 3  # batches read ahead of the one being written (a commit or a checkpoint may stall)


@dataclass
class ScanResult:
    added: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)  # content changed: vectors dropped
    moved: list[int] = field(default_factory=list)  # same id and vectors, new path
    deleted: list[int] = field(default_factory=list)
    retagged: list[int] = field(default_factory=list)  # metadata re-read (sidecar or move)
    errors: int = 0  # files and folders that failed in this scan
    unchanged: int = 0
    seen: int = 0  # audio files found by the walk
    seconds: float = 0.0

    @property
    def files_per_second(self) -> float:
        return self.seen / self.seconds if self.seconds > 0 else 0.0


def scan(catalog: Catalog, roots: Iterable[str | Path] | None = None, cancel: CancelToken | None = None,
         *, batch_size: int = BATCH_SIZE, processes: int | None = None,
         follow_links: bool = False) -> Job[ScanResult]:
    """Scan ``roots`` (folders are added as roots unless already inside one; a subfolder of a root
    rescans just that part), or every root when None. Yields Progress; returns a ScanResult.

    ``processes``: worker processes reading files (None: one per core, up to 4, when there are at
    least PROCESS_MIN_TASKS files to read, else none — starting workers costs ~0.3 s each).
    ``follow_links``: also follow symlinked folders that lead outside the library folders."""
    # one writer at a time: a second scan of the same new files would insert them twice
    lock = yield from hold(catalog.path, "scan", None if cancel is None else cancel.check)
    try:
        return (yield from _scan(catalog, roots, cancel, batch_size, processes, follow_links))
    finally:
        if lock is not None:
            lock.release()


def _scan(catalog: Catalog, roots, cancel: CancelToken | None, batch_size: int,
          processes: int | None, follow_links: bool) -> Job[ScanResult]:
    started = time.monotonic()
    result = ScanResult()
    targets = _targets(catalog, roots)
    walks: list[WalkResult] = []
    tops = {root: _key(root) for root in (norm_path(r) for r in catalog.roots())}
    for target in targets:
        walked = WalkResult()
        walks.append(walked)
        if not os.path.isdir(os.fsdecode(target.under)):
            walked.top_missing = True  # the plan keeps this root's files and records why
            continue
        # never wander into another root by a symlink: its files are catalogued under that root
        visited = {key for root, key in tops.items() if root != target.root and key} | {_key(target.under)}
        inside = None if follow_links else (os.path.realpath(os.fsdecode(target.root)),)
        for found in walk(os.fsdecode(target.under), walked, visited, inside=inside):
            yield Progress("walk", found + sum(len(w.files) for w in walks[:-1]), None,
                           f"looking in {display_path(target.under)}", started=started)
            _check(cancel)
    plan = plan_scan(catalog, targets, walks)
    result.unchanged, result.seen = plan.unchanged, plan.seen
    result.errors = len(plan.errors)
    tasks = plan.tasks + plan.retag
    if processes is None:
        processes = default_processes() if len(tasks) >= PROCESS_MIN_TASKS else 1
    examiner = Examiner({t.root_id: os.fsdecode(t.root) for t in targets}, processes)
    try:
        yield Progress("scan", 0, len(tasks), "", started=started)
        batches = [tasks[i:i + batch_size] for i in range(0, len(tasks), batch_size)]
        # keep the workers AHEAD batches ahead of the writer, so that they never wait for it
        waiting = [examiner.submit(b) for b in batches[:AHEAD]]
        for number, batch in enumerate(batches):
            _check(cancel)
            if number + AHEAD < len(batches):
                waiting.append(examiner.submit(batches[number + AHEAD]))
            outcomes = waiting.pop(0)()
            _check(cancel)
            with catalog.transaction():
                for outcome in outcomes:
                    _apply(catalog, plan, outcome, result)
            done = number * batch_size + len(batch)
            yield Progress("scan", done, len(tasks), display_path(batch[-1].path), started=started)
    finally:
        examiner.close()
    _check(cancel)
    with catalog.transaction():
        result.deleted.extend(plan.finish(catalog))
    result.seconds = time.monotonic() - started
    log.info("scan: %d new, %d changed, %d moved, %d deleted, %d unchanged, %d errors in %.1f s",
             len(result.added), len(result.changed), len(result.moved), len(result.deleted),
             result.unchanged, result.errors, result.seconds)
    yield Progress("done", len(tasks), len(tasks), "", started=started)
    return result


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()


def _key(path: bytes) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _targets(catalog: Catalog, roots: Iterable[str | Path] | None) -> list[Target]:
    if roots is None:
        wanted = [norm_path(r) for r in catalog.roots()]
    else:
        wanted = [norm_path(r) for r in roots]
        for path in wanted:
            if catalog.root_of(os.fsdecode(path)) is None:
                if not os.path.isdir(path):
                    raise NotADirectoryError(f"not a folder: {display_path(path)}")
                catalog.add_root(os.fsdecode(path))
    targets: list[Target] = []
    for path in sorted(set(wanted)):
        if any(path == t.under or path.startswith(t.under + os.fsencode(os.sep)) for t in targets):
            continue  # inside a folder we walk anyway
        found = catalog.root_of(os.fsdecode(path))
        if found is not None:
            targets.append(Target(found[0], norm_path(found[1]), path))
    return targets


def _apply(catalog: Catalog, plan: ScanPlan, outcome: Outcome, result: ScanResult) -> None:
    task = outcome.task
    if outcome.kind == "vanished":
        if task.file_id is not None:
            catalog.delete_files([task.file_id])
            result.deleted.append(task.file_id)
    elif outcome.kind == "retag":
        old = catalog.get(task.file_id)
        if old is not None and outcome.metadata.to_json() != (old.scanned or old.metadata).to_json():
            catalog.set_metadata(task.file_id, outcome.metadata)
            result.retagged.append(task.file_id)
    elif outcome.kind == "touch":
        catalog.touch_file(task.file_id, outcome.size, outcome.mtime_ns)
    elif task.file_id is None and (moved := plan.claim_move(outcome.content_hash)) is not None:
        # same content as a file that vanished in this scan: that file, moved or renamed
        catalog.move_file(moved, task.root_id, task.path_bytes, outcome.size, outcome.mtime_ns,
                          outcome.metadata)
        result.moved.append(moved)
    else:
        file_id = catalog.write_file(task.file_id, task.root_id, task.path_bytes, outcome.size,
                                     outcome.mtime_ns, outcome.content_hash, outcome.info, outcome.error,
                                     outcome.metadata)
        result.errors += outcome.error is not None
        if task.file_id is None:
            result.added.append(file_id)
        else:
            catalog.drop_file_embeddings(file_id)
            result.changed.append(file_id)

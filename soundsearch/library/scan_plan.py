"""What a scan has to do, decided from the walk and one snapshot of the catalog (no file opened).

Split from scanner.py to keep both small: the plan sorts the files found into unchanged / new /
changed, lists the catalogued files that were not found (deleted — or moved, which only their
content hash can tell, so the scanner claims them as it hashes new files), and at the end of a
complete scan removes the rest and records folder errors and sidecar signatures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from soundsearch.library.walk import WalkResult

if TYPE_CHECKING:  # the catalog imports numpy: scan worker processes, which import Task, need neither
    from soundsearch.library.catalog import Catalog

_SEP = os.fsencode(os.sep)


@dataclass(frozen=True)
class Target:
    root_id: int
    root: bytes
    under: bytes  # the folder to walk: the root itself or a folder inside it


@dataclass
class Task:
    kind: str  # new | changed | retag
    path: str
    path_bytes: bytes
    root_id: int
    size: int
    mtime_ns: int
    file_id: int | None = None
    old_hash: str | None = None


def _prefix(folder: bytes) -> bytes:
    return folder if folder.endswith(_SEP) else folder + _SEP


@dataclass
class ScanPlan:
    targets: list[Target]
    walks: list[WalkResult]
    tasks: list[Task] = field(default_factory=list)
    retag: list[Task] = field(default_factory=list)
    unchanged: int = 0
    seen: int = 0
    errors: list[tuple[bytes, str]] = field(default_factory=list)
    missing: dict[bytes, tuple[int, str | None]] = field(default_factory=dict)  # path → (id, hash)
    by_hash: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def move_hashes(self) -> set[str]:
        return set(self.by_hash)

    def claim_move(self, content_hash: str | None) -> int | None:
        """The id of a vanished file with this content, taken so that no second file claims it."""
        paths = self.by_hash.get(content_hash or "")
        while paths:
            entry = self.missing.pop(paths.pop(), None)
            if entry is not None:
                return entry[0]
        return None

    def finish(self, catalog: Catalog) -> list[int]:
        """After a complete scan: delete what was not found; record errors and sidecar signatures."""
        deleted = [file_id for file_id, _ in self.missing.values()]
        catalog.delete_files(deleted)
        self.missing.clear()
        for target, walked in zip(self.targets, self.walks):
            errors = list(walked.errors)
            if walked.top_missing:
                errors.append((target.under, _gone(catalog, target)))
            else:
                catalog.replace_folder_signatures(target.root_id, target.under, walked.sidecar_sigs)
            catalog.replace_scan_errors(target.root_id, target.under, errors)
        return deleted


def _gone(catalog: Catalog, target: Target) -> str:
    n = len(catalog.snapshot(target.root_id, None if target.under == target.root else target.under))
    return f"folder not found (an unplugged drive?): its {n} catalogued files are kept"


def plan_scan(catalog: Catalog, targets: list[Target], walks: list[WalkResult]) -> ScanPlan:
    plan = ScanPlan(targets, walks)
    for target, walked in zip(targets, walks):
        plan.errors.extend(walked.errors)
        if walked.top_missing:
            plan.errors.append((target.under, _gone(catalog, target)))
            continue
        snap = catalog.snapshot(target.root_id, None if target.under == target.root else target.under)
        old_sigs = catalog.folder_signatures(target.root_id, target.under)
        resigned = tuple(_prefix(f) for f in old_sigs.keys() | walked.sidecar_sigs.keys()
                         if old_sigs.get(f) != walked.sidecar_sigs.get(f))
        for path, size, mtime_ns in walked.files:
            key = os.fsencode(path)
            row = snap.pop(key, None)
            if row is None:
                plan.tasks.append(Task("new", path, key, target.root_id, size, mtime_ns))
            elif row[1] != size or row[2] != mtime_ns:
                plan.tasks.append(Task("changed", path, key, target.root_id, size, mtime_ns, row[0], row[3]))
            else:
                plan.unchanged += 1
                if resigned and key.startswith(resigned):
                    plan.retag.append(Task("retag", path, key, target.root_id, size, mtime_ns, row[0]))
        plan.seen += len(walked.files)
        # what lay in a folder we could not read is unknown, not gone: keep it
        kept = tuple(_prefix(f) for f in walked.unreadable)
        for key, (file_id, _size, _mtime, digest) in snap.items():
            if kept and key.startswith(kept):
                continue
            plan.missing[key] = (file_id, digest)
            if digest:
                plan.by_hash.setdefault(digest, []).append(key)
    return plan


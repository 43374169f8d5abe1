"""Duplicate sounds in the library.

- Exact: files with the same content hash (the same bytes, found by the scanner anyway): one
  sound in several folders, as libraries bought twice or copied into projects are.
- Near: the same recording in another file — re-encoded (WAV → FLAC/Ogg/MP3), resampled, trimmed
  or with another gain — decided by the audio itself (:mod:`soundsearch.audio.fingerprint`), not
  by names. Each distinct content is fingerprinted once (cached by content hash); pairs whose
  average spectra differ are skipped before the alignment test.

Precision and recall on planted copies: tests/benchmarks/bench_duplicates.py.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundsearch.audio.fingerprint import Fingerprint, fingerprint_file, similarity
from soundsearch.jobs import CancelToken, Job, Progress

log = logging.getLogger(__name__)

# Fine-detail correlation. Measured (bench_duplicates.py, 305 copies of dev-library sounds planted
# re-encoded/resampled/trimmed/gain-changed, plus the fixture's look-alike takes): 0.80 joined a tom
# and a bass drum of two drum kits (0.818); 0.85 found 305 of 311 planted pairs with no false one;
# 0.90 found 303. The fixture's look-alike takes stay at or below 0.71.
NEAR_THRESHOLD = 0.85
PROFILE_MIN = 0.9  # average-spectrum cosine below which two files are not compared further


@dataclass
class Copy:
    file_id: int
    path: Path
    similarity: float = 1.0  # to the group's first file
    note: str = ""  # how it differs from the first: "re-encoded (ogg)", "trimmed (-0.5 s)" …


@dataclass
class DuplicateGroup:
    reason: str  # "same content" (identical bytes) | "same sound" (audio match)
    copies: list[Copy] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"reason": self.reason, "files": [
            {"id": c.file_id, "path": os.fsdecode(c.path), "similarity": round(c.similarity, 4),
             "note": c.note} for c in self.copies]}


def exact_groups(catalog) -> list[DuplicateGroup]:
    """Groups of files with the same content hash, largest first."""
    by_hash: dict[str, list] = {}
    for rec in catalog.iter_files():
        if rec.content_hash and rec.status != "error":
            by_hash.setdefault(rec.content_hash, []).append(rec)
    groups = [DuplicateGroup("same content", [Copy(r.id, r.path) for r in sorted(rs, key=_rank)])
              for rs in by_hash.values() if len(rs) > 1]
    return sorted(groups, key=lambda g: (-len(g.copies), os.fsdecode(g.copies[0].path)))


def _rank(rec) -> tuple:
    """Which copy leads a group: the fullest version (rate, length, lossless), then the shortest path."""
    lossless = (rec.format or "").lower() in ("wav", "wave", "flac", "aif", "aiff", "w64", "rf64")
    return (-(rec.sample_rate or 0), -(rec.duration or 0.0), not lossless, len(os.fsdecode(rec.path)),
            os.fsdecode(rec.path))


def near_groups(catalog, cache_dir: Path | None = None, cancel: CancelToken | None = None,
                threshold: float = NEAR_THRESHOLD) -> Job[list[DuplicateGroup]]:
    """Exact groups plus the same sounds in other files (every file of a group is listed; an exact
    copy of a near-duplicate joins its group). Yields Progress while fingerprinting."""
    cancel = cancel or CancelToken()
    records = [r for r in catalog.iter_files() if r.status == "ok"]
    by_hash: dict[str, list] = {}
    for r in records:
        by_hash.setdefault(r.content_hash or f"id:{r.id}", []).append(r)
    leads = [min(rs, key=_rank) for rs in by_hash.values()]
    prints: dict[int, Fingerprint] = {}
    for n, rec in enumerate(leads):
        cancel.check()
        fp = _cached_fingerprint(rec, cache_dir)
        if fp is not None:
            prints[rec.id] = fp
        if n % 20 == 0 or n == len(leads) - 1:
            yield Progress("duplicates", n + 1, len(leads), rec.path.name)
    ids = [r.id for r in leads if r.id in prints]
    parent = {i: i for i in ids}
    sims: dict[tuple[int, int], float] = {}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, s in _matching_pairs(ids, prints, threshold, cancel):
        sims[(a, b)] = sims[(b, a)] = s
        parent[find(a)] = find(b)
    clusters: dict[int, list[int]] = {}
    for i in ids:
        clusters.setdefault(find(i), []).append(i)
    lead_of = {r.id: r for r in leads}
    groups = []
    for members in clusters.values():
        recs = [rec for i in members for rec in by_hash[lead_of[i].content_hash or f"id:{i}"]]
        if len(recs) < 2:
            continue
        recs.sort(key=_rank)
        first = recs[0]
        reason = "same content" if len(members) == 1 else "same sound"
        copies = []
        for rec in recs:
            same_bytes = rec.content_hash == first.content_hash
            pair = (_lead(rec, by_hash), _lead(first, by_hash))
            s = 1.0 if same_bytes else sims.get(pair) or similarity(prints[pair[0]], prints[pair[1]])[0]
            note = "" if rec is first else ("identical copy" if same_bytes else
                                            _difference(first, rec, prints, by_hash))
            copies.append(Copy(rec.id, rec.path, float(s), note))
        groups.append(DuplicateGroup(reason, copies))
    return sorted(groups, key=lambda g: (g.reason != "same sound", -len(g.copies),
                                         os.fsdecode(g.copies[0].path)))


def _lead(rec, by_hash) -> int:
    return min(by_hash[rec.content_hash or f"id:{rec.id}"], key=_rank).id


def _matching_pairs(ids: list[int], prints: dict[int, Fingerprint], threshold: float,
                    cancel: CancelToken) -> Iterable[tuple[int, int, float]]:
    if len(ids) < 2:
        return
    profiles = np.stack([prints[i].profile for i in ids])
    for start in range(0, len(ids), 512):
        cancel.check()
        block = profiles[start:start + 512] @ profiles.T
        for r, c in zip(*np.nonzero(block >= PROFILE_MIN)):
            a, b = start + int(r), int(c)
            if b <= a:
                continue
            s, _offset = similarity(prints[ids[a]], prints[ids[b]])
            if s >= threshold:
                yield ids[a], ids[b], s


def _difference(first, rec, prints, by_hash) -> str:
    """How ``rec`` differs from the group's first file, in a sound designer's words."""
    notes = []
    fmt_a = (first.format or first.path.suffix[1:]).lower()
    fmt_b = (rec.format or rec.path.suffix[1:]).lower()
    if fmt_a != fmt_b or (first.subtype or "") != (rec.subtype or ""):
        notes.append(f"re-encoded ({rec.path.suffix.lstrip('.').lower() or fmt_b})")
    if first.sample_rate and rec.sample_rate and first.sample_rate != rec.sample_rate:
        notes.append(f"resampled ({rec.sample_rate} Hz)")
    if first.duration and rec.duration and abs(first.duration - rec.duration) > 0.05:
        notes.append(f"trimmed ({rec.duration - first.duration:+.2f} s)")
    a, b = prints.get(_lead(first, by_hash)), prints.get(_lead(rec, by_hash))
    if a is not None and b is not None and abs(b.level - a.level) >= 1.0:
        notes.append(f"gain {b.level - a.level:+.1f} dB")
    return ", ".join(notes) or "same sound"


def _cached_fingerprint(rec, cache_dir: Path | None) -> Fingerprint | None:
    """The fingerprint of ``rec`` from the cache (by content hash), else decoded now; None when the
    file cannot be decoded (it is left out of near-duplicate groups, and said in the log)."""
    path = Path(cache_dir) / f"{rec.content_hash}.npz" if cache_dir and rec.content_hash else None
    if path is not None and path.exists():
        try:
            with np.load(path) as z:
                return Fingerprint(z["bands"].astype(np.float32), float(z["level"]))
        except (OSError, ValueError, KeyError) as exc:
            log.debug("fingerprint cache %s unreadable: %s", path, exc)
    try:
        fp = fingerprint_file(rec.path)
    except Exception as exc:  # an undecodable or vanished file: skip it, go on with the rest
        log.warning("cannot fingerprint %s: %s", rec.path, exc)
        return None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, bands=fp.bands.astype(np.float16), level=np.float32(fp.level))
            os.replace(tmp, path)  # a cache: atomic so a crash never leaves half a file
        except OSError as exc:
            log.debug("cannot cache fingerprint %s: %s", path, exc)
    return fp

"""Tag writing over real files: how many are written or refused (and why), the time per file, and a
check that no original changed unless its write verified.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_tag_write.py FOLDER [--limit 300] [--seed 0]

Copies up to ``--limit`` sound files found under FOLDER (never written there) into a temp folder,
writes a full set of fields into each with :func:`soundsearch.library.tagging.safe_write`, and
prints per-format counts, the refusal reasons, and the median and 95th-percentile write time. A
failed write whose original is no longer byte-identical, or a leftover temp file, is an error
(exit status 1).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from soundsearch.library.tagging import WRITABLE, TagWriteError, safe_write  # noqa: E402

FIELDS = {"description": "benchmark: a long description of the sound, with ünïcödé, take 3",
          "keywords": "bench, test, tag", "catid": "DOORWood", "category": "DOORS", "subcategory": "WOOD",
          "fxname": "Bench Door", "designer": "Bench", "library": "Bench Lib"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    found = sorted(p for p in args.folder.rglob("*") if p.is_file() and p.suffix.lower() in WRITABLE)
    random.Random(args.seed).shuffle(found)
    picked = found[:args.limit]
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    reasons: collections.Counter = collections.Counter()
    times: list[float] = []
    bad = 0
    with tempfile.TemporaryDirectory(prefix="bench-tag-") as tmp:
        for n, src in enumerate(picked):
            path = Path(tmp) / f"{n:04d}{src.suffix.lower()}"
            shutil.copyfile(src, path)
            before = digest(path)
            t0 = time.perf_counter()
            try:
                outcome = safe_write(path, FIELDS)
                times.append(time.perf_counter() - t0)
                counts[src.suffix.lower()][f"written ({outcome.verified})"] += 1
            except TagWriteError as exc:
                counts[src.suffix.lower()]["refused"] += 1
                reasons[str(exc)[:90]] += 1
                if digest(path) != before:
                    print(f"ERROR: {src} changed by a failed write", file=sys.stderr)
                    bad += 1
        leftovers = [p.name for p in Path(tmp).iterdir() if "soundsearch-tmp" in p.name]
    if leftovers:
        print(f"ERROR: temp files left: {leftovers[:5]}", file=sys.stderr)
        bad += 1
    print(f"{len(picked)} files from {args.folder} ({len(found)} writable found)")
    for ext, c in sorted(counts.items()):
        print(f"  {ext:6s} " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
    for reason, k in reasons.most_common(10):
        print(f"  refused {k}×: {reason}")
    if times:
        q = statistics.quantiles(times, n=20) if len(times) > 1 else [times[0]] * 19
        print(f"write time per file: median {statistics.median(times) * 1000:.1f} ms, "
              f"p95 {q[18] * 1000:.1f} ms")
    print("originals of refused writes unchanged, no temp files left" if not bad else f"{bad} ERRORS")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

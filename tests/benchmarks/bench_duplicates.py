"""Duplicate detection: precision and recall on planted copies, and what it finds in a real library.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_duplicates.py [--library DIR] [--copies N]

(a) The planted library of tests/duplicate_fixtures.py (exact copies; the same recordings
re-encoded to Ogg/FLAC, resampled, trimmed, gain-changed; look-alike takes that are not copies),
plus N more planted near copies of the dev library's sounds when --library is given (each a random
sound re-encoded to Ogg, resampled to 22.05 kHz, trimmed by 10% at the head, or 6 dB quieter).
Prints pair-level precision/recall of near and exact groups, the similarity of the weakest true
pair and of the strongest false pair, and the time. Asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from duplicate_fixtures import plant  # noqa: E402

SOURCES: dict[str, Path] = {}  # planted original's name → the library file it was copied from


def pairs(groups) -> set[frozenset]:
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(g), 2)}


def plant_real(library: Path, out: Path, copies: int, seed: int = 0) -> list[set[str]]:
    """Copy ``copies`` random short sounds of ``library`` into ``out`` with one alteration each."""
    import soxr

    rng = random.Random(seed)
    files = sorted(p for p in library.rglob("*") if p.suffix.lower() in (".wav", ".ogg", ".flac"))
    rng.shuffle(files)
    groups, made, seen = [], 0, set()
    for src in files:
        if made >= copies:
            break
        data = src.read_bytes()
        digest = hashlib.sha1(data).digest()
        if digest in seen:  # the dev library holds byte-identical files: plant from distinct ones
            continue
        seen.add(digest)
        try:
            x, sr = sf.read(str(src), dtype="float32", always_2d=True)
        except Exception:
            continue
        if not 0.5 <= len(x) / sr <= 20:
            continue
        kind = ("ogg", "resample", "trim", "gain")[made % 4]
        original = out / "orig" / f"{made:04d}{src.suffix.lower()}"
        original.parent.mkdir(parents=True, exist_ok=True)
        original.write_bytes(data)
        copy = out / "copies" / f"{made:04d}_{kind}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        if kind == "ogg":
            copy = copy.with_suffix(".ogg")
            sf.write(str(copy), x, sr, format="OGG", subtype="VORBIS")
        elif kind == "resample":
            copy = copy.with_suffix(".wav")
            to = 22050 if sr != 22050 else 16000  # (resampling to its own rate would copy the bytes)
            sf.write(str(copy), soxr.resample(x, sr, to), to)
        elif kind == "trim":
            copy = copy.with_suffix(".wav")
            sf.write(str(copy), x[len(x) // 10:], sr)
        else:
            copy = copy.with_suffix(".wav")
            sf.write(str(copy), x * 0.5, sr)
        groups.append({str(original), str(copy)})
        SOURCES[original.name] = src
        made += 1
    return groups


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", type=Path, help="also plant copies of this library's sounds")
    ap.add_argument("--copies", type=int, default=200)
    ap.add_argument("--threshold", type=float, default=None, help="near-duplicate threshold to try")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SOUNDSEARCH_HOME"] = str(Path(tmp) / "home")
        from soundsearch import paths
        from soundsearch.jobs import run
        from soundsearch.library.catalog import Catalog
        from soundsearch.library.duplicates import NEAR_THRESHOLD, near_groups
        from soundsearch.library.scanner import scan

        root = Path(tmp) / "planted"
        expected = plant(root)
        want_near = [{str(root / p) for p in g} for g in expected["near"]]
        want_exact = [{str(root / p) for p in g} for g in expected["exact"]]
        roots = [root]
        if args.library:
            real = Path(tmp) / "real"
            want_near += plant_real(args.library, real, args.copies)
            roots.append(real)
        with Catalog(paths.catalog_path()) as catalog:
            run(scan(catalog, roots))
            files = catalog.count()
            started = time.perf_counter()
            threshold = args.threshold or NEAR_THRESHOLD
            groups = run(near_groups(catalog, paths.cache_dir() / "fingerprints", threshold=threshold))
            seconds = time.perf_counter() - started
        found = {r: [{os.fsdecode(c.path) for c in g.copies} for g in groups if g.reason == r]
                 for r in ("same sound", "same content")}
        print(f"threshold {threshold}: {files} files, {len(want_near)} planted near groups, "
              f"{len(want_exact)} exact groups (near pairs below count both); "
              f"near_groups took {seconds:.2f} s ({files / max(seconds, 1e-9):.0f} files/s, first run)")
        # A planted near copy can come out byte-identical (an Ogg file trimmed by nothing …): it is
        # then found as "same content", rightly; near recall counts groups of either reason.
        anything = found["same sound"] + found["same content"]
        for name, want, got in (("near", want_near + want_exact, anything),
                                ("exact", want_exact, found["same content"])):
            w, g = pairs(want), pairs(got)
            tp = len(w & g)
            precision = tp / len(g) if g else 1.0
            recall = tp / len(w) if w else 1.0
            print(f"  {name:5s} pairs: precision {precision:.3f}  recall {recall:.3f}  "
                  f"({tp} of {len(w)} planted found, {len(g) - tp} false)")
            missed = [sorted(p) for p in w - g][:5]
            if missed:
                print(f"        missed e.g. {[[Path(x).name for x in p] for p in missed]}")
            false = [sorted(p) for p in g - w][:5]
            for p in false:
                print("        false:", ", ".join(str(SOURCES.get(Path(x).name, Path(x).name)) for x in p))
        sims = [c.similarity for g in groups if g.reason == "same sound" for c in g.copies[1:]]
        if sims:
            print(f"  weakest similarity inside a found near group: {min(sims):.3f} "
                  f"(median {float(np.median(sims)):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

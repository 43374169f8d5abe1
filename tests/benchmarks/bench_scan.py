"""Scan speed: first-scan files/s and the time of an unchanged rescan.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_scan.py [--files 100000] [--skip-dev]

(a) the dev library (/root/dev-library, tests/benchmarks/fetch_dev_library.sh) and (b) a generated
tree of small WAV files (0.05 s each, written once into --tree and reused). Each run uses a fresh
catalog in a temporary SOUNDSEARCH_HOME. Targets on the 2-core dev machine: first scan
≥ 1,000 files/s, unchanged rescan of 100,000 files < 5 s. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from soundsearch.jobs import run
from soundsearch.library.catalog import Catalog
from soundsearch.library.scanner import scan

CATEGORIES = ["doors", "impacts", "footsteps", "ambience", "weather", "vehicles", "weapons", "ui", "water",
              "fire", "animals", "foley", "glass", "metal", "wood", "voices", "machines", "magic", "sci-fi",
              "crowds"]
WORDS = ["slam", "creak", "hit", "knock", "rattle", "swoosh", "thud", "scrape", "click", "rumble"]


def wav_header(frames: int, sr: int = 8000) -> bytes:
    data = frames * 2
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr,
            sr * 2, 2, 16) + b"data" + struct.pack("<I", data))


def generate_tree(top: Path, n: int) -> Path:
    """n tiny WAVs, 100 per folder, two folder levels, UCS-like names; reused when already there."""
    marker = top / f".complete-{n}"
    if marker.exists():
        return top
    frames = 400  # 0.05 s at 8 kHz
    header = wav_header(frames)
    rng = np.random.default_rng(0)
    started = time.monotonic()
    for i in range(n):
        cat = CATEGORIES[i // 100 % len(CATEGORIES)]
        folder = top / cat / f"{cat}_set_{i // 100:04d}"
        if i % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        name = f"{cat.upper()}_{WORDS[i % len(WORDS)]}_{i:06d}.wav"
        (folder / name).write_bytes(header + rng.integers(-3000, 3000, frames, dtype=np.int16).tobytes())
    marker.touch()
    print(f"  generated {n:,} files in {time.monotonic() - started:.1f} s", flush=True)
    return top


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def measure(label: str, folder: Path, processes: int | None) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as home:
        os.environ["SOUNDSEARCH_HOME"] = home
        with Catalog(Path(home) / "catalog.sqlite3") as catalog:
            c0, t0 = cpu(), time.monotonic()
            first = run(scan(catalog, [folder], processes=processes))
            c1, t1 = cpu(), time.monotonic()
            again = run(scan(catalog, processes=processes))
            c2, t2 = cpu(), time.monotonic()
        print(f"{label}: {first.seen:,} files, {len(first.added):,} added, {first.errors} errors")
        print(f"  first scan:       {t1 - t0:7.2f} s  {first.seen / (t1 - t0):8,.0f} files/s"
              f"  (cpu {c1 - c0:.2f} s: {first.seen / max(c1 - c0, 1e-9):,.0f} files per cpu-second)")
        print(f"  unchanged rescan: {t2 - t1:7.2f} s  {again.unchanged:,} unchanged  (cpu {c2 - c1:.2f} s)",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", type=Path, default=Path("/root/dev-library"))
    ap.add_argument("--skip-dev", action="store_true")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--tree", type=Path, default=Path(tempfile.gettempdir()) / "soundsearch-bench-tree")
    ap.add_argument("--processes", type=int, default=None, help="scan worker processes (default: automatic)")
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    if not args.skip_dev:
        if args.dev.is_dir():
            measure(f"dev library {args.dev}", args.dev, args.processes)
        else:
            print(f"dev library {args.dev} not found: skipped")
    if args.files:
        tree = generate_tree(args.tree / str(args.files), args.files)
        measure(f"generated tree {tree}", tree, args.processes)
    print(f"load afterwards {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

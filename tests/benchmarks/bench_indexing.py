"""Indexing throughput on a real library: files/s, audio-seconds/s, real-time factor, CPU use.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_indexing.py [--library /root/dev-library]
        [--limit 600] [--model default|FOLDER|encoders] [--yamnet] [--home /tmp/ss-bench-indexing]

Runs the product path: ``scan`` into a fresh catalog under --home, then ``index_job`` (decode on
a worker thread while the model embeds). "--model encoders" measures the default encoders (aisfx +
MiniLM) with an untrained head, for when the shipped head is not there yet; the head's cost is
negligible beside the encoders'. CPU use is read from /proc: this process's user+system time
(all its threads) over wall time, and the machine's busy share (other processes included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path


def proc_cpu_seconds() -> float:
    """User + system CPU seconds of this process, all threads (/proc/self/stat fields 14, 15)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def load(spec: str, yamnet: bool = False):
    from soundsearch.model import load_model

    if spec != "encoders":
        return load_model(spec, yamnet=yamnet)
    from soundsearch.model.api import new_model
    from soundsearch.model.checkpoint import EncoderSpec

    return new_model(EncoderSpec("aisfx"), EncoderSpec("minilm"), device="cpu", dim=256)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--library", type=Path, default=Path("/root/dev-library"))
    p.add_argument("--home", type=Path, default=Path("/tmp/ss-bench-indexing"))
    p.add_argument("--model", default="default")
    p.add_argument("--yamnet", action="store_true", help="also tag with the optional YAMNet tagger")
    p.add_argument("--limit", type=int, default=None, help="embed at most this many files")
    p.add_argument("--long-file-seconds", type=float, default=None)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=None, help="encoder threads (default: one per core)")
    p.add_argument("--keep", action="store_true", help="keep the catalog and index of an earlier run")
    args = p.parse_args(argv)

    if not args.keep and args.home.exists():
        shutil.rmtree(args.home)
    os.environ["SOUNDSEARCH_HOME"] = str(args.home)
    import torch  # noqa: F401  (a benchmark may report the thread count the model runs with)

    from soundsearch import paths
    from soundsearch.indexer import index_job
    from soundsearch.jobs import run
    from soundsearch.library.catalog import Catalog
    from soundsearch.library.scanner import scan
    from soundsearch.settings import Settings

    settings = Settings()
    if args.long_file_seconds is not None:
        settings.long_file_seconds = args.long_file_seconds
    t = time.perf_counter()
    model = load(args.model, args.yamnet)
    print(f"model: {model!r} loaded in {time.perf_counter() - t:.1f} s; torch threads "
          f"{torch.get_num_threads()}; {os.cpu_count()} CPUs")

    catalog = Catalog(paths.catalog_path())
    t = time.perf_counter()
    scanned = run(scan(catalog, [args.library]))
    print(f"scan: {scanned.seen} files in {time.perf_counter() - t:.1f} s "
          f"({scanned.files_per_second:.0f} files/s)")

    last = [0.0]

    def show(pr) -> None:
        if time.monotonic() - last[0] > 30 and pr.total:
            last[0] = time.monotonic()
            rate = pr.audio_seconds / max(1e-9, time.monotonic() - pr.started)
            print(f"  {pr.done}/{pr.total} files, {pr.audio_seconds:.0f} s audio, {rate:.1f} audio-s/s",
                  flush=True)

    cpu0, busy0 = proc_cpu_seconds(), machine_busy()
    result = run(index_job(catalog, model, settings, batch_size=args.batch, limit=args.limit,
                           workers=args.workers), show)
    cpu = proc_cpu_seconds() - cpu0
    busy1 = machine_busy()
    machine = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    embedded_ids = set(catalog.load_embeddings(model.model_id)[0].tolist())
    library_seconds = sum(r.duration or 0 for r in catalog.iter_files() if r.id in embedded_ids)
    s = result.seconds
    print(f"\nindexed {result.files} files ({result.embedded} audio, {result.metadata_only} metadata-only, "
          f"{result.errors} unusable) in {s:.1f} s, long files capped at {settings.long_file_seconds:g} s")
    print(f"  files/s            {result.files / s:8.1f}")
    print(f"  audio-s/s embedded {result.audio_seconds / s:8.1f}  ({result.audio_seconds / 3600:.2f} h "
          f"embedded; {result.realtime_factor:.1f}x real time)")
    print(f"  library-s/s        {library_seconds / s:8.1f}  ({library_seconds / 3600:.2f} h of audio in "
          f"the indexed files; {library_seconds / s:.1f}x real time)")
    ncpu = os.cpu_count() or 1
    print(f"  CPU: this process {cpu / s:.2f} cores busy of {ncpu} ({100 * cpu / s / ncpu:.0f}%); "
          f"machine {100 * machine:.0f}% busy (other processes included); load average "
          f"{Path('/proc/loadavg').read_text().split()[0]}")
    # On a shared machine the wall-clock rate says more about the neighbours than about us; the
    # work per CPU-second does not, and times the cores gives the rate on an otherwise idle machine.
    per_cpu = result.audio_seconds / max(cpu, 1e-9)
    print(f"  efficiency         {per_cpu:8.1f} audio-s per CPU-second -> {per_cpu * ncpu:.1f}x real time "
          f"with all {ncpu} cores free")
    print(f"  index holds {result.items} items")
    return 0


if __name__ == "__main__":
    sys.exit(main())

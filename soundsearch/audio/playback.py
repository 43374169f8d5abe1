"""Audition: play a file (or a region of it) through the chosen output device.

One PortAudio output stream stays open with a callback; ``play`` only swaps the buffer the callback
reads under a lock, so a keypress is heard within one audio block (a few ms) plus the device
latency on a warm cache, instead of the 20–100 ms it costs to open a stream per sound. Files are
decoded once to the stream's rate and channel count and kept in an LRU cache of decoded audio.

No Qt here: the GUI polls :attr:`Player.position` for its playhead. When no audio device can be
opened (a headless CI box, a missing PortAudio) the player falls back to a silent stream driven by a
thread, so the same code paths, positions and loops still run.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from soundsearch.audio.audiocache import AudioCache, to_channels
from soundsearch.audio.nullstream import NullStream

log = logging.getLogger(__name__)

BLOCKSIZE = 256  # frames per callback: ~6 ms at 44.1 kHz keeps the start latency low


def _sounddevice():
    """Import sounddevice lazily: it loads the system PortAudio, which may be missing."""
    try:
        import sounddevice
    except (OSError, ImportError) as exc:  # PortAudio not installed
        log.warning("audio output unavailable (%s); playing silently", exc)
        return None
    return sounddevice


def output_devices() -> list[str]:
    """Names of the output devices the system offers (for the preferences dialog)."""
    sd = _sounddevice()
    if sd is None:
        return []
    try:
        return [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
    except Exception as exc:  # PortAudio errors are plain Exceptions
        log.warning("cannot list audio devices: %s", exc)
        return []


class Player:
    """Plays decoded audio through one long-lived output stream.

    ``backend`` is "sounddevice" (falls back to "null" when no device opens) or "null".
    """

    def __init__(self, device: str | None = None, backend: str = "sounddevice",
                 cache_bytes: int = 512 * 1024 * 1024, volume: float = 0.8) -> None:
        self._device = device
        self._backend = backend
        self.cache = AudioCache(max_bytes=cache_bytes)
        self._lock = threading.Lock()  # between play/stop and the audio callback
        self._open_lock = threading.Lock()  # opening the stream (the GUI warms it from a worker)
        self._stream = None
        self._buf: np.ndarray | None = None  # frames × channels at the stream rate
        self._pos = 0
        self._start = 0
        self._end = 0
        self._loop = False
        self._playing = False
        self._volume = float(volume)
        self._source: Path | None = None
        self.started_at: float | None = None  # monotonic time of play()
        self.first_audio_at: float | None = None  # when the callback first delivered this sound

    # -- stream ----------------------------------------------------------------------------------
    @property
    def samplerate(self) -> int:
        return int(self._ensure_stream().samplerate)

    @property
    def channels(self) -> int:
        return int(self._ensure_stream().channels)

    @property
    def is_null(self) -> bool:
        return isinstance(self._ensure_stream(), NullStream)

    def _ensure_stream(self):
        if self._stream is not None:
            return self._stream
        with self._open_lock:
            if self._stream is None:
                self._stream = self._open_stream()
        return self._stream

    def warm(self) -> None:
        """Open the output stream now (PortAudio over PulseAudio can take half a second to deliver
        its first callback), so the first audition starts as fast as the others."""
        self._ensure_stream()

    def is_cached(self, path: str | Path) -> bool:
        """Whether ``path`` would start at once (decoded, stream open); never blocks."""
        stream = self._stream
        if stream is None:
            return False
        return self.cache.has(Path(path), int(stream.samplerate), int(stream.channels))

    def _open_stream(self):
        sd = _sounddevice() if self._backend == "sounddevice" else None
        if sd is not None:
            try:
                index = find_device(sd, self._device)
                info = sd.query_devices(index, "output")
                channels = max(1, min(2, int(info["max_output_channels"])))
                stream = sd.OutputStream(
                    samplerate=float(info["default_samplerate"]), blocksize=BLOCKSIZE, device=index,
                    channels=channels, dtype="float32", latency="low", callback=self._callback)
                stream.start()
                log.info("audio output: %s, %d Hz, %d ch", info["name"], stream.samplerate, channels)
                return stream
            except Exception as exc:  # no device, busy device, PortAudio error
                log.warning("cannot open audio output %r (%s); playing silently", self._device, exc)
        stream = NullStream(44100, 2, 1024, self._callback)  # coarse blocks: nobody hears it
        stream.start()
        return stream

    def set_device(self, device: str | None) -> None:
        """Switch the output device (by name, None = system default); playback stops."""
        self.stop()
        self.close()
        self._device = device
        self.cache.clear()  # decoded audio is at the old stream's rate

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception as exc:
                log.debug("closing audio stream: %s", exc)

    # -- transport -------------------------------------------------------------------------------
    def load(self, path: str | Path) -> np.ndarray:
        """Decode ``path`` into the cache (also used to warm it before the user presses play)."""
        stream = self._ensure_stream()
        return self.cache.get(Path(path), int(stream.samplerate), int(stream.channels))

    def play(self, source: str | Path | np.ndarray, start: float = 0.0, end: float | None = None,
             loop: bool | None = None, volume: float | None = None, sample_rate: int | None = None) -> None:
        """Play ``source`` (a path, or an array with ``sample_rate``) from ``start`` to ``end`` seconds.

        With ``loop`` the region [start, end) repeats until :meth:`stop`.
        """
        self.started_at = time.monotonic()
        stream = self._ensure_stream()
        sr, ch = int(stream.samplerate), int(stream.channels)
        if isinstance(source, np.ndarray):
            if sample_rate is None:
                raise ValueError("sample_rate is required when playing an array")
            buf = to_channels(source, sample_rate, sr, ch)
            path = None
        else:
            path = Path(source)
            buf = self.cache.get(path, sr, ch)
        n = len(buf)
        a = min(max(0, int(round(start * sr))), n)
        b = n if end is None else min(max(a, int(round(end * sr))), n)
        with self._lock:
            self._buf, self._source = buf, path
            self._start, self._end, self._pos = a, b, a
            if loop is not None:
                self._loop = bool(loop)
            if volume is not None:
                self._volume = float(volume)
            self.first_audio_at = None
            self._playing = b > a

    def stop(self) -> None:
        with self._lock:
            self._playing = False

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def position(self) -> float:
        """Seconds into the current sound of what is being heard now (for the playhead)."""
        stream = self._stream
        if stream is None or self._buf is None:
            return 0.0
        sr = float(stream.samplerate)
        seconds = self._pos / sr
        if self._playing:  # the device plays what we wrote one latency ago
            seconds = max(self._start / sr, seconds - float(getattr(stream, "latency", 0.0) or 0.0))
        return seconds

    @property
    def duration(self) -> float:
        buf, stream = self._buf, self._stream
        return 0.0 if buf is None or stream is None else len(buf) / float(stream.samplerate)

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = float(min(max(value, 0.0), 1.0))

    @property
    def loop(self) -> bool:
        return self._loop

    @loop.setter
    def loop(self, value: bool) -> None:
        self._loop = bool(value)

    # -- audio thread ----------------------------------------------------------------------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        # Runs on the audio thread: no allocation-heavy work, no logging, hold the lock briefly.
        with self._lock:
            buf = self._buf
            if not self._playing or buf is None:
                outdata.fill(0)
                return
            written = 0
            while written < frames:
                take = min(frames - written, self._end - self._pos)
                if take <= 0:
                    if self._loop and self._end > self._start:
                        self._pos = self._start
                        continue
                    self._playing = False
                    break
                outdata[written:written + take] = buf[self._pos:self._pos + take]
                self._pos += take
                written += take
            if written < frames:
                outdata[written:].fill(0)
            if self._volume != 1.0:
                outdata *= self._volume
            if self.first_audio_at is None and written:
                self.first_audio_at = time.monotonic()


def find_device(sd, name: str | None):
    """The PortAudio index of the output device called ``name`` (exact, then substring), or None."""
    if not name:
        return None
    devices = [(i, d) for i, d in enumerate(sd.query_devices()) if d["max_output_channels"] > 0]
    for i, d in devices:
        if d["name"] == name:
            return i
    for i, d in devices:
        if name.lower() in d["name"].lower():
            return i
    raise ValueError(f"no audio output device called {name!r}")

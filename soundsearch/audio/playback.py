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
from soundsearch.audio.varispeed import clamp, speed_ratio, transform

log = logging.getLogger(__name__)

QUICK_SECONDS = 4.0  # varispeed: resampled before the first sample is heard; the rest follows
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
        self._paused = False
        self._semitones = 0.0  # tape-style varispeed: pitch and speed together
        self._reverse = False
        self._ratio = 1.0  # speed of the buffer being played (its frames are original / ratio)
        self._reversed_buf = False
        self._varied: dict[tuple, np.ndarray] = {}  # (source, length, rate, semitones, reverse) → buffer
        self._base = 0  # oriented source frame at frame 0 of the buffer (a head of a long sound)
        self._sound_frames = 0  # the sound's own length at the stream rate
        self._to_the_end = True  # playing to the sound's end (not a region's)
        self._src_bounds: tuple[float, float] = (0.0, 0.0)  # what plays, in oriented source frames
        self._resampling: set = set()  # keys whose whole buffer a thread is making
        self._generation = 0  # counts play() calls: a late whole buffer only replaces its own head
        self.level = 0.0  # peak of the last block sent to the device (0..1), for a level meter
        self.frames_played = 0  # frames of sound (not silence) sent since the last play()
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

        With ``loop`` the region [start, end) repeats until :meth:`stop`. In reverse (see
        :meth:`set_varispeed`) the region plays from its end back to its start.
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
        sound_frames = len(buf)
        original = sound_frames / sr
        semitones, reverse = self._semitones, self._reverse
        ratio = speed_ratio(semitones)
        # start/end are in the sound's own time; the buffer may be reversed and sped up or down
        lo, hi = (original - end if end is not None else 0.0, original - start) if reverse else (start, end)
        src_a = min(max(0, int(round(lo * sr))), sound_frames)
        varied, base, whole = self._varied_buffer(buf, sr, semitones, reverse, path, src_a)
        n = len(varied)
        a = min(max(0, int(round((src_a - base) / ratio))), n)
        b = n if hi is None else min(max(a, int(round((hi * sr - base) / ratio))), n)
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._buf, self._source = varied, path
            self._start, self._end, self._pos = a, b, a
            self._ratio, self._reversed_buf = ratio, reverse
            self._base, self._sound_frames = base, sound_frames
            self._to_the_end = hi is None or hi * sr >= sound_frames
            self._src_bounds = (src_a, sound_frames if hi is None else min(hi * sr, sound_frames))
            if loop is not None:
                self._loop = bool(loop)
            if volume is not None:
                self._volume = float(volume)
            self.first_audio_at = None
            self.frames_played = 0
            self._paused = False
            self._playing = b > a
        if whole is not None and whole[0] not in self._resampling:
            # the head plays now; the whole sound is resampled behind it (once per sound and speed)
            self._resampling.add(whole[0])
            threading.Thread(target=self._finish_varied, args=(whole, generation), daemon=True,
                             name="varispeed").start()

    def _varied_buffer(self, buf: np.ndarray, sr: int, semitones: float, reverse: bool,
                       path: Path | None, src_start: int) -> tuple[np.ndarray, int, tuple | None]:
        """(buffer to play, the oriented source frame at its frame 0, work left or None).

        A long sound is not resampled whole before it is heard: the QUICK_SECONDS from the start
        point are (a few ms), and :meth:`_finish_varied` swaps the whole in when it is ready."""
        if semitones == 0.0 and not reverse:
            return buf, 0, None
        # an array played directly is not cached: its id could be another array's later
        key = (str(path), len(buf), sr, semitones, reverse) if path is not None else None
        found = self._varied.get(key) if key is not None else None
        if found is not None:
            return found, 0, None
        if len(buf) <= QUICK_SECONDS * sr:
            return self._remember(key, transform(buf, sr, semitones, reverse)), 0, None
        oriented = buf[::-1] if reverse else buf
        head = transform(oriented[src_start:src_start + int(QUICK_SECONDS * sr)], sr, semitones)
        return head, src_start, (key, buf, sr, semitones, reverse)

    def _remember(self, key: tuple | None, varied: np.ndarray) -> np.ndarray:
        if key is None:
            return varied
        self._varied[key] = varied
        # a few: the sound being varied and its neighbours, and not more than the audio cache's quarter
        while len(self._varied) > 1 and (len(self._varied) > 4 or sum(
                v.nbytes for v in self._varied.values()) > self.cache.max_bytes // 4):
            self._varied.pop(next(iter(self._varied)))
        return varied

    def _finish_varied(self, work: tuple, generation: int) -> None:
        key, buf, sr, semitones, reverse = work
        try:
            whole = transform(buf, sr, semitones, reverse)
        except Exception as exc:  # the head keeps playing; log, do not raise on a thread
            log.warning("varispeed: %s", exc)
            return
        finally:
            self._resampling.discard(key)
        self._remember(key, whole)
        with self._lock:
            if self._generation != generation:
                return  # another sound (or speed) since: the cache keeps it for next time
            shift, ratio, n = self._base, self._ratio, len(whole)

            def moved(frame: int) -> int:  # same point of the sound in the whole buffer
                return min(max(0, int(round((shift + frame * ratio) / ratio))), n)

            src_start, src_end = self._src_bounds
            self._pos = moved(self._pos)
            self._start = min(max(0, int(round(src_start / ratio))), n)
            self._end = n if self._to_the_end else min(max(self._start, int(round(src_end / ratio))), n)
            self._buf, self._base = whole, 0

    # -- varispeed and reverse -------------------------------------------------------------------
    @property
    def semitones(self) -> float:
        return self._semitones

    @property
    def reverse(self) -> bool:
        return self._reverse

    def set_varispeed(self, semitones: float | None = None, reverse: bool | None = None) -> None:
        """Change speed/pitch (± 12 semitones) and direction; what plays now goes on from the same
        point of the sound."""
        new_st = self._semitones if semitones is None else clamp(semitones)
        new_rev = self._reverse if reverse is None else bool(reverse)
        if (new_st, new_rev) == (self._semitones, self._reverse):
            return
        playing, source, buf = self._playing, self._source, self._buf
        where, (lo, hi) = self.position, self.bounds
        self._semitones, self._reverse = new_st, new_rev
        if playing and source is not None and buf is not None:
            full = self.duration
            if new_rev:  # backwards from here: the part [lo, where] played from its end
                at_end = where <= lo + 1e-3
                self.play(source, start=lo, end=hi if at_end else where)
            else:
                start = lo if where >= hi - 1e-3 else where
                self.play(source, start=start, end=None if hi >= full - 1e-6 else hi)
            if (lo, hi) != (0.0, full) or new_rev:  # a looped region keeps its bounds
                self._restrict(lo, hi)

    def _restrict(self, lo: float, hi: float) -> None:
        sr, n = float(self._ensure_stream().samplerate), len(self._buf)
        a, b = (self.duration - hi, self.duration - lo) if self._reversed_buf else (lo, hi)
        with self._lock:
            self._start = min(max(0, int(round((a * sr - self._base) / self._ratio))), n)
            self._end = min(max(self._start, int(round((b * sr - self._base) / self._ratio))), n)
            self._to_the_end = False
            self._src_bounds = (a * sr, b * sr)

    @property
    def bounds(self) -> tuple[float, float]:
        """The part of the sound being played (a region, or the whole), in the sound's own seconds."""
        stream, buf = self._stream, self._buf
        if stream is None or buf is None:
            return 0.0, 0.0
        a, b = (self._to_sound(self._start), self._to_sound(self._end))
        return (min(a, b), max(a, b))

    def _to_sound(self, frame: float) -> float:
        """A buffer frame → seconds of the sound itself (undoing the speed and the reversal)."""
        seconds = (self._base + frame * self._ratio) / float(self._stream.samplerate)
        return self.duration - seconds if self._reversed_buf else seconds

    def stop(self) -> None:
        with self._lock:
            self._playing = False
            self._paused = False

    def pause(self) -> None:
        """Stop where the sound is; :meth:`resume` goes on from there."""
        with self._lock:
            if self._playing:
                self._playing, self._paused = False, True

    def resume(self) -> bool:
        """Go on after :meth:`pause`; False when there is nothing paused."""
        with self._lock:
            if not self._paused or self._buf is None or self._pos >= self._end:
                return False
            self._paused, self._playing = False, True
            self.started_at, self.first_audio_at = time.monotonic(), None
            return True

    @property
    def paused(self) -> bool:
        return self._paused

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
        frame = float(self._pos)
        if self._playing:  # the device plays what we wrote one latency ago
            frame = max(float(self._start), frame - float(getattr(stream, "latency", 0.0) or 0.0) * sr)
        return self._to_sound(frame)

    @property
    def duration(self) -> float:
        """Length of the current sound itself, in seconds (whatever the speed)."""
        buf, stream = self._buf, self._stream
        return 0.0 if buf is None or stream is None else self._sound_frames / float(stream.samplerate)

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
                self.level = 0.0
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
            self.frames_played += written
            self.level = float(np.abs(outdata[:written]).max()) if written else 0.0
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

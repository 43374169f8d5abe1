"""Audition: the current sound in the waveform view and through the player.

Decoding happens on a worker (a cache miss on a long file would freeze the window), the neighbours
of the current row are decoded ahead so ↑/↓ auditions start at once, and a 30 fps timer moves the
playhead while something plays.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from soundsearch.audio.playback import Player
from soundsearch.gui.thumbnails import PeaksStore
from soundsearch.gui.waveform import WaveformView
from soundsearch.gui.worker import JobWorker, call

log = logging.getLogger(__name__)

PLAYHEAD_MS = 33


class Audition(QObject):
    playingChanged = Signal(bool)
    failed = Signal(str)
    positionChanged = Signal(float, float, float)  # seconds into the sound, its length, output level

    def __init__(self, player: Player, waveform: WaveformView, peaks: PeaksStore, parent=None) -> None:
        super().__init__(parent)
        self.player = player
        self.waveform = waveform
        self.peaks = peaks
        self.hit: Any = None
        self.loop = player.loop
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._loads: dict[str, JobWorker] = {}
        self._want: tuple[str, float] | None = None  # what to play once its decode is done
        self._was_playing = False
        self.closed = False
        self.timer = QTimer(self)
        self.timer.setInterval(PLAYHEAD_MS)
        self.timer.timeout.connect(self._tick)
        peaks.loaded.connect(self._peaks_loaded)
        waveform.seekRequested.connect(lambda s: self.play(start=s))
        waveform.regionChanged.connect(self._region_changed)

    # -- selection -----------------------------------------------------------------------------
    def select(self, hit: Any, autoplay: bool, neighbours: list[Any] = ()) -> None:
        """Show ``hit`` in the waveform and, with ``autoplay``, play it from the start."""
        same = self.hit is not None and hit is not None and Path(self.hit.path) == Path(hit.path)
        self.hit = hit
        if hit is None:
            self.stop()
            self.waveform.set_sound(None)
            return
        if not same:
            duration = getattr(getattr(hit, "record", None), "duration", None) or 0.0
            self.waveform.set_sound(Path(hit.path), duration, self.peaks.get(hit.path))
        if autoplay:
            self.play()
        elif not same:
            self.stop()
        for other in neighbours:  # decode ahead: the next keypress is heard at once
            if other is not None:
                self._load(str(other.path))
                self.peaks.get(other.path)

    # -- transport -----------------------------------------------------------------------------
    def play(self, start: float = 0.0) -> None:
        """Play the current sound from ``start`` (seconds), or its selected region."""
        if self.hit is None:
            return
        path = str(self.hit.path)
        if self.player.is_cached(path):
            self._play_now(path, start)
        else:
            self._want = (path, start)
            self._load(path)

    def toggle(self) -> None:
        """Space: pause where it is, or go on from there (from the start once it has ended)."""
        if self.player.playing and self._hears_current():
            self.player.pause()
            self._tick()
        elif self.player.paused and self._hears_current() and self.player.resume():
            self.timer.start()
            self._tick()
        else:
            self.play()

    def _hears_current(self) -> bool:
        return self.hit is not None and self.player.source is not None \
            and Path(self.player.source) == Path(self.hit.path)

    def set_varispeed(self, semitones: float | None = None, reverse: bool | None = None) -> None:
        """Tape-style speed/pitch and direction; a sound that plays goes on at the new speed."""
        try:
            self.player.set_varispeed(semitones, reverse)
        except Exception as exc:  # a resample that fails must not take the window down
            log.warning("varispeed: %s", exc)
            self.failed.emit(f"Cannot change the speed: {exc}")
        self._tick()

    def stop(self) -> None:
        self._want = None
        self.player.stop()
        self._tick()

    def shutdown(self) -> None:
        self.closed = True
        self.stop()
        self.timer.stop()
        self.pool.clear()
        self.pool.waitForDone(3000)

    def set_loop(self, on: bool) -> None:
        self.loop = bool(on)
        self.player.loop = self.loop

    def set_volume(self, value: float) -> None:
        self.player.volume = value

    def _play_now(self, path: str, start: float) -> None:
        self._want = None
        region = self.waveform.region if self.waveform.path == Path(path) else None
        end = None
        if region is not None:
            a, b = region
            if self.player.reverse:  # backwards: from the clicked point (or the region's end) down to a
                start, end = a, (start if a < start < b else b)
            else:
                if start <= a or start >= b:
                    start = a
                end = b
        elif self.player.reverse and start > 0:  # a click at s plays [0, s] backwards from s
            start, end = 0.0, start
        try:
            self.player.play(path, start=start, end=end, loop=self.loop)
        except Exception as exc:  # an undecodable file: say so, keep going
            log.warning("cannot play %s: %s", path, exc)
            self.failed.emit(f"Cannot play {Path(path).name}: {exc}")
            return
        self.timer.start()
        self._tick()

    def _load(self, path: str) -> None:
        if path in self._loads:
            return
        worker = call(self.player.load, path, name=f"decode {Path(path).name}")
        self._loads[path] = worker
        worker.signals.finished.connect(lambda _buf, p=path: self.closed or self._loaded(p))
        worker.signals.failed.connect(lambda exc, p=path: self.closed or self._load_failed(p, exc))
        worker.start(self.pool)

    def _loaded(self, path: str) -> None:
        self._loads.pop(path, None)
        if self._want is not None and self._want[0] == path and self.hit is not None \
                and str(self.hit.path) == path:
            self._play_now(*self._want)

    def _load_failed(self, path: str, exc: Exception) -> None:
        self._loads.pop(path, None)
        if self._want is not None and self._want[0] == path:
            self._want = None
            self.failed.emit(f"Cannot play {Path(path).name}: {exc}")

    def _peaks_loaded(self, path: str) -> None:
        if self.waveform.path is not None and str(self.waveform.path) == path:
            self.waveform.set_peaks(self.peaks.get(path, request=False))

    def _region_changed(self, region) -> None:
        # a new selection while the same sound plays: hear the selection
        if region is not None and self.player.playing and self.player.source == self.waveform.path:
            self.play(start=region[0])

    def _tick(self) -> None:
        playing = self.player.playing and self.player.source is not None \
            and self.waveform.path is not None and Path(self.player.source) == self.waveform.path
        here = playing or (self.player.paused and self._hears_current())
        position = self.player.position if here else 0.0
        self.waveform.set_position(position if here else None)
        length = self.player.duration if here else float(
            getattr(getattr(self.hit, "record", None), "duration", None) or 0.0)
        self.positionChanged.emit(position, length, self.player.level if playing else 0.0)
        if playing != self._was_playing:
            self._was_playing = playing
            self.playingChanged.emit(playing)
        if not self.player.playing:
            self.timer.stop()

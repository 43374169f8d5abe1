"""Waveform thumbnails in the results table: peaks are loaded on a background pool and painted by
a delegate; rows paint a placeholder until their peaks arrive, so scrolling never waits on a decode.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QLine, QObject, QRectF, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from soundsearch.audio.peaks import Peaks, load_peaks
from soundsearch.gui.theme import wave_colour
from soundsearch.gui.worker import lower_thread_priority

log = logging.getLogger(__name__)

_FAILED = object()  # cached marker: this file cannot be decoded, don't try again


class _Load(QRunnable):
    def __init__(self, store: PeaksStore, path: str) -> None:
        super().__init__()
        self.store, self.path = store, path

    def run(self) -> None:
        lower_thread_priority()
        try:
            peaks = load_peaks(self.path)
        except Exception as exc:  # undecodable files get a flat thumbnail, the error is in the catalog
            log.debug("no peaks for %s: %s", self.path, exc)
            peaks = _FAILED
        self.store._put(self.path, peaks)


class PeaksStore(QObject):
    """Peaks by path: an LRU in memory over the on-disk cache of :mod:`soundsearch.audio.peaks`."""

    loaded = Signal(str)  # path; emitted on the UI thread (queued) when its peaks are ready

    def __init__(self, capacity: int = 500, threads: int = 1, parent=None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._items: OrderedDict[str, object] = OrderedDict()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)  # decoding competes with search and indexing for CPU

    def get(self, path: str | Path, request: bool = True) -> Peaks | None:
        """The peaks if loaded; otherwise None, and (``request``) start loading them."""
        key = str(path)
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return None if value is _FAILED else value
            if not request or key in self._pending:
                return None
            self._pending.add(key)
        self.pool.start(_Load(self, key))
        return None

    def _put(self, key: str, value: object) -> None:
        with self._lock:
            self._pending.discard(key)
            self._items[key] = value
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        self.loaded.emit(key)

    def shutdown(self) -> None:
        self.pool.clear()
        self.pool.waitForDone(3000)

    def forget_pending(self) -> None:
        """Drop queued loads (a new result list replaces the old one)."""
        self.pool.clear()
        with self._lock:
            self._pending.clear()


MAX_GAIN = 8.0  # display normalisation: quiet files are drawn larger, up to +18 dB


def paint_peaks(painter: QPainter, rect: QRectF, peaks: Peaks | None, color: QColor,
                start: float = 0.0, end: float | None = None, normalize: bool = True) -> None:
    """Draw min/max bars of ``peaks`` (the span [start, end) seconds) into ``rect``, one per pixel.

    With ``normalize`` the drawing is scaled to the file's peak (as sample browsers do), so the shape
    of a quiet sound is as readable as a loud one's."""
    mid = rect.center().y()
    half = rect.height() / 2.0
    painter.setPen(QPen(color, 1))
    if peaks is None or len(peaks) == 0:
        painter.drawLine(int(rect.left()), int(mid), int(rect.right()), int(mid))
        return
    if start > 0 or end is not None:
        n = len(peaks)
        d = peaks.duration or 1.0
        a = int(max(0.0, start) / d * n)
        b = int(min(d, end if end is not None else d) / d * n)
        peaks = Peaks(peaks.lo[a:max(b, a + 1)], peaks.hi[a:max(b, a + 1)], peaks.duration, peaks.sample_rate)
    width = max(1, int(rect.width()))
    folded = peaks.fold(width)
    n = len(folded)
    if normalize:
        top = float(max(np.abs(folded.lo).max(), np.abs(folded.hi).max()))
        half *= min(MAX_GAIN, 1.0 / top) if top > 0 else 1.0
    scale = width / n
    xs = (rect.left() + np.arange(n) * scale).astype(int).tolist()
    top = (mid - np.clip(folded.hi, -1, 1) * half).astype(int).tolist()
    bottom = (mid - np.clip(folded.lo, -1, 1) * half).astype(int).tolist()
    painter.drawLines([QLine(x, y1, x, max(y1, y2)) for x, y1, y2 in zip(xs, top, bottom)])


class WaveformDelegate(QStyledItemDelegate):
    """Paints a row's waveform thumbnail from :class:`PeaksStore`; repaints when it arrives."""

    def __init__(self, store: PeaksStore, path_role: int, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.path_role = path_role

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, option.palette.highlight())
        color = option.palette.highlightedText().color() if selected else wave_colour(option.palette)
        path = index.data(self.path_role)
        peaks = self.store.get(path) if path else None
        rect = QRectF(option.rect).adjusted(2, 2, -2, -2)
        paint_peaks(painter, rect, peaks, color)
        painter.restore()

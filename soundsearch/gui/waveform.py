"""The waveform of the current sound: moving playhead, click to play from a point, drag to select a
region, and drag the selected region out as a WAV of just those samples."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QDrag, QPainter, QPen
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from soundsearch.audio.peaks import Peaks
from soundsearch.audio.region import write_region
from soundsearch.gui.results_model import file_mime
from soundsearch.gui.theme import playhead_colour, wave_colour
from soundsearch.gui.thumbnails import paint_peaks

log = logging.getLogger(__name__)

MIN_REGION_PX = 3  # a smaller drag is a click


class WaveformView(QWidget):
    seekRequested = Signal(float)  # seconds: play from here
    regionChanged = Signal(object)  # (start, end) seconds, or None when cleared
    regionDragged = Signal(str)  # path of the WAV written for a region drag

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the results list
        self.path: Path | None = None
        self.peaks: Peaks | None = None
        self.duration = 0.0
        self.position: float | None = None
        self.region: tuple[float, float] | None = None
        self.region_writer = write_region  # (path, start, end) -> file; the window may convert
        self.message = "No sound selected"
        self._press_x: float | None = None
        self._mode = ""  # "select" | "drag-out" while a button is down

    # -- state ---------------------------------------------------------------------------------
    def set_sound(self, path: Path | None, duration: float = 0.0, peaks: Peaks | None = None) -> None:
        self.path = Path(path) if path else None
        self.duration = float(duration or (peaks.duration if peaks else 0.0))
        self.peaks = peaks
        self.position = None
        if self.region is not None:
            self.region = None
            self.regionChanged.emit(None)
        self.message = "" if path else "No sound selected"
        self.update()

    def set_peaks(self, peaks: Peaks | None) -> None:
        self.peaks = peaks
        if peaks is not None and peaks.duration:
            self.duration = peaks.duration
        self.update()

    def set_position(self, seconds: float | None) -> None:
        if seconds != self.position:
            self.position = seconds
            self.update()

    def set_region(self, region: tuple[float, float] | None) -> None:
        if region is not None:
            a, b = sorted(region)
            a, b = max(0.0, a), min(self.duration, b) if self.duration else b
            region = (a, b) if b > a else None
        self.region = region
        self.regionChanged.emit(region)
        self.update()

    # -- coordinates ---------------------------------------------------------------------------
    def _x_to_seconds(self, x: float) -> float:
        w = max(1, self.width())
        return max(0.0, min(self.duration, x / w * self.duration))

    def _seconds_to_x(self, seconds: float) -> float:
        return seconds / self.duration * self.width() if self.duration else 0.0

    # -- region export -------------------------------------------------------------------------
    def region_mime(self) -> QMimeData | None:
        """Write the selected region to a fresh WAV and return the drag payload for it."""
        if self.path is None or self.region is None:
            return None
        wav = self.region_writer(self.path, *self.region)
        self.regionDragged.emit(str(wav))
        return file_mime([wav])

    # -- mouse ---------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.path is None or not self.duration:
            return super().mousePressEvent(event)
        x = event.position().x()
        self._press_x = x
        inside = self.region is not None and (
            self._seconds_to_x(self.region[0]) <= x <= self._seconds_to_x(self.region[1]))
        self._mode = "drag-out" if inside else "select"

    def mouseMoveEvent(self, event) -> None:
        if self._press_x is None:
            return super().mouseMoveEvent(event)
        x = event.position().x()
        moved = abs(x - self._press_x)
        if self._mode == "drag-out":
            if moved >= QApplication.startDragDistance():
                self._press_x, self._mode = None, ""
                self._drag_region_out()
            return
        if moved >= MIN_REGION_PX:
            self.region = tuple(sorted((self._x_to_seconds(self._press_x), self._x_to_seconds(x))))
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self._press_x is None:
            return super().mouseReleaseEvent(event)
        x = event.position().x()
        press, mode = self._press_x, self._mode
        self._press_x, self._mode = None, ""
        if abs(x - press) < MIN_REGION_PX:  # a click: play from here (and drop any selection)
            if self.region is not None:
                self.set_region(None)
            self.seekRequested.emit(self._x_to_seconds(x))
        elif mode == "select":
            self.set_region((self._x_to_seconds(press), self._x_to_seconds(x)))

    def _drag_region_out(self) -> None:
        try:
            mime = self.region_mime()
        except Exception as exc:  # unreadable file, full disk: tell the user, keep the app alive
            log.warning("cannot write region of %s: %s", self.path, exc)
            self.message = f"Could not export the region: {exc}"
            self.update()
            return
        if mime is not None:
            drag = QDrag(self)
            drag.setMimeData(mime)
            drag.exec(Qt.DropAction.CopyAction)

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        pal = self.palette()
        rect = QRectF(self.rect())
        p.fillRect(rect, pal.base())
        if self.region is not None and self.duration:
            x1, x2 = self._seconds_to_x(self.region[0]), self._seconds_to_x(self.region[1])
            sel = QColor(pal.highlight().color())
            sel.setAlpha(90)
            p.fillRect(QRectF(x1, 0, max(1.0, x2 - x1), rect.height()), sel)
        if self.path is not None:
            paint_peaks(p, rect.adjusted(0, 6, 0, -6), self.peaks, wave_colour(pal))
        if self.position is not None and self.duration:
            x = self._seconds_to_x(self.position)
            p.setPen(QPen(playhead_colour(pal), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, rect.height()))
        p.setPen(pal.placeholderText().color())
        if self.message:
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.message)
        elif self.duration:
            label = f"{self.duration:.2f} s"
            if self.region is not None:
                a, b = self.region
                label = f"{a:.2f}–{b:.2f} s of {label}"
            corner = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
            p.drawText(rect.adjusted(4, 2, -4, -2), corner, label)
        p.end()

"""The results table view: keyboard first, waveform thumbnails, rows drag out as files.

Keys (while the list has focus): ↑/↓ move (and audition, with auto-play), Space play/pause,
Enter play from the start, Esc stop, L or + like, D or - dislike, M more like this, F add to the
current collection, [ and ] a semitone down/up (tape-style), \\ original speed, R reverse, C every copy of a
collapsed duplicate. Any
other character goes to the search box, so typing always refines the query.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from soundsearch.gui.results_model import (
    FEEDBACK_COLUMN,
    NAME_COLUMN,
    WAVEFORM_COLUMN,
    WAVEFORM_ROLE,
    ResultsModel,
)
from soundsearch.gui.thumbnails import PeaksStore, WaveformDelegate

K = Qt.Key
KEY_ACTIONS = {
    K.Key_Space: "toggle",
    K.Key_Return: "play",
    K.Key_Enter: "play",
    K.Key_Escape: "stop",
    K.Key_L: "like",
    K.Key_Plus: "like",
    K.Key_D: "dislike",
    K.Key_Minus: "dislike",
    K.Key_M: "similar",
    K.Key_F: "collect",
    K.Key_BracketRight: "pitch-up",
    K.Key_BracketLeft: "pitch-down",
    K.Key_Backslash: "pitch-reset",
    K.Key_R: "reverse",
    K.Key_C: "copies",
}
# Shift + key, where it does something else than the key alone
SHIFT_ACTIONS = {
    K.Key_M: "similar-sound",  # more like this by the sound alone (M: by sound and words)
}


class ResultsView(QTableView):
    keyAction = Signal(str)  # one of KEY_ACTIONS' values
    typeAhead = Signal(str)  # a character typed here that belongs in the search box
    currentHitChanged = Signal(object)  # the hit under the cursor (or None)
    wantMore = Signal()  # scrolled (or moved) to the end of the list: load the next page

    def __init__(self, model: ResultsModel, peaks: PeaksStore, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("results")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # keep the engine's ranking until asked
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setTabKeyNavigation(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(30)
        self.delegate = WaveformDelegate(peaks, WAVEFORM_ROLE, self)
        self.setItemDelegateForColumn(WAVEFORM_COLUMN, self.delegate)
        header = self.horizontalHeader()
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in ((WAVEFORM_COLUMN, 96), (NAME_COLUMN, 210), (2, 64), (3, 44), (4, 66), (5, 28),
                           (6, 120), (7, 220), (8, 48), (FEEDBACK_COLUMN, 22)):
            self.setColumnWidth(col, width)
        peaks.loaded.connect(self._thumbnail_ready)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.selectionModel().currentRowChanged.connect(self._current_changed)

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if bar.maximum() > 0 and value >= bar.maximum() - 2:
            self.wantMore.emit()

    def _thumbnail_ready(self, _path: str) -> None:
        self.viewport().update()  # Qt merges these into one repaint per event-loop turn

    def results_model(self) -> ResultsModel:
        return self.model()

    def current_hit(self):
        index = self.currentIndex()
        return self.results_model().hit(index.row()) if index.isValid() else None

    def selected_hits(self) -> list:
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        model = self.results_model()
        hits = [model.hit(r) for r in rows]
        return [h for h in hits if h is not None] or ([self.current_hit()] if self.current_hit() else [])

    def neighbours(self) -> list:
        row = self.currentIndex().row()
        model = self.results_model()
        return [model.hit(row + 1), model.hit(row - 1)]

    def move(self, step: int) -> None:
        """Move the cursor ``step`` rows (from the search box's ↑/↓), selecting the row."""
        rows = self.results_model().rowCount()
        if not rows:
            return
        row = self.currentIndex().row()
        row = 0 if row < 0 else max(0, min(rows - 1, row + step))
        self.selectRow(row)
        if row == rows - 1:
            self.wantMore.emit()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _current_changed(self, current, _previous) -> None:
        if current.isValid() and current.row() >= self.results_model().rowCount() - 1:
            self.wantMore.emit()  # ↓ onto the last row: the next page comes before the next ↓
        self.currentHitChanged.emit(self.results_model().hit(current.row()) if current.isValid() else None)

    def keyPressEvent(self, event) -> None:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        action = KEY_ACTIONS.get(event.key())
        if mods == Qt.KeyboardModifier.ShiftModifier:
            action = SHIFT_ACTIONS.get(event.key(), action)
        if action and mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
            self.keyAction.emit(action)
            event.accept()
            return
        text = event.text()
        if text and text.isprintable() and not mods & (Qt.KeyboardModifier.ControlModifier
                                                        | Qt.KeyboardModifier.AltModifier
                                                        | Qt.KeyboardModifier.MetaModifier):
            self.typeAhead.emit(text)
            event.accept()
            return
        super().keyPressEvent(event)

"""The results table: an adapter from a list of search hits to Qt's item model.

Columns are one tuple of ``(header, getter, formatter)``; sorting compares the getter's value.
Dragging rows out gives other apps the files (see :func:`file_mime`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QStandardItem, QStandardItemModel

WAVEFORM_ROLE = Qt.ItemDataRole.UserRole + 1  # the hit's path, for the thumbnail delegate
INDEX_ROLE = Qt.ItemDataRole.UserRole + 2  # position of the row's hit in the model's list
SORT_ROLE = Qt.ItemDataRole.UserRole + 3  # the raw value that sorting compares


def _record(hit) -> Any:
    return getattr(hit, "record", None)


def _attr(name: str, default: Any = None) -> Callable[[Any], Any]:
    return lambda hit: getattr(_record(hit), name, default)


def _tags(hit) -> str:
    meta = getattr(_record(hit), "metadata", None)
    if meta is None:
        return ""
    # Words a person wrote first; derived words (file and folder names) only when there are none
    for name in ("keywords", "description", "title", "fxname", "category", "subcategory"):
        values = meta.get(name)
        if values:
            return " · ".join(dict.fromkeys(values))
    return getattr(meta, "text", "") or ""


def _folder(hit) -> str:
    rec = _record(hit)
    folder = getattr(rec, "folder", None)
    return str(folder) if folder not in (None, Path(".")) else ""


def _duration(seconds: Any) -> str:
    if seconds is None:
        return ""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes}:{sec:02d}"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _feedback(mark: int) -> str:
    return {1: "▲", -1: "▼"}.get(mark, "")


# (header, getter(hit) -> sortable value, formatter(value) -> display text)
COLUMNS: tuple[tuple[str, Callable[[Any], Any], Callable[[Any], str]], ...] = (
    ("Waveform", lambda h: _attr("duration", 0.0)(h) or 0.0, lambda v: ""),
    ("Name", lambda h: h.path.name, _text),
    ("Duration", _attr("duration"), _duration),
    ("Format", _attr("format"), _text),
    ("Rate", _attr("sample_rate"), lambda v: "" if not v else f"{v / 1000:g} kHz"),
    ("Ch", _attr("channels"), _text),
    ("Folder", _folder, _text),
    ("Tags", _tags, _text),
    ("Score", lambda h: float(getattr(h, "score", 0.0)), lambda v: f"{v:.3f}"),
    ("", lambda h: 0, lambda v: ""),  # like/dislike mark, filled from the model's feedback map
)
WAVEFORM_COLUMN = 0
NAME_COLUMN = 1
FEEDBACK_COLUMN = len(COLUMNS) - 1


def file_mime(paths: Sequence[Path]) -> QMimeData:
    """What file managers and DAWs accept on Linux, macOS and Windows: ``text/uri-list`` with
    file:// URLs (Qt also offers them as CF_HDROP on Windows and file URLs on macOS) plus the plain
    paths as text, one per line, for apps that only take text."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(Path(p).resolve())) for p in paths])
    mime.setText("\n".join(str(Path(p).resolve()) for p in paths))
    return mime


class ResultsModel(QStandardItemModel):
    """The hits as Qt items, filled once per result list.

    Not a QAbstractTableModel with a Python ``data()``: the view calls ``data()`` for ~8 roles of
    every visible cell on each repaint, and each call from Qt into Python takes the GIL. Measured
    here (100 × 10 table): 52 ms per repaint with a Python ``data()``, 117–324 ms with one or two
    busy Python threads (indexing), against 9–11 ms for items Qt stores itself, busy or not.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.setSortRole(SORT_ROLE)
        self._hits: list[Any] = []
        self.feedback: dict[int, int] = {}  # file id → +1 liked, -1 disliked
        self.drag_files: Callable[[list[Any]], list[Path]] | None = None  # hits → files to drag

    # -- data --------------------------------------------------------------------------------
    def set_hits(self, hits: Sequence[Any]) -> None:
        self._hits = list(hits)
        self.beginResetModel()
        self.blockSignals(True)  # one reset for the view instead of a signal per row
        try:
            self.setRowCount(0)
            for n, hit in enumerate(self._hits):
                self.appendRow(self._row(n, hit))
        finally:
            self.blockSignals(False)
            self.endResetModel()

    def _row(self, n: int, hit: Any) -> list[QStandardItem]:
        items = []
        for col, (_, getter, fmt) in enumerate(COLUMNS):
            if col == FEEDBACK_COLUMN:
                value = self.feedback.get(hit.file_id, 0)
                text = _feedback(value)
            else:
                value = getter(hit)
                text = fmt(value)
            item = QStandardItem(text)
            item.setFlags(_FLAGS)
            item.setData(_sortable(value), SORT_ROLE)
            if col in _RIGHT:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            items.append(item)
        first = items[0]
        first.setData(n, INDEX_ROLE)
        first.setData(str(hit.path), WAVEFORM_ROLE)
        copies = getattr(hit, "copies", ())
        if copies:  # identical files collapsed into this row: say how many, list them (C shows them)
            items[NAME_COLUMN].setText(f"{hit.path.name}  ×{len(copies) + 1}")
            listed = "\n".join(str(p) for p in copies[:20]) + ("\n…" if len(copies) > 20 else "")
            items[NAME_COLUMN].setToolTip(f"{hit.path}\n{len(copies)} identical copies "
                                          f"(C lists them all):\n{listed}")
        else:
            items[NAME_COLUMN].setToolTip(str(hit.path))
        return items

    @property
    def hits(self) -> list[Any]:
        """The hits in the order shown (after any sorting)."""
        return [self.hit(r) for r in range(self.rowCount())]

    def hit(self, row: int) -> Any | None:
        if not 0 <= row < self.rowCount():
            return None
        n = self.item(row, 0).data(INDEX_ROLE)
        return self._hits[n] if n is not None else None

    def row_of(self, file_id: int) -> int:
        for row, hit in enumerate(self.hits):
            if hit.file_id == file_id:
                return row
        return -1

    def set_feedback(self, file_id: int, mark: int) -> None:
        if mark:
            self.feedback[file_id] = mark
        else:
            self.feedback.pop(file_id, None)
        row = self.row_of(file_id)
        if row >= 0:
            item = self.item(row, FEEDBACK_COLUMN)
            item.setText(_feedback(mark))
            item.setData(mark, SORT_ROLE)

    def set_all_feedback(self, feedback: dict[int, int]) -> None:
        self.feedback = dict(feedback)
        for row, hit in enumerate(self.hits):
            mark = self.feedback.get(hit.file_id, 0)
            item = self.item(row, FEEDBACK_COLUMN)
            if item.text() != _feedback(mark):
                item.setText(_feedback(mark))
                item.setData(mark, SORT_ROLE)

    # -- drag out ------------------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", "text/plain"]

    def mimeData(self, indexes) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        hits = [self.hit(r) for r in rows]
        if self.drag_files is not None:  # converted copies (Preferences → Drag and export)
            return file_mime(self.drag_files(hits))
        return file_mime([h.path for h in hits])

    def supportedDragActions(self):
        return Qt.DropAction.CopyAction


def _sortable(value: Any) -> Any:
    """A value Qt can order: numbers stay numbers, missing numbers sort first, the rest is text."""
    if value is None:
        return -1.0
    if isinstance(value, (int, float)):
        return float(value)
    return str(value).lower()


_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
_RIGHT = (2, 4, 5, 8)

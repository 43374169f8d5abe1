"""The detail pane: everything known about the current sound and where each field came from, with
"reveal in file manager" and "copy path"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from soundsearch.gui.transport import SIMILAR_TIP


def _size(n: Any) -> str:
    if not n:
        return ""
    n = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _tool(text: str, tip: str, parent: QWidget) -> QToolButton:
    b = QToolButton(parent)
    b.setText(text)
    b.setToolTip(tip)
    return b


def describe_record(record: Any) -> list[tuple[str, str, str]]:
    """(field, value, source) rows: the file's audio properties, then its metadata fields."""
    rows: list[tuple[str, str, str]] = []
    if record is None:
        return rows
    path = Path(record.path)
    audio = [
        ("name", path.name),
        ("folder", str(path.parent)),
        ("duration", f"{record.duration:.3f} s" if record.duration else ""),
        ("sample rate", f"{record.sample_rate} Hz" if record.sample_rate else ""),
        ("channels", str(record.channels or "")),
        ("bit depth", str(getattr(record, "bit_depth", "") or "")),
        ("format", str(record.format or "")),
        ("size", _size(getattr(record, "size", None))),
    ]
    rows += [(k, v, "file") for k, v in audio if v]
    if getattr(record, "status", "ok") != "ok":
        rows.append(("status", str(record.status), "catalog"))
    if getattr(record, "error", None):
        rows.append(("error", str(record.error), "catalog"))
    meta = getattr(record, "metadata", None)
    if meta is not None:
        rows += [(f.name, f.value, f.source) for f in meta.fields]
        if meta.text:
            rows.append(("search text", meta.text, "all of the above"))
        rows += [("reader error", e, "metadata") for e in meta.errors]
    # Heard in the audio by a tagger, never the file's own words: their own rows and source.
    rows += [("predicted tag", f"{tag} ({score:.0%})", f"predicted: {source}")
             for source, tag, score in getattr(record, "predicted", None) or []]
    return rows


def reveal_in_file_manager(path: Path) -> bool:
    """Open the folder holding ``path`` in the system file manager (Finder, Explorer, Files…)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


class DetailPane(QWidget):
    similarRequested = Signal(int)  # file id
    editRequested = Signal()  # edit the selected sounds' metadata

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("detail")
        self.record: Any = None
        self.title = QLabel("No sound selected", self)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Field", "Value", "Source"])
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(2, 110)
        self.reveal_button = _tool("Reveal in folder", "Show the file in the system file manager", self)
        self.copy_button = _tool("Copy path", "Copy the file's full path", self)
        self.similar_button = _tool("More like this", SIMILAR_TIP, self)
        self.edit_button = _tool("Edit…", "Edit the metadata of the selected sounds (Ctrl+E)", self)
        self.edit_button.clicked.connect(self.editRequested)
        self.reveal_button.clicked.connect(self.reveal)
        self.copy_button.clicked.connect(self.copy_path)
        self.similar_button.clicked.connect(
            lambda: self.record is not None and self.similarRequested.emit(int(self.record.id)))
        buttons = QHBoxLayout()
        for b in (self.reveal_button, self.copy_button, self.similar_button, self.edit_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            if b is not self.edit_button:
                buttons.addWidget(b)
        top = QHBoxLayout()  # the edit button beside the name: the pane stays as narrow as before
        top.addWidget(self.title, 1)
        top.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.show_record(None)

    def show_record(self, record: Any) -> None:
        self.record = record
        self.tree.clear()
        self.title.setText(Path(record.path).name if record is not None else "No sound selected")
        for field, value, source in describe_record(record):
            item = QTreeWidgetItem([field, value, source])
            item.setToolTip(1, value)
            self.tree.addTopLevelItem(item)
        for b in (self.reveal_button, self.copy_button, self.similar_button, self.edit_button):
            b.setEnabled(record is not None)

    def reveal(self) -> None:
        if self.record is not None:
            reveal_in_file_manager(Path(self.record.path))

    def copy_path(self) -> None:
        if self.record is not None:
            QGuiApplication.clipboard().setText(str(Path(self.record.path)))

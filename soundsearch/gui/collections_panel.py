"""Favourites and named collections: a list the user fills by dropping result rows on a name (or
with the F key, which adds to the selected collection) and opens to see its sounds."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from soundsearch.collections import FAVOURITES, Collections


class _DropList(QListWidget):
    """A list whose items accept dropped files (the results table's rows)."""

    filesDropped = Signal(str, list)  # collection name, local paths

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)

    def _target(self, event) -> QListWidgetItem | None:
        return self.itemAt(event.position().toPoint()) if event.mimeData().hasUrls() else None

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._target(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        item = self._target(event)
        if item is None:
            event.ignore()
            return
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.filesDropped.emit(item.data(Qt.ItemDataRole.UserRole), paths)


class CollectionsPanel(QWidget):
    openRequested = Signal(str)  # show this collection's sounds in the results
    filesDropped = Signal(str, list)  # collection name, paths
    exportRequested = Signal(str)  # converted copies of every sound in this collection

    def __init__(self, collections: Collections, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("collections")
        self.collections = collections
        self.list = _DropList(self)
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.list.itemActivated.connect(lambda it: self.openRequested.emit(it.data(Qt.ItemDataRole.UserRole)))
        self.list.itemClicked.connect(lambda it: self.openRequested.emit(it.data(Qt.ItemDataRole.UserRole)))
        self.list.filesDropped.connect(self.filesDropped)
        self.new_button = QPushButton("New…", self)
        self.rename_button = QPushButton("Rename…", self)
        self.delete_button = QPushButton("Delete", self)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("Copy every sound of the collection into a folder, converted "
                                      "to the session format if you like")
        self.export_button.clicked.connect(lambda: self.exportRequested.emit(self.current()))
        self.new_button.clicked.connect(self._new)
        self.rename_button.clicked.connect(self._rename)
        self.delete_button.clicked.connect(self._delete)
        buttons = QHBoxLayout()
        for b in (self.new_button, self.rename_button, self.delete_button, self.export_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.reload()

    def current(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else FAVOURITES

    def reload(self) -> None:
        keep = self.current()
        self.list.clear()
        for name in self.collections.names():
            item = QListWidgetItem(f"{name}  ({len(self.collections.members(name))})")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
            if name == keep:
                self.list.setCurrentItem(item)

    def _new(self) -> None:
        name, ok = QInputDialog.getText(self, "New collection", "Name:")
        if ok and name.strip():
            self.collections.create(name)
            self.reload()

    def _rename(self) -> None:
        old = self.current()
        if old == FAVOURITES:
            return
        new, ok = QInputDialog.getText(self, "Rename collection", "Name:", text=old)
        if ok and new.strip():
            try:
                self.collections.rename(old, new)
            except ValueError:
                return
            self.reload()

    def _delete(self) -> None:
        self.collections.delete(self.current())
        self.reload()

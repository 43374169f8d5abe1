"""The library panel: sample folders with their counts, add / rescan / remove, the untagged count,
and the list of files that could not be used (with the reason)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from soundsearch.session import LibrarySummary

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def root_labels(paths: list[str]) -> list[str]:
    """Short names that tell the roots apart: the folder's own name, and as many of the folders
    above it as needed when two share it ("Sounds (client A)", "Sounds (client B)"). The full
    path is the tooltip."""
    parts = [Path(p).parts for p in paths]

    def label(n: int, depth: int) -> str:
        p = parts[n]
        name = p[-1] if p else paths[n]
        above = p[-1 - depth:-1] if depth else ()
        return f"{name} ({'/'.join(above)})" if above else name

    depth = [0] * len(paths)
    for _ in range(max((len(p) for p in parts), default=0)):
        labels = [label(n, depth[n]) for n in range(len(paths))]
        clash = [n for n, text in enumerate(labels) if labels.count(text) > 1
                 and depth[n] < len(parts[n]) - 1]
        if not clash:
            break
        for n in clash:
            depth[n] += 1
    return [label(n, depth[n]) for n in range(len(paths))]


class LibraryPanel(QWidget):
    addRequested = Signal(object)  # Path
    rescanRequested = Signal(object)  # Path, or None for all folders
    removeRequested = Signal(object)  # Path
    folderChosen = Signal(object)  # str (absolute folder) to list, or None for no folder filter

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("library")
        self.roots = QTreeWidget(self)
        # Three columns: the folder's name needs the room in a 300-pixel side panel; untagged and
        # error counts are in each row's tooltip (and the totals and the error list below).
        self.roots.setHeaderLabels(["Folder", "Files", "Hours"])
        self.roots.headerItem().setToolTip(2, "Total hours of audio in the folder (indexing listens to "
                                              "at most the loudest stretch of each long file)")
        self.roots.setRootIsDecorated(False)
        # Long paths that share a beginning ("/home/me/…") differ at the end: cut the middle.
        self.roots.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.roots.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.roots.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.add_button = QPushButton("Add folder…", self)
        self.rescan_button = QPushButton("Rescan", self)
        self.remove_button = QPushButton("Remove", self)
        self.add_button.clicked.connect(self._pick_folder)
        self.rescan_button.clicked.connect(lambda: self.rescanRequested.emit(self.selected_root()))
        self.remove_button.clicked.connect(self._remove)
        # Folders below the roots: a click lists that folder's sounds (and its subfolders').
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("folders")
        self.tree.setHeaderLabels(["Folders", "Sounds"])
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.tree.setToolTip("Click a folder to list its sounds; click it again to list everything")
        self.tree.itemClicked.connect(self._folder_clicked)
        self._chosen: str | None = None
        self.totals = QLabel(self)
        self.totals.setWordWrap(True)
        self.errors = QListWidget(self)
        self.errors.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.errors.setWordWrap(True)
        self.errors_label = QLabel("Files that could not be used", self)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.rescan_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.roots, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 3)
        layout.addWidget(self.totals)
        layout.addWidget(self.errors_label)
        layout.addWidget(self.errors, 1)
        self.roots.itemSelectionChanged.connect(self._sync_buttons)
        self._sync_buttons()

    def show_folders(self, counts: dict[str, int], roots: list[str]) -> None:
        """Fill the folder tree: each root, then its folders as nested items with their counts."""
        expanded = {i.data(0, PATH_ROLE) for i in self._items() if i.isExpanded()}
        self.tree.clear()
        items: dict[str, QTreeWidgetItem] = {}
        labels = dict(zip(roots, root_labels(roots)))
        for folder in sorted(counts, key=lambda f: (f.count(os.sep), f.lower())):
            parent = items.get(os.path.dirname(folder))
            text = labels.get(folder) or os.path.basename(folder)
            if parent is None and folder not in labels:
                continue  # outside every root (a removed root's files not rescanned yet)
            item = QTreeWidgetItem([text, f"{counts[folder]:,}"])
            item.setData(0, PATH_ROLE, folder)
            item.setToolTip(0, folder)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            (parent.addChild if parent is not None else self.tree.addTopLevelItem)(item)
            items[folder] = item
            item.setExpanded(folder in expanded or parent is None)
            if folder == self._chosen:
                item.setSelected(True)

    def _items(self):
        stack = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            item = stack.pop()
            yield item
            stack.extend(item.child(i) for i in range(item.childCount()))

    def _folder_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        folder = item.data(0, PATH_ROLE)
        if folder == self._chosen:  # again: no folder filter
            self._chosen = None
            item.setSelected(False)
        else:
            self._chosen = folder
        self.folderChosen.emit(self._chosen)

    def selected_root(self) -> Path | None:
        items = self.roots.selectedItems()
        return Path(items[0].data(0, PATH_ROLE)) if items else None

    def _sync_buttons(self) -> None:
        has = self.selected_root() is not None
        self.remove_button.setEnabled(has)
        self.rescan_button.setText("Rescan folder" if has else "Rescan all")

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a sample folder")
        if folder:
            self.addRequested.emit(Path(folder))

    def _remove(self) -> None:
        root = self.selected_root()
        if root is not None:
            self.removeRequested.emit(root)

    def show_summary(self, summary: LibrarySummary) -> None:
        selected = self.selected_root()
        self.roots.clear()
        labels = root_labels([r["path"] for r in summary.roots])
        for r, text in zip(summary.roots, labels):
            item = QTreeWidgetItem([text, f"{r['files']:,}", f"{r['hours']:.1f}"])
            item.setData(0, PATH_ROLE, r["path"])
            tip = (f"{r['path']}\n{r['files']:,} sounds · {r['hours']:.1f} hours in total · "
                   f"{r['untagged']:,} untagged · {r['errors']:,} could not be used")
            for col in range(3):
                item.setToolTip(col, tip)
            for col in range(1, 3):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.roots.addTopLevelItem(item)
            if selected is not None and Path(r["path"]) == selected:
                item.setSelected(True)
        s = summary.stats
        files = s.get("files", 0)
        self.totals.setText(
            f"{files:,} sounds · {s.get('hours', 0.0):.1f} hours in total · {summary.indexed:,} searchable · "
            f"{s.get('untagged', 0):,} untagged (found by their sound alone) · "
            f"{s.get('metadata_only', 0):,} not decodable (found by their tags)")
        self.errors.clear()
        for path, reason in summary.errors:
            item = QListWidgetItem(f"{Path(path).name}: {reason}")
            item.setToolTip(f"{path}\n{reason}")
            self.errors.addItem(item)
        self.errors_label.setText(f"Files that could not be used ({len(summary.errors):,})")
        self._sync_buttons()

"""The library panel: sample folders with their counts, add / rescan / remove, the untagged count,
and the list of files that could not be used (with the reason)."""

from __future__ import annotations

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

from soundsearch.gui.backend import LibrarySummary

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class LibraryPanel(QWidget):
    addRequested = Signal(object)  # Path
    rescanRequested = Signal(object)  # Path, or None for all folders
    removeRequested = Signal(object)  # Path

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("library")
        self.roots = QTreeWidget(self)
        self.roots.setHeaderLabels(["Folder", "Files", "Hours", "Untagged", "Errors"])
        self.roots.setRootIsDecorated(False)
        self.roots.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.roots.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.add_button = QPushButton("Add folder…", self)
        self.rescan_button = QPushButton("Rescan", self)
        self.remove_button = QPushButton("Remove", self)
        self.add_button.clicked.connect(self._pick_folder)
        self.rescan_button.clicked.connect(lambda: self.rescanRequested.emit(self.selected_root()))
        self.remove_button.clicked.connect(self._remove)
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
        layout.addWidget(self.roots, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.totals)
        layout.addWidget(self.errors_label)
        layout.addWidget(self.errors, 1)
        self.roots.itemSelectionChanged.connect(self._sync_buttons)
        self._sync_buttons()

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
        for r in summary.roots:
            item = QTreeWidgetItem([r["path"], f"{r['files']:,}", f"{r['hours']:.1f}",
                                    f"{r['untagged']:,}", f"{r['errors']:,}"])
            item.setData(0, PATH_ROLE, r["path"])
            item.setToolTip(0, r["path"])
            for col in range(1, 5):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.roots.addTopLevelItem(item)
            if selected is not None and Path(r["path"]) == selected:
                item.setSelected(True)
        s = summary.stats
        files = s.get("files", 0)
        self.totals.setText(
            f"{files:,} sounds · {s.get('hours', 0.0):.1f} hours · {summary.indexed:,} searchable · "
            f"{s.get('untagged', 0):,} untagged (found by their sound alone) · "
            f"{s.get('metadata_only', 0):,} not decodable (found by their tags)")
        self.errors.clear()
        for path, reason in summary.errors:
            item = QListWidgetItem(f"{Path(path).name}: {reason}")
            item.setToolTip(f"{path}\n{reason}")
            self.errors.addItem(item)
        self.errors_label.setText(f"Files that could not be used ({len(summary.errors):,})")
        self._sync_buttons()

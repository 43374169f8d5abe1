"""Editing metadata: one sound's fields, or a batch (set / append / find-and-replace / clear) over a
selection, with a UCS picker that finds categories by synonym; and the UCS rename preview.

Widgets only: what they produce (:class:`~soundsearch.library.user_edits.BatchOp` lists, rename
settings) goes to the core through :mod:`soundsearch.gui.metadata_actions`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from soundsearch.library.metadata import ucs
from soundsearch.library.user_edits import EDITABLE, BatchOp, current_value

OPS = (("keep", "Keep"), ("set", "Set to"), ("append", "Append"), ("replace", "Replace"), ("clear", "Clear"))


_OK_CANCEL = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel


class UcsPicker(QWidget):
    """Type a CatID, a category word or a synonym ("bang", "shatter"); pick from the list."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.query = QLineEdit(self)
        self.query.setPlaceholderText("Find a UCS category: a word or a synonym (e.g. bang, creak)")
        self.list = QListWidget(self)
        self.list.setMaximumHeight(130)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.query)
        layout.addWidget(self.list)
        self.query.textChanged.connect(self.refresh)
        self.refresh("")

    def refresh(self, text: str) -> None:
        self.list.clear()
        for entry in ucs.search(text, limit=40):
            item = QListWidgetItem(f"{entry.catid} — {entry.category} / {entry.subcategory}")
            item.setData(Qt.ItemDataRole.UserRole, entry.catid)
            item.setToolTip(entry.explanation or ", ".join(entry.synonyms[:20]))
            self.list.addItem(item)

    def chosen(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""


class MetadataEditor(QDialog):
    """One record: a field per line, prefilled. Several: an operation, a value (and the text to find)
    per field. :meth:`ops` gives what the user asked for."""

    def __init__(self, records: list[Any], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("metadata-editor")
        self.records = list(records)
        self.batch = len(self.records) > 1
        self.setWindowTitle(f"Edit metadata of {len(self.records)} sounds" if self.batch
                            else f"Edit metadata: {self.records[0].path.name}")
        grid = QGridLayout()
        self.values: dict[str, QLineEdit] = {}
        self.finds: dict[str, QLineEdit] = {}
        self.kinds: dict[str, QComboBox] = {}
        for row, (name, label) in enumerate(EDITABLE):
            grid.addWidget(QLabel(label, self), row, 0)
            value = self.values[name] = QLineEdit(self)
            value.setObjectName(f"value-{name}")
            if self.batch:
                kind = self.kinds[name] = QComboBox(self)
                for key, text in OPS:
                    kind.addItem(text, key)
                find = self.finds[name] = QLineEdit(self)
                find.setPlaceholderText("find")
                find.setVisible(False)
                kind.currentIndexChanged.connect(lambda _i, n=name: self._sync(n))
                value.textEdited.connect(lambda _t, n=name: self._touch(n))
                grid.addWidget(kind, row, 1)
                grid.addWidget(find, row, 2)
                grid.addWidget(value, row, 3)
                self._sync(name)
            else:
                value.setText(current_value(self.records[0].metadata, name))
                grid.addWidget(value, row, 1)
        self.picker = UcsPicker(self)
        self.picker.list.itemActivated.connect(lambda _i: self.use_catid())
        self.picker.list.itemClicked.connect(lambda _i: self.use_catid())
        box = QDialogButtonBox(_OK_CANCEL, self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        note = QLabel("Edits are kept in the library catalog (undo with Ctrl+Z); the files themselves change "
                      "only with Sound → Write tags to file.", self)
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addLayout(grid)
        layout.addWidget(QLabel("UCS category (sets CatID; category and subcategory follow)", self))
        layout.addWidget(self.picker)
        layout.addWidget(box)
        self.resize(640, 560)

    def _sync(self, name: str) -> None:
        kind = self.kinds[name].currentData()
        self.finds[name].setVisible(kind == "replace")
        # a kept field stays typeable: typing into it switches it to "Set to" (see _touch)
        self.values[name].setEnabled(kind != "clear")
        self.values[name].setPlaceholderText("type to set" if kind == "keep" else "")

    def _touch(self, name: str) -> None:
        """Typing into a field that is kept means setting it."""
        if self.kinds[name].currentData() == "keep":
            self.kinds[name].setCurrentIndex(1)

    def set_op(self, name: str, kind: str, value: str = "", find: str = "") -> None:
        """Fill one row as a user would (tests and the UCS picker use it)."""
        if self.batch:
            self.kinds[name].setCurrentIndex([k for k, _ in OPS].index(kind))
            self.finds[name].setText(find)
        self.values[name].setText(value)

    def use_catid(self) -> None:
        catid = self.picker.chosen()
        if catid:
            self.set_op("catid", "set", catid)

    def ops(self) -> list[BatchOp]:
        out = []
        for name, _label in EDITABLE:
            value = self.values[name].text().strip()
            if not self.batch:
                if value != current_value(self.records[0].metadata, name):
                    out.append(BatchOp("set", name, value))
                continue
            kind = self.kinds[name].currentData()
            if kind == "keep" or (kind == "replace" and not self.finds[name].text()):
                continue
            out.append(BatchOp(kind, name, value, find=self.finds[name].text()))
        return out


class RenamePreview(QDialog):
    """The UCS names a selection would get; CreatorID/SourceID edits re-plan through ``replan``."""

    def __init__(self, replan, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("rename-preview")
        self.setWindowTitle("Rename to UCS")
        self.replan = replan  # (creator, source) -> None; results come back through show_plans
        self.plans: list = []
        self.creator = QLineEdit(self)
        self.creator.setPlaceholderText("CreatorID (e.g. your initials)")
        self.source = QLineEdit(self)
        self.source.setPlaceholderText("SourceID (e.g. the project or library)")
        ids = QHBoxLayout()
        ids.addWidget(self.creator)
        ids.addWidget(self.source)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["Now", "Renamed to"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 300)
        self.buttons = QDialogButtonBox(self)
        self.apply = self.buttons.addButton("Rename", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(ids)
        layout.addWidget(self.table, 1)
        note = QLabel("Files are renamed in their own folders, never over another file; Edit → Undo "
                      "renames them back.", self)
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.creator.editingFinished.connect(self._replan)
        self.source.editingFinished.connect(self._replan)
        self.resize(760, 420)

    def _replan(self) -> None:
        self.replan(self.creator.text().strip(), self.source.text().strip())

    def show_plans(self, plans: list) -> None:
        self.plans = plans
        self.table.setRowCount(len(plans))
        for row, plan in enumerate(plans):
            self.table.setItem(row, 0, QTableWidgetItem(plan.old.name))
            text = plan.new.name if plan.changes else f"(unchanged: {plan.problem})"
            if plan.sidecars:
                text += "  (with " + ", ".join(new.name for _old, new in plan.sidecars) + ")"
            self.table.setItem(row, 1, QTableWidgetItem(text))
        self.apply.setEnabled(any(p.changes for p in plans))

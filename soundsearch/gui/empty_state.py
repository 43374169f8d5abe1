"""First run: a friendly page that asks for sample folders (a picker, or drop a folder anywhere)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from soundsearch.gui.icons import app_icon


class EmptyState(QWidget):
    folderChosen = Signal(object)  # Path

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("empty-state")
        logo = QLabel(self)
        logo.setPixmap(app_icon().pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("<h2>Welcome to soundsearch</h2>", self)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Point it at the folders where your sound effects and samples live.<br>"
            "It reads their tags and listens to every file, on this computer only — then describe "
            "what you hear in your head (<i>heavy wooden door slam, reverberant</i>) "
            "and drag the hits into your DAW.", self)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(520)  # a wrapped label in a centred layout otherwise shrinks to a sliver
        text.setMinimumHeight(text.heightForWidth(520))
        self.button = QPushButton("Add a sample folder…", self)
        self.button.setDefault(True)
        self.button.setMinimumSize(220, 36)
        self.button.clicked.connect(self._pick)
        hint = QLabel("or drag a folder onto this window", self)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        for w in (logo, title, text):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def _pick(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a sample folder", str(Path.home()))
        if folder:
            self.folderChosen.emit(Path(folder))

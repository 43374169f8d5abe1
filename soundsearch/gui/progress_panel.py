"""The background-work panel: what runs (scan, index, model), files done, hours of audio, ETA,
and a cancel button. It only displays :class:`~soundsearch.jobs.Progress` values the worker sends."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from soundsearch.jobs import Progress

STAGE_NAMES = {
    "scan": "Scanning folders",
    "walk": "Looking for sounds",
    "metadata": "Reading tags",
    "index": "Indexing sounds",
    "embed": "Listening to sounds",
    "model": "Loading the model",
    "duplicates": "Listening for duplicates",
}


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"about {max(1, int(seconds))} s left"
    if seconds < 3600:
        return f"about {int(round(seconds / 60))} min left"
    return f"about {seconds / 3600:.1f} h left"


def describe(progress: Progress) -> str:
    """One line for a person: 'Indexing sounds: 1,234 / 4,400 files · 2.1 h of audio indexed ·
    about 3 min left'."""
    if progress.stage == "wait":  # another soundsearch (the command line?) is writing the library
        return progress.message[:1].upper() + progress.message[1:]
    parts = [STAGE_NAMES.get(progress.stage, progress.stage.capitalize())]
    if progress.total:
        parts[0] += f": {progress.done:,} / {progress.total:,} files"
    elif progress.done:
        parts[0] += f": {progress.done:,} files"
    if progress.audio_seconds:
        hours = progress.audio_seconds / 3600
        minutes = progress.audio_seconds / 60
        # the audio listened to: at most the indexed stretch of each long file, so less than the
        # library's total hours (the Library tab), and said so
        what = "of audio indexed" if progress.stage in ("index", "embed") else "of audio"
        parts.append(f"{hours:.1f} h {what}" if hours >= 0.1 else f"{minutes:.1f} min {what}")
    eta = _eta(progress.eta_seconds)
    if eta:
        parts.append(eta)
    if progress.message:
        parts.append(progress.message)
    return " · ".join(parts)


class ProgressPanel(QWidget):
    cancelRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setToolTip("Hours indexed: what the model listened to, at most the loudest stretch of "
                              "each long file (Preferences → Index at most); the Library tab shows the "
                              "total hours of audio")
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(260)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancelRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, title: str, cancellable: bool = True) -> None:
        self.label.setText(title)
        self.bar.setRange(0, 0)  # busy until the first progress with a total
        self.cancel_button.setEnabled(cancellable)
        self.cancel_button.setVisible(cancellable)
        self.show()

    def update_progress(self, progress: Progress) -> None:
        self.label.setText(describe(progress))
        if progress.total:
            self.bar.setRange(0, int(progress.total))
            self.bar.setValue(int(min(progress.done, progress.total)))
        else:
            self.bar.setRange(0, 0)

    def finish(self) -> None:
        self.hide()

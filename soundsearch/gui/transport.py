"""The bar under the waveform: play/stop, loop, volume, auto-play, and the refine buttons (like,
dislike, more like this, add to collection). Buttons never take keyboard focus, so the keys keep
working in the results list after a click."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget


def _button(text: str, tip: str, parent: QWidget) -> QToolButton:
    b = QToolButton(parent)
    b.setText(text)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    b.setToolTip(tip)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b


class TransportBar(QWidget):
    action = Signal(str)  # "toggle" | "like" | "dislike" | "similar" | "collect" | "clear-feedback"
    loopChanged = Signal(bool)
    volumeChanged = Signal(float)
    autoplayChanged = Signal(bool)

    def __init__(self, volume: float = 0.8, loop: bool = False, autoplay: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.play_button = _button("Play", "Play / stop (Space); Enter plays from the start, Esc stops", self)
        self.loop = QCheckBox("Loop", self)
        self.loop.setChecked(loop)
        self.loop.setToolTip("Repeat the sound, or the selected region of the waveform")
        self.volume = QSlider(Qt.Orientation.Horizontal, self)
        self.volume.setRange(0, 100)
        self.volume.setValue(int(round(volume * 100)))
        self.volume.setMinimumWidth(60)
        self.volume.setMaximumWidth(140)
        self.volume.setToolTip("Volume")
        self.autoplay = QCheckBox("Auto-play", self)
        self.autoplay.setChecked(autoplay)
        self.autoplay.setToolTip("Play each sound as it is selected")
        self.like = _button("Like", "More like this one in the results (L or +)", self)
        self.dislike = _button("Dislike", "Fewer like this one in the results (D or -)", self)
        self.similar = _button("More like this", "Sounds that sound like this one (M)", self)
        self.collect = _button("Add to collection", "Add to the collection selected on the left (F)", self)
        self.clear_feedback = _button("Reset", "Forget likes and dislikes", self)
        for w in (self.loop, self.volume, self.autoplay):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # two rows, so the bar (and with it the window) stays narrow enough for a laptop screen
        play = QHBoxLayout()
        for w in (self.play_button, self.loop, QLabel("Vol", self), self.volume, self.autoplay):
            play.addWidget(w)
        play.addStretch(1)
        refine = QHBoxLayout()
        for b in (self.like, self.dislike, self.clear_feedback, self.similar, self.collect):
            refine.addWidget(b)
        refine.addStretch(1)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setVerticalSpacing(2)
        layout.addLayout(play, 0, 0)
        layout.addLayout(refine, 1, 0)
        self.play_button.clicked.connect(lambda: self.action.emit("toggle"))
        self.like.clicked.connect(lambda: self.action.emit("like"))
        self.dislike.clicked.connect(lambda: self.action.emit("dislike"))
        self.similar.clicked.connect(lambda: self.action.emit("similar"))
        self.collect.clicked.connect(lambda: self.action.emit("collect"))
        self.clear_feedback.clicked.connect(lambda: self.action.emit("clear-feedback"))
        self.loop.toggled.connect(self.loopChanged)
        self.volume.valueChanged.connect(lambda v: self.volumeChanged.emit(v / 100.0))
        self.autoplay.toggled.connect(self.autoplayChanged)

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("Stop" if playing else "Play")

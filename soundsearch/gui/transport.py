"""The bar under the waveform: play/stop, loop, volume, auto-play, and the refine buttons (like,
dislike, more like this, add to collection). Buttons never take keyboard focus, so the keys keep
working in the results list after a click."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

SIMILAR_TIP = "More like this one, by its sound and its words (M); by the sound alone: Shift+M"

METER_FLOOR_DB = -60.0


def clock(seconds: float) -> str:
    """0:03.2, 12:04.0: minutes, seconds and tenths — what a sound designer reads off a transport."""
    seconds = max(0.0, float(seconds))
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def meter_value(level: float) -> int:
    """A peak level (0..1) as 0..100 on a dB scale from METER_FLOOR_DB to 0 dBFS."""
    if level <= 0:
        return 0
    db = 20.0 * math.log10(min(1.0, level))
    return int(round(100 * max(0.0, 1.0 - db / METER_FLOOR_DB)))


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
    varispeedChanged = Signal(int)  # semitones, -12..12
    reverseChanged = Signal(bool)

    def __init__(self, volume: float = 0.8, loop: bool = False, autoplay: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.play_button = _button("Play", "Play / pause (Space); Enter plays from the start, Esc stops",
                                   self)
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
        self.similar = _button("More like this", SIMILAR_TIP, self)
        self.collect = _button("Add to collection", "Add to the collection selected on the left (F)", self)
        self.clear_feedback = _button("Reset", "Forget likes and dislikes", self)
        self.position = QLabel(clock(0) + " / " + clock(0), self)
        self.position.setObjectName("position")
        self.position.setToolTip("Position / length of the sound")
        self.meter = QProgressBar(self)
        self.meter.setObjectName("meter")
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(56)
        self.meter.setMaximumHeight(10)
        self.meter.setToolTip(f"Output level (peak, {METER_FLOOR_DB:.0f} to 0 dBFS)")
        self.speed = QSpinBox(self)
        self.speed.setRange(-12, 12)
        self.speed.setPrefix("Speed ")
        self.speed.setSuffix(" st")
        self.speed.setToolTip("Varispeed, tape-style: pitch and speed together, ± 12 semitones "
                              "([ and ] keys)")
        self.speed_reset = _button("0", "Back to the original speed (\\ key)", self)
        self.reverse = QCheckBox("Reverse", self)
        self.reverse.setToolTip("Play backwards (R key)")
        self.feedback_note = QLabel(self)
        self.feedback_note.setObjectName("feedback-note")
        for w in (self.loop, self.volume, self.autoplay, self.speed, self.reverse):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # two rows, so the bar (and with it the window) stays narrow enough for a laptop screen
        play = QHBoxLayout()
        for w in (self.play_button, self.loop, QLabel("Vol", self), self.volume, self.autoplay):
            play.addWidget(w)
        play.addStretch(1)
        refine = QHBoxLayout()
        for b in (self.like, self.dislike, self.clear_feedback, self.feedback_note, self.similar,
                  self.collect):
            refine.addWidget(b)
        refine.addStretch(1)
        speed = QHBoxLayout()
        for w in (self.position, self.meter, self.speed, self.speed_reset, self.reverse):
            speed.addWidget(w)
        speed.addStretch(1)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setVerticalSpacing(2)
        layout.addLayout(play, 0, 0)
        layout.addLayout(speed, 1, 0)
        layout.addLayout(refine, 2, 0)
        self.play_button.clicked.connect(lambda: self.action.emit("toggle"))
        self.like.clicked.connect(lambda: self.action.emit("like"))
        self.dislike.clicked.connect(lambda: self.action.emit("dislike"))
        self.similar.clicked.connect(lambda: self.action.emit("similar"))
        self.collect.clicked.connect(lambda: self.action.emit("collect"))
        self.clear_feedback.clicked.connect(lambda: self.action.emit("clear-feedback"))
        self.loop.toggled.connect(self.loopChanged)
        self.volume.valueChanged.connect(lambda v: self.volumeChanged.emit(v / 100.0))
        self.autoplay.toggled.connect(self.autoplayChanged)
        self.speed.valueChanged.connect(self.varispeedChanged)
        self.speed_reset.clicked.connect(lambda: self.speed.setValue(0))
        self.reverse.toggled.connect(self.reverseChanged)
        self.set_feedback_counts(0, 0)  # nothing to reset before the first like

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")

    def set_position(self, seconds: float, length: float, level: float = 0.0) -> None:
        text = f"{clock(seconds)} / {clock(length)}"
        if text != self.position.text():
            self.position.setText(text)
        self.meter.setValue(meter_value(level))

    def set_feedback_counts(self, liked: int, disliked: int) -> None:
        """Show the refine round's marks beside Reset, so a cleared round is seen, not guessed."""
        parts = [f"{liked} liked"] if liked else []
        parts += [f"{disliked} disliked"] if disliked else []
        self.feedback_note.setText(" · ".join(parts))
        self.clear_feedback.setEnabled(bool(parts))

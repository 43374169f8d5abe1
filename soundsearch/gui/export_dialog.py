""""Export to…": where and in which format converted copies go; and the Preferences rows for what a
drag becomes. Both are forms over :class:`~soundsearch.audio.convert.ConvertOptions` and Settings."""

from __future__ import annotations

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
    QLineEdit,
    QPushButton,
    QWidget,
)

from soundsearch.audio.convert import ConvertOptions
from soundsearch.library.export import DEFAULT_PATTERN
from soundsearch.settings import Settings

FORMATS = (("original", "As the original (OGG/MP3 → WAV)"), ("wav", "WAV"), ("aiff", "AIFF"),
           ("flac", "FLAC"))
RATES = ((0, "As the original"), (44100, "44.1 kHz"), (48000, "48 kHz"), (88200, "88.2 kHz"),
         (96000, "96 kHz"), (192000, "192 kHz"))
BITS = (("original", "As the original"), ("16", "16-bit (dithered)"), ("24", "24-bit"),
        ("32f", "32-bit float"))
CHANNELS = ((0, "As the original"), (1, "Mono (mixed)"), (2, "Stereo"))
DRAG = (("lossy", "OGG/MP3/M4A as WAV, the rest as they are"), ("always", "Always in the session format"),
        ("off", "The original files"))


def _combo(parent, choices, current) -> QComboBox:
    box = QComboBox(parent)
    for value, text in choices:
        box.addItem(text, value)
    index = box.findData(current)
    box.setCurrentIndex(max(index, 0))
    return box


_OK_CANCEL = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel


class FormatRows:
    """Format, sample rate, bit depth (and channels) combos, shared by both forms."""

    def __init__(self, form: QFormLayout, parent: QWidget, fmt: str, rate: int, bits: str,
                 channels: bool) -> None:
        self.format = _combo(parent, FORMATS, fmt)
        self.rate = _combo(parent, RATES, rate)
        self.bits = _combo(parent, BITS, bits)
        self.bits.setToolTip("Dither (TPDF) is added only when the bit depth goes down")
        form.addRow("Format", self.format)
        form.addRow("Sample rate", self.rate)
        form.addRow("Bit depth", self.bits)
        self.channels = _combo(parent, CHANNELS, 0) if channels else None
        if self.channels is not None:
            form.addRow("Channels", self.channels)


class TransferPrefs(QWidget):
    """Preferences → Drag and export: what a drag becomes and the session format."""

    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.drag = _combo(self, DRAG, settings.drag_convert)
        form.addRow("Drag out", self.drag)
        self.rows = FormatRows(form, self, settings.session_format, settings.session_rate,
                               settings.session_bits, channels=False)
        self.handles = QDoubleSpinBox(self)
        self.handles.setRange(0.0, 30.0)
        self.handles.setSingleStep(0.5)
        self.handles.setSuffix(" s")
        self.handles.setValue(settings.export_handles)
        form.addRow("Region handles", self.handles)

    def values(self) -> dict:
        rows = self.rows
        return {"drag_convert": self.drag.currentData(), "session_format": rows.format.currentData(),
                "session_rate": int(rows.rate.currentData()), "session_bits": rows.bits.currentData(),
                "export_handles": float(self.handles.value())}


class ExportDialog(QDialog):
    def __init__(self, settings: Settings, count: int, region: tuple[float, float] | None,
                 folder: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("export-dialog")
        self.setWindowTitle(f"Export {count} sound{'s' if count != 1 else ''}")
        form = QFormLayout(self)
        self.setMinimumWidth(520)
        self.folder = QLineEdit(folder, self)
        self.folder.setPlaceholderText("the session's audio folder")
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        holder = QWidget(self)
        holder.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("To folder", holder)
        self.rows = FormatRows(form, self, settings.session_format, settings.session_rate,
                               settings.session_bits, channels=True)
        self.pattern = QLineEdit(DEFAULT_PATTERN, self)
        self.pattern.setToolTip("{stem} {n} {catid} {fxname} {rate} {bits} {start} {end}")
        form.addRow("Names", self.pattern)
        self.region = region
        self.use_region = QCheckBox("Only the selected region" if region else "No region selected", self)
        self.use_region.setEnabled(region is not None)
        self.use_region.setChecked(region is not None and count == 1)
        self.handles = QDoubleSpinBox(self)
        self.handles.setRange(0.0, 30.0)
        self.handles.setSuffix(" s")
        self.handles.setValue(settings.export_handles)
        form.addRow("Region", self.use_region)
        form.addRow("Handles", self.handles)
        box = QDialogButtonBox(_OK_CANCEL, self)
        box.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        form.addRow(box)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def target(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text).expanduser() if text else None

    def options(self) -> ConvertOptions:
        channels = int(self.rows.channels.currentData())
        region = self.region if self.use_region.isChecked() and self.region else (None, None)
        return ConvertOptions(format=self.rows.format.currentData(),
                              sample_rate=int(self.rows.rate.currentData()) or None,
                              bits=self.rows.bits.currentData(), channels=channels or None,
                              start=region[0], end=region[1], handles=float(self.handles.value()))

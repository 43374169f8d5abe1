"""The filter side panel: duration, sample rate, channels, format, folder and UCS category, as a
:class:`~soundsearch.search.Filters` value. The choices offered come from the library's own stats,
so the panel never offers a 192 kHz box to a library that has none."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from soundsearch.search import Filters

ANY_CATEGORY = "Any category"
DEFAULT_RATES = (44100, 48000, 96000)
DEFAULT_FORMATS = ("wav", "flac", "aiff", "ogg", "mp3")


def _ucs_categories() -> list[str]:
    try:
        from soundsearch.library.metadata import ucs

        return sorted({e.category for e in ucs.table().values() if e.category})
    except (OSError, ValueError, ImportError):  # the UCS table is optional for the panel
        return []


class _Checks(QWidget):
    """A grid of checkboxes over values; checked values are the filter (none checked = any)."""

    changed = Signal()

    def __init__(self, label=str, parent=None) -> None:
        super().__init__(parent)
        self.label = label
        self.boxes: dict[object, QCheckBox] = {}
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)

    def set_values(self, values) -> None:
        checked = self.checked()
        for box in self.boxes.values():
            box.deleteLater()
        self.boxes.clear()
        for n, value in enumerate(values):
            box = QCheckBox(self.label(value), self)
            box.setChecked(value in checked)
            box.toggled.connect(self.changed)
            self.grid.addWidget(box, n // 3, n % 3)
            self.boxes[value] = box

    def checked(self) -> tuple:
        return tuple(v for v, b in self.boxes.items() if b.isChecked())

    def set_folder(self, folder: str | None) -> None:
        """Filter by an absolute folder (the Library tab's folder tree), or none."""
        self.folder.setText(folder or "")
        self._emit()

    def clear(self) -> None:
        for b in self.boxes.values():
            b.blockSignals(True)
            b.setChecked(False)
            b.blockSignals(False)


class FilterPanel(QWidget):
    filtersChanged = Signal(object)  # Filters
    hideDuplicatesChanged = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("filters")
        self.min_duration = self._seconds("no minimum")
        self.max_duration = self._seconds("no maximum")
        self.rates = _Checks(lambda v: f"{v / 1000:g} kHz", self)
        self.channels = _Checks(lambda v: {1: "mono", 2: "stereo"}.get(v, f"{v} ch"), self)
        self.formats = _Checks(lambda v: str(v).upper(), self)
        self.folder = QLineEdit(self)
        self.folder.setPlaceholderText("part of a folder name")
        self.category = QComboBox(self)
        self.category.setEditable(True)  # a CatID (e.g. DOORWood) can be typed too
        self.category.addItem(ANY_CATEGORY)
        self.category.addItems(_ucs_categories())
        self.hide_duplicates = QCheckBox("Hide duplicates", self)
        self.hide_duplicates.setChecked(True)
        self.hide_duplicates.setToolTip("Identical files (the same content in several folders) show as "
                                        "one result with a copy count; C on a result lists every copy")
        self.hide_duplicates.toggled.connect(self.hideDuplicatesChanged)
        self.clear_button = QPushButton("Clear filters", self)
        self.clear_button.clicked.connect(self.clear)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Longer than", self.min_duration)
        form.addRow("Shorter than", self.max_duration)
        form.addRow("Sample rate", self.rates)
        form.addRow("Channels", self.channels)
        form.addRow("Format", self.formats)
        form.addRow("Folder", self.folder)
        form.addRow("UCS category", self.category)
        form.addRow("", self.hide_duplicates)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

        # typing in the folder box waits for a pause, like the search box
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self._emit)
        self.folder.textEdited.connect(lambda _t: self._timer.start())
        for spin in (self.min_duration, self.max_duration):
            spin.valueChanged.connect(lambda _v: self._timer.start())
        for checks in (self.rates, self.channels, self.formats):
            checks.changed.connect(self._emit)
        self.category.currentTextChanged.connect(lambda _t: self._timer.start())
        self.set_choices({})

    def _seconds(self, none_text: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(0.0, 36000.0)
        spin.setDecimals(1)
        spin.setSingleStep(0.5)
        spin.setSuffix(" s")
        spin.setSpecialValueText(none_text)  # 0 shows as "no minimum": the filter is off
        return spin

    def set_choices(self, stats: dict) -> None:
        """Offer the values the library has (``Catalog.stats()``), keeping what is checked."""
        rates = sorted(int(r) for r in (stats.get("sample_rates") or {})) or list(DEFAULT_RATES)
        chans = sorted(int(c) for c in (stats.get("channels") or {})) or [1, 2]
        fmts = sorted(str(f).lower() for f in (stats.get("formats") or {})) or list(DEFAULT_FORMATS)
        self.rates.set_values(rates)
        self.channels.set_values(chans)
        self.formats.set_values(fmts)

    def filters(self) -> Filters:
        category = self.category.currentText().strip()
        return Filters(
            min_duration=self.min_duration.value() or None,
            max_duration=self.max_duration.value() or None,
            sample_rates=tuple(int(v) for v in self.rates.checked()),
            channels=tuple(int(v) for v in self.channels.checked()),
            formats=tuple(str(v) for v in self.formats.checked()),
            folder=self.folder.text().strip() or None,
            ucs_category=None if category in ("", ANY_CATEGORY) else category,
        )

    def set_folder(self, folder: str | None) -> None:
        """Filter by an absolute folder (the Library tab's folder tree), or none."""
        self.folder.setText(folder or "")
        self._emit()

    def clear(self) -> None:
        for w in (self.min_duration, self.max_duration, self.folder, self.category):
            w.blockSignals(True)
        self.min_duration.setValue(0)
        self.max_duration.setValue(0)
        self.folder.clear()
        self.category.setCurrentIndex(0)
        for w in (self.min_duration, self.max_duration, self.folder, self.category):
            w.blockSignals(False)
        for checks in (self.rates, self.channels, self.formats):
            checks.clear()
        self._emit()

    def _emit(self) -> None:
        self._timer.stop()
        self.filtersChanged.emit(self.filters())
